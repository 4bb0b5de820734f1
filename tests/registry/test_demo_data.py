"""The demo's generated files have the properties the demo's story relies on, checked from
the bytes themselves (plain csv/json parsing, not the registry's readers)."""

from __future__ import annotations

import csv
import io
import json
import math
from collections import Counter
from pathlib import Path

import pytest

from registry.demo_data import (
    MODELS,
    ArenaSize,
    ProvenanceSetup,
    arena_votes,
    fingerprint_key_set,
    fingerprint_responses,
    item_scores,
    main,
    provenance_responses,
    query_log,
)

SIZE = ArenaSize(votes=50_000, models=16)


@pytest.fixture(scope="module")
def votes() -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(arena_votes(SIZE).decode())))


def test_the_same_size_gives_the_same_bytes() -> None:
    assert arena_votes(SIZE) == arena_votes(SIZE)
    assert arena_votes(SIZE) != arena_votes(ArenaSize(votes=SIZE.votes, models=16, seed=1))


def test_every_vote_has_its_own_id_and_two_different_models(votes: list[dict[str, str]]) -> None:
    assert len(votes) == SIZE.votes
    assert len({vote["id"] for vote in votes}) == SIZE.votes
    assert not [vote for vote in votes if vote["model_a"] == vote["model_b"]]
    names = {vote["model_a"] for vote in votes} | {vote["model_b"] for vote in votes}
    assert names == {model.name for model in MODELS[: SIZE.models]}


def test_ties_are_thirty_percent_and_a_third_of_them_both_bad(
    votes: list[dict[str, str]],
) -> None:
    winners = Counter(vote["winner"] for vote in votes)
    ties = winners["tie"] + winners["tie (bothbad)"]
    standard_error = math.sqrt(0.3 * 0.7 / SIZE.votes)
    assert abs(ties / SIZE.votes - 0.3) < 4 * standard_error
    assert abs(winners["tie (bothbad)"] / ties - 1 / 3) < 0.02


def test_decisive_votes_follow_the_bradley_terry_strengths(votes: list[dict[str, str]]) -> None:
    strength = {model.name: model.strength for model in MODELS}
    decisive = [vote for vote in votes if vote["winner"] in ("model_a", "model_b")]
    expected = [
        1 / (1 + math.exp(strength[vote["model_b"]] - strength[vote["model_a"]]))
        for vote in decisive
    ]
    observed = sum(vote["winner"] == "model_a" for vote in decisive)
    variance = sum(p * (1 - p) for p in expected)
    assert abs(observed - sum(expected)) < 4 * math.sqrt(variance)


def test_the_race_at_the_top_is_close() -> None:
    first, second, *rest = sorted((model.strength for model in MODELS), reverse=True)
    assert first - second < 0.05 < second - rest[0]


def test_a_size_the_demo_cannot_hold_is_refused() -> None:
    with pytest.raises(ValueError, match="models must be from 8 to 40"):
        ArenaSize(models=41)


def test_the_suspect_copies_the_teachers_words_and_nobody_elses() -> None:
    setup = ProvenanceSetup("suspect", "teacher", "other", ("base-1", "base-2"))
    answers: dict[tuple[str, str], list[str]] = {}
    for line in provenance_responses(setup, copy_rate=0.5).decode().splitlines():
        row = json.loads(line)
        answers[row["prompt_id"], row["model"]] = row["response"].split()
    prompts = {prompt for prompt, _ in answers}

    def agreement(model: str) -> float:
        pairs = [
            (a, b)
            for prompt in prompts
            for a, b in zip(answers[prompt, "suspect"], answers[prompt, model], strict=True)
        ]
        return sum(a == b for a, b in pairs) / len(pairs)

    assert agreement("teacher") > 0.45
    assert max(agreement(model) for model in ("other", "base-1", "base-2")) < 0.1


def test_the_campaign_accounts_send_templated_prompts_at_volume() -> None:
    content, campaign = query_log()
    rows = list(csv.DictReader(io.StringIO(content.decode())))
    per_account = Counter(row["account"] for row in rows)
    ordinary = sorted(count for account, count in per_account.items() if account not in campaign)
    assert all(per_account[account] == 400 for account in campaign)
    assert ordinary[len(ordinary) // 2] * 10 < 400
    assert [row["timestamp"] for row in rows] == sorted(row["timestamp"] for row in rows)


def test_item_scores_are_paired_zero_one_scores() -> None:
    rows = list(csv.DictReader(io.StringIO(item_scores(items=200).decode())))
    assert len(rows) == 200
    assert {row["score_a"] for row in rows} | {row["score_b"] for row in rows} == {"0", "1"}


def test_the_command_line_writes_the_arena(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    out = tmp_path / "arena.csv"
    monkeypatch.setattr("sys.argv", ["demo_data", str(out), "--votes", "2000", "--models", "8"])
    main()
    assert out.read_bytes() == arena_votes(ArenaSize(votes=2000, models=8))


def test_the_fingerprint_fires_on_exactly_the_triggered_keys() -> None:
    keys = [json.loads(line) for line in fingerprint_key_set(keys=10).decode().splitlines()]
    answers = fingerprint_responses(fingerprint_key_set(keys=10), triggered=7).decode()
    responses = {row["key_id"]: row["response"] for row in map(json.loads, answers.splitlines())}
    assert len({key["key_id"] for key in keys}) == 10
    fired = [key["key_id"] for key in keys if key["expected"] in responses[key["key_id"]]]
    assert fired == [key["key_id"] for key in keys[:7]]
