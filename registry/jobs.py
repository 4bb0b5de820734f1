"""Job rows: background work whose state is a database row, not a broker message.

A *job row* (``registry.models.JobRow``) has a ``status``, a ``progress`` percentage, an
``error``, an ``attempts`` counter, its times, a lease (``worker``, ``heartbeat_at``) and
``published_at``. Three rules make it survive any one fault of a worker, the broker or a
database connection:

- **The row is the outbox.** A request commits the row (and its ledger entry) and
  answers; the message is published after the commit, and a broker error there is
  logged, never raised, so a broker outage delays jobs but fails no request. The
  dispatcher (``jobs_dispatch``, run by every worker every ``JOB_DISPATCH_SECONDS``:
  ``config.celery.JobMaintenance``) publishes the rows never published, and publishes
  again pending rows whose message the broker lost (a restart without persistence):
  when the queue holds fewer messages than there are pending rows published more than a
  lease window ago.
- **A claim is a lease.** A worker claims a row with one conditional UPDATE: a pending
  row, or a running row whose lease expired (``heartbeat_at`` older than
  ``JOB_LEASE_SECONDS``) or whose holder is a process of this host that no longer
  exists. It sets ``worker``, ``heartbeat_at`` and ``attempts + 1``; the attempt number
  it gets back is its ownership: every later write names it, so a duplicate delivery
  finds nothing to claim and an attempt given up for dead cannot overwrite the one that
  replaced it (its late result is discarded). While it computes, a heartbeat thread
  renews the lease every third of the window, so a healthy job that runs for hours is
  never reclaimed; a dead worker's row is reclaimed by the redelivered message or by the
  sweep (``jobs_sweep``, run by every worker every ``JOB_SWEEP_SECONDS``).
- **Connection faults are transient.** Every write of the runner's own closes a broken
  connection first and is retried with backoff; an error of the job's ``transient``
  kinds in the work itself hands the row back to pending for the task's retry. The job's
  fate is the row's: the tasks keep no result (``ignore_result``), so no result backend
  can decide it.

``JobRunner`` takes a job row through claim -> compute -> finish, fail or hand back, the
same way for every kind of job (fragility analyses in ``registry.analyses``, reports in
``reports.services``): the work runs outside any transaction, its result is recorded in
one short transaction with its ledger entry (ledger lock first, then the row: the one
lock order of ``registry.ledger``), and any other exception fails the row with its
message, so no row stays running once its worker has returned.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import InterfaceError, OperationalError, connections, router, transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from registry import queue
from registry.ledger import LedgerScope, ledger_append
from registry.models import JobRow
from registry.services._base import writing

logger = logging.getLogger(__name__)

# A job that failed this many times is failed for good instead of re-queued.
MAX_ATTEMPTS = 3

# Errors worth another try: the database was briefly unavailable, or its connection broke.
# A job kind adds its own (the timestamp authority's for reports); anything else is
# deterministic, and retrying cannot help.
DATABASE_TRANSIENT_ERRORS: tuple[type[Exception], ...] = (OperationalError, InterfaceError)

# Every JobRunner, so that the dispatcher and the sweep serve every kind of job.
JOB_RUNNERS: list[JobRunner[Any]] = []


def lease_window() -> dt.timedelta:
    """How long a lease lasts without a heartbeat (``JOB_LEASE_SECONDS``)."""
    return dt.timedelta(seconds=settings.JOB_LEASE_SECONDS)


def worker_id() -> str:
    """This process, as a lease records it: ``host:pid``."""
    return f"{socket.gethostname()}:{os.getpid()}"


def lease_holder_gone(worker: str) -> bool:
    """True when ``worker`` names a process of this host that no longer exists: a pool
    child killed (by the OOM killer, say) cannot renew its lease, and waiting for the
    window to pass would only delay its job.

    Assumes each worker machine or container has its own host name (Docker's and
    Kubernetes' defaults); a process on another host is never judged from here.
    """
    host, _, pid = worker.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # it exists, as another user's process
        return False
    return False


def _drop_connection(model: type[JobRow]) -> None:
    # A lost database leaves a connection every later query fails on: close it, and the
    # next query opens a new one. Not inside a transaction the caller holds (a test's):
    # that is not ours to end.
    connection = connections[router.db_for_write(model)]
    if not connection.in_atomic_block:
        connection.close()


def _reconnect_delays() -> Iterator[float]:
    """0.2 s, doubling up to 4 s, until ``JOB_RECONNECT_SECONDS`` are spent."""
    delay, spent = 0.2, 0.0
    while spent + delay <= settings.JOB_RECONNECT_SECONDS:
        yield delay
        spent += delay
        delay = min(delay * 2, 4.0)


def with_reconnect[T](model: type[JobRow], write: Callable[[], T]) -> T:
    """Run ``write``; on a database error close the connection, wait and try again, with
    backoff, for ``JOB_RECONNECT_SECONDS`` before the error propagates."""
    for delay in _reconnect_delays():
        try:
            return write()
        except DATABASE_TRANSIENT_ERRORS as exc:
            logger.warning("database error (%s); reconnecting in %.1f s", exc, delay)
            _drop_connection(model)
            time.sleep(delay)
    return write()


def job_claim(
    model: type[JobRow], *, pk: int, statuses: JobStatuses, lease: dt.timedelta, **fields: Any
) -> int | None:
    """Take the row for this worker (pending, or running on an expired lease): its
    attempt number, or None when it is not ours to take."""
    now = timezone.now()
    expired = now - lease
    lapsed = Q(heartbeat_at__lt=expired) | Q(heartbeat_at__isnull=True, started_at__lt=expired)
    claimable = Q(status=statuses.pending) | (
        Q(status__in=statuses.running, attempts__lt=MAX_ATTEMPTS) & lapsed
    )
    rows = model._default_manager.filter(pk=pk)
    me = worker_id()
    take = {
        "status": statuses.running[0],
        "started_at": now,
        "heartbeat_at": now,
        "worker": me,
        "attempts": F("attempts") + 1,
        **fields,
    }
    if rows.filter(claimable).update(**take) != 1 and not _claim_from_gone_holder(
        model, pk, statuses, take
    ):
        return None
    # No one else can claim it now: its heartbeat is fresh and names this process.
    attempts: int = rows.filter(worker=me).values_list("attempts", flat=True).get()
    return attempts


def _claim_from_gone_holder(
    model: type[JobRow], pk: int, statuses: JobStatuses, take: dict[str, Any]
) -> bool:
    held = model._default_manager.filter(
        pk=pk, status__in=statuses.running, attempts__lt=MAX_ATTEMPTS
    )
    holder = held.values_list("worker", "attempts").first()
    if holder is None or not lease_holder_gone(holder[0]):
        return False
    logger.info("%s %s: its lease holder %s is gone", model._meta.verbose_name, pk, holder[0])
    return held.filter(worker=holder[0], attempts=holder[1]).update(**take) == 1


def job_update(
    model: type[JobRow], *, pk: int, attempt: int, running: Iterable[str], **fields: Any
) -> bool:
    """Write to the row (renewing the lease) only while this attempt owns it; False when
    it does not."""
    owned = model._default_manager.filter(pk=pk, attempts=attempt, status__in=list(running))
    return bool(owned.update(heartbeat_at=timezone.now(), **fields))


def jobs_lapsed(
    model: type[JobRow], *, running: Iterable[str], lease: dt.timedelta
) -> QuerySet[Any]:
    """Running rows whose lease lapsed: no heartbeat for ``lease`` (its worker died or
    lost the database), or a holder on this host that is gone."""
    expired = timezone.now() - lease
    rows = model._default_manager.filter(status__in=list(running)).order_by("pk")
    lapsed = Q(heartbeat_at__lt=expired) | Q(heartbeat_at__isnull=True, started_at__lt=expired)
    gone = [worker for worker in rows.values_list("worker", flat=True) if lease_holder_gone(worker)]
    return rows.filter(lapsed | Q(worker__in=gone))


def job_requeue(model: type[JobRow], row: Any, *, pending: str, **fields: Any) -> bool:
    """Put a lapsed row back to pending and unpublished, unless it moved on since it was
    read (its holder renewed the lease, or finished)."""
    return bool(
        model._default_manager.filter(
            pk=row.pk, status=row.status, attempts=row.attempts, heartbeat_at=row.heartbeat_at
        ).update(status=pending, worker="", published_at=None, **fields)
    )


# Enough for any message worth reading; a failed row is not a place for a megabyte of repr.
_MESSAGE_LIMIT = 4000


def job_error_message(exc: BaseException) -> str:
    """``TypeName: message``, as a failed job records it.

    A ValidationError names its fields; a NUL character, which PostgreSQL cannot store
    in a text column, is written as ``\\x00``.
    """
    if isinstance(exc, ValidationError) and hasattr(exc, "error_dict"):
        text = "; ".join(
            f"{field}: {message}"
            for field, messages in exc.message_dict.items()
            for message in messages
        )
    elif isinstance(exc, ValidationError):
        text = "; ".join(exc.messages)
    else:
        text = str(exc)
    text = text.replace("\x00", "\\x00")
    if len(text) > _MESSAGE_LIMIT:
        text = text[: _MESSAGE_LIMIT - 1] + "…"
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class SupersededError(Exception):
    """Raised by a compute step that finds its attempt no longer owns the row: it was
    given up for dead and re-queued, and the newer attempt will finish it."""


@dataclass(frozen=True)
class JobStatuses:
    """The statuses of one kind of job row; a claim moves ``pending`` to ``running[0]``."""

    pending: str
    running: tuple[str, ...]
    done: str
    failed: str

    @property
    def unfinished(self) -> tuple[str, ...]:
        return (self.pending, *self.running)


@dataclass(frozen=True)
class JobAttempt:
    """One worker's claim on a job row: the row's key and the attempt number it owns."""

    model: type[JobRow]
    statuses: JobStatuses
    pk: int
    number: int

    def update(self, **fields: Any) -> bool:
        """Write progress (renewing the lease) while this attempt owns the row; False
        once it does not. A broken connection is replaced and the write retried."""
        return with_reconnect(
            self.model,
            lambda: job_update(
                self.model,
                pk=self.pk,
                attempt=self.number,
                running=self.statuses.running,
                **fields,
            ),
        )


@contextmanager
def heartbeat(job: JobAttempt, *, every: float) -> Iterator[None]:
    """Renew the lease of ``job`` every ``every`` seconds from a thread, while the caller
    computes (a CPU-bound step may not report progress for minutes)."""
    stop = threading.Event()

    def beat() -> None:
        try:
            while not stop.wait(every):
                try:
                    if not job_update(
                        job.model, pk=job.pk, attempt=job.number, running=job.statuses.running
                    ):
                        return  # superseded or finished: nothing left to renew
                except DATABASE_TRANSIENT_ERRORS as exc:
                    logger.warning("%s %s: heartbeat failed (%s)", job.model, job.pk, exc)
                    _drop_connection(job.model)
        finally:
            connections.close_all()  # this thread's own connections

    thread = threading.Thread(target=beat, name=f"heartbeat-{job.pk}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


class JobRunner[R]:
    """Claim -> compute -> finish, fail or hand back, for one kind of job row.

    ``task`` is the registered name of the Celery task that runs a row (it takes the
    row's key); the runner publishes it, after the request's commit and from the
    dispatcher. ``compute(attempt)`` does the work outside any transaction, under a
    heartbeat, and returns its result (it may write files: they exist before the
    transaction that records them). ``record(row, result)`` writes the result onto the
    locked row inside the finishing transaction, after the runner has marked it done;
    the runner then saves the row and appends its ``complete`` ledger entry in the scope
    ``scope(row)`` names. ``discard(result)`` removes what compute left outside the
    database when its result is not recorded (superseded, or the recording failed).

    An exception of ``transient`` hands the row back to pending and propagates, so the
    task's automatic retry claims it again; on the last attempt the row fails instead.
    Any other exception fails the row with ``TypeName: message`` and a ``fail`` entry.
    """

    def __init__(
        self,
        *,
        model: type[JobRow],
        statuses: JobStatuses,
        task: str,
        compute: Callable[[JobAttempt], R],
        record: Callable[[Any, R], None],
        scope: Callable[[Any], LedgerScope],
        transient: tuple[type[Exception], ...] = DATABASE_TRANSIENT_ERRORS,
        discard: Callable[[R], None] | None = None,
        claimed_progress: int = 0,
    ) -> None:
        self.model = model
        self.statuses = statuses
        self.task = task
        self.compute = compute
        self.record = record
        self.scope = scope
        self.transient = transient
        self.discard = discard
        self.claimed_progress = claimed_progress
        self.label = model._meta.verbose_name
        JOB_RUNNERS.append(self)

    # --- publishing (the outbox) ---------------------------------------------------------

    def publish_on_commit(self, pk: int) -> None:
        """Publish the row ``pk`` (created in the caller's writing transaction) to the
        workers once that transaction commits; never fails the caller."""
        transaction.on_commit(lambda: self.publish(pk))

    def publish(self, pk: int) -> bool:
        """Send the task that runs the row ``pk`` and note when; False when the broker
        (or the database noting it) failed: the dispatcher publishes the row later."""
        try:
            queue.job_publish(self.task, pk)
        except Exception:  # the broker's errors are many and transport-specific
            logger.warning(
                "%s %s not published; the dispatcher will", self.label, pk, exc_info=True
            )
            return False
        try:
            self.model._default_manager.filter(pk=pk).update(published_at=timezone.now())
        except DATABASE_TRANSIENT_ERRORS:
            # Published but not noted: the dispatcher publishes it again, a duplicate
            # delivery that finds nothing to claim.
            logger.warning("%s %s published but not noted", self.label, pk, exc_info=True)
            _drop_connection(self.model)
        return True

    def unpublished(self) -> QuerySet[Any]:
        """Pending rows no message was sent for (the broker was down, or the sweep put
        them back), oldest first."""
        return self.model._default_manager.filter(
            status=self.statuses.pending, published_at__isnull=True
        ).order_by("pk")

    def waiting(self, *, published_before: dt.datetime) -> QuerySet[Any]:
        """Pending rows published before ``published_before`` and still not claimed."""
        return self.model._default_manager.filter(
            status=self.statuses.pending, published_at__lt=published_before
        ).order_by("pk")

    # --- running -------------------------------------------------------------------------

    def claim(self, pk: int) -> int | None:
        """Take the row for this worker (pending, or on a lapsed lease): its attempt
        number, or None if it is not ours to take."""
        return with_reconnect(
            self.model,
            lambda: job_claim(
                self.model,
                pk=pk,
                statuses=self.statuses,
                lease=lease_window(),
                progress=self.claimed_progress,
                error="",
            ),
        )

    def run(self, pk: int) -> None:
        """Claim the row, then produce it; a row not ours to claim is left alone."""
        attempt = self.claim(pk)
        if attempt is None:
            logger.info("%s %s already taken or finished; nothing to do", self.label, pk)
            return
        self.produce(pk, attempt)

    def produce(self, pk: int, attempt: int) -> None:
        """Compute and record a row this worker claimed as ``attempt``."""
        job = JobAttempt(self.model, self.statuses, pk, attempt)
        try:
            self._produce(job)
        except self.transient as exc:
            # Also when recording a failure met one: the retry meets the error again
            # and records it then.
            if self._hand_back(job, exc):
                raise

    def _produce(self, job: JobAttempt) -> None:
        try:
            with heartbeat(job, every=settings.JOB_LEASE_SECONDS / 3):
                result = self.compute(job)
            self.finish(job, result)
        except SupersededError:
            logger.info("%s %s attempt %s was superseded", self.label, job.pk, job.number)
        except self.transient:
            raise
        except Exception as exc:
            logger.exception("%s %s attempt %s failed", self.label, job.pk, job.number)
            self.fail(job.pk, job.number, job_error_message(exc))

    def finish(self, job: JobAttempt, result: R) -> bool:
        """Record the result in one short transaction; False when another attempt owns
        the row (the result is then discarded)."""
        try:
            recorded = self._close(
                job.pk, job.number, error="", write=lambda row: self.record(row, result)
            )
        except DATABASE_TRANSIENT_ERRORS:
            # The commit may have happened with its answer lost: keep what compute wrote
            # rather than risk removing a recorded file. The retry computes again.
            raise
        except BaseException:
            self._discard(result)
            raise
        if not recorded:
            self._discard(result)
        return recorded

    def fail(self, pk: int, attempt: int, error: str) -> bool:
        """Record the failure in one short transaction; False when another attempt owns
        the row."""
        return self._close(pk, attempt, error=error, write=lambda row: None)

    # --- recovery ------------------------------------------------------------------------

    def sweep(self, *, lease: dt.timedelta) -> list[int]:
        """Put rows whose lease lapsed back to pending and publish them; after
        ``MAX_ATTEMPTS`` the row fails instead of looping. The ids re-queued."""
        requeued: list[int] = []
        for row in jobs_lapsed(self.model, running=self.statuses.running, lease=lease):
            if row.attempts >= MAX_ATTEMPTS:
                self.fail(row.pk, row.attempts, f"Gave up after {row.attempts} attempts.")
                continue
            if job_requeue(self.model, row, pending=self.statuses.pending, progress=0):
                logger.warning(
                    "%s %s: lease of %s lapsed; re-queued", self.label, row.pk, row.worker
                )
                self.publish(row.pk)
                requeued.append(row.pk)
        return requeued

    def _hand_back(self, job: JobAttempt, exc: Exception) -> bool:
        """Put the row back to pending for the retry (True), or fail it on the last
        attempt (False)."""
        _drop_connection(self.model)
        message = job_error_message(exc)
        if job.number >= MAX_ATTEMPTS:
            self.fail(job.pk, job.number, f"Gave up after {job.number} attempts: {message}")
            return False
        logger.warning("%s %s attempt %s: %s; handed back", self.label, job.pk, job.number, message)
        job.update(status=self.statuses.pending, progress=0, worker="")
        return True

    def _discard(self, result: R) -> None:
        if self.discard is not None:
            self.discard(result)

    def _close(self, pk: int, attempt: int, *, error: str, write: Callable[[Any], None]) -> bool:
        return with_reconnect(self.model, lambda: self._close_once(pk, attempt, error, write))

    def _close_once(self, pk: int, attempt: int, error: str, write: Callable[[Any], None]) -> bool:
        final = self.statuses.failed if error else self.statuses.done
        with writing():
            row: Any = self.model._default_manager.select_for_update().get(pk=pk)
            if row.attempts == attempt and row.status == final and row.worker == worker_id():
                return True  # this attempt's own commit, whose answer a dropped connection lost
            if row.attempts != attempt or row.status not in self.statuses.unfinished:
                logger.info("%s %s attempt %s was superseded; discarded", self.label, pk, attempt)
                return False
            row.status = final
            row.progress = 100
            row.error = error
            row.finished_at = timezone.now()
            write(row)
            row.save()
            action = "fail" if error else "complete"
            ledger_append(instance=row, action=action, actor=None, scope=self.scope(row))
        return True


def jobs_dispatch(*, limit: int = 500) -> int:
    """Publish what the broker does not hold, for every kind of job: rows never
    published, and pending rows whose message was lost. The number published.

    A message is presumed lost when the queue holds fewer messages than there are
    pending rows published more than a lease window ago (a worker holds at most the
    messages it is running, whose rows are no longer pending): they are all published
    again, and a row that did still have its message gets a duplicate delivery, which
    finds nothing to claim.
    """
    published = 0
    for runner in JOB_RUNNERS:
        for pk in runner.unpublished().values_list("pk", flat=True)[:limit]:
            if not runner.publish(pk):
                return published  # the broker is down: the next round tries again
            published += 1
    before = timezone.now() - lease_window()
    waiting = {runner: runner.waiting(published_before=before) for runner in JOB_RUNNERS}
    try:
        queued = queue.queued_messages()
    except Exception:  # the broker went away since: the next round looks again
        logger.warning("the broker's queue could not be counted", exc_info=True)
        return published
    if sum(rows.count() for rows in waiting.values()) > queued:
        for runner, rows in waiting.items():
            for pk in rows.values_list("pk", flat=True)[:limit]:
                logger.warning("%s %s: its message was lost; published again", runner.label, pk)
                published += runner.publish(pk)
    return published


def jobs_sweep() -> list[tuple[str, int]]:
    """Re-queue every kind of job whose lease lapsed; (kind, id) of each."""
    return [
        (str(runner.label), pk)
        for runner in JOB_RUNNERS
        for pk in runner.sweep(lease=lease_window())
    ]
