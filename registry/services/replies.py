"""The accused organization's right of reply, shown beside the incident."""

from __future__ import annotations

from django.core.exceptions import ValidationError

from registry.ledger import incident_scope
from registry.models import CloningIncident, Organization, OrganizationMembership, RightOfReply
from registry.roles import ADMIN, AnyUser, has_role, recorded_user
from registry.services._base import record_insert, require, writing
from registry.services.incidents import require_reason


def accused_organization(incident: CloningIncident) -> Organization | None:
    """The organization that released the suspect model, when it is in the registry."""
    release = incident.suspect_release
    return release.organization if release is not None else None


def is_member(user: AnyUser | None, organization: Organization) -> bool:
    account = recorded_user(user)
    if account is None:
        return False
    return OrganizationMembership.objects.filter(user=account, organization=organization).exists()


def reply_file(
    *,
    incident: CloningIncident,
    actor: AnyUser | None,
    statement: str,
    organization: Organization | None = None,
) -> RightOfReply:
    """File the accused organization's statement.

    The organization is the suspect release's; when the suspect is not in the registry the
    filer names it. Its members and admins may file.
    """
    statement = require_reason(statement, "statement")
    accused = accused_organization(incident)
    if accused is not None and organization is not None and organization != accused:
        raise ValidationError(
            {"organization": [f"The accused organization of this incident is {accused}."]}
        )
    speaker = accused or organization
    if speaker is None:
        raise ValidationError(
            {"organization": ["Name the organization: the suspect is not a registered release."]}
        )
    require(
        has_role(actor, ADMIN) or is_member(actor, speaker),
        f"Only members of {speaker} or an admin can file its reply.",
    )
    with writing():
        return record_insert(
            model=RightOfReply,
            actor=actor,
            scope=incident_scope(incident),
            fields={
                "incident": incident,
                "organization": speaker,
                "statement": statement,
                "filed_by": recorded_user(actor),
            },
        )
