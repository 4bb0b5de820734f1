"""Trust holds on every surface: the same rule gives the same answer through the API, the
admin (lists, change forms, inlines, actions, history), the public pages, the ledger
listing, reports and stored files, because every surface asks the same service or selector.

Ivan reports two incidents (one public, one embargoed) and handles both; Irene is an
investigator not assigned to them; Anna approves; Adam is admin; Vera views; Alice is an
analyst; Nobody has no role; Olga speaks for the accused organization; anonymous is not
logged in. Each incident has evidence with a restricted file, an approved decision, Olga's
reply and a requested report, all made through the services.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from registry import services
from registry.models import (
    CloningIncident,
    Evidence,
    IncidentDecision,
    LedgerEntry,
    OrganizationMembership,
    StoredFile,
)
from reports.models import Report
from reports.services import ReportSubject, report_request
from tests.factories import ModelReleaseFactory, UserFactory

pytestmark = [pytest.mark.django_db]

API = "/api/v1"
ADMIN = "/admin/registry"
PERSONAS = ["anonymous", "nobody", "olga", "vera", "alice", "irene", "ivan", "anna", "adam"]
# Who may see an embargoed incident: its investigators, approvers and admins.
SEES_EMBARGOED = {"ivan", "anna", "adam"}
STAFF = {"vera", "alice", "irene", "ivan", "anna", "adam"}


@dataclass(frozen=True)
class Case:
    incident: CloningIncident
    evidence: Evidence
    decision: IncidentDecision
    restricted_sha256: str
    report: Report


def make_case(ivan: User, anna: User, olga: User, *, embargoed: bool) -> Case:
    suspect = ModelReleaseFactory()
    OrganizationMembership.objects.get_or_create(user=olga, organization=suspect.organization)
    original = ModelReleaseFactory()
    label = "embargoed" if embargoed else "public"
    incident = services.incident_create(
        actor=ivan,
        fields={
            "title": f"The {label} case",
            "suspect_release": suspect,
            "original_release": original,
            "reporting_organization": original.organization,
            "summary": f"Summary of the {label} case.",
            "embargoed": embargoed,
        },
    )
    restricted = f"accounts of the {label} case\n".encode()
    evidence = services.evidence_submit(
        actor=ivan,
        incident=incident,
        fields={
            "kind": "extraction_detector",
            "method_name": f"Detector of the {label} case",
            "access_mode": "provider_telemetry",
            "details": {"detector": "prada", "statistic": 4.0, "threshold": 3.0},
        },
        files=[
            services.UploadedEvidenceFile(io.BytesIO(restricted), "accounts.csv", "text/csv", True)
        ],
    )
    services.incident_transition(incident=incident, to_status="triage", actor=ivan, reason="in")
    services.incident_transition(
        incident=incident, to_status="investigating", actor=ivan, reason="go"
    )
    decision = services.decision_propose(
        incident=incident,
        proposed_status="substantiated",
        actor=ivan,
        reason=f"Reason of the {label} case",
    )
    services.decision_approve(decision=decision, actor=anna)
    services.reply_file(incident=incident, actor=olga, statement=f"Reply of the {label} case")
    report = report_request(actor=ivan, kind="incident", subject=ReportSubject(incident=incident))
    incident.refresh_from_db()
    return Case(
        incident,
        evidence,
        decision,
        StoredFile.objects.get(evidence_files__evidence=evidence).sha256,
        report,
    )


@pytest.fixture
def olga(db: None) -> User:
    user: User = UserFactory(username="olga")
    return user


@pytest.fixture
def embargoed(ivan: User, anna: User, olga: User) -> Case:
    return make_case(ivan, anna, olga, embargoed=True)


@pytest.fixture
def public(ivan: User, anna: User, olga: User) -> Case:
    return make_case(ivan, anna, olga, embargoed=False)


def persona(request: pytest.FixtureRequest, name: str) -> User | None:
    return None if name == "anonymous" else request.getfixturevalue(name)


def browser(user: User | None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def api_get(user: User | None, path: str) -> Any:
    return browser(user).get(f"{API}{path}", HTTP_ACCEPT="application/json")


# --- Reads: an embargoed incident exists only for those who may see it -----------------


@pytest.mark.parametrize("name", PERSONAS)
def test_the_embargo_holds_on_every_read_surface(
    request: pytest.FixtureRequest, embargoed: Case, public: Case, name: str
) -> None:
    user = persona(request, name)
    sees = name in SEES_EMBARGOED
    incident = embargoed.incident
    secret_texts = [incident.title, "Reason of the embargoed case", "Reply of the embargoed case"]

    # API: list, detail, counts and filters.
    listing = api_get(user, "/incidents/").json()
    assert (incident.pk in [row["id"] for row in listing["results"]]) is sees
    assert listing["count"] == (2 if sees else 1)
    assert api_get(user, f"/incidents/{incident.pk}/").status_code == (200 if sees else 404)
    for path in ["/evidence/", "/decisions/", "/reports/"]:
        filtered = api_get(user, f"{path}?incident={incident.pk}")
        assert filtered.status_code == (200 if sees else 400), path
        unknown = api_get(user, f"{path}?incident=999999")
        assert unknown.status_code == 400, path
    # The ledger listing: no entry of the embargoed incident, whatever its record type.
    for object_type in ["incidentdecision", "rightofreply", "evidence", "cloningincident"]:
        rows = api_get(user, f"/ledger/?object_type=registry.{object_type}&limit=500").json()
        if not sees:
            assert not any(text in str(rows) for text in secret_texts), object_type
        scoped = LedgerEntry.objects.filter(
            scope_incident=incident, object_type=f"registry.{object_type}"
        ).count()
        assert rows["count"] == (2 * scoped if sees else scoped), object_type
    reports = api_get(user, "/ledger/?object_type=reports.report").json()
    assert (str(embargoed.report.pk) in [r["object_id"] for r in reports["results"]]) is sees
    # The public page.
    assert browser(user).get(f"/incidents/{incident.pk}/").status_code == (200 if sees else 404)


@pytest.mark.parametrize("name", sorted(STAFF))
@pytest.mark.parametrize(
    "page",
    [
        f"{ADMIN}/cloningincident/",
        f"{ADMIN}/evidence/",
        f"{ADMIN}/incidentdecision/",
        f"{ADMIN}/rightofreply/",
        f"{ADMIN}/ledgerentry/?o=-1",
        f"{ADMIN}/storedfile/",
        "/admin/reports/report/",
    ],
)
def test_the_embargo_holds_in_every_admin_list(
    request: pytest.FixtureRequest, embargoed: Case, public: Case, name: str, page: str
) -> None:
    user = persona(request, name)
    sees = name in SEES_EMBARGOED
    response = browser(user).get(page, follow=True)
    assert response.status_code == 200
    content = response.content.decode()
    secrets = [
        embargoed.incident.title,
        "Detector of the embargoed case",
        "Reply of the embargoed case",
        embargoed.restricted_sha256,
    ]
    for secret in secrets:
        assert secret not in content or sees, (page, secret)


@pytest.mark.parametrize("name", sorted(STAFF - SEES_EMBARGOED))
@pytest.mark.parametrize("page", ["change", "history"])
def test_embargoed_records_do_not_exist_in_the_admin_for_outsiders(
    request: pytest.FixtureRequest, embargoed: Case, name: str, page: str
) -> None:
    client = browser(persona(request, name))
    for path in [
        f"cloningincident/{embargoed.incident.pk}",
        f"evidence/{embargoed.evidence.pk}",
        f"incidentdecision/{embargoed.decision.pk}",
    ]:
        response = client.get(f"{ADMIN}/{path}/{page}/", follow=True)
        assert "doesn\u2019t exist" in response.content.decode(), path
        assert "embargoed case" not in response.content.decode()


@pytest.mark.parametrize("name", sorted(SEES_EMBARGOED))
def test_the_admin_history_is_the_ledger_with_what_changed(
    request: pytest.FixtureRequest, embargoed: Case, name: str
) -> None:
    response = browser(persona(request, name)).get(
        f"{ADMIN}/cloningincident/{embargoed.incident.pk}/history/"
    )
    content = response.content.decode()
    entries = LedgerEntry.objects.filter(
        object_type="registry.cloningincident", object_id=str(embargoed.incident.pk)
    ).order_by("seq")
    assert [row.entry.seq for row in response.context["rows"]] == [e.seq for e in entries]
    assert "reported → triage" in content
    assert "investigating → substantiated" in content


# --- Writes: the service decides, whatever the surface ----------------------------------

MAY_MOVE = {"ivan", "anna", "adam"}


@pytest.mark.parametrize("name", PERSONAS)
def test_who_may_move_an_incident_is_the_same_in_the_api_and_the_admin(
    request: pytest.FixtureRequest, ivan: User, name: str
) -> None:
    user = persona(request, name)
    release = ModelReleaseFactory()
    fields = {
        "suspect_name": "Copycat",
        "original_release": release,
        "reporting_organization": release.organization,
        "summary": "s",
    }
    by_api = services.incident_create(actor=ivan, fields={**fields, "title": "By API"})
    by_admin = services.incident_create(actor=ivan, fields={**fields, "title": "By admin"})

    response = browser(user).post(
        f"{API}/incidents/{by_api.pk}/transition/",
        {"to_status": "triage", "reason": "r"},
        content_type="application/json",
    )
    expected = 200 if name in MAY_MOVE else (403 if user else 401)
    assert response.status_code == expected
    if name in STAFF:
        browser(user).post(
            f"{ADMIN}/cloningincident/",
            {
                "action": "move_status",
                "_selected_action": [by_admin.pk],
                "apply": "1",
                "to_status": "triage",
                "reason": "r",
            },
        )
        by_admin.refresh_from_db()
        assert (by_admin.status == "triage") is (name in MAY_MOVE)


@pytest.mark.parametrize("name", sorted(STAFF))
def test_who_may_propose_a_decision_is_the_same_in_the_admin(
    request: pytest.FixtureRequest, public: Case, ivan: User, name: str
) -> None:
    release = ModelReleaseFactory()
    incident = services.incident_create(
        actor=ivan,
        fields={
            "title": "To settle",
            "suspect_name": "Copycat",
            "original_release": release,
            "reporting_organization": release.organization,
            "summary": "s",
        },
    )
    for step in ("triage", "investigating"):
        services.incident_transition(incident=incident, to_status=step, actor=ivan, reason="r")
    browser(persona(request, name)).post(
        f"{ADMIN}/cloningincident/",
        {
            "action": "propose_decision",
            "_selected_action": [incident.pk],
            "apply": "1",
            "proposed_status": "withdrawn",
            "reason": "r",
        },
    )
    assert incident.decisions.exists() is (name in MAY_MOVE)


@pytest.mark.parametrize("name", sorted(STAFF))
def test_who_may_queue_an_analysis_is_the_same_in_the_admin(
    request: pytest.FixtureRequest, name: str
) -> None:
    from tests.factories import BenchmarkClaimFactory, VoteDatasetFactory

    dataset = VoteDatasetFactory()
    claim = BenchmarkClaimFactory(benchmark=dataset.benchmark, dataset=dataset)
    response = browser(persona(request, name)).post(
        f"{ADMIN}/benchmarkclaim/",
        {"action": "request_claim_analyses", "_selected_action": [claim.pk]},
        follow=True,
    )
    queued = claim.analyses.exists()
    assert queued is (name in {"alice", "adam"})
    if not queued and response.status_code == 200:
        assert "role does not allow" in response.content.decode()


@pytest.mark.parametrize(
    ("name", "expected"),
    [("anonymous", 401), ("nobody", 403), ("vera", 403), ("anna", 403), ("irene", 403)],
)
def test_who_may_add_evidence_is_the_same_for_every_kind_of_evidence(
    request: pytest.FixtureRequest, public: Case, name: str, expected: int
) -> None:
    """Evidence is added by the incident's assigned investigators and admins: approvers,
    who decide on it, do not produce it, neither typed nor computed."""
    client = browser(persona(request, name))
    typed = client.post(
        f"{API}/evidence/",
        {
            "incident": public.incident.pk,
            "kind": "extraction_detector",
            "method_name": "m",
            "access_mode": "provider_telemetry",
            "details": {"detector": "d", "statistic": 1.0, "threshold": 2.0},
        },
        content_type="application/json",
    )
    computed = client.post(
        f"{API}/incidents/{public.incident.pk}/query-logs/",
        {"file": io.BytesIO(b"timestamp,account,prompt,tokens_in,tokens_out\n")},
    )
    assert (typed.status_code, computed.status_code) == (expected, expected)


# --- Assignment grants powers only with the role ----------------------------------------


def test_only_investigators_can_be_assigned(ivan: User, nobody: User, public: Case) -> None:
    before = LedgerEntry.objects.count()
    response = browser(ivan).patch(
        f"{API}/incidents/{public.incident.pk}/",
        {"investigators": [ivan.pk, nobody.pk]},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "nobody does not have the investigator role" in response.json()["investigators"][0]
    assert list(public.incident.investigators.all()) == [ivan]
    assert LedgerEntry.objects.count() == before


def test_an_assigned_account_without_the_role_has_no_powers(
    nobody: User, public: Case, api: Any
) -> None:
    """Nobody was assigned before the rule existed (or lost the role since): assignment
    alone lets them do nothing the API's evidence endpoint would refuse."""
    incident = public.incident
    incident.investigators.add(nobody)  # bypasses the service on purpose
    client = api(nobody)
    moved = client.post(
        f"{API}/incidents/{incident.pk}/transition/", {"to_status": "closed", "reason": "r"}
    )
    proposed = client.post(
        f"{API}/incidents/{incident.pk}/decisions/",
        {"proposed_status": "withdrawn", "reason": "r"},
    )
    provenance = client.post(
        f"{API}/incidents/{incident.pk}/provenance-tests/",
        {
            "file": io.BytesIO(b'{"prompt_id": "p", "model": "s", "response": "r"}\n'),
            "suspect": "s",
            "candidates": ["c"],
            "baselines": ["b1", "b2"],
        },
        format="multipart",
    )
    assert (moved.status_code, proposed.status_code, provenance.status_code) == (403, 403, 403)


# --- Append-only means append-only ------------------------------------------------------


def test_the_incident_change_form_offers_no_delete_of_evidence_or_decisions(
    adam: User, public: Case
) -> None:
    client = browser(adam)
    url = f"{ADMIN}/cloningincident/{public.incident.pk}/change/"
    page = client.get(url).content.decode()
    assert "DELETE" not in page
    # A forged "delete" in the POST changes nothing either.
    data = {
        "title": public.incident.title,
        "summary": "Edited",
        "original_release": public.incident.original_release_id,
        "reporting_organization": public.incident.reporting_organization_id,
        "suspect_release": public.incident.suspect_release_id,
        "evidentiary_level": public.incident.evidentiary_level,
        "investigators": [inv.pk for inv in public.incident.investigators.all()],
        "atlas_techniques": "[]",
        "evidence-TOTAL_FORMS": "1",
        "evidence-INITIAL_FORMS": "1",
        "evidence-0-id": public.evidence.pk,
        "evidence-0-incident": public.incident.pk,
        "evidence-0-DELETE": "on",
    }
    client.post(url, data)
    assert Evidence.objects.filter(pk=public.evidence.pk).exists()


def test_the_timeline_has_no_gaps(public: Case, ivan: User) -> None:
    entries = LedgerEntry.objects.filter(scope_incident=public.incident).order_by("seq")
    response = browser(ivan).get(f"{API}/incidents/{public.incident.pk}/timeline/")
    assert [row["seq"] for row in response.json()["results"]] == [e.seq for e in entries]
    kinds = {entry.object_type for entry in entries}
    assert kinds == {
        "registry.cloningincident",
        "registry.evidence",
        "registry.incidentdecision",
        "registry.rightofreply",
        "reports.report",
    }
