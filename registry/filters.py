"""One FilterSet per model, shared by the API and the pages."""

from typing import Any

import django_filters
from django import forms
from django.db.models import Q, QuerySet
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


class IntegerFilter(django_filters.NumberFilter):
    """A whole number (NumberFilter takes any decimal, so 0.5 would pass for a seq)."""

    field_class = forms.IntegerField


class SearchFilterSet(django_filters.FilterSet):
    """A FilterSet with ``q``: a case-insensitive search over ``search_fields`` (as NetBox's
    filter sets do), so the pages and the API search the same way."""

    search_fields: tuple[str, ...] = ()
    q = django_filters.CharFilter(method="search", label="Search")

    def search(self, queryset: QuerySet[Any], name: str, value: str) -> QuerySet[Any]:
        condition = Q()
        for field in self.search_fields:
            condition |= Q(**{f"{field}__icontains": value.strip()})
        return queryset.filter(condition) if value.strip() else queryset


class OrganizationFilter(SearchFilterSet):
    search_fields = ("name", "slug", "website")

    class Meta:
        model = Organization
        fields = ["kind", "country", "slug"]


class ModelReleaseFilter(SearchFilterSet):
    search_fields = ("name", "version", "organization__name", "licence")
    organization = django_filters.ModelChoiceFilter(
        queryset=Organization.objects.all(), to_field_name="slug", label="Organisation"
    )
    released_after = django_filters.DateFilter(field_name="release_date", lookup_expr="gte")
    released_before = django_filters.DateFilter(field_name="release_date", lookup_expr="lte")

    class Meta:
        model = ModelRelease
        fields = ["organization", "access", "modality"]


class ModelArtifactFilter(django_filters.FilterSet):
    class Meta:
        model = ModelArtifact
        fields = ["release", "kind", "sha256"]


class BenchmarkFilter(SearchFilterSet):
    search_fields = ("name", "slug", "methodology")

    class Meta:
        model = Benchmark
        fields = ["kind", "operator", "slug"]


class VoteDatasetFilter(SearchFilterSet):
    search_fields = ("name", "file__sha256", "attribution")
    sha256 = django_filters.CharFilter(field_name="file__sha256")

    class Meta:
        model = VoteDataset
        fields = ["benchmark", "status", "detected_format", "sha256"]


class BenchmarkClaimFilter(SearchFilterSet):
    search_fields = ("statement", "release__name", "benchmark__name", "claimant__name")

    class Meta:
        model = BenchmarkClaim
        fields = ["claimant", "release", "benchmark", "dataset", "kind", "status"]


class CloningIncidentFilter(SearchFilterSet):
    search_fields = ("title", "summary", "suspect_name")
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
    seq_after = IntegerFilter(field_name="seq", lookup_expr="gt")

    class Meta:
        model = LedgerEntry
        fields = ["action", "object_type", "object_id"]


class DecisionFilter(django_filters.FilterSet):
    incident = VisibleIncidentFilter()

    class Meta:
        model = IncidentDecision
        fields = ["incident", "state", "proposed_status"]
