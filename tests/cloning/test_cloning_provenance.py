"""Output-similarity provenance test: planted derivation found, null FPR near alpha, bad input."""

import hashlib
import json
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from registry.cloning import CloningInputError, provenance_test, validate_details
from registry.cloning.provenance import prefix_agreement, response_tokens

VOCABULARY = [f"w{index}" for index in range(40)]


def random_response(rng: np.random.Generator, length: int = 24) -> list[str]:
    return [VOCABULARY[i] for i in rng.integers(0, len(VOCABULARY), length)]


def derived_response(rng: np.random.Generator, parent: list[str], keep: float) -> list[str]:
    """A distilled child: keeps each parent token with probability ``keep``."""
    return [
        tok if rng.random() < keep else VOCABULARY[rng.integers(len(VOCABULARY))] for tok in parent
    ]


def upload(
    rng: np.random.Generator,
    *,
    prompts: int,
    unrelated: list[str],
    parent: str | None = None,
    keep: float = 0.5,
) -> bytes:
    """JSONL with a suspect, the ``unrelated`` models and optionally the suspect's parent."""
    lines = []
    for prompt in range(prompts):
        answers = {model: random_response(rng) for model in unrelated}
        if parent is None:
            answers["suspect"] = random_response(rng)
        else:
            answers[parent] = random_response(rng)
            answers["suspect"] = derived_response(rng, answers[parent], keep)
        lines.extend(
            json.dumps({"prompt_id": f"p{prompt}", "model": model, "response": " ".join(tokens)})
            for model, tokens in answers.items()
        )
    return ("\n".join(lines) + "\n").encode()


def test_a_planted_distilled_model_is_attributed_to_its_parent_only() -> None:
    data = upload(
        np.random.default_rng(3),
        prompts=60,
        unrelated=["other", "base1", "base2", "base3"],
        parent="teacher",
        keep=0.3,
    )
    result = provenance_test(
        data,
        suspect="suspect",
        candidates=["teacher", "other"],
        baselines=["base1", "base2", "base3"],
        permutations=1999,
    )
    by_name = {c.candidate: c for c in result.candidates}
    assert by_name["teacher"].decision == "reject"
    assert by_name["teacher"].adjusted_p_value <= 0.01
    assert by_name["other"].decision == "not_rejected"
    assert by_name["teacher"].similarity_mean > by_name["teacher"].baseline_mean
    assert by_name["teacher"].ci_low > 0 > by_name["other"].ci_low


@pytest.mark.parametrize("method", ["permutation", "sign"])
def test_with_no_planted_relation_the_false_positive_rate_stays_at_or_below_alpha(
    method: str,
) -> None:
    """200 seeded null data sets: rejections must stay within a binomial tolerance of alpha."""
    trials, alpha = 200, 0.05
    rejections = 0
    for seed in range(trials):
        data = upload(np.random.default_rng(seed), prompts=30, unrelated=["cand", "base1", "base2"])
        result = provenance_test(
            data,
            suspect="suspect",
            candidates=["cand"],
            baselines=["base1", "base2"],
            method=method,  # type: ignore[arg-type]
            permutations=199,
            seed=seed,
        )
        rejections += result.candidates[0].decision == "reject"
    # Upper 99.9% point of Binomial(200, 0.05) is 21; a valid test rarely exceeds it.
    assert rejections <= 21
    assert rejections / trials <= alpha + 3 * math.sqrt(alpha * (1 - alpha) / trials)


def test_holm_adjustment_is_applied_across_candidates() -> None:
    data = upload(np.random.default_rng(5), prompts=40, unrelated=["c1", "c2", "c3", "b1", "b2"])
    result = provenance_test(
        data, suspect="suspect", candidates=["c1", "c2", "c3"], baselines=["b1", "b2"]
    )
    raw = sorted(c.p_value for c in result.candidates)
    adjusted_smallest = min(c.adjusted_p_value for c in result.candidates)
    assert adjusted_smallest == pytest.approx(min(1.0, 3 * raw[0]))
    assert result.p_value_adjustment == "holm"


def test_the_same_seed_gives_the_same_result_and_the_input_hash_is_recorded() -> None:
    data = upload(np.random.default_rng(1), prompts=20, unrelated=["c", "b1", "b2"])
    kwargs = {"suspect": "suspect", "candidates": ["c"], "baselines": ["b1", "b2"], "seed": 4}
    first, second = provenance_test(data, **kwargs), provenance_test(data, **kwargs)  # type: ignore[arg-type]
    assert first == second
    assert first.input_sha256 == hashlib.sha256(data).hexdigest()


def test_results_serialise_to_strict_json_and_details_fit_the_evidence_kind() -> None:
    data = upload(np.random.default_rng(2), prompts=20, unrelated=["c", "b1", "b2"])
    result = provenance_test(data, suspect="suspect", candidates=["c"], baselines=["b1", "b2"])
    json.dumps(result.to_dict(), allow_nan=False)
    for item in result.evidence_items():
        json.dumps(item, allow_nan=False)
        assert validate_details(item["kind"], item["details"])["prompts"] == 20


def brute_force_agreement(a: str, b: str, prefix: int) -> float:
    x, y = a.casefold().split(), b.casefold().split()
    width = min(prefix, max(len(x), len(y)))
    if width == 0:
        return 1.0
    padded_x = x + [None] * width  # type: ignore[list-item]
    padded_y = y + [None] * width  # type: ignore[list-item]
    return sum(padded_x[i] == padded_y[i] and padded_x[i] is not None for i in range(width)) / width


words = st.lists(st.sampled_from(["a", "b", "C", "c"]), max_size=12).map(" ".join)


@given(first=words, second=words, prefix=st.integers(min_value=1, max_value=15))
def test_prefix_agreement_matches_the_positionwise_definition(
    first: str, second: str, prefix: int
) -> None:
    value = prefix_agreement(response_tokens(first), response_tokens(second), prefix)
    assert value == pytest.approx(brute_force_agreement(first, second, prefix))
    assert value == prefix_agreement(response_tokens(second), response_tokens(first), prefix)


def line(prompt: str, model: str, response: str) -> str:
    return json.dumps({"prompt_id": prompt, "model": model, "response": response})


GOOD = [line(p, m, "x y z") for p in ("p1", "p2") for m in ("s", "c", "b1", "b2")]


@pytest.mark.parametrize(
    ("lines", "kwargs", "message"),
    [
        (GOOD, {"baselines": ["b1"]}, "at least 2 distinct baseline"),
        (GOOD, {"candidates": ["ghost"]}, r"unknown model labels \['ghost'\]"),
        ([*GOOD[:3], '{"prompt_id": "p1", "response": "x"}'], {}, "line 4: missing field 'model'"),
        ([*GOOD, "[1, 2]"], {}, "line 9 is not a JSON object"),
        ([*GOOD, GOOD[0]], {}, "line 9: duplicate response for model 's'"),
        ([], {}, "no records"),
        (GOOD, {"candidates": ["b1"]}, "more than one role"),
    ],
)
def test_malformed_uploads_get_an_error_naming_the_record(
    lines: list[str], kwargs: dict[str, object], message: str
) -> None:
    arguments: dict[str, object] = {"suspect": "s", "candidates": ["c"], "baselines": ["b1", "b2"]}
    arguments.update(kwargs)
    with pytest.raises(CloningInputError, match=message):
        provenance_test("\n".join(lines).encode(), **arguments)  # type: ignore[arg-type]


def test_non_utf8_upload_names_the_line() -> None:
    data = ("\n".join(GOOD[:2]) + "\n").encode() + b'{"prompt_id": "\xff"}\n'
    with pytest.raises(CloningInputError, match="line 3 is not valid UTF-8"):
        provenance_test(data, suspect="s", candidates=["c"], baselines=["b1", "b2"])
