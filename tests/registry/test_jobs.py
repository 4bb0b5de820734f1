"""The job runner (``registry.jobs``) as both kinds of job use it: fragility analyses and
reports fail, hand back and retry the same way.

Alice requests analyses; Ivan, an investigator, requests his incident's report. Each test
breaks one step of the job (the engine, the PDF renderer, the ledger, the database
connection) and checks where the row ends: never left running. The timestamp authority's
transient error is ``tests/reports/test_reports_build.py``'s.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from celery.contrib.testing.worker import start_worker
from django.db import InterfaceError, OperationalError, connection

import registry.analyses
import registry.jobs
import registry.queue
from config.celery import app as celery_app
from registry.analyses import analysis_request, analysis_run
from registry.blobs import blob_write
from registry.models import FragilityAnalysis, LedgerEntry, VoteDataset
from registry.services.files import stored_file_record
from reports import services as report_services
from reports.models import Report
from reports.pdf.devca import ensure_dev_pki
from reports.services import ReportSubject, report_request, report_run
from tests.factories import VoteDatasetFactory
from tests.reports.report_records import READ_OPTIONS, make_incident, vote_csv

FAST = {"bootstrap_rounds": 0, "top_k": [1], "adjacent_pairs": False, "random_trials": 0}


@pytest.fixture
def signing(settings: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Reports are signed with a throwaway development PKI."""
    settings.REPORT_DEV_PKI_DIR = ensure_dev_pki(tmp_path_factory.mktemp("pki")).directory
    report_services.report_signer.cache_clear()
    yield
    report_services.report_signer.cache_clear()


def stored_dataset(raw: bytes) -> VoteDataset:
    """A vote dataset of exactly these bytes, stored without the upload's checks (a file
    the registry accepted before it refused such bytes at upload)."""
    stored = stored_file_record(blob=blob_write(content=raw), media_type="text/csv")
    return VoteDatasetFactory(file=stored, read_options=READ_OPTIONS)


@dataclass(frozen=True)
class JobKind:
    """One kind of job, seen from a test: how to request and run one, and a function its
    compute step calls (``module.name``) that a test can replace to break that step."""

    model: type[FragilityAnalysis] | type[Report]
    request: Callable[[], int]
    run: Callable[[int], None]
    module: ModuleType
    name: str

    def row(self, pk: int) -> Any:
        return self.model.objects.get(pk=pk)

    def ledger_actions(self, pk: int) -> list[str]:
        entries = LedgerEntry.objects.filter(
            object_type=self.model._meta.label_lower, object_id=str(pk)
        )
        return list(entries.order_by("seq").values_list("action", flat=True))


def analysis_kind(alice: Any) -> JobKind:
    def request() -> int:
        dataset = stored_dataset(vote_csv(n_votes=200))
        return analysis_request(actor=alice, dataset=dataset, parameters=FAST).pk

    return JobKind(
        model=FragilityAnalysis,
        request=request,
        run=lambda pk: analysis_run(analysis_id=pk),
        module=registry.analyses,
        name="analyze",
    )


def report_kind(ivan: Any) -> JobKind:
    def request() -> int:
        incident = make_incident(ivan).incident
        subject = ReportSubject(incident=incident)
        return report_request(actor=ivan, kind=Report.Kind.INCIDENT, subject=subject).pk

    return JobKind(
        model=Report,
        request=request,
        run=lambda pk: report_run(report_id=pk),
        module=report_services,
        name="render_pdf",
    )


@pytest.fixture(params=["analysis", "report"])
def kind(request: pytest.FixtureRequest, alice: Any, ivan: Any, signing: None) -> JobKind:
    return analysis_kind(alice) if request.param == "analysis" else report_kind(ivan)


@pytest.fixture
def requested(kind: JobKind, monkeypatch: pytest.MonkeyPatch) -> int:
    """A job requested by the real request path; its task is not sent."""
    # The test runs the job itself: nothing is published to a worker.
    monkeypatch.setattr(registry.queue, "job_publish", lambda *args: None)
    return kind.request()


def _raise(error: Exception) -> Callable[..., Any]:
    def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise error

    return broken


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("error", "message"),
    [
        (RuntimeError("the engine gave up"), "RuntimeError: the engine gave up"),
        (KeyError("Aurora"), "KeyError: 'Aurora'"),
        (MemoryError(), "MemoryError"),
        (ValueError("model 'A\x00B'"), "ValueError: model 'A\\x00B'"),
    ],
)
def test_an_unexpected_exception_in_compute_fails_the_job_with_its_message(
    kind: JobKind,
    requested: int,
    monkeypatch: pytest.MonkeyPatch,
    error: Exception,
    message: str,
) -> None:
    monkeypatch.setattr(kind.module, kind.name, _raise(error))
    kind.run(requested)  # returns: the failure is recorded, not raised
    row = kind.row(requested)
    assert (row.status, row.progress, row.error) == ("failed", 100, message)
    assert row.finished_at is not None
    assert kind.ledger_actions(requested) == ["request", "fail"]


@pytest.mark.django_db
def test_an_error_while_recording_the_result_fails_the_job_and_leaves_no_file(
    kind: JobKind, requested: int, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    real_append = registry.jobs.ledger_append

    def refuse_completion(*, instance: Any, action: str, **kwargs: Any) -> Any:
        if action == "complete":
            raise RuntimeError("the ledger refused the entry")
        return real_append(instance=instance, action=action, **kwargs)

    monkeypatch.setattr(registry.jobs, "ledger_append", refuse_completion)
    kind.run(requested)
    row = kind.row(requested)
    assert (row.status, row.error) == ("failed", "RuntimeError: the ledger refused the entry")
    assert kind.ledger_actions(requested) == ["request", "fail"]
    # The signed PDF was written before the transaction that failed to record it.
    assert not list(tmp_path.rglob("*.pdf"))


def _locked_once(action_refused: str) -> Callable[..., Any]:
    """ledger_append, except that the first ``action_refused`` entry meets a locked
    database."""
    real_append = registry.jobs.ledger_append
    refusals: list[str] = []

    def locked_once(*, instance: Any, action: str, **kwargs: Any) -> Any:
        if action == action_refused and not refusals:
            refusals.append(action)
            raise OperationalError("database is locked")
        return real_append(instance=instance, action=action, **kwargs)

    return locked_once


@pytest.mark.django_db
def test_a_transient_error_while_recording_a_failure_is_retried_in_place(
    kind: JobKind, requested: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(kind.module, kind.name, _raise(RuntimeError("the engine gave up")))
    monkeypatch.setattr(registry.jobs, "ledger_append", _locked_once("fail"))
    kind.run(requested)  # the runner reconnects and writes again: nothing to retry later
    row = kind.row(requested)
    assert (row.status, row.attempts, row.error) == (
        "failed",
        1,
        "RuntimeError: the engine gave up",
    )
    assert kind.ledger_actions(requested) == ["request", "fail"]


@pytest.mark.django_db
def test_a_transient_error_while_recording_a_failure_hands_the_job_back_when_it_lasts(
    kind: JobKind, requested: int, monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    settings.JOB_RECONNECT_SECONDS = 0  # the database stays away longer than the runner waits
    monkeypatch.setattr(kind.module, kind.name, _raise(RuntimeError("the engine gave up")))
    monkeypatch.setattr(registry.jobs, "ledger_append", _locked_once("fail"))
    with pytest.raises(OperationalError):
        kind.run(requested)
    assert (kind.row(requested).status, kind.ledger_actions(requested)) == ("pending", ["request"])
    kind.run(requested)  # the retry meets the same error and records it this time
    row = kind.row(requested)
    assert (row.status, row.attempts, row.error) == (
        "failed",
        2,
        "RuntimeError: the engine gave up",
    )
    assert kind.ledger_actions(requested) == ["request", "fail"]


@pytest.mark.django_db
@pytest.mark.parametrize("error", [OperationalError, InterfaceError])
def test_a_transient_error_hands_the_job_back_and_the_retry_finishes_it(
    kind: JobKind, requested: int, monkeypatch: pytest.MonkeyPatch, error: type[Exception]
) -> None:
    monkeypatch.setattr(kind.module, kind.name, _raise(error("the database went away")))
    with pytest.raises(error):
        kind.run(requested)
    row = kind.row(requested)
    assert (row.status, row.attempts, row.progress, row.error) == ("pending", 1, 0, "")
    monkeypatch.undo()
    kind.run(requested)  # what the task's automatic retry does
    row = kind.row(requested)
    assert (row.status, row.attempts, row.error) == ("done", 2, "")
    assert kind.ledger_actions(requested) == ["request", "complete"]


@pytest.mark.django_db
def test_a_transient_error_on_the_last_attempt_fails_the_job_with_its_message(
    kind: JobKind, requested: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(kind.module, kind.name, _raise(OperationalError("database is locked")))
    for attempt in range(1, registry.jobs.MAX_ATTEMPTS):
        with pytest.raises(OperationalError):
            kind.run(requested)
        assert (kind.row(requested).status, kind.row(requested).attempts) == ("pending", attempt)
    kind.run(requested)  # the last attempt does not raise: there is no retry left
    row = kind.row(requested)
    assert row.status == "failed"
    assert row.error == "Gave up after 3 attempts: OperationalError: database is locked"


@pytest.mark.django_db(transaction=True)
def test_a_broken_connection_is_replaced_before_the_job_is_handed_back(
    kind: JobKind, requested: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    def lose_the_connection(*_args: Any, **_kwargs: Any) -> Any:
        # What a database restart does to the worker's open connection.
        assert connection.connection is not None
        connection.connection.close()
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(kind.module, kind.name, lose_the_connection)
    with pytest.raises(OperationalError):
        kind.run(requested)
    assert kind.row(requested).status == "pending"


@pytest.mark.django_db
@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL cannot store NUL")
def test_a_nul_in_a_model_name_fails_the_analysis_naming_the_problem(
    alice: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(registry.queue, "job_publish", lambda *args: None)
    # The engine ranks "Aur\x00ora"; the results cannot be stored as PostgreSQL JSON.
    raw = vote_csv(n_votes=200).replace(b"Aurora", b"Aur\x00ora")
    analysis = analysis_request(actor=alice, dataset=stored_dataset(raw), parameters=FAST)
    analysis_run(analysis_id=analysis.pk)
    analysis.refresh_from_db()
    assert analysis.status == "failed"
    # PostgreSQL's own words ("\u0000 cannot be converted to text ... "model": "Aur\u0000"),
    # or the reader's, should it refuse the file first: either names the NUL.
    assert "\\u0000" in analysis.error or "NUL" in analysis.error
    assert analysis.results is None


# --- on a real worker --------------------------------------------------------------------


def _wait_until_finished(kind: JobKind, pk: int, timeout: float = 120) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        row = kind.row(pk)
        if row.status in ("done", "failed"):
            return row
        time.sleep(0.1)
    raise AssertionError(f"{kind.model.__name__} {pk} did not finish in {timeout} s")


@pytest.mark.django_db(transaction=True)
def test_on_a_real_worker_a_transient_error_is_retried_and_the_job_finishes(
    kind: JobKind, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = getattr(kind.module, kind.name)
    calls: list[int] = []

    def fails_once(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 1:
            raise OperationalError("the database went away")
        return real(*args, **kwargs)

    monkeypatch.setattr(kind.module, kind.name, fails_once)
    with start_worker(celery_app, perform_ping_check=False, pool="solo", loglevel="WARNING"):
        pk = kind.request()  # queued on commit, to the worker
        row = _wait_until_finished(kind, pk)
    assert (row.status, row.attempts, row.error) == ("done", 2, "")
    assert len(calls) == 2
