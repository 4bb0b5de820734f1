"""Who may read and write each endpoint, and what an embargo hides.

The matrix runs every endpoint and method as: anonymous, Nobody (no role), Vera
(viewer), Alice (analyst), Ivan (investigator) and Adam (admin). Irene, a second
investigator, is the outsider to Ivan's incidents.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.response import Response

from config.api import router
from registry.models import CloningIncident, Evidence, LedgerEntry
from tests.factories import CloningIncidentFactory, EvidenceFactory
from tests.registry.api_records import (
    API,
    CREATE_BODIES,
    MULTIPART_PREFIXES,
    PATCH_BODIES,
    Records,
    client_for,
    evidence_body,
    evidence_multipart_body,
    incident_body,
    make_records,
    row_counts,
)

pytestmark = [
    pytest.mark.django_db,
]

ANONYMOUS = "anonymous"
WRITE_PERSONAS = [ANONYMOUS, "nobody", "vera", "alice", "ivan", "adam"]
READ_PERSONAS = [*WRITE_PERSONAS, "irene", "anna"]


@dataclass(frozen=True)
class Endpoint:
    """An API resource: who may write it and which writes it supports at all."""

    prefix: str
    object_type: str
    writers: tuple[str, ...]
    creatable: bool = True
    updatable: bool = False
    # A vote dataset is stored at once and read by a job: 202.
    created_status: int = 201


ENDPOINTS = [
    Endpoint("organizations", "registry.organization", ("alice", "adam"), updatable=True),
    Endpoint("releases", "registry.modelrelease", ("alice", "adam"), updatable=True),
    Endpoint("artifacts", "registry.modelartifact", ("alice", "adam")),
    Endpoint("benchmarks", "registry.benchmark", ("alice", "adam"), updatable=True),
    Endpoint("datasets", "registry.votedataset", ("alice", "adam"), created_status=202),
    Endpoint("claims", "registry.benchmarkclaim", ("alice", "adam"), updatable=True),
    Endpoint("incidents", "registry.cloningincident", ("ivan", "adam"), updatable=True),
    Endpoint("evidence", "registry.evidence", ("ivan", "adam")),
    # Read-only resources: only an admin passes the role check, and then meets 405.
    Endpoint("ledger", "registry.ledgerentry", ("adam",), creatable=False),
    Endpoint("analyses", "registry.fragilityanalysis", ("adam",), creatable=False),
]
ENDPOINT_IDS = [endpoint.prefix for endpoint in ENDPOINTS]


def persona(request: pytest.FixtureRequest, name: str) -> User | None:
    return None if name == ANONYMOUS else request.getfixturevalue(name)


@pytest.fixture
def records(ivan: User, alice: User) -> Records:
    return make_records(investigator=ivan, analyst=alice)


def expected_write_statuses(endpoint: Endpoint, method: str, name: str) -> set[int]:
    if name == ANONYMOUS:
        # Session authentication comes first, so DRF answers 403 rather than 401.
        return {401, 403}
    if name not in endpoint.writers:
        return {403}
    if method == "post":
        return {endpoint.created_status} if endpoint.creatable else {405}
    if method in ("put", "patch"):
        return {200} if endpoint.updatable else {405}
    return {405}  # Registry records are never deleted.


def send_write(method: str, endpoint: Endpoint, records: Records, user: User | None) -> Response:
    client = client_for(user)
    list_url = f"{API}/{endpoint.prefix}/"
    detail_url = f"{list_url}{records.detail_key(endpoint.prefix)}/"
    body_of = CREATE_BODIES.get(endpoint.prefix)
    body: dict[str, Any] = body_of(records) if body_of else {}
    if method == "post":
        fmt = "multipart" if endpoint.prefix in MULTIPART_PREFIXES else "json"
        return client.post(list_url, body, format=fmt)
    if method == "put":
        return client.put(detail_url, body, format="json")
    if method == "patch":
        return client.patch(detail_url, PATCH_BODIES.get(endpoint.prefix, {}), format="json")
    return client.delete(detail_url)


# Reports (request, download, verify) belong to the reports app and its own tests;
# decisions and commitments are exercised in test_incidents_access.py; computation jobs
# (read-only, an incident's seen only by its handlers) in test_computation_jobs.py.
COVERED_ELSEWHERE = {"reports", "decisions", "commitments", "jobs"}


def test_matrix_covers_every_registered_endpoint() -> None:
    registered = {prefix for prefix, _viewset, _basename in router.registry}
    missing = registered - COVERED_ELSEWHERE - set(ENDPOINT_IDS)
    assert not missing, f"add a row to ENDPOINTS for {sorted(missing)}"
    assert set(ENDPOINT_IDS) <= registered


@pytest.mark.parametrize("name", READ_PERSONAS)
@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=ENDPOINT_IDS)
def test_anyone_reads_public_records_in_lists_and_detail(
    request: pytest.FixtureRequest, records: Records, endpoint: Endpoint, name: str
) -> None:
    client = client_for(persona(request, name))
    key = records.detail_key(endpoint.prefix)
    listed = client.get(f"{API}/{endpoint.prefix}/", {"limit": 500})
    detail = client.get(f"{API}/{endpoint.prefix}/{key}/")
    assert listed.status_code == 200
    assert detail.status_code == 200
    key_field = "seq" if endpoint.prefix == "ledger" else "id"
    assert key in [row[key_field] for row in listed.json()["results"]]


@pytest.mark.parametrize("name", [ANONYMOUS, "vera"])
def test_ledger_head_is_public(request: pytest.FixtureRequest, records: Records, name: str) -> None:
    response = client_for(persona(request, name)).get(f"{API}/ledger/head/")
    assert response.status_code == 200
    assert response.json() == {
        "seq": records.ledger_entry.seq,
        "hash": records.ledger_entry.entry_hash,
    }


@pytest.mark.parametrize("name", WRITE_PERSONAS)
@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=ENDPOINT_IDS)
def test_writes_need_the_endpoint_role(
    request: pytest.FixtureRequest, records: Records, endpoint: Endpoint, method: str, name: str
) -> None:
    before = row_counts()
    last_seq = LedgerEntry.objects.order_by("-seq").values_list("seq", flat=True).first()

    response = send_write(method, endpoint, records, persona(request, name))

    assert response.status_code in expected_write_statuses(endpoint, method, name), response.data
    if response.status_code in (200, 201, 202):
        action = "create" if method == "post" else "update"
        written = LedgerEntry.objects.filter(seq__gt=last_seq)
        assert (action, endpoint.object_type, str(response.json()["id"])) in {
            (entry.action, entry.object_type, entry.object_id) for entry in written
        }
    else:
        assert row_counts() == before


@pytest.mark.parametrize("name", WRITE_PERSONAS)
@pytest.mark.parametrize("subject", ["datasets", "claims"])
def test_requesting_an_analysis_needs_the_analyst_role(
    request: pytest.FixtureRequest, records: Records, subject: str, name: str
) -> None:
    before = row_counts()
    url = f"{API}/{subject}/{records.detail_key(subject)}/analyses/"

    response = client_for(persona(request, name)).post(url, {}, format="json")

    if name in ("alice", "adam"):
        assert response.status_code == 202, response.data
        entry = LedgerEntry.objects.get(object_type="registry.fragilityanalysis", action="request")
        assert entry.object_id == str(response.json()["id"])
    else:
        # Refused exactly as a create on any analyst endpoint is.
        analyst_create = expected_write_statuses(ENDPOINTS[0], "post", name)
        assert response.status_code in analyst_create
        assert row_counts() == before


def test_a_claim_status_cannot_be_patched_only_moved(alice: User, records: Records) -> None:
    """Alice may not PATCH a claim to "analysed" with no analysis; she withdraws it with a
    reason, and the move is ledgered as such."""
    before = LedgerEntry.objects.count()
    patched = client_for(alice).patch(
        f"{API}/claims/{records.claim.pk}/", {"status": "analysed"}, format="json"
    )
    assert patched.status_code == 400
    assert "status" in patched.json()
    assert LedgerEntry.objects.count() == before
    withdrawn = client_for(alice).post(
        f"{API}/claims/{records.claim.pk}/withdraw/", {"reason": "retracted"}, format="json"
    )
    assert withdrawn.status_code == 200
    assert withdrawn.json()["status"] == "withdrawn"
    entry = LedgerEntry.objects.order_by("-seq").first()
    assert entry is not None
    assert (entry.action, entry.object_id) == ("status_change", str(records.claim.pk))
    assert entry.snapshot["_context"] == {
        "from": "recorded",
        "to": "withdrawn",
        "reason": "retracted",
    }


def test_reporting_investigator_is_assigned_to_the_incident(irene: User, records: Records) -> None:
    response = client_for(irene).post(f"{API}/incidents/", incident_body(records), format="json")
    assert response.status_code == 201
    assert response.json()["investigators"] == [irene.pk]


def test_investigator_cannot_change_an_incident_assigned_to_someone_else(
    irene: User, records: Records
) -> None:
    response = client_for(irene).patch(
        f"{API}/incidents/{records.incident.pk}/", {"summary": "Hijacked."}, format="json"
    )
    assert response.status_code == 403
    records.incident.refresh_from_db()
    assert records.incident.summary != "Hijacked."


def test_investigator_cannot_add_evidence_to_an_incident_assigned_to_someone_else(
    irene: User, records: Records
) -> None:
    before = row_counts()
    response = client_for(irene).post(f"{API}/evidence/", evidence_body(records), format="json")
    assert response.status_code == 403
    assert row_counts() == before


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_evidence_is_append_only(ivan: User, records: Records, method: str) -> None:
    url = f"{API}/evidence/{records.evidence.pk}/"
    response = getattr(client_for(ivan), method)(url, {"method_name": "Edited"}, format="json")
    assert response.status_code == 405
    records.evidence.refresh_from_db()
    assert records.evidence.method_name != "Edited"


def test_evidence_on_a_closed_incident_is_a_conflict(ivan: User, records: Records) -> None:
    CloningIncident.objects.filter(pk=records.incident.pk).update(
        status=CloningIncident.Status.CLOSED
    )
    before = row_counts()
    response = client_for(ivan).post(f"{API}/evidence/", evidence_body(records), format="json")
    assert response.status_code == 409
    assert "closed" in response.json()["detail"]
    assert row_counts() == before


def test_evidence_with_files_is_stored_with_their_digests(ivan: User, records: Records) -> None:
    body = evidence_multipart_body(
        records,
        files=[SimpleUploadedFile("prompts.jsonl", b'{"prompt": "hi"}\n')],
        restricted="true",
    )
    response = client_for(ivan).post(f"{API}/evidence/", body, format="multipart")
    assert response.status_code == 201, response.data
    (stored,) = response.json()["files"]
    assert stored["sha256"] == hashlib.sha256(b'{"prompt": "hi"}\n').hexdigest()
    assert stored["restricted"] is True
    entry = LedgerEntry.objects.order_by("-seq").first()
    assert entry is not None
    assert entry.snapshot["_context"]["files"] == [{"sha256": stored["sha256"], "restricted": True}]


# --- Embargo -------------------------------------------------------------------------

OUTSIDERS = [ANONYMOUS, "nobody", "vera", "alice", "irene"]
INSIDERS = ["ivan", "anna", "adam"]


@dataclass(frozen=True)
class Embargoed:
    incident_id: int
    evidence_id: int
    public_incident_id: int
    public_evidence_id: int


@pytest.fixture
def embargoed(ivan: User, records: Records) -> Embargoed:
    """Ivan reports an embargoed incident and submits evidence, both through the API,
    so the ledger holds entries about them too."""
    client = client_for(ivan)
    incident = client.post(
        f"{API}/incidents/", {**incident_body(records), "embargoed": True}, format="json"
    )
    assert incident.status_code == 201
    evidence = client.post(
        f"{API}/evidence/",
        {**evidence_body(records), "incident": incident.json()["id"]},
        format="json",
    )
    assert evidence.status_code == 201
    return Embargoed(
        incident_id=incident.json()["id"],
        evidence_id=evidence.json()["id"],
        public_incident_id=records.incident.pk,
        public_evidence_id=records.evidence.pk,
    )


def listed_ids(
    user: User | None, path: str, key: str = "id", **params: Any
) -> tuple[int, list[int]]:
    response = client_for(user).get(f"{API}/{path}/", {"limit": 500, **params})
    assert response.status_code == 200
    body = response.json()
    return body["count"], [row[key] for row in body["results"]]


@pytest.mark.parametrize("name", OUTSIDERS)
def test_embargoed_incident_and_evidence_do_not_exist_for_outsiders(
    request: pytest.FixtureRequest, embargoed: Embargoed, name: str
) -> None:
    user = persona(request, name)
    client = client_for(user)
    assert client.get(f"{API}/incidents/{embargoed.incident_id}/").status_code == 404
    assert client.get(f"{API}/evidence/{embargoed.evidence_id}/").status_code == 404
    assert listed_ids(user, "incidents") == (1, [embargoed.public_incident_id])
    assert listed_ids(user, "evidence") == (1, [embargoed.public_evidence_id])
    assert listed_ids(user, "incidents", embargoed="true") == (0, [])
    # Filtering by the embargoed id is refused exactly as an unknown id: no existence oracle.
    hidden = client.get(f"{API}/evidence/", {"incident": embargoed.incident_id})
    unknown = client.get(f"{API}/evidence/", {"incident": 999_999})
    assert (hidden.status_code, unknown.status_code) == (400, 400)
    assert hidden.json()["incident"][0].replace(str(embargoed.incident_id), "N") == (
        unknown.json()["incident"][0].replace("999999", "N")
    )


@pytest.mark.parametrize("name", INSIDERS)
def test_assigned_investigator_approver_and_admin_see_the_embargoed_incident(
    request: pytest.FixtureRequest, embargoed: Embargoed, name: str
) -> None:
    user = persona(request, name)
    client = client_for(user)
    assert client.get(f"{API}/incidents/{embargoed.incident_id}/").status_code == 200
    assert client.get(f"{API}/evidence/{embargoed.evidence_id}/").status_code == 200
    count, ids = listed_ids(user, "incidents")
    assert (count, set(ids)) == (2, {embargoed.incident_id, embargoed.public_incident_id})
    count, ids = listed_ids(user, "evidence")
    assert (count, set(ids)) == (2, {embargoed.evidence_id, embargoed.public_evidence_id})


def hidden_ledger_keys(embargoed: Embargoed) -> set[tuple[str, str]]:
    return {
        ("registry.cloningincident", str(embargoed.incident_id)),
        ("registry.evidence", str(embargoed.evidence_id)),
    }


@pytest.mark.parametrize("name", OUTSIDERS)
def test_ledger_hides_entries_about_embargoed_records_from_outsiders(
    request: pytest.FixtureRequest, embargoed: Embargoed, name: str
) -> None:
    user = persona(request, name)
    response = client_for(user).get(f"{API}/ledger/", {"limit": 500})
    rows = response.json()["results"]
    assert hidden_ledger_keys(embargoed).isdisjoint(
        {(row["object_type"], row["object_id"]) for row in rows}
    )
    visible = LedgerEntry.objects.exclude(
        object_id__in=[str(embargoed.incident_id), str(embargoed.evidence_id)],
        object_type__in=["registry.cloningincident", "registry.evidence"],
    )
    assert response.json()["count"] == len(rows) == visible.count()
    hidden = LedgerEntry.objects.get(
        object_type="registry.cloningincident", object_id=str(embargoed.incident_id)
    )
    assert client_for(user).get(f"{API}/ledger/{hidden.seq}/").status_code == 404


@pytest.mark.parametrize("name", INSIDERS)
def test_ledger_shows_embargoed_entries_to_insiders(
    request: pytest.FixtureRequest, embargoed: Embargoed, name: str
) -> None:
    response = client_for(persona(request, name)).get(f"{API}/ledger/", {"limit": 500})
    rows = response.json()["results"]
    assert hidden_ledger_keys(embargoed) <= {(row["object_type"], row["object_id"]) for row in rows}


def test_outsider_investigator_cannot_touch_an_embargoed_incident(
    irene: User, records: Records, embargoed: Embargoed
) -> None:
    before = row_counts()
    client = client_for(irene)
    patch = client.patch(
        f"{API}/incidents/{embargoed.incident_id}/", {"summary": "Seen."}, format="json"
    )
    evidence = client.post(
        f"{API}/evidence/",
        {**evidence_body(records), "incident": embargoed.incident_id},
        format="json",
    )
    assert patch.status_code == 404
    # The incident does not exist for Irene, so it is an unknown id, not a forbidden one.
    assert evidence.status_code == 400
    assert "incident" in evidence.json()
    assert row_counts() == before


def test_unassigning_an_investigator_hides_the_embargoed_incident_from_them(
    ivan: User, irene: User, records: Records
) -> None:
    incident = CloningIncidentFactory(
        original_release=records.release, embargoed=True, investigators=[ivan, irene]
    )
    EvidenceFactory(incident=incident)
    assert client_for(irene).get(f"{API}/incidents/{incident.pk}/").status_code == 200
    response = client_for(ivan).patch(
        f"{API}/incidents/{incident.pk}/", {"investigators": [ivan.pk]}, format="json"
    )
    assert response.status_code == 200
    assert client_for(irene).get(f"{API}/incidents/{incident.pk}/").status_code == 404
    assert Evidence.objects.filter(incident=incident).exists()
    assert client_for(irene).get(f"{API}/evidence/", {"incident": incident.pk}).status_code == 400
    assert incident.evidence.get().pk not in listed_ids(irene, "evidence")[1]
