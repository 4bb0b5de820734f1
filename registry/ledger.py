"""The tamper-evident ledger: an append-only, hash-chained log of record changes.

Entry hash (hex SHA-256) = SHA-256 of the canonical JSON of
``{seq, created_at, actor, action, object_type, object_id, snapshot_sha256, prev_hash}``.
Canonical JSON here means: UTF-8, keys sorted, no insignificant whitespace,
non-ASCII kept as is (``json.dumps(sort_keys=True, separators=(",", ":"),
ensure_ascii=False)``). The first entry's ``prev_hash`` is 64 zeros.

Appends are serialised so that concurrent writers cannot fork the chain: on
PostgreSQL with a transaction-scoped advisory lock, on SQLite by the
``BEGIN IMMEDIATE`` write lock the settings ask for. The unique constraints on
``seq`` and ``prev_hash`` are the backstop.

Every entry has a *scope* (``PUBLIC`` or ``incident_scope(incident)``) that the
caller must state: it decides who may read the entry (``selectors.ledger_list``), so
the entries of an embargoed incident (its evidence, decisions, replies, reports) are
hidden with it.

Lock order, the one order every writer follows so that none can deadlock another:

1. A writing transaction takes the ledger lock (``ledger_lock``) first, before any row
   lock; the services do so through ``registry.services.writing``, and so does a job's
   finish or failure (``registry.jobs.JobRunner``): ledger, then the job row, then the
   rows its result touches (the claim an analysis answers, a report's version).
2. Savepoints inside it (``stored_file_record``, a decision's proposal) only add rows
   under the locks already held.
3. Outside a writing transaction, a job's claim, progress, heartbeat and hand-back are
   single conditional UPDATEs in autocommit: each holds one row lock for one statement
   and waits for nothing while holding it, so it can queue behind a writer but never
   close a cycle with one.

``tests/registry/test_lock_order.py`` runs claim edits against analysis requests and
against analyses finishing, on PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import connection, models, transaction
from django.db.models.fields.files import FieldFile
from django.utils import timezone

from registry.models import CloningIncident, LedgerEntry
from registry.roles import recorded_user
from registry.transparency import tlog_append

GENESIS_HASH = "0" * 64
# An arbitrary constant naming the ledger's advisory lock on PostgreSQL.
_ADVISORY_LOCK_KEY = 0x1ED6E7


@dataclass(frozen=True)
class LedgerScope:
    """Who may read an entry: everyone (``incident_id`` None) or those who may see
    the incident ``incident_id``."""

    incident_id: int | None


PUBLIC = LedgerScope(incident_id=None)


def incident_scope(incident: CloningIncident | int) -> LedgerScope:
    """The scope of entries about an incident or anything under it."""
    return LedgerScope(incident_id=incident if isinstance(incident, int) else incident.pk)


def canonical_json(value: Any) -> bytes:
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_json_default
    ).encode("utf-8")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _json_default(value: object) -> object:
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, FieldFile):
        return value.name or None
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def snapshot_of(instance: models.Model) -> dict[str, Any]:
    """Every concrete field and many-to-many id list of ``instance``, JSON-ready."""
    data: dict[str, Any] = {}
    for field in instance._meta.concrete_fields:
        data[field.attname] = field.value_from_object(instance)
    if instance.pk is not None:
        for m2m in instance._meta.many_to_many:
            data[m2m.name] = sorted(getattr(instance, m2m.attname).values_list("pk", flat=True))
    # Round-trip so the stored snapshot is exactly what was hashed.
    result: dict[str, Any] = json.loads(canonical_json(data))
    return result


def entry_hash(
    *,
    seq: int,
    created_at: str,
    actor: str,
    action: str,
    object_type: str,
    object_id: str,
    snapshot_sha256: str,
    prev_hash: str,
) -> str:
    return sha256_hex(
        canonical_json(
            {
                "seq": seq,
                "created_at": created_at,
                "actor": actor,
                "action": action,
                "object_type": object_type,
                "object_id": object_id,
                "snapshot_sha256": snapshot_sha256,
                "prev_hash": prev_hash,
            }
        )
    )


def _actor_label(actor: AbstractBaseUser | AnonymousUser | None) -> str:
    if actor is None or not actor.is_authenticated:
        return "system"
    return actor.get_username()


def _lock_chain() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_ADVISORY_LOCK_KEY])


def ledger_lock() -> None:
    """Take the ledger's lock for the rest of the caller's transaction.

    Every writing transaction takes it *first*, before any row lock, so that writers
    queue in one order and cannot deadlock (a writer that locked a row and then waited
    for the ledger, against one holding the ledger and waiting for that row).
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("ledger_lock must run inside the writing transaction")
    _lock_chain()


def ledger_append(
    *,
    instance: models.Model,
    action: str,
    actor: AbstractBaseUser | AnonymousUser | None,
    scope: LedgerScope,
    extra: dict[str, Any] | None = None,
) -> LedgerEntry:
    """Append an entry for ``instance`` in the caller's transaction.

    ``scope`` says who may read the entry (``PUBLIC`` or ``incident_scope(...)``).
    ``extra`` (e.g. a reason for a status move) is stored in the snapshot under
    ``"_context"`` so that it is covered by the hash too.
    """
    ledger_lock()
    snapshot = snapshot_of(instance)
    if extra:
        snapshot["_context"] = json.loads(canonical_json(extra))
    last = LedgerEntry.objects.order_by("-seq").only("seq", "entry_hash").first()
    seq = last.seq + 1 if last else 1
    prev_hash = last.entry_hash if last else GENESIS_HASH
    created_at = timezone.now()
    label = _actor_label(actor)
    snapshot_digest = sha256_hex(canonical_json(snapshot))
    object_type = instance._meta.label_lower
    object_id = str(instance.pk)
    entry = LedgerEntry.objects.create(
        seq=seq,
        created_at=created_at,
        actor=recorded_user(actor),
        actor_label=label,
        action=action,
        object_type=object_type,
        object_id=object_id,
        snapshot=snapshot,
        snapshot_sha256=snapshot_digest,
        prev_hash=prev_hash,
        scope_incident_id=scope.incident_id,
        entry_hash=entry_hash(
            seq=seq,
            created_at=created_at.isoformat(),
            actor=label,
            action=action,
            object_type=object_type,
            object_id=object_id,
            snapshot_sha256=snapshot_digest,
            prev_hash=prev_hash,
        ),
    )
    tlog_append(entry=entry)
    return entry


@dataclass(frozen=True)
class ChainProblem:
    seq: int
    reason: str


def ledger_verify(*, chunk_size: int = 2000) -> ChainProblem | None:
    """Recompute the chain from the start; return the first bad entry, if any."""
    expected_prev = GENESIS_HASH
    expected_seq = 1
    entries = LedgerEntry.objects.order_by("seq").values(
        "seq",
        "created_at",
        "actor_label",
        "action",
        "object_type",
        "object_id",
        "snapshot",
        "snapshot_sha256",
        "prev_hash",
        "entry_hash",
    )
    for row in entries.iterator(chunk_size=chunk_size):
        problem = _check_entry(row, expected_seq=expected_seq, expected_prev=expected_prev)
        if problem:
            return problem
        expected_prev = row["entry_hash"]
        expected_seq += 1
    return None


def _check_entry(
    row: Mapping[str, Any], *, expected_seq: int, expected_prev: str
) -> ChainProblem | None:
    seq = row["seq"]
    if seq != expected_seq:
        return ChainProblem(expected_seq, f"entry #{expected_seq} is missing (found #{seq})")
    if sha256_hex(canonical_json(row["snapshot"])) != row["snapshot_sha256"]:
        return ChainProblem(seq, "snapshot does not match its SHA-256")
    if row["prev_hash"] != expected_prev:
        return ChainProblem(seq, "prev_hash does not match the previous entry's hash")
    recomputed = entry_hash(
        seq=seq,
        created_at=row["created_at"].isoformat(),
        actor=row["actor_label"],
        action=row["action"],
        object_type=row["object_type"],
        object_id=row["object_id"],
        snapshot_sha256=row["snapshot_sha256"],
        prev_hash=row["prev_hash"],
    )
    if recomputed != row["entry_hash"]:
        return ChainProblem(seq, "entry_hash does not match the entry's contents")
    return None


def ledger_head() -> LedgerEntry | None:
    return LedgerEntry.objects.order_by("-seq").first()


def ledger_contains(*, seq: int, entry_hash: str) -> bool:
    """True when the chain holds an entry with this seq and hash (report verification)."""
    return LedgerEntry.objects.filter(seq=seq, entry_hash=entry_hash).exists()
