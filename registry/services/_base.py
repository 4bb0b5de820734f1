"""What every write service shares: the writing transaction, the permission check and
the generic insert / change of one row with its ledger entry."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models, transaction

from registry.errors import NotPermitted
from registry.ledger import LedgerScope, ledger_append, ledger_lock
from registry.roles import AnyUser, has_role


@contextmanager
def writing() -> Iterator[None]:
    """One writing transaction that takes the ledger lock first, before any row lock.

    Every service writes inside one, so all writers queue in the same order (ledger,
    then rows) and two of them can never wait for each other's locks.
    """
    with transaction.atomic():
        ledger_lock()
        yield


def require(allowed: bool, message: str) -> None:
    """Refuse the write with ``NotPermitted`` unless ``allowed``."""
    if not allowed:
        raise NotPermitted(message)


def require_role(actor: AnyUser | None, *roles: str, doing: str) -> None:
    require(has_role(actor, *roles), f"Your role does not allow you to {doing}.")


def refuse_status(fields: Mapping[str, Any], *, how: str) -> None:
    """Status fields move only through their transition service."""
    if "status" in fields:
        raise ValidationError({"status": [f"The status cannot be set directly: {how}."]})


def _m2m_ids(instance: models.Model, name: str) -> list[Any]:
    return sorted(getattr(instance, name).values_list("pk", flat=True))


def _changed(
    instance: models.Model,
    fields: Mapping[str, Any],
    m2m: Mapping[str, Iterable[Any]],
) -> bool:
    for name, value in fields.items():
        if getattr(instance, name) != value:
            return True
    for name, values in m2m.items():
        wanted = sorted(getattr(value, "pk", value) for value in values)
        if _m2m_ids(instance, name) != wanted:
            return True
    return False


def record_insert[M: models.Model](
    *,
    model: type[M],
    actor: AnyUser | None,
    fields: Mapping[str, Any],
    scope: LedgerScope | None = None,
    m2m: Mapping[str, Iterable[Any]] | None = None,
    extra: dict[str, Any] | None = None,
) -> M:
    """Validate and save a new row of ``model`` and ledger it (inside ``writing()``).

    ``scope`` None means the row scopes itself (an incident's own entries).
    """
    instance = model(**fields)
    instance.full_clean()
    instance.save()
    for name, values in (m2m or {}).items():
        getattr(instance, name).set(values)
    own_scope = scope if scope is not None else LedgerScope(incident_id=instance.pk)
    ledger_append(instance=instance, action="create", actor=actor, scope=own_scope, extra=extra)
    return instance


def record_change[M: models.Model](
    *,
    instance: M,
    actor: AnyUser | None,
    fields: Mapping[str, Any],
    scope: LedgerScope,
    m2m: Mapping[str, Iterable[Any]] | None = None,
    extra: dict[str, Any] | None = None,
    force: bool = False,
    action: str = "update",
) -> M:
    """Apply ``fields`` to the row of ``instance``, validate, save and ledger it (inside
    ``writing()``); the saved row is returned.

    The row is locked and read again first, and only ``fields`` are written: a change
    made meanwhile by another writer (a status move, say) is kept, not overwritten with
    the caller's stale copy. A change that changes nothing saves and appends nothing,
    unless ``force`` (the caller changed related rows the entry describes in ``extra``).
    """
    m2m = m2m or {}
    locked = type(instance)._default_manager.select_for_update().get(pk=instance.pk)
    if not force and not _changed(locked, fields, m2m):
        return locked
    for name, value in fields.items():
        setattr(locked, name, value)
    locked.full_clean()
    stamped = [
        field.name for field in locked._meta.concrete_fields if getattr(field, "auto_now", False)
    ]
    locked.save(update_fields=[*fields, *stamped] if fields else stamped or None)
    for name, values in m2m.items():
        getattr(locked, name).set(values)
    ledger_append(instance=locked, action=action, actor=actor, scope=scope, extra=extra)
    return locked


def status_move(
    *,
    instance: models.Model,
    status: str,
    actor: AnyUser | None,
    reason: str,
    scope: LedgerScope,
    context: Mapping[str, Any] | None = None,
) -> None:
    """Move a row the caller holds (locked, in its ``writing()`` transaction) to
    ``status`` and ledger the move with both states, the reason and ``context``.

    Only the transition services call this; each checks its own allowed moves first.
    """
    # Model has no ``status``; every caller passes a model that does (claims, incidents).
    old_status = instance.status  # type: ignore[attr-defined]
    instance.status = status  # type: ignore[attr-defined]
    instance.save(update_fields=["status", "updated_at"])
    ledger_append(
        instance=instance,
        action="status_change",
        actor=actor,
        scope=scope,
        extra={"from": old_status, "to": status, "reason": reason, **(context or {})},
    )
