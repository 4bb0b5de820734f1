"""The admin's report list: status, progress, download and verify links.

Reports are built by the worker and never edited. The "request a signed report" action is
added here to the claim and incident admins of ``registry.admin`` (the registry knows
nothing of reports; reports build on the registry).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.html import format_html

from registry.admin_base import REFUSALS, ReadOnlyAdmin, refusal_text
from registry.admin_display import manifest_summary
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


REPORT_FACTS: tuple[str, ...] = (
    "report_id",
    "kind",
    "subject",
    "progress_text",
    "error",
    "requested_by",
    "created_at",
    "finished_at",
    "links",
    "sha256",
    "size_bytes",
    "signer_fingerprint",
    "signature_level",
    "timestamp_expires_at",
)
UNFINISHED = (Report.Status.PENDING, Report.Status.RENDERING, Report.Status.SIGNING)
# How often the list reloads itself while a report on it is still being built.
REFRESH_SECONDS = 5


@admin.register(Report)
class ReportAdmin(ReadOnlyAdmin):
    """Every role reads the reports it may see (``report_list`` scopes incident reports
    like their incidents); the worker builds them and nobody edits them."""

    list_display = [
        "report_id",
        "kind",
        "subject",
        "progress_text",
        "created_at",
        "links",
    ]
    list_filter = ["kind", "status", "signature_level"]
    search_fields = ["sha256", "signer_fingerprint"]
    fieldsets = [
        (None, {"fields": REPORT_FACTS}),
        ("Manifest: what the report was computed from", {"fields": ["manifest_text"]}),
    ]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [*REPORT_FACTS, "manifest_text"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Report]:
        return report_list(user=request.user)

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        # Progress in the list is read when the page loads: while any report is still
        # being built the page reloads itself, and says so.
        building = self.get_queryset(request).filter(status__in=UNFINISHED).exists()
        context = {
            **(extra_context or {}),
            "auto_refresh_seconds": REFRESH_SECONDS if building else None,
        }
        return super().changelist_view(request, context)

    @admin.display(description="Report")
    def report_id(self, obj: Report) -> str:
        return obj.report_id

    @admin.display(description="Subject")
    def subject(self, obj: Report) -> str:
        if obj.claim_id:
            url = reverse("registry:claim", args=[obj.claim_id])
        elif obj.incident_id:
            url = reverse("admin:registry_cloningincident_change", args=[obj.incident_id])
        else:
            return obj.subject_label
        return format_html('<a href="{}">{}</a>', url, obj.subject_label)

    @admin.display(description="Status")
    def progress_text(self, obj: Report) -> str:
        if obj.status in UNFINISHED:
            return f"{obj.progress}% ({obj.get_status_display().lower()})"
        return obj.get_status_display()

    @admin.display(description="Manifest")
    def manifest_text(self, obj: Report) -> str:
        return manifest_summary(obj.manifest)

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
