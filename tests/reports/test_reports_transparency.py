"""Reports carry transparency-log proofs: they verify from the file alone, against a
newer checkpoint (a file or the live registry) after the log grew, and fail against a
checkpoint of a rewritten history."""

from __future__ import annotations

import itertools
import json
import logging
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from registry import transparency
from registry.models import LedgerEntry
from registry.tlog import merkle, note
from reports import services
from reports.documents import build_document
from reports.models import Report
from reports.pdf.render import render_pdf
from tests.registry.test_ledger import make_org
from tests.reports.report_records import incident_report
from tests.tlog.rewrites import rewind_ledger, truncate_ledger

pytestmark = pytest.mark.usefixtures("report_settings")
_names = itertools.count()


@pytest.fixture(autouse=True)
def _quiet_pyhanko(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.CRITICAL, logger="pyhanko")


def build_report(ivan: Any, capture: Any) -> Report:
    report = incident_report(ivan, capture)
    assert report.status == "done", report.error
    return report


@pytest.fixture
def report(ivan: Any, django_capture_on_commit_callbacks: Any) -> Report:
    return build_report(ivan, django_capture_on_commit_callbacks)


def grow(actor: Any, entries: int) -> transparency.Checkpoint:
    for _ in range(entries):
        make_org(actor, 1000 + next(_names))
    return transparency.checkpoint_issue()


def verify(path: Path, capsys: pytest.CaptureFixture[str], *options: str) -> dict[str, Any]:
    status = 0
    try:
        call_command("verify_report", str(path), "--json", *options)
    except SystemExit as exit_:
        status = int(exit_.code or 0)
    result: dict[str, Any] = json.loads(capsys.readouterr().out)
    assert status == (0 if result["passed"] else 1)
    return result


def checks(result: dict[str, Any]) -> dict[str, bool]:
    return {check["name"]: check["passed"] for check in result["checks"]}


@pytest.mark.django_db
def test_the_manifest_proves_the_reports_own_cited_and_head_entries(report: Report) -> None:
    block = report.manifest["transparency"]
    opened = note.open_checkpoint(block["checkpoint"], transparency.log_verifier())
    cites = {entry["cites"] for entry in block["entries"]}
    assert {"report", f"incident:{report.incident_id}"} <= cites
    incident_entries = LedgerEntry.objects.filter(
        object_type="registry.cloningincident", object_id=str(report.incident_id)
    )
    assert set(incident_entries.values_list("seq", flat=True)) <= {
        e["seq"] for e in block["entries"]
    }
    # Checked here with the pure functions, independently of the verifier's code path.
    for entry in block["entries"]:
        leaf = merkle.leaf_hash(bytes.fromhex(entry["entry_hash"]))
        proof = [bytes.fromhex(h) for h in entry["proof"]]
        merkle.verify_inclusion(entry["seq"] - 1, opened.size, leaf, proof, opened.root)
    head = report.manifest["ledger_head"]
    assert (head["seq"], head["hash"]) in {(e["seq"], e["entry_hash"]) for e in block["entries"]}


@pytest.mark.django_db
def test_the_log_checks_pass_from_the_file_alone_even_with_the_ledger_gone(
    report: Report, capsys: pytest.CaptureFixture[str]
) -> None:
    truncate_ledger()
    result = checks(verify(Path(report.file.path), capsys))
    assert result["log_checkpoint_signed"]
    assert result["log_inclusion"]
    assert result["ledger_head_in_chain"] is False  # the database check does notice


@pytest.mark.django_db
def test_a_report_verifies_against_a_newer_checkpoint_after_a_week_of_entries(
    report: Report, alice: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    newer = grow(alice, 40)
    checkpoint_file = tmp_path / "checkpoint.txt"
    checkpoint_file.write_text(newer.note, encoding="utf-8")
    result = verify(Path(report.file.path), capsys, "--checkpoint", str(checkpoint_file))
    assert result["passed"], result
    assert checks(result)["log_consistent"]


@pytest.mark.django_db
def test_an_earlier_report_fails_against_the_checkpoint_of_a_rewritten_history(
    report: Report, alice: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report_size = note.Checkpoint.parse(
        note.split_note(report.manifest["transparency"]["checkpoint"])[0]
    ).size
    rewind_ledger(keep=report_size - 3)  # an old backup ...
    rewritten = grow(alice, 10)  # ... and other entries appended
    checkpoint_file = tmp_path / "checkpoint.txt"
    checkpoint_file.write_text(rewritten.note, encoding="utf-8")
    result = verify(Path(report.file.path), capsys, "--checkpoint", str(checkpoint_file))
    assert checks(result)["log_consistent"] is False
    detail = next(c["detail"] for c in result["checks"] if c["name"] == "log_consistent")
    assert f"tree size {report_size}" in detail
    assert "history was rewritten" in detail


@pytest.mark.django_db
def test_a_checkpoint_from_another_key_is_refused(
    report: Report, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    impostor = note.Signer.generate(transparency.log_signer().name)
    body = note.Checkpoint(impostor.name, 10**6, bytes(32)).body
    checkpoint_file = tmp_path / "checkpoint.txt"
    checkpoint_file.write_text(impostor.sign_note(body), encoding="utf-8")
    result = verify(Path(report.file.path), capsys, "--checkpoint", str(checkpoint_file))
    assert checks(result)["log_consistent"] is False


@pytest.mark.django_db
def test_a_signed_report_whose_proof_was_altered_before_signing_fails_inclusion(
    report: Report, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    document = build_document(report)
    entries = document["manifest"]["transparency"]["entries"]
    entries[0]["entry_hash"] = "cd" * 32  # an entry the log never held
    path = tmp_path / "altered.pdf"
    path.write_bytes(services.report_signer().sign(render_pdf(document)))
    result = verify(path, capsys)
    assert checks(result)["log_inclusion"] is False
    assert checks(result)["log_checkpoint_signed"] is True


@pytest.mark.django_db(transaction=True)
def test_verify_against_the_live_registry_passes_then_fails_after_a_rewrite(
    live_server: Any,
    ivan: Any,
    alice: Any,
    django_capture_on_commit_callbacks: Any,
    capsys: pytest.CaptureFixture[str],
) -> None:
    report = build_report(ivan, django_capture_on_commit_callbacks)
    grow(alice, 12)
    result = verify(Path(report.file.path), capsys, "--against", live_server.url)
    assert result["passed"], result
    rewind_ledger(keep=2)
    grow(alice, 30)
    result = verify(Path(report.file.path), capsys, "--against", live_server.url)
    assert checks(result)["log_consistent"] is False
