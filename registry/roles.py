"""Roles are Django groups; this module names them and answers role questions.

- viewer: reads everything that is not embargoed.
- analyst: records organisations, releases, benchmarks, datasets and claims.
- investigator: reports incidents and handles those assigned to them.
- approver: sees every incident and approves decisions someone else proposed.
- standards_body: countersigns issued reports on behalf of the standards body.
- admin: everything.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, User

if TYPE_CHECKING:
    from registry.models import CloningIncident

VIEWER = "viewer"
ANALYST = "analyst"
INVESTIGATOR = "investigator"
APPROVER = "approver"
STANDARDS_BODY = "standards_body"
ADMIN = "admin"
ROLES = (VIEWER, ANALYST, INVESTIGATOR, APPROVER, STANDARDS_BODY, ADMIN)

AnyUser = AbstractBaseUser | AnonymousUser


def recorded_user(actor: AnyUser | None) -> User | None:
    """The account to store in a user foreign key: the authenticated ``User``, else None.

    Anonymous and system (``None``) actors are recorded as no user.
    """
    if actor is None or not actor.is_authenticated:
        return None
    # AUTH_USER_MODEL is the default auth.User, so every authenticated account is one; Django
    # would refuse any other class in a user foreign key anyway.
    if not isinstance(actor, User):
        raise TypeError(f"expected a {User.__name__}, got {type(actor).__name__}")
    return actor


def has_role(user: AnyUser | None, *roles: str) -> bool:
    account = recorded_user(user)
    if account is None:
        return False
    if account.is_superuser:
        return True
    # Cache the names on the user object: permission checks run per row. The cache is not a
    # declared attribute of User, hence the instance __dict__.
    names: set[str] | None = getattr(account, "_registry_roles", None)
    if names is None:
        names = set(account.groups.values_list("name", flat=True))
        vars(account)["_registry_roles"] = names
    return ADMIN in names or any(role in names for role in roles)


def sees_all_incidents(user: AnyUser | None) -> bool:
    """Approvers and admins see embargoed incidents they are not assigned to."""
    return has_role(user, APPROVER, ADMIN)


def user_handles_incident(user: AnyUser | None, incident: CloningIncident) -> bool:
    """Approvers and admins handle (move, propose on, add evidence to) every incident; an
    investigator the incidents assigned to them. Assignment alone grants nothing: an
    account that loses the investigator role loses its incidents too."""
    if user is None or not user.is_authenticated:
        return False
    if sees_all_incidents(user):
        return True
    if not has_role(user, INVESTIGATOR):
        return False
    return incident.investigators.filter(pk=user.pk).exists()


def user_edits_incident(user: AnyUser | None, incident: CloningIncident) -> bool:
    """Its assigned investigators and admins edit an incident's fields; approvers decide
    on it but do not rewrite it."""
    if has_role(user, ADMIN):
        return True
    return not has_role(user, APPROVER) and user_handles_incident(user, incident)
