"""Verification anyone can run: ``manage.py verify_report``, ``POST /api/v1/reports/verify/``
and the ``/reports/verify/`` page. Each check is reported separately; the exit status is 0
only when all pass, including the registry's own checks (stored files, ledger head)."""

from __future__ import annotations

import datetime as dt
import html
import json
import logging
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command

from registry.models import EvidenceFile
from reports import services
from reports.documents import build_document
from reports.models import Report
from reports.pdf.render import render_pdf
from reports.services import report_verify
from reports.verdict import CHECK_WORDS
from tests.reports.report_records import incident_report
from tests.reports.tsa_server import LoopbackTsa

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("report_settings")]

ALL_CHECKS = {
    "signature_intact",
    "only_allowed_updates",
    "signer_trusted",
    "manifest_intact",
    "files_match_registry",
    "ledger_head_in_chain",
    "log_checkpoint_signed",
    "log_inclusion",
}
ALL_CHECK_WORDS = [CHECK_WORDS[name] for name in sorted(ALL_CHECKS)]


@pytest.fixture(autouse=True)
def _quiet_pyhanko(caplog: pytest.LogCaptureFixture) -> None:
    # pyHanko logs a traceback for each broken signature these tests make on purpose.
    caplog.set_level(logging.CRITICAL, logger="pyhanko")


@pytest.fixture
def report(ivan: Any, django_capture_on_commit_callbacks: Any) -> Report:
    report = incident_report(ivan, django_capture_on_commit_callbacks)
    assert report.status == "done", report.error
    return report


def _verify_command(path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, Any]]:
    status = 0
    try:
        call_command("verify_report", str(path), "--json")
    except SystemExit as exit_:
        status = int(exit_.code or 0)
    return status, json.loads(capsys.readouterr().out)


def _failed(result: dict[str, Any]) -> set[str]:
    return {check["name"] for check in result["checks"] if not check["passed"]}


def test_a_genuine_report_passes_every_check_and_exits_zero(
    report: Report, capsys: pytest.CaptureFixture[str]
) -> None:
    status, result = _verify_command(Path(report.file.path), capsys)
    assert status == 0
    assert {check["name"] for check in result["checks"]} == ALL_CHECKS
    assert result["passed"] is True
    assert result["manifest"]["report_id"] == report.report_id


def test_the_human_readable_output_lists_every_check(
    report: Report, capsys: pytest.CaptureFixture[str]
) -> None:
    call_command("verify_report", report.file.path)
    output = capsys.readouterr().out
    for name in ALL_CHECKS:
        assert f"PASS  {name}:" in output
    assert "OK: every check passed" in output


def test_a_tampered_file_exits_non_zero(
    report: Report, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = bytearray(Path(report.file.path).read_bytes())
    data[len(data) // 3] ^= 0x01
    tampered = tmp_path / "tampered.pdf"
    tampered.write_bytes(bytes(data))
    status, result = _verify_command(tampered, capsys)
    assert status == 1
    assert "signature_intact" in _failed(result)


def test_the_file_check_fails_when_a_stored_file_no_longer_matches_its_hash(
    report: Report, capsys: pytest.CaptureFixture[str]
) -> None:
    stored = EvidenceFile.objects.filter(evidence__incident=report.incident).first().file
    Path(stored.content.path).write_bytes(b"quietly replaced evidence")
    status, result = _verify_command(Path(report.file.path), capsys)
    assert status == 1
    assert _failed(result) == {"files_match_registry"}


def test_the_ledger_check_fails_for_a_head_the_chain_does_not_hold(
    report: Report, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A correctly signed report that claims a ledger head this registry never had.
    document = build_document(report)
    forged = {"seq": document["ledger_head"]["seq"], "hash": "ab" * 32}
    document["ledger_head"] = forged
    document["manifest"]["ledger_head"] = forged
    path = tmp_path / "other-ledger.pdf"
    path.write_bytes(services.report_signer().sign(render_pdf(document)))
    status, result = _verify_command(path, capsys)
    assert status == 1
    assert _failed(result) == {"ledger_head_in_chain", "log_inclusion"}


def test_a_report_signed_by_an_unknown_key_is_not_trusted(
    report: Report, settings: Any, tmp_path: Path
) -> None:
    from reports.pdf.devca import ensure_dev_pki

    other_ca = ensure_dev_pki(tmp_path / "other-pki").ca_cert_file
    settings.REPORT_TRUST_ROOTS_FILE = str(other_ca)
    result = report_verify(Path(report.file.path).read_bytes())
    assert {check.name for check in result.checks if not check.passed} == {"signer_trusted"}


def test_anyone_verifies_through_the_api(api: Any, report: Report) -> None:
    upload = SimpleUploadedFile("r.pdf", Path(report.file.path).read_bytes())
    response = api(None).post("/api/v1/reports/verify/", {"file": upload}, format="multipart")
    assert response.status_code == 200
    assert response.data["passed"] is True
    assert response.data["exit_status"] == 0
    assert {check["name"] for check in response.data["checks"]} == ALL_CHECKS


def _page(client: Any, data: bytes) -> str:
    upload = SimpleUploadedFile("r.pdf", data)
    response = client.post("/reports/verify/", {"file": upload})
    assert response.status_code == 200
    return str(response.content.decode())


def test_the_verify_page_heads_a_genuine_report_with_what_it_is_and_who_signed_it(
    client: Any, report: Report
) -> None:
    assert client.get("/reports/verify/").status_code == 200
    page = _page(client, Path(report.file.path).read_bytes())
    assert f"Genuine report {report.report_id} on incident {report.incident_id}, issued " in page
    assert (
        "signed by INSECURE DEVELOPMENT REPORT SIGNER - NOT TRUSTED "
        "(Evidence Registry (development only))" in page
    )
    assert "Signed with development keys." in page
    for statement in ALL_CHECK_WORDS:
        assert html.escape(statement) in page
    for name in ALL_CHECKS:  # checks are told in words, not code identifiers
        assert name not in page


def test_the_verify_page_tells_a_byte_modified_report_apart_and_shows_nothing_from_it(
    client: Any, report: Report
) -> None:
    data = bytearray(Path(report.file.path).read_bytes())
    data[len(data) // 3] ^= 0x01
    page = _page(client, bytes(data))
    assert "Not genuine: the signed bytes were changed" in page
    assert report.report_id not in page  # the tampered file's own claims are not shown
    assert "not shown: it cannot be trusted" in page


def test_the_verify_page_answers_a_file_that_is_not_a_pdf_with_one_message(
    client: Any, db: None
) -> None:
    page = _page(client, b"name,score\nAtlas,1\n")
    assert "This file is not a PDF, so it cannot be a report of this registry" in page
    assert "Failed" not in page
    assert "Signed with development keys." not in page


def test_the_verify_page_names_an_untrusted_signer_in_its_headline(
    client: Any, report: Report, settings: Any, tmp_path: Path
) -> None:
    from reports.pdf.devca import ensure_dev_pki

    settings.REPORT_TRUST_ROOTS_FILE = str(ensure_dev_pki(tmp_path / "other").ca_cert_file)
    page = _page(client, Path(report.file.path).read_bytes())
    assert "Not genuine: the signer is not one this registry trusts" in page
    assert report.report_id not in page


@pytest.mark.parametrize(
    ("configured", "level", "document_timestamps"), [("", "B-LTA", 1), ("B-T", "B-T", 0)]
)
def test_with_a_timestamp_authority_reports_are_timestamped_and_verify(
    ivan: Any,
    settings: Any,
    dev_pki: Any,
    tmp_path: Path,
    django_capture_on_commit_callbacks: Any,
    configured: str,
    level: str,
    document_timestamps: int,
) -> None:
    # Without a configured level a TSA means B-LTA; REPORT_SIGNATURE_LEVEL can ask for less.
    with LoopbackTsa() as tsa:
        settings.REPORT_TSA_URL = tsa.url
        settings.REPORT_SIGNATURE_LEVEL = configured
        roots = tmp_path / "roots.pem"
        roots.write_bytes(dev_pki.ca_cert_file.read_bytes() + tsa.root_pem)
        settings.REPORT_TRUST_ROOTS_FILE = str(roots)
        services.report_signer.cache_clear()
        report = incident_report(ivan, django_capture_on_commit_callbacks)
        assert tsa.requests_served >= 1 + document_timestamps
        result = report_verify(Path(report.file.path).read_bytes())
    assert (report.status, report.signature_level) == ("done", level)
    assert result.passed, [check for check in result.checks if not check.passed]
    assert result.check("timestamp_valid").passed
    stamps = [s for s in result.signatures if s.kind == "document timestamp"]
    assert len(stamps) == document_timestamps


def test_the_command_validates_as_of_a_given_time(
    report: Report, capsys: pytest.CaptureFixture[str]
) -> None:
    # A B-B report (no TSA here) does not outlive its certificate: --at moves the clock.
    ten_years_on = (dt.datetime.now(dt.UTC) + dt.timedelta(days=3653)).isoformat()
    with pytest.raises(SystemExit) as exit_:
        call_command("verify_report", report.file.path, "--at", ten_years_on)
    assert exit_.value.code == 1
    assert "FAIL  signer_trusted:" in capsys.readouterr().out
    with pytest.raises(CommandError, match="not an ISO 8601 time"):
        call_command("verify_report", report.file.path, "--at", "next tuesday")
