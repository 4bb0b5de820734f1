"""Bad input is refused whole: a message naming the record or field, 400 or 409, and
nothing stored (no evidence, no file, no ledger entry, no status change)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, transaction
from django.utils import timezone

from registry.models import (
    CloningIncident,
    Commitment,
    Evidence,
    IncidentDecision,
    LedgerEntry,
    StoredFile,
)
from registry.services import decision_approve, decision_propose, incident_transition
from tests.factories import CloningIncidentFactory
from tests.registry.incident_uploads import (
    BASELINES,
    SUSPECT,
    TEACHER,
    provenance_jsonl,
)

pytestmark = [
    pytest.mark.django_db,
]

API = "/api/v1"
LOG_HEADER = b"timestamp,account,prompt,tokens_in,tokens_out\n"


def stored_state(incident: CloningIncident) -> tuple[Any, ...]:
    incident.refresh_from_db()
    return (
        incident.status,
        Evidence.objects.count(),
        StoredFile.objects.count(),
        LedgerEntry.objects.count(),
        list(IncidentDecision.objects.values_list("pk", "state")),
    )


@pytest.fixture
def incident(ivan: User) -> CloningIncident:
    incident = CloningIncidentFactory(investigators=[ivan])
    incident_transition(incident=incident, to_status="triage", actor=ivan, reason="Credible")
    incident_transition(incident=incident, to_status="investigating", actor=ivan, reason="Go")
    return incident


def provenance_form(data: bytes, **overrides: Any) -> dict[str, Any]:
    return {
        "file": SimpleUploadedFile("responses.jsonl", data),
        "suspect": SUSPECT,
        "candidates": TEACHER,
        "baselines": BASELINES,
        "permutations": 99,
        **overrides,
    }


def line(prompt: str, model: str, response: str) -> str:
    return json.dumps({"prompt_id": prompt, "model": model, "response": response})


MISSING_RESPONSE = "\n".join(
    [line("p1", SUSPECT, "a b"), json.dumps({"prompt_id": "p1", "model": TEACHER})]
).encode()

# (upload form overrides, the field the message is under, a phrase the message contains)
PROVENANCE_CASES: list[tuple[str, Callable[[], dict[str, Any]], str, str]] = [
    (
        "missing column",
        lambda: provenance_form(MISSING_RESPONSE),
        "file",
        "line 2: missing field 'response'",
    ),
    (
        "unknown label",
        lambda: provenance_form(provenance_jsonl(prompts=4), suspect="ghost-1b"),
        "file",
        "unknown model labels ['ghost-1b']",
    ),
    (
        "one baseline",
        lambda: provenance_form(provenance_jsonl(prompts=4), baselines=["base-a"]),
        "baselines",
        "At least 2 distinct baseline models",
    ),
    (
        "not utf-8",
        lambda: provenance_form(line("p1", SUSPECT, "ok").encode() + b"\n\xff\xfe\n"),
        "file",
        "line 2 is not valid UTF-8",
    ),
    ("empty", lambda: provenance_form(b"\n\n"), "file", "contains no records"),
    ("bad alpha", lambda: provenance_form(provenance_jsonl(prompts=4), alpha=1), "alpha", "alpha"),
]


@pytest.mark.parametrize(
    ("form", "field", "phrase"),
    [case[1:] for case in PROVENANCE_CASES],
    ids=[case[0] for case in PROVENANCE_CASES],
)
def test_a_malformed_provenance_upload_is_refused_naming_the_record(
    api: Any,
    ivan: User,
    incident: CloningIncident,
    form: Callable[[], dict[str, Any]],
    field: str,
    phrase: str,
) -> None:
    before = stored_state(incident)
    response = api(ivan).post(
        f"{API}/incidents/{incident.pk}/provenance-tests/", form(), format="multipart"
    )
    assert response.status_code == 400
    assert any(phrase in str(message) for message in response.data[field]), response.data
    assert stored_state(incident) == before


QUERY_LOG_CASES = [
    ("header only", LOG_HEADER, "no requests"),
    ("empty", b"", "submitted file is empty"),
    ("missing column", b"timestamp,account,prompt\n2026-01-01T00:00:00,a,hi\n", "tokens_in"),
    ("bad number", LOG_HEADER + b"2026-01-01T00:00:00,a,hi,ten,5\n", "line 2"),
    ("not utf-8", LOG_HEADER + b"2026-01-01T00:00:00,\xff,hi,1,5\n", "not valid UTF-8"),
]


@pytest.mark.parametrize(
    ("data", "phrase"), [case[1:] for case in QUERY_LOG_CASES], ids=[c[0] for c in QUERY_LOG_CASES]
)
def test_a_malformed_query_log_is_refused_naming_the_record(
    api: Any, ivan: User, incident: CloningIncident, data: bytes, phrase: str
) -> None:
    before = stored_state(incident)
    response = api(ivan).post(
        f"{API}/incidents/{incident.pk}/query-logs/",
        {"file": SimpleUploadedFile("log.csv", data)},
        format="multipart",
    )
    assert response.status_code == 400
    assert any(phrase.lower() in str(m).lower() for m in response.data["file"]), response.data
    assert stored_state(incident) == before


def move(api: Any, user: User, incident: CloningIncident, to_status: str, reason: str = "r") -> Any:
    return api(user).post(
        f"{API}/incidents/{incident.pk}/transition/",
        {"to_status": to_status, "reason": reason},
        format="json",
    )


def test_moves_the_workflow_does_not_allow_are_refused_and_change_nothing(
    api: Any, ivan: User
) -> None:
    reported = CloningIncidentFactory(investigators=[ivan])
    before = stored_state(reported)
    skipped = move(api, ivan, reported, "investigating")
    assert skipped.status_code == 409
    assert "'Reported'" in skipped.data["detail"]
    decided = move(api, ivan, reported, "substantiated")
    assert decided.status_code == 400
    assert "propose" in decided.data["to_status"][0]
    assert move(api, ivan, reported, "triage", reason=" ").status_code == 400
    assert move(api, ivan, reported, "sideways").status_code == 400
    early = api(ivan).post(
        f"{API}/incidents/{reported.pk}/decisions/",
        {"proposed_status": "withdrawn", "reason": "r"},
        format="json",
    )
    assert early.status_code == 409
    assert stored_state(reported) == before


def test_the_generic_update_never_changes_the_status(
    api: Any, ivan: User, incident: CloningIncident
) -> None:
    response = api(ivan).patch(
        f"{API}/incidents/{incident.pk}/", {"status": "closed", "summary": "New"}, format="json"
    )
    assert response.status_code == 400
    assert "transition" in response.json()["status"][0]
    incident.refresh_from_db()
    assert (incident.status, incident.summary) == ("investigating", incident.summary)
    assert incident.summary != "New"


def test_a_second_open_proposal_is_refused(api: Any, ivan: User, incident: CloningIncident) -> None:
    decision_propose(incident=incident, proposed_status="withdrawn", actor=ivan, reason="r")
    before = stored_state(incident)
    response = api(ivan).post(
        f"{API}/incidents/{incident.pk}/decisions/",
        {"proposed_status": "substantiated", "reason": "r"},
        format="json",
    )
    assert response.status_code == 409
    assert stored_state(incident) == before


@pytest.mark.parametrize("approver", ["ivan", "anna"])
def test_an_approver_cannot_approve_their_own_proposal(
    request: pytest.FixtureRequest, api: Any, incident: CloningIncident, approver: str
) -> None:
    user = request.getfixturevalue(approver)
    incident.investigators.add(user)
    decision = decision_propose(
        incident=incident, proposed_status="substantiated", actor=user, reason="r"
    )
    before = stored_state(incident)
    response = api(user).post(f"{API}/decisions/{decision.pk}/approve/", {}, format="json")
    assert response.status_code == 409
    assert "four-eyes" in response.data["detail"].lower()
    assert stored_state(incident) == before


def test_an_investigator_cannot_approve_someone_elses_proposal(
    api: Any, incident: CloningIncident, anna: User, ivan: User
) -> None:
    decision = decision_propose(
        incident=incident, proposed_status="substantiated", actor=anna, reason="r"
    )
    before = stored_state(incident)
    response = api(ivan).post(f"{API}/decisions/{decision.pk}/approve/", {}, format="json")
    assert response.status_code == 403
    assert stored_state(incident) == before


def closed(incident: CloningIncident, ivan: User, anna: User) -> CloningIncident:
    decision = decision_propose(
        incident=incident, proposed_status="withdrawn", actor=ivan, reason="r"
    )
    decision_approve(decision=decision, actor=anna)
    incident_transition(incident=incident, to_status="closed", actor=ivan, reason="done")
    return incident


def test_evidence_on_a_closed_incident_is_refused(
    api: Any, ivan: User, anna: User, incident: CloningIncident
) -> None:
    closed(incident, ivan, anna)
    before = stored_state(incident)
    submitted = api(ivan).post(
        f"{API}/evidence/",
        {
            "incident": incident.pk,
            "kind": "extraction_detector",
            "method_name": "Detector",
            "access_mode": "black_box_api",
            "details": {"detector": "prada", "statistic": 4.0, "threshold": 3.0},
        },
        format="json",
    )
    assert submitted.status_code == 409
    computed = api(ivan).post(
        f"{API}/incidents/{incident.pk}/provenance-tests/",
        provenance_form(provenance_jsonl(prompts=4)),
        format="multipart",
    )
    assert computed.status_code == 409
    assert "closed" in computed.data["detail"]
    assert move(api, ivan, incident, "triage").status_code == 409
    assert stored_state(incident) == before


DETAIL_CASES = [
    ({"kind": "output_similarity", "details": {"similarity": 1.5}}, "details", "similarity"),
    (
        {
            "kind": "reasoning_elicitation",
            "details": {"elicitation_rate": 0.2, "queries": 10, "elicited": 11},
        },
        "details",
        "queries",  # k <= n: the upper field of the pair carries the message
    ),
    (
        {
            "kind": "stylometric",
            "details": {"accuracy": 0.9, "share_attributed": 0.5, "ci_low": 0.6, "ci_high": 0.4},
        },
        "details",
        "ci_high",
    ),
    ({"kind": "hearsay", "details": {}}, "kind", None),
]


@pytest.mark.parametrize(("body", "field", "detail_field"), DETAIL_CASES)
def test_typed_details_are_validated_field_by_field(
    api: Any,
    ivan: User,
    incident: CloningIncident,
    body: dict[str, Any],
    field: str,
    detail_field: str | None,
) -> None:
    before = stored_state(incident)
    response = api(ivan).post(
        f"{API}/evidence/",
        {"incident": incident.pk, "method_name": "m", "access_mode": "black_box_api", **body},
        format="json",
    )
    assert response.status_code == 400
    assert field in response.data
    if detail_field is not None:
        assert detail_field in response.data[field]
    assert stored_state(incident) == before


def test_an_unknown_atlas_technique_is_refused_naming_it(
    api: Any, ivan: User, incident: CloningIncident
) -> None:
    response = api(ivan).patch(
        f"{API}/incidents/{incident.pk}/",
        {"atlas_techniques": ["AML.T0024.002", "AML.T9999"]},
        format="json",
    )
    assert response.status_code == 400
    assert "AML.T9999" in response.data["atlas_techniques"][0]
    assert "AML.T0024.002" not in response.data["atlas_techniques"][0]


def test_a_fingerprint_check_against_another_kind_of_commitment_is_refused(
    api: Any, ivan: User, incident: CloningIncident
) -> None:
    commitment = Commitment.objects.create(
        organization=incident.original_release.organization,
        kind="watermark_key_id",
        sha256="a" * 64,
    )
    response = api(ivan).post(
        f"{API}/incidents/{incident.pk}/fingerprint-verifications/",
        {
            "key_set": SimpleUploadedFile(
                "k.jsonl", b'{"key_id": "k", "prompt": "p", "expected": "e"}\n'
            ),
            "responses": SimpleUploadedFile("r.jsonl", b'{"key_id": "k", "response": "e"}\n'),
            "commitment": commitment.pk,
            "false_trigger_rate": 0.01,
        },
        format="multipart",
    )
    assert response.status_code == 400
    assert "Watermark key id" in response.data["commitment"][0]


def test_the_database_refuses_a_self_approved_or_second_open_proposal(
    incident: CloningIncident, ivan: User, anna: User
) -> None:
    decision = decision_propose(
        incident=incident, proposed_status="withdrawn", actor=ivan, reason="r"
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        IncidentDecision.objects.filter(pk=decision.pk).update(
            state="approved", decided_by=ivan, decided_at=timezone.now()
        )
    with pytest.raises(IntegrityError), transaction.atomic():
        IncidentDecision.objects.create(
            incident=incident, proposed_status="substantiated", reason="r", proposed_by=anna
        )
