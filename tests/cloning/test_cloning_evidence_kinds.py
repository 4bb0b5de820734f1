"""Typed evidence details: every kind has a valid example and field-level errors."""

from typing import Any

import pytest

from registry.cloning import KIND_CHOICES, EvidenceDetailsError, validate_details
from registry.cloning.evidence_kinds import KINDS

DIGEST = "ab" * 32
VALID: dict[str, dict[str, Any]] = {
    "query_volume": {"queries": 120_000, "accounts": 24, "window_start": "2026-01-02T00:00:00Z",
                     "window_end": "2026-01-09T00:00:00+02:00", "baseline_ratio": 40.5},
    "account_cluster": {"cluster_size": 24, "shared_indicators": 8},
    "extraction_detector": {"detector": "PRADA", "statistic": 0.81, "threshold": 0.9},
    "reasoning_elicitation": {"elicitation_rate": 0.4, "queries": 500, "elicited": 200},
    "output_similarity": {"similarity": 0.6, "baseline_mean": 0.2, "baseline_sd": 0.05,
                          "p_value": 0.001, "adjusted_p_value": 0.002, "prompts": 300},
    "fingerprint_classification": {"label": "teacher-v2", "distance": 0.1, "margin": 0.3,
                                   "queries": 50},
    "stylometric": {"accuracy": 0.9, "share_attributed": 0.7, "ci_low": 0.6, "ci_high": 0.8},
    "watermark": {"tokens_scored": 20_000, "score": 5.2, "p_value": 1e-7, "key_id_hash": DIGEST},
    "embedded_fingerprint": {"keys_matched": 7, "keys_total": 10, "false_trigger_rate": 0.01,
                             "p_value": 1e-12, "commitment": DIGEST.upper()},
    "weight_similarity": {"metric": "cosine", "value": 0.99, "suspect_digest": DIGEST,
                          "reference_digest": "cd" * 32},
    "artifact_identity": {"digest": DIGEST, "matching_release_artifact": "model.safetensors",
                          "signature_result": "valid"},
    "mitigation": {"atlas_mitigation_id": "AML.M0004", "date": "2026-02-01",
                   "effect": "rate limit cut campaign volume by 90%"},
}  # fmt: skip


def test_every_kind_has_a_choice_and_a_valid_example() -> None:
    assert [slug for slug, _ in KIND_CHOICES] == list(KINDS)
    assert set(VALID) == set(KINDS)


@pytest.mark.parametrize("kind", sorted(VALID))
def test_a_valid_example_is_accepted_and_cleaned(kind: str) -> None:
    cleaned = validate_details(kind, dict(VALID[kind]))
    assert set(cleaned) == set(VALID[kind])


@pytest.mark.parametrize("kind", sorted(VALID))
def test_each_required_field_is_reported_when_missing(kind: str) -> None:
    required = [name for name, spec in KINDS[kind].fields.items() if spec.required]
    for name in required:
        details = {k: v for k, v in VALID[kind].items() if k != name}
        with pytest.raises(EvidenceDetailsError) as caught:
            validate_details(kind, details)
        assert caught.value.errors == {name: ["this field is required"]}


@pytest.mark.parametrize(
    ("kind", "change", "field", "message"),
    [
        ("output_similarity", {"p_value": 1.2}, "p_value", "between 0 and 1"),
        ("output_similarity", {"adjusted_p_value": 0.0005}, "adjusted_p_value", "p_value"),
        ("embedded_fingerprint", {"keys_matched": 11}, "keys_total", "keys_matched"),
        ("embedded_fingerprint", {"keys_total": True}, "keys_total", "integer"),
        ("stylometric", {"ci_low": 0.9}, "ci_high", "ci_low"),
        ("watermark", {"key_id_hash": "abc"}, "key_id_hash", "64 hex"),
        ("query_volume", {"window_end": "2026-01-01T00:00:00Z"}, "window_end", "window_start"),
        ("query_volume", {"window_start": "last week"}, "window_start", "ISO 8601"),
        ("query_volume", {"baseline_ratio": float("nan")}, "baseline_ratio", "finite"),
        ("account_cluster", {"cluster_size": 1}, "cluster_size", "at least 2"),
        ("artifact_identity", {"signature_result": "ok"}, "signature_result", "one of"),
        ("mitigation", {"atlas_mitigation_id": "M0004"}, "atlas_mitigation_id", "AML.M0004"),
        ("mitigation", {"colour": "red"}, "colour", "unknown field"),
    ],
)
def test_bad_values_are_reported_against_their_field(
    kind: str, change: dict[str, Any], field: str, message: str
) -> None:
    with pytest.raises(EvidenceDetailsError) as caught:
        validate_details(kind, {**VALID[kind], **change})
    assert field in caught.value.errors
    assert any(message in text for text in caught.value.errors[field])


def test_unknown_kind_is_a_kind_error() -> None:
    with pytest.raises(EvidenceDetailsError) as caught:
        validate_details("telepathy", {})
    assert list(caught.value.errors) == ["kind"]


def test_digests_and_times_are_normalised() -> None:
    cleaned = validate_details("query_volume", VALID["query_volume"])
    assert cleaned["window_end"] == "2026-01-08T22:00:00+00:00"
    cleaned = validate_details("embedded_fingerprint", VALID["embedded_fingerprint"])
    assert cleaned["commitment"] == DIGEST
