"""An incident from report to an approved decision, through the API and through the admin.

Ivan (investigator) reports, triages and investigates, uploads computed evidence and
proposes a decision; he cannot approve his own proposal; Anna (approver) approves it; Ivan
closes the incident. The ledger holds every move with its reason, and the chain verifies.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from registry.ledger import ledger_verify
from registry.models import CloningIncident, Evidence, IncidentDecision, LedgerEntry
from registry.services import decision_propose, incident_create, incident_transition
from tests.factories import CloningIncidentFactory, ModelReleaseFactory, OrganizationFactory
from tests.registry.incident_uploads import (
    BASELINES,
    SUSPECT,
    TEACHER,
    UNRELATED_CANDIDATE,
    provenance_jsonl,
    query_log,
    sha256,
)
from tests.registry.jobs import result

pytestmark = [
    pytest.mark.django_db,
]

API = "/api/v1"
INCIDENT_TYPE = "registry.cloningincident"


def report_body() -> dict[str, Any]:
    original = ModelReleaseFactory(name="Frontier 1")
    suspect = ModelReleaseFactory(name="Replica 7B", organization=OrganizationFactory())
    return {
        "title": "Suspected distillation of Frontier 1",
        "suspect_release": suspect.pk,
        "original_release": original.pk,
        "reporting_organization": original.organization.pk,
        "summary": "Five accounts harvested outputs for a month.",
        "atlas_techniques": ["AML.T0024.002", "AML.T0005.001"],
    }


def move(client: Any, incident_id: int, to_status: str, reason: str) -> Any:
    return client.post(
        f"{API}/incidents/{incident_id}/transition/",
        {"to_status": to_status, "reason": reason},
        format="json",
    )


def status_moves(incident_id: int) -> list[tuple[str, str, str]]:
    entries = LedgerEntry.objects.filter(
        object_type=INCIDENT_TYPE, object_id=str(incident_id), action="status_change"
    ).order_by("seq")
    return [
        (
            e.snapshot["_context"]["from"],
            e.snapshot["_context"]["to"],
            e.snapshot["_context"]["reason"],
        )
        for e in entries
    ]


def test_an_investigator_takes_an_incident_to_an_approved_decision_through_the_api(
    api: Any, ivan: User, anna: User
) -> None:
    as_ivan, as_anna = api(ivan), api(anna)
    created = as_ivan.post(f"{API}/incidents/", report_body(), format="json")
    assert created.status_code == 201, created.data
    incident_id = created.data["id"]
    assert created.data["status"] == "reported"

    assert move(as_ivan, incident_id, "triage", "Credible provider report").status_code == 200
    assert move(as_ivan, incident_id, "investigating", "Logs obtained").status_code == 200

    provenance = provenance_jsonl()
    tested = as_ivan.post(
        f"{API}/incidents/{incident_id}/provenance-tests/",
        {
            "file": SimpleUploadedFile("responses.jsonl", provenance),
            "suspect": SUSPECT,
            "candidates": f"{TEACHER},{UNRELATED_CANDIDATE}",
            "baselines": BASELINES,
            "permutations": 999,
        },
        format="multipart",
    )
    assert tested.status_code == 202, tested.data
    tested_result = result(as_ivan, tested)
    by_candidate = {item["details"]["candidate"]: item for item in tested_result["evidence"]}
    assert set(by_candidate) == {TEACHER, UNRELATED_CANDIDATE}
    assert by_candidate[TEACHER]["decision"] == "supports"
    assert by_candidate[UNRELATED_CANDIDATE]["decision"] == "inconclusive"
    assert all(
        item["files"][0]["sha256"] == sha256(provenance) for item in tested_result["evidence"]
    )

    log = query_log()
    analysed = as_ivan.post(
        f"{API}/incidents/{incident_id}/query-logs/",
        {"file": SimpleUploadedFile("requests.csv", log.csv_bytes)},
        format="multipart",
    )
    assert analysed.status_code == 202, analysed.data
    analysed_result = result(as_ivan, analysed)
    campaign = analysed_result["evidence"][0]
    assert campaign["kind"] == "query_volume"
    assert set(analysed_result["summary"]["flagged_accounts"]) == set(log.campaign_accounts)
    assert campaign["details"]["accounts"] == len(log.campaign_accounts)
    assert [f["restricted"] for f in campaign["files"]] == [True, True]
    assert campaign["files"][0]["sha256"] == sha256(log.csv_bytes)

    proposed = as_ivan.post(
        f"{API}/incidents/{incident_id}/decisions/",
        {"proposed_status": "substantiated", "reason": "Provenance and logs agree"},
        format="json",
    )
    assert proposed.status_code == 201, proposed.data
    decision_id = proposed.data["id"]

    ledger_before = LedgerEntry.objects.count()
    own = as_ivan.post(f"{API}/decisions/{decision_id}/approve/", {}, format="json")
    assert own.status_code in (400, 409)
    assert "four-eyes" in own.data["detail"].lower()
    assert CloningIncident.objects.get(pk=incident_id).status == "investigating"
    assert IncidentDecision.objects.get(pk=decision_id).state == "open"
    assert LedgerEntry.objects.count() == ledger_before

    approved = as_anna.post(
        f"{API}/decisions/{decision_id}/approve/", {"note": "Checked"}, format="json"
    )
    assert approved.status_code == 200, approved.data
    assert approved.data["state"] == "approved"
    assert approved.data["decided_by"] == "anna"
    assert CloningIncident.objects.get(pk=incident_id).status == "substantiated"

    assert move(as_ivan, incident_id, "closed", "Published").status_code == 200

    moves = status_moves(incident_id)
    assert [(old, new) for old, new, _ in moves] == [
        ("reported", "triage"),
        ("triage", "investigating"),
        ("investigating", "substantiated"),
        ("substantiated", "closed"),
    ]
    assert all(reason for _, _, reason in moves)
    assert "Provenance and logs agree" in moves[2][2]
    decision_actions = LedgerEntry.objects.filter(
        object_type="registry.incidentdecision", object_id=str(decision_id)
    ).values_list("action", "actor_label")
    assert list(decision_actions) == [("propose", "ivan"), ("approve", "anna")]
    evidence_ids = {
        str(pk)
        for pk in Evidence.objects.filter(incident_id=incident_id).values_list("pk", flat=True)
    }
    ledgered = set(
        LedgerEntry.objects.filter(object_type="registry.evidence", action="create").values_list(
            "object_id", flat=True
        )
    )
    assert evidence_ids
    assert evidence_ids <= ledgered
    timeline = as_ivan.get(f"{API}/incidents/{incident_id}/timeline/")
    assert {row["object_type"] for row in timeline.data["results"]} == {
        INCIDENT_TYPE,
        "registry.computationjob",  # requested, then complete, with the evidence it made
        "registry.evidence",
        "registry.incidentdecision",
    }
    assert ledger_verify() is None


@pytest.fixture
def investigating(ivan: User) -> CloningIncident:
    body = report_body()
    for name in ("suspect_release", "original_release", "reporting_organization"):
        body[f"{name}_id"] = body.pop(name)
    incident = incident_create(actor=ivan, fields=body)
    incident_transition(incident=incident, to_status="triage", actor=ivan, reason="Credible")
    incident_transition(incident=incident, to_status="investigating", actor=ivan, reason="Go")
    return incident


def admin_action(
    user: User, action: str, selected: CloningIncident | IncidentDecision, **form: str
) -> Any:
    """Run an admin action on one row, from the changelist of the row's model."""
    client = Client()
    client.force_login(user)
    data = {"action": action, "_selected_action": [str(selected.pk)], **form}
    if form:
        data["apply"] = "Apply"
    changelist = f"/admin/registry/{selected._meta.model_name}/"
    return client.post(changelist, data, follow=True)


def shown_messages(response: Any) -> list[tuple[str, str]]:
    return [(m.level_tag, str(m)) for m in response.context["messages"]]


def test_an_incident_is_proposed_and_approved_through_admin_actions(
    investigating: CloningIncident, ivan: User, anna: User
) -> None:
    form = admin_action(ivan, "propose_decision", investigating)
    assert form.status_code == 200
    assert b"Propose a decision" in form.content

    proposed = admin_action(
        ivan, "propose_decision", investigating, proposed_status="unsubstantiated", reason="Noise"
    )
    assert proposed.status_code == 200
    decision = IncidentDecision.objects.get(incident=investigating)
    assert (decision.proposed_status, decision.state) == ("unsubstantiated", "open")

    own = admin_action(ivan, "approve_proposal", investigating)
    assert any(
        level == "error" and "four-eyes" in text.lower() for level, text in shown_messages(own)
    )
    decision.refresh_from_db()
    investigating.refresh_from_db()
    assert (decision.state, investigating.status) == ("open", "investigating")

    approved = admin_action(anna, "approve_proposal", investigating)
    assert ("success", f"{investigating}: done.") in shown_messages(approved)
    investigating.refresh_from_db()
    assert investigating.status == "unsubstantiated"


def test_an_approver_approves_from_the_decision_list_of_the_admin(
    investigating: CloningIncident, ivan: User, anna: User
) -> None:
    admin_action(
        ivan, "propose_decision", investigating, proposed_status="withdrawn", reason="Retracted"
    )
    decision = IncidentDecision.objects.get(incident=investigating)
    response = admin_action(anna, "approve_decisions", decision)
    assert ("success", f"{decision}: done.") in shown_messages(response)
    decision.refresh_from_db()
    investigating.refresh_from_db()
    assert (decision.state, decision.decided_by, investigating.status) == (
        "approved",
        anna,
        "withdrawn",
    )


def test_a_move_the_workflow_forbids_is_not_offered_and_changes_nothing(
    investigating: CloningIncident, ivan: User
) -> None:
    # The form offers only moves allowed from the selected incidents' statuses (none from
    # investigating: it is settled by a decision), so a hand-made "triage" is refused.
    response = admin_action(ivan, "move_status", investigating, to_status="triage", reason="Back")
    assert response.context["form"].errors["to_status"] == [
        "Select a valid choice. triage is not one of the available choices."
    ]
    investigating.refresh_from_db()
    assert investigating.status == "investigating"


def test_a_proposal_is_rejected_by_an_approver_and_the_status_stays(
    api: Any, investigating: CloningIncident, ivan: User, anna: User
) -> None:
    decision = decision_propose(
        incident=investigating, proposed_status="withdrawn", actor=ivan, reason="Reporter retracts"
    )
    no_note = api(anna).post(f"{API}/decisions/{decision.pk}/reject/", {}, format="json")
    assert no_note.status_code == 400
    assert "note" in no_note.data

    rejected = api(anna).post(
        f"{API}/decisions/{decision.pk}/reject/", {"note": "Evidence stands"}, format="json"
    )
    assert rejected.status_code == 200
    investigating.refresh_from_db()
    assert investigating.status == "investigating"
    again = api(ivan).post(
        f"{API}/incidents/{investigating.pk}/decisions/",
        {"proposed_status": "substantiated", "reason": "Second look"},
        format="json",
    )
    assert again.status_code == 201


def test_a_query_log_with_nobody_flagged_is_recorded_as_not_supporting(api, ivan):
    """An ordinary log is a result too: Ivan's upload becomes evidence against the allegation."""
    incident = CloningIncidentFactory(investigators=[ivan], status="investigating")
    words = ["river", "ledger", "violin", "prism", "harbour", "orbit", "meadow", "cipher"]
    rows = ["timestamp,account,prompt,tokens_in,tokens_out"]
    for account in range(30):
        for query in range(4):
            prompt = f"{words[(account + query) % 8]} {words[(account * 3 + query) % 8]} {account}"
            rows.append(
                f"2026-01-{1 + query:02d}T{account % 24:02d}:00:00Z,user{account},{prompt},40,90"
            )
    log = ("\n".join(rows) + "\n").encode()
    response = api(ivan).post(
        f"{API}/incidents/{incident.pk}/query-logs/",
        {"file": SimpleUploadedFile("requests.csv", log)},
        format="multipart",
    )
    assert response.status_code == 202, response.data
    done = result(api(ivan), response)
    assert done["summary"]["flagged_accounts"] == []
    (campaign,) = [item for item in done["evidence"] if item["kind"] == "query_volume"]
    assert campaign["decision"] == "does_not_support"
    assert campaign["details"]["accounts"] == 0
