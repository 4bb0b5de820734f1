"""Typed details for each kind of cloning evidence, with field-level validation.

An *evidence kind* is the family of method that produced a piece of cloning evidence (a
query-volume count, a provenance test, a fingerprint check ...). Every Evidence row carries
the common statistic columns; the kind-specific numbers live in a JSON ``details`` field whose
shape this module defines and checks. ``validate_details(kind, details)`` returns a cleaned
copy or raises ``EvidenceDetailsError`` whose ``errors`` maps each bad field to messages, so
the API can answer with a field-level 400.

Rules applied everywhere: required fields must be present, unknown fields are rejected (a
misspelt field would otherwise vanish silently), integers are real integers (not booleans or
floats), numbers are finite, probabilities and p-values lie in [0, 1], digests are 64
lowercase hex characters (SHA-256), timestamps are ISO 8601, CIs are ordered, and k <= n.
"""

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Literal

from registry.cloning.atlas import is_mitigation_id

FieldType = Literal[
    "string", "integer", "number", "probability", "digest", "datetime", "date", "boolean",
    "mitigation_id",
]  # fmt: skip
Errors = dict[str, list[str]]
CrossCheck = Callable[[dict[str, Any]], Errors]

_DIGEST = re.compile(r"[0-9a-f]{64}")


class EvidenceDetailsError(ValueError):
    """Details that do not fit their kind; ``errors`` maps field name -> messages."""

    def __init__(self, errors: Errors) -> None:
        super().__init__("; ".join(f"{name}: {' '.join(msgs)}" for name, msgs in errors.items()))
        self.errors = errors


@dataclass(frozen=True)
class FieldSpec:
    """One detail field: its type, whether it is required, an optional lower bound/choices."""

    type: FieldType
    required: bool = True
    minimum: float | None = None
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class KindSpec:
    """An evidence kind: slug, human label, its detail fields and cross-field checks."""

    slug: str
    label: str
    fields: dict[str, FieldSpec]
    checks: tuple[CrossCheck, ...] = field(default_factory=tuple)


def ordered(low: str, high: str) -> CrossCheck:
    """Cross-check that ``details[low] <= details[high]`` when both are present."""

    def check(details: dict[str, Any]) -> Errors:
        if low not in details or high not in details:
            return {}
        first, second = details[low], details[high]
        if isinstance(first, str):  # cleaned date-times compare as instants, not as text
            first, second = datetime.fromisoformat(first), datetime.fromisoformat(second)
        if first > second:
            return {high: [f"must be greater than or equal to {low}"]}
        return {}

    return check


def _integer(value: Any) -> tuple[Any, str | None]:
    if isinstance(value, bool) or not isinstance(value, int):
        return None, "must be an integer"
    return value, None


def _number(value: Any) -> tuple[Any, str | None]:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None, "must be a number"
    if not math.isfinite(value):
        return None, "must be finite"
    return float(value), None


def _probability(value: Any) -> tuple[Any, str | None]:
    number, error = _number(value)
    if error is None and not 0.0 <= number <= 1.0:
        return None, "must lie between 0 and 1"
    return number, error


def _string(value: Any) -> tuple[Any, str | None]:
    if not isinstance(value, str) or not value.strip():
        return None, "must be a non-empty string"
    return value.strip(), None


def _digest(value: Any) -> tuple[Any, str | None]:
    if not isinstance(value, str) or not _DIGEST.fullmatch(value.strip().lower()):
        return None, "must be a SHA-256 digest (64 hex characters)"
    return value.strip().lower(), None


def _datetime(value: Any) -> tuple[Any, str | None]:
    try:
        moment = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return None, "must be an ISO 8601 date-time"
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(), None


def _date(value: Any) -> tuple[Any, str | None]:
    try:
        return date.fromisoformat(value).isoformat(), None
    except (TypeError, ValueError):
        return None, "must be an ISO 8601 date (YYYY-MM-DD)"


def _boolean(value: Any) -> tuple[Any, str | None]:
    if not isinstance(value, bool):
        return None, "must be true or false"
    return value, None


def _mitigation(value: Any) -> tuple[Any, str | None]:
    if not isinstance(value, str) or not is_mitigation_id(value.strip()):
        return None, "must be an ATLAS mitigation id like AML.M0004"
    return value.strip(), None


_PARSERS: dict[FieldType, Callable[[Any], tuple[Any, str | None]]] = {
    "string": _string,
    "integer": _integer,
    "number": _number,
    "probability": _probability,
    "digest": _digest,
    "datetime": _datetime,
    "date": _date,
    "boolean": _boolean,
    "mitigation_id": _mitigation,
}


def _clean_field(spec: FieldSpec, value: Any) -> tuple[Any, str | None]:
    cleaned, error = _PARSERS[spec.type](value)
    if error is not None:
        return None, error
    if spec.minimum is not None and cleaned < spec.minimum:
        return None, f"must be at least {spec.minimum:g}"
    if spec.choices and cleaned not in spec.choices:
        return None, f"must be one of {list(spec.choices)}"
    return cleaned, None


def _kind(
    slug: str, title: str, checks: tuple[CrossCheck, ...] = (), /, **fields: FieldSpec
) -> KindSpec:
    # Positional-only parameters, so that a detail field may itself be called "label".
    return KindSpec(slug=slug, label=title, fields=fields, checks=checks)


_REQUIRED_INT = FieldSpec("integer", minimum=0)
_POSITIVE_INT = FieldSpec("integer", minimum=1)
_P = FieldSpec("probability")
_OPTIONAL_P = FieldSpec("probability", required=False)
_OPTIONAL_DIGEST = FieldSpec("digest", required=False)

KINDS: dict[str, KindSpec] = {
    spec.slug: spec
    for spec in (
        _kind(
            "query_volume", "Query-volume campaign", (ordered("window_start", "window_end"),),
            # accounts may be 0: a log in which nobody was flagged is a result too.
            queries=_REQUIRED_INT, accounts=_REQUIRED_INT,
            window_start=FieldSpec("datetime"), window_end=FieldSpec("datetime"),
            baseline_ratio=FieldSpec("number", minimum=0), share_of_traffic=_OPTIONAL_P,
            input_sha256=_OPTIONAL_DIGEST,
        ),
        _kind(
            "account_cluster", "Account-cluster coordination",
            cluster_size=FieldSpec("integer", minimum=2), shared_indicators=_POSITIVE_INT,
            indicator_kind=FieldSpec("string", required=False),
            queries=FieldSpec("integer", required=False, minimum=0),
        ),
        _kind(
            "extraction_detector", "Extraction-pattern detector alarm",
            detector=FieldSpec("string"), statistic=FieldSpec("number"),
            threshold=FieldSpec("number"), alarm=FieldSpec("boolean", required=False),
            queries=FieldSpec("integer", required=False, minimum=0),
        ),
        _kind(
            "reasoning_elicitation", "Reasoning-trace elicitation rate",
            (ordered("ci_low", "ci_high"), ordered("elicited", "queries")),
            elicitation_rate=_P, queries=_POSITIVE_INT,
            elicited=FieldSpec("integer", required=False, minimum=0),
            ci_low=_OPTIONAL_P, ci_high=_OPTIONAL_P,
        ),
        _kind(
            "output_similarity", "Black-box output-similarity provenance test",
            (ordered("p_value", "adjusted_p_value"),),
            similarity=_P, baseline_mean=_P, baseline_sd=FieldSpec("number", minimum=0),
            p_value=_P, adjusted_p_value=_P, prompts=_POSITIVE_INT,
            candidate=FieldSpec("string", required=False), input_sha256=_OPTIONAL_DIGEST,
        ),
        _kind(
            "fingerprint_classification", "Fingerprint classification",
            label=FieldSpec("string"), distance=FieldSpec("number", minimum=0),
            margin=FieldSpec("number", minimum=0), queries=_POSITIVE_INT,
        ),
        _kind(
            "stylometric", "Stylometric attribution", (ordered("ci_low", "ci_high"),),
            accuracy=_P, share_attributed=_P, ci_low=_P, ci_high=_P,
            samples=FieldSpec("integer", required=False, minimum=1),
        ),
        _kind(
            "watermark", "Watermark radioactivity",
            tokens_scored=_POSITIVE_INT, score=FieldSpec("number"), p_value=_P,
            key_id_hash=FieldSpec("digest"),
        ),
        _kind(
            "embedded_fingerprint", "Embedded fingerprint verification",
            (ordered("keys_matched", "keys_total"),),
            keys_matched=_REQUIRED_INT, keys_total=_POSITIVE_INT, false_trigger_rate=_P,
            p_value=_P, commitment=FieldSpec("digest"),
        ),
        _kind(
            "weight_similarity", "Weight-space similarity",
            metric=FieldSpec("string"), value=FieldSpec("number"),
            suspect_digest=FieldSpec("digest"), reference_digest=FieldSpec("digest"),
        ),
        _kind(
            "artifact_identity", "Artefact identity",
            digest=FieldSpec("digest"), matching_release_artifact=FieldSpec("string"),
            signature_result=FieldSpec(
                "string", choices=("valid", "invalid", "absent", "not_checked")
            ),
        ),
        _kind(
            "mitigation", "Mitigation record",
            atlas_mitigation_id=FieldSpec("mitigation_id"), date=FieldSpec("date"),
            effect=FieldSpec("string"),
        ),
    )
}  # fmt: skip

KIND_CHOICES: list[tuple[str, str]] = [(spec.slug, spec.label) for spec in KINDS.values()]


def _clean_fields(spec: KindSpec, details: dict[str, Any]) -> tuple[dict[str, Any], Errors]:
    errors: Errors = {}
    cleaned: dict[str, Any] = {}
    for name in sorted(set(details) - set(spec.fields)):
        errors[name] = [f"unknown field for kind {spec.slug!r}"]
    for name, field_spec in spec.fields.items():
        if details.get(name) is None:
            if field_spec.required:
                errors[name] = ["this field is required"]
            continue
        value, error = _clean_field(field_spec, details[name])
        if error is not None:
            errors[name] = [error]
        else:
            cleaned[name] = value
    return cleaned, errors


def validate_details(kind: str, details: dict[str, Any]) -> dict[str, Any]:
    """Return a cleaned copy of ``details`` for ``kind`` or raise EvidenceDetailsError."""
    spec = KINDS.get(kind)
    if spec is None:
        raise EvidenceDetailsError({"kind": [f"unknown evidence kind {kind!r}"]})
    if not isinstance(details, dict):
        raise EvidenceDetailsError({"details": ["must be a JSON object"]})
    cleaned, errors = _clean_fields(spec, details)
    # Cross-field checks only see fields that passed, so one bad value yields one message.
    for check in spec.checks:
        for name, messages in check(cleaned).items():
            errors.setdefault(name, []).extend(messages)
    if errors:
        raise EvidenceDetailsError(errors)
    return cleaned
