"""Public pages. They read through the same user-scoped selectors as the API."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from registry import selectors
from registry.ledger import ledger_head


def home(request: HttpRequest) -> HttpResponse:
    context = {
        "claims": selectors.claim_list().order_by("-claim_date", "-id")[:20],
        "incidents": selectors.incident_list(user=request.user).order_by("-created_at")[:20],
        "datasets": selectors.dataset_list()[:20],
        "head": ledger_head(),
    }
    return render(request, "registry/home.html", context)
