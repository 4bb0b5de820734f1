"""Readable views of the records services produce, for the admin's change pages.

A fragility analysis, an item-score analysis and a report's manifest are JSON in the
database; the admin shows what they say, in the words of the public pages
(``registry.fragility.presenter``), and keeps the raw JSON one click away, folded.
"""

from __future__ import annotations

import json
from typing import Any

from django.template.loader import render_to_string
from django.utils.safestring import SafeString

from registry.fragility import presenter
from registry.models import FragilityAnalysis, ItemScoreAnalysis

# Rows of the leaderboard shown before the rest is folded away.
LEADERS_SHOWN = 10


def analysis_verdict(analysis: FragilityAnalysis) -> presenter.Verdict | None:
    """The claim's verdict when the analysis answers a claim and has finished."""
    if analysis.claim_id is None or analysis.status != FragilityAnalysis.Status.DONE:
        return None
    n_used = (analysis.results or {}).get("fit", {}).get("n_votes_used")
    return presenter.claim_verdict(analysis.claim_answer or {}, n_used)


def analysis_result(analysis: FragilityAnalysis) -> SafeString:
    """The analysis as the public page reads it: verdict, fit, leaderboard, flips, baseline."""
    results: dict[str, Any] = analysis.results or {}
    fit = results.get("fit", {})
    n_used = fit.get("n_votes_used") or 0
    scores = presenter.score_rows(results.get("scores", []))
    rows = results.get("fragility", [])
    context = {
        "analysis": analysis,
        "verdict": analysis_verdict(analysis),
        "fit": fit,
        "votes_used": _votes_used(fit.get("n_votes_used"), results.get("dataset", {})),
        "dataset": results.get("dataset", {}),
        "leaders": scores[:LEADERS_SHOWN],
        "rest": scores[LEADERS_SHOWN:],
        "has_bootstrap": any(row["bootstrap_interval"] for row in scores),
        "top_k": [presenter.flip_sentence(row, n_used) for row in rows if row["kind"] == "top_k"],
        "adjacent": [
            presenter.flip_sentence(row, n_used) for row in rows if row["kind"] != "top_k"
        ],
        "baseline": [
            {**row, "share": f"{row['fraction']:.2%}"}
            for row in results.get("random_drop_baseline", [])
        ],
        "raw": _pretty({"results": results, "claim_answer": analysis.claim_answer}),
    }
    return SafeString(render_to_string("admin/registry/display/analysis.html", context))


def _votes_used(n_used: int | None, dataset: dict[str, Any]) -> str:
    if n_used is None:
        return "—"
    in_file = dataset.get("n_votes")
    return f"{n_used:,}" + (f" of {in_file:,} in the file" if in_file else "")


def item_analysis_result(analysis: ItemScoreAnalysis) -> SafeString:
    results: dict[str, Any] = analysis.results or {}
    context = {"analysis": analysis, "results": results, "raw": _pretty(results)}
    return SafeString(render_to_string("admin/registry/display/item_analysis.html", context))


def manifest_summary(manifest: dict[str, Any] | None) -> SafeString:
    """A report's manifest: subjects, files with their SHA-256, analyses, ledger head."""
    context = {"manifest": manifest or {}, "raw": _pretty(manifest)}
    return SafeString(render_to_string("admin/registry/display/manifest.html", context))


def _pretty(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False)
