"""Embedded-fingerprint verification against a prior commitment.

An *embedded fingerprint* is a set of secret (prompt, expected response) keys that a model
owner trains into a model (e.g. Xu et al., "Instructional Fingerprinting of Large Language
Models", NAACL 2024). Before accusing anyone the owner publishes a *commitment*: the SHA-256
of the key set's canonical serialisation. To verify, the owner reveals the key set; we check it
hashes to the committed digest (so the keys were not chosen after seeing the suspect's
answers), count the keys whose expected response the suspect produced (k of n), and compute
the one-sided exact binomial p-value P(X >= k), X ~ Binomial(n, false_trigger_rate), where the
false-trigger rate is the stated probability that a model *not* carrying the fingerprint
produces the expected response by chance.

Canonical serialisation of a key set (the bytes that are hashed): the keys as a JSON array,
sorted by ``key_id`` (compared as strings), each key an object with exactly the fields
``expected``, ``key_id``, ``prompt`` (all strings) in that sorted order, serialised with
``json.dumps(..., sort_keys=True, separators=(",", ":"), ensure_ascii=False)`` and encoded
as UTF-8; no whitespace anywhere outside strings. Key-set upload: JSONL of
``{"key_id", "prompt", "expected"}``; responses upload: JSONL of ``{"key_id", "response"}``.

A response *matches* when, after NFC normalisation, case-folding and whitespace collapsing,
it contains the expected response (``match="contains"``, the default: fingerprinted models
often wrap the answer), starts with it (``"prefix"``) or equals it (``"exact"``). A key with
no response counts as not matched, which can only lower k.
"""

import hashlib
import json
import unicodedata
from dataclasses import asdict, dataclass
from typing import Any, Literal

from scipy import stats as scipy_stats

from registry.cloning._records import parse_jsonl, require_identifier, require_string
from registry.cloning.errors import CloningInputError, CommitmentMismatchError

METHOD_NAME = "embedded_fingerprint_verification"
METHOD_VERSION = "1.0"
MatchRule = Literal["contains", "prefix", "exact"]
KEYS = "fingerprint key set"
RESPONSES = "fingerprint responses"


@dataclass(frozen=True)
class FingerprintKey:
    """One revealed fingerprint key."""

    key_id: str
    prompt: str
    expected: str


@dataclass(frozen=True)
class FingerprintResult:
    """k of n keys triggered, with the binomial p-value against the false-trigger rate."""

    commitment: str
    keys_matched: int
    keys_total: int
    keys_answered: int
    false_trigger_rate: float
    p_value: float
    ci_low: float
    ci_high: float
    alpha: float
    decision: Literal["reject", "not_rejected"]
    match_rule: MatchRule
    matched_key_ids: list[str]
    responses_sha256: str
    method_name: str = METHOD_NAME
    method_version: str = METHOD_VERSION

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict."""
        return asdict(self)

    def evidence_item(self) -> dict[str, Any]:
        """The Evidence-row dict; ``details`` fits the embedded_fingerprint kind."""
        return {
            "kind": "embedded_fingerprint",
            "method": self.method_name,
            "method_version": self.method_version,
            "n": self.keys_total,
            "statistic_name": "keys_matched",
            "statistic_value": float(self.keys_matched),
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "p_value": self.p_value,
            "alpha": self.alpha,
            "p_value_adjustment": "none",
            "decision": self.decision,
            "description": (
                f"{self.keys_matched} of {self.keys_total} committed fingerprint keys triggered "
                f"({self.match_rule} match); P(X >= {self.keys_matched}) = {self.p_value:.3g} "
                f"for a false-trigger rate of {self.false_trigger_rate:g}."
            ),
            "input_sha256": self.responses_sha256,
            "details": {
                "keys_matched": self.keys_matched,
                "keys_total": self.keys_total,
                "false_trigger_rate": self.false_trigger_rate,
                "p_value": self.p_value,
                "commitment": self.commitment,
            },
        }


def _key_dict(key: FingerprintKey) -> dict[str, str]:
    return {"expected": key.expected, "key_id": key.key_id, "prompt": key.prompt}


def canonical_key_set_bytes(keys: list[FingerprintKey]) -> bytes:
    """The canonical serialisation defined in the module docstring."""
    ordered = sorted(keys, key=lambda key: key.key_id)
    text = json.dumps(
        [_key_dict(key) for key in ordered],
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return text.encode("utf-8")


def parse_key_set(data: bytes) -> list[FingerprintKey]:
    """Parse the key-set JSONL; key ids must be unique."""
    keys: dict[str, FingerprintKey] = {}
    for line_number, record in parse_jsonl(data, what=KEYS):
        key_id = require_identifier(record, "key_id", line_number=line_number, what=KEYS)
        if key_id in keys:
            raise CloningInputError(f"{KEYS}: line {line_number}: duplicate key_id '{key_id}'")
        keys[key_id] = FingerprintKey(
            key_id=key_id,
            prompt=require_string(record, "prompt", line_number=line_number, what=KEYS),
            expected=require_string(record, "expected", line_number=line_number, what=KEYS),
        )
    return list(keys.values())


def commitment_digest(material: bytes | list[FingerprintKey]) -> str:
    """SHA-256 hex digest of a key set's canonical serialisation.

    ``material`` is either the key-set JSONL upload or already-parsed keys; both give the
    same digest for the same keys, whatever their order or the upload's formatting.
    """
    keys = parse_key_set(material) if isinstance(material, bytes) else material
    return hashlib.sha256(canonical_key_set_bytes(keys)).hexdigest()


def verify_commitment(material: bytes, committed_digest: str) -> list[FingerprintKey]:
    """Parse revealed keys and check them against the commitment; returns the keys."""
    keys = parse_key_set(material)
    actual = commitment_digest(keys)
    if actual != committed_digest.strip().lower():
        raise CommitmentMismatchError(
            f"{KEYS}: the revealed keys hash to {actual}, not to the committed digest "
            f"{committed_digest}; the key set was changed after the commitment or is incomplete"
        )
    return keys


def _normalised(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).casefold().split())


def response_matches(response: str, expected: str, rule: MatchRule) -> bool:
    """Whether a response triggers a key under the given match rule."""
    got, want = _normalised(response), _normalised(expected)
    if rule == "exact":
        return got == want
    if rule == "prefix":
        return got.startswith(want)
    return want in got


def _parse_responses(data: bytes, key_ids: set[str]) -> dict[str, str]:
    responses: dict[str, str] = {}
    for line_number, record in parse_jsonl(data, what=RESPONSES):
        key_id = require_identifier(record, "key_id", line_number=line_number, what=RESPONSES)
        if key_id not in key_ids:
            raise CloningInputError(f"{RESPONSES}: line {line_number}: unknown key_id '{key_id}'")
        if key_id in responses:
            raise CloningInputError(
                f"{RESPONSES}: line {line_number}: duplicate response for key_id '{key_id}'"
            )
        responses[key_id] = require_string(
            record, "response", line_number=line_number, what=RESPONSES
        )
    return responses


def fingerprint_verify(
    key_set: bytes,
    responses: bytes,
    *,
    commitment: str,
    false_trigger_rate: float,
    alpha: float = 0.05,
    match: MatchRule = "contains",
) -> FingerprintResult:
    """Verify revealed keys against ``commitment`` and test the suspect's responses."""
    if not 0 < false_trigger_rate < 1:
        raise CloningInputError(
            f"false_trigger_rate must lie strictly between 0 and 1, got {false_trigger_rate}"
        )
    if not 0 < alpha < 1:
        raise CloningInputError(f"alpha must lie strictly between 0 and 1, got {alpha}")
    if match not in ("contains", "prefix", "exact"):
        raise CloningInputError(f"match must be 'contains', 'prefix' or 'exact', got {match!r}")
    keys = verify_commitment(key_set, commitment)
    answered = _parse_responses(responses, {key.key_id for key in keys})
    matched = sorted(
        key.key_id
        for key in keys
        if key.key_id in answered and response_matches(answered[key.key_id], key.expected, match)
    )
    test = scipy_stats.binomtest(len(matched), len(keys), false_trigger_rate, alternative="greater")
    # Clopper-Pearson interval for the suspect's trigger rate (two-sided, level 1 - alpha).
    interval = scipy_stats.binomtest(len(matched), len(keys)).proportion_ci(
        confidence_level=1 - alpha, method="exact"
    )
    p_value = float(test.pvalue)
    return FingerprintResult(
        commitment=commitment.strip().lower(),
        keys_matched=len(matched),
        keys_total=len(keys),
        keys_answered=len(answered),
        false_trigger_rate=false_trigger_rate,
        p_value=p_value,
        ci_low=float(interval.low),
        ci_high=float(interval.high),
        alpha=alpha,
        decision="reject" if p_value <= alpha else "not_rejected",
        match_rule=match,
        matched_key_ids=matched,
        responses_sha256=hashlib.sha256(responses).hexdigest(),
    )
