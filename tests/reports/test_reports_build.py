"""Building reports from real registry records: the content of each kind, the job's
state machine (claim, duplicate delivery, retry, dead worker) and exactly one file.

PDFs are read back with poppler (pdftotext, pdftoppm), independently of reportlab.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone
from PIL import Image, ImageStat

from config.celery import app as celery_app
from registry.errors import ConflictError
from registry.jobs import MAX_ATTEMPTS
from registry.models import FragilityAnalysis, LedgerEntry
from registry.services import decision_approve, decision_propose, incident_transition
from reports import services
from reports.models import Report
from reports.services import (
    ReportSubject,
    report_claim,
    report_produce,
    report_request,
    report_run,
    reports_requeue_stuck,
)
from tests.reports.pdf_tools import pdf_text, run_tool
from tests.reports.report_records import (
    digest_period,
    make_claim,
    make_dataset,
    make_incident,
    run_analysis,
    vote_csv,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("report_settings")]


@pytest.fixture
def analysed_claim(alice: Any, django_capture_on_commit_callbacks: Any) -> FragilityAnalysis:
    claim = make_claim(alice, make_dataset(alice))
    return run_analysis(alice, claim, django_capture_on_commit_callbacks)


def _request(actor: Any, kind: str, subject: ReportSubject, capture: Any) -> Report:
    with capture(execute=False):
        return report_request(actor=actor, kind=kind, subject=subject)


def _built(actor: Any, kind: str, subject: ReportSubject, capture: Any) -> Report:
    report = _request(actor, kind, subject, capture)
    report_run(report_id=report.pk)
    report.refresh_from_db()
    assert report.status == Report.Status.DONE, report.error
    return report


def _incident_report_requested(investigator: Any, capture: Any) -> Report:
    """A report on a fresh incident of ``investigator``, requested and not yet run."""
    incident = make_incident(investigator).incident
    return _request(investigator, Report.Kind.INCIDENT, ReportSubject(incident=incident), capture)


def _text(report: Report, tmp_path: Path) -> str:
    path = tmp_path / f"{report.report_id}.pdf"
    path.write_bytes(Path(report.file.path).read_bytes())
    return "\n".join(pdf_text(path))


def _report_files(media: Path) -> list[Path]:
    return sorted((media / "reports").glob("*"))


def test_claim_report_states_the_claim_data_and_fragility_from_the_analysis(
    alice: Any,
    analysed_claim: FragilityAnalysis,
    django_capture_on_commit_callbacks: Any,
    tmp_path: Path,
) -> None:
    claim = analysed_claim.claim
    report = _built(
        alice, Report.Kind.CLAIM, ReportSubject(claim=claim), django_capture_on_commit_callbacks
    )
    text = " ".join(_text(report, tmp_path).split())
    assert claim.statement in text
    # The dataset's SHA-256, computed here from the bytes we uploaded.
    dataset_sha = hashlib.sha256(vote_csv()).hexdigest()
    assert dataset_sha in text.replace(" ", "")
    assert "Synthetic votes for tests, CC0." in text
    answer = analysed_claim.claim_answer
    assert answer["votes_to_flip"] is not None
    assert f"Dropping {answer['votes_to_flip']:,} of the 600 votes" in text
    assert ", ".join(str(v) for v in answer["dropped_votes"]) in text
    for row in analysed_claim.results["scores"]:
        assert row["model"] in text
    assert report.manifest["files"] == [
        {"role": "dataset", "name": "weather-arena.csv", "sha256": dataset_sha}
    ]
    assert report.manifest["analysis_ids"] == [f"analysis:{analysed_claim.pk}"]
    assert report.manifest["engine_version"] == analysed_claim.engine_version
    assert report.sha256 == hashlib.sha256(Path(report.file.path).read_bytes()).hexdigest()
    assert Path(report.file.path).name == f"{report.sha256}.pdf"


def test_incident_report_lists_parties_timeline_evidence_files_and_approvals(
    ivan: Any, anna: Any, django_capture_on_commit_callbacks: Any, tmp_path: Path
) -> None:
    records = make_incident(ivan)
    for status in ("triage", "investigating"):
        incident_transition(
            incident=records.incident, to_status=status, actor=ivan, reason="Evidence in hand."
        )
    decision = decision_propose(
        incident=records.incident,
        proposed_status="substantiated",
        actor=ivan,
        reason="Overlap far above baseline.",
    )
    decision_approve(decision=decision, actor=anna)
    report = _built(
        ivan,
        Report.Kind.INCIDENT,
        ReportSubject(incident=records.incident),
        django_capture_on_commit_callbacks,
    )
    text = " ".join(_text(report, tmp_path).split())
    assert "Replica 7B" in text
    assert "Borealis" in text
    assert "proposed: Substantiated" in text
    assert "approved: Substantiated" in text
    assert "Refusal-phrase overlap" in text
    assert "Extract ML Model" in text or "AML.T0024.002" in text
    compact = text.replace(" ", "")
    for data in records.file_bytes.values():
        assert hashlib.sha256(data).hexdigest() in compact
    # The timeline is the ledger's entries about the incident and its evidence.
    entries = LedgerEntry.objects.filter(
        object_type__in=[
            "registry.cloningincident",
            "registry.evidence",
            "registry.incidentdecision",
        ],
        seq__lte=report.ledger_seq,
    )
    assert entries.count() >= 6
    for entry in entries:
        assert f"#{entry.seq:,}" in text
    assert {f["sha256"] for f in report.manifest["files"]} == {
        hashlib.sha256(data).hexdigest() for data in records.file_bytes.values()
    }


def test_digest_lists_releases_claim_verdicts_and_only_public_incidents(
    alice: Any,
    ivan: Any,
    analysed_claim: FragilityAnalysis,
    django_capture_on_commit_callbacks: Any,
    tmp_path: Path,
) -> None:
    public = make_incident(ivan, title="Public distillation case")
    make_incident(ivan, embargoed=True, title="Secret distillation case")
    start, end = digest_period()
    report = _built(
        alice,
        Report.Kind.DIGEST,
        ReportSubject(period_start=start, period_end=end),
        django_capture_on_commit_callbacks,
    )
    text = " ".join(_text(report, tmp_path).split())
    assert "Public distillation case" in text
    assert "Secret distillation case" not in text
    assert "Aurora" in text
    assert "fragile" in text
    assert f"incident:{public.incident.pk}" in report.manifest["subject_ids"]
    assert f"claim:{analysed_claim.claim_id}" in report.manifest["subject_ids"]


def test_every_kind_renders_to_readable_pages(
    alice: Any,
    ivan: Any,
    analysed_claim: FragilityAnalysis,
    django_capture_on_commit_callbacks: Any,
    tmp_path: Path,
) -> None:
    incident = make_incident(ivan).incident
    start, end = digest_period()
    subjects = {
        Report.Kind.CLAIM: (alice, ReportSubject(claim=analysed_claim.claim)),
        Report.Kind.INCIDENT: (ivan, ReportSubject(incident=incident)),
        Report.Kind.DIGEST: (alice, ReportSubject(period_start=start, period_end=end)),
    }
    for kind, (actor, subject) in subjects.items():
        report = _built(actor, kind, subject, django_capture_on_commit_callbacks)
        prefix = tmp_path / kind
        run_tool(
            "pdftoppm",
            "-r",
            "40",
            "-f",
            "2",
            "-l",
            "2",
            "-png",
            report.file.path,
            prefix,
            check=True,
        )
        [image_path] = tmp_path.glob(f"{kind}*.png")
        with Image.open(image_path) as image:
            assert ImageStat.Stat(image.convert("L")).stddev[0] > 5, f"{kind} page 2 is blank"


def test_a_claim_report_on_a_claim_without_a_finished_analysis_is_refused(alice: Any) -> None:
    claim = make_claim(alice, make_dataset(alice))
    with pytest.raises(ConflictError, match="run an analysis first"):
        report_request(actor=alice, kind=Report.Kind.CLAIM, subject=ReportSubject(claim=claim))
    assert Report.objects.count() == 0


def test_requesting_and_finishing_are_ledgered_and_a_duplicate_delivery_does_nothing(
    ivan: Any, django_capture_on_commit_callbacks: Any, report_settings: Path
) -> None:
    incident = make_incident(ivan).incident
    report = _built(
        ivan,
        Report.Kind.INCIDENT,
        ReportSubject(incident=incident),
        django_capture_on_commit_callbacks,
    )
    first = Report.objects.get(pk=report.pk)
    report_run(report_id=report.pk)  # the same message delivered again
    again = Report.objects.get(pk=report.pk)
    assert (again.status, again.attempts, again.finished_at) == ("done", 1, first.finished_at)
    actions = list(
        LedgerEntry.objects.filter(object_type="reports.report", object_id=str(report.pk))
        .order_by("seq")
        .values_list("action", flat=True)
    )
    assert actions == ["request", "complete"]
    assert _report_files(report_settings) == [Path(report.file.path)]


def test_a_report_whose_worker_died_mid_render_is_requeued_and_leaves_one_file(
    ivan: Any, django_capture_on_commit_callbacks: Any, report_settings: Path
) -> None:
    report = _incident_report_requested(ivan, django_capture_on_commit_callbacks)
    # A worker claimed it an hour ago and died while rendering.
    dead_attempt = report_claim(report_id=report.pk)
    assert dead_attempt == 1
    long_ago = timezone.now() - dt.timedelta(hours=1)
    Report.objects.filter(pk=report.pk).update(heartbeat_at=long_ago, created_at=long_ago)
    celery_app.conf.task_always_eager = True
    try:
        requeued = reports_requeue_stuck(older_than=dt.timedelta(minutes=10))
    finally:
        celery_app.conf.task_always_eager = False
    assert requeued == [report.pk]
    report.refresh_from_db()
    assert (report.status, report.attempts) == ("done", 2)
    # The dead worker comes back to life and finishes its stale attempt: discarded.
    report_produce(report_id=report.pk, attempt=dead_attempt)
    assert Report.objects.get(pk=report.pk).sha256 == report.sha256
    assert _report_files(report_settings) == [Path(report.file.path)]
    completes = LedgerEntry.objects.filter(object_type="reports.report", action="complete")
    assert completes.count() == 1


def test_the_sweep_gives_up_after_the_last_attempt(
    ivan: Any, django_capture_on_commit_callbacks: Any
) -> None:
    report = _incident_report_requested(ivan, django_capture_on_commit_callbacks)
    long_ago = timezone.now() - dt.timedelta(hours=1)
    Report.objects.filter(pk=report.pk).update(
        status="rendering", started_at=long_ago, created_at=long_ago, attempts=MAX_ATTEMPTS
    )
    assert reports_requeue_stuck(older_than=dt.timedelta(minutes=10)) == []
    report.refresh_from_db()
    assert report.status == "failed"
    assert "Gave up" in report.error


def test_a_transient_error_puts_the_report_back_for_the_retry(
    ivan: Any, django_capture_on_commit_callbacks: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    report = _incident_report_requested(ivan, django_capture_on_commit_callbacks)

    def unreachable_tsa(pdf: bytes) -> bytes:
        raise services.TimestampRequestError("Error while contacting timestamp service")

    signer = services.report_signer()
    monkeypatch.setattr(services, "report_signer", lambda: _Signer(signer, unreachable_tsa))
    with pytest.raises(services.TimestampRequestError):
        report_run(report_id=report.pk)
    report.refresh_from_db()
    assert (report.status, report.attempts) == ("pending", 1)
    monkeypatch.undo()
    report_run(report_id=report.pk)  # what the task's automatic retry does
    report.refresh_from_db()
    assert (report.status, report.attempts) == ("done", 2)


def test_a_deterministic_error_fails_the_report_with_its_reason(
    ivan: Any, django_capture_on_commit_callbacks: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    report = _incident_report_requested(ivan, django_capture_on_commit_callbacks)

    def broken(document: Any) -> bytes:
        raise ValueError("report document lacks title")

    monkeypatch.setattr(services, "render_pdf", broken)
    report_run(report_id=report.pk)
    report.refresh_from_db()
    assert report.status == "failed"
    assert "lacks title" in report.error
    assert not report.file
    failed = LedgerEntry.objects.filter(object_type="reports.report", action="fail")
    assert failed.count() == 1


def test_the_beat_schedule_names_registered_tasks() -> None:
    from django.conf import settings

    for entry in settings.CELERY_BEAT_SCHEDULE.values():
        assert entry["task"] in celery_app.tasks


class _Signer:
    """A signer whose ``sign`` is replaced, keeping the real one's identity."""

    def __init__(self, real: Any, sign: Any) -> None:
        self.signer = real.signer
        self.level = real.level
        self.sign = sign
