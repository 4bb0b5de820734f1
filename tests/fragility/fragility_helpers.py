"""Helpers for the fragility tests: a seeded synthetic arena, real-data layouts and independent
implementations."""

from __future__ import annotations

import itertools

import numpy as np
from scipy.optimize import minimize

from registry.fragility import ColumnMapping, VoteTable, WinnerValues
from tests.synthetic_votes import SYNTHETIC_LEADER, synthetic_arena_csv

__all__ = ["SYNTHETIC_LEADER", "synthetic_arena_csv"]

# LLMFAO's layout (../shared/data/llmfao): the synthetic arena below uses it too.
LLMFAO_COLUMNS = ColumnMapping.parse("model_a=left,model_b=right")
LLMFAO_WINNERS = WinnerValues.parse("model_a=left,model_b=right,tie=tie")
LLMFAO_OPTIONS = [
    "--columns",
    "model_a=left,model_b=right",
    "--winner-values",
    "model_a=left,model_b=right,tie=tie",
]


def vote_indices(votes: VoteTable, dropped_ids: list[int | str]) -> list[int]:
    """0-based record indices of the votes named by ``dropped_ids`` (ids or positions)."""
    if votes.ids is None:
        return [int(vote_id) - 1 for vote_id in dropped_ids]
    position = {vote_id: index for index, vote_id in enumerate(votes.ids)}
    return [position[str(vote_id)] for vote_id in dropped_ids]


def vote_arrays(
    votes: VoteTable, *, ties: str = "half", drop: list[int] | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(model_a, model_b, outcome) of the votes kept after ``drop`` (0-based) and tie rule."""
    keep = np.ones(votes.n_votes, dtype=bool)
    if drop:
        keep[drop] = False
    if ties == "drop":
        keep &= votes.outcome != 2
    return votes.model_a[keep], votes.model_b[keep], votes.outcome[keep]


def independent_scores(
    model_a: np.ndarray, model_b: np.ndarray, outcome: np.ndarray, n_models: int
) -> np.ndarray:
    """Bradley-Terry MLE by scikit-learn on the duplicated-row design (ties: one win each way).

    Written independently of the engine: one design row per vote copy, unaggregated.
    """
    from sklearn.linear_model import LogisticRegression

    n = model_a.shape[0]
    design = np.zeros((2 * n, n_models))
    rows = np.arange(n)
    for copy in (0, 1):
        design[copy * n + rows, model_a] = 1.0
        design[copy * n + rows, model_b] = -1.0
    first = np.where(outcome == 1, 0, 1)  # a tie counts as a win for a in one copy...
    second = np.where(outcome == 0, 1, 0)  # ...and as a win for b in the other
    target = np.concatenate([first, second])
    free = design[:, 1:]  # model 0 is the reference of this independent fit
    fit = LogisticRegression(
        C=np.inf, fit_intercept=False, solver="newton-cholesky", tol=1e-12, max_iter=1000
    ).fit(free, target)
    return np.concatenate([[0.0], fit.coef_[0]])


def scipy_scores(
    model_a: np.ndarray, model_b: np.ndarray, outcome: np.ndarray, n_models: int
) -> np.ndarray:
    """A second independent fit: per-vote log-likelihood maximised by scipy's BFGS."""
    y = np.select([outcome == 0, outcome == 1], [1.0, 0.0], 0.5)

    def negative_log_likelihood(free: np.ndarray) -> tuple[float, np.ndarray]:
        theta = np.concatenate([[0.0], free])
        difference = theta[model_a] - theta[model_b]
        value = -np.sum(y * difference - np.logaddexp(0.0, difference))
        residual = y - 1.0 / (1.0 + np.exp(-difference))
        gradient = -(
            np.bincount(model_a, residual, n_models) - np.bincount(model_b, residual, n_models)
        )
        return value, gradient[1:]

    result = minimize(
        negative_log_likelihood,
        np.zeros(n_models - 1),
        jac=True,
        method="BFGS",
        options={"gtol": 1e-11, "maxiter": 10_000},
    )
    return np.concatenate([[0.0], result.x])


def ford_condition_holds(
    model_a: np.ndarray, model_b: np.ndarray, outcome: np.ndarray, n_models: int
) -> bool:
    """Brute force over every split of the models: each side beat (or tied) the other."""
    beat = np.zeros((n_models, n_models), dtype=bool)
    for a, b, o in zip(model_a.tolist(), model_b.tolist(), outcome.tolist(), strict=True):
        if o in (0, 2):
            beat[a, b] = True
        if o in (1, 2):
            beat[b, a] = True
    for size in range(1, n_models):
        for side in itertools.combinations(range(n_models), size):
            inside = np.zeros(n_models, dtype=bool)
            inside[list(side)] = True
            if not beat[np.ix_(inside, ~inside)].any() or not beat[np.ix_(~inside, inside)].any():
                return False
    return True


def table_from_lists(model_a: list[str], model_b: list[str], winner: list[str]) -> bytes:
    """A CSV upload in the default layout."""
    lines = ["model_a,model_b,winner"] + [
        f"{a},{b},{w}" for a, b, w in zip(model_a, model_b, winner, strict=True)
    ]
    return ("\n".join(lines) + "\n").encode()
