"""A real Celery worker process killed with SIGKILL while signing a report: the sweep
re-queues the report, a second worker finishes it, and exactly one signed PDF exists.

Worker 1 signs at PAdES B-T against a *hanging timestamp authority*: a loopback TCP
server that reads the timestamp request and never answers. Once that request has
arrived, the worker is known to be blocked inside the signing step (status SIGNING,
nothing stored yet), which is where the test kills it: an event, not a sleep, decides
the moment. Worker 2 runs without a timestamp authority (PAdES B-B), so the finished
file also shows which attempt produced it.

The workers are separate ``celery worker`` processes on the test database. Their broker
is a filesystem broker in the test's own folder, or, when the test run itself uses
Redis, that Redis with a queue of their own; the test process sends to it by standing
in for the ``build_report`` task that ``report_request`` and the sweep queue through.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import quote

import pytest
import redis
from celery import Celery
from django.conf import settings
from django.db import connection

import registry.queue
from registry.analyses import ANALYSIS_TASK, analysis_request, analysis_run
from registry.models import FragilityAnalysis, LedgerEntry
from registry.services.datasets import DATASET_READ_TASK
from registry.transparency import ensure_dev_log_key
from reports.models import Report
from reports.pdf.devca import DevPki
from reports.services import (
    REPORT_TASK,
    ReportSubject,
    report_request,
    report_verify,
    reports_requeue_stuck,
)
from tests.reports.report_records import FAST, make_claim, make_dataset

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("report_settings")]

BUILD_REPORT = REPORT_TASK
# Generous: a worker process needs a few seconds to start on a loaded 2-core machine.
STEP_TIMEOUT = 60.0


class HangingTimestampAuthority:
    """A loopback TCP server that reads each request and never answers it.

    ``request_received`` is set once a client has sent bytes: a signer talking to it is
    then blocked waiting for a reply. Connections stay open until ``stop`` so the client
    sees neither a reply nor a reset.
    """

    def __init__(self) -> None:
        self.request_received = threading.Event()
        self.connections: list[socket.socket] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.1)  # so the accept loop notices ``stop``
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def url(self) -> str:
        port = self._listener.getsockname()[1]
        return f"http://127.0.0.1:{port}/tsa"

    def _serve(self) -> None:
        while not self._stopping.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:  # the listener was closed
                return
            self.connections.append(client)
            client.settimeout(STEP_TIMEOUT)
            try:
                if client.recv(65536):
                    self.request_received.set()
            except OSError:
                pass  # the client went away (e.g. was killed) before sending anything

    def __enter__(self) -> HangingTimestampAuthority:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stopping.set()
        self._thread.join(timeout=5)
        self._listener.close()
        for client in self.connections:
            client.close()


class QueuedTask:
    """Stands in for a Celery task's ``delay``: sends the same task, by name, to the
    workers' broker and queue, and remembers the arguments it sent."""

    def __init__(self, name: str, sender: Celery | None, queue: str) -> None:
        self.name, self.sender, self.queue = name, sender, queue
        self.sent: list[tuple[Any, ...]] = []

    def delay(self, *args: Any) -> None:
        self.sent.append(args)
        if self.sender is not None:
            self.sender.send_task(self.name, args=list(args), queue=self.queue)


def _database_url() -> str:
    """A DATABASE_URL naming the test database this process is connected to."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    if connection.vendor != "postgresql":
        pytest.skip(f"no DATABASE_URL form for {connection.vendor}")
    credentials = quote(db["USER"] or "", safe="")
    if db["PASSWORD"]:
        credentials += ":" + quote(db["PASSWORD"], safe="")
    host = f"{db['HOST'] or 'localhost'}:{db['PORT'] or 5432}"
    return f"postgres://{credentials}@{host}/{quote(db['NAME'], safe='')}"


def _broker(var_dir: Path) -> tuple[str, dict[str, Any]]:
    """The workers' broker URL and transport options: this run's Redis, if it uses Redis
    (the queue name keeps it apart), else a filesystem broker under ``var_dir``, laid out
    as config.settings lays it out for ``REGISTRY_VAR_DIR=var_dir``."""
    if settings.CELERY_BROKER_URL.startswith("redis://"):
        return settings.CELERY_BROKER_URL, {}
    folders = {name: var_dir / "broker" / name for name in ("out", "processed", "control")}
    for folder in folders.values():
        folder.mkdir(parents=True, exist_ok=True)
    return "filesystem://", {
        "data_folder_in": str(folders["out"]),
        "data_folder_out": str(folders["out"]),
        "processed_folder": str(folders["processed"]),
        "control_folder": str(folders["control"]),
        "store_processed": False,
    }


def _worker_env(var_dir: Path, broker_url: str, pki: DevPki, tsa_url: str) -> dict[str, str]:
    """The environment of a worker outside the test runner (no PYTEST_VERSION) that shares
    the test's database, media folder and signing identity."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("PYTEST_")}
    env.pop("REPORT_TSA_URL", None)
    env.pop("REPORT_SIGNATURE_LEVEL", None)
    env.update(
        DEBUG="1",  # a development secret key; signing files are named explicitly below
        DJANGO_SETTINGS_MODULE="config.settings",
        REGISTRY_VAR_DIR=str(var_dir),
        DATABASE_URL=_database_url(),
        CELERY_BROKER_URL=broker_url,
        MEDIA_ROOT=str(settings.MEDIA_ROOT),
        REPORT_SIGNING_KEY_FILE=str(pki.signing_key_file),
        REPORT_SIGNING_CERT_FILE=str(pki.signing_cert_file),
        REPORT_SIGNING_CHAIN_FILE=str(pki.chain_file),
        TLOG_SIGNING_KEY_FILE=str(ensure_dev_log_key(settings.TLOG_DEV_KEY_DIR)),
    )
    if tsa_url:
        env["REPORT_TSA_URL"] = tsa_url
        # B-T: one timestamp request, the one the hanging authority never answers.
        env["REPORT_SIGNATURE_LEVEL"] = "B-T"
    return env


class WorkerProcess:
    """One ``celery worker`` subprocess (solo pool, one queue); its output goes to a log
    file that failure messages quote."""

    def __init__(self, name: str, queue: str, env: dict[str, str], log_dir: Path) -> None:
        self.log_path = log_dir / f"{name}.log"
        command = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--pool",
            "solo",
            "--concurrency",
            "1",
            "-Q",
            queue,
            "--hostname",
            f"{name}-{queue}@%h",
            "--loglevel",
            "WARNING",
            # Nothing to gossip with and no peers to mingle with: start faster.
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ]
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                command, cwd=settings.BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT
            )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]

    def assert_alive(self) -> None:
        code = self.process.poll()
        assert code is None, f"worker exited with {code} before it was expected to:\n{self.log()}"

    def kill(self) -> int:
        """SIGKILL: no shutdown handler, no ack, no reject runs."""
        os.kill(self.process.pid, signal.SIGKILL)
        return self.process.wait(timeout=STEP_TIMEOUT)

    def stop(self) -> None:
        if self.process.poll() is not None:
            return
        self.process.terminate()  # a warm shutdown; the solo pool is idle by then
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=15)


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[Callable[..., WorkerProcess]]:
    """Start worker processes; every one still running is stopped afterwards."""
    started: list[WorkerProcess] = []

    def start(name: str, queue: str, env: dict[str, str]) -> WorkerProcess:
        worker = WorkerProcess(name, queue, env, tmp_path)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


@pytest.fixture
def sender_and_queue(tmp_path: Path) -> Iterator[tuple[Celery, str, str, Path]]:
    """A Celery app (not the current app) that sends to the workers' broker; its URL,
    a queue of this test's own and the REGISTRY_VAR_DIR the workers get."""
    var_dir = (tmp_path / "var").resolve()
    broker_url, options = _broker(var_dir)
    sender = Celery("killed-worker-test", broker=broker_url, set_as_current=False)
    sender.conf.broker_transport_options = options
    sender.conf.task_serializer = "json"
    queue = f"killed-worker-{uuid.uuid4().hex[:12]}"
    yield sender, broker_url, queue, var_dir
    sender.close()
    if broker_url.startswith("redis://"):
        _forget_redis_queue(broker_url, queue)


def _forget_redis_queue(broker_url: str, queue: str) -> None:
    """Remove what this test left in a shared Redis: its queue's keys, and the killed
    worker's unacknowledged message, which kombu would otherwise restore an hour later.
    ``unacked`` and ``unacked_index`` are kombu's default key names."""
    client = redis.Redis.from_url(broker_url)
    try:
        for key in client.scan_iter(match=f"*{queue}*"):  # the queue name is unique
            client.delete(key)
        for tag, raw in client.hgetall("unacked").items():
            _message, _exchange, routing_key = json.loads(raw)
            if routing_key == queue:
                client.zrem("unacked_index", tag)
                client.hdel("unacked", tag)
    finally:
        client.close()


def _wait_until(
    condition: Callable[[], bool], worker: WorkerProcess, what: str, timeout: float = STEP_TIMEOUT
) -> None:
    """Poll ``condition`` (the database, an event) while checking the worker is alive."""
    deadline = time.monotonic() + timeout
    while not condition():
        worker.assert_alive()
        assert time.monotonic() < deadline, f"no {what} after {timeout} s:\n{worker.log()}"
        time.sleep(0.05)


def route_jobs(monkeypatch: pytest.MonkeyPatch, *tasks: QueuedTask) -> None:
    """Publish each job the services publish through the stand-in of its task."""
    by_name = {task.name: task for task in tasks}
    monkeypatch.setattr(
        registry.queue, "job_publish", lambda name, *args: by_name[name].delay(*args)
    )


def _analysed_claim(alice: Any, monkeypatch: pytest.MonkeyPatch) -> FragilityAnalysis:
    """A claim with a finished analysis, run here: neither the dataset's read task nor
    the analysis task is sent."""
    route_jobs(
        monkeypatch, QueuedTask(DATASET_READ_TASK, None, ""), QueuedTask(ANALYSIS_TASK, None, "")
    )
    claim = make_claim(alice, make_dataset(alice))
    assert claim.dataset is not None
    analysis = analysis_request(actor=alice, dataset=claim.dataset, claim=claim, parameters=FAST)
    analysis_run(analysis_id=analysis.pk)
    analysis.refresh_from_db()
    assert analysis.status == FragilityAnalysis.Status.DONE, analysis.error
    return analysis


def _ledger_actions(report: Report) -> list[str]:
    entries = LedgerEntry.objects.filter(object_type="reports.report", object_id=str(report.pk))
    return list(entries.order_by("seq").values_list("action", flat=True))


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_while_signing_leaves_a_report_the_sweep_completes_with_one_file(
    alice: Any,
    dev_pki: DevPki,
    report_settings: Path,
    sender_and_queue: tuple[Celery, str, str, Path],
    workers: Callable[..., WorkerProcess],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sender, broker_url, queue, var_dir = sender_and_queue
    analysis = _analysed_claim(alice, monkeypatch)
    build_report = QueuedTask(BUILD_REPORT, sender, queue)
    route_jobs(monkeypatch, build_report)

    with HangingTimestampAuthority() as tsa:
        # Attempt 1: queued on commit by the real request path; the worker signs at B-T
        # and blocks on the timestamp authority, which is where it is killed.
        report = report_request(
            actor=alice, kind=Report.Kind.CLAIM, subject=ReportSubject(claim=analysis.claim)
        )
        assert build_report.sent == [(report.pk,)]
        first = workers("worker1", queue, _worker_env(var_dir, broker_url, dev_pki, tsa.url))
        _wait_until(tsa.request_received.is_set, first, "timestamp request")
        assert Report.objects.get(pk=report.pk).status == Report.Status.SIGNING
        assert first.kill() == -signal.SIGKILL

        dead = Report.objects.get(pk=report.pk)
        assert (dead.status, dead.attempts, dead.sha256) == (Report.Status.SIGNING, 1, "")
        assert not list(report_settings.rglob("*.pdf"))
        assert _ledger_actions(report) == ["request"]

        # The sweep finds the dead worker's row and queues attempt 2 to a fresh worker
        # without a timestamp authority.
        assert reports_requeue_stuck(older_than=dt.timedelta(0)) == [report.pk]
        assert build_report.sent == [(report.pk,), (report.pk,)]
        second = workers("worker2", queue, _worker_env(var_dir, broker_url, dev_pki, ""))
        _wait_until(
            lambda: Report.objects.get(pk=report.pk).status in ("done", "failed"),
            second,
            "finished report",
        )
        assert len(tsa.connections) == 1, "only the killed attempt asked for a timestamp"

    report.refresh_from_db()
    assert (report.status, report.error) == (Report.Status.DONE, "")
    assert (report.attempts, report.signature_level) == (2, "B-B")
    pdfs = list(report_settings.rglob("*.pdf"))
    assert pdfs == [Path(report.file.path)]
    data = pdfs[0].read_bytes()
    assert hashlib.sha256(data).hexdigest() == report.sha256 == pdfs[0].stem
    verification = report_verify(data)
    assert verification.passed, verification.to_dict()
    assert _ledger_actions(report) == ["request", "complete"]
