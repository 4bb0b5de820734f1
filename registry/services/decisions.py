"""Decisions under the four-eyes rule: one person proposes settling an investigating
incident; it takes effect only when an approver who is not the proposer approves it."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from registry.errors import ConflictError, NotPermitted
from registry.ledger import incident_scope, ledger_append
from registry.models import DECISION_STATUSES, CloningIncident, IncidentDecision
from registry.roles import ADMIN, APPROVER, AnyUser, has_role, recorded_user, user_handles_incident
from registry.services._base import require, status_move, writing
from registry.services.incidents import DECIDABLE_FROM, lock_incident, require_reason


def decision_propose(
    *, incident: CloningIncident, proposed_status: str, actor: AnyUser | None, reason: str
) -> IncidentDecision:
    """Propose settling an investigating incident; it waits for another person's approval."""
    require(
        user_handles_incident(actor, incident),
        "Only the incident's investigators, approvers and admins can propose a decision.",
    )
    reason = require_reason(reason)
    if proposed_status not in DECISION_STATUSES:
        labels = ", ".join(str(status.label) for status in DECISION_STATUSES)
        raise ValidationError({"proposed_status": [f"Propose one of: {labels}."]})
    with writing():
        locked = lock_incident(incident)
        if locked.status != DECIDABLE_FROM:
            raise ConflictError(
                f"Incident {locked.pk} is '{locked.get_status_display()}'; only an "
                "investigating incident can be settled."
            )
        if locked.decisions.filter(state=IncidentDecision.State.OPEN).exists():
            raise ConflictError(f"Incident {locked.pk} already has an open proposal.")
        decision = IncidentDecision(
            incident=locked,
            proposed_status=proposed_status,
            reason=reason,
            proposed_by=recorded_user(actor),
        )
        decision.full_clean()
        try:
            # A savepoint: the named constraint is the backstop against a concurrent proposal.
            with transaction.atomic():
                decision.save()
        except IntegrityError as error:
            raise ConflictError(f"Incident {locked.pk} already has an open proposal.") from error
        ledger_append(
            instance=decision,
            action="propose",
            actor=actor,
            scope=incident_scope(locked),
            extra={"reason": reason},
        )
    return decision


def _lock_open_decision(decision: IncidentDecision) -> IncidentDecision:
    locked = IncidentDecision.objects.select_for_update().get(pk=decision.pk)
    if locked.state != IncidentDecision.State.OPEN:
        raise ConflictError(f"Proposal {locked.pk} was already {locked.get_state_display()}.")
    return locked


def decision_approve(
    *, decision: IncidentDecision, actor: AnyUser | None, note: str = ""
) -> IncidentDecision:
    """Approve a proposal and apply its status move, in one transaction.

    The four-eyes rule is checked first, so a proposer learns why they cannot approve
    whatever their role.
    """
    with writing():
        incident = lock_incident(decision.incident)
        locked = _lock_open_decision(decision)
        if locked.proposed_by_id == getattr(actor, "pk", None):
            raise ConflictError(
                "Four-eyes rule: a decision must be approved by someone other than its proposer."
            )
        if not has_role(actor, APPROVER, ADMIN):
            raise NotPermitted("Only an approver or an admin can approve a decision.")
        if incident.status != DECIDABLE_FROM:
            raise ConflictError(
                f"Incident {incident.pk} is '{incident.get_status_display()}', no longer "
                "investigating; reject this proposal instead."
            )
        _decide(locked, actor=actor, state=IncidentDecision.State.APPROVED, note=note)
        reason = (
            locked.reason if not note.strip() else f"{locked.reason} (approval: {note.strip()})"
        )
        status_move(
            instance=incident,
            status=locked.proposed_status,
            actor=actor,
            reason=reason,
            scope=incident_scope(incident),
            context={"decision": locked.pk, "proposed_by": locked.proposed_by.get_username()},
        )
    return locked


def decision_reject(
    *, decision: IncidentDecision, actor: AnyUser | None, note: str
) -> IncidentDecision:
    """Reject a proposal (an approver) or withdraw it (its proposer); the status stays."""
    note = require_reason(note, "note")
    with writing():
        lock_incident(decision.incident)
        locked = _lock_open_decision(decision)
        is_proposer = locked.proposed_by_id == getattr(actor, "pk", None)
        if not (is_proposer or has_role(actor, APPROVER, ADMIN)):
            raise NotPermitted("Only an approver, an admin or the proposer can reject it.")
        _decide(locked, actor=actor, state=IncidentDecision.State.REJECTED, note=note)
    return locked


def _decide(decision: IncidentDecision, *, actor: AnyUser | None, state: str, note: str) -> None:
    decision.state = state
    decision.decided_by = recorded_user(actor)
    decision.decided_at = timezone.now()
    decision.decision_note = note.strip()
    decision.full_clean()
    decision.save()
    action = "approve" if state == IncidentDecision.State.APPROVED else "reject"
    ledger_append(
        instance=decision,
        action=action,
        actor=actor,
        scope=incident_scope(decision.incident_id),
        extra={"note": note.strip()},
    )
