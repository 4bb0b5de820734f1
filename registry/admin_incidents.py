"""Admin actions of the incident workflow: move, propose, approve, reject.

Each action calls the same service as the API (``registry.services``), which checks the
actor's role and assignment, the four-eyes rule and the allowed moves and writes the ledger;
a refusal is shown as an error message and changes nothing. Actions that need a reason first
show a small form.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse

from registry import services
from registry.admin_base import REFUSALS, WorkflowMove, refusal_text
from registry.admin_base import Apply as MoveApply
from registry.errors import ConflictError
from registry.models import DECISION_STATUSES, CloningIncident, IncidentDecision
from registry.roles import ADMIN, APPROVER, AnyUser, has_role, user_handles_incident
from registry.services.incidents import DECIDABLE_FROM, allowed_moves

Status = CloningIncident.Status
Apply = Callable[[HttpRequest, Any, dict[str, Any]], object]


class MoveForm(forms.Form):
    to_status = forms.ChoiceField(choices=[])
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args: Any, rows: QuerySet[CloningIncident], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Only the moves the workflow allows from some selected incident's status.
        targets = {target for row in rows for target in allowed_moves(row)}
        field: forms.ChoiceField = self.fields["to_status"]  # type: ignore[assignment]
        field.choices = [(s.value, s.label) for s in Status if s.value in targets]


class ProposeForm(forms.Form):
    proposed_status = forms.ChoiceField(choices=[(s.value, s.label) for s in DECISION_STATUSES])
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}))


class NoteForm(forms.Form):
    note = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}))


def _apply_each(
    modeladmin: admin.ModelAdmin,  # type: ignore[type-arg]
    request: HttpRequest,
    queryset: QuerySet[Any],
    apply: Apply,
    data: dict[str, Any],
) -> None:
    for row in queryset:
        try:
            apply(request, row, data)
        except REFUSALS as error:
            modeladmin.message_user(request, f"{row}: {refusal_text(error)}", messages.ERROR)
        else:
            modeladmin.message_user(request, f"{row}: done.", messages.SUCCESS)


def _with_form(
    modeladmin: admin.ModelAdmin,  # type: ignore[type-arg]
    request: HttpRequest,
    queryset: QuerySet[Any],
    *,
    form_class: Callable[..., forms.Form],
    title: str,
    apply: Apply,
) -> TemplateResponse | None:
    """Show ``form_class`` for the selected rows; on a valid submit, apply it to each."""
    if "apply" in request.POST:
        form = form_class(request.POST)
        if form.is_valid():
            _apply_each(modeladmin, request, queryset, apply, form.cleaned_data)
            return None
    else:
        form = form_class()
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": title,
        "form": form,
        "rows": queryset,
        "action": request.POST.get("action", ""),
        "selected": request.POST.getlist(ACTION_CHECKBOX_NAME),
        "opts": modeladmin.model._meta,
    }
    return TemplateResponse(request, "admin/registry/incident_action.html", context)


def _open_proposal(incident: CloningIncident) -> IncidentDecision:
    decision = incident.decisions.filter(state=IncidentDecision.State.OPEN).first()
    if decision is None:
        raise ConflictError("there is no open proposal to decide.")
    return decision


@admin.action(description="Move the selected incidents (with a reason)")
def move_status(
    modeladmin: admin.ModelAdmin,  # type: ignore[type-arg]
    request: HttpRequest,
    queryset: QuerySet[CloningIncident],
) -> TemplateResponse | None:
    return _with_form(
        modeladmin,
        request,
        queryset,
        form_class=partial(MoveForm, rows=queryset),
        title="Move incidents",
        apply=lambda req, incident, data: services.incident_transition(
            incident=incident, actor=req.user, **data
        ),
    )


@admin.action(description="Propose a decision on the selected incidents")
def propose_decision(
    modeladmin: admin.ModelAdmin,  # type: ignore[type-arg]
    request: HttpRequest,
    queryset: QuerySet[CloningIncident],
) -> TemplateResponse | None:
    return _with_form(
        modeladmin,
        request,
        queryset,
        form_class=ProposeForm,
        title="Propose a decision (another person must approve it)",
        apply=lambda req, incident, data: services.decision_propose(
            incident=incident, actor=req.user, **data
        ),
    )


@admin.action(description="Approve the open proposal of the selected incidents")
def approve_proposal(
    modeladmin: admin.ModelAdmin,  # type: ignore[type-arg]
    request: HttpRequest,
    queryset: QuerySet[CloningIncident],
) -> None:
    _apply_each(
        modeladmin,
        request,
        queryset,
        lambda req, incident, data: services.decision_approve(
            decision=_open_proposal(incident), actor=req.user
        ),
        {},
    )


@admin.action(description="Reject the open proposal of the selected incidents")
def reject_proposal(
    modeladmin: admin.ModelAdmin,  # type: ignore[type-arg]
    request: HttpRequest,
    queryset: QuerySet[CloningIncident],
) -> TemplateResponse | None:
    return _with_form(
        modeladmin,
        request,
        queryset,
        form_class=NoteForm,
        title="Reject the open proposals",
        apply=lambda req, incident, data: services.decision_reject(
            decision=_open_proposal(incident), actor=req.user, **data
        ),
    )


@admin.action(description="Approve the selected proposals")
def approve_decisions(
    modeladmin: admin.ModelAdmin,  # type: ignore[type-arg]
    request: HttpRequest,
    queryset: QuerySet[IncidentDecision],
) -> None:
    _apply_each(
        modeladmin,
        request,
        queryset.select_related("incident"),
        lambda req, decision, data: services.decision_approve(decision=decision, actor=req.user),
        {},
    )


INCIDENT_ACTIONS = [move_status, propose_decision, approve_proposal, reject_proposal]


# --- The workflow box on an incident's change page ---------------------------------------


def _open_proposal_or_none(incident: CloningIncident) -> IncidentDecision | None:
    return incident.decisions.filter(state=IncidentDecision.State.OPEN).first()


def incident_workflow_moves(user: AnyUser, incident: CloningIncident) -> list[WorkflowMove]:
    """The moves the workflow allows this user on the incident now (its services check
    again when one is made)."""
    if not user_handles_incident(user, incident):
        return []
    moves = [
        WorkflowMove(f"move:{target}", f"Move to {Status(target).label}", _move_to(target))
        for target in allowed_moves(incident)
    ]
    proposal = _open_proposal_or_none(incident)
    if incident.status == DECIDABLE_FROM and proposal is None:
        moves += [
            WorkflowMove(f"propose:{status}", f"Propose {status.label.lower()}", _propose(status))
            for status in DECISION_STATUSES
        ]
    if proposal is not None:
        label = proposal.get_proposed_status_display().lower()
        # Four eyes: the proposer may withdraw (reject) the proposal, never approve it.
        if has_role(user, APPROVER, ADMIN) and proposal.proposed_by_id != getattr(user, "pk", None):
            moves.append(WorkflowMove("approve", f"Approve: {label}", _approve, needs_reason=False))
        moves.append(WorkflowMove("reject", f"Reject the proposal ({label})", _reject))
    return moves


def incident_workflow_apply(key: str) -> MoveApply | None:
    """The service call behind a workflow key, offered or not (the service decides)."""
    verb, _, status = key.partition(":")
    if verb == "move" and status in Status.values:
        return _move_to(status)
    if verb == "propose" and status in DECISION_STATUSES:
        return _propose(status)
    return {"approve": _approve, "reject": _reject}.get(key)


def _move_to(target: str) -> MoveApply:
    def apply(request: HttpRequest, incident: CloningIncident, reason: str) -> str:
        services.incident_transition(
            incident=incident, to_status=target, actor=request.user, reason=reason
        )
        return f"Incident {incident.pk} moved to {Status(target).label}."

    return apply


def _propose(status: str) -> MoveApply:
    def apply(request: HttpRequest, incident: CloningIncident, reason: str) -> str:
        services.decision_propose(
            incident=incident, proposed_status=status, actor=request.user, reason=reason
        )
        return (
            f"Proposed {Status(status).label.lower()} for incident {incident.pk}; "
            "another person must approve it."
        )

    return apply


def _approve(request: HttpRequest, incident: CloningIncident, reason: str) -> str:
    decision = services.decision_approve(
        decision=_open_proposal(incident), actor=request.user, note=reason
    )
    return f"Approved: incident {incident.pk} is now {decision.get_proposed_status_display()}."


def _reject(request: HttpRequest, incident: CloningIncident, reason: str) -> str:
    services.decision_reject(decision=_open_proposal(incident), actor=request.user, note=reason)
    return f"The proposal on incident {incident.pk} was rejected; its status stays."
