"""One reading of an analysis result for every reader: the pages, the CLI and the report
builder say the same thing in the same words. Pure (no Django), like the engine.

A *fragile* claim is one for which the engine found, and an exact refit confirmed, a set
of dropped votes within its search budget that overturns it; *robust within the search
budget* means none was found, which is not a certificate (the AMIP search of Broderick,
Giordano and Meager, and Huang, Shen, Wei and Broderick, arXiv 2508.11847, gives upper
bounds only).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from registry.fragility.schema import ClaimAnswer, FragilityRow, ScoreRow

NOT_AVAILABLE = "not available"


def flip_sentence(row: FragilityRow | Mapping[str, Any], n_used: int) -> str:
    """One fragility line in words: what changes, and how many votes it takes."""
    winner, challenger = row["pair"]
    label = f"top-{row['k']}" if row["kind"] == "top_k" else f"rank {row['k']} vs {row['k'] + 1}"
    if row["votes_to_flip"] is None:
        return (
            f"{label}: no flip within the budget; {winner} stays above {challenger} as far"
            " as searched (robustness not certified)"
        )
    count = int(row["votes_to_flip"])
    share = f" ({row['fraction']:.2%})" if row.get("fraction") is not None else ""
    return (
        f"{label}: dropping {count:,} of {n_used:,} votes{share} puts {challenger} above {winner}"
    )


@dataclass(frozen=True)
class Verdict:
    """A claim's verdict: a short word for tables, a sentence for pages and reports."""

    word: str
    sentence: str
    votes_to_flip: int | None = None
    fraction: float | None = None


def claim_verdict(answer: ClaimAnswer | Mapping[str, Any] | None, n_used: int | None) -> Verdict:
    """What the analysis says of the claim itself."""
    if answer is None:
        return Verdict("not analysed", "No finished fragility analysis answers this claim yet.")
    if not answer.get("answerable"):
        reason = answer.get("reason", "unknown reason")
        return Verdict(f"not answerable: {reason}", f"Not answered: {reason}.")
    if not answer.get("holds_on_full_data"):
        return Verdict(
            "does not hold on the full data", "The claim does not hold even on the full data."
        )
    votes, fraction = answer.get("votes_to_flip"), answer.get("fraction")
    if votes is None or not answer.get("verified"):
        return Verdict(
            "robust within the search budget",
            "No flip found within the search budget. This is not a certificate of "
            "robustness: the method finds upper bounds.",
        )
    used = f" of {n_used:,}" if n_used is not None else ""
    share = f" ({fraction:.2%})" if fraction is not None else ""
    return Verdict(
        "fragile",
        f"Dropping {votes:,}{used} votes{share} overturns the claim: {answer.get('challenger')} "
        f"overtakes {answer.get('model')} (verified by refitting).",
        votes,
        fraction,
    )


def interval_bounds(row: ScoreRow | Mapping[str, Any]) -> tuple[float, float]:
    """The 95% interval to draw: the score itself at both ends when it is not available."""
    elo = float(row["elo"] or 0.0)
    low, high = row.get("ci_low"), row.get("ci_high")
    if low is None or high is None:
        return elo, elo
    return float(low), float(high)


def interval_text(low: float | None, high: float | None, *, digits: int = 1) -> str:
    if low is None or high is None:
        return NOT_AVAILABLE
    return f"{low:.{digits}f} \u2013 {high:.{digits}f}"  # an en dash between the bounds


def score_rows(scores: Sequence[ScoreRow | Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Leaderboard rows with their intervals as text ("not available" when null)."""
    return [
        {
            **row,
            "interval": interval_text(row.get("ci_low"), row.get("ci_high")),
            "bootstrap_interval": interval_text(
                row.get("bootstrap_ci_low"), row.get("bootstrap_ci_high")
            )
            if "bootstrap_ci_low" in row
            else "",
        }
        for row in scores
    ]


def interval_offsets(row: ScoreRow | Mapping[str, Any], *, digits: int = 1) -> str:
    """The 95% interval as LMArena prints it, relative to the score: "+4.1/-3.9"."""
    elo, low, high = row.get("elo"), row.get("ci_low"), row.get("ci_high")
    if elo is None or low is None or high is None:
        return NOT_AVAILABLE
    return f"+{high - elo:.{digits}f}/\u2212{elo - low:.{digits}f}"  # a real minus sign


@dataclass(frozen=True)
class LeaderboardRow:
    """One model in the leaderboard, with the search for its pair with the model below."""

    rank: int
    rank_ub: int
    model: str
    elo: float | None
    interval: str
    interval_text: str
    votes: int | None
    ridge_dependent: bool
    next_model: str | None
    pair_position: int | None  # k of the adjacent search "rank k vs k + 1"
    votes_to_flip: int | None
    flip_verified: bool
    pair_searched: bool


def leaderboard_rows(
    scores: Sequence[ScoreRow | Mapping[str, Any]],
    fragility: Sequence[FragilityRow | Mapping[str, Any]],
) -> list[LeaderboardRow]:
    """The leaderboard as LMArena shows it (rank (UB), model, score, 95% CI, votes), each
    model with the fewest votes found that put the model ranked below it above it."""
    adjacent = {row["pair"][0]: row for row in fragility if row["kind"] == "adjacent"}
    rows = []
    for score in scores:
        pair = adjacent.get(score["model"])
        rows.append(
            LeaderboardRow(
                rank=int(score["rank"]),
                rank_ub=int(score["rank_ub"]),
                model=str(score["model"]),
                elo=score.get("elo"),
                interval=interval_offsets(score),
                interval_text=interval_text(score.get("ci_low"), score.get("ci_high")),
                votes=score.get("votes"),
                ridge_dependent=bool(score.get("ridge_dependent")),
                next_model=pair["pair"][1] if pair else None,
                pair_position=int(pair["k"]) if pair else None,
                votes_to_flip=pair["votes_to_flip"] if pair else None,
                flip_verified=bool(pair and pair["verified"]),
                pair_searched=pair is not None,
            )
        )
    return rows


def winner_words(model_a: str, model_b: str, outcome: str) -> str:
    """Who won one vote, in words: "model A won", never the bare column value."""
    if outcome == "tie":
        return "Tie"
    return f"{model_a if outcome == 'model_a' else model_b} won"
