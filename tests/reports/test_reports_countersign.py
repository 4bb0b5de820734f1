"""Countersigning by the standards body, and renewal of archive timestamps, end to end.

Personas (tests/conftest.py): Ivan investigator (his incident's report), Alice analyst,
Anna approver, Vera viewer; Sam (here) speaks for the standards body.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.core.exceptions import PermissionDenied

from registry import roles
from registry.errors import ConflictError
from registry.models import LedgerEntry
from registry.permissions_setup import ensure_role_groups
from reports.models import Report, ReportVersion
from reports.pdf.devca import COUNTERSIGNER_COMMON_NAME
from reports.services import (
    report_countersign,
    report_signer,
    report_verify,
    reports_renew_timestamps,
)
from tests.factories import UserFactory
from tests.reports.report_records import incident_report
from tests.reports.tsa_server import LoopbackTsa

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("report_settings")]


@pytest.fixture
def sam(db: None) -> User:
    ensure_role_groups()
    user: User = UserFactory(username="sam", is_staff=True)
    user.groups.add(Group.objects.get(name=roles.STANDARDS_BODY))
    return user


@pytest.fixture
def issued(ivan: Any, django_capture_on_commit_callbacks: Any) -> Report:
    report = incident_report(ivan, django_capture_on_commit_callbacks)
    return report


def _file(report: Report) -> bytes:
    return Path(report.file.path).read_bytes()


def test_the_standards_body_countersigns_a_report_as_a_new_ledgered_version(
    sam: User, issued: Report
) -> None:
    original = issued.sha256
    countersigned = report_countersign(actor=sam, report=issued)
    versions = list(countersigned.versions.order_by("number"))
    assert [(v.number, v.change) for v in versions] == [(1, "issued"), (2, "countersigned")]
    assert versions[0].sha256 == original != countersigned.sha256 == versions[1].sha256
    assert versions[1].created_by == sam
    result = report_verify(_file(countersigned))
    assert result.passed, [check for check in result.checks if not check.passed]
    signers = [s.signer for s in result.signatures]
    assert len(signers) == 2
    assert COUNTERSIGNER_COMMON_NAME in signers[1]
    entry = LedgerEntry.objects.get(object_id=str(issued.pk), action="countersigned")
    assert entry.actor == sam
    assert entry.snapshot["_context"]["sha256"] == countersigned.sha256


@pytest.mark.parametrize("persona", ["ivan", "alice", "anna", "vera"])
def test_no_other_role_may_countersign(issued: Report, persona: str, request: Any) -> None:
    with pytest.raises(PermissionDenied):
        report_countersign(actor=request.getfixturevalue(persona), report=issued)
    issued.refresh_from_db()
    assert issued.versions.count() == 1


def test_the_api_countersigns_for_the_standards_body_only(
    api: Any, sam: User, ivan: User, issued: Report
) -> None:
    url = f"/api/v1/reports/{issued.pk}/countersign/"
    assert api(None).post(url).status_code in (401, 403)
    assert api(ivan).post(url).status_code == 403
    response = api(sam).post(url)
    assert response.status_code == 200, response.content
    assert [v["change"] for v in response.data["versions"]] == ["issued", "countersigned"]


def test_a_report_not_yet_done_cannot_be_countersigned(
    api: Any, sam: User, ivan: User, django_capture_on_commit_callbacks: Any
) -> None:
    pending = incident_report(ivan, django_capture_on_commit_callbacks, build=False)
    response = api(sam).post(f"/api/v1/reports/{pending.pk}/countersign/")
    assert response.status_code == 409
    assert not ReportVersion.objects.filter(report=pending).exists()


def test_the_page_offers_and_performs_the_countersignature(
    client: Any, sam: User, vera: User, issued: Report
) -> None:
    url = f"/reports/{issued.pk}/countersign/"
    client.force_login(vera)
    assert "Countersign</button>" not in client.get(url).content.decode()
    assert client.post(url).status_code == 403
    client.force_login(sam)
    assert "Countersign</button>" in client.get(url).content.decode()
    page = client.post(url, follow=True).content.decode()
    assert "countersigned: a new version" in page
    assert issued.versions.count() == 2


def test_archive_timestamps_are_renewed_within_the_window_only(
    ivan: Any, settings: Any, dev_pki: Any, tmp_path: Path, django_capture_on_commit_callbacks: Any
) -> None:
    with LoopbackTsa(days=30) as tsa:
        settings.REPORT_TSA_URL = tsa.url
        roots = tmp_path / "roots.pem"
        roots.write_bytes(dev_pki.ca_cert_file.read_bytes() + tsa.root_pem)
        settings.REPORT_TRUST_ROOTS_FILE = str(roots)
        report_signer.cache_clear()
        report = incident_report(ivan, django_capture_on_commit_callbacks)
        assert report.signature_level == "B-LTA"
        expires = report.timestamp_expires_at
        assert expires is not None
        assert reports_renew_timestamps(window=dt.timedelta(days=10)) == []
        assert reports_renew_timestamps(window=dt.timedelta(days=31)) == [report.pk]
        report.refresh_from_db()
        result = report_verify(_file(report))
    assert [v.change for v in report.versions.order_by("number")] == ["issued", "retimestamped"]
    assert result.passed, [check for check in result.checks if not check.passed]
    assert [s.kind for s in result.signatures].count("document timestamp") == 2
    assert LedgerEntry.objects.filter(object_id=str(report.pk), action="retimestamped").exists()


def test_a_second_countersignature_gets_a_field_and_a_version_of_its_own(
    sam: User, issued: Report
) -> None:
    report_countersign(actor=sam, report=issued)
    issued.refresh_from_db()
    twice = report_countersign(actor=sam, report=issued)
    assert [v.number for v in twice.versions.all()] == [1, 2, 3]
    result = report_verify(_file(twice))
    assert result.passed, [check for check in result.checks if not check.passed]
    fields = [s.field for s in result.signatures]
    assert fields == ["RegistrySignature", "Countersignature", "Countersignature2"]


def test_a_countersignature_on_a_stale_copy_is_refused_and_leaves_no_file(
    sam: User, issued: Report
) -> None:
    stale = Report.objects.get(pk=issued.pk)
    report_countersign(actor=sam, report=issued)
    media = Path(issued.file.path).parent
    files_before = set(media.iterdir())
    with pytest.raises(ConflictError, match="changed while it was being signed"):
        report_countersign(actor=sam, report=stale)
    assert set(media.iterdir()) == files_before
    assert Report.objects.get(pk=issued.pk).versions.count() == 2
