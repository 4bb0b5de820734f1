"""Jobs survive every fault: a fault-injection suite on PostgreSQL with real processes.

A Redis server of the suite's own (a free port, no persistence), gunicorn, Celery beat
and a prefork Celery worker share the test database. Alice, an analyst, requests 20
fragility analyses and 20 digest reports over HTTP; while they are in flight one fault
strikes, and a new worker starts at once where the fault took the old one:

- the worker and its pool are killed with SIGKILL (a machine or container lost);
- one pool child running a job is killed with SIGKILL (what the OOM killer does);
- Redis is killed and restarted empty, with half the requests sent while it is down;
- PostgreSQL terminates the worker's connections (``pg_terminate_backend``).

Every job must reach DONE within 60 s of the fault, each exactly once (one ``complete``
ledger entry, one report version), none lost, no request answered 5xx, and the ledger
must verify. Short lease and sweep windows (a few seconds, set by environment as in
production) keep the suite to a few minutes.

With ``JOB_FAULTS_TIMINGS`` naming a file, each test appends what it measured (one JSON
line) for ``benchmarks/recovery_bench.py``.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone
from rest_framework.authtoken.models import Token

from registry.ledger import ledger_verify
from registry.models import FragilityAnalysis, LedgerEntry, VoteDataset
from registry.transparency import ensure_dev_log_key
from reports.models import Report, ReportVersion
from tests.datasets import read_dataset
from tests.factories import BenchmarkFactory
from tests.live_http import BIN, ROOT, free_port, running, server_env
from tests.markers import requires_postgres
from tests.synthetic_votes import SYNTHETIC_READ_OPTIONS, synthetic_arena_csv

pytestmark = [pytest.mark.slow, pytest.mark.postgres, requires_postgres]

JOBS_PER_KIND = 20
RECOVERY_LIMIT = 60.0
# Enough bootstrap rounds that an analysis takes a moment, so that jobs are in flight.
PARAMETERS = {"bootstrap_rounds": 40, "top_k": [1], "adjacent_pairs": False, "random_trials": 0}
# Seconds: a worker's lease, the sweep and the dispatcher, as production sets them.
WINDOWS = {"JOB_LEASE_SECONDS": "4", "JOB_SWEEP_SECONDS": "1", "JOB_DISPATCH_SECONDS": "1"}
WORKER_APP = "registry-fault-worker"


class Redis:
    """A redis-server of the suite's own: no persistence, so a restart empties it."""

    def __init__(self, directory: Path) -> None:
        self.port = free_port()
        self.directory = directory
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        command = [
            "redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
            "--save", "", "--appendonly", "no", "--dir", str(self.directory),
        ]  # fmt: skip
        log = (self.directory / "redis.log").open("ab")
        self.process = subprocess.Popen(command, stdout=log, stderr=log)
        _wait_for(lambda: _accepts(self.port), f"redis on port {self.port}", 20)

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.kill()


class Worker:
    """A prefork ``celery worker`` in a process group of its own (so that it can be
    killed with its pool), with a log file."""

    def __init__(self, env: dict[str, str], log_dir: Path, name: str) -> None:
        self.log_path = log_dir / f"{name}.log"
        command = [
            str(BIN / "celery"), "-A", "config", "worker", "--pool", "prefork",
            "--concurrency", "2", "--loglevel", "INFO", "--hostname", f"{name}@%h",
            "--without-gossip", "--without-mingle",
        ]  # fmt: skip
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                command, cwd=ROOT, env=env, stdout=log, stderr=log, start_new_session=True
            )

    def kill_all(self) -> None:
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        # Nothing of a worker's is worth a warm shutdown here: what it held is the next
        # test's to ignore (the database is flushed, Redis emptied).
        with contextlib.suppress(ProcessLookupError):
            self.kill_all()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-3000:]


@dataclass
class Cluster:
    """Redis, gunicorn and beat for the whole module; workers per test."""

    directory: Path
    redis: Redis
    env: dict[str, str]
    base_url: str
    workers: list[Worker] = field(default_factory=list)

    def start_worker(self) -> Worker:
        worker = Worker(self.env, self.directory, f"worker{len(self.workers) + 1}")
        self.workers.append(worker)
        return worker


def _accepts(port: int) -> bool:
    import socket

    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _wait_for(condition: Callable[[], bool], what: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"no {what} after {timeout} s")
        time.sleep(0.1)


@pytest.fixture(scope="module")
def cluster(
    django_db_setup: None, django_db_blocker: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Cluster]:
    directory = tmp_path_factory.mktemp("faults")
    redis = Redis(directory)
    redis.start()
    with django_db_blocker.unblock():
        env = server_env(
            CELERY_BROKER_URL=redis.url,
            REGISTRY_VAR_DIR=str(directory / "var"),
            MEDIA_ROOT=str(directory / "media"),
            TLOG_SIGNING_KEY_FILE=str(ensure_dev_log_key(settings.TLOG_DEV_KEY_DIR)),
            JOB_RECONNECT_SECONDS="5",
            **WINDOWS,
        )
    worker_env = {**env, "PGAPPNAME": WORKER_APP}
    port = free_port()
    gunicorn = [
        str(BIN / "gunicorn"), "config.wsgi:application", "--bind", f"127.0.0.1:{port}",
        "--workers", "3", "--timeout", "60",
    ]  # fmt: skip
    beat = [
        str(BIN / "celery"), "-A", "config", "beat", "--loglevel", "INFO",
        "--schedule", str(directory / "beat-schedule"),
    ]  # fmt: skip
    try:
        with running(gunicorn, env, port, directory / "gunicorn.log"):
            beat_log = (directory / "beat.log").open("wb")
            beat_process = subprocess.Popen(
                beat, cwd=ROOT, env=env, stdout=beat_log, stderr=beat_log
            )
            try:
                yield Cluster(directory, redis, worker_env, f"http://127.0.0.1:{port}")
            finally:
                beat_process.terminate()
                beat_process.wait(timeout=20)
    finally:
        redis.stop()


@dataclass(frozen=True)
class Client:
    """Alice's HTTP client: every answer's status code is kept."""

    base_url: str
    token: str
    statuses: list[int] = field(default_factory=list)

    def post(self, path: str, body: dict[str, Any]) -> int:
        request = urllib.request.Request(
            self.base_url + path,
            data=json.dumps(body).encode(),
            headers={"Authorization": f"Token {self.token}", "Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as answer:
                status: int = answer.status
        except urllib.error.HTTPError as error:
            status = error.code
        self.statuses.append(status)
        return status


@dataclass
class Batch:
    """The jobs one test requests, and how to send them."""

    client: Client
    dataset: VoteDataset
    period: dict[str, str]

    def send(self, count: int) -> None:
        requests: list[tuple[str, dict[str, Any]]] = []
        for _ in range(count):
            requests.append(
                (f"/api/v1/datasets/{self.dataset.pk}/analyses/", {"parameters": PARAMETERS})
            )
            requests.append(("/api/v1/reports/", {"kind": "digest", "subject": self.period}))
        with ThreadPoolExecutor(max_workers=6) as pool:
            list(pool.map(lambda request: self.client.post(*request), requests))


@pytest.fixture
def batch(cluster: Cluster, alice: Any, settings: Any) -> Batch:
    """Alice's registry holds a small synthetic arena; she holds an API token."""
    settings.MEDIA_ROOT = Path(cluster.env["MEDIA_ROOT"])  # the worker reads what she stored
    dataset = read_dataset(
        alice,
        synthetic_arena_csv(),
        {"benchmark": BenchmarkFactory(), "name": "Synthetic arena votes"},
        SYNTHETIC_READ_OPTIONS,
    )
    today = timezone.now().date().isoformat()
    token = Token.objects.create(user=alice).key
    return Batch(
        Client(cluster.base_url, token), dataset, {"period_start": today, "period_end": today}
    )


@pytest.fixture
def workers(transactional_db: None, cluster: Cluster) -> Iterator[Cluster]:
    """Workers started during the test; all stopped before the database is flushed.
    Redis starts empty for each test."""
    subprocess.run(
        ["redis-cli", "-p", str(cluster.redis.port), "flushall"], check=True, capture_output=True
    )
    yield cluster
    for worker in cluster.workers:
        worker.stop()
    cluster.workers.clear()


def _jobs() -> list[Any]:
    return [*FragilityAnalysis.objects.all(), *Report.objects.all()]


def _running_jobs() -> list[Any]:
    running = [
        *FragilityAnalysis.objects.filter(status="running"),
        *Report.objects.filter(status__in=["rendering", "signing"]),
    ]
    return [job for job in running if job.worker]


def _wait_until_in_flight() -> None:
    """Until some jobs run and others still wait: the moment to strike."""
    _wait_for(lambda: len(_running_jobs()) >= 1, "running job", 90)


def _all_done_within(limit: float, since: float, cluster: Cluster) -> float:
    """Seconds from ``since`` until every job is DONE (or fail, naming the stragglers)."""
    while time.monotonic() - since < limit:
        jobs = _jobs()
        if len(jobs) == 2 * JOBS_PER_KIND and all(job.status == "done" for job in jobs):
            return time.monotonic() - since
        time.sleep(0.2)
    stragglers = [
        (type(job).__name__, job.pk, job.status, job.error)
        for job in _jobs()
        if job.status != "done"
    ]
    logs = "\n".join(worker.log() for worker in cluster.workers[-1:])
    raise AssertionError(f"not done {limit} s after the fault: {stragglers}\n{logs}")


def _assert_each_done_once(client: Client) -> None:
    assert client.statuses == [202] * (2 * JOBS_PER_KIND), client.statuses
    assert FragilityAnalysis.objects.filter(status="done").count() == JOBS_PER_KIND
    assert Report.objects.filter(status="done").count() == JOBS_PER_KIND
    for model, label in (
        (FragilityAnalysis, "registry.fragilityanalysis"),
        (Report, "reports.report"),
    ):
        actions: dict[str, list[str]] = {}
        for object_id, action in (
            LedgerEntry.objects.filter(object_type=label)
            .order_by("seq")
            .values_list("object_id", "action")
        ):
            actions.setdefault(object_id, []).append(action)
        assert all(found == ["request", "complete"] for found in actions.values()), actions
        assert len(actions) == model.objects.count() == JOBS_PER_KIND
    assert ReportVersion.objects.count() == JOBS_PER_KIND
    assert ledger_verify() is None


def _record(fault: str, struck_at: float, all_done: float) -> None:
    """Append what this fault cost to ``JOB_FAULTS_TIMINGS``: seconds until every job was
    done, and until the last job the fault hit was claimed again, and done."""
    path = os.environ.get("JOB_FAULTS_TIMINGS")
    if not path:
        return
    struck_wall = time.time() - (time.monotonic() - struck_at)
    hit = [job for job in _jobs() if job.attempts > 1]
    line = {
        "fault": fault,
        "jobs": len(_jobs()),
        "hit": len(hit),
        "hit_reclaimed_seconds": round(
            max((job.started_at.timestamp() - struck_wall for job in hit), default=0.0), 2
        ),
        "hit_done_seconds": round(
            max((job.finished_at.timestamp() - struck_wall for job in hit), default=0.0), 2
        ),
        "all_done_seconds": round(all_done, 2),
    }
    with open(path, "a") as timings:
        timings.write(json.dumps(line) + "\n")


def _finish(fault: str, struck_at: float, batch: Batch, cluster: Cluster) -> None:
    all_done = _all_done_within(RECOVERY_LIMIT, struck_at, cluster)
    _assert_each_done_once(batch.client)
    _record(fault, struck_at, all_done)


def test_without_a_fault_every_job_is_done_once(workers: Cluster, batch: Batch) -> None:
    """The control: the same batch, nothing struck (timed from when the jobs ran)."""
    workers.start_worker()
    batch.send(JOBS_PER_KIND)
    _wait_until_in_flight()
    _finish("none (control)", time.monotonic(), batch, workers)


def test_a_killed_worker_and_its_pool_lose_no_job(workers: Cluster, batch: Batch) -> None:
    first = workers.start_worker()
    batch.send(JOBS_PER_KIND)
    _wait_until_in_flight()
    first.kill_all()
    struck_at = time.monotonic()
    workers.start_worker()
    _finish("worker SIGKILL", struck_at, batch, workers)


def test_a_killed_pool_child_loses_no_job(workers: Cluster, batch: Batch) -> None:
    workers.start_worker()
    batch.send(JOBS_PER_KIND)
    _wait_until_in_flight()
    victim = _running_jobs()[0]
    os.kill(int(victim.worker.rpartition(":")[2]), signal.SIGKILL)
    struck_at = time.monotonic()  # the worker replaces its child itself
    _finish("pool child SIGKILL", struck_at, batch, workers)
    victim.refresh_from_db()
    assert victim.attempts == 2


def test_redis_killed_and_restarted_empty_loses_no_job(workers: Cluster, batch: Batch) -> None:
    workers.start_worker()
    batch.send(JOBS_PER_KIND // 2)
    _wait_until_in_flight()
    workers.redis.kill()
    struck_at = time.monotonic()
    batch.send(JOBS_PER_KIND // 2)  # answered 202 while the broker is down
    unpublished = [job for job in _jobs() if job.published_at is None]
    workers.redis.start()
    assert len(unpublished) >= JOBS_PER_KIND
    _finish("Redis killed, restarted empty", struck_at, batch, workers)


def test_terminated_database_connections_lose_no_job(workers: Cluster, batch: Batch) -> None:
    workers.start_worker()
    batch.send(JOBS_PER_KIND)
    _wait_until_in_flight()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE application_name = %s",
            [WORKER_APP],
        )
        (terminated,) = cursor.fetchone()
    struck_at = time.monotonic()
    assert terminated >= 1
    _finish("pg_terminate_backend", struck_at, batch, workers)


def test_a_request_while_the_broker_is_unreachable_is_accepted_and_published_later(
    workers: Cluster, batch: Batch
) -> None:
    """No worker yet: the row waits unpublished while Redis is down; once Redis is back
    and a worker runs, the dispatcher publishes it and the worker builds it."""
    workers.redis.kill()
    try:
        assert (
            batch.client.post("/api/v1/reports/", {"kind": "digest", "subject": batch.period})
            == 202
        )
        report = Report.objects.get()
        assert (report.status, report.published_at) == ("pending", None)
    finally:
        workers.redis.start()
    workers.start_worker()
    _wait_for(lambda: Report.objects.get().status == "done", "built report", RECOVERY_LIMIT)
    assert Report.objects.get().published_at is not None
    actions = LedgerEntry.objects.filter(object_type="reports.report").values_list(
        "action", flat=True
    )
    assert sorted(actions) == ["complete", "request"]
