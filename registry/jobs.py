"""Job rows: background work whose state is a database row, not a broker message.

A *job row* has a ``status``, an ``attempts`` counter and ``created_at`` /
``started_at`` times. A worker *claims* it with one conditional UPDATE (PENDING ->
running, ``attempts + 1``); the attempt number it gets back is its ownership: every
later write names it, so a duplicate delivery finds nothing to claim and a worker
given up for dead cannot overwrite the attempt that replaced it. A sweep finds rows
whose worker died (running too long) or whose message was lost (pending too long).

Fragility analyses (``registry.analyses``) and reports (``reports.services``) are
job rows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.db import models
from django.db.models import F, Q, QuerySet
from django.utils import timezone

# A job that failed this many times is failed for good instead of re-queued.
MAX_ATTEMPTS = 3


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
