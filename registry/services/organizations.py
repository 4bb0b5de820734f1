"""Organizations and who speaks for them (memberships)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from registry.ledger import PUBLIC
from registry.models import Organization, OrganizationMembership
from registry.roles import ADMIN, ANALYST, AnyUser
from registry.services._base import record_change, record_insert, require_role, writing


def organization_create(*, actor: AnyUser | None, fields: Mapping[str, Any]) -> Organization:
    require_role(actor, ANALYST, doing="record organizations")
    with writing():
        return record_insert(model=Organization, actor=actor, fields=fields, scope=PUBLIC)


def organization_update(
    *, actor: AnyUser | None, organization: Organization, fields: Mapping[str, Any]
) -> Organization:
    require_role(actor, ANALYST, doing="change organizations")
    with writing():
        return record_change(instance=organization, actor=actor, fields=fields, scope=PUBLIC)


def membership_create(
    *, actor: AnyUser | None, fields: Mapping[str, Any]
) -> OrganizationMembership:
    """Record that a user speaks for an organization (files its replies, commitments)."""
    require_role(actor, ADMIN, doing="record who speaks for an organization")
    with writing():
        return record_insert(model=OrganizationMembership, actor=actor, fields=fields, scope=PUBLIC)
