"""Reads, scoped to the user and prefetched so that list pages run a fixed number of
queries. Embargo is enforced here: an embargoed incident and its evidence do not
exist for a user who is not assigned to it and is neither approver nor admin."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from django.contrib.auth.models import User
from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet

from registry import roles
from registry.models import (
    Benchmark,
    BenchmarkClaim,
    Checkpoint,
    CloningIncident,
    Commitment,
    ComputationJob,
    Cosignature,
    Evidence,
    EvidenceFile,
    FragilityAnalysis,
    IncidentDecision,
    ItemScoreAnalysis,
    LedgerEntry,
    ModelArtifact,
    ModelLineage,
    ModelRelease,
    Organization,
    RightOfReply,
    StoredFile,
    VoteDataset,
)
from registry.roles import INVESTIGATOR, AnyUser, has_role, sees_all_incidents


def incident_visibility_q(user: AnyUser | None, prefix: str = "") -> Q:
    """The condition an incident (reached through ``prefix``) must meet to be visible."""
    if sees_all_incidents(user):
        return Q()
    public = Q(**{f"{prefix}embargoed": False})
    if user is None or not user.is_authenticated:
        return public
    assigned = CloningIncident.investigators.through.objects.filter(
        cloningincident_id=OuterRef(f"{prefix}pk"), user_id=user.pk
    )
    return public | Q(Exists(assigned))


def organization_list() -> QuerySet[Organization]:
    return Organization.objects.all()


def release_list() -> QuerySet[ModelRelease]:
    return ModelRelease.objects.select_related("organization").prefetch_related(
        Prefetch("artifacts", queryset=ModelArtifact.objects.order_by("id")),
        Prefetch("lineage", queryset=ModelLineage.objects.select_related("base")),
    )


def artifact_list() -> QuerySet[ModelArtifact]:
    return ModelArtifact.objects.select_related("release")


def benchmark_list() -> QuerySet[Benchmark]:
    return Benchmark.objects.select_related("operator")


def dataset_list() -> QuerySet[VoteDataset]:
    return VoteDataset.objects.select_related("benchmark", "file", "uploaded_by")


def analysis_list() -> QuerySet[FragilityAnalysis]:
    return FragilityAnalysis.objects.select_related("dataset__file", "claim")


def item_analysis_list() -> QuerySet[ItemScoreAnalysis]:
    """Every item-score analysis, newest first, with what its serializer and page show."""
    return ItemScoreAnalysis.objects.select_related("file", "created_by")


def claim_list() -> QuerySet[BenchmarkClaim]:
    return BenchmarkClaim.objects.select_related(
        "claimant",
        "release__organization",
        "benchmark",
        "dataset__file",
        "compared_release",
    )


def incident_list(*, user: AnyUser | None) -> QuerySet[CloningIncident]:
    return (
        CloningIncident.objects.filter(incident_visibility_q(user))
        .select_related(
            "suspect_release", "original_release", "reporting_organization", "created_by"
        )
        .prefetch_related("investigators")
    )


def evidence_list(*, user: AnyUser | None) -> QuerySet[Evidence]:
    return (
        Evidence.objects.filter(incident_visibility_q(user, prefix="incident__"))
        .select_related("incident", "submitted_by", "supersedes", "superseded_by")
        .prefetch_related(Prefetch("files", queryset=EvidenceFile.objects.select_related("file")))
    )


def ledger_list(*, user: AnyUser | None) -> QuerySet[LedgerEntry]:
    """The ledger entries the user may read: every public entry, and the entries of the
    incidents the user may see (the incident, its evidence, files, decisions, replies,
    reports). Hidden entries still count in the chain; ``verify_ledger`` checks them all.
    """
    entries = LedgerEntry.objects.select_related("actor")
    if sees_all_incidents(user):
        return entries
    visible = CloningIncident.objects.filter(incident_visibility_q(user)).values("pk")
    return entries.filter(Q(scope_incident__isnull=True) | Q(scope_incident__in=visible))


def incident_timeline(*, user: AnyUser | None, incident: CloningIncident) -> QuerySet[LedgerEntry]:
    """Every ledger entry of an incident the user may see, oldest first, with no gaps: the
    incident, its evidence, decisions, replies and reports (nothing of it is ever deleted)."""
    return ledger_list(user=user).filter(scope_incident=incident).order_by("seq")


def incident_report_timeline(incident: CloningIncident) -> QuerySet[LedgerEntry]:
    """The same entries for the incident's own report, which is scoped to the incident
    itself (only those who may see the incident may read the report)."""
    return LedgerEntry.objects.filter(scope_incident=incident).order_by("seq")


def record_history(*, user: AnyUser | None, instance: object) -> QuerySet[LedgerEntry]:
    """The ledger entries about one record that the user may read, oldest first."""
    meta = instance._meta  # type: ignore[attr-defined]
    return (
        ledger_list(user=user)
        .filter(object_type=meta.label_lower, object_id=str(instance.pk))  # type: ignore[attr-defined]
        .order_by("seq")
    )


def decision_list(*, user: AnyUser | None) -> QuerySet[IncidentDecision]:
    return IncidentDecision.objects.filter(
        incident_visibility_q(user, prefix="incident__")
    ).select_related("incident", "proposed_by", "decided_by")


def reply_list(*, user: AnyUser | None) -> QuerySet[RightOfReply]:
    return RightOfReply.objects.filter(
        incident_visibility_q(user, prefix="incident__")
    ).select_related("incident", "organization", "filed_by")


def checkpoint_list() -> QuerySet[Checkpoint]:
    """The transparency log's checkpoints, newest first, each with its witnesses'
    cosignatures (by witness name). Public: a checkpoint signs only a size and a root."""
    cosignatures = Cosignature.objects.order_by("witness")
    return Checkpoint.objects.prefetch_related(
        Prefetch("cosignatures", queryset=cosignatures)
    ).order_by("-tree_size")


def cosignature_list() -> QuerySet[Cosignature]:
    """Witness cosignatures, newest checkpoint first. Public, as the checkpoints are."""
    return Cosignature.objects.select_related("checkpoint").order_by(
        "-checkpoint__tree_size", "witness"
    )


def commitment_list() -> QuerySet[Commitment]:
    """Commitments are public: a digest reveals nothing before the material is revealed."""
    return Commitment.objects.select_related("organization", "release", "registered_by")


def stored_file_list(*, user: AnyUser | None) -> QuerySet[StoredFile]:
    """Stored files, less those that belong only to evidence of incidents the user may not
    see (their hashes and sizes would reveal what an embargoed incident holds)."""
    files = StoredFile.objects.all()
    if sees_all_incidents(user):
        return files
    hidden_evidence = EvidenceFile.objects.filter(file=OuterRef("pk")).exclude(
        incident_visibility_q(user, prefix="evidence__incident__")
    )
    visible_evidence = EvidenceFile.objects.filter(file=OuterRef("pk")).filter(
        incident_visibility_q(user, prefix="evidence__incident__")
    )
    return files.exclude(Exists(hidden_evidence) & ~Exists(visible_evidence))


def computation_job_list(*, user: AnyUser | None) -> QuerySet[ComputationJob]:
    """The computation jobs ``user`` may follow. A claim's are open to anyone, as its
    analyses are; an incident's only to those who handle it (its assigned investigators,
    approvers and admins: ``user_handles_incident``), since a job's summary can name
    accounts, so an embargoed incident's jobs are as absent as the incident."""
    jobs = ComputationJob.objects.select_related(
        "claim", "incident", "commitment", "requested_by", "item_analysis__file"
    )
    if sees_all_incidents(user):
        return jobs
    claim_jobs = Q(incident__isnull=True)
    if user is None or not user.is_authenticated or not has_role(user, INVESTIGATOR):
        return jobs.filter(claim_jobs)
    assigned = CloningIncident.investigators.through.objects.filter(
        cloningincident_id=OuterRef("incident_id"), user_id=user.pk
    )
    return jobs.filter(claim_jobs | Q(Exists(assigned)))


def latest_done_analysis(claim: BenchmarkClaim) -> FragilityAnalysis | None:
    """The claim's newest finished fragility analysis: what its page shows and its report
    rests on (one definition for both)."""
    return (
        FragilityAnalysis.objects.filter(claim=claim, status=FragilityAnalysis.Status.DONE)
        .filter(results__isnull=False)
        .select_related("dataset__file", "claim")
        .order_by("-finished_at", "-id")
        .first()
    )


def pending_analyses() -> QuerySet[FragilityAnalysis]:
    """Analyses queued or running, newest first: what a page shows live until they finish."""
    return FragilityAnalysis.objects.filter(
        status__in=[FragilityAnalysis.Status.PENDING, FragilityAnalysis.Status.RUNNING]
    ).order_by("-created_at", "-id")


def latest_dataset_analysis(dataset: VoteDataset) -> FragilityAnalysis | None:
    """The dataset's newest finished analysis of its whole leaderboard (not of a claim)."""
    return (
        FragilityAnalysis.objects.filter(
            dataset=dataset, claim=None, status=FragilityAnalysis.Status.DONE
        )
        .filter(results__isnull=False)
        .select_related("dataset__file")
        .order_by("-finished_at", "-id")
        .first()
    )


def atlas_labels(technique_ids: Sequence[str]) -> list[tuple[str, str]]:
    """(id, name) for each ATLAS technique id; an id unknown to the data shows as such."""
    # Imported on use: the registry.cloning package loads SciPy (about a second).
    from registry.cloning.atlas import technique_name

    labels = []
    for technique_id in technique_ids:
        try:
            labels.append((technique_id, technique_name(technique_id)))
        except KeyError:
            labels.append((technique_id, "unknown to the ATLAS data"))
    return labels


# --- What a report reads. A report is itself scoped (an incident's report is read only by
# those who may see the incident; claim reports and digests are public), so these take no
# user: the report's scope is its reader's. ---------------------------------------------


def release_weights(release: ModelRelease) -> ModelArtifact | None:
    """The release's first published weights artefact, the digest a report cites."""
    return (
        ModelArtifact.objects.filter(release=release, kind=ModelArtifact.Kind.WEIGHTS)
        .order_by("id")
        .first()
    )


def incident_report_subjects() -> QuerySet[CloningIncident]:
    return CloningIncident.objects.select_related(
        "original_release__organization",
        "suspect_release__organization",
        "reporting_organization",
    )


def incident_report_evidence(incident: CloningIncident) -> QuerySet[Evidence]:
    """Every evidence item of the incident, superseded ones included, oldest first."""
    return (
        Evidence.objects.filter(incident=incident)
        .select_related("superseded_by")
        .prefetch_related("files__file")
        .order_by("submitted_at", "id")
    )


def incident_report_decisions(incident: CloningIncident) -> QuerySet[IncidentDecision]:
    return (
        IncidentDecision.objects.filter(incident=incident)
        .select_related("proposed_by", "decided_by")
        .order_by("proposed_at", "id")
    )


def investigator_accounts() -> QuerySet[User]:
    """Accounts that may be assigned to an incident: those with the investigator role
    (admins and superusers have every role)."""
    return (
        User.objects.filter(
            Q(is_superuser=True) | Q(groups__name__in=[roles.INVESTIGATOR, roles.ADMIN])
        )
        .distinct()
        .order_by("username")
    )


def incident_report_replies(incident: CloningIncident) -> QuerySet[RightOfReply]:
    """The incident's rights of reply, oldest first, for its report."""
    return (
        RightOfReply.objects.filter(incident=incident)
        .select_related("organization", "filed_by")
        .order_by("filed_at", "id")
    )


def releases_in_period(start: dt.date, end: dt.date) -> QuerySet[ModelRelease]:
    return (
        ModelRelease.objects.filter(release_date__gte=start, release_date__lte=end)
        .select_related("organization")
        .order_by("release_date", "name")
    )


def claims_in_period(
    start: dt.date, end: dt.date, *, analysed_between: tuple[dt.datetime, dt.datetime]
) -> QuerySet[BenchmarkClaim]:
    """Claims made in the period, or whose analysis finished in it (both dates inclusive)."""
    return (
        BenchmarkClaim.objects.filter(
            Q(claim_date__gte=start, claim_date__lte=end)
            | Q(analyses__finished_at__range=analysed_between)
        )
        .distinct()
        .select_related("release", "benchmark", "claimant")
        .order_by("claim_date", "id")
    )
