"""The engine on real public vote files, exactly as published (../shared/data, see its README).

Each test is skipped with the reason when the folder is absent and fails instead where
REGISTRY_REQUIRE_SHARED_DATA=1 (CI). Every reported flip is confirmed by an independent refit:
a per-vote Bradley-Terry likelihood maximised by scipy's BFGS, or scikit-learn's logistic
regression, on the votes that remain after dropping exactly the reported ones.
"""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import numpy as np
import pytest
from django.core.management import call_command
from fragility_helpers import (
    LLMFAO_COLUMNS,
    LLMFAO_OPTIONS,
    LLMFAO_WINNERS,
    independent_scores,
    scipy_scores,
    vote_indices,
)

from registry.fragility import Arena, VoteTable, analyze, read_votes
from registry.fragility.votes import _columns_to_table, _csv_records
from tests.shared_data import SHARED_DATA, shared_file

LLMFAO_CROWD = "llmfao/crowd-comparisons.csv"
LLMFAO_JUDGES = [
    "llmfao/gpt4-comparisons.csv",
    "llmfao/gpt3-comparisons.csv",
    "llmfao/gpt4-crowd-comparisons.csv",
    "llmfao/gpt3-crowd-comparisons.csv",
]
GENAI_ARENA = "genai-arena/clean_battle_20240220.json"
ARENA_140K = "arena-140k/votes.csv.gz"
# Files in ../shared/data that hold no votes (descriptions, licences, model and prompt lists).
NOT_VOTES = {"README.md", "LICENSE.CC-BY", "crowd-instruction.md", "models.jsonl", "prompts.jsonl"}
NOT_VOTES_PREFIXES = ("REPO_LICENSE", "arena_elo_LICENSE")


def kept_votes(
    votes: VoteTable, dropped: list[int | str], *, ties: str = "half"
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The votes left after dropping ``dropped``, self-comparisons and (under drop) ties."""
    keep = votes.model_a != votes.model_b
    keep[vote_indices(votes, dropped)] = False
    if ties == "drop":
        keep &= votes.outcome != 2
    return votes.model_a[keep], votes.model_b[keep], votes.outcome[keep]


def assert_flip_confirmed(
    votes: VoteTable, arena: Arena, k: int = 1, *, ties: str = "half", at_most: int
) -> tuple[str, str]:
    """The top-k answer flips within ``at_most`` votes, confirmed by an independent refit."""
    outcome = arena.top_k_fragility(k)
    assert outcome is not None
    assert outcome.votes_to_flip is not None
    assert outcome.votes_to_flip <= at_most
    dropped = arena.dropped_vote_ids(outcome)
    assert len(set(dropped)) == len(dropped) == outcome.votes_to_flip
    winner = arena.comparisons.models[outcome.winner]
    challenger = arena.comparisons.models[outcome.loser]
    scores = scipy_scores(*kept_votes(votes, dropped, ties=ties), len(votes.models))
    assert scores[votes.models.index(challenger)] > scores[votes.models.index(winner)]
    return winner, challenger


@pytest.fixture(scope="module")
def llmfao_crowd() -> VoteTable:
    return read_votes(
        shared_file(LLMFAO_CROWD), columns=LLMFAO_COLUMNS, winner_values=LLMFAO_WINNERS
    )


@pytest.fixture(scope="module")
def arena_140k() -> VoteTable:
    return read_votes(shared_file(ARENA_140K))


def test_llmfao_crowd_reads_with_positions_because_its_id_names_the_pair(
    llmfao_crowd: VoteTable,
) -> None:
    assert llmfao_crowd.ids is None
    assert (llmfao_crowd.n_votes, len(llmfao_crowd.models)) == (8931, 59)
    assert int(np.sum(llmfao_crowd.outcome == 2)) == 3471
    assert llmfao_crowd.self_comparisons.shape[0] == 0


def test_llmfao_crowd_gpt4_leads_and_at_most_16_votes_flip_it(llmfao_crowd: VoteTable) -> None:
    arena = Arena(llmfao_crowd)
    full = independent_scores(*kept_votes(llmfao_crowd, []), len(llmfao_crowd.models))
    assert llmfao_crowd.models[int(np.argmax(full))] == "GPT 4"
    winner, _ = assert_flip_confirmed(llmfao_crowd, arena, at_most=16)
    assert winner == "GPT 4"


def test_llmfao_crowd_with_ties_dropped_flips_with_at_most_3_votes(
    llmfao_crowd: VoteTable,
) -> None:
    arena = Arena(llmfao_crowd, ties="drop")
    assert arena.comparisons.n_used == 8931 - 3471
    assert_flip_confirmed(llmfao_crowd, arena, ties="drop", at_most=3)


def test_llmfao_fast_csv_reader_agrees_with_the_csv_module() -> None:
    data = shared_file(LLMFAO_CROWD).read_bytes()
    fast = read_votes(data, columns=LLMFAO_COLUMNS, winner_values=LLMFAO_WINNERS)
    slow = _columns_to_table(
        lambda: _csv_records(data.decode(), ","),
        LLMFAO_COLUMNS,
        {"left": 0, "right": 1, "tie": 2},
    )
    assert fast.models == slow[0]
    for fast_array, slow_array in zip(
        (fast.model_a, fast.model_b, fast.outcome), slow[1:4], strict=True
    ):
        assert np.array_equal(fast_array, slow_array)


@pytest.mark.parametrize("name", LLMFAO_JUDGES)
def test_llmfao_judge_files_read_with_their_unique_ids_and_fit_like_scikit_learn(
    name: str,
) -> None:
    votes = read_votes(shared_file(name), columns=LLMFAO_COLUMNS, winner_values=LLMFAO_WINNERS)
    assert votes.ids is not None  # one judgement per pair: the id names the vote
    assert votes.n_votes in (2139, 3236)
    arena = Arena(votes)
    full = independent_scores(*kept_votes(votes, []), len(votes.models))
    engine = arena.scores - arena.scores[0]  # both relative to the first model by name
    if arena.existence.exists:
        assert np.max(np.abs(engine - full)) < 1e-5
    outcome = arena.top_k_fragility(1)
    if outcome is not None and outcome.votes_to_flip is not None:
        dropped = arena.dropped_vote_ids(outcome)
        scores = independent_scores(*kept_votes(votes, dropped), len(votes.models))
        assert scores[outcome.loser] > scores[outcome.winner]


def test_genai_arena_reads_and_reports_its_one_self_comparison() -> None:
    path = shared_file(GENAI_ARENA)
    result = analyze(path.read_bytes())
    dataset = result["dataset"]
    assert (dataset["format"], dataset["n_votes"], dataset["n_models"]) == (
        "clean_battle",
        2061,
        13,
    )
    assert dataset["n_self_comparisons"] == 1
    assert dataset["self_comparison_votes"] == [1820]  # the folder's README names record 1,820
    assert result["fit"]["n_votes_used"] == 2060
    votes = read_votes(path)
    top1 = result["fragility"][0]
    if top1["verified"]:
        scores = scipy_scores(*kept_votes(votes, top1["dropped_votes"]), len(votes.models))
        winner, challenger = (votes.models.index(name) for name in top1["pair"])
        assert scores[challenger] > scores[winner]


def test_arena_140k_with_ties_half_gemini_leads_and_at_most_66_votes_flip_it(
    arena_140k: VoteTable,
) -> None:
    assert (arena_140k.n_votes, len(arena_140k.models)) == (135_634, 53)
    assert arena_140k.self_comparisons.shape[0] == 10
    arena = Arena(arena_140k)
    assert arena.comparisons.n_used == 135_624
    winner, _ = assert_flip_confirmed(arena_140k, arena, at_most=66)
    assert winner == "gemini-2.5-pro"


def test_arena_140k_with_ties_dropped_reports_the_tie_only_model(arena_140k: VoteTable) -> None:
    result = analyze(arena_140k, _fast_options(ties="drop"))
    assert result["fit"]["models_without_votes"] == ["qwen3-coder-480b-a35b-instruct"]
    assert "qwen3-coder-480b-a35b-instruct" not in {row["model"] for row in result["scores"]}
    assert result["dataset"]["n_self_comparisons"] == 10
    assert len(result["dataset"]["self_comparison_votes"]) == 10
    top1 = result["fragility"][0]
    assert top1["pair"][0] == "gemini-2.5-pro"
    assert top1["verified"]
    assert top1["votes_to_flip"] <= 49
    kept = kept_votes(arena_140k, top1["dropped_votes"], ties="drop")
    scores = scipy_scores(*kept, len(arena_140k.models))
    winner, challenger = (arena_140k.models.index(name) for name in top1["pair"])
    assert scores[challenger] > scores[winner]


def _fast_options(**changes: object):  # type: ignore[no-untyped-def]
    from registry.fragility import AnalysisOptions

    return AnalysisOptions(
        top_k=(1,), bootstrap_rounds=0, random_trials=0, adjacent_pairs=False, **changes
    )


def vote_files() -> list[Path]:
    """Every file of ../shared/data that holds votes (so a new one is read too)."""
    if not SHARED_DATA.is_dir():
        return []
    return sorted(
        path
        for path in SHARED_DATA.rglob("*")
        if path.is_file()
        and path.name not in NOT_VOTES
        and not path.name.startswith(NOT_VOTES_PREFIXES)
    )


def test_manage_py_fragility_reads_every_real_file_unmodified() -> None:
    shared_file("README.md")  # skip (or fail, where required) without the folder
    files = vote_files()
    assert len(files) >= 7
    for path in files:
        options = LLMFAO_OPTIONS if path.parent.name == "llmfao" else []
        out = StringIO()
        call_command(
            "fragility",
            str(path),
            *options,
            "--bootstrap=0",
            "--random-trials=0",
            "--no-adjacent",
            "--top-k=1",
            "--json",
            stdout=out,
        )
        result = json.loads(out.getvalue())
        assert result["dataset"]["n_votes"] > 1000, path
        assert result["scores"], path
