"""Cloning incidents: reporting, editing, assignment and the plain workflow moves.

An incident moves ``reported -> triage -> investigating``, is settled as *substantiated*,
*unsubstantiated* or *withdrawn*, and is finally *closed*. The first two moves and closing are
plain moves (``incident_transition``); settling is a *decision* (``registry.services.decisions``).
Every move carries a reason and is appended to the ledger in the same transaction.

Who may do what: investigators and admins report incidents; the incident's assigned
investigators and admins edit it; they and approvers move it. Only accounts with the
investigator role can be assigned.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError

from registry.errors import ConflictError
from registry.ledger import incident_scope
from registry.models import DECISION_STATUSES, CloningIncident
from registry.roles import (
    INVESTIGATOR,
    AnyUser,
    has_role,
    recorded_user,
    user_edits_incident,
    user_handles_incident,
)
from registry.services._base import (
    record_change,
    record_insert,
    refuse_status,
    require,
    require_role,
    status_move,
    writing,
)

Status = CloningIncident.Status

# The plain moves. Settling an incident (investigating -> a decision status) is not here:
# it happens only through an approved IncidentDecision.
PLAIN_MOVES: dict[str, frozenset[str]] = {
    Status.REPORTED: frozenset({Status.TRIAGE}),
    Status.TRIAGE: frozenset({Status.INVESTIGATING}),
    Status.SUBSTANTIATED: frozenset({Status.CLOSED}),
    Status.UNSUBSTANTIATED: frozenset({Status.CLOSED}),
    Status.WITHDRAWN: frozenset({Status.CLOSED}),
}
DECIDABLE_FROM = Status.INVESTIGATING
_HOW = "move it with a reason, or propose a decision"


def require_reason(reason: str, field_name: str = "reason") -> str:
    text = (reason or "").strip()
    if not text:
        raise ValidationError({field_name: ["Give a reason: every move is recorded with one."]})
    return text


def lock_incident(incident: CloningIncident) -> CloningIncident:
    return CloningIncident.objects.select_for_update().get(pk=incident.pk)


def _check_investigators(accounts: Iterable[Any]) -> list[User]:
    """Only investigators (or admins) can be assigned: assignment gives an account the
    incident's powers, which its role must already allow."""
    checked: list[User] = []
    for account in accounts:
        user = recorded_user(account)
        if user is None or not has_role(user, INVESTIGATOR):
            name = user.get_username() if user is not None else str(account)
            raise ValidationError(
                {"investigators": [f"{name} does not have the investigator role."]}
            )
        checked.append(user)
    return checked


def incident_create(
    *,
    actor: AnyUser | None,
    fields: Mapping[str, Any],
    investigators: Iterable[Any] = (),
) -> CloningIncident:
    """Report an incident; the reporter is assigned to it."""
    require_role(actor, INVESTIGATOR, doing="report incidents")
    refuse_status(fields, how=_HOW)
    assigned = _check_investigators(investigators)
    created_by = recorded_user(actor)
    if created_by is not None and created_by not in assigned:
        assigned.append(created_by)
    with writing():
        return record_insert(
            model=CloningIncident,
            actor=actor,
            fields={**fields, "created_by": created_by},
            m2m={"investigators": assigned},
        )


def incident_update(
    *,
    actor: AnyUser | None,
    incident: CloningIncident,
    fields: Mapping[str, Any],
    investigators: Iterable[Any] | None = None,
) -> CloningIncident:
    """Edit an incident's fields (and its assignment), by its investigators or an admin."""
    require(
        user_edits_incident(actor, incident),
        "Only the incident's assigned investigators and admins can edit it.",
    )
    refuse_status(fields, how=_HOW)
    m2m = {} if investigators is None else {"investigators": _check_investigators(investigators)}
    with writing():
        return record_change(
            instance=incident,
            actor=actor,
            fields=fields,
            m2m=m2m,
            scope=incident_scope(incident),
        )


def incident_transition(
    *, incident: CloningIncident, to_status: str, actor: AnyUser | None, reason: str
) -> CloningIncident:
    """Make a plain move (reported -> triage -> investigating, decided -> closed)."""
    require(
        user_handles_incident(actor, incident),
        "Only the incident's investigators, approvers and admins can move it.",
    )
    reason = require_reason(reason)
    if to_status not in Status.values:
        raise ValidationError({"to_status": [f"Unknown status {to_status!r}."]})
    if to_status in DECISION_STATUSES:
        raise ValidationError(
            {"to_status": [f"'{to_status}' is a decision: propose it for approval instead."]}
        )
    with writing():
        locked = lock_incident(incident)
        allowed = PLAIN_MOVES.get(locked.status, frozenset())
        if to_status not in allowed:
            names = ", ".join(f"'{Status(s).label}'" for s in sorted(allowed)) or "none"
            raise ConflictError(
                f"Incident {locked.pk} is '{locked.get_status_display()}'; the workflow does "
                f"not allow a move to '{Status(to_status).label}' (allowed: {names})."
            )
        status_move(
            instance=locked,
            status=to_status,
            actor=actor,
            reason=reason,
            scope=incident_scope(locked),
        )
    return locked


def allowed_moves(incident: CloningIncident) -> list[str]:
    """The plain moves the workflow allows from the incident's status now."""
    return sorted(PLAIN_MOVES.get(incident.status, frozenset()))
