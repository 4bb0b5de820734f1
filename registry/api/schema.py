"""How the OpenAPI document describes every operation, so that it is the API's contract.

drf-spectacular describes what a view returns when it succeeds. The rest is the same rule
for every operation, so it lives here once rather than in an ``@extend_schema`` per view:

- **errors**: each 4xx the operation can answer, all in the one error format of
  ``registry.api.exceptions`` (the ``Error`` component);
- **who may call it**: ``security`` lists ``{}`` (no credentials) when an anonymous
  request passes the view's permission classes, as reads of public records do;
- **tags and summaries**: one tag per resource (the first path segment after
  ``/api/v1/``), and a summary for every operation (the first line of the action's
  docstring, or the standard action's verb).

A schema test walks every operation and checks these, so a new endpoint cannot forget
them.
"""

from __future__ import annotations

import re
from types import SimpleNamespace
from typing import Any

from django.contrib.auth.models import AnonymousUser
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import ResolvedComponent, get_doc

ERROR_COMPONENT = "Error"

# The answer of registry.api.exceptions (and of the request-limits middleware, and of
# DRF's own errors): "detail" for errors about the request as a whole, otherwise the
# offending field (or query parameter, or record) with its messages.
ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": (
        "Every 4xx answer. `detail` says what is wrong with the request as a whole; "
        "otherwise each key names the field, query parameter or record at fault and "
        "holds its messages (a list of strings, or an object for nested fields). "
        "`non_field_errors` holds errors about several fields together."
    ),
    "properties": {
        "detail": {"type": "string"},
        "non_field_errors": {"type": "array", "items": {"type": "string"}},
    },
    "additionalProperties": {
        "anyOf": [
            {"type": "string"},
            {"type": "array", "items": {}},
            {"type": "object", "additionalProperties": {}},
        ]
    },
}

ERROR_DESCRIPTIONS = {
    "400": "The request is invalid: the answer names each field or parameter at fault.",
    "401": "Credentials are missing or invalid (`Authorization: Token <key>`).",
    "403": "The user's role does not allow this.",
    "404": "No such record, or one the user may not see.",
    "409": "The record's state does not allow this now.",
    "413": "The request body is larger than the limit.",
    "415": "The request body's content type is not accepted here.",
    "429": "Too many requests; retry after the `Retry-After` seconds.",
}

UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}

# drf-spectacular's standard actions, as the summary's verb.
STANDARD_SUMMARIES = {
    "list": "List {plural}",
    "retrieve": "Read {singular}",
    "create": "Record {singular}",
    "update": "Replace {singular}",
    "partial_update": "Change some fields of {singular}",
    "destroy": "Delete {singular}",
}


class RegistryAutoSchema(AutoSchema):
    """``DEFAULT_SCHEMA_CLASS``: drf-spectacular's schema plus the rules above."""

    def get_tags(self) -> list[str]:
        return [self._resource()]

    def _resource(self) -> str:
        parts = [part for part in self.path.split("/") if part]
        # /api/v1/<resource>/...
        return parts[2] if len(parts) > 2 else parts[-1]

    def get_summary(self) -> str | None:
        handler = getattr(self.view, getattr(self.view, "action", None) or "", None)
        if handler is None:
            handler = getattr(self.view, self.method.lower(), None)
        doc = get_doc(handler) if handler is not None else ""
        action = getattr(self.view, "action", None)
        if action in STANDARD_SUMMARIES and not _own_doc(self.view, action):
            singular, plural = self._nouns()
            return STANDARD_SUMMARIES[action].format(singular=singular, plural=plural)
        if not doc:
            doc = get_doc(self.view.__class__)
        first = doc.split("\n\n")[0].replace("\n", " ").strip()
        # The first clause: a summary is a line in a menu, the description has the rest.
        return re.split(r"\. |; ", first)[0].rstrip(".") if first else None

    def get_description(self) -> str:  # type: ignore[override]  # as drf-spectacular does
        """The action's docstring, else the view's own (not one inherited from a base
        class, which describes the base class to its readers, not the API's users)."""
        handler = getattr(
            self.view, getattr(self.view, "action", None) or self.method.lower(), None
        )
        action_doc = get_doc(handler) if handler is not None else ""
        own_doc = vars(type(self.view)).get("__doc__")
        return action_doc or (get_doc(type(self.view)) if own_doc else "")

    def _nouns(self) -> tuple[str, str]:
        model = getattr(getattr(self.view, "queryset", None), "model", None)
        if model is None:
            serializer_class = getattr(self.view, "serializer_class", None)
            model = getattr(getattr(serializer_class, "Meta", None), "model", None)
        if model is None:
            return self._resource(), self._resource()
        meta = model._meta
        singular, plural = str(meta.verbose_name), str(meta.verbose_name_plural)
        if singular == plural:  # "evidence": no article
            return singular, plural
        article = "an" if singular[0] in "aeiou" else "a"
        return f"{article} {singular}", plural

    def get_auth(self) -> list[dict[str, Any]]:
        auths: list[dict[str, Any]] = super().get_auth()
        if {} not in auths and self._anonymous_allowed():
            auths.append({})
        return auths

    def _anonymous_allowed(self) -> bool:
        anonymous = SimpleNamespace(method=self.method, user=AnonymousUser())
        return all(
            permission.has_permission(anonymous, self.view)  # type: ignore[arg-type]
            for permission in self.view.get_permissions()
        )

    def _get_response_bodies(self, direction: Any = "response") -> dict[str, Any]:
        responses: dict[str, Any] = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        self.registry.register_on_missing(
            ResolvedComponent(
                name=ERROR_COMPONENT,
                type=ResolvedComponent.SCHEMA,
                object=ERROR_COMPONENT,
                schema=ERROR_SCHEMA,
            )
        )
        reference = {"$ref": f"#/components/schemas/{ERROR_COMPONENT}"}
        for code, response in responses.items():
            # A view names an error it answers (OpenApiResponse(description=...)); its
            # body is the one error format.
            if code.startswith("4") and "content" not in response:
                response["content"] = {"application/json": {"schema": reference}}
        if "202" in responses:
            responses["202"].setdefault("headers", {})["Location"] = {
                "description": "Where to poll the queued job.",
                "schema": {"type": "string", "format": "uri"},
                "required": True,
            }
        for code in self._error_codes():
            responses.setdefault(
                code,
                {
                    "content": {"application/json": {"schema": reference}},
                    "description": ERROR_DESCRIPTIONS[code],
                },
            )
        return responses

    def _error_codes(self) -> list[str]:
        has_body = self.method in UNSAFE_METHODS and self._get_request_body() is not None
        has_query = any(p.get("in") == "query" for p in self._get_parameters())
        has_path = "{" in self.path
        codes = []
        if has_body or has_query:
            codes.append("400")
        # An invalid token is refused on every operation, even an open one.
        codes.append("401")
        if self.method in UNSAFE_METHODS or not self._anonymous_allowed():
            codes.append("403")
        if has_path:
            codes.append("404")
        if self.method in UNSAFE_METHODS and not self._anonymous_allowed():
            codes.append("409")
        if has_body:
            codes += ["413", "415"]
        codes.append("429")
        return codes


def _own_doc(view: Any, action: str) -> bool:
    """Whether the view defines the standard action itself with a docstring."""
    for klass in type(view).__mro__:
        if action in vars(klass):
            return bool(vars(klass)[action].__doc__) and klass.__module__.startswith(
                ("registry", "reports")
            )
    return False
