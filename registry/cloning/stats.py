"""Small statistical building blocks shared by the cloning tests.

* **Holm adjustment**: the step-down Bonferroni procedure of Holm (1979), "A simple
  sequentially rejective multiple test procedure", Scand. J. Statist. 6:65-70. With the
  p-values sorted ascending, p_(1) <= ... <= p_(m), the adjusted p-value is
  ``p~_(i) = max_{j <= i} min(1, (m - j + 1) * p_(j))``; rejecting every hypothesis whose
  adjusted p-value is <= alpha is exactly Holm's procedure at family-wise error rate alpha.
* **Within-block label permutation test**: an exact Monte Carlo permutation test for the
  hypothesis that, inside every block (prompt), the labels of k + 1 exchangeable columns
  (the candidate and k baselines) can be permuted without changing the joint distribution.
  The p-value ``(1 + #{T* >= T}) / (1 + B)`` is valid at every B (Phipson & Smyth 2010,
  "Permutation p-values should never be zero", Stat. Appl. Genet. Mol. Biol. 9(1)).
"""

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray


def holm_adjust(p_values: Sequence[float]) -> list[float]:
    """Holm step-down adjusted p-values, returned in the input order."""
    p = np.asarray(p_values, dtype=float)
    if p.ndim != 1:
        raise ValueError("p_values must be one-dimensional")
    if np.any((p < 0) | (p > 1)) or np.any(np.isnan(p)):
        raise ValueError("every p-value must lie in [0, 1]")
    m = p.size
    if m == 0:
        return []
    order = np.argsort(p, kind="stable")
    multipliers = m - np.arange(m)  # m, m-1, ..., 1 for the sorted p-values
    stepped = np.minimum(1.0, multipliers * p[order])
    # Monotonicity: an adjusted p-value may never be smaller than an earlier one.
    stepped = np.maximum.accumulate(stepped)
    adjusted = np.empty(m)
    adjusted[order] = stepped
    return [float(value) for value in adjusted]


def block_excess_matrix(similarity: NDArray[np.float64]) -> NDArray[np.float64]:
    """Per block and column: that column minus the mean of the other columns.

    ``similarity`` has shape (blocks, columns); column 0 is the tested column. Entry [i, j]
    is the statistic's contribution of block i if column j were the tested one, so a
    relabelling of the columns only selects a different entry per row.
    """
    columns = similarity.shape[1]
    row_totals = similarity.sum(axis=1, keepdims=True)
    others_mean = (row_totals - similarity) / (columns - 1)
    return similarity - others_mean


def within_block_permutation_pvalue(
    similarity: NDArray[np.float64], *, permutations: int, rng: np.random.Generator
) -> tuple[float, float]:
    """One-sided Monte Carlo p-value that column 0 exceeds the others, block by block.

    Statistic T = mean over blocks of (column 0 - mean of the other columns). Each
    permutation picks, independently per block, which column plays the tested role; under
    exchangeability of the columns within a block every choice is equally likely, so the
    permutation distribution is the exact null distribution of T. Returns (T, p).
    """
    excess = block_excess_matrix(similarity)
    blocks, columns = excess.shape
    observed = float(excess[:, 0].mean())
    exceed = 0
    # Chunks keep memory at ~8 MB whatever the permutation count.
    chunk = max(1, 1_000_000 // max(blocks, 1))
    remaining = permutations
    block_index = np.arange(blocks)
    while remaining > 0:
        size = min(chunk, remaining)
        chosen = rng.integers(0, columns, size=(size, blocks))
        permuted = excess[block_index, chosen].mean(axis=1)
        # Counting near-ties as exceedances keeps float round-off from shrinking p (conservative).
        exceed += int(np.count_nonzero(permuted >= observed - 1e-12))
        remaining -= size
    return observed, (1 + exceed) / (1 + permutations)
