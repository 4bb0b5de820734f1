"""Who may write what. Reads are open: selectors already hide what a user may not see."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request

from registry.models import CloningIncident, Evidence
from registry.roles import has_role, user_handles_incident

if TYPE_CHECKING:
    # Imported for annotations only: rest_framework.views imports this module.
    from rest_framework.views import APIView


class RegistryPermission(BasePermission):
    """Anyone reads; writing needs one of the view's ``write_roles``.

    Incidents (and the evidence under them) can further be changed only by the
    investigators assigned to them, approvers and admins.
    """

    message = "Your role does not allow this change."

    def has_permission(self, request: Request, view: APIView) -> bool:
        if request.method in SAFE_METHODS:
            return True
        if not request.user or not request.user.is_authenticated:
            return False
        roles: tuple[str, ...] = getattr(view, "write_roles", ())
        return has_role(request.user, *roles)

    def has_object_permission(self, request: Request, view: APIView, obj: Any) -> bool:
        if request.method in SAFE_METHODS:
            return True
        incident = obj.incident if isinstance(obj, Evidence) else obj
        if isinstance(incident, CloningIncident):
            return user_handles_incident(request.user, incident)
        return True
