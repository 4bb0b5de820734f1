"""Pages: anyone can upload a report and see each verification check; the standards
body countersigns a report from its page."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from registry.errors import ConflictError
from registry.listing import Listing, list_page
from registry.roles import STANDARDS_BODY, has_role
from registry.views import history_page
from reports.api import VERIFY_MAX_BYTES, ReportFilter
from reports.selectors import report_list
from reports.services import report_countersign, report_verify
from reports.verdict import verdict


class VerifyForm(forms.Form):
    file = forms.FileField(label="Report PDF")

    def clean_file(self) -> object:
        upload = self.cleaned_data["file"]
        if upload.size > VERIFY_MAX_BYTES:
            raise forms.ValidationError(f"A report is at most {VERIFY_MAX_BYTES:,} bytes.")
        return upload


def verify(request: HttpRequest) -> HttpResponse:
    """GET: the upload form. POST: the form again, the verdict and every check in words."""
    reading = None
    if request.method == "POST":
        form = VerifyForm(request.POST, request.FILES)
        if form.is_valid():
            reading = verdict(report_verify(form.cleaned_data["file"].read()))
    else:
        form = VerifyForm()
    return render(request, "reports/verify.html", {"form": form, "verdict": reading})


@login_required
@require_http_methods(["GET", "POST"])
def countersign(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: the report, its versions and a Countersign button. POST: countersign it.

    The service checks the role; the page only hides the button from other users.
    """
    report = report_list(user=request.user).filter(pk=pk).first()
    if report is None:
        raise Http404(f"No report {pk}.")
    if request.method == "POST":
        try:
            report_countersign(actor=request.user, report=report)
        except ConflictError as error:
            messages.error(request, str(error))
        else:
            messages.success(request, f"{report.report_id} countersigned: a new version.")
        return redirect("reports:countersign", pk=pk)
    return render(
        request,
        "reports/countersign.html",
        {
            "report": report,
            "versions": report.versions.all(),
            "may_countersign": has_role(request.user, STANDARDS_BODY),
        },
    )


REPORTS = Listing(
    title="Signed reports",
    intro="PDF reports the registry signed about claims, incidents and periods; a report "
    "on an embargoed incident is listed only for those who may see the incident.",
    rows_template="reports/rows.html",
    filterset=ReportFilter,
    records=lambda user: report_list(user=user),
    api_path="/api/v1/reports/",
)


def reports(request: HttpRequest) -> HttpResponse:
    return list_page(request, REPORTS)


def report_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A report: what it is about, whether it is ready (live while it is built), its
    signed versions and the download."""
    report = get_object_or_404(report_list(user=request.user), pk=pk)
    return render(
        request,
        "reports/report_detail.html",
        {"report": report, "versions": report.versions.all()},
    )


def report_history(request: HttpRequest, pk: int) -> HttpResponse:
    report = get_object_or_404(report_list(user=request.user), pk=pk)
    return history_page(
        request, instance=report, title=str(report), record_url=report.get_absolute_url()
    )
