"""Job rows: background work whose state is a database row, not a broker message.

A *job row* has a ``status``, a ``progress`` percentage, an ``error``, an ``attempts``
counter and ``created_at`` / ``started_at`` / ``finished_at`` times. A worker *claims* it
with one conditional UPDATE (pending -> running, ``attempts + 1``); the attempt number it
gets back is its ownership: every later write names it, so a duplicate delivery finds
nothing to claim and a worker given up for dead cannot overwrite the attempt that
replaced it. A sweep finds rows whose worker died (running too long) or whose message was
lost (pending too long).

``JobRunner`` takes a job row through claim -> compute -> finish, fail or hand back, the
same way for every kind of job (fragility analyses in ``registry.analyses``, reports in
``reports.services``): the work runs outside any transaction, its result is recorded in
one short transaction with its ledger entry, a transient error hands the row back for
the task's retry (or fails it on the last attempt), and any other exception fails the row
with its message, so no row stays running once its worker has returned.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import InterfaceError, OperationalError, connections, models, router, transaction
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


def job_claim(
    model: type[models.Model], *, pk: int, pending: str, running: str, **fields: Any
) -> int | None:
    """Move a pending row to ``running`` for this worker; its attempt number, or None."""
    claimed = model._default_manager.filter(pk=pk, status=pending).update(
        status=running, started_at=timezone.now(), attempts=F("attempts") + 1, **fields
    )
    if claimed != 1:
        return None
    attempts: int = model._default_manager.values_list("attempts", flat=True).get(pk=pk)
    return attempts


def job_update(
    model: type[models.Model], *, pk: int, attempt: int, running: Iterable[str], **fields: Any
) -> bool:
    """Write to the row only while this attempt still owns it; False when it does not."""
    owned = model._default_manager.filter(pk=pk, attempts=attempt, status__in=list(running))
    return bool(owned.update(**fields))


def jobs_stale(
    model: type[models.Model], *, pending: str, running: Iterable[str], older_than: dt.timedelta
) -> QuerySet[Any]:
    """Rows started longer ago than ``older_than`` and still running (the worker died),
    or pending that long without being started (the message was lost)."""
    cutoff = timezone.now() - older_than
    return model._default_manager.filter(
        Q(status__in=list(running), started_at__lt=cutoff)
        | Q(status=pending, created_at__lt=cutoff)
        & (Q(started_at__isnull=True) | Q(started_at__lt=cutoff))
    ).order_by("pk")


def job_requeue(model: type[models.Model], row: Any, *, pending: str, **fields: Any) -> bool:
    """Put a stale row back to pending, unless it moved on since it was read."""
    return bool(
        model._default_manager.filter(pk=row.pk, status=row.status, attempts=row.attempts).update(
            status=pending, **fields
        )
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

    model: type[models.Model]
    statuses: JobStatuses
    pk: int
    number: int

    def update(self, **fields: Any) -> bool:
        """Write progress while this attempt owns the row; False once it does not."""
        return job_update(
            self.model,
            pk=self.pk,
            attempt=self.number,
            running=self.statuses.running,
            **fields,
        )


class JobRunner[R]:
    """Claim -> compute -> finish, fail or hand back, for one kind of job row.

    ``compute(attempt)`` does the work outside any transaction and returns its result
    (it may write files: they exist before the transaction that records them).
    ``record(row, result)`` writes the result onto the locked row inside the finishing
    transaction, after the runner has marked it done; the runner then saves the row and
    appends its ``complete`` ledger entry in the scope ``scope(row)`` names.
    ``discard(result)`` removes what compute left outside the database when its result
    is not recorded (superseded, or the recording failed).

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

    def publish_on_commit(self, pk: int) -> None:
        """Publish the row ``pk`` (created in the caller's writing transaction) to the
        workers once that transaction commits."""
        transaction.on_commit(lambda: self.publish(pk))

    def publish(self, pk: int) -> None:
        """Send the task that runs the row ``pk`` to the workers."""
        queue.job_publish(self.task, pk)

    def claim(self, pk: int) -> int | None:
        """Take a pending row for this worker: its attempt number, or None if not ours."""
        return job_claim(
            self.model,
            pk=pk,
            pending=self.statuses.pending,
            running=self.statuses.running[0],
            progress=self.claimed_progress,
            error="",
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
            self.finish(job, self.compute(job))
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

    def requeue_stale(
        self, *, older_than: dt.timedelta, enqueue: Callable[[int], object]
    ) -> list[int]:
        """Put rows whose worker died (or whose message was lost) back in the queue.

        acks_late redelivers on a broker that supports it; the filesystem transport may
        not. After ``MAX_ATTEMPTS`` the row fails instead of looping.
        """
        stale = jobs_stale(
            self.model,
            pending=self.statuses.pending,
            running=self.statuses.running,
            older_than=older_than,
        )
        requeued: list[int] = []
        for row in stale:
            if row.attempts >= MAX_ATTEMPTS:
                self.fail(row.pk, row.attempts, f"Gave up after {row.attempts} attempts.")
                continue
            if job_requeue(self.model, row, pending=self.statuses.pending, progress=0):
                enqueue(row.pk)
                requeued.append(row.pk)
        return requeued

    def _hand_back(self, job: JobAttempt, exc: Exception) -> bool:
        """Put the row back to pending for the retry (True), or fail it on the last
        attempt (False)."""
        self._drop_connection()
        message = job_error_message(exc)
        if job.number >= MAX_ATTEMPTS:
            self.fail(job.pk, job.number, f"Gave up after {job.number} attempts: {message}")
            return False
        logger.warning("%s %s attempt %s: %s; handed back", self.label, job.pk, job.number, message)
        job.update(status=self.statuses.pending, progress=0)
        return True

    def _drop_connection(self) -> None:
        # A lost database leaves a connection every later query fails on: close it, and
        # the hand-back opens a new one. Not inside a transaction the caller holds (a
        # test's): that is not ours to end.
        connection = connections[router.db_for_write(self.model)]
        if not connection.in_atomic_block:
            connection.close()

    def _discard(self, result: R) -> None:
        if self.discard is not None:
            self.discard(result)

    def _close(self, pk: int, attempt: int, *, error: str, write: Callable[[Any], None]) -> bool:
        with writing():
            row: Any = self.model._default_manager.select_for_update().get(pk=pk)
            if row.attempts != attempt or row.status not in self.statuses.unfinished:
                logger.info("%s %s attempt %s was superseded; discarded", self.label, pk, attempt)
                return False
            row.status = self.statuses.failed if error else self.statuses.done
            row.progress = 100
            row.error = error
            row.finished_at = timezone.now()
            write(row)
            row.save()
            action = "fail" if error else "complete"
            ledger_append(instance=row, action=action, actor=None, scope=self.scope(row))
        return True
