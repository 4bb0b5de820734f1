"""A witness run against a live server over HTTP, and every history rewrite it must catch.

The server is pytest-django's live server (a real HTTP server on an ephemeral port,
serving the test database). The end-to-end test runs ``manage.py witness`` in a separate
process; the rewrite tests call the same witness code in-process, still over HTTP.
The rewrites are done as an operator with database access would do them
(``tests/tlog/rewrites.py``).
"""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import User

from registry import transparency
from registry.models import Cosignature
from registry.tlog import note
from registry.tlog.witness import LogMisbehavedError, WitnessError, run_witness
from tests.registry.test_ledger import make_org
from tests.tlog.rewrites import edit_entry_hash, rewind_ledger, truncate_ledger

pytestmark = pytest.mark.django_db(transaction=True)
_names = itertools.count()


def grow(actor: User, entries: int) -> transparency.Checkpoint:
    for _ in range(entries):
        make_org(actor, next(_names))
    return transparency.checkpoint_issue()


@pytest.fixture
def witness_key(settings: Any) -> note.Signer:
    """The witness's key, registered with the log as the operator would."""
    signer = note.Signer.generate("witness.example/w1", note.ALG_COSIGNATURE_V1)
    settings.TLOG_WITNESS_VKEYS = [signer.verifier.vkey]
    return signer


def witness_process(url: str, tmp_path: Path, key: note.Signer) -> subprocess.CompletedProcess[str]:
    key_file = tmp_path / "witness.key"
    if not key_file.exists():
        key_file.write_text(key.skey + "\n", encoding="ascii")
    command = [
        sys.executable, "manage.py", "witness", url,
        "--state", str(tmp_path / "state.json"), "--key", str(key_file),
        "--log-vkey", transparency.log_verifier().vkey,
    ]  # fmt: skip
    return subprocess.run(
        command,
        cwd=django_settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "TLOG_SIGNING_KEY_FILE": ""},
    )


def test_a_witness_process_verifies_cosigns_and_catches_a_fork_end_to_end(
    live_server: Any, alice: User, witness_key: note.Signer, tmp_path: Path
) -> None:
    first = grow(alice, 3)
    run = witness_process(live_server.url, tmp_path, witness_key)
    assert run.returncode == 0, run.stderr
    assert f"OK: tree size {first.tree_size}" in run.stdout
    assert "first checkpoint seen" in run.stdout
    cosignature = Cosignature.objects.get(checkpoint=first)
    assert cosignature.witness == "witness.example/w1"

    second = grow(alice, 4)
    run = witness_process(live_server.url, tmp_path, witness_key)
    assert run.returncode == 0, run.stderr
    assert f"consistent with size {first.tree_size}" in run.stdout
    assert Cosignature.objects.filter(checkpoint=second).count() == 1

    rewind_ledger(keep=2)
    grow(alice, 9)
    run = witness_process(live_server.url, tmp_path, witness_key)
    assert run.returncode == 2
    assert "LOG MISBEHAVED: the log forked or rewrote history" in run.stderr


def witness(url: str, tmp_path: Path, key: note.Signer) -> Any:
    return run_witness(
        url,
        state_path=tmp_path / "state.json",
        signer=key,
        log_vkey=transparency.log_verifier().vkey,
    )


def test_truncating_the_ledger_is_caught_as_a_shrink(
    live_server: Any, alice: User, witness_key: note.Signer, tmp_path: Path
) -> None:
    grow(alice, 6)
    witness(live_server.url, tmp_path, witness_key)
    truncate_ledger()
    grow(alice, 2)
    with pytest.raises(
        LogMisbehavedError, match=r"shrank or rolled back: .* size 2, but .* size 6"
    ):
        witness(live_server.url, tmp_path, witness_key)


def test_truncating_and_regrowing_past_the_old_size_is_caught(
    live_server: Any, alice: User, witness_key: note.Signer, tmp_path: Path
) -> None:
    grow(alice, 6)
    witness(live_server.url, tmp_path, witness_key)
    truncate_ledger()
    grow(alice, 10)
    with pytest.raises(LogMisbehavedError, match="rewrote history"):
        witness(live_server.url, tmp_path, witness_key)


def test_restoring_an_old_backup_and_appending_other_entries_is_caught(
    live_server: Any, alice: User, witness_key: note.Signer, tmp_path: Path
) -> None:
    grow(alice, 5)
    witness(live_server.url, tmp_path, witness_key)
    grow(alice, 3)
    witness(live_server.url, tmp_path, witness_key)  # the witness has seen size 8
    rewind_ledger(keep=5)  # the backup taken at size 5
    grow(alice, 5)  # different entries, to size 10
    with pytest.raises(LogMisbehavedError, match="is not an extension of size 8"):
        witness(live_server.url, tmp_path, witness_key)


def test_editing_one_entry_is_caught_as_a_fork(
    live_server: Any, alice: User, witness_key: note.Signer, tmp_path: Path
) -> None:
    grow(alice, 4)
    witness(live_server.url, tmp_path, witness_key)
    edit_entry_hash(3, "ab" * 32)
    transparency.checkpoint_issue()
    with pytest.raises(LogMisbehavedError, match="forked: tree size 4 now has root"):
        witness(live_server.url, tmp_path, witness_key)


def test_a_checkpoint_signed_by_another_key_is_refused(
    live_server: Any, alice: User, witness_key: note.Signer, tmp_path: Path
) -> None:
    grow(alice, 2)
    impostor = note.Signer.generate(transparency.log_signer().name).verifier.vkey
    with pytest.raises(LogMisbehavedError, match="does not verify"):
        run_witness(
            live_server.url,
            state_path=tmp_path / "state.json",
            signer=witness_key,
            log_vkey=impostor,
        )
    assert not (tmp_path / "state.json").exists()


def test_an_unregistered_witness_is_told_why_its_cosignature_was_refused(
    live_server: Any, alice: User, tmp_path: Path
) -> None:
    grow(alice, 2)
    stranger = note.Signer.generate("stranger.example/w", note.ALG_COSIGNATURE_V1)
    with pytest.raises(WitnessError, match=r"400: .*not a known witness"):
        witness(live_server.url, tmp_path, stranger)
