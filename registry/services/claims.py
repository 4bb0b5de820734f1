"""Benchmark claims and the moves of their status.

A claim is *recorded*; requesting an analysis puts it *under analysis*; a finished
analysis makes it *analysed* (a later analysis keeps it so); an analyst *withdraws* it
with a reason. No surface sets the status directly.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError

from registry.errors import ConflictError
from registry.ledger import PUBLIC
from registry.models import BenchmarkClaim
from registry.roles import ANALYST, AnyUser, recorded_user
from registry.services._base import (
    record_change,
    record_insert,
    refuse_status,
    require_role,
    status_move,
    writing,
)
from registry.services.datasets import dataset_refuse_failed

Status = BenchmarkClaim.Status

CLAIM_MOVES: dict[str, frozenset[str]] = {
    # An item-score analysis answers a claim at once, without a job.
    Status.RECORDED: frozenset({Status.UNDER_ANALYSIS, Status.ANALYSED, Status.WITHDRAWN}),
    Status.UNDER_ANALYSIS: frozenset({Status.ANALYSED, Status.WITHDRAWN}),
    Status.ANALYSED: frozenset({Status.DISPUTED, Status.WITHDRAWN}),
    Status.DISPUTED: frozenset({Status.WITHDRAWN}),
    Status.WITHDRAWN: frozenset(),
}
_HOW = "a claim is analysed by requesting an analysis and withdrawn with a reason"


def claim_create(*, actor: AnyUser | None, fields: Mapping[str, Any]) -> BenchmarkClaim:
    require_role(actor, ANALYST, doing="record claims")
    refuse_status(fields, how=_HOW)
    dataset_refuse_failed(fields.get("dataset"))
    with writing():
        return record_insert(
            model=BenchmarkClaim,
            actor=actor,
            scope=PUBLIC,
            fields={**fields, "created_by": recorded_user(actor)},
        )


def claim_update(
    *, actor: AnyUser | None, claim: BenchmarkClaim, fields: Mapping[str, Any]
) -> BenchmarkClaim:
    require_role(actor, ANALYST, doing="change claims")
    refuse_status(fields, how=_HOW)
    dataset_refuse_failed(fields.get("dataset"))
    with writing():
        return record_change(instance=claim, actor=actor, fields=fields, scope=PUBLIC)


def claim_transition(
    *, claim: BenchmarkClaim, to_status: str, actor: AnyUser | None, reason: str
) -> BenchmarkClaim:
    """Move a claim along ``CLAIM_MOVES`` (inside the caller's ``writing()`` or its own)."""
    with writing():
        locked = BenchmarkClaim.objects.select_for_update().get(pk=claim.pk)
        allowed = CLAIM_MOVES.get(locked.status, frozenset())
        if to_status not in allowed:
            raise ConflictError(
                f"Claim {locked.pk} is '{locked.get_status_display()}'; it cannot become "
                f"'{Status(to_status).label}'."
            )
        status_move(instance=locked, status=to_status, actor=actor, reason=reason, scope=PUBLIC)
    claim.status = locked.status
    return locked


def claim_withdraw(*, actor: AnyUser | None, claim: BenchmarkClaim, reason: str) -> BenchmarkClaim:
    """Withdraw a claim (its claimant retracted it, or it was recorded in error)."""
    require_role(actor, ANALYST, doing="withdraw claims")
    if not (reason or "").strip():
        raise ValidationError({"reason": ["Give a reason: every move is recorded with one."]})
    return claim_transition(
        claim=claim, to_status=Status.WITHDRAWN, actor=actor, reason=reason.strip()
    )
