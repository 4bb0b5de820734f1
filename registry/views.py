"""Public pages. They read through the same user-scoped selectors as the API."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils.safestring import mark_safe

from registry import selectors
from registry.charts import score_interval_svg
from registry.fragility.presenter import claim_verdict, flip_sentence, score_rows
from registry.history import history_rows
from registry.item_claims import item_verdict
from registry.ledger import ledger_head
from registry.models import FragilityAnalysis


def home(request: HttpRequest) -> HttpResponse:
    context = {
        "claims": selectors.claim_list()[:20],
        "incidents": selectors.incident_list(user=request.user)[:20],
        "datasets": selectors.dataset_list()[:20],
        "head": ledger_head(),
    }
    return render(request, "registry/home.html", context)


def _analysis_context(analysis: FragilityAnalysis | None) -> dict[str, Any]:
    if analysis is None or not analysis.results:
        return {"analysis": analysis}
    results = analysis.results
    n_used = results["fit"]["n_votes_used"]
    flips = [
        {
            **row,
            "words": flip_sentence(row, n_used),
            "share": f"{row['fraction']:.2%}" if row["fraction"] is not None else "",
        }
        for row in results["fragility"]
    ]
    return {
        "analysis": analysis,
        "results": results,
        "flips": flips,
        "top_flips": [row for row in flips if row["kind"] == "top_k"],
        "scores": score_rows(results["scores"]),
        # Built from numbers and escaped names only (see registry.charts).
        "chart": mark_safe(score_interval_svg(results["scores"])),
    }


def dataset_detail(request: HttpRequest, pk: int) -> HttpResponse:
    dataset = get_object_or_404(selectors.dataset_list(), pk=pk)
    analysis = selectors.latest_dataset_analysis(dataset)
    context = {"dataset": dataset, **_analysis_context(analysis)}
    return render(request, "registry/dataset_detail.html", context)


def claim_detail(request: HttpRequest, pk: int) -> HttpResponse:
    claim = get_object_or_404(selectors.claim_list(), pk=pk)
    analysis = selectors.latest_done_analysis(claim)
    context = {"claim": claim, "dataset": claim.dataset, **_analysis_context(analysis)}
    if analysis is not None and analysis.claim_answer and analysis.results:
        n_used = analysis.results["fit"]["n_votes_used"]
        context["claim_words"] = claim_verdict(analysis.claim_answer, n_used).sentence
    item_analysis = selectors.item_analysis_list().filter(claim=claim).first()
    if item_analysis is not None:
        item_analysis.claim = claim  # already loaded with its releases
        context["item_analysis"] = item_analysis
        context["item_words"] = item_verdict(item_analysis)
    return render(request, "registry/claim_detail.html", context)


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
