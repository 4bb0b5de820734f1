"""The Bradley-Terry fit against scikit-learn, and its behaviour when no MLE exists."""

from __future__ import annotations

import json

import numpy as np
import pytest
from fragility_helpers import (
    SYNTHETIC_LEADER,
    ford_condition_holds,
    independent_scores,
    table_from_lists,
    vote_arrays,
)

from registry.fragility import VoteTable, analyze, read_votes
from registry.fragility.bradley_terry import (
    FitSettings,
    check_mle_exists,
    choose_reference,
    fit_scores,
    gradient_and_hessian,
    to_elo,
)
from registry.fragility.comparisons import build_comparisons


@pytest.mark.parametrize("ties", ["half", "drop"])
def test_scores_match_scikit_learn(arena_votes: VoteTable, ties: str) -> None:
    comparisons = build_comparisons(arena_votes, ties)
    settings = FitSettings(comparisons.n_models, choose_reference(comparisons))
    scores = fit_scores(comparisons, settings)
    reference = independent_scores(*vote_arrays(arena_votes, ties=ties), comparisons.n_models)
    # Compare gauge-free: both relative to model 0.
    assert np.max(np.abs((scores - scores[0]) - reference)) < 1e-6
    assert scores[settings.reference] == 0.0
    assert comparisons.models[int(np.argmax(scores))] == SYNTHETIC_LEADER


def test_fit_reaches_the_gradient_tolerance(arena_votes: VoteTable) -> None:
    comparisons = build_comparisons(arena_votes)
    settings = FitSettings(comparisons.n_models, choose_reference(comparisons))
    scores = fit_scores(comparisons, settings)
    gradient, _ = gradient_and_hessian(
        scores, comparisons, *comparisons.pair_totals(comparisons.type_count)
    )
    assert np.linalg.norm(np.delete(gradient, settings.reference)) <= 1e-9


def test_ties_drop_uses_only_decisive_votes(arena_votes: VoteTable) -> None:
    n_ties = int(np.count_nonzero(arena_votes.outcome == 2))
    assert 0 < n_ties < arena_votes.n_votes
    assert build_comparisons(arena_votes, "drop").n_used == arena_votes.n_votes - n_ties


def test_reference_is_the_most_voted_model() -> None:
    votes = read_votes(
        table_from_lists(
            ["a", "b", "b", "c"], ["b", "c", "a", "a"], ["model_a", "tie", "model_b", "model_b"]
        )
    )
    comparisons = build_comparisons(votes)
    counts = {name: 0 for name in votes.models}
    for a, b in zip(votes.model_a, votes.model_b, strict=True):
        counts[votes.models[a]] += 1
        counts[votes.models[b]] += 1
    best = max(counts.values())
    assert votes.models[choose_reference(comparisons)] == min(
        name for name, count in counts.items() if count == best
    )


def test_elo_scale_is_400_over_ln10_plus_1000() -> None:
    assert to_elo(np.array([0.0, np.log(10.0)])).tolist() == pytest.approx([1000.0, 1400.0])


def test_a_model_that_never_lost_is_detected_and_fitted_with_a_flagged_ridge() -> None:
    data = table_from_lists(
        ["champ", "champ", "a", "b", "a"],
        ["a", "b", "b", "a", "b"],
        ["model_a", "model_a", "model_a", "model_a", "tie"],
    )
    existence = check_mle_exists(build_comparisons(read_votes(data)))
    assert not existence.exists
    result = analyze(data)
    assert result["fit"]["mle_exists"] is False
    assert result["fit"]["mle_problem_models"] == ["champ"]
    assert result["fit"]["ridge"] > 0
    champion = next(row for row in result["scores"] if row["model"] == "champ")
    assert champion["ridge_dependent"] is True
    assert champion["rank"] == 1
    json.dumps(result, allow_nan=False)  # never inf or nan


def test_a_disconnected_comparison_graph_is_reported() -> None:
    data = table_from_lists(
        ["a", "b", "c", "d"], ["b", "a", "d", "c"], ["model_a", "model_a", "model_a", "model_a"]
    )
    existence = check_mle_exists(build_comparisons(read_votes(data)))
    assert not existence.exists
    assert "disconnected" in existence.problem
    json.dumps(analyze(data), allow_nan=False)


@pytest.mark.parametrize("seed", range(40))
def test_ford_condition_and_its_problem_models_match_scipy_and_brute_force(seed: int) -> None:
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    generator = np.random.default_rng(seed)
    n_models = int(generator.integers(3, 7))
    n_votes = int(generator.integers(3, 14))
    a = generator.integers(0, n_models, n_votes)
    b = (a + generator.integers(1, n_models, n_votes)) % n_models
    outcome = generator.choice([0, 1, 2], n_votes, p=[0.6, 0.3, 0.1])
    names = [f"m{i}" for i in range(n_models)]
    winners = ["model_a", "model_b", "tie"]
    data = table_from_lists(
        [names[i] for i in a], [names[i] for i in b], [winners[o] for o in outcome]
    )
    comparisons = build_comparisons(read_votes(data))
    existence = check_mle_exists(comparisons)
    fitted = [names.index(m) for m in comparisons.models]
    assert existence.exists == ford_condition_holds(
        np.searchsorted(fitted, a), np.searchsorted(fitted, b), outcome, len(fitted)
    )
    # scipy on the same beat graph: edge loser -> winner, both ways for a tie.
    index = {name: i for i, name in enumerate(comparisons.models)}
    sources, targets = [], []
    for x, y, o in zip(a.tolist(), b.tolist(), outcome.tolist(), strict=True):
        winner_loser = [(x, y)] if o == 0 else [(y, x)] if o == 1 else [(x, y), (y, x)]
        for winner, loser in winner_loser:
            sources.append(index[names[loser]])
            targets.append(index[names[winner]])
    size = len(comparisons.models)
    graph = coo_matrix((np.ones(len(sources)), (sources, targets)), (size, size))
    _, labels = connected_components(graph, directed=True, connection="strong")
    sizes = np.bincount(labels)
    if existence.exists:
        assert sizes.shape[0] == 1
    else:
        inside = set(range(size)) - set(existence.problem_models)
        assert len(inside) == sizes.max()
        assert len({int(labels[m]) for m in inside}) == 1
