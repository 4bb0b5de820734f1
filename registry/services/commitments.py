"""Commitments: digests an organization registers before revealing the material
(fingerprint key sets, watermark key ids, evaluation prompt sets). The ledger entry is
the time-stamp that proves the digest came first; anyone can check revealed material."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

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


def commitment_check(*, commitment: Commitment, material: bytes) -> CommitmentCheck:
    computed = material_digest(commitment.kind, material)
    return CommitmentCheck(matches=computed == commitment.sha256, computed_sha256=computed)
