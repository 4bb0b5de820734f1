"""The presenter: one reading of a result for the pages, the CLI and the report builder."""

from __future__ import annotations

from registry.fragility.presenter import (
    NOT_AVAILABLE,
    claim_verdict,
    flip_sentence,
    interval_bounds,
    score_rows,
)

ROW = {
    "kind": "top_k",
    "k": 1,
    "pair": ["Alpha", "Beta"],
    "votes_to_flip": 1200,
    "fraction": 0.012,
}
ANSWER = {
    "answerable": True,
    "holds_on_full_data": True,
    "model": "Alpha",
    "challenger": "Beta",
    "votes_to_flip": 14,
    "fraction": 0.0016,
    "verified": True,
}


def test_a_flip_is_said_with_its_count_share_and_direction() -> None:
    assert flip_sentence(ROW, 100_000) == (
        "top-1: dropping 1,200 of 100,000 votes (1.20%) puts Beta above Alpha"
    )
    adjacent = {**ROW, "kind": "adjacent", "k": 3, "votes_to_flip": None, "fraction": None}
    assert "rank 3 vs 4: no flip within the budget" in flip_sentence(adjacent, 10)
    assert "not certified" in flip_sentence(adjacent, 10)


def test_a_claim_is_fragile_only_when_the_refit_confirmed_the_flip() -> None:
    fragile = claim_verdict(ANSWER, 8931)
    assert (fragile.word, fragile.votes_to_flip) == ("fragile", 14)
    assert fragile.sentence.endswith("Beta overtakes Alpha (verified by refitting).")
    unconfirmed = claim_verdict({**ANSWER, "verified": False}, 8931)
    assert unconfirmed.word == "robust within the search budget"
    assert unconfirmed.votes_to_flip is None
    assert claim_verdict(None, None).word == "not analysed"
    assert claim_verdict({"answerable": False, "reason": "x"}, 1).word == "not answerable: x"
    fails = claim_verdict({**ANSWER, "holds_on_full_data": False}, 1)
    assert fails.word == "does not hold on the full data"


def test_a_missing_interval_is_not_available_and_drawn_as_its_point() -> None:
    rows = score_rows([{"model": "Alpha", "elo": 1010.0, "ci_low": None, "ci_high": None}])
    assert rows[0]["interval"] == NOT_AVAILABLE
    assert interval_bounds(rows[0]) == (1010.0, 1010.0)
    shown = score_rows([{"model": "B", "elo": 990.0, "ci_low": 980.04, "ci_high": 1000.06}])
    assert shown[0]["interval"] == "980.0 \u2013 1000.1"
