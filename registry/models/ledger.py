"""The hash-chained ledger of record changes (see ``registry.ledger``)."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class LedgerEntry(models.Model):
    """A *ledger entry* records one change to a registry record. Entries form a hash
    chain: each ``entry_hash`` covers the entry's fields and the previous entry's hash,
    so altering, removing or reordering any entry breaks every hash after it. Its
    *scope* says who may read it: everyone, or those who may see one incident."""

    seq = models.PositiveBigIntegerField(unique=True)
    created_at = models.DateTimeField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    actor_label = models.CharField(max_length=150)
    action = models.CharField(max_length=40)
    object_type = models.CharField(max_length=60)
    object_id = models.CharField(max_length=40)
    snapshot = models.JSONField()
    snapshot_sha256 = models.CharField(max_length=64)
    prev_hash = models.CharField(max_length=64, unique=True)
    entry_hash = models.CharField(max_length=64, unique=True)
    # Who may read the entry: everyone (null), or those who may see this incident. A
    # visibility index, not content: it is outside the hash, and ``ledger_append``
    # requires every caller to state it, so no record type can forget it.
    scope_incident = models.ForeignKey(
        "registry.CloningIncident",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=True,
    )

    class Meta:
        ordering = ["seq"]
        verbose_name_plural = "ledger entries"
        indexes = [
            models.Index(fields=["object_type", "object_id"], name="ledger_object_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} {self.object_type}:{self.object_id}"
