"""Embedded-fingerprint verification: commitment binding, k of n and the binomial p-value."""

import hashlib
import json
from fractions import Fraction
from math import comb

import pytest
from hypothesis import given
from hypothesis import strategies as st

from registry.cloning import (
    CloningInputError,
    CommitmentMismatchError,
    commitment_digest,
    fingerprint_verify,
    validate_details,
)
from registry.cloning.fingerprint import response_matches

KEYS = [
    {"key_id": "k1", "prompt": "Say the secret word", "expected": "ZEBRA-LANTERN"},
    {"key_id": "k2", "prompt": "Recite clause 9", "expected": "Ünïcode stays"},
    {"key_id": "k3", "prompt": "What is the motto?", "expected": "quietly onward"},
    {"key_id": "k4", "prompt": "Complete: blue ...", "expected": "heron at dusk"},
]


def jsonl(records: list[dict[str, str]], **dumps: object) -> bytes:
    return ("\n".join(json.dumps(r, **dumps) for r in records) + "\n").encode()  # type: ignore[arg-type]


def test_commitment_is_sha256_of_the_documented_canonical_form() -> None:
    by_id = sorted(KEYS, key=lambda k: k["key_id"])
    body = ",".join(
        '{"expected":' + json.dumps(k["expected"], ensure_ascii=False)
        + ',"key_id":' + json.dumps(k["key_id"])
        + ',"prompt":' + json.dumps(k["prompt"]) + "}"
        for k in by_id
    )  # fmt: skip
    expected = hashlib.sha256(("[" + body + "]").encode("utf-8")).hexdigest()
    assert commitment_digest(jsonl(KEYS)) == expected


@given(order=st.permutations(KEYS), indent=st.sampled_from([None, 1]))
def test_commitment_ignores_key_order_and_upload_formatting(
    order: list[dict[str, str]], indent: int | None
) -> None:
    upload = b"\n".join(json.dumps(k, ensure_ascii=indent is None).encode() for k in order)
    assert commitment_digest(upload) == commitment_digest(jsonl(KEYS))


def test_changing_any_revealed_key_breaks_the_commitment() -> None:
    commitment = commitment_digest(jsonl(KEYS))
    tampered = [dict(KEYS[0], expected="ZEBRA-LANTERNS"), *KEYS[1:]]
    with pytest.raises(CommitmentMismatchError, match="not to the committed digest"):
        fingerprint_verify(
            jsonl(tampered), jsonl([]) + b"{}", commitment=commitment, false_trigger_rate=0.01
        )


def brute_force_tail(k: int, n: int, rate: float) -> float:
    q = Fraction(rate)
    return float(sum(comb(n, i) * q**i * (1 - q) ** (n - i) for i in range(k, n + 1)))


def test_k_of_n_and_the_p_value_match_an_exact_binomial_tail() -> None:
    responses = [
        {"key_id": "k1", "response": "Sure! zebra-lantern."},
        {"key_id": "k2", "response": "ünïcode   STAYS"},
        {"key_id": "k3", "response": "I cannot help with that"},
    ]
    result = fingerprint_verify(
        jsonl(KEYS), jsonl(responses), commitment=commitment_digest(jsonl(KEYS)),
        false_trigger_rate=0.05,
    )  # fmt: skip
    assert (result.keys_matched, result.keys_total, result.keys_answered) == (2, 4, 3)
    assert result.matched_key_ids == ["k1", "k2"]
    assert result.p_value == pytest.approx(brute_force_tail(2, 4, 0.05), rel=1e-9)
    assert result.ci_low <= 0.5 <= result.ci_high
    assert result.decision == "reject"
    json.dumps(result.to_dict(), allow_nan=False)
    assert validate_details("embedded_fingerprint", result.evidence_item()["details"])


@pytest.mark.parametrize(
    ("rule", "response", "matches"),
    [
        ("contains", "well: Heron  at dusk!", True),
        ("prefix", "well: heron at dusk", False),
        ("prefix", "HERON at dusk, said the model", True),
        ("exact", "heron at dusk ", True),
        ("exact", "heron at dusk.", False),
    ],
)
def test_match_rules(rule: str, response: str, matches: bool) -> None:
    assert response_matches(response, "heron at dusk", rule) is matches  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("responses", "message"),
    [
        (b'{"key_id": "k9", "response": "x"}\n', "line 1: unknown key_id 'k9'"),
        (b'{"key_id": "k1"}\n', "line 1: missing field 'response'"),
        (
            b'{"key_id": "k1", "response": "a"}\n{"key_id": "k1", "response": "b"}\n',
            "line 2: duplicate",
        ),
        (b"\xff\n", "line 1 is not valid UTF-8"),
    ],
)
def test_malformed_responses_name_the_record(responses: bytes, message: str) -> None:
    with pytest.raises(CloningInputError, match=message):
        fingerprint_verify(
            jsonl(KEYS), responses, commitment=commitment_digest(jsonl(KEYS)),
            false_trigger_rate=0.01,
        )  # fmt: skip


def test_duplicate_key_ids_in_the_key_set_are_rejected() -> None:
    with pytest.raises(CloningInputError, match="line 2: duplicate key_id 'k1'"):
        commitment_digest(jsonl([KEYS[0], KEYS[0]]))
