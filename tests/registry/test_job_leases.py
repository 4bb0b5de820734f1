"""The outbox, leases and heartbeats of ``registry.jobs``, one rule at a time.

Alice, an analyst, requests fragility analyses of a small synthetic arena. A worker's
lease is the pair (``worker``, ``heartbeat_at``); "elsewhere" is a worker on another host,
which this process cannot see, so only its heartbeat speaks for it. The whole system
under faults (real worker, Redis, gunicorn) is ``test_job_faults.py``'s.
"""

from __future__ import annotations

import datetime as dt
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.utils import timezone

import registry.analyses
import registry.queue
from config.celery import app as celery_app
from registry.analyses import ANALYSIS_JOBS, analysis_request, analysis_run
from registry.jobs import jobs_dispatch, jobs_sweep
from registry.models import FragilityAnalysis, LedgerEntry, VoteDataset
from tests.datasets import read_dataset
from tests.factories import BenchmarkFactory
from tests.live_http import free_port
from tests.synthetic_votes import SYNTHETIC_READ_OPTIONS, synthetic_arena_csv

FAST = {"bootstrap_rounds": 0, "top_k": [1], "adjacent_pairs": False, "random_trials": 0}
LONG_AGO = dt.timedelta(hours=1)


@pytest.fixture
def dataset(alice: Any) -> VoteDataset:
    return read_dataset(
        alice,
        synthetic_arena_csv(n_votes=600),
        {"benchmark": BenchmarkFactory(), "name": "Synthetic arena votes"},
        SYNTHETIC_READ_OPTIONS,
    )


@pytest.fixture
def requested(alice: Any, dataset: VoteDataset, django_capture_on_commit_callbacks: Any) -> int:
    """A pending analysis whose message was never sent."""
    with django_capture_on_commit_callbacks(execute=False):
        return analysis_request(actor=alice, dataset=dataset, parameters=FAST).pk


def held_by(pk: int, worker: str, heartbeat_age: dt.timedelta) -> None:
    """Attempt 1 of the analysis is held by ``worker``, last heard of ``heartbeat_age`` ago."""
    beat = timezone.now() - heartbeat_age
    FragilityAnalysis.objects.filter(pk=pk).update(
        status="running", attempts=1, worker=worker, started_at=beat, heartbeat_at=beat
    )


def a_gone_process() -> str:
    """A lease holder on this host whose process has exited."""
    process = subprocess.Popen(["true"])
    process.wait()
    return f"{socket.gethostname()}:{process.pid}"


def ledger_actions(pk: int) -> list[str]:
    return list(
        LedgerEntry.objects.filter(object_type="registry.fragilityanalysis", object_id=str(pk))
        .order_by("seq")
        .values_list("action", flat=True)
    )


# --- leases ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_lapsed_lease_is_claimed_by_the_redelivered_message(requested: int) -> None:
    held_by(requested, "elsewhere:4242", heartbeat_age=LONG_AGO)
    analysis_run(analysis_id=requested)  # the dead worker's message, delivered again
    analysis = FragilityAnalysis.objects.get(pk=requested)
    assert (analysis.status, analysis.attempts) == ("done", 2)
    # The dead attempt's late result is discarded.
    assert ANALYSIS_JOBS.fail(requested, 1, "attempt 1's late outcome") is False
    assert ledger_actions(requested) == ["request", "complete"]


@pytest.mark.django_db
def test_a_live_lease_is_left_to_its_holder(requested: int) -> None:
    held_by(requested, "elsewhere:4242", heartbeat_age=dt.timedelta(seconds=1))
    analysis_run(analysis_id=requested)  # a duplicate delivery
    assert jobs_sweep() == []
    analysis = FragilityAnalysis.objects.get(pk=requested)
    assert (analysis.status, analysis.attempts, analysis.worker) == ("running", 1, "elsewhere:4242")


@pytest.mark.django_db
def test_a_lease_held_by_a_gone_process_of_this_host_is_claimed_at_once(requested: int) -> None:
    held_by(requested, a_gone_process(), heartbeat_age=dt.timedelta(seconds=1))
    analysis_run(analysis_id=requested)
    analysis = FragilityAnalysis.objects.get(pk=requested)
    assert (analysis.status, analysis.attempts) == ("done", 2)


@pytest.mark.django_db
def test_the_sweep_requeues_a_lapsed_lease_and_publishes_it(
    requested: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent: list[tuple[str, tuple[Any, ...]]] = []
    monkeypatch.setattr(
        registry.queue, "job_publish", lambda name, *args: sent.append((name, args))
    )
    held_by(requested, "elsewhere:4242", heartbeat_age=LONG_AGO)
    assert jobs_sweep() == [("fragility analysis", requested)]
    analysis = FragilityAnalysis.objects.get(pk=requested)
    assert (analysis.status, analysis.worker) == ("pending", "")
    assert analysis.published_at is not None
    assert sent == [(registry.analyses.ANALYSIS_TASK, (requested,))]


@pytest.mark.django_db(transaction=True)
def test_a_healthy_job_longer_than_its_lease_is_never_reclaimed(
    requested: int, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The heartbeat renews the lease while the engine works in silence for several
    windows; neither a duplicate delivery nor the sweep takes the job meanwhile."""
    settings.JOB_LEASE_SECONDS = 1
    real_analyze = registry.analyses.analyze
    working = threading.Event()

    def slow_analyze(*args: Any, **kwargs: Any) -> Any:
        working.set()
        time.sleep(4)  # four lease windows without a progress report
        return real_analyze(*args, **kwargs)

    monkeypatch.setattr(registry.analyses, "analyze", slow_analyze)
    job = threading.Thread(target=analysis_run, kwargs={"analysis_id": requested})
    job.start()
    assert working.wait(timeout=30)
    taken = []
    while job.is_alive():
        taken.append(ANALYSIS_JOBS.claim(requested))
        assert jobs_sweep() == []
        time.sleep(0.25)
    job.join()
    assert len(taken) > 4
    assert set(taken) == {None}
    analysis = FragilityAnalysis.objects.get(pk=requested)
    assert (analysis.status, analysis.attempts) == ("done", 1)
    assert ledger_actions(requested) == ["request", "complete"]


# --- the outbox --------------------------------------------------------------------------


@pytest.fixture
def unreachable_broker() -> Iterator[Callable[[], None]]:
    """The workers' broker is a Redis URL on a port nothing listens on, until the test
    calls the function it is given; queued messages are purged afterwards."""
    conf = celery_app.conf

    def point_at(url: str | None) -> None:
        # Publishing uses the write URL (CELERY_BROKER_URL in the environment would win
        # over broker_url); Celery caches its connection and producer pools.
        conf.broker_write_url = url
        celery_app._pool = None
        celery_app.amqp._producer_pool = None

    point_at(f"redis://127.0.0.1:{free_port()}/0")
    yield lambda: point_at(None)
    point_at(None)
    celery_app.control.purge()


@pytest.mark.django_db(transaction=True)
def test_a_request_is_accepted_while_the_broker_is_unreachable_and_published_later(
    api: Any, alice: Any, dataset: VoteDataset, unreachable_broker: Callable[[], None]
) -> None:
    response = api(alice).post(
        f"/api/v1/datasets/{dataset.pk}/analyses/", {"parameters": FAST}, format="json"
    )
    assert response.status_code == 202
    analysis = FragilityAnalysis.objects.get()
    assert (analysis.status, analysis.published_at) == ("pending", None)
    assert ledger_actions(analysis.pk) == ["request"]
    assert jobs_dispatch() == 0  # the backstop's round meets the same broker

    unreachable_broker()  # the broker is back
    assert jobs_dispatch() == 1
    analysis.refresh_from_db()
    assert analysis.status == "pending"
    assert analysis.published_at is not None
    assert jobs_dispatch() == 0  # published once


@pytest.mark.django_db
def test_the_dispatcher_publishes_again_what_the_broker_lost(
    requested: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent: list[tuple[Any, ...]] = []
    monkeypatch.setattr(registry.queue, "job_publish", lambda name, *args: sent.append(args))
    FragilityAnalysis.objects.filter(pk=requested).update(published_at=timezone.now() - LONG_AGO)
    monkeypatch.setattr(registry.queue, "queued_messages", lambda: 1)
    assert jobs_dispatch() == 0  # its message still waits in the queue
    monkeypatch.setattr(registry.queue, "queued_messages", lambda: 0)
    assert jobs_dispatch() == 1  # the broker restarted empty
    assert sent == [(requested,)]
    published_at = FragilityAnalysis.objects.get(pk=requested).published_at
    assert published_at is not None
    assert published_at > timezone.now() - dt.timedelta(minutes=1)
