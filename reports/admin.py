"""The admin's report list: status, progress, download and verify links.

Reports are built by the worker and never edited. The "request a signed report" action is
added here to the claim and incident admins of ``registry.admin`` (the registry knows
nothing of reports; reports build on the registry).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from registry.admin_base import REFUSALS, ReadOnlyAdmin, refusal_text
from registry.models import BenchmarkClaim, CloningIncident
from reports.models import Report
from reports.selectors import report_list

if TYPE_CHECKING:
    from reports.services import ReportSubject


@admin.action(description="Request a signed report on the selected records")
def request_reports(
    modeladmin: admin.ModelAdmin,  # type: ignore[type-arg]
    request: HttpRequest,
    subjects: QuerySet[Any],
) -> None:
    """Request a report on each selected claim or incident, saying why any was refused."""
    # Imported here, not at the top: reports.services loads reportlab and pyHanko, and the
    # admin is imported by every manage.py command (autodiscovery) that would pay for them.
    from reports.services import report_request

    for subject in subjects:
        kind, target = _kind_and_subject(subject)
        try:
            report = report_request(actor=request.user, kind=kind, subject=target)
        except REFUSALS as error:
            modeladmin.message_user(request, f"{subject}: {refusal_text(error)}", messages.ERROR)
            continue
        url = reverse("admin:reports_report_change", args=[report.pk])
        modeladmin.message_user(
            request,
            format_html('{}: requested <a href="{}">{}</a>.', subject, url, report.report_id),
            messages.SUCCESS,
        )


def _kind_and_subject(subject: Any) -> tuple[str, ReportSubject]:
    from reports.services import ReportSubject

    if isinstance(subject, BenchmarkClaim):
        return Report.Kind.CLAIM, ReportSubject(claim=subject)
    if isinstance(subject, CloningIncident):
        return Report.Kind.INCIDENT, ReportSubject(incident=subject)
    raise TypeError(f"no report kind for {type(subject).__name__}")


@admin.register(Report)
class ReportAdmin(ReadOnlyAdmin):
    list_display = ["report_id", "kind", "subject", "status", "progress", "created_at", "links"]
    list_filter = ["kind", "status", "signature_level"]
    search_fields = ["sha256", "signer_fingerprint"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Report]:
        return report_list(user=request.user)

    @admin.display(description="Subject")
    def subject(self, obj: Report) -> str:
        return obj.subject_label

    @admin.display(description="Links")
    def links(self, obj: Report) -> str:
        verify = reverse("reports:verify")
        if obj.status != Report.Status.DONE:
            return format_html('<a href="{}">verify a file</a>', verify)
        download = reverse("report-download", args=[obj.pk])
        return format_html('<a href="{}">download</a> · <a href="{}">verify</a>', download, verify)


for _model in (BenchmarkClaim, CloningIncident):
    _subject_admin = admin.site.get_model_admin(_model)
    _subject_admin.actions = [*(_subject_admin.actions or []), request_reports]
