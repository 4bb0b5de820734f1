from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from django.db.models import Model, QuerySet
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.request import Request

if TYPE_CHECKING:
    # Imported for annotations only: rest_framework.views imports this module.
    from rest_framework.views import APIView

INTEGER = re.compile(r"-?[0-9]{1,20}")
# Far beyond any table here, and within every database's OFFSET.
MAX_OFFSET = 1_000_000_000


def query_integer(request: Request, name: str, *, minimum: int, maximum: int) -> int | None:
    """The query parameter ``name`` as an integer in [minimum, maximum], None when absent;
    anything else is a 400 naming the parameter (DRF would quietly use its default)."""
    raw = request.query_params.get(name)
    if raw is None:
        return None
    if not INTEGER.fullmatch(raw):
        raise ValidationError({name: [f"{raw!r} is not an integer."]})
    number = int(raw)
    if not minimum <= number <= maximum:
        raise ValidationError({name: [f"Must be between {minimum} and {maximum}, not {number}."]})
    return number


class OrderedLimitOffsetPagination(LimitOffsetPagination):
    """Limit/offset pages of at most ``max_limit`` rows.

    An unordered queryset would page inconsistently (rows can repeat or vanish
    between pages), so it is a programming error, not a warning. A ``limit`` or
    ``offset`` that is not an integer in range is a 400 naming it, not a silent default.
    """

    default_limit = 50
    max_limit = 500

    def paginate_queryset[M: Model, R](
        self, queryset: QuerySet[M, R] | Sequence[R], request: Request, view: APIView | None = None
    ) -> list[R] | None:
        if isinstance(queryset, QuerySet) and not queryset.ordered:
            raise RuntimeError(f"{view!r} paginates an unordered queryset")
        return super().paginate_queryset(queryset, request, view)

    def get_limit(self, request: Request) -> int:
        limit = query_integer(request, self.limit_query_param, minimum=1, maximum=self.max_limit)
        return self.default_limit if limit is None else limit

    def get_offset(self, request: Request) -> int:
        offset = query_integer(request, self.offset_query_param, minimum=0, maximum=MAX_OFFSET)
        return offset or 0

    def get_schema_operation_parameters(self, view: APIView) -> list[dict[str, Any]]:
        limit, offset = super().get_schema_operation_parameters(view)
        limit["schema"] = {"type": "integer", "minimum": 1, "maximum": self.max_limit}
        limit["description"] = (
            f"Rows per page, 1 to {self.max_limit} (default {self.default_limit})."
        )
        offset["schema"] = {"type": "integer", "minimum": 0, "maximum": MAX_OFFSET}
        offset["description"] = "Rows to skip before the page (default 0)."
        return [limit, offset]
