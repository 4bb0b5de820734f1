"""Votes-to-flip: brute force on tiny arenas and hypothesis properties (real data:
test_fragility_real_data.py)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from fragility_helpers import (
    ford_condition_holds,
    scipy_scores,
    table_from_lists,
    vote_arrays,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from registry.fragility import Arena, VoteTable, read_votes

WINNERS = ["model_a", "model_b", "tie"]


def tiny_arena(seed: int, n_models: int = 4, n_votes: int = 14) -> bytes:
    """A random arena whose MLE exists (the brute force needs finite scores)."""
    generator = np.random.default_rng(seed)
    strength = generator.normal(0.0, 1.0, n_models)
    while True:
        a = generator.integers(0, n_models, n_votes)
        b = (a + generator.integers(1, n_models, n_votes)) % n_models
        p_a = 1 / (1 + np.exp(strength[b] - strength[a]))
        outcome = np.where(
            generator.random(n_votes) < 0.2, 2, np.where(generator.random(n_votes) < p_a, 0, 1)
        )
        if ford_condition_holds(a, b, outcome, n_models):
            names = [f"m{i}" for i in range(n_models)]
            return table_from_lists(
                [names[i] for i in a], [names[i] for i in b], [WINNERS[i] for i in outcome]
            )


def brute_force_top1_votes_to_flip(votes: VoteTable, max_votes: int) -> int | None:
    """Smallest drop set (exhaustive over vote subsets) that puts a new model clearly first."""
    n_models = len(votes.models)
    leader = int(np.argmax(scipy_scores(votes.model_a, votes.model_b, votes.outcome, n_models)))
    for size in range(1, max_votes + 1):
        for drop in itertools.combinations(range(votes.n_votes), size):
            kept = vote_arrays(votes, drop=list(drop))
            if not ford_condition_holds(*kept, n_models):
                continue  # infinite scores: excluded, as the engine excludes them
            scores = scipy_scores(*kept, n_models)
            if scores.max() > scores[leader] + 1e-7:
                return size
    return None


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(12))
def test_top1_answer_equals_brute_force_minimum_on_tiny_arenas(seed: int) -> None:
    votes = read_votes(tiny_arena(seed))
    arena = Arena(votes, budget=0.3)  # 4 of 14 votes: exhaustive search stays small
    outcome = arena.top_k_fragility(1)
    assert outcome.certified_minimal
    assert outcome.votes_to_flip == brute_force_top1_votes_to_flip(votes, arena.budget_votes)


def test_budget_exhaustion_is_reported_not_certified() -> None:
    many = 60  # a clear leader: one vote cannot overturn 60 wins
    data = table_from_lists(
        ["a"] * many + ["b", "c"],
        ["b"] * many + ["c", "b"],
        ["model_a"] * many + ["model_a", "model_a"],
    )
    arena = Arena(read_votes(data + b"b,a,model_a\nc,a,model_a\n"), budget=0.01)
    outcome = arena.top_k_fragility(1)
    assert outcome.votes_to_flip is None
    assert outcome.dropped_per_type is None


arena_votes = st.lists(
    st.tuples(st.integers(0, 4), st.integers(1, 4), st.sampled_from(WINNERS)),
    min_size=20,
    max_size=40,
)


def arena_bytes(rows: list[tuple[int, int, str]], names: list[str]) -> bytes:
    return table_from_lists(
        [names[a] for a, _, _ in rows],
        [names[(a + shift) % 5] for a, shift, _ in rows],
        [winner for _, _, winner in rows],
    )


@pytest.mark.slow
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=arena_votes)
def test_dropping_the_reported_votes_always_flips_under_an_independent_refit(
    rows: list[tuple[int, int, str]],
) -> None:
    votes = read_votes(arena_bytes(rows, [f"m{i}" for i in range(5)]))
    if len(votes.models) < 3 or not ford_condition_holds(
        votes.model_a, votes.model_b, votes.outcome, len(votes.models)
    ):
        return
    arena = Arena(votes, budget=0.2)
    for outcome in (arena.top_k_fragility(1), arena.adjacent_fragility(2)):
        if outcome.votes_to_flip is None:
            continue
        kept = vote_arrays(votes, drop=[v - 1 for v in arena.dropped_vote_ids(outcome)])
        assert ford_condition_holds(*kept, len(votes.models))
        scores = scipy_scores(*kept, len(votes.models))
        assert scores[outcome.loser] > scores[outcome.winner]


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=arena_votes, seed=st.integers(0, 2**16))
def test_shuffling_votes_and_renaming_models_changes_nothing(
    rows: list[tuple[int, int, str]], seed: int
) -> None:
    names = [f"m{i}" for i in range(5)]
    original = Arena(read_votes(arena_bytes(rows, names)), budget=0.2)
    generator = np.random.default_rng(seed)
    permutation = generator.permutation(len(rows))
    renamed = [f"z{9 - i}-{generator.integers(100)}" for i in range(5)]  # reverses name order
    shuffled_rows = [rows[i] for i in permutation]
    other = Arena(read_votes(arena_bytes(shuffled_rows, renamed)), budget=0.2)
    rename = {old: new for old, new in zip(names, renamed, strict=True)}

    def by_name(arena: Arena, translate: dict[str, str] | None) -> dict[str, float]:
        scores = arena.scores - arena.scores.mean()
        return {
            (translate or {}).get(m, m): float(scores[i])
            for i, m in enumerate(arena.comparisons.models)
        }

    left, right = by_name(original, rename), by_name(other, None)
    assert left.keys() == right.keys()
    assert all(abs(left[m] - right[m]) < 1e-6 for m in left)
    gaps_distinct = len({round(v, 6) for v in left.values()}) == len(left)
    if not gaps_distinct:  # with tied scores the leader itself is ambiguous
        return
    # Shuffling alone keeps every vote type's index, so the answer is identical.
    shuffled = Arena(read_votes(arena_bytes(shuffled_rows, names)), budget=0.2)
    first, second = original.top_k_fragility(1), shuffled.top_k_fragility(1)
    assert first.votes_to_flip == second.votes_to_flip
    # Renaming reorders vote types; equally harmful votes may then be tried in another order,
    # so the greedy upper bound may differ, but exhaustive (certified) answers may not.
    third = other.top_k_fragility(1)
    if first.certified_minimal and third.certified_minimal:
        assert first.votes_to_flip == third.votes_to_flip
