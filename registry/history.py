"""A record's history as people read it: its ledger entries in order, each with what
changed since the previous entry about the same record (the entry's snapshot against
the one before it) and why (the entry's context: a reason, a note, the moved status).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from registry.models import LedgerEntry

# Bookkeeping columns that change on every save and say nothing to a reader.
_NOT_SHOWN = frozenset({"updated_at", "_context"})


@dataclass(frozen=True)
class Change:
    field: str
    before: Any
    after: Any


@dataclass(frozen=True)
class HistoryRow:
    entry: LedgerEntry
    changes: list[Change] = field(default_factory=list)
    why: str = ""
    created: bool = False


def snapshot_changes(before: dict[str, Any] | None, after: dict[str, Any]) -> list[Change]:
    """Fields whose value differs between two snapshots of one record (all of them when
    there is no earlier snapshot), in the snapshot's field order."""
    previous = before or {}
    return [
        Change(name, previous.get(name), value)
        for name, value in after.items()
        if name not in _NOT_SHOWN and (before is None or previous.get(name) != value)
    ]


def _why(context: dict[str, Any]) -> str:
    parts = []
    if "from" in context and "to" in context:
        parts.append(f"{context['from']} → {context['to']}")
    for key in ("reason", "note"):
        if context.get(key):
            parts.append(str(context[key]))
    return "; ".join(parts)


def history_rows(entries: Iterable[LedgerEntry]) -> list[HistoryRow]:
    """One row per entry, oldest first, each diffed against the previous entry about the
    same record (entries of several records may be interleaved, as in a timeline)."""
    last: dict[tuple[str, str], dict[str, Any]] = {}
    rows = []
    for entry in entries:
        key = (entry.object_type, entry.object_id)
        snapshot = entry.snapshot
        before = last.get(key)
        rows.append(
            HistoryRow(
                entry=entry,
                changes=snapshot_changes(before, snapshot),
                why=_why(snapshot.get("_context") or {}),
                created=before is None,
            )
        )
        last[key] = snapshot
    return rows
