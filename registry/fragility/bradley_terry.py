"""Bradley-Terry maximum likelihood on aggregated pair counts, fitted to convergence by Newton.

The *Bradley-Terry model* (Bradley & Terry 1952) gives model i a score theta_i (logits) and says
i beats j with probability sigmoid(theta_i - theta_j). With ``n_ij`` votes on the pair and ``s_ij``
the points of i (wins plus half the ties under the Chatbot Arena convention), the log-likelihood is
sum over pairs of  s_ij * d_ij - n_ij * log(1 + exp(d_ij)),  d_ij = theta_i - theta_j,
which is exactly scikit-learn's logistic regression on the duplicated-row design.

Scores are identified only up to a shift, so one *reference model* is fixed at 0: the model with
the most votes (its score is the best determined), ties broken by name order.

The maximum likelihood estimate exists iff the "beat" graph (an edge j -> i whenever i won or
tied against j at least once) is strongly connected (Ford 1957; Zermelo 1929). When it is not,
some scores would run to infinity; we then fit with a ridge penalty ``ridge/2 * sum theta^2``
(a Gaussian prior with standard deviation ``1/sqrt(ridge)`` logits) and flag every figure.

Fits stop at a gradient 2-norm <= 1e-9 of the summed log-likelihood. This matters: a flip
"verified" by a loose fit can be an artefact of the optimiser, not of the data.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from registry.fragility.comparisons import KIND_I_WINS, KIND_J_WINS, Comparisons

GRADIENT_TOLERANCE = 1e-9
DEFAULT_RIDGE = 0.01
MAX_NEWTON_STEPS = 200
# Newton decrement g' H^-1 g below which a full step is taken without a line search; it is
# twice the predicted increase of the log-likelihood (Boyd & Vandenberghe 2004, section 9.5).
NEWTON_REGION = 0.1
ELO_SCALE = 400.0 / np.log(10.0)
ELO_OFFSET = 1000.0


class FitNotConvergedError(RuntimeError):
    """Newton's method stopped before the gradient norm reached the tolerance."""


@dataclass(frozen=True)
class FitSettings:
    """What defines "the fit" of a dataset, so every refit uses the same estimator."""

    n_models: int
    reference: int
    ridge: float = 0.0  # 0 means the unpenalised maximum likelihood estimate


@dataclass(frozen=True)
class MleExistence:
    """Ford's condition on the comparison graph and the models that break it."""

    exists: bool
    problem_models: tuple[int, ...]
    problem: str


def choose_reference(comparisons: Comparisons) -> int:
    """The model with the most used votes; ``argmax`` takes the first, i.e. the lowest name."""
    return int(np.argmax(comparisons.votes_per_model()))


def check_mle_exists(comparisons: Comparisons, counts: np.ndarray | None = None) -> MleExistence:
    """Ford's condition: the directed "beat" graph must be strongly connected.

    When it is not, the models outside the largest strongly connected component are named (of
    equally large components, the one holding the lowest model index counts as the largest).
    """
    counts = comparisons.type_count if counts is None else counts
    n_models = comparisons.n_models
    present = counts > 0
    pair = comparisons.type_pair[present]
    kind = comparisons.type_kind[present]
    low, high = comparisons.pair_i[pair], comparisons.pair_j[pair]
    # A win gives an edge loser -> winner; a tie (half a win each way) gives both edges.
    beats = np.zeros((n_models, n_models), dtype=bool)
    beats[high[kind != KIND_J_WINS], low[kind != KIND_J_WINS]] = True
    beats[low[kind != KIND_I_WINS], high[kind != KIND_I_WINS]] = True
    # Strongly connected iff model 0 reaches every model along the edges and against them.
    if _reachable(beats, 0).all() and _reachable(beats.T, 0).all():
        return MleExistence(True, (), "")
    labels = _strong_components(beats)
    largest = np.argmax(np.bincount(labels))
    outside = tuple(int(model) for model in np.flatnonzero(labels != largest))
    problem = (
        "the comparison graph is disconnected"
        if not _reachable(beats | beats.T, 0).all()
        else "some models never lost (or never won) against the rest"
    )
    return MleExistence(False, outside, problem)


def _reachable(adjacency: np.ndarray, start: int) -> np.ndarray:
    """Models reachable from ``start`` (itself included): breadth-first, one row block a step.

    A few hundred models and a small diameter make this O(models^2) numpy work, cheaper than
    importing scipy.sparse.csgraph into every command that fits.
    """
    seen = np.zeros(adjacency.shape[0], dtype=bool)
    seen[start] = True
    frontier = seen.copy()
    while frontier.any():
        frontier = adjacency[frontier].any(axis=0) & ~seen
        seen |= frontier
    return seen


def _strong_components(adjacency: np.ndarray) -> np.ndarray:
    """Component labels, numbered by each component's lowest model index (rare path)."""
    labels = np.full(adjacency.shape[0], -1, dtype=np.int64)
    next_label = 0
    for model in range(adjacency.shape[0]):
        if labels[model] < 0:
            component = _reachable(adjacency, model) & _reachable(adjacency.T, model)
            labels[component] = next_label
            next_label += 1
    return labels


def log_likelihood(
    theta: np.ndarray, comparisons: Comparisons, totals: np.ndarray, scores: np.ndarray
) -> float:
    """Sum over pairs of s*d - n*log(1+exp(d)) with d = theta_i - theta_j."""
    difference = theta[comparisons.pair_i] - theta[comparisons.pair_j]
    return float(np.sum(scores * difference - totals * np.logaddexp(0.0, difference)))


def gradient_and_hessian(
    theta: np.ndarray, comparisons: Comparisons, totals: np.ndarray, scores: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Gradient of the log-likelihood and the observed information (minus its Hessian)."""
    n_models = theta.shape[0]
    low, high = comparisons.pair_i, comparisons.pair_j
    probability = 1.0 / (1.0 + np.exp(theta[high] - theta[low]))
    residual = scores - totals * probability
    gradient = np.bincount(low, residual, n_models) - np.bincount(high, residual, n_models)
    weight = totals * probability * (1.0 - probability)
    information = pairwise_matrix(low, high, weight, n_models)
    return gradient, information


def pairwise_matrix(
    low: np.ndarray, high: np.ndarray, weight: np.ndarray, n_models: int
) -> np.ndarray:
    """sum over pairs of weight * (e_i - e_j)(e_i - e_j)^T, assembled with one bincount."""
    flat = np.concatenate(
        [low * n_models + low, high * n_models + high, low * n_models + high, high * n_models + low]
    )
    values = np.concatenate([weight, weight, -weight, -weight])
    return np.bincount(flat, values, n_models * n_models).reshape(n_models, n_models)


def fit_scores(
    comparisons: Comparisons,
    settings: FitSettings,
    counts: np.ndarray | None = None,
    start: np.ndarray | None = None,
) -> np.ndarray:
    """Maximise the (possibly ridge-penalised) log-likelihood; scores with reference at 0."""
    counts = comparisons.type_count if counts is None else counts
    totals, scores = comparisons.pair_totals(counts)
    theta = np.zeros(settings.n_models) if start is None else start - start[settings.reference]
    free = np.ones(settings.n_models, dtype=bool)
    if settings.ridge == 0.0:
        free[settings.reference] = False  # fixing one score removes the shift invariance
    objective = _penalised_objective(comparisons, totals, scores, settings.ridge)
    value: float | None = None  # objective at theta, computed only when a line search needs it
    for _ in range(MAX_NEWTON_STEPS):
        gradient, information = gradient_and_hessian(theta, comparisons, totals, scores)
        gradient = gradient[free] - settings.ridge * theta[free]
        if np.linalg.norm(gradient) <= GRADIENT_TOLERANCE:
            return theta - theta[settings.reference]
        information = information[np.ix_(free, free)]
        information[np.diag_indices_from(information)] += settings.ridge
        step = np.zeros_like(theta)
        # numpy's solver, not scipy's: the two ship separate OpenBLAS thread pools that fight
        # over this machine's 2 cores (measured: 27 ms vs 0.4 ms for a 199 x 199 system).
        step[free] = np.linalg.solve(information, gradient)
        if gradient @ step[free] < NEWTON_REGION:
            # Inside the region of quadratic convergence the full step is always accepted, so
            # skip the objective evaluations of the line search (half the cost of a refit).
            theta, value = theta + step, None
        else:
            current = objective(theta) if value is None else value
            theta, value = _backtrack(objective, theta, step, current)
    raise FitNotConvergedError(f"gradient norm {np.linalg.norm(gradient):.3g} after Newton steps")


Objective = Callable[[np.ndarray], float]


def _penalised_objective(
    comparisons: Comparisons, totals: np.ndarray, scores: np.ndarray, ridge: float
) -> Objective:
    def objective(theta: np.ndarray) -> float:
        penalty = 0.5 * ridge * float(theta @ theta)
        return log_likelihood(theta, comparisons, totals, scores) - penalty

    return objective


def _backtrack(
    objective: Objective,
    theta: np.ndarray,
    step: np.ndarray,
    value: float,
) -> tuple[np.ndarray, float]:
    """Newton step, halved until the concave objective does not decrease (Armijo-free guard).

    Near the optimum the full step is always taken; a tiny loss of the objective to rounding
    (1e-12 relative) is tolerated so the quadratic convergence is not stalled by arithmetic.
    """
    scale = 1.0
    for _ in range(60):
        candidate = theta + scale * step
        candidate_value = objective(candidate)
        if candidate_value >= value - 1e-12 * max(1.0, abs(value)):
            return candidate, candidate_value
        scale /= 2.0
    return theta + scale * step, objective(theta + scale * step)


def to_elo(scores: np.ndarray) -> np.ndarray:
    """Logit scores on the Elo display scale: 400/ln(10) * score + 1000."""
    return ELO_SCALE * scores + ELO_OFFSET


def rank_of(scores: np.ndarray) -> np.ndarray:
    """Competition rank (1 = best): one plus the number of models with a strictly higher score."""
    order = np.sort(scores)[::-1]
    return 1 + np.searchsorted(-order, -scores, side="left")
