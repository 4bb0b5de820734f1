"""What the claim and dataset pages show of an analysis: the verdict, the leaderboard with
each adjacent pair's votes to flip, the chart, the flip searches, the dropped votes with
their content. Every number is read through ``registry.fragility.presenter``."""

from __future__ import annotations

from typing import Any

from django.utils.safestring import mark_safe

from registry import selectors
from registry.charts import COMPACT, score_interval_svg
from registry.fragility.presenter import (
    Verdict,
    claim_verdict,
    flip_sentence,
    leaderboard_rows,
)
from registry.item_claims import item_verdict
from registry.models import BenchmarkClaim, FragilityAnalysis, VoteDataset
from registry.vote_lookup import VoteContent, votes_content

# The verdict words (``presenter.Verdict.word``) as a CSS class for the verdict's colour.
_VERDICT_CLASSES = {
    "fragile": "fragile",
    "does not hold on the full data": "does-not-hold",
    "robust within the search budget": "robust",
}


def verdict_lines(
    verdict: Verdict, answer: dict[str, Any] | None, n_used: int | None
) -> tuple[str, str]:
    """The verdict as two lines: whether the claim holds and, if it is fragile, how many
    votes overturn it; then what happens without them (or the presenter's sentence)."""
    if verdict.word == "fragile" and verdict.votes_to_flip is not None and answer:
        votes = f"{verdict.votes_to_flip:,}"
        of = f" of its {n_used:,}" if n_used is not None else ""
        share = f" ({verdict.fraction:.2%})" if verdict.fraction is not None else ""
        return (
            f"It holds on the full data, but dropping {votes}{of} votes{share} overturns it.",
            f"Without those votes, {answer.get('challenger')} overtakes {answer.get('model')}; "
            "an exact refit without them confirmed it.",
        )
    headlines = {
        "does not hold on the full data": "It does not hold, even on the full data.",
        "robust within the search budget": "It holds, and no set of dropped votes found "
        "within the search budget overturns it.",
    }
    if verdict.word.startswith("not answerable"):
        return "The analysis cannot answer it.", verdict.sentence
    return headlines.get(verdict.word, "Not analysed yet."), verdict.sentence


def flip_key(row: dict[str, Any]) -> str:
    """How a flip search is named in URLs and anchors: top_k-1, adjacent-3, or claim."""
    return f"{row['kind']}-{row['k']}"


def flip_votes(analysis: FragilityAnalysis, key: str) -> list[int | str] | None:
    """The vote ids a flip search dropped, by its key; None when there is no such search."""
    if key == "claim":
        answer = analysis.claim_answer or {}
        return list(answer.get("dropped_votes") or []) if answer.get("answerable") else None
    for row in (analysis.results or {}).get("fragility", []):
        if flip_key(row) == key:
            return list(row["dropped_votes"])
    return None


def claim_dropped_votes(analysis: FragilityAnalysis) -> list[VoteContent]:
    """The votes whose removal overturns the claim, with their content: as the analysis
    stored them (engine 1.2.0 on), else looked up in the dataset's file."""
    answer = analysis.claim_answer or {}
    stored = answer.get("dropped_vote_details")
    if stored is not None:
        return [
            VoteContent(str(row["vote"]), row["model_a"], row["model_b"], row["winner"])
            for row in stored
        ]
    return votes_content(analysis.dataset, answer.get("dropped_votes") or [])


def analysis_context(
    analysis: FragilityAnalysis | None,
    *,
    pending: FragilityAnalysis | None,
    dataset: VoteDataset | None,
    claimed_model: str | None = None,
) -> dict[str, Any]:
    context: dict[str, Any] = {
        "analysis": analysis,
        "pending": pending,
        "pending_label": f"Analysis {pending.pk}" if pending is not None else "",
    }
    if analysis is None or not analysis.results:
        return context
    results = analysis.results
    n_used = results["fit"]["n_votes_used"]
    flips = [
        {
            **row,
            "key": flip_key(row),
            "words": flip_sentence(row, n_used),
            "share": f"{row['fraction']:.2%}" if row["fraction"] is not None else "",
        }
        for row in results["fragility"]
    ]
    return {
        **context,
        "results": results,
        "top_flips": [row for row in flips if row["kind"] == "top_k"],
        "adjacent_flips": [row for row in flips if row["kind"] == "adjacent"],
        "leaderboard": leaderboard_rows(results["scores"], results["fragility"]),
        "claimed_model": claimed_model,
        "has_votes_column": any("votes" in row for row in results["scores"]),
        # Built from numbers and escaped names only (see registry.charts).
        "chart": mark_safe(score_interval_svg(results["scores"], highlight=claimed_model)),
        "chart_compact": mark_safe(
            score_interval_svg(results["scores"], highlight=claimed_model, layout=COMPACT)
        ),
    }


def claim_context(claim: BenchmarkClaim) -> dict[str, Any]:
    """Everything the claim page shows: the verdict first, then the evidence for it."""
    analysis = selectors.latest_done_analysis(claim)
    answer = analysis.claim_answer if analysis is not None else None
    n_used = analysis.results["fit"]["n_votes_used"] if analysis and analysis.results else None
    # The names the analysis looks the releases up by (registry.analyses.claim_fragility).
    claimed_model = claim.model_label or claim.release.name
    compared_model = (
        claim.compared_label or claim.compared_release.name
        if claim.compared_release is not None
        else None
    )
    verdict = claim_verdict(answer, n_used) if analysis is not None else None
    context = {
        "claim": claim,
        "dataset": claim.dataset,
        "verdict": verdict,
        "verdict_class": _VERDICT_CLASSES.get(verdict.word, "") if verdict else "",
        "verdict_lines": verdict_lines(verdict, answer, n_used) if verdict else ("", ""),
        "answer": answer,
        "compared_model": compared_model,
        **analysis_context(
            analysis,
            pending=selectors.pending_analyses().filter(claim=claim).first(),
            dataset=claim.dataset,
            claimed_model=claimed_model,
        ),
    }
    if analysis is not None and answer and answer.get("dropped_votes"):
        context["dropped_votes"] = claim_dropped_votes(analysis)
    item_analysis = selectors.item_analysis_list().filter(claim=claim).first()
    if item_analysis is not None:
        item_analysis.claim = claim  # already loaded with its releases
        context["item_analysis"] = item_analysis
        context["item_words"] = item_verdict(item_analysis)
    return context
