"""The shape every job row shares (``registry.jobs`` runs them)."""

from __future__ import annotations

from django.db import models
from django.db.models import Q


class JobRow(models.Model):
    """A *job row* is background work whose state is a database row, not a broker
    message: the row is the outbox the work is published from, the lease a worker holds
    while it computes, and the record of how it ended.

    A concrete job kind inherits this and overrides ``status`` with its own choices (its
    ``JobStatuses``: pending, one or more running statuses, done, failed).

    - ``attempts`` counts claims; the number a worker got when it claimed is its
      ownership (every later write names it), so a late result of an attempt given up for
      dead is discarded.
    - ``published_at`` is set once a message for the row reached the broker; a pending row
      without it is published by the dispatcher (after commit, and by beat as a backstop).
    - ``worker`` and ``heartbeat_at`` are the lease: who claimed the row and when it last
      said it is alive. A running row whose heartbeat is older than the lease window may be
      claimed again by anyone.
    """

    # Overridden by every job kind with its own choices and default.
    status = models.CharField(max_length=16)
    progress = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    published_at = models.DateTimeField(
        null=True, blank=True, help_text="When a message for this row reached the broker."
    )
    worker = models.CharField(
        max_length=200, blank=True, help_text="The worker that holds the lease (host and pid)."
    )
    heartbeat_at = models.DateTimeField(
        null=True, blank=True, help_text="When the lease holder last renewed it."
    )

    class Meta:
        abstract = True
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(progress__lte=100), name="%(class)s_progress_percent"
            ),
        ]
