"""One FilterSet per model, shared by the API and the pages."""

from typing import Any

import django_filters
from django.db.models import QuerySet
from django.http import HttpRequest

from registry import selectors
from registry.models import (
    Benchmark,
    BenchmarkClaim,
    CloningIncident,
    Evidence,
    IncidentDecision,
    LedgerEntry,
    ModelArtifact,
    ModelRelease,
    Organization,
    VoteDataset,
)


class OrganizationFilter(django_filters.FilterSet):
    class Meta:
        model = Organization
        fields = ["kind", "country", "slug"]


class ModelReleaseFilter(django_filters.FilterSet):
    organization = django_filters.CharFilter(field_name="organization__slug")
    released_after = django_filters.DateFilter(field_name="release_date", lookup_expr="gte")
    released_before = django_filters.DateFilter(field_name="release_date", lookup_expr="lte")

    class Meta:
        model = ModelRelease
        fields = ["organization", "access", "modality"]


class ModelArtifactFilter(django_filters.FilterSet):
    class Meta:
        model = ModelArtifact
        fields = ["release", "kind", "sha256"]


class BenchmarkFilter(django_filters.FilterSet):
    class Meta:
        model = Benchmark
        fields = ["kind", "operator", "slug"]


class VoteDatasetFilter(django_filters.FilterSet):
    sha256 = django_filters.CharFilter(field_name="file__sha256")

    class Meta:
        model = VoteDataset
        fields = ["benchmark", "detected_format", "sha256"]


class BenchmarkClaimFilter(django_filters.FilterSet):
    class Meta:
        model = BenchmarkClaim
        fields = ["claimant", "release", "benchmark", "dataset", "kind", "status"]


class CloningIncidentFilter(django_filters.FilterSet):
    technique = django_filters.CharFilter(method="filter_technique")

    class Meta:
        model = CloningIncident
        fields = [
            "status",
            "evidentiary_level",
            "embargoed",
            "original_release",
            "suspect_release",
            "reporting_organization",
        ]

    def filter_technique(self, queryset, name, value):  # type: ignore[no-untyped-def]
        # JSON containment is not portable to SQLite; match the quoted id instead.
        return queryset.filter(atlas_techniques__icontains=f'"{value}"')


def _visible_incidents(request: HttpRequest | None) -> QuerySet[CloningIncident]:
    return selectors.incident_list(user=getattr(request, "user", None))


class VisibleIncidentFilter(django_filters.ModelChoiceFilter):
    """Filter by an incident the user may see: an embargoed incident's id is refused
    exactly as an unknown one is (400), so the filter reveals nothing about it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, queryset=_visible_incidents, **kwargs)


class EvidenceFilter(django_filters.FilterSet):
    incident = VisibleIncidentFilter()

    class Meta:
        model = Evidence
        fields = ["incident", "kind", "access_mode", "decision"]


class LedgerEntryFilter(django_filters.FilterSet):
    seq_after = django_filters.NumberFilter(field_name="seq", lookup_expr="gt")

    class Meta:
        model = LedgerEntry
        fields = ["action", "object_type", "object_id"]


class DecisionFilter(django_filters.FilterSet):
    incident = VisibleIncidentFilter()

    class Meta:
        model = IncidentDecision
        fields = ["incident", "state", "proposed_status"]
