"""Commitments: digests an organization registers before revealing the material
(fingerprint key sets, watermark key ids, evaluation prompt sets). The ledger entry is
the time-stamp that proves the digest came first; anyone can check revealed material."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import IO, Any

from django.conf import settings
from django.core.exceptions import ValidationError

from registry.ledger import PUBLIC
from registry.models import Commitment, Organization
from registry.roles import ADMIN, ANALYST, INVESTIGATOR, AnyUser, has_role, recorded_user
from registry.services._base import record_insert, require, writing
from registry.services.replies import is_member


def may_register_commitment(user: AnyUser | None, organization: Organization) -> bool:
    return has_role(user, ANALYST, INVESTIGATOR, ADMIN) or is_member(user, organization)


def commitment_register(
    *,
    actor: AnyUser,
    organization: Organization,
    kind: str,
    sha256: str,
    release: Any = None,
    description: str = "",
) -> Commitment:
    """Register a digest; its ledger entry is the time-stamp that proves it came first."""
    require(
        may_register_commitment(actor, organization),
        f"Only analysts, investigators, admins and members of {organization} can "
        "register its commitments.",
    )
    if release is not None and release.organization_id != organization.pk:
        raise ValidationError({"release": [f"The release is not {organization}'s."]})
    with writing():
        return record_insert(
            model=Commitment,
            actor=actor,
            scope=PUBLIC,
            fields={
                "organization": organization,
                "kind": kind,
                "sha256": sha256.strip().lower(),
                "release": release,
                "description": description,
                "registered_by": recorded_user(actor),
            },
        )


@dataclass(frozen=True)
class CommitmentCheck:
    """Whether revealed material hashes to a commitment, and the digest it hashes to."""

    matches: bool
    computed_sha256: str


def material_digest(kind: str, material: bytes) -> str:
    """The digest a commitment of ``kind`` is compared with.

    A fingerprint key set is hashed in its canonical form (``registry.cloning.fingerprint``),
    so key order and JSON formatting do not matter; other material is hashed byte for byte.
    """
    if kind == Commitment.Kind.FINGERPRINT_KEY_SET:
        # Imported on use: registry.cloning loads SciPy (about a second), which a web or
        # CLI process that never checks a key set should not pay at start-up.
        from registry.cloning import CloningInputError, commitment_digest

        try:
            return commitment_digest(material)
        except CloningInputError as error:
            raise ValidationError({"file": [str(error)]}) from error
    return hashlib.sha256(material).hexdigest()


def commitment_check(*, commitment: Commitment, material: IO[bytes] | bytes) -> CommitmentCheck:
    """Whether revealed material hashes to ``commitment``. Open to anyone and run in the
    request, so bounded: material over ``REGISTRY_MAX_CHECK_BYTES`` is refused (400 naming
    ``file``) before it is read."""
    limit = settings.REGISTRY_MAX_CHECK_BYTES
    size = len(material) if isinstance(material, bytes) else _stream_size(material)
    if size > limit:
        raise ValidationError(
            {
                "file": [
                    f"File is {size} bytes; a check takes at most {limit} bytes. Compare "
                    "the SHA-256 of larger material with the commitment's sha256 yourself "
                    "(a key set's canonical form is defined in "
                    "registry/cloning/fingerprint.py), or verify it in a fingerprint "
                    "verification job."
                ]
            }
        )
    content = material if isinstance(material, bytes) else material.read()
    computed = material_digest(commitment.kind, content)
    return CommitmentCheck(matches=computed == commitment.sha256, computed_sha256=computed)


def _stream_size(stream: IO[bytes]) -> int:
    known: int | None = getattr(stream, "size", None)
    if known is not None:
        return known
    stream.seek(0, 2)
    size = stream.tell()
    stream.seek(0)
    return size
