"""Workflow buttons on the admin's change pages: each offers only the moves the workflow
allows this person now, and each goes through the record's service (which checks again
and writes the ledger). Ivan investigates, Anna approves, Irene is an investigator not
assigned to Ivan's incident, Alice is an analyst and Vera only reads."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.contrib.messages import get_messages
from django.test import Client

from registry.admin_incidents import MoveForm
from registry.models import BenchmarkClaim, CloningIncident, FragilityAnalysis, LedgerEntry
from registry.services import decision_propose, incident_create, incident_transition
from tests.factories import ModelReleaseFactory
from tests.reports.report_records import make_claim, make_dataset

pytestmark = [pytest.mark.django_db]

INCIDENTS = "/admin/registry/cloningincident"
CLAIMS = "/admin/registry/benchmarkclaim"


def logged_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def incident(ivan: User) -> CloningIncident:
    release = ModelReleaseFactory()
    return incident_create(
        actor=ivan,
        fields={
            "title": "Suspected distillation of Atlas",
            "suspect_name": "Shadow 7B",
            "original_release": release,
            "reporting_organization": release.organization,
            "summary": "Coordinated accounts harvested answers.",
            "atlas_techniques": ["AML.T0024.002"],
        },
    )


def offered(user: User, url: str) -> list[str]:
    response = logged_in(user).get(f"{url}/change/")
    assert response.status_code == 200
    return [move.key for move in response.context["workflow_moves"]]


def post_move(user: User, url: str, key: str, reason: str = "") -> list[str]:
    """Press a workflow button; the messages the admin answers with."""
    response = logged_in(user).post(f"{url}/workflow/", {"workflow": key, "reason": reason})
    assert response.status_code == 302
    assert response["Location"] == f"{url}/change/"
    return [str(message) for message in get_messages(response.wsgi_request)]


def investigating(incident: CloningIncident, ivan: User) -> CloningIncident:
    for status in ("triage", "investigating"):
        incident = incident_transition(
            incident=incident, to_status=status, actor=ivan, reason="Evidence in hand."
        )
    return incident


def test_a_reported_incident_offers_only_the_move_to_triage(
    incident: CloningIncident, ivan: User
) -> None:
    assert offered(ivan, f"{INCIDENTS}/{incident.pk}") == ["move:triage"]


def test_an_investigating_incident_offers_the_decisions_to_propose_and_no_plain_move(
    incident: CloningIncident, ivan: User
) -> None:
    investigating(incident, ivan)
    assert offered(ivan, f"{INCIDENTS}/{incident.pk}") == [
        "propose:substantiated",
        "propose:unsubstantiated",
        "propose:withdrawn",
    ]


def test_a_button_moves_the_incident_through_the_service_and_the_ledger(
    incident: CloningIncident, ivan: User
) -> None:
    said = post_move(ivan, f"{INCIDENTS}/{incident.pk}", "move:triage", "Logs arrived.")
    assert said == [f"Incident {incident.pk} moved to Triage."]
    incident.refresh_from_db()
    assert incident.status == CloningIncident.Status.TRIAGE
    entry = LedgerEntry.objects.filter(action="status_change", object_id=str(incident.pk)).get()
    assert entry.snapshot["_context"]["reason"] == "Logs arrived."


def test_a_move_without_a_reason_is_refused_and_changes_nothing(
    incident: CloningIncident, ivan: User
) -> None:
    said = post_move(ivan, f"{INCIDENTS}/{incident.pk}", "move:triage")
    assert said == ["Give a reason: every move is recorded with one."]
    incident.refresh_from_db()
    assert incident.status == CloningIncident.Status.REPORTED


def test_a_move_the_workflow_does_not_allow_is_refused_in_words_not_enum_names(
    incident: CloningIncident, ivan: User
) -> None:
    # A stale page, or a hand-made request: the service answers, in labels.
    said = post_move(ivan, f"{INCIDENTS}/{incident.pk}", "move:closed", "Done here.")
    assert said == [
        f"Incident {incident.pk} is 'Reported'; the workflow does not allow a move to "
        "'Closed' (allowed: 'Triage')."
    ]
    assert "Status." not in said[0]
    incident.refresh_from_db()
    assert incident.status == CloningIncident.Status.REPORTED


def test_the_proposer_is_offered_no_approval_and_cannot_approve_by_hand(
    incident: CloningIncident, ivan: User, anna: User
) -> None:
    decision_propose(
        incident=investigating(incident, ivan),
        proposed_status="substantiated",
        actor=ivan,
        reason="Overlap far above baseline.",
    )
    url = f"{INCIDENTS}/{incident.pk}"
    assert offered(ivan, url) == ["reject"]
    assert offered(anna, url) == ["approve", "reject"]
    said = post_move(ivan, url, "approve")
    assert said == [
        "Four-eyes rule: a decision must be approved by someone other than its proposer."
    ]
    incident.refresh_from_db()
    assert incident.status == CloningIncident.Status.INVESTIGATING

    assert post_move(anna, url, "approve") == [
        f"Approved: incident {incident.pk} is now Substantiated."
    ]
    incident.refresh_from_db()
    assert incident.status == CloningIncident.Status.SUBSTANTIATED
    assert offered(anna, url) == ["move:closed"]


def test_who_does_not_handle_the_incident_is_offered_nothing_and_refused(
    incident: CloningIncident, irene: User
) -> None:
    url = f"{INCIDENTS}/{incident.pk}"
    assert offered(irene, url) == []
    said = post_move(irene, url, "move:triage", "I was not asked.")
    assert said == ["Only the incident's investigators, approvers and admins can move it."]
    incident.refresh_from_db()
    assert incident.status == CloningIncident.Status.REPORTED


def test_the_list_action_offers_only_moves_allowed_from_the_selected_statuses(
    incident: CloningIncident, ivan: User
) -> None:
    form = MoveForm(rows=CloningIncident.objects.filter(pk=incident.pk))
    assert [value for value, _ in form.fields["to_status"].choices] == ["triage"]


@pytest.fixture
def claim(alice: User) -> BenchmarkClaim:
    return make_claim(alice, make_dataset(alice))


def test_a_claim_offers_analysts_an_analysis_and_withdrawal_and_readers_nothing(
    claim: BenchmarkClaim, alice: User, vera: User
) -> None:
    url = f"{CLAIMS}/{claim.pk}"
    assert offered(alice, url) == ["analyse", "withdraw"]
    assert offered(vera, url) == []


def test_queuing_an_analysis_from_the_claim_links_the_job(
    claim: BenchmarkClaim, alice: User, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=False):
        said = post_move(alice, f"{CLAIMS}/{claim.pk}", "analyse")
    analysis = FragilityAnalysis.objects.get(claim=claim)
    url = f"/admin/registry/fragilityanalysis/{analysis.pk}/change/"
    assert said == [f'Queued 1 analysis: <a href="{url}">analysis {analysis.pk}</a>.']


def test_the_bulk_action_counts_its_jobs_in_words_and_links_each(
    alice: User, django_capture_on_commit_callbacks: Any
) -> None:
    dataset = make_dataset(alice)
    claims = [make_claim(alice, dataset), make_claim(alice, dataset)]
    with django_capture_on_commit_callbacks(execute=False):
        response = logged_in(alice).post(
            f"{CLAIMS}/",
            {"action": "request_claim_analyses", "_selected_action": [c.pk for c in claims]},
        )
    analyses = FragilityAnalysis.objects.filter(claim__in=claims).order_by("pk")
    links = ", ".join(
        f'<a href="/admin/registry/fragilityanalysis/{a.pk}/change/">analysis {a.pk}</a>'
        for a in analyses
    )
    said = [str(message) for message in get_messages(response.wsgi_request)]
    assert said == [f"Queued 2 analyses: {links}."]


def test_withdrawing_needs_a_reason_and_goes_through_the_service(
    claim: BenchmarkClaim, alice: User
) -> None:
    url = f"{CLAIMS}/{claim.pk}"
    assert post_move(alice, url, "withdraw") == ["Give a reason: every move is recorded with one."]
    assert post_move(alice, url, "withdraw", "Retracted by its maker.") == [
        f"Claim {claim.pk} withdrawn."
    ]
    claim.refresh_from_db()
    assert claim.status == BenchmarkClaim.Status.WITHDRAWN
    assert offered(alice, url) == []


def test_audit_fields_are_shown_not_edited(claim: BenchmarkClaim, alice: User) -> None:
    response = logged_in(alice).get(f"{CLAIMS}/{claim.pk}/change/")
    assert b'name="created_by"' not in response.content
    assert b'name="status"' not in response.content
    assert alice.username.encode() in response.content
