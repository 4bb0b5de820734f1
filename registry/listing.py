"""Public lists as NetBox shows them: one page per record type with a search box and the
record's own FilterSet (the API's, so both filter alike), paginated, over the user-scoped
selector (an embargoed incident, and whatever hangs off it, is not in an outsider's list).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import django_filters
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from registry.roles import AnyUser

PAGE_SIZE = 50


@dataclass(frozen=True)
class Listing:
    """One public list: its title, rows and the records it may show to a user."""

    title: str
    intro: str
    rows_template: str
    filterset: type[django_filters.FilterSet]
    records: Callable[[AnyUser], QuerySet[Any]]
    api_path: str


def list_page(request: HttpRequest, listing: Listing) -> HttpResponse:
    """The list, filtered by the query string; a bad filter value shows its error and no rows
    (as the API answers it with 400), never every row."""
    filterset = listing.filterset(
        request.GET, queryset=listing.records(request.user), request=request
    )
    valid = filterset.is_valid()
    records = filterset.qs if valid else filterset.queryset.none()
    page = Paginator(records, PAGE_SIZE).get_page(request.GET.get("page"))
    kept = request.GET.copy()
    kept.pop("page", None)
    filtered = any(value for key, value in request.GET.items() if key != "page")
    context = {
        "listing": listing,
        "filter_form": filterset.form,
        "page": page,
        "records": page.object_list,
        "query": kept.urlencode(),
        "filtered": filtered,
    }
    return render(request, "registry/list.html", context, status=200 if valid else 400)
