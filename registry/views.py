"""Public pages. They read through the same user-scoped selectors as the API: a record a
user may not see through the API is a 404 here too, and is missing from every list."""

from __future__ import annotations

from itertools import zip_longest
from typing import Any

from django.db.models import Model, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from registry import filters, selectors
from registry.claim_page import analysis_context, claim_context
from registry.history import history_rows
from registry.ledger import ledger_head
from registry.listing import Listing, list_page
from registry.models import Benchmark, ModelRelease, Organization


def home(request: HttpRequest) -> HttpResponse:
    context = {
        "claims": selectors.claim_list()[:20],
        "incidents": selectors.incident_list(user=request.user)[:20],
        "datasets": selectors.dataset_list()[:20],
        "head": ledger_head(),
    }
    return render(request, "registry/home.html", context)


# --- Lists -------------------------------------------------------------------------------

ORGANIZATIONS = Listing(
    title="Organisations",
    intro="Developers, evaluators, leaderboard operators and standards bodies.",
    rows_template="registry/rows/organizations.html",
    filterset=filters.OrganizationFilter,
    records=lambda user: selectors.organization_list(),
    api_path="/api/v1/organizations/",
)
RELEASES = Listing(
    title="Model releases",
    intro="Published versions of models, with declared lineage and artefact digests.",
    rows_template="registry/rows/releases.html",
    filterset=filters.ModelReleaseFilter,
    records=lambda user: selectors.release_list(),
    api_path="/api/v1/releases/",
)
BENCHMARKS = Listing(
    title="Benchmarks",
    intro="Evaluations whose results are claimed: preference arenas and static test sets.",
    rows_template="registry/rows/benchmarks.html",
    filterset=filters.BenchmarkFilter,
    records=lambda user: selectors.benchmark_list(),
    api_path="/api/v1/benchmarks/",
)
DATASETS = Listing(
    title="Vote datasets",
    intro="Snapshots of a benchmark's votes, kept as the exact bytes uploaded.",
    rows_template="registry/rows/datasets.html",
    filterset=filters.VoteDatasetFilter,
    records=lambda user: selectors.dataset_list(),
    api_path="/api/v1/datasets/",
)
CLAIMS = Listing(
    title="Benchmark claims",
    intro="Published statements about a model's rank or score, each attributed to its "
    "claimant. Open one for what the registry's analysis says of it.",
    rows_template="registry/rows/claims.html",
    filterset=filters.BenchmarkClaimFilter,
    records=lambda user: selectors.claim_list(),
    api_path="/api/v1/claims/",
)
INCIDENTS = Listing(
    title="Cloning incidents",
    intro="Suspected copies of a model's behaviour or weights, with their evidence.",
    rows_template="registry/rows/incidents.html",
    filterset=filters.CloningIncidentFilter,
    records=lambda user: selectors.incident_list(user=user),
    api_path="/api/v1/incidents/",
)


def organizations(request: HttpRequest) -> HttpResponse:
    return list_page(request, ORGANIZATIONS)


def releases(request: HttpRequest) -> HttpResponse:
    return list_page(request, RELEASES)


def benchmarks(request: HttpRequest) -> HttpResponse:
    return list_page(request, BENCHMARKS)


def datasets(request: HttpRequest) -> HttpResponse:
    return list_page(request, DATASETS)


def claims(request: HttpRequest) -> HttpResponse:
    return list_page(request, CLAIMS)


def incidents(request: HttpRequest) -> HttpResponse:
    return list_page(request, INCIDENTS)


# --- Records -----------------------------------------------------------------------------


def organization_detail(request: HttpRequest, pk: int) -> HttpResponse:
    organization = get_object_or_404(selectors.organization_list(), pk=pk)
    context = {
        "organization": organization,
        "releases": selectors.release_list().filter(organization=organization),
        "claims": selectors.claim_list().filter(claimant=organization),
        "benchmarks": selectors.benchmark_list().filter(operator=organization),
        "incidents": selectors.incident_list(user=request.user).filter(
            Q(reporting_organization=organization)
            | Q(original_release__organization=organization)
            | Q(suspect_release__organization=organization)
        ),
    }
    return render(request, "registry/organization_detail.html", context)


def release_detail(request: HttpRequest, pk: int) -> HttpResponse:
    release = get_object_or_404(selectors.release_list(), pk=pk)
    context = {
        "release": release,
        "derived": selectors.release_list().filter(lineage__base=release).distinct(),
        "claims": selectors.claim_list().filter(Q(release=release) | Q(compared_release=release)),
        "incidents": selectors.incident_list(user=request.user).filter(
            Q(original_release=release) | Q(suspect_release=release)
        ),
    }
    return render(request, "registry/release_detail.html", context)


def benchmark_detail(request: HttpRequest, pk: int) -> HttpResponse:
    benchmark = get_object_or_404(selectors.benchmark_list(), pk=pk)
    context = {
        "benchmark": benchmark,
        "datasets": selectors.dataset_list().filter(benchmark=benchmark),
        "claims": selectors.claim_list().filter(benchmark=benchmark),
    }
    return render(request, "registry/benchmark_detail.html", context)


def dataset_detail(request: HttpRequest, pk: int) -> HttpResponse:
    dataset = get_object_or_404(selectors.dataset_list(), pk=pk)
    context = {
        "dataset": dataset,
        "claims": selectors.claim_list().filter(dataset=dataset),
        **analysis_context(
            selectors.latest_dataset_analysis(dataset),
            pending=selectors.pending_analyses().filter(dataset=dataset, claim=None).first(),
            dataset=dataset,
        ),
    }
    return render(request, "registry/dataset_detail.html", context)


def claim_detail(request: HttpRequest, pk: int) -> HttpResponse:
    claim = get_object_or_404(selectors.claim_list(), pk=pk)
    return render(request, "registry/claim_detail.html", claim_context(claim))


def incident_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """An incident with its timeline, evidence, decisions and replies; the embargo holds
    (an embargoed incident is a 404 to outsiders, exactly as in the API)."""
    incident = get_object_or_404(selectors.incident_list(user=request.user), pk=pk)
    evidence = selectors.evidence_list(user=request.user).filter(incident=incident)
    context = {
        "incident": incident,
        "techniques": selectors.atlas_labels(incident.atlas_techniques),
        "evidence": evidence,
        "decisions": selectors.decision_list(user=request.user).filter(incident=incident),
        "replies": selectors.reply_list(user=request.user).filter(incident=incident),
        "timeline": history_rows(selectors.incident_timeline(user=request.user, incident=incident)),
    }
    return render(request, "registry/incident_detail.html", context)


# --- History tabs ------------------------------------------------------------------------


def history_page(
    request: HttpRequest, *, instance: Model, title: str, record_url: str
) -> HttpResponse:
    """A record's history tab: its ledger entries (those the user may read), newest first,
    each with what changed since the entry before it."""
    rows = history_rows(selectors.record_history(user=request.user, instance=instance))
    context = {
        "record": instance,
        "title": title,
        "record_url": record_url,
        "history_url": request.path,
        "rows": list(reversed(rows)),
    }
    return render(request, "registry/history.html", context)


def _history(request: HttpRequest, instance: Any, title: str) -> HttpResponse:
    return history_page(
        request, instance=instance, title=title, record_url=instance.get_absolute_url()
    )


def _record(records: Any, pk: int) -> Any:
    return get_object_or_404(records, pk=pk)


def organization_history(request: HttpRequest, pk: int) -> HttpResponse:
    record: Organization = _record(selectors.organization_list(), pk)
    return _history(request, record, str(record))


def release_history(request: HttpRequest, pk: int) -> HttpResponse:
    record: ModelRelease = _record(selectors.release_list(), pk)
    return _history(request, record, f"{record} ({record.organization})")


def benchmark_history(request: HttpRequest, pk: int) -> HttpResponse:
    record: Benchmark = _record(selectors.benchmark_list(), pk)
    return _history(request, record, str(record))


def dataset_history(request: HttpRequest, pk: int) -> HttpResponse:
    record = _record(selectors.dataset_list(), pk)
    return _history(request, record, str(record))


def claim_history(request: HttpRequest, pk: int) -> HttpResponse:
    record = _record(selectors.claim_list(), pk)
    return _history(request, record, f"Claim {record.pk} by {record.claimant}")


def incident_history(request: HttpRequest, pk: int) -> HttpResponse:
    record = _record(selectors.incident_list(user=request.user), pk)
    return _history(request, record, str(record))


# --- The transparency log --------------------------------------------------------------

# The public log page lists this many checkpoints; the API lists them all.
LOG_PAGE_CHECKPOINTS = 50


def transparency_log(request: HttpRequest) -> HttpResponse:
    """The transparency log: the latest checkpoints with their witnesses' cosignatures,
    and each one's consistency with the one before (links into the log's API)."""
    checkpoints = list(selectors.checkpoint_list()[: LOG_PAGE_CHECKPOINTS + 1])
    rows = [
        {"checkpoint": checkpoint, "previous": previous}
        for checkpoint, previous in zip_longest(checkpoints, checkpoints[1:])
    ][:LOG_PAGE_CHECKPOINTS]
    context = {"rows": rows, "more": len(checkpoints) > LOG_PAGE_CHECKPOINTS}
    return render(request, "registry/transparency_log.html", context)
