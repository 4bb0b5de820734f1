"""Uncertainty of Bradley-Terry scores: sandwich intervals, multinomial bootstrap, rank bounds.

*Sandwich intervals* follow LMArena's ``arena-rank`` 0.1.1 definition (read from its source, not
copied): with all n scores free and p = sigmoid(theta_i - theta_j),
    H = sum_t c_t p(1-p) x_t x_t' + 1e-5 * N * I,   G = sum_t c_t (y_t - p)^2 x_t x_t',
    Cov = H^-1 G H^-1,  interval = theta +- z_{0.975} * sqrt(diag Cov),
with c_t the count of vote type t and N the number of votes (Huber 1967 / White 1980 robust
covariance). The small ridge on H fixes the shift invariance, so the intervals describe each
score relative to the average model; they are then placed around our reference-anchored scores.

The *multinomial bootstrap* resamples N votes with replacement (as counts over vote types),
refits to convergence and takes percentile intervals, centred the same way.

The *rank upper bound* is LMArena's displayed rank: 1 + the number of models whose lower bound
exceeds this model's upper bound.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

from registry.fragility._blas import single_threaded_blas
from registry.fragility.bradley_terry import (
    DEFAULT_RIDGE,
    FitSettings,
    check_mle_exists,
    fit_scores,
    pairwise_matrix,
    rank_of,
)
from registry.fragility.comparisons import Comparisons

ARENA_RANK_HESSIAN_REG = 1e-5
CONFIDENCE = 0.95


@dataclass(frozen=True)
class Intervals:
    """Lower and upper bounds (logits, reference-anchored) for every model."""

    low: np.ndarray
    high: np.ndarray


@dataclass(frozen=True)
class BootstrapResult:
    """Percentile score intervals and rank intervals from bootstrap refits."""

    scores: Intervals
    rank_low: np.ndarray
    rank_high: np.ndarray
    rounds: int
    ridge_rounds: int  # rounds whose resample broke Ford's condition and needed the ridge


@single_threaded_blas
def sandwich_intervals(
    comparisons: Comparisons, scores: np.ndarray, confidence: float = CONFIDENCE
) -> Intervals:
    """arena-rank's sandwich (robust) intervals, evaluated at our converged scores."""
    n_models = comparisons.n_models
    low = comparisons.pair_i[comparisons.type_pair]
    high = comparisons.pair_j[comparisons.type_pair]
    counts = comparisons.type_count.astype(np.float64)
    probability = 1.0 / (1.0 + np.exp(scores[high] - scores[low]))
    hessian = pairwise_matrix(low, high, counts * probability * (1 - probability), n_models)
    hessian[np.diag_indices(n_models)] += ARENA_RANK_HESSIAN_REG * counts.sum()
    gradient_cov = pairwise_matrix(
        low, high, counts * (comparisons.type_outcome - probability) ** 2, n_models
    )
    inverse = np.linalg.inv(hessian)
    variance = np.sum((inverse @ gradient_cov) * inverse, axis=1)  # diag(H^-1 G H^-1), H sym.
    width = NormalDist().inv_cdf(0.5 + confidence / 2) * np.sqrt(np.maximum(variance, 0.0))
    return Intervals(scores - width, scores + width)


@single_threaded_blas
def bootstrap_intervals(
    comparisons: Comparisons,
    settings: FitSettings,
    scores: np.ndarray,
    *,
    rounds: int,
    seed: int,
    confidence: float = CONFIDENCE,
    progress: Callable[[int], None] | None = None,
) -> BootstrapResult:
    """Multinomial bootstrap over votes: resample, refit exactly, take percentiles."""
    generator = np.random.default_rng(seed)
    counts = comparisons.type_count
    probabilities = counts / counts.sum()
    samples = np.empty((rounds, comparisons.n_models))
    ridge_rounds = 0
    for round_index in range(rounds):
        resampled = generator.multinomial(int(counts.sum()), probabilities)
        round_settings = settings
        if settings.ridge == 0.0 and not check_mle_exists(comparisons, resampled).exists:
            round_settings = FitSettings(settings.n_models, settings.reference, DEFAULT_RIDGE)
            ridge_rounds += 1
        samples[round_index] = fit_scores(comparisons, round_settings, resampled, scores)
        if progress is not None and round_index % 50 == 0:
            progress(round_index * 100 // rounds)
    # Express every round relative to its own average model, then on our anchored scale.
    centred = samples - samples.mean(axis=1, keepdims=True) + scores.mean()
    tail = (1 - confidence) / 2
    ranks = np.array([rank_of(sample) for sample in samples])
    return BootstrapResult(
        scores=Intervals(
            np.quantile(centred, tail, axis=0), np.quantile(centred, 1 - tail, axis=0)
        ),
        rank_low=np.quantile(ranks, tail, axis=0, method="lower"),
        rank_high=np.quantile(ranks, 1 - tail, axis=0, method="higher"),
        rounds=rounds,
        ridge_rounds=ridge_rounds,
    )


def rank_upper_bound(intervals: Intervals) -> np.ndarray:
    """LMArena's rank (upper bound): 1 + #models whose lower bound exceeds my upper bound."""
    return 1 + (intervals.low[None, :] > intervals.high[:, None]).sum(axis=1)
