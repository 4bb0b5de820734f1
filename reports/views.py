"""Public pages: anyone can upload a report and see each verification check."""

from __future__ import annotations

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from reports.api import VERIFY_MAX_BYTES
from reports.services import report_verify


class VerifyForm(forms.Form):
    file = forms.FileField(label="Report PDF")

    def clean_file(self) -> object:
        upload = self.cleaned_data["file"]
        if upload.size > VERIFY_MAX_BYTES:
            raise forms.ValidationError(f"A report is at most {VERIFY_MAX_BYTES:,} bytes.")
        return upload


def verify(request: HttpRequest) -> HttpResponse:
    """GET: the upload form. POST: the form again, with every check's outcome."""
    result = None
    if request.method == "POST":
        form = VerifyForm(request.POST, request.FILES)
        if form.is_valid():
            result = report_verify(form.cleaned_data["file"].read())
    else:
        form = VerifyForm()
    return render(request, "reports/verify.html", {"form": form, "result": result})
