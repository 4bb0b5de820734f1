"""Per-item claims on static benchmarks against scipy and brute force."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from registry.fragility import item_claim
from registry.fragility.item_claims import items_to_reverse


def brute_force_items_to_reverse(difference: np.ndarray) -> int | None:
    total = difference.sum()
    for size in range(1, difference.shape[0]):
        for removed in itertools.combinations(range(difference.shape[0]), size):
            remaining = np.delete(difference, removed).sum()
            if np.sign(remaining) == -np.sign(total) and remaining != 0:
                return size
    return None


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from([-1.0, 0.0, 1.0, 0.5, -0.25]), min_size=2, max_size=9))
def test_items_to_reverse_is_the_exact_minimum(values: list[float]) -> None:
    difference = np.array(values)
    if difference.sum() == 0:
        return
    count, removed = items_to_reverse(difference)
    assert count == brute_force_items_to_reverse(difference)
    if count is not None:
        assert np.sign(np.delete(difference, removed).sum()) == -np.sign(difference.sum())


def test_mcnemar_matches_scipy_binomial_test() -> None:
    generator = np.random.default_rng(3)
    a = (generator.random(200) < 0.7).astype(float)
    b = (generator.random(200) < 0.6).astype(float)
    result = item_claim(a, b, bootstrap_rounds=200)
    only_a, only_b = int(np.sum((a == 1) & (b == 0))), int(np.sum((a == 0) & (b == 1)))
    expected = stats.binomtest(only_a, only_a + only_b, 0.5).pvalue
    assert result.mcnemar_p_value == pytest.approx(expected, rel=1e-12)


def test_real_valued_scores_have_no_mcnemar_and_named_removed_items() -> None:
    result = item_claim(
        [0.9, 0.5, 0.2], [0.1, 0.4, 0.4], item_ids=["q1", "q2", "q3"], bootstrap_rounds=100
    )
    assert result.mcnemar_p_value is None
    assert result.items_to_reverse == 1
    assert result.removed_items == ("q1",)
    assert result.ci_low <= result.mean_difference <= result.ci_high


def test_mismatched_lengths_are_rejected() -> None:
    with pytest.raises(ValueError, match="equal length"):
        item_claim([1, 0], [1])
