"""Reads, scoped to the user and prefetched so that list pages run a fixed number of
queries. Embargo is enforced here: an embargoed incident and its evidence do not
exist for a user who is not assigned to it and is neither approver nor admin."""

from __future__ import annotations

from django.db.models import CharField, Exists, OuterRef, Prefetch, Q, QuerySet
from django.db.models.functions import Cast

from registry.models import (
    Benchmark,
    BenchmarkClaim,
    CloningIncident,
    Evidence,
    EvidenceFile,
    FragilityAnalysis,
    ItemScoreAnalysis,
    LedgerEntry,
    ModelArtifact,
    ModelLineage,
    ModelRelease,
    Organization,
    VoteDataset,
)
from registry.roles import AnyUser, sees_all_incidents


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
    """The ledger, less the entries about incidents and evidence the user may not see.

    Hidden entries still count in the chain; ``verify_ledger`` checks all of them.
    """
    entries = LedgerEntry.objects.select_related("actor")
    if sees_all_incidents(user):
        return entries
    hidden_incidents = CloningIncident.objects.exclude(incident_visibility_q(user)).annotate(
        key=Cast("pk", CharField())
    )
    hidden_evidence = Evidence.objects.exclude(
        incident_visibility_q(user, prefix="incident__")
    ).annotate(key=Cast("pk", CharField()))
    return entries.exclude(
        object_type=CloningIncident._meta.label_lower,
        object_id__in=hidden_incidents.values("key"),
    ).exclude(
        object_type=Evidence._meta.label_lower,
        object_id__in=hidden_evidence.values("key"),
    )
