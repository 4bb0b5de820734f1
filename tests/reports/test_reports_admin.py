"""The reports in the admin: every role that handles an incident reads its report (Anna
the approver too); the list says how fresh its progress is and reloads itself while a
report is being built; a report's manifest reads as a table of what it rests on."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from reports.models import Report
from tests.reports.report_records import incident_report

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("report_settings")]

REPORTS = "/admin/reports/report"
REFRESH = b'<meta http-equiv="refresh" content="5">'


def logged_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_an_approver_sees_the_reports_and_opens_one(
    ivan: User, anna: User, django_capture_on_commit_callbacks: Any
) -> None:
    report = incident_report(ivan, django_capture_on_commit_callbacks)
    listed = logged_in(anna).get(f"{REPORTS}/")
    assert listed.status_code == 200
    assert listed.context["cl"].result_count == 1
    assert report.report_id.encode() in listed.content
    page = logged_in(anna).get(f"{REPORTS}/{report.pk}/change/")
    assert page.status_code == 200
    assert report.signer_fingerprint.encode() in page.content


def test_the_index_lists_reports_for_an_approver(anna: User) -> None:
    response = logged_in(anna).get("/admin/")
    assert "Reports" in [area["name"] for area in response.context["app_list"]]


def test_the_list_reloads_itself_only_while_a_report_is_being_built(
    ivan: User, django_capture_on_commit_callbacks: Any
) -> None:
    report = incident_report(ivan, django_capture_on_commit_callbacks, build=False)
    building = logged_in(ivan).get(f"{REPORTS}/")
    assert REFRESH in building.content
    assert b"this list reloads itself every 5 seconds" in building.content
    assert b"0% (pending)" in building.content

    Report.objects.filter(pk=report.pk).update(status=Report.Status.FAILED)
    settled = logged_in(ivan).get(f"{REPORTS}/")
    assert REFRESH not in settled.content
    assert b"Progress as of" in settled.content


def test_a_reports_manifest_reads_as_its_subjects_files_and_ledger_head(
    ivan: User, django_capture_on_commit_callbacks: Any
) -> None:
    report = incident_report(ivan, django_capture_on_commit_callbacks)
    page = logged_in(ivan).get(f"{REPORTS}/{report.pk}/change/").content.decode()
    shown = page.split('<details class="registry-raw">')[0]
    assert f"incident:{report.incident_id}" in shown
    for file in report.manifest["files"]:
        assert f"<td>{file['name']}</td>" in shown
        assert f"<code>{file['sha256']}</code>" in shown
    assert f"entry #{report.ledger_seq}" in shown
