"""Search and ordering that refuse what they cannot use (DRF drops an unknown ordering
term and lets a NUL reach the database): a 400 naming the parameter, and a schema that
lists the accepted values."""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import QuerySet
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.filters import OrderingFilter, SearchFilter
from rest_framework.request import Request


class StrictSearchFilter(SearchFilter):
    def get_search_terms(self, request: Request) -> list[str]:
        try:
            terms: list[str] = super().get_search_terms(request)
        except serializers.ValidationError as error:
            raise ValidationError({self.search_param: error.detail}) from error
        return terms


class StrictOrderingFilter(OrderingFilter):
    """``ordering`` is a comma-separated list of the view's ``ordering_fields``, each
    optionally prefixed with ``-`` (descending); an empty value keeps the default."""

    def get_ordering(self, request: Request, queryset: QuerySet[Any], view: Any) -> Any:
        raw = request.query_params.get(self.ordering_param)
        if raw is None or raw == "":
            return self.get_default_ordering(view)
        terms = [term.strip() for term in raw.split(",")]
        allowed = self._choices(queryset, view, request)
        unknown = [term for term in terms if term not in allowed]
        if unknown:
            raise ValidationError(
                {
                    self.ordering_param: [
                        f"Cannot order by {', '.join(map(repr, unknown))}; "
                        f"use {', '.join(allowed) or 'nothing here'}."
                    ]
                }
            )
        return terms

    def _choices(self, queryset: Any, view: Any, request: Any = None) -> list[str]:
        context = {"request": request} if request is not None else {}
        fields = [name for name, _label in self.get_valid_fields(queryset, view, context)]
        return [term for name in fields for term in (name, f"-{name}")]

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        choices = self._choices(None, view)
        return [
            {
                "name": self.ordering_param,
                "required": False,
                "in": "query",
                "description": "Sort by these fields, comma-separated; `-` sorts descending.",
                "schema": {"type": "array", "items": {"type": "string", "enum": choices}},
                "style": "form",
                "explode": False,
            }
        ]


class StrictFilterBackend(DjangoFilterBackend):
    """django-filter's backend, refusing what its forms would quietly drop: a filter given
    with no value (``?kind=`` is not a kind) unless it filters text, and a boolean that
    is neither true nor false (the select widget reads ``maybe`` as "no filter"). The
    pages share the FilterSets and keep the forms' leniency: an empty select there means
    "any"."""

    BOOLEANS = frozenset({"true", "false", "1", "0"})

    def get_filterset(self, request: Request, queryset: QuerySet[Any], view: Any) -> Any:
        filterset = super().get_filterset(request, queryset, view)
        if filterset is not None:
            errors = self._unusable(filterset.filters, request)
            if errors:
                raise ValidationError(errors)
        return filterset

    def _unusable(self, filters: dict[str, Any], request: Request) -> dict[str, list[str]]:
        errors: dict[str, list[str]] = {}
        for name, values in request.query_params.lists():
            field = filters.get(name)
            if field is None or isinstance(field, django_filters.CharFilter):
                continue
            if any(value == "" for value in values):
                errors[name] = ["Give a value, or leave the parameter out."]
            elif isinstance(field, django_filters.BooleanFilter) and any(
                value.lower() not in self.BOOLEANS for value in values
            ):
                errors[name] = ["Give true or false."]
        return errors
