from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from django.db.models import Model, QuerySet
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.request import Request

if TYPE_CHECKING:
    # Imported for annotations only: rest_framework.views imports this module.
    from rest_framework.views import APIView


class OrderedLimitOffsetPagination(LimitOffsetPagination):
    """Limit/offset pages of at most ``max_limit`` rows.

    An unordered queryset would page inconsistently (rows can repeat or vanish
    between pages), so it is a programming error, not a warning.
    """

    default_limit = 50
    max_limit = 500

    def paginate_queryset[M: Model, R](
        self, queryset: QuerySet[M, R] | Sequence[R], request: Request, view: APIView | None = None
    ) -> list[R] | None:
        if isinstance(queryset, QuerySet) and not queryset.ordered:
            raise RuntimeError(f"{view!r} paginates an unordered queryset")
        return super().paginate_queryset(queryset, request, view)
