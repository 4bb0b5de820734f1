"""Sandwich and bootstrap intervals, rank bounds."""

from __future__ import annotations

import numpy as np
from scipy import stats

from registry.fragility import Arena, VoteTable
from registry.fragility.uncertainty import (
    Intervals,
    bootstrap_intervals,
    rank_upper_bound,
    sandwich_intervals,
)


def per_vote_sandwich_widths(votes: VoteTable, scores: np.ndarray) -> np.ndarray:
    """arena-rank's definition evaluated vote by vote (no aggregation), as an oracle."""
    n_models = len(votes.models)
    y = np.select([votes.outcome == 0, votes.outcome == 1], [1.0, 0.0], 0.5)
    design = np.zeros((votes.n_votes, n_models))
    design[np.arange(votes.n_votes), votes.model_a] = 1.0
    design[np.arange(votes.n_votes), votes.model_b] = -1.0
    p = 1.0 / (1.0 + np.exp(-(design @ scores)))
    hessian = (design * (p * (1 - p))[:, None]).T @ design + 1e-5 * votes.n_votes * np.eye(n_models)
    gradients = design * (y - p)[:, None]
    bread = np.linalg.inv(hessian)
    covariance = bread @ (gradients.T @ gradients) @ bread
    return stats.norm.ppf(0.975) * np.sqrt(np.diag(covariance))


def test_sandwich_widths_match_the_per_vote_definition(arena_votes: VoteTable) -> None:
    arena = Arena(arena_votes)
    intervals = sandwich_intervals(arena.comparisons, arena.scores)
    expected = per_vote_sandwich_widths(arena_votes, arena.scores)
    assert np.allclose((intervals.high - intervals.low) / 2, expected, rtol=1e-9, atol=1e-12)
    assert np.allclose((intervals.high + intervals.low) / 2, arena.scores)


def test_bootstrap_is_reproducible_for_a_seed_and_varies_across_seeds(
    arena_votes: VoteTable,
) -> None:
    arena = Arena(arena_votes)
    runs = [
        bootstrap_intervals(arena.comparisons, arena.settings, arena.scores, rounds=30, seed=seed)
        for seed in (7, 7, 8)
    ]
    assert np.array_equal(runs[0].scores.low, runs[1].scores.low)
    assert not np.array_equal(runs[0].scores.low, runs[2].scores.low)
    assert np.all(runs[0].rank_low <= runs[0].rank_high)


def test_bootstrap_and_sandwich_widths_agree_roughly(arena_votes: VoteTable) -> None:
    arena = Arena(arena_votes)
    sandwich = sandwich_intervals(arena.comparisons, arena.scores)
    boot = bootstrap_intervals(
        arena.comparisons, arena.settings, arena.scores, rounds=200, seed=1
    ).scores
    ratio = np.median((boot.high - boot.low) / (sandwich.high - sandwich.low))
    assert 0.8 < ratio < 1.25  # two estimators of the same sampling variability


def test_rank_upper_bound_counts_models_clearly_above() -> None:
    intervals = Intervals(low=np.array([10.0, 5.0, 0.0, 4.0]), high=np.array([12.0, 9.0, 6.0, 4.5]))
    expected = [1 + sum(intervals.low[j] > intervals.high[i] for j in range(4)) for i in range(4)]
    assert rank_upper_bound(intervals).tolist() == expected == [1, 2, 2, 3]
