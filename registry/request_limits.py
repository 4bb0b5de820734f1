"""Limits every request meets before any view: body size and JSON depth.

Django answers a body over ``DATA_UPLOAD_MAX_MEMORY_SIZE`` with its HTML 400 page, and
the JSON parser recurses once per nesting level (``'[' * 5000`` is a RecursionError, a
500). Here, before a view or DRF parser runs, such requests get the API's error format:
413 naming the limit, 400 naming the member that nests too deep. Being middleware, it
covers every endpoint whatever parser classes a view declares.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import HttpRequest, HttpResponse, JsonResponse
from rest_framework.parsers import FormParser, MultiPartParser

from registry import boundedjson

# A multipart body carries the file plus its boundaries and the other form fields.
MULTIPART_OVERHEAD_BYTES = 1024 * 1024


def body_limit(content_type: str) -> int:
    """The largest body accepted for ``content_type``: an upload for multipart forms,
    ``DATA_UPLOAD_MAX_MEMORY_SIZE`` for everything else (JSON, url-encoded forms)."""
    if content_type == "multipart/form-data":
        largest = max(
            settings.REGISTRY_MAX_UPLOAD_BYTES, settings.REGISTRY_MAX_DATASET_UPLOAD_BYTES
        )
        return largest + MULTIPART_OVERHEAD_BYTES
    limit: int = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return limit


class RequestLimitsMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.refusal(request) or self.get_response(request)

    def refusal(self, request: HttpRequest) -> HttpResponse | None:
        limit = body_limit(request.content_type or "")
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0  # Django reads such a body as empty
        if length > limit:
            return too_large(request, limit)
        if request.content_type == "application/json" or (request.content_type or "").endswith(
            "+json"
        ):
            try:
                boundedjson.check_depth(request.body)
            except RequestDataTooBig:
                return too_large(request, limit)
            except boundedjson.JSONDepthError as error:
                return refused(request, str(error), field=error.where)
        return None

    def process_view(
        self, request: HttpRequest, view: Callable[..., Any], args: Any, kwargs: Any
    ) -> HttpResponse | None:
        """Form fields that hold JSON (DRF's JSONField in a multipart or url-encoded
        body) get the same depth limit. Only for views that read form bodies anyway:
        reading them here for a JSON-only API view would hide its 415."""
        if request.content_type not in FORM_TYPES or not _reads_forms(view):
            return None
        try:
            fields = list(request.POST.lists())
        except RequestDataTooBig:
            return too_large(request, settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
        for field, values in fields:
            for value in values:
                if value.lstrip().startswith(("[", "{")):
                    try:
                        boundedjson.check_depth(value)
                    except boundedjson.JSONDepthError as error:
                        return refused(request, str(error), field=field)
        return None

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        """Limits Django enforces while a view reads the body (multipart fields)."""
        if isinstance(exception, RequestDataTooBig):
            return too_large(request, settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
        if isinstance(exception, TooManyFieldsSent | TooManyFilesSent):
            return refused(request, str(exception))
        return None


FORM_TYPES = frozenset({"multipart/form-data", "application/x-www-form-urlencoded"})


def _reads_forms(view: Callable[..., Any]) -> bool:
    """Whether ``view`` parses form bodies: every plain Django view may; a DRF view
    only when one of its parsers (or its action's) is a form or multipart parser."""
    view_class = getattr(view, "cls", None)
    if view_class is None:
        return True
    initkwargs: dict[str, Any] = getattr(view, "initkwargs", None) or {}
    parsers = initkwargs.get("parser_classes") or view_class.parser_classes
    return any(issubclass(parser, FormParser | MultiPartParser) for parser in parsers)


def too_large(request: HttpRequest, limit: int) -> HttpResponse:
    message = f"The request body is larger than the limit of {limit:,} bytes."
    return _answer(request, {"detail": message}, status=413)


def refused(request: HttpRequest, message: str, *, field: str | None = None) -> HttpResponse:
    if field:
        return _answer(request, {field: [f"The JSON is {message}."]}, status=400)
    return _answer(request, {"detail": f"The JSON body is {message}."}, status=400)


def _answer(request: HttpRequest, body: dict[str, object], *, status: int) -> HttpResponse:
    if request.path.startswith("/api/"):
        return JsonResponse(body, status=status)
    text = body.get("detail") or next(iter(body.values()))
    return HttpResponse(str(text), status=status, content_type="text/plain; charset=utf-8")
