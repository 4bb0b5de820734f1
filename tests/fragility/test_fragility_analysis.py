"""The analysis result: exact schema, JSON safety, plain-words table, claims, CLI options."""

from __future__ import annotations

import argparse
import csv
import io
import json
from collections import Counter

import numpy as np
import pytest
from fragility_helpers import LLMFAO_OPTIONS, SYNTHETIC_LEADER, independent_scores, vote_arrays

from registry.fragility import (
    ENGINE_VERSION,
    AnalysisOptions,
    Arena,
    VoteTable,
    add_arguments,
    analyze,
    format_table,
    options_from_args,
)

REQUIRED_SCORE_KEYS = {"model", "score", "elo", "ci_low", "ci_high", "rank", "rank_ub"}
REQUIRED_FRAGILITY_KEYS = {
    "kind",
    "k",
    "pair",
    "challenger",
    "votes_to_flip",
    "fraction",
    "dropped_votes",
    "gap_before",
    "gap_after",
    "verified",
}


@pytest.fixture(scope="module")
def arena_result(arena_csv: bytes, tmp_path_factory: pytest.TempPathFactory) -> dict:
    path = tmp_path_factory.mktemp("arena") / "votes.csv"
    path.write_bytes(arena_csv)
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(
        [
            str(path),
            *LLMFAO_OPTIONS,
            "--bootstrap",
            "50",
            "--random-trials",
            "10",
        ]
    )
    progress: list[int] = []
    result = analyze(args.path, options_from_args(args), progress=progress.append)
    result["_progress"] = progress
    return result


def test_result_has_the_documented_schema_and_is_strict_json(arena_result: dict) -> None:
    result = {key: value for key, value in arena_result.items() if key != "_progress"}
    json.dumps(result, allow_nan=False)
    assert result["engine_version"] == ENGINE_VERSION
    assert {"sha256", "n_votes", "n_models", "n_ties"} <= result["dataset"].keys()
    assert {"tie_handling", "reference_model", "mle_exists", "ridge"} <= result["fit"].keys()
    assert all(row.keys() >= REQUIRED_SCORE_KEYS for row in result["scores"])
    assert all(row.keys() >= REQUIRED_FRAGILITY_KEYS for row in result["fragility"])
    assert [row["rank"] for row in result["scores"]] == sorted(r["rank"] for r in result["scores"])
    kinds = [(row["kind"], row["k"]) for row in result["fragility"]]
    assert kinds[:3] == [("top_k", 1), ("top_k", 3), ("top_k", 5)]
    n_models = result["dataset"]["n_models"]
    assert sum(kind == "adjacent" for kind, _ in kinds) == n_models - 1
    assert result["dataset"]["vote_ids"] == "record position (1-based)"
    assert result["dataset"]["n_self_comparisons"] == result["dataset"]["n_duplicates"] == 0
    assert result["fit"]["models_without_votes"] == []


def test_every_reported_flip_is_verified_by_an_independent_refit(
    arena_result: dict, arena_votes: VoteTable
) -> None:
    for row in arena_result["fragility"][:6]:
        assert row["verified"]
        assert row["gap_after"] < 0 < row["gap_before"]
        kept = vote_arrays(arena_votes, drop=[v - 1 for v in row["dropped_votes"]])
        scores = independent_scores(*kept, len(arena_votes.models))
        winner, challenger = (arena_votes.models.index(name) for name in row["pair"])
        assert scores[challenger] > scores[winner]
        assert row["fraction"] == pytest.approx(row["votes_to_flip"] / arena_votes.n_votes)


def test_table_says_in_plain_words_which_votes_change_the_leader(arena_result: dict) -> None:
    table = format_table(arena_result)
    top1 = arena_result["fragility"][0]
    n_votes = arena_result["dataset"]["n_votes"]
    assert f"top-1: dropping {top1['votes_to_flip']} of {n_votes:,} votes" in table
    assert f"puts {top1['challenger']} above {SYNTHETIC_LEADER}" in table
    header_row = next(i for i, line in enumerate(table.splitlines()) if "95% CI" in line)
    assert table.splitlines()[header_row + 1].split()[2] == SYNTHETIC_LEADER


def test_progress_is_reported_up_to_100(arena_result: dict) -> None:
    progress = arena_result["_progress"]
    assert progress == sorted(progress)
    assert progress[-1] == 100


def test_claims_x_beats_r_and_x_holds_rank(arena_votes: VoteTable) -> None:
    arena = Arena(arena_votes)
    beats = arena.beats(SYNTHETIC_LEADER, "model-03")
    assert beats.votes_to_flip is not None
    names = arena.comparisons.models
    holds = arena.holds_rank(SYNTHETIC_LEADER, 2)  # pushed to rank 3 needs two models to overtake
    assert holds.votes_to_flip is not None
    assert holds.votes_to_flip > beats.votes_to_flip / 10
    kept = vote_arrays(arena_votes, drop=[v - 1 for v in arena.dropped_vote_ids(holds)])
    scores = independent_scores(*kept, len(names))
    assert np.sum(scores > scores[names.index(SYNTHETIC_LEADER)]) >= 2


def test_bad_cli_options_are_rejected_with_their_name() -> None:
    parser = argparse.ArgumentParser()
    add_arguments(parser, include_path=False)
    with pytest.raises(ValueError, match="--top-k"):
        options_from_args(parser.parse_args(["--top-k", "one"]))
    assert options_from_args(parser.parse_args(["--ties", "drop"])) == AnalysisOptions(ties="drop")


def test_random_drops_are_uniform_over_votes_without_replacement() -> None:
    from scipy import stats

    from registry.fragility.analysis import random_drop_counts

    counts = np.array([1, 0, 5, 30, 64])
    generator = np.random.default_rng(3)
    draws = np.array([random_drop_counts(generator, counts, 10) for _ in range(4000)])
    assert (draws.sum(axis=1) == 10).all()
    assert (draws <= counts).all()
    assert draws[:, 1].max() == 0
    # Each type's count is hypergeometric(100 votes, counts[t] of the type, 10 drawn).
    for vote_type, count in enumerate(counts):
        expected = stats.hypergeom(counts.sum(), count, 10)
        observed = np.bincount(draws[:, vote_type], minlength=11)[:11]
        probabilities = expected.pmf(np.arange(11))
        keep = probabilities * draws.shape[0] >= 5
        if keep.sum() >= 2:
            chi2 = stats.chisquare(
                observed[keep],
                probabilities[keep] / probabilities[keep].sum() * observed[keep].sum(),
            )
            assert chi2.pvalue > 1e-4


def test_each_models_votes_are_counted_from_the_file(arena_result: dict, arena_csv: bytes) -> None:
    """The leaderboard's votes column, against a plain count of the CSV's rows (ties count:
    the default convention keeps them as half a win each)."""
    counted: Counter[str] = Counter()
    for record in csv.DictReader(io.StringIO(arena_csv.decode())):
        counted[record["left"]] += 1
        counted[record["right"]] += 1
    assert {row["model"]: row["votes"] for row in arena_result["scores"]} == dict(counted)
