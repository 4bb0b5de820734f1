"""Votes-to-flip: the fewest votes whose removal changes a Bradley-Terry ranking claim.

Method (Huang, Shen, Wei & Broderick 2025, "Dropping Just a Handful of Preferences Can Change
Top Large Language Model Rankings", arXiv 2508.11847; after Broderick, Giordano & Meager's
AMIP): for a score gap ``v . theta`` (v = e_winner - e_loser), the one-step Newton change from
dropping one vote of type t, with the leverage (Sherman-Morrison) correction, is

    delta_t = -(y_t - p_t) * v' H^-1 x_t / (1 - w_t * x_t' H^-1 x_t),

where x_t = e_i - e_j, p_t = sigmoid(x_t' theta), w_t = p_t (1 - p_t) and H is the observed
information. Votes are taken most harmful first until the linear prediction crosses zero; the
candidate set is then **verified by an exact refit** (gradient norm <= 1e-9). If the refit does
not flip, the problem is re-linearised at the refit and more votes are added; once a flip is
found, a bisection over the prefix length shrinks the set. The answer is therefore an upper
bound on the true minimum, never a certificate of robustness.

Drop sets that would make the maximum likelihood estimate cease to exist (a model left without
any loss) are excluded: the "flip" would rest on an infinite score.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from registry.fragility.bradley_terry import (
    FitSettings,
    check_mle_exists,
    fit_scores,
    gradient_and_hessian,
)
from registry.fragility.comparisons import Comparisons

MAX_RELINEARISATIONS = 30
PARTIAL_SORT_SIZE = 2048
# A refit must put the challenger ahead by more than this (logits) to count: an exact tie after
# dropping votes (common on tiny data) is not a flip, and 1e-7 is far above the fit's precision.
FLIP_TOLERANCE = 1e-7
EXHAUSTIVE_LIMIT = 4000  # refits an exhaustive search may spend on a tiny dataset
EXHAUSTIVE_WORK_LIMIT = 200_000  # refits x vote types: keeps certification well under a second
MAX_CANDIDATE_PAIRS = 64
MAX_EXACT_SEARCHES_PER_CLAIM = 8
# Predicate on refitted scores: True when the claim no longer holds.
ClaimBroken = Callable[[np.ndarray], bool]


@dataclass
class FlipOutcome:
    """A verified drop set (or the lack of one within the budget) for one pair of models."""

    winner: int
    loser: int
    gap_before: float
    dropped_per_type: np.ndarray | None = None  # counts per vote type, None when not found
    gap_after: float | None = None
    scores_after: np.ndarray | None = field(default=None, repr=False)
    # True when an exhaustive search proved no smaller drop set flips (or, with no drop set,
    # that none within the budget does): only possible when the search space is small.
    certified_minimal: bool = False

    @property
    def votes_to_flip(self) -> int | None:
        """Number of dropped votes, None when no flip was found within the budget."""
        return None if self.dropped_per_type is None else int(self.dropped_per_type.sum())


class Linearisation:
    """Per-vote-type influence on score gaps at one fit (scores and remaining counts)."""

    def __init__(
        self,
        comparisons: Comparisons,
        settings: FitSettings,
        scores: np.ndarray,
        counts: np.ndarray,
    ) -> None:
        totals, points = comparisons.pair_totals(counts)
        _, information = gradient_and_hessian(scores, comparisons, totals, points)
        free = np.ones(settings.n_models, dtype=bool)
        if settings.ridge == 0.0:
            free[settings.reference] = False
        information = information[np.ix_(free, free)]
        information[np.diag_indices_from(information)] += settings.ridge
        inverse_free = np.linalg.inv(information)
        self.covariance = np.zeros((settings.n_models, settings.n_models))
        self.covariance[np.ix_(free, free)] = inverse_free  # H^-1, zero on the fixed reference
        low = comparisons.pair_i[comparisons.type_pair]
        high = comparisons.pair_j[comparisons.type_pair]
        self.low, self.high = low, high
        probability = 1.0 / (1.0 + np.exp(scores[high] - scores[low]))
        diagonal = np.diag(self.covariance)
        leverage = (
            probability
            * (1 - probability)
            * (diagonal[low] + diagonal[high] - 2 * self.covariance[low, high])
        )
        # Dropping a vote of type t moves theta by -(y - p) H_{-t}^{-1} x_t (one Newton step).
        self.per_type_factor = -(comparisons.type_outcome - probability) / (1.0 - leverage)

    def gap_influence(self, winner: int, loser: int) -> np.ndarray:
        """Linear change of (theta_winner - theta_loser) when one vote of each type is dropped."""
        direction = self.covariance[:, winner] - self.covariance[:, loser]  # H^-1 v
        return self.per_type_factor * (direction[self.low] - direction[self.high])

    def gap_standard_error(self, winner: int, loser: int) -> float:
        """Model-based standard error of the gap, used only to order candidate pairs."""
        c = self.covariance
        return float(
            np.sqrt(max(c[winner, winner] + c[loser, loser] - 2 * c[winner, loser], 1e-300))
        )


def harmful_order(influence: np.ndarray, available: np.ndarray, margin: float) -> np.ndarray:
    """Vote types that narrow the gap, most harmful first (ties by type index).

    A full sort of ~60,000 types per step dominated adjacent-pair searches, so the types whose
    votes could cover the margin are found by partial sort first; a full sort is the fallback.
    """
    harmful = np.flatnonzero((influence < 0) & (available > 0))
    if harmful.shape[0] > PARTIAL_SORT_SIZE:
        head = np.argpartition(influence[harmful], PARTIAL_SORT_SIZE)[:PARTIAL_SORT_SIZE]
        head = harmful[head]
        head = head[np.lexsort((head, influence[head]))]
        if np.sum(-influence[head] * available[head]) > margin:
            return head
    return harmful[np.lexsort((harmful, influence[harmful]))]


def linear_votes_needed(influence: np.ndarray, available: np.ndarray, margin: float) -> float:
    """Fewest votes (most harmful first) whose summed linear influence exceeds ``margin``."""
    order = harmful_order(influence, available, margin)
    reduction = np.cumsum(-influence[order] * available[order])
    reached = np.searchsorted(reduction, margin, side="right")
    if reached >= order.shape[0]:
        return float("inf")
    before = reduction[reached - 1] if reached else 0.0
    return float(
        available[order[:reached]].sum() + np.ceil((margin - before) / -influence[order[reached]])
    )


class FlipSearch:
    """Votes-to-flip searches on one dataset, sharing the full fit and its linearisation."""

    def __init__(
        self, comparisons: Comparisons, settings: FitSettings, scores: np.ndarray, budget_votes: int
    ) -> None:
        self.comparisons = comparisons
        self.settings = settings
        self.scores = scores
        self.budget_votes = budget_votes
        self.mle_exists = check_mle_exists(comparisons).exists
        self.base = Linearisation(comparisons, settings, scores, comparisons.type_count)

    def refit(self, dropped: np.ndarray, start: np.ndarray | None = None) -> np.ndarray:
        """Exact refit without the dropped votes (counts per type)."""
        counts = self.comparisons.type_count - dropped
        return fit_scores(
            self.comparisons, self.settings, counts, self.scores if start is None else start
        )

    def estimate(self, winner: int, loser: int) -> float:
        """Linear-approximation votes needed to put ``loser`` above ``winner`` (for ordering)."""
        margin = self.scores[winner] - self.scores[loser]
        influence = self.base.gap_influence(winner, loser)
        return linear_votes_needed(influence, self.comparisons.type_count, margin)

    def best_over_pairs(
        self, pairs: list[tuple[int, int]], broken: ClaimBroken | None = None
    ) -> FlipOutcome | None:
        """The smallest verified flip among candidate (winner, loser) pairs.

        Pairs are screened by the gap's z-score, then searched exactly in order of their linear
        estimate (at most MAX_EXACT_SEARCHES_PER_CLAIM of them). Estimates only order the work:
        on small data they can be off several-fold, so no pair is skipped because of one.
        """
        if not pairs:
            return None
        if len(pairs) > MAX_CANDIDATE_PAIRS:
            pairs = sorted(
                pairs,
                key=lambda pair: (
                    (self.scores[pair[0]] - self.scores[pair[1]])
                    / self.base.gap_standard_error(*pair)
                ),
            )[:MAX_CANDIDATE_PAIRS]
        ordered = sorted(pairs, key=lambda pair: (self.estimate(*pair), pair))
        best: FlipOutcome | None = None
        for pair in ordered[:MAX_EXACT_SEARCHES_PER_CLAIM]:
            best_count = best.votes_to_flip if best is not None else None
            outcome = self.search_pair(*pair, broken=broken, limit=best_count, exhaustive=False)
            if best is None or _better(outcome, best):
                best = outcome
        return self._certify(best, pairs, broken) if broken is not None else best

    def _certify(
        self, best: FlipOutcome | None, pairs: list[tuple[int, int]], broken: ClaimBroken
    ) -> FlipOutcome | None:
        """On tiny data, replace the greedy answer by the exhaustive minimum of the claim."""
        found = best.votes_to_flip if best is not None else None
        largest_smaller = self.budget_votes if found is None else found - 1
        if best is None or not self._exhaustive_is_small(largest_smaller):
            return best
        best.certified_minimal = True
        exact = self._exhaustive(broken, largest_smaller)
        if exact is None:
            return best
        dropped, scores = exact
        # Name the pair that actually crossed, the furthest crossing among the candidates.
        winner, loser = max(
            (pair for pair in pairs if scores[pair[1]] > scores[pair[0]] + FLIP_TOLERANCE),
            key=lambda pair: scores[pair[1]] - scores[pair[0]],
        )
        return FlipOutcome(
            winner,
            loser,
            float(self.scores[winner] - self.scores[loser]),
            dropped,
            float(scores[winner] - scores[loser]),
            scores,
            True,
        )

    def search_pair(
        self,
        winner: int,
        loser: int,
        *,
        broken: ClaimBroken | None = None,
        limit: int | None = None,
        exhaustive: bool = True,
    ) -> FlipOutcome:
        """Fewest votes found whose removal puts ``loser`` strictly above ``winner``."""

        def flipped(scores: np.ndarray) -> bool:
            if scores[loser] <= scores[winner] + FLIP_TOLERANCE:
                return False
            return broken(scores) if broken is not None else True

        return self.search(
            lambda _scores: (winner, loser), flipped, limit=limit, exhaustive=exhaustive
        )

    def search(
        self,
        target: Callable[[np.ndarray], tuple[int, int]],
        flipped: ClaimBroken,
        *,
        limit: int | None = None,
        exhaustive: bool = True,
    ) -> FlipOutcome:
        """Generic search: ``target(scores)`` names the gap to close at the current fit.

        For a fixed pair the target never changes; for "X holds rank N" it is X against
        whichever model must overtake X next.
        """
        winner, loser = target(self.scores)
        outcome = FlipOutcome(winner, loser, float(self.scores[winner] - self.scores[loser]))
        budget = self.budget_votes if limit is None else min(self.budget_votes, limit)
        grown = self._grow_until_flip(target, flipped, budget)
        found = None if grown is None else self._shortest_prefix(*grown, flipped)
        largest_smaller = budget if found is None else int(found[0].sum()) - 1
        if exhaustive and self._exhaustive_is_small(largest_smaller):
            exact = self._exhaustive(flipped, largest_smaller)
            found = exact if exact is not None else found
            outcome.certified_minimal = True
        if found is None:
            return outcome
        dropped, scores = found
        outcome.dropped_per_type = dropped
        outcome.scores_after = scores
        outcome.gap_after = float(scores[winner] - scores[loser])
        return outcome

    def _grow_until_flip(
        self, target: Callable[[np.ndarray], tuple[int, int]], flipped: ClaimBroken, budget: int
    ) -> tuple[np.ndarray, np.ndarray] | None:
        """(vote types in drop order, one entry per vote; refitted scores), or None.

        The full sequence is verified to flip by the refit whose scores are returned.
        """
        counts = self.comparisons.type_count
        cap = counts.copy()  # how many votes of each type may be dropped
        dropped = np.zeros_like(counts)
        sequence: list[np.ndarray] = []
        scores, linear = self.scores, self.base
        for _ in range(MAX_RELINEARISATIONS):
            winner, loser = target(scores)
            margin = float(scores[winner] - scores[loser])
            influence = linear.gap_influence(winner, loser)
            step = _most_harmful(influence, cap - dropped, margin, budget - int(dropped.sum()))
            if step is None:
                return None
            emptied = (counts - dropped - step == 0) & (step > 0)
            # Only emptying a vote type can remove a graph edge and break Ford's condition.
            if (
                self.mle_exists
                and emptied.any()
                and not check_mle_exists(self.comparisons, counts - dropped - step).exists
            ):
                protect = self._edges_to_keep(counts - dropped, np.flatnonzero(emptied))
                cap[protect] = counts[protect] - 1  # keep one vote of each, then try again
                continue
            dropped = dropped + step
            sequence.append(np.repeat(np.flatnonzero(step), step[step > 0]))
            scores = self.refit(dropped, scores)
            if flipped(scores):
                return np.concatenate(sequence), scores
            linear = Linearisation(self.comparisons, self.settings, scores, counts - dropped)
        return None

    def _edges_to_keep(self, remaining: np.ndarray, emptied: np.ndarray) -> np.ndarray:
        """Types whose emptying alone breaks Ford's condition (all of them if none does alone)."""
        breaking = []
        for vote_type in emptied.tolist():
            trial = remaining.copy()
            trial[vote_type] = 0
            if not check_mle_exists(self.comparisons, trial).exists:
                breaking.append(vote_type)
        return np.array(breaking, dtype=np.int64) if breaking else emptied

    def _exhaustive_is_small(self, max_votes: int) -> bool:
        """Whether every drop set up to ``max_votes`` can be refitted within the work limits.

        A refit costs about one pass over the vote types, so the work is bounded by
        (number of multisets) x (number of types), not by the multiset count alone.
        """
        n_types = self.comparisons.type_count.shape[0]
        total = sum(math.comb(n_types + size - 1, size) for size in range(1, max_votes + 1))
        return total <= EXHAUSTIVE_LIMIT and total * n_types <= EXHAUSTIVE_WORK_LIMIT

    def _exhaustive(
        self, flipped: ClaimBroken, max_votes: int
    ) -> tuple[np.ndarray, np.ndarray] | None:
        """Every multiset of at most ``max_votes`` votes, smallest first, each refitted exactly.

        Votes of one type are interchangeable, so multisets of types cover all drop sets.
        """
        counts = self.comparisons.type_count
        for size in range(1, max_votes + 1):
            for combination in itertools.combinations_with_replacement(
                range(counts.shape[0]), size
            ):
                dropped = np.bincount(combination, minlength=counts.shape[0])
                if (dropped > counts).any() or (
                    self.mle_exists
                    and not check_mle_exists(self.comparisons, counts - dropped).exists
                ):
                    continue
                scores = self.refit(dropped)
                if flipped(scores):
                    return dropped, scores
        return None

    def _shortest_prefix(
        self, sequence: np.ndarray, high_scores: np.ndarray, flipped: ClaimBroken
    ) -> tuple[np.ndarray, np.ndarray]:
        """Bisection on the prefix length; the full sequence flips, with ``high_scores``."""
        n_types = self.comparisons.type_count.shape[0]

        def prefix(length: int) -> np.ndarray:
            return np.bincount(sequence[:length], minlength=n_types)

        high = sequence.shape[0]
        low = 0
        # The linear prediction is usually right, so test one vote fewer before bisecting.
        candidate_lengths = [high - 1]
        while high - low > 1:
            length = candidate_lengths.pop() if candidate_lengths else (low + high) // 2
            scores = self.refit(prefix(length), high_scores)
            if flipped(scores):
                high, high_scores = length, scores
            else:
                low = length
        return prefix(high), high_scores


def _most_harmful(
    influence: np.ndarray, available: np.ndarray, margin: float, budget_left: int
) -> np.ndarray | None:
    """Counts per type of the most harmful votes predicted to overturn ``margin`` (>= 1 vote)."""
    needed = linear_votes_needed(influence, available, margin)
    if budget_left <= 0:
        return None
    if not np.isfinite(needed):
        # Even every harmful vote is not predicted to suffice: take them all (within budget),
        # the refit and re-linearisation decide.
        needed = float(available[influence < 0].sum())
    take = int(min(max(needed, 1.0), budget_left))
    order = harmful_order(influence, available, margin)
    if order.shape[0] == 0:
        return None
    taken = np.minimum(
        available[order],
        np.maximum(take - np.concatenate(([0], np.cumsum(available[order])[:-1])), 0),
    )
    step = np.zeros_like(available)
    step[order] = taken
    return step


def _better(candidate: FlipOutcome, incumbent: FlipOutcome) -> bool:
    if candidate.votes_to_flip is None:
        return False
    return incumbent.votes_to_flip is None or candidate.votes_to_flip < incumbent.votes_to_flip
