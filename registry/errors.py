"""The errors a service raises when it refuses a write. Surfaces translate them: the
API answers 403 (``NotPermitted``), 409 (``ConflictError``) or 400 (Django's
``ValidationError``); the admin shows the message and changes nothing."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied


class ConflictError(Exception):
    """The request is valid but the record's state does not allow it (HTTP 409)."""


class NotPermitted(PermissionDenied):
    """The acting user may not make this change (HTTP 403)."""
