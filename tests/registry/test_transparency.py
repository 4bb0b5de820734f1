"""The Merkle tree kept beside the ledger, its checkpoints and verify_ledger's tree check."""

from __future__ import annotations

import multiprocessing
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command

from registry import transparency
from registry.ledger import ledger_verify
from registry.models import Checkpoint, LedgerEntry, TreeNode
from registry.tlog import merkle, note
from tests.registry.test_ledger import make_org
from tests.tlog.rewrites import rewind_ledger
from tests.tlog.test_tlog_merkle import ref_mth, ref_path

pytestmark = pytest.mark.django_db


def entry_hashes() -> list[bytes]:
    return [bytes.fromhex(h) for h in LedgerEntry.objects.values_list("entry_hash", flat=True)]


def test_every_ledger_append_adds_its_leaf_and_the_root_matches_a_full_recomputation(
    alice: object,
) -> None:
    for n in range(11):
        make_org(alice, n)
        leaves = entry_hashes()
        assert transparency.tlog_size() == len(leaves)
        assert transparency.tlog_root(len(leaves)) == ref_mth(leaves)
    # Only complete subtrees are stored: 11 leaves, 5 pairs, 2 quads, 1 octet.
    assert TreeNode.objects.count() == 11 + 5 + 2 + 1


def test_inclusion_and_consistency_proofs_come_from_the_stored_nodes(alice: object) -> None:
    for n in range(9):
        make_org(alice, n)
    leaves = entry_hashes()
    for index in range(9):
        proof = transparency.tlog_inclusion(index=index, size=9)
        assert proof == ref_path(index, leaves)
    proof = transparency.tlog_consistency(old_size=5, new_size=9)
    merkle.verify_consistency(5, 9, ref_mth(leaves[:5]), ref_mth(leaves), proof)


def test_a_checkpoint_is_a_signed_c2sp_note_of_the_current_tree(alice: object) -> None:
    for n in range(3):
        make_org(alice, n)
    checkpoint = transparency.checkpoint_issue()
    signer = transparency.log_signer()
    body, signatures = note.split_note(checkpoint.note)
    origin, size, root_b64 = body.splitlines()
    assert (origin, size) == (signer.name, "3")
    assert root_b64 == transparency.root_b64(checkpoint)
    assert signatures[0].key_id == signer.verifier.key_id
    opened = note.open_checkpoint(checkpoint.note, note.Verifier.from_vkey(signer.verifier.vkey))
    assert opened.root == ref_mth(entry_hashes())
    # Same size again: the same checkpoint, not a second one.
    assert transparency.checkpoint_issue().pk == checkpoint.pk


def test_the_beat_task_signs_only_when_the_tree_grew(alice: object) -> None:
    from registry.tasks import issue_checkpoint

    make_org(alice, 1)
    assert issue_checkpoint() == 1
    assert issue_checkpoint() is None
    make_org(alice, 2)
    assert issue_checkpoint() == 2
    assert list(Checkpoint.objects.values_list("tree_size", flat=True)) == [2, 1]


def stored_nodes() -> dict[tuple[int, int], bytes]:
    return {(n.level, n.index): bytes(n.digest) for n in TreeNode.objects.all()}


def test_rebuilding_the_tree_reproduces_the_incremental_one(alice: object) -> None:
    for n in range(6):
        make_org(alice, n)
    incremental = stored_nodes()
    assert transparency.tlog_rebuild() == 6
    assert stored_nodes() == incremental


def test_verify_ledger_checks_the_tree_and_every_checkpoint(alice: object) -> None:
    for n in range(4):
        make_org(alice, n)
    transparency.checkpoint_issue()
    call_command("verify_ledger")
    # Someone with database access swaps a leaf: the tree no longer matches the ledger.
    TreeNode.objects.filter(position=2).update(digest=bytes(32))  # leaf 2
    with pytest.raises(CommandError, match=r"tree nodes differ from the ledger"):
        call_command("verify_ledger")


def test_verify_ledger_catches_a_restored_backup_with_different_entries(alice: object) -> None:
    for n in range(4):
        make_org(alice, n)
    transparency.checkpoint_issue()
    # An operator restores the ledger as it was after entry 2 and appends other
    # entries: chain and tree agree again; only the signed checkpoint remembers.
    rewind_ledger(keep=2, forget_checkpoints=False)
    for n in range(10, 12):
        make_org(alice, n)
    assert ledger_verify() is None
    with pytest.raises(CommandError, match=r"first 4 entries no longer match the signed"):
        call_command("verify_ledger")


def test_tlog_keygen_writes_a_private_key_and_prints_its_vkey(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key_file = tmp_path / "log.key"
    call_command("tlog_keygen", "registry.example/log", str(key_file))
    vkey = capsys.readouterr().out.strip()
    signer = note.Signer.from_skey(key_file.read_text())
    assert signer.verifier.vkey == vkey
    assert key_file.stat().st_mode & 0o777 == 0o600
    with pytest.raises(CommandError, match="cannot create"):
        call_command("tlog_keygen", "registry.example/log", str(key_file))
    with pytest.raises(CommandError, match="without spaces"):
        call_command("tlog_keygen", "bad origin", str(tmp_path / "other.key"))


def test_the_configured_key_file_signs_checkpoints(
    alice: object, tmp_path: Path, settings: Any
) -> None:
    key = note.Signer.generate("registry.example/log")
    key_file = tmp_path / "log.key"
    key_file.write_text(key.skey)
    settings.TLOG_SIGNING_KEY_FILE = str(key_file)
    transparency.log_signer.cache_clear()
    try:
        make_org(alice, 1)
        checkpoint = transparency.checkpoint_issue()
        assert note.open_checkpoint(checkpoint.note, key.verifier).size == 1
    finally:
        transparency.log_signer.cache_clear()


def test_production_without_a_key_file_refuses_to_sign(settings: Any) -> None:
    settings.DEBUG = False
    settings.TESTING = False
    settings.TLOG_SIGNING_KEY_FILE = ""
    transparency.log_signer.cache_clear()
    try:
        with pytest.raises(ImproperlyConfigured, match="TLOG_SIGNING_KEY_FILE must be set"):
            transparency.log_signer()
    finally:
        transparency.log_signer.cache_clear()


def _dev_log_vkey(directory: Path) -> str:
    key_file = transparency.ensure_dev_log_key(directory)
    return note.Signer.from_skey(key_file.read_text(encoding="ascii")).verifier.vkey


@pytest.mark.django_db(False)
def test_processes_starting_at_once_share_one_dev_checkpoint_key(tmp_path: Path) -> None:
    # Every process reads a whole key and the same one; the vkey file beside it matches it.
    with multiprocessing.get_context("fork").Pool(8) as pool:
        vkeys = pool.map(_dev_log_vkey, [tmp_path] * 8)
    assert len(set(vkeys)) == 1
    assert (tmp_path / "checkpoint.vkey").read_text(encoding="ascii").strip() == vkeys[0]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
