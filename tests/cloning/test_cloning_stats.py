"""Holm adjustment and the within-prompt permutation test, against independent definitions."""

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as scipy_stats

from registry.cloning.stats import holm_adjust, within_block_permutation_pvalue


def textbook_holm_rejections(p_values: list[float], alpha: float) -> set[int]:
    """Holm (1979) as written: walk the sorted p-values, stop at the first failure."""
    m = len(p_values)
    rejected: set[int] = set()
    for rank, index in enumerate(sorted(range(m), key=lambda i: p_values[i])):
        if p_values[index] > alpha / (m - rank):
            break
        rejected.add(index)
    return rejected


p_value_lists = st.lists(st.floats(min_value=0.0, max_value=1.0), min_size=1, max_size=12)


@given(p_values=p_value_lists, alpha=st.floats(min_value=0.001, max_value=0.5))
@settings(max_examples=300, deadline=None)
def test_holm_adjusted_p_rejects_exactly_what_the_step_down_procedure_rejects(
    p_values: list[float], alpha: float
) -> None:
    adjusted = holm_adjust(p_values)
    by_adjusted = {i for i, value in enumerate(adjusted) if value <= alpha}
    # Floating-point ties at the exact boundary alpha / k are measure-zero; skip them.
    m = len(p_values)
    boundary = [abs(p * k - alpha) < 1e-12 for p in p_values for k in range(1, m + 1)]
    if not any(boundary):
        assert by_adjusted == textbook_holm_rejections(p_values, alpha)


@given(p_values=p_value_lists)
def test_holm_adjusted_p_values_are_valid_and_never_below_the_raw_ones(
    p_values: list[float],
) -> None:
    adjusted = holm_adjust(p_values)
    assert all(raw <= adj <= 1.0 for raw, adj in zip(p_values, adjusted, strict=True))
    assert all(
        adj <= min(1.0, len(p_values) * raw) + 1e-15
        for raw, adj in zip(p_values, adjusted, strict=True)
    )


def test_holm_rejects_out_of_range_p_values() -> None:
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        holm_adjust([0.2, 1.5])


def exact_permutation_pvalue(similarity: np.ndarray) -> float:
    """Enumerate every per-prompt choice of the tested column (brute force)."""
    blocks, columns = similarity.shape
    excess = np.array(
        [[row[j] - np.delete(row, j).mean() for j in range(columns)] for row in similarity]
    )
    observed = excess[:, 0].mean()
    stats = [
        np.mean([excess[i, j] for i, j in enumerate(choice)])
        for choice in itertools.product(range(columns), repeat=blocks)
    ]
    return float(np.mean(np.array(stats) >= observed - 1e-12))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_permutation_pvalue_matches_full_enumeration_on_small_cases(seed: int) -> None:
    data_rng = np.random.default_rng(seed)
    similarity = data_rng.uniform(size=(7, 3))
    similarity[:, 0] += 0.15 * seed  # from no effect to a clear one
    exact = exact_permutation_pvalue(similarity)
    _, estimate = within_block_permutation_pvalue(
        similarity, permutations=40_000, rng=np.random.default_rng(0)
    )
    assert estimate == pytest.approx(exact, abs=4 * np.sqrt(exact * (1 - exact) / 40_000) + 1e-4)


def test_with_one_baseline_it_agrees_with_scipys_paired_sign_flip_test() -> None:
    rng = np.random.default_rng(7)
    candidate = rng.uniform(size=12) + 0.1
    baseline = rng.uniform(size=12)
    reference = scipy_stats.permutation_test(
        (candidate, baseline),
        lambda x, y, axis: np.mean(x - y, axis=axis),
        permutation_type="samples",
        alternative="greater",
        n_resamples=np.inf,
    ).pvalue
    statistic, p_value = within_block_permutation_pvalue(
        np.column_stack([candidate, baseline]), permutations=40_000, rng=np.random.default_rng(1)
    )
    # Our statistic is mean(c - mean(others)) = mean(c - b) with a single baseline.
    assert statistic == pytest.approx(np.mean(candidate - baseline))
    assert p_value == pytest.approx(reference, abs=4 * np.sqrt(reference / 40_000) + 1e-4)


def test_permutation_pvalue_is_never_zero() -> None:
    similarity = np.column_stack([np.ones(30), np.zeros(30), np.zeros(30)])
    _, p_value = within_block_permutation_pvalue(
        similarity, permutations=99, rng=np.random.default_rng(0)
    )
    assert p_value == pytest.approx(1 / 100)
