"""The cloning-incident workflow and the evidence the registry computes itself.

An incident moves ``reported -> triage -> investigating``, is settled as *substantiated*,
*unsubstantiated* or *withdrawn*, and is finally *closed*. The first two moves and closing are
plain moves (``incident_transition``); settling is a *decision*: one person proposes it
(``decision_propose``) and it takes effect only when an approver who is not the proposer
approves it (``decision_approve``, the four-eyes rule). Every move carries a reason and is
appended to the ledger in the same transaction as the change, so the history is complete.

The computed-evidence services (``provenance_evidence_record``, ``query_log_evidence_record``,
``fingerprint_evidence_record``) run the statistics of ``registry.cloning`` *before* opening a
transaction (a million-row query log takes ~15 s; holding the ledger lock that long would stall
every other writer) and then store the upload and the evidence in one short transaction
through ``evidence_submit``, so the ledger records them like any other evidence.

Like ``registry.services``, these functions take domain objects and primitives, never
requests; the API and the admin both call them.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from registry.ledger import ledger_append
from registry.models import (
    DECISION_STATUSES,
    CloningIncident,
    Commitment,
    Evidence,
    IncidentDecision,
    LedgerEntry,
    Organization,
    OrganizationMembership,
    RightOfReply,
)
from registry.roles import (
    ADMIN,
    ANALYST,
    APPROVER,
    INVESTIGATOR,
    AnyUser,
    has_role,
    recorded_user,
)
from registry.services import (
    ConflictError,
    UploadedEvidenceFile,
    evidence_submit,
    record_status_set,
)

if TYPE_CHECKING:
    from registry.cloning.querylog import QueryLogSummary

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


def _require_reason(reason: str, field_name: str = "reason") -> str:
    text = (reason or "").strip()
    if not text:
        raise ValidationError({field_name: ["Give a reason: every move is recorded with one."]})
    return text


def _lock_incident(incident: CloningIncident) -> CloningIncident:
    return CloningIncident.objects.select_for_update().get(pk=incident.pk)


def _move(
    incident: CloningIncident, *, to_status: str, actor: AnyUser, extra: dict[str, Any]
) -> None:
    """Set the status of a locked incident and ledger the move (caller holds the transaction)."""
    context = dict(extra)
    record_status_set(
        instance=incident,
        status=to_status,
        actor=actor,
        reason=context.pop("reason"),
        context=context,
    )


@transaction.atomic
def incident_transition(
    *, incident: CloningIncident, to_status: str, actor: AnyUser, reason: str
) -> CloningIncident:
    """Make a plain move (reported -> triage -> investigating, decided -> closed)."""
    reason = _require_reason(reason)
    if to_status not in Status.values:
        raise ValidationError({"to_status": [f"Unknown status {to_status!r}."]})
    if to_status in DECISION_STATUSES:
        raise ValidationError(
            {"to_status": [f"'{to_status}' is a decision: propose it for approval instead."]}
        )
    locked = _lock_incident(incident)
    allowed = PLAIN_MOVES.get(locked.status, frozenset())
    if to_status not in allowed:
        raise ConflictError(
            f"Incident {locked.pk} is '{locked.status}'; the workflow does not allow a move "
            f"to '{to_status}' (allowed: {sorted(allowed) or 'none'})."
        )
    _move(locked, to_status=to_status, actor=actor, extra={"reason": reason})
    return locked


@transaction.atomic
def decision_propose(
    *, incident: CloningIncident, proposed_status: str, actor: AnyUser, reason: str
) -> IncidentDecision:
    """Propose settling an investigating incident; it waits for another person's approval."""
    reason = _require_reason(reason)
    if proposed_status not in DECISION_STATUSES:
        raise ValidationError(
            {"proposed_status": [f"Propose one of {[str(s) for s in DECISION_STATUSES]}."]}
        )
    locked = _lock_incident(incident)
    if locked.status != DECIDABLE_FROM:
        raise ConflictError(
            f"Incident {locked.pk} is '{locked.status}'; only an investigating incident "
            "can be settled."
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
    ledger_append(instance=decision, action="propose", actor=actor, extra={"reason": reason})
    return decision


def _lock_open_decision(decision: IncidentDecision) -> IncidentDecision:
    locked = IncidentDecision.objects.select_for_update().get(pk=decision.pk)
    if locked.state != IncidentDecision.State.OPEN:
        raise ConflictError(f"Proposal {locked.pk} was already {locked.state}.")
    return locked


@transaction.atomic
def decision_approve(
    *, decision: IncidentDecision, actor: AnyUser, note: str = ""
) -> IncidentDecision:
    """Approve a proposal and apply its status move, in one transaction.

    The four-eyes rule is checked first, so a proposer learns why they cannot approve
    whatever their role.
    """
    incident = _lock_incident(decision.incident)
    locked = _lock_open_decision(decision)
    if locked.proposed_by_id == getattr(actor, "pk", None):
        raise ConflictError(
            "Four-eyes rule: a decision must be approved by someone other than its proposer."
        )
    if not has_role(actor, APPROVER, ADMIN):
        raise PermissionDenied("Only an approver or an admin can approve a decision.")
    if incident.status != DECIDABLE_FROM:
        raise ConflictError(
            f"Incident {incident.pk} is '{incident.status}', no longer investigating; "
            "reject this proposal instead."
        )
    _decide(locked, actor=actor, state=IncidentDecision.State.APPROVED, note=note)
    reason = locked.reason if not note.strip() else f"{locked.reason} (approval: {note.strip()})"
    _move(
        incident,
        to_status=locked.proposed_status,
        actor=actor,
        extra={
            "reason": reason,
            "decision": locked.pk,
            "proposed_by": locked.proposed_by.get_username(),
        },
    )
    return locked


@transaction.atomic
def decision_reject(*, decision: IncidentDecision, actor: AnyUser, note: str) -> IncidentDecision:
    """Reject a proposal (an approver) or withdraw it (its proposer); the status stays."""
    note = _require_reason(note, "note")
    _lock_incident(decision.incident)
    locked = _lock_open_decision(decision)
    is_proposer = locked.proposed_by_id == getattr(actor, "pk", None)
    if not (is_proposer or has_role(actor, APPROVER, ADMIN)):
        raise PermissionDenied("Only an approver, an admin or the proposer can reject it.")
    _decide(locked, actor=actor, state=IncidentDecision.State.REJECTED, note=note)
    return locked


def _decide(decision: IncidentDecision, *, actor: AnyUser, state: str, note: str) -> None:
    decision.state = state
    decision.decided_by = recorded_user(actor)
    decision.decided_at = timezone.now()
    decision.decision_note = note.strip()
    decision.full_clean()
    decision.save()
    action = "approve" if state == IncidentDecision.State.APPROVED else "reject"
    ledger_append(instance=decision, action=action, actor=actor, extra={"note": note.strip()})


def accused_organization(incident: CloningIncident) -> Organization | None:
    """The organization that released the suspect model, when it is in the registry."""
    release = incident.suspect_release
    return release.organization if release is not None else None


def is_member(user: AnyUser | None, organization: Organization) -> bool:
    account = recorded_user(user)
    if account is None:
        return False
    return OrganizationMembership.objects.filter(user=account, organization=organization).exists()


@transaction.atomic
def reply_file(
    *,
    incident: CloningIncident,
    actor: AnyUser,
    statement: str,
    organization: Organization | None = None,
) -> RightOfReply:
    """File the accused organization's statement, shown beside the incident.

    The organization is the suspect release's; when the suspect is not in the registry the
    filer names it. Its members and admins may file.
    """
    statement = _require_reason(statement, "statement")
    accused = accused_organization(incident)
    if accused is not None and organization is not None and organization != accused:
        raise ValidationError(
            {"organization": [f"The accused organization of this incident is {accused}."]}
        )
    speaker = accused or organization
    if speaker is None:
        raise ValidationError(
            {"organization": ["Name the organization: the suspect is not a registered release."]}
        )
    if not (has_role(actor, ADMIN) or is_member(actor, speaker)):
        raise PermissionDenied(f"Only members of {speaker} or an admin can file its reply.")
    reply = RightOfReply(
        incident=incident,
        organization=speaker,
        statement=statement,
        filed_by=recorded_user(actor),
    )
    reply.full_clean()
    reply.save()
    ledger_append(instance=reply, action="create", actor=actor)
    return reply


# --- Commitments ---------------------------------------------------------------------------


def may_register_commitment(user: AnyUser | None, organization: Organization) -> bool:
    return has_role(user, ANALYST, INVESTIGATOR, ADMIN) or is_member(user, organization)


@transaction.atomic
def commitment_register(
    *,
    actor: AnyUser,
    organization: Organization,
    kind: str,
    sha256: str,
    release: Any = None,
    description: str = "",
) -> Commitment:
    """Register a digest; its ledger entry is the time-stamp that proves it came first."""
    if not may_register_commitment(actor, organization):
        raise PermissionDenied(
            f"Only analysts, investigators, admins and members of {organization} can "
            "register its commitments."
        )
    if release is not None and release.organization_id != organization.pk:
        raise ValidationError({"release": [f"The release is not {organization}'s."]})
    commitment = Commitment(
        organization=organization,
        kind=kind,
        sha256=sha256.strip().lower(),
        release=release,
        description=description,
        registered_by=recorded_user(actor),
    )
    commitment.full_clean()
    commitment.save()
    ledger_append(instance=commitment, action="create", actor=actor)
    return commitment


@dataclass(frozen=True)
class CommitmentCheck:
    """Whether revealed material hashes to a commitment, and the digest it hashes to."""

    matches: bool
    computed_sha256: str


def material_digest(kind: str, material: bytes) -> str:
    """The digest a commitment of ``kind`` is compared with.

    A fingerprint key set is hashed in its canonical form (``registry.cloning.fingerprint``),
    so key order and JSON formatting do not matter; other material is hashed byte for byte.
    """
    if kind == Commitment.Kind.FINGERPRINT_KEY_SET:
        from registry.cloning import CloningInputError, commitment_digest

        try:
            return commitment_digest(material)
        except CloningInputError as error:
            raise ValidationError({"file": [str(error)]}) from error
    return hashlib.sha256(material).hexdigest()


def commitment_check(*, commitment: Commitment, material: bytes) -> CommitmentCheck:
    computed = material_digest(commitment.kind, material)
    return CommitmentCheck(matches=computed == commitment.sha256, computed_sha256=computed)


# --- Evidence the registry computes ----------------------------------------------------------

# A rejected null hypothesis (or a flagged campaign) supports the allegation. Failing to reject
# is *not* evidence against it (absence of evidence), so it is recorded as inconclusive.
_DECISION_OF = {
    "reject": Evidence.Decision.SUPPORTS,
    "flagged": Evidence.Decision.SUPPORTS,
    "none_flagged": Evidence.Decision.DOES_NOT_SUPPORT,
}
_ADJUSTMENT_OF = {
    "holm": Evidence.Adjustment.HOLM,
    "bonferroni": Evidence.Adjustment.BONFERRONI,
    "bh": Evidence.Adjustment.BENJAMINI_HOCHBERG,
}


@dataclass(frozen=True)
class ComputedEvidence:
    """The evidence rows a computation produced, with its JSON summary for the response."""

    evidence: list[Evidence]
    summary: dict[str, Any]
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Upload:
    """One uploaded file: its bytes, name, and whether downloads are restricted."""

    content: bytes
    filename: str
    media_type: str = "application/octet-stream"
    restricted: bool = False

    def for_evidence(self) -> UploadedEvidenceFile:
        # A fresh stream per evidence item: each submission reads it from the start.
        return UploadedEvidenceFile(
            content=io.BytesIO(self.content),
            filename=self.filename,
            media_type=self.media_type,
            restricted=self.restricted,
        )


def evidence_fields(
    item: Mapping[str, Any], *, access_mode: str, commitment: Commitment | None = None
) -> dict[str, Any]:
    """Map a ``registry.cloning`` evidence-item dict onto Evidence columns.

    The interval is widened by float round-off only: the statistic and its interval come
    from two computations of the same mean, and the row's constraints require
    ``ci_low <= statistic_value <= ci_high`` exactly.
    """
    value, low, high = item.get("statistic_value"), item.get("ci_low"), item.get("ci_high")
    if value is not None and low is not None and high is not None:
        low, high = min(low, value), max(high, value)
    return {
        "kind": item["kind"],
        "method_name": item["method"],
        "method_version": item.get("method_version", ""),
        "access_mode": access_mode,
        "n": item.get("n"),
        "statistic_name": item.get("statistic_name", ""),
        "statistic_value": value,
        "ci_low": low,
        "ci_high": high,
        "p_value": item.get("p_value"),
        "alpha": item.get("alpha"),
        "p_adjustment": _ADJUSTMENT_OF.get(item.get("p_value_adjustment") or "", "none"),
        "decision": _DECISION_OF.get(item.get("decision", ""), Evidence.Decision.INCONCLUSIVE),
        "description": item.get("description", ""),
        "details": dict(item.get("details", {})),
        "commitment": commitment,
    }


def ensure_accepts_evidence(incident: CloningIncident) -> None:
    """Fail fast, before a long computation; ``evidence_submit`` checks again under lock."""
    if incident.status == Status.CLOSED:
        raise ConflictError(f"Incident {incident.pk} is closed; evidence can no longer be added.")


def _input_error(error: Exception, field_name: str) -> ValidationError:
    return ValidationError({field_name: [str(error)]})


def _record(
    *,
    incident: CloningIncident,
    actor: AnyUser,
    rows: Sequence[tuple[dict[str, Any], Sequence[Upload]]],
) -> list[Evidence]:
    """Store every row and its files in one short transaction (after the computation)."""
    with transaction.atomic():
        return [
            evidence_submit(
                actor=actor,
                incident=incident,
                fields=fields,
                files=[upload.for_evidence() for upload in uploads],
            )
            for fields, uploads in rows
        ]


def provenance_evidence_record(
    *, incident: CloningIncident, actor: AnyUser, upload: Upload, parameters: Mapping[str, Any]
) -> ComputedEvidence:
    """Run the output-similarity provenance test and record one item per candidate.

    ``parameters`` are ``provenance_test``'s keyword arguments (suspect, candidates,
    baselines, prefix_tokens, alpha, method, permutations, seed). The stored p-value is the
    Holm-adjusted one, on which the decision rests; the raw one stays in ``details``.
    """
    from registry.cloning import CloningInputError, provenance_test

    ensure_accepts_evidence(incident)
    try:
        result = provenance_test(upload.content, **parameters)
    except CloningInputError as error:
        raise _input_error(error, "file") from error
    rows = []
    for item in result.evidence_items():
        adjusted = {**item, "p_value": item["details"]["adjusted_p_value"]}
        rows.append((evidence_fields(adjusted, access_mode="black_box_api"), [upload]))
    evidence = _record(incident=incident, actor=actor, rows=rows)
    return ComputedEvidence(evidence=evidence, summary=result.to_dict())


def _cluster_fields(summary: QueryLogSummary) -> list[dict[str, Any]]:
    heavy = summary.thresholds.min_queries
    rows = []
    for cluster, details in zip(summary.clusters, summary.cluster_evidence_items(), strict=True):
        rows.append(
            evidence_fields(
                {
                    "kind": "account_cluster",
                    "method": summary.method_name,
                    "method_version": summary.method_version,
                    "n": cluster.queries,
                    "statistic_name": "cluster_size",
                    "statistic_value": float(len(cluster.accounts)),
                    # A heavy cluster is what the flagging rule calls coordinated.
                    "decision": "flagged" if cluster.queries >= heavy else "",
                    "description": (
                        f"Coordination cluster {cluster.cluster_id}: {len(cluster.accounts)} "
                        f"accounts sharing {cluster.shared_templates} indicator templates "
                        f"sent {cluster.queries} queries."
                    ),
                    "details": details,
                },
                access_mode="provider_telemetry",
            )
        )
    return rows


def query_log_evidence_record(
    *,
    incident: CloningIncident,
    actor: AnyUser,
    upload: Upload,
    thresholds: Mapping[str, Any] | None = None,
) -> ComputedEvidence:
    """Analyse an API request log; record the campaign summary and each coordination cluster.

    Runs inline: a million-row log takes about 15 s, spent *outside* any transaction (call
    this outside ``atomic()``); only the recording afterwards takes the write lock. The raw
    log and the per-account table name accounts, so both are stored as restricted files.
    A log in which no account is flagged is recorded too, as evidence that does not
    support the allegation.
    """
    from registry.cloning import CloningInputError, QueryLogThresholds, analyse_query_log

    ensure_accepts_evidence(incident)
    try:
        summary, table = analyse_query_log(
            upload.content, thresholds=QueryLogThresholds(**(thresholds or {}))
        )
    except CloningInputError as error:
        raise _input_error(error, "file") from error
    log = Upload(upload.content, upload.filename, "text/csv", restricted=True)
    account_table = Upload(
        table, f"{upload.filename or 'query-log'}.accounts.csv", "text/csv", restricted=True
    )
    main = evidence_fields(summary.evidence_item(), access_mode="provider_telemetry")
    rows = [(main, [log, account_table])]
    rows += [(fields, [log]) for fields in _cluster_fields(summary)]
    evidence = _record(incident=incident, actor=actor, rows=rows)
    return ComputedEvidence(evidence=evidence, summary=summary.to_dict())


def _fingerprint_error(error: Exception) -> ValidationError:
    from registry.cloning import CommitmentMismatchError
    from registry.cloning.fingerprint import RESPONSES

    if isinstance(error, CommitmentMismatchError):
        return _input_error(error, "commitment")
    return _input_error(error, "responses" if str(error).startswith(RESPONSES) else "key_set")


def fingerprint_evidence_record(
    *,
    incident: CloningIncident,
    actor: AnyUser,
    commitment: Commitment,
    key_set: Upload,
    responses: Upload,
    false_trigger_rate: float,
    alpha: float = 0.05,
    match: str = "contains",
) -> ComputedEvidence:
    """Check the revealed key set against the cited commitment, then test the responses.

    A key set that does not hash to the commitment is refused (400 naming both digests):
    keys chosen after seeing the suspect's answers prove nothing.
    """
    from registry.cloning import CloningInputError, fingerprint_verify

    ensure_accepts_evidence(incident)
    if commitment.kind != Commitment.Kind.FINGERPRINT_KEY_SET:
        raise ValidationError(
            {"commitment": [f"Commitment {commitment.pk} is a {commitment.get_kind_display()}."]}
        )
    try:
        result = fingerprint_verify(
            key_set.content,
            responses.content,
            commitment=commitment.sha256,
            false_trigger_rate=false_trigger_rate,
            alpha=alpha,
            match=match,  # type: ignore[arg-type]
        )
    except CloningInputError as error:
        raise _fingerprint_error(error) from error
    item = result.evidence_item()
    # The Clopper-Pearson interval is for the trigger *rate*, so the statistic is k / n.
    item = {**item, "statistic_name": "trigger_rate"}
    item["statistic_value"] = result.keys_matched / result.keys_total
    fields = evidence_fields(item, access_mode="black_box_api", commitment=commitment)
    evidence = _record(incident=incident, actor=actor, rows=[(fields, [key_set, responses])])
    return ComputedEvidence(evidence=evidence, summary=result.to_dict())


# --- Reads ----------------------------------------------------------------------------------


def incident_timeline(incident: CloningIncident) -> QuerySet[LedgerEntry]:
    """Ledger entries about the incident, its evidence, decisions and replies, oldest first.

    The caller has already checked the incident is visible to the user (embargo).
    """

    def keys(queryset: QuerySet[Any]) -> list[str]:
        return [str(pk) for pk in queryset.values_list("pk", flat=True)]

    about = (
        Q(object_type=CloningIncident._meta.label_lower, object_id=str(incident.pk))
        | Q(object_type=Evidence._meta.label_lower, object_id__in=keys(incident.evidence.all()))
        | Q(
            object_type=IncidentDecision._meta.label_lower,
            object_id__in=keys(incident.decisions.all()),
        )
        | Q(object_type=RightOfReply._meta.label_lower, object_id__in=keys(incident.replies.all()))
    )
    return LedgerEntry.objects.filter(about).select_related("actor").order_by("seq")


def atlas_labels(technique_ids: Sequence[str]) -> list[tuple[str, str]]:
    """(id, name) for each ATLAS technique id; an id unknown to the data shows as such."""
    from registry.cloning.atlas import technique_name

    labels = []
    for technique_id in technique_ids:
        try:
            labels.append((technique_id, technique_name(technique_id)))
        except KeyError:
            labels.append((technique_id, "unknown to the ATLAS data"))
    return labels
