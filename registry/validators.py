"""Field validators shared by models, serializers and services."""

import re

from django.core.exceptions import ValidationError

SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
ATLAS_TECHNIQUE_RE = re.compile(r"^AML\.T\d{4}(\.\d{3})?$")


def validate_sha256(value: str) -> None:
    if not SHA256_RE.fullmatch(value):
        raise ValidationError(
            "%(value)s is not a SHA-256 digest (64 lower-case hex characters).",
            code="invalid_sha256",
            params={"value": value},
        )


def validate_atlas_techniques(value: object) -> None:
    """A list of MITRE ATLAS technique ids, ``AML.T0000`` or ``AML.T0000.000``."""
    if not isinstance(value, list):
        raise ValidationError("Expected a list of ATLAS technique ids.", code="invalid")
    bad = [item for item in value if not (isinstance(item, str) and ATLAS_TECHNIQUE_RE.match(item))]
    if bad:
        raise ValidationError(
            "Not ATLAS technique ids (format AML.T0000 or AML.T0000.000): %(bad)s",
            code="invalid_atlas_id",
            params={"bad": ", ".join(map(str, bad))},
        )
    if len(set(value)) != len(value):
        raise ValidationError("ATLAS technique ids must not repeat.", code="duplicate")
