"""Per-item claims on static benchmarks: "A beats B on benchmark X" from paired item scores.

Each benchmark *item* (question) has a score for A and for B (0/1 correctness, or real-valued).
The claim's statistic is the mean paired difference d_i = a_i - b_i. We report:

* a paired percentile bootstrap interval for the mean difference (items resampled together);
* for 0/1 scores, the exact McNemar test: under H0 the discordant items are Binomial(n, 1/2),
  p = min(1, 2 * P[X <= min(n01, n10)]) (McNemar 1947; exact binomial form);
* the exact minimum number of items whose removal reverses the sign of the mean difference.
  The sign of a mean is the sign of a sum, and removing an item changes the sum by -d_i, so
  removing the largest same-signed differences first is optimal (exchange argument): no other
  set of the same size lowers the sum more.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats


@dataclass(frozen=True)
class ItemClaim:
    """Result of testing "A beats B" on per-item scores."""

    mean_difference: float
    ci_low: float
    ci_high: float
    mcnemar_p_value: float | None  # None unless both score vectors are 0/1
    items_to_reverse: int | None  # None when no removal can reverse the sign
    removed_items: tuple[str | int, ...]

    def as_dict(self) -> dict[str, object]:
        """JSON-serialisable form."""
        return {
            "mean_difference": self.mean_difference,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "mcnemar_p_value": self.mcnemar_p_value,
            "items_to_reverse": self.items_to_reverse,
            "removed_items": list(self.removed_items),
        }


def item_claim(
    scores_a: Sequence[float],
    scores_b: Sequence[float],
    item_ids: Sequence[str | int] | None = None,
    *,
    bootstrap_rounds: int = 2000,
    seed: int = 0,
    confidence: float = 0.95,
) -> ItemClaim:
    """Evaluate "A beats B" (or "B beats A" when the mean difference is negative)."""
    a = np.asarray(scores_a, dtype=np.float64)
    b = np.asarray(scores_b, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 1 or a.shape[0] == 0:
        raise ValueError("scores_a and scores_b must be non-empty sequences of equal length")
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise ValueError("scores must be finite numbers")
    ids = list(item_ids) if item_ids is not None else list(range(1, a.shape[0] + 1))
    if len(ids) != a.shape[0]:
        raise ValueError("item_ids must have one id per item")
    difference = a - b
    ci_low, ci_high = paired_bootstrap_interval(difference, bootstrap_rounds, seed, confidence)
    count, removed = items_to_reverse(difference)
    return ItemClaim(
        mean_difference=float(difference.mean()),
        ci_low=ci_low,
        ci_high=ci_high,
        mcnemar_p_value=exact_mcnemar(a, b),
        items_to_reverse=count,
        removed_items=tuple(ids[index] for index in removed),
    )


def paired_bootstrap_interval(
    difference: np.ndarray, rounds: int, seed: int, confidence: float
) -> tuple[float, float]:
    """Percentile interval of the mean paired difference over item resamples."""
    generator = np.random.default_rng(seed)
    resampled = generator.integers(0, difference.shape[0], size=(rounds, difference.shape[0]))
    means = difference[resampled].mean(axis=1)
    tail = (1 - confidence) / 2
    return float(np.quantile(means, tail)), float(np.quantile(means, 1 - tail))


def exact_mcnemar(a: np.ndarray, b: np.ndarray) -> float | None:
    """Two-sided exact McNemar p-value for 0/1 scores; None for real-valued scores."""
    if not (np.isin(a, (0.0, 1.0)).all() and np.isin(b, (0.0, 1.0)).all()):
        return None
    only_a = int(np.sum((a == 1) & (b == 0)))
    only_b = int(np.sum((a == 0) & (b == 1)))
    discordant = only_a + only_b
    if discordant == 0:
        return 1.0
    return float(min(1.0, 2 * stats.binom.cdf(min(only_a, only_b), discordant, 0.5)))


def items_to_reverse(difference: np.ndarray) -> tuple[int | None, list[int]]:
    """Fewest items whose removal makes the mean difference strictly the opposite sign.

    Returns (count, 0-based indices); (None, []) if impossible, (0, []) if the mean is already
    zero (there is no sign to reverse, so the claim does not hold to begin with).
    """
    total = float(difference.sum())
    if total == 0.0:
        return 0, []
    sign = np.sign(total)
    signed = sign * difference  # now the claim is "sum > 0"
    order = np.argsort(-signed, kind="stable")
    remaining = total * sign - np.cumsum(signed[order])
    reversed_at = np.flatnonzero(remaining < 0)
    # Removing every item leaves no mean at all, so at least one item must remain.
    if reversed_at.shape[0] == 0 or reversed_at[0] + 1 >= difference.shape[0]:
        return None, []
    count = int(reversed_at[0] + 1)
    return count, sorted(order[:count].tolist())
