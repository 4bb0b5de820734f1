"""Base classes of the admin: the admin collects input with Django's forms and hands it
to one service per record (``registry.services``), which checks who may write, applies
the record's rules and appends the ledger entry. Nothing here writes a model itself.

A service's refusal (``NotPermitted``, ``ConflictError``, ``ValidationError``) is shown
as an error message and changes nothing. Records are never deleted. Every record's
"History" is its ledger entries, with what changed between them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models
from django.forms import ModelForm
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse

from registry import selectors
from registry.errors import ConflictError, NotPermitted
from registry.history import history_rows

# A service's refusals. Django's own PermissionDenied (the admin's model permissions) is
# not one: it stays a 403 page.
REFUSALS = (ConflictError, ValidationError, NotPermitted)


def refusal_text(error: Exception) -> str:
    if isinstance(error, ValidationError):
        return " ".join(error.messages)
    return str(error)


def form_values(form: ModelForm[Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The form's cleaned values, split into plain fields and many-to-many fields."""
    fields: dict[str, Any] = {}
    m2m: dict[str, Any] = {}
    opts = form._meta.model._meta
    for name, value in form.cleaned_data.items():
        if name not in form.fields:
            continue
        target = m2m if opts.get_field(name).many_to_many else fields
        target[name] = value
    return fields, m2m


class LedgerHistoryMixin:
    """The "History" page of a record shows its ledger entries in order with their diffs,
    scoped like every other read (an outsider sees none of an embargoed incident)."""

    def history_view(
        self, request: HttpRequest, object_id: str, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        model_admin: admin.ModelAdmin = self  # type: ignore[assignment, type-arg]
        obj = model_admin.get_object(request, object_id)
        if obj is None:
            # As Django's own views answer an id the user may not see: it does not exist.
            # A private helper of Django's admin that the stubs do not declare.
            return model_admin._get_obj_does_not_exist_redirect(  # type: ignore[attr-defined, no-any-return]
                request, model_admin.model._meta, object_id
            )
        if not model_admin.has_view_or_change_permission(request, obj):
            raise PermissionDenied
        entries = selectors.record_history(user=request.user, instance=obj)
        context = {
            **model_admin.admin_site.each_context(request),
            "title": f"History: {obj}",
            "subtitle": None,
            "object": obj,
            "opts": model_admin.model._meta,
            "rows": history_rows(entries),
            **(extra_context or {}),
        }
        return TemplateResponse(request, "admin/registry/ledger_history.html", context)


class ServiceAdmin(LedgerHistoryMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    """Saves go through ``create_record`` / ``update_record`` (a service call), with the
    form's values and its inline formsets, once everything is validated."""

    class Media:
        # Accessible names for the autocomplete fields' comboboxes (see the file).
        js = ("registry/admin-labels.js",)

    def create_record(
        self, request: HttpRequest, fields: dict[str, Any], m2m: dict[str, Any], formsets: Any
    ) -> models.Model:
        raise NotImplementedError

    def update_record(
        self,
        request: HttpRequest,
        record: Any,
        fields: dict[str, Any],
        m2m: dict[str, Any],
        formsets: Any,
    ) -> models.Model:
        raise PermissionDenied(f"{self.model._meta.verbose_name} records are never changed.")

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        """Nothing yet: the service saves the record with its inlines in ``save_related``."""

    def save_related(
        self, request: HttpRequest, form: ModelForm[Any], formsets: Any, change: bool
    ) -> None:
        fields, m2m = form_values(form)
        if change:
            record = self.model._default_manager.get(pk=form.instance.pk)
            saved = self.update_record(request, record, fields, m2m, formsets)
        else:
            saved = self.create_record(request, fields, m2m, formsets)
        form.instance.pk = saved.pk
        for formset in formsets:
            # What the admin's change message reads from formsets it saved itself; the
            # service saved these rows (and ledgered them) instead.
            formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        # The service decides (role, assignment, workflow state) only when it runs, after
        # the form was valid: show its refusal as a message instead of a 500.
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except REFUSALS as error:
            self.message_user(request, refusal_text(error), level=messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnlyAdmin(LedgerHistoryMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    """Records that services produce (stored files, datasets, evidence, analyses, the
    ledger, reports): the admin shows them and never adds, edits or deletes them."""

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [field.name for field in self.model._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnlyInline(admin.TabularInline):  # type: ignore[type-arg]
    """Rows under a record that only their own service writes: shown, never edited or
    deleted here (no "Delete?" box)."""

    extra = 0
    can_delete = False
    show_change_link = True

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [name for name in (self.fields or []) if isinstance(name, str)]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


# A workflow move's effect: (request, record, reason) -> a message saying what happened.
Apply = Callable[[HttpRequest, Any, str], str]


@dataclass(frozen=True)
class WorkflowMove:
    """A button on a record's change page: a move its workflow allows now, for this user.

    ``apply`` calls the record's service, which checks again (role, rules, four eyes) and
    writes the ledger: the button only saves a trip through the list's actions.
    """

    key: str
    label: str
    apply: Apply
    needs_reason: bool = True


class WorkflowMixin:
    """Change pages with a "Workflow" box offering ``workflow_moves``; each button posts
    to ``<id>/workflow/``, which runs the move's service and returns to the page."""

    def workflow_moves(self, request: HttpRequest, obj: Any) -> list[WorkflowMove]:
        raise NotImplementedError

    def workflow_apply(self, request: HttpRequest, obj: Any, key: str) -> Apply | None:
        """The service call for ``key``, whether or not it is offered now: the service
        gives the reason when a move is no longer open (the page was stale)."""
        raise NotImplementedError

    def get_urls(self) -> list[URLPattern]:
        model_admin: admin.ModelAdmin = self  # type: ignore[assignment, type-arg]
        opts = model_admin.model._meta
        name = f"{opts.app_label}_{opts.model_name}_workflow"
        workflow = path(
            "<path:object_id>/workflow/",
            model_admin.admin_site.admin_view(self.workflow_view),
            name=name,
        )
        return [workflow, *super().get_urls()]  # type: ignore[misc]

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        model_admin: admin.ModelAdmin = self  # type: ignore[assignment, type-arg]
        obj = model_admin.get_object(request, object_id)
        moves = self.workflow_moves(request, obj) if obj is not None else []
        context = {
            **(extra_context or {}),
            "workflow_moves": moves,
            "workflow_needs_reason": any(move.needs_reason for move in moves),
        }
        return super().change_view(request, object_id, form_url, context)  # type: ignore[misc, no-any-return]

    def workflow_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        model_admin: admin.ModelAdmin = self  # type: ignore[assignment, type-arg]
        obj = model_admin.get_object(request, object_id)
        if obj is None or not model_admin.has_view_or_change_permission(request, obj):
            raise PermissionDenied
        opts = model_admin.model._meta
        change_url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
        if request.method != "POST":
            return redirect(change_url)
        apply = self.workflow_apply(request, obj, request.POST.get("workflow", ""))
        if apply is None:
            model_admin.message_user(request, "No such workflow move.", messages.ERROR)
            return redirect(change_url)
        try:
            done = apply(request, obj, request.POST.get("reason", ""))
        except REFUSALS as error:
            model_admin.message_user(request, refusal_text(error), messages.ERROR)
        else:
            model_admin.message_user(request, done, messages.SUCCESS)
        return redirect(change_url)
