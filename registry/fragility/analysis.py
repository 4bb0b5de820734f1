"""A *fragility analysis* of a pairwise leaderboard: scores, intervals and votes-to-flip.

:func:`analyze` is the single entry point used by the Django command, the Celery task and the
benchmarks; it returns a JSON-serialisable dict (schema: the README's "Result schema").
:class:`Arena` holds one fitted dataset for callers that ask several questions (the claim
endpoints: "X holds rank N", "X beats R").
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np

from registry.fragility._blas import single_threaded_blas
from registry.fragility.bradley_terry import (
    DEFAULT_RIDGE,
    FitSettings,
    check_mle_exists,
    choose_reference,
    fit_scores,
    rank_of,
    to_elo,
)
from registry.fragility.comparisons import Comparisons, build_comparisons
from registry.fragility.flips import FLIP_TOLERANCE, FlipOutcome, FlipSearch
from registry.fragility.uncertainty import (
    BootstrapResult,
    Intervals,
    bootstrap_intervals,
    rank_upper_bound,
    sandwich_intervals,
)
from registry.fragility.votes import (
    ColumnMapping,
    VoteFileError,
    VoteTable,
    WinnerValues,
    read_votes,
)

# 1.1.0: self-comparisons and exact duplicates are excluded and reported, not refused; models
# without votes are reported; the random-drop baseline draws votes directly.
ENGINE_VERSION = "1.2.0"
Progress = Callable[[int], None]
WINNER_LABELS = ("model_a", "model_b", "tie")


@dataclass(frozen=True)
class AnalysisOptions:
    """Everything that changes the result of :func:`analyze` (recorded with the result)."""

    file_format: str = "auto"
    columns: ColumnMapping | None = None
    winner_values: WinnerValues | None = None
    top_k: tuple[int, ...] = (1, 3, 5)
    bootstrap_rounds: int = 1000
    seed: int = 0
    budget: float = 0.01  # largest drop searched, as a fraction of the votes used
    ties: str = "half"
    adjacent_pairs: bool = True
    random_trials: int = 100
    random_fractions: tuple[float, ...] = (0.001, 0.01)
    influential_votes: int = 20
    extra: dict[str, object] = field(default_factory=dict)


class Arena:
    """One dataset, fitted once; answers fragility questions about its ranking."""

    @single_threaded_blas
    def __init__(self, votes: VoteTable, *, ties: str = "half", budget: float = 0.01) -> None:
        self.votes = votes
        self.comparisons: Comparisons = build_comparisons(votes, ties)
        if self.comparisons.n_used == 0 or self.comparisons.pair_i.shape[0] == 0:
            raise VoteFileError(
                "no votes remain to fit (only ties under --ties drop, or self-comparisons)"
            )
        self.existence = check_mle_exists(self.comparisons)
        ridge = 0.0 if self.existence.exists else DEFAULT_RIDGE
        self.settings = FitSettings(
            self.comparisons.n_models, choose_reference(self.comparisons), ridge
        )
        self.scores = fit_scores(self.comparisons, self.settings)
        # Rank order: best score first, ties broken by model name (the index order).
        self.order = np.lexsort((np.arange(self.scores.shape[0]), -self.scores))
        self.budget_votes = max(1, math.floor(budget * self.comparisons.n_used))

    @cached_property
    def search(self) -> FlipSearch:
        """The votes-to-flip search state (its linearisation is built on first use)."""
        return FlipSearch(self.comparisons, self.settings, self.scores, self.budget_votes)

    @classmethod
    def from_source(cls, source: bytes | str | Path, options: AnalysisOptions) -> Arena:
        """Read and fit a vote file (bytes of an upload, or a path)."""
        votes = read_votes(
            source,
            file_format=options.file_format,
            columns=options.columns,
            winner_values=options.winner_values,
        )
        return cls(votes, ties=options.ties, budget=options.budget)

    def model_index(self, name: str) -> int:
        """Index of a model by name; KeyError names the unknown model."""
        try:
            return self.comparisons.models.index(name)
        except ValueError:
            if name in self.comparisons.models_without_votes:
                raise KeyError(f"model {name!r} has no votes in the fit") from None
            raise KeyError(f"unknown model {name!r}") from None

    @single_threaded_blas
    def top_k_fragility(self, k: int) -> FlipOutcome | None:
        """Fewest votes found that change the set of the top k models (k=1: the leader)."""
        if not 1 <= k < self.comparisons.n_models:
            return None
        inside = [int(model) for model in self.order[:k]]
        outside = [int(model) for model in self.order[k:]]

        def set_changed(scores: np.ndarray) -> bool:
            # Some outsider now clearly above some insider (a tie is not a change).
            return bool(scores[inside].min() < scores[outside].max() - FLIP_TOLERANCE)

        return self.search.best_over_pairs([(m, c) for m in inside for c in outside], set_changed)

    @single_threaded_blas
    def adjacent_fragility(self, position: int) -> FlipOutcome:
        """Fewest votes found that swap the models at ranks ``position`` and ``position + 1``."""
        return self.search.search_pair(int(self.order[position - 1]), int(self.order[position]))

    @single_threaded_blas
    def beats(self, model: str, rival: str) -> FlipOutcome:
        """Claim "model beats rival": votes to put the rival above (gap_before < 0: already not)."""
        winner, loser = self.model_index(model), self.model_index(rival)
        if self.scores[winner] <= self.scores[loser]:
            return FlipOutcome(winner, loser, float(self.scores[winner] - self.scores[loser]))
        return self.search.search_pair(winner, loser)

    @single_threaded_blas
    def holds_rank(self, model: str, rank: int) -> FlipOutcome:
        """Claim "model holds rank N (or better)": votes to push it below rank N."""
        index = self.model_index(model)
        ranks = rank_of(self.scores)
        others = [int(m) for m in self.order if m != index]
        if ranks[index] > rank or rank >= self.comparisons.n_models:
            # Already false, or vacuous (nobody can rank below the last place).
            return FlipOutcome(index, index, 0.0)

        def broken(scores: np.ndarray) -> bool:
            clearly_above = np.sum(scores > scores[index] + FLIP_TOLERANCE)
            return int(clearly_above) >= rank

        def target(scores: np.ndarray) -> tuple[int, int]:
            # The model that, by overtaking, completes the N models above ours.
            ranked_others = sorted(others, key=lambda m: -scores[m])
            return index, ranked_others[rank - 1]

        if ranks[index] == rank:  # one overtaking suffices: try every model below
            below = [m for m in others if ranks[m] > rank]
            best = self.search.best_over_pairs([(index, m) for m in below], broken)
            if best is not None:
                return best
        return self.search.search(target, broken)

    def dropped_vote_ids(self, outcome: FlipOutcome) -> list[int | str]:
        """Identifiers (positions or ids) of the dropped votes, in file order."""
        return [self.votes.vote_id(int(index)) for index in self._dropped_indices(outcome)]

    def dropped_vote_rows(self, outcome: FlipOutcome) -> list[dict[str, object]]:
        """The dropped votes with their content (pair and winner), in file order."""
        return [self._vote_content(int(index)) for index in self._dropped_indices(outcome)]

    def _dropped_indices(self, outcome: FlipOutcome) -> np.ndarray:
        if outcome.dropped_per_type is None:
            return np.empty(0, dtype=np.int64)
        return np.sort(
            np.concatenate(
                [
                    self.comparisons.votes_of_type(int(vote_type), int(count))
                    for vote_type, count in enumerate(outcome.dropped_per_type)
                    if count > 0
                ]
            )
        )

    @single_threaded_blas
    def random_drop_rate(self, fraction: float, trials: int, seed: int) -> dict[str, object]:
        """How often dropping a uniformly random ``fraction`` of votes changes the top-1."""
        generator = np.random.default_rng(seed)
        counts = self.comparisons.type_count
        n_dropped = max(1, round(fraction * self.comparisons.n_used))
        leader = int(self.order[0])
        changed = skipped = 0
        for _ in range(trials):
            dropped = random_drop_counts(generator, counts, n_dropped)
            if (
                self.settings.ridge == 0.0
                and not check_mle_exists(self.comparisons, counts - dropped).exists
            ):
                skipped += 1  # the unpenalised refit would have infinite scores
                continue
            changed += int(np.argmax(self.search.refit(dropped)) != leader)
        evaluated = trials - skipped
        return {
            "fraction": fraction,
            "votes_dropped": n_dropped,
            "trials": evaluated,
            "trials_skipped_no_mle": skipped,
            "top1_changed": changed,
            "rate": changed / evaluated if evaluated else None,
        }

    @single_threaded_blas
    def most_influential_votes(self, limit: int) -> list[dict[str, object]]:
        """Votes whose removal most narrows the gap between the leader and the runner-up."""
        if self.comparisons.n_models < 2 or limit <= 0:
            return []
        leader, runner_up = int(self.order[0]), int(self.order[1])
        influence = self.search.base.gap_influence(leader, runner_up)
        rows: list[dict[str, object]] = []
        for vote_type in np.argsort(influence, kind="stable"):
            if influence[vote_type] >= 0 or len(rows) >= limit:
                break
            count = min(int(self.comparisons.type_count[vote_type]), limit - len(rows))
            for index in self.comparisons.votes_of_type(int(vote_type), count):
                rows.append(self._vote_row(int(index), float(influence[vote_type])))
        return rows

    def _vote_row(self, index: int, influence: float) -> dict[str, object]:
        return {**self._vote_content(index), "gap_change": influence}

    def _vote_content(self, index: int) -> dict[str, object]:
        votes = self.votes
        return {
            "vote": votes.vote_id(index),
            "model_a": votes.models[votes.model_a[index]],
            "model_b": votes.models[votes.model_b[index]],
            "winner": WINNER_LABELS[int(votes.outcome[index])],
        }


def random_drop_counts(
    generator: np.random.Generator, counts: np.ndarray, n_dropped: int
) -> np.ndarray:
    """Per-type counts of ``n_dropped`` votes drawn uniformly without replacement.

    The same distribution as ``generator.multivariate_hypergeometric(counts, n_dropped)``, but
    O(n_dropped log types) instead of O(types) Python-level work per draw: with 60,000 vote
    types that is 12 ms against 1 ms, times 200 draws in the default baseline.
    """
    positions = generator.choice(int(counts.sum()), size=n_dropped, replace=False)
    types = np.searchsorted(np.cumsum(counts), positions, side="right")
    return np.bincount(types, minlength=counts.shape[0])


@single_threaded_blas
def analyze(
    source: bytes | str | Path | VoteTable,
    options: AnalysisOptions | None = None,
    progress: Progress | None = None,
) -> dict[str, object]:
    """Full fragility analysis of a vote file; see the README's "Result schema"."""
    options = options or AnalysisOptions()
    report = progress or (lambda _percent: None)
    timings: dict[str, float] = {}
    started = time.perf_counter()
    if isinstance(source, VoteTable):
        arena = Arena(source, ties=options.ties, budget=options.budget)
    else:
        arena = Arena.from_source(source, options)
    timings["read_and_fit"] = time.perf_counter() - started
    report(5)
    intervals = sandwich_intervals(arena.comparisons, arena.scores)
    bootstrap = _bootstrap(arena, options, report)
    timings["intervals"] = time.perf_counter() - started - timings["read_and_fit"]
    mark = time.perf_counter()
    fragility = _fragility_rows(arena, options, report)
    timings["votes_to_flip"] = time.perf_counter() - mark
    mark = time.perf_counter()
    baseline = [
        arena.random_drop_rate(fraction, options.random_trials, options.seed)
        for fraction in options.random_fractions
    ]
    timings["random_drop_baseline"] = time.perf_counter() - mark
    report(100)
    return {
        "engine_version": ENGINE_VERSION,
        "dataset": _dataset_section(arena),
        "fit": _fit_section(arena, options),
        "scores": _score_rows(arena, intervals, bootstrap),
        "fragility": fragility,
        "random_drop_baseline": baseline,
        "most_influential_votes": arena.most_influential_votes(options.influential_votes),
        "timings_seconds": {name: round(value, 4) for name, value in timings.items()},
    }


def _bootstrap(arena: Arena, options: AnalysisOptions, report: Progress) -> BootstrapResult | None:
    if options.bootstrap_rounds <= 0:
        return None
    return bootstrap_intervals(
        arena.comparisons,
        arena.settings,
        arena.scores,
        rounds=options.bootstrap_rounds,
        seed=options.seed,
        progress=lambda percent: report(5 + percent * 55 // 100),
    )


def _dataset_section(arena: Arena) -> dict[str, object]:
    votes = arena.votes
    self_comparisons = votes.self_comparisons.tolist()
    duplicates = votes.naming.duplicates.tolist()
    return {
        "sha256": votes.sha256,
        "format": votes.file_format,
        "n_votes": votes.n_votes,
        "n_models": len(votes.models),
        "n_ties": int(np.sum(votes.outcome == 2)),
        "vote_ids": votes.naming.scheme,
        "n_self_comparisons": len(self_comparisons),
        "self_comparison_votes": [votes.vote_id(index) for index in self_comparisons],
        "n_duplicates": len(duplicates),
        "duplicate_votes": [
            {"vote": votes.vote_id(index), "record": index + 1, "repeats_record": earlier + 1}
            for index, earlier in zip(duplicates, votes.naming.duplicate_of.tolist(), strict=True)
        ],
        "n_excluded": votes.n_votes - int(np.count_nonzero(votes.usable)),
    }


def _fit_section(arena: Arena, options: AnalysisOptions) -> dict[str, object]:
    models = arena.comparisons.models
    return {
        "tie_handling": options.ties,
        "n_votes_used": arena.comparisons.n_used,
        "models_without_votes": list(arena.comparisons.models_without_votes),
        "reference_model": models[arena.settings.reference],
        "mle_exists": arena.existence.exists,
        "mle_problem": arena.existence.problem or None,
        "mle_problem_models": [models[m] for m in arena.existence.problem_models],
        "ridge": arena.settings.ridge,
        "gradient_tolerance": 1e-9,
        "budget_votes": arena.budget_votes,
        "bootstrap_rounds": options.bootstrap_rounds,
        "seed": options.seed,
    }


def _score_rows(
    arena: Arena, intervals: Intervals, bootstrap: BootstrapResult | None
) -> list[dict[str, object]]:
    scores, models = arena.scores, arena.comparisons.models
    ranks = rank_of(scores)
    rank_ub = rank_upper_bound(intervals)
    # Elo is an elementwise affine map, so converting whole vectors once gives the same numbers.
    elo, elo_low, elo_high = to_elo(scores), to_elo(intervals.low), to_elo(intervals.high)
    if bootstrap is not None:
        boot_low, boot_high = to_elo(bootstrap.scores.low), to_elo(bootstrap.scores.high)
    problem = set(arena.existence.problem_models)
    votes = arena.comparisons.votes_per_model()
    rows = []
    for model in arena.order.tolist():
        row: dict[str, object] = {
            "model": models[model],
            "score": _number(scores[model]),
            "elo": _number(elo[model]),
            "ci_low": _number(elo_low[model]),
            "ci_high": _number(elo_high[model]),
            "rank": int(ranks[model]),
            "rank_ub": int(rank_ub[model]),
            "votes": int(np.rint(votes[model])),
            "ridge_dependent": model in problem,
        }
        if bootstrap is not None:
            row["bootstrap_ci_low"] = _number(boot_low[model])
            row["bootstrap_ci_high"] = _number(boot_high[model])
            row["rank_low"] = int(bootstrap.rank_low[model])
            row["rank_high"] = int(bootstrap.rank_high[model])
        rows.append(row)
    return rows


def _fragility_rows(
    arena: Arena, options: AnalysisOptions, report: Progress
) -> list[dict[str, object]]:
    rows = []
    for k in sorted(set(options.top_k)):
        outcome = arena.top_k_fragility(k)
        if outcome is not None:
            rows.append(fragility_row(arena, outcome, kind="top_k", k=k))
    report(70)
    if options.adjacent_pairs:
        n_pairs = arena.comparisons.n_models - 1
        for position in range(1, n_pairs + 1):
            outcome = arena.adjacent_fragility(position)
            rows.append(fragility_row(arena, outcome, kind="adjacent", k=position))
            report(70 + 25 * position // n_pairs)
    return rows


def fragility_row(arena: Arena, outcome: FlipOutcome, *, kind: str, k: int) -> dict[str, object]:
    """One JSON fragility line (schema in README.md, "Result schema")."""
    models = arena.comparisons.models
    votes_to_flip = outcome.votes_to_flip
    found = votes_to_flip is not None
    problem = set(arena.existence.problem_models)
    return {
        "kind": kind,
        "k": k,
        "pair": [models[outcome.winner], models[outcome.loser]],
        "challenger": models[outcome.loser],
        "votes_to_flip": votes_to_flip,
        "fraction": votes_to_flip / arena.comparisons.n_used if votes_to_flip is not None else None,
        "dropped_votes": arena.dropped_vote_ids(outcome),
        "gap_before": _number(outcome.gap_before),
        "gap_after": _number(outcome.gap_after) if found else None,
        "verified": found,
        "budget_exhausted": not found,
        "certified_robust": False,
        "ridge_dependent": bool(problem & {outcome.winner, outcome.loser}),
    }


def _number(value: float | np.floating | None) -> float | None:
    """A plain float for JSON; None for a missing or non-finite value (never inf/nan)."""
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None
