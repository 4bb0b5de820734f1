"""Roles are Django groups; this module names them and answers role questions.

- viewer: reads everything that is not embargoed.
- analyst: records organisations, releases, benchmarks, datasets and claims.
- investigator: reports incidents and handles those assigned to them.
- approver: sees every incident and approves decisions someone else proposed.
- admin: everything.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

if TYPE_CHECKING:
    from registry.models import CloningIncident

VIEWER = "viewer"
ANALYST = "analyst"
INVESTIGATOR = "investigator"
APPROVER = "approver"
ADMIN = "admin"
ROLES = (VIEWER, ANALYST, INVESTIGATOR, APPROVER, ADMIN)

AnyUser = AbstractBaseUser | AnonymousUser


def has_role(user: AnyUser | None, *roles: str) -> bool:
    if user is None or not user.is_authenticated:
        return False
    if getattr(user, "is_superuser", False):
        return True
    # Cache the names on the user object: permission checks run per row.
    names: set[str] | None = getattr(user, "_registry_roles", None)
    if names is None:
        names = set(user.groups.values_list("name", flat=True))  # type: ignore[union-attr]
        user._registry_roles = names  # type: ignore[union-attr]
    return ADMIN in names or any(role in names for role in roles)


def sees_all_incidents(user: AnyUser | None) -> bool:
    """Approvers and admins see embargoed incidents they are not assigned to."""
    return has_role(user, APPROVER, ADMIN)


def user_handles_incident(user: AnyUser | None, incident: CloningIncident) -> bool:
    """Assigned investigators, approvers and admins handle (change, add evidence to) it."""
    if user is None or not user.is_authenticated:
        return False
    if sees_all_incidents(user):
        return True
    return incident.investigators.filter(pk=user.pk).exists()
