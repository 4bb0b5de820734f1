"""The reports API: who may request which report, what an embargo hides, and the
admin's "request report" action.

Personas (tests/conftest.py): Alice analyst, Ivan investigator (handles his incidents),
Irene another investigator, Anna approver, Vera viewer, anonymous.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from registry.models import FragilityAnalysis
from reports.models import Report
from reports.services import ReportSubject, report_request, report_run
from tests.reports.report_records import digest_period, make_claim, make_dataset, make_incident

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("report_settings")]


@pytest.fixture
def analysis(alice: Any, django_capture_on_commit_callbacks: Any) -> FragilityAnalysis:
    from tests.reports.report_records import run_analysis

    claim = make_claim(alice, make_dataset(alice))
    return run_analysis(alice, claim, django_capture_on_commit_callbacks)


def _done_incident_report(ivan: Any, capture: Any, *, embargoed: bool) -> Report:
    incident = make_incident(ivan, embargoed=embargoed).incident
    with capture(execute=False):
        report = report_request(
            actor=ivan, kind=Report.Kind.INCIDENT, subject=ReportSubject(incident=incident)
        )
    report_run(report_id=report.pk)
    report.refresh_from_db()
    return report


def test_analyst_requests_a_claim_report_and_gets_202_with_its_url(
    api: Any, alice: Any, analysis: FragilityAnalysis, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = api(alice).post(
            "/api/v1/reports/", {"kind": "claim", "subject": analysis.claim_id}, format="json"
        )
    assert response.status_code == 202, response.content
    assert response["Location"].endswith(f"/api/v1/reports/{response.data['id']}/")
    assert response.data["status"] == "pending"
    assert response.data["analysis"] == analysis.pk
    assert len(queued) == 1  # the build is queued only once the request commits


def test_a_claim_without_a_finished_analysis_gets_409(api: Any, alice: Any) -> None:
    claim = make_claim(alice, make_dataset(alice))
    response = api(alice).post(
        "/api/v1/reports/", {"kind": "claim", "subject": claim.pk}, format="json"
    )
    assert response.status_code == 409
    assert "run an analysis first" in response.data["detail"]
    assert Report.objects.count() == 0


@pytest.mark.parametrize("persona", ["anonymous", "vera", "ivan"])
def test_only_analysts_request_claim_reports_and_digests(
    api: Any, request: pytest.FixtureRequest, analysis: FragilityAnalysis, persona: str
) -> None:
    user = None if persona == "anonymous" else request.getfixturevalue(persona)
    client = api(user)
    claim = client.post(
        "/api/v1/reports/", {"kind": "claim", "subject": analysis.claim_id}, format="json"
    )
    start, end = digest_period()
    digest_subject = {"period_start": str(start), "period_end": str(end)}
    digest = client.post(
        "/api/v1/reports/", {"kind": "digest", "subject": digest_subject}, format="json"
    )
    expected = (401, 403) if user is None else (403,)
    assert claim.status_code in expected
    assert digest.status_code in expected
    assert Report.objects.count() == 0


def test_only_the_incident_handlers_request_its_report(
    api: Any, ivan: Any, irene: Any, alice: Any, anna: Any
) -> None:
    incident = make_incident(ivan).incident
    body = {"kind": "incident", "subject": incident.pk}
    assert api(irene).post("/api/v1/reports/", body, format="json").status_code == 403
    assert api(alice).post("/api/v1/reports/", body, format="json").status_code == 403
    assert api(ivan).post("/api/v1/reports/", body, format="json").status_code == 202
    assert api(anna).post("/api/v1/reports/", body, format="json").status_code == 202


def test_an_outsider_cannot_learn_an_embargoed_incident_exists_by_requesting_a_report(
    api: Any, ivan: Any, irene: Any
) -> None:
    secret = make_incident(ivan, embargoed=True).incident
    response = api(irene).post(
        "/api/v1/reports/", {"kind": "incident", "subject": secret.pk}, format="json"
    )
    missing = api(irene).post(
        "/api/v1/reports/", {"kind": "incident", "subject": secret.pk + 1000}, format="json"
    )
    assert response.status_code == missing.status_code == 400
    assert str(response.data).replace(str(secret.pk), "N") == str(missing.data).replace(
        str(secret.pk + 1000), "N"
    )


def test_a_digest_period_must_not_end_before_it_starts(api: Any, alice: Any) -> None:
    subject = {"period_start": "2026-03-31", "period_end": "2026-03-01"}
    response = api(alice).post(
        "/api/v1/reports/", {"kind": "digest", "subject": subject}, format="json"
    )
    assert response.status_code == 400
    assert "subject" in response.data


def test_a_report_on_an_embargoed_incident_is_404_for_outsiders(
    api: Any, ivan: Any, irene: Any, anna: Any, django_capture_on_commit_callbacks: Any
) -> None:
    report = _done_incident_report(ivan, django_capture_on_commit_callbacks, embargoed=True)
    assert report.status == "done"
    base = f"/api/v1/reports/{report.pk}/"
    for outsider in (None, irene):
        client = api(outsider)
        for suffix in ("", "download/", "manifest/"):
            assert client.get(base + suffix).status_code == 404
        assert client.get("/api/v1/reports/").data["count"] == 0
    for insider in (ivan, anna):
        download = api(insider).get(base + "download/")
        assert download.status_code == 200
        assert b"".join(download.streaming_content) == Path(report.file.path).read_bytes()
        assert api(insider).get("/api/v1/reports/").data["count"] == 1


def test_anyone_downloads_a_report_on_a_public_subject(
    api: Any, ivan: Any, django_capture_on_commit_callbacks: Any
) -> None:
    report = _done_incident_report(ivan, django_capture_on_commit_callbacks, embargoed=False)
    download = api(None).get(f"/api/v1/reports/{report.pk}/download/")
    assert download.status_code == 200
    assert download["Content-Type"] == "application/pdf"
    assert f"{report.report_id}.pdf" in download["Content-Disposition"]
    manifest = api(None).get(f"/api/v1/reports/{report.pk}/manifest/")
    assert manifest.status_code == 200
    assert manifest.data == report.manifest
    assert manifest.data["report_id"] == report.report_id
    assert manifest.data["ledger_head"] == {"seq": report.ledger_seq, "hash": report.ledger_hash}


def test_a_report_not_yet_done_cannot_be_downloaded(
    api: Any, ivan: Any, django_capture_on_commit_callbacks: Any
) -> None:
    incident = make_incident(ivan).incident
    with django_capture_on_commit_callbacks(execute=False):
        report = report_request(
            actor=ivan, kind=Report.Kind.INCIDENT, subject=ReportSubject(incident=incident)
        )
    assert api(ivan).get(f"/api/v1/reports/{report.pk}/download/").status_code == 409
    assert api(ivan).get(f"/api/v1/reports/{report.pk}/manifest/").status_code == 409


def test_the_report_list_runs_a_fixed_number_of_queries(
    api: Any,
    ivan: Any,
    django_capture_on_commit_callbacks: Any,
    django_assert_max_num_queries: Any,
) -> None:
    for _ in range(3):
        _done_incident_report(ivan, django_capture_on_commit_callbacks, embargoed=False)
    with django_assert_max_num_queries(6):
        response = api(ivan).get("/api/v1/reports/")
    assert response.data["count"] == 3


def test_the_admin_action_requests_reports_on_selected_incidents(
    client: Any, ivan: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from registry.permissions_setup import ensure_role_groups

    ensure_role_groups()
    incident = make_incident(ivan).incident
    client.force_login(ivan)
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(
            "/admin/registry/cloningincident/",
            {"action": "request_reports", "_selected_action": [incident.pk]},
            follow=True,
        )
    assert response.status_code == 200
    assert Report.objects.filter(kind="incident", incident=incident).count() == 1
    assert "requested <a href" in response.content.decode()
