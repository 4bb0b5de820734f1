"""Who may see and act on incidents, download restricted files, file replies and register
commitments; and that revealed material is checked against its commitment.

Ivan handles the incidents; Irene, another investigator, is an outsider to them; Anna
approves; Adam is admin; Vera views; Nobody has no role; Olga speaks for the accused
organization (a membership, no role).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from registry.models import (
    CloningIncident,
    Commitment,
    Evidence,
    LedgerEntry,
    OrganizationMembership,
)
from registry.services import (
    UploadedEvidenceFile,
    decision_propose,
    evidence_submit,
    incident_transition,
)
from tests.factories import (
    CloningIncidentFactory,
    ModelReleaseFactory,
    OrganizationFactory,
    UserFactory,
)
from tests.registry.incident_uploads import (
    binomial_upper_tail,
    key_set,
    responses_jsonl,
    sha256,
)
from tests.registry.jobs import result

pytestmark = [
    pytest.mark.django_db,
]

API = "/api/v1"
PUBLIC_BYTES = b"prompt_id,similarity\np1,0.9\n"
RESTRICTED_BYTES = b"account,queries\nacct-17,90210\n"


@dataclass(frozen=True)
class Case:
    incident: CloningIncident
    evidence: Evidence
    public_file: int
    restricted_file: int


def make_case(ivan: User, *, embargoed: bool) -> Case:
    suspect = ModelReleaseFactory()
    incident = CloningIncidentFactory(
        investigators=[ivan], embargoed=embargoed, suspect_release=suspect, suspect_name=""
    )
    evidence = evidence_submit(
        actor=ivan,
        incident=incident,
        fields={
            "kind": "extraction_detector",
            "method_name": "Detector",
            "access_mode": "provider_telemetry",
            "details": {"detector": "prada", "statistic": 4.0, "threshold": 3.0},
        },
        files=[
            UploadedEvidenceFile(io.BytesIO(PUBLIC_BYTES), "summary.csv", "text/csv", False),
            UploadedEvidenceFile(io.BytesIO(RESTRICTED_BYTES), "accounts.csv", "text/csv", True),
        ],
    )
    files = {f.original_filename: f.pk for f in evidence.files.all()}
    return Case(incident, evidence, files["summary.csv"], files["accounts.csv"])


@pytest.fixture
def public(ivan: User) -> Case:
    return make_case(ivan, embargoed=False)


@pytest.fixture
def embargoed(ivan: User) -> Case:
    return make_case(ivan, embargoed=True)


@pytest.fixture
def olga(db: None, public: Case) -> User:
    """Speaks for the organization whose release is the suspect."""
    user: User = UserFactory(username="olga")
    organization = public.incident.suspect_release.organization  # type: ignore[union-attr]
    OrganizationMembership.objects.create(user=user, organization=organization)
    return user


def persona(request: pytest.FixtureRequest, name: str) -> User | None:
    return None if name == "anonymous" else request.getfixturevalue(name)


def download(client: Any, case: Case, file_id: int) -> Any:
    return client.get(f"{API}/evidence/{case.evidence.pk}/files/{file_id}/download/")


HANDLERS = ["ivan", "anna", "adam"]
OUTSIDERS = ["anonymous", "nobody", "vera", "irene", "alice"]


@pytest.mark.parametrize("name", HANDLERS + OUTSIDERS)
def test_public_files_download_for_anyone_who_sees_the_evidence(
    request: pytest.FixtureRequest, api: Any, public: Case, name: str
) -> None:
    response = download(api(persona(request, name)), public, public.public_file)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PUBLIC_BYTES


@pytest.mark.parametrize("name", HANDLERS)
def test_restricted_files_download_for_handlers(
    request: pytest.FixtureRequest, api: Any, public: Case, name: str
) -> None:
    response = download(api(persona(request, name)), public, public.restricted_file)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == RESTRICTED_BYTES


@pytest.mark.parametrize("name", OUTSIDERS)
def test_restricted_files_show_outsiders_only_their_hash(
    request: pytest.FixtureRequest, api: Any, public: Case, name: str
) -> None:
    client = api(persona(request, name))
    response = download(client, public, public.restricted_file)
    assert response.status_code in (401, 403)
    if name != "anonymous":
        assert sha256(RESTRICTED_BYTES) in str(response.data["detail"])
    listed = client.get(f"{API}/evidence/{public.evidence.pk}/")
    assert {f["sha256"] for f in listed.data["files"]} == {
        sha256(PUBLIC_BYTES),
        sha256(RESTRICTED_BYTES),
    }


def test_a_file_of_other_evidence_is_not_found(api: Any, public: Case, ivan: User) -> None:
    other = make_case(ivan, embargoed=False)
    response = download(api(ivan), public, other.public_file)
    assert response.status_code == 404


def test_an_embargoed_incident_is_invisible_to_an_outside_investigator(
    api: Any, client: Client, embargoed: Case, ivan: User, irene: User
) -> None:
    incident_transition(incident=embargoed.incident, to_status="triage", actor=ivan, reason="x")
    incident_transition(
        incident=embargoed.incident, to_status="investigating", actor=ivan, reason="y"
    )
    decision = decision_propose(
        incident=embargoed.incident, proposed_status="substantiated", actor=ivan, reason="z"
    )
    as_irene = api(irene)
    pk = embargoed.incident.pk
    before = LedgerEntry.objects.count()
    attempts = [
        as_irene.get(f"{API}/incidents/{pk}/"),
        as_irene.get(f"{API}/incidents/{pk}/timeline/"),
        as_irene.get(f"{API}/incidents/{pk}/decisions/"),
        as_irene.post(f"{API}/incidents/{pk}/transition/", {"to_status": "closed", "reason": "r"}),
        as_irene.post(f"{API}/incidents/{pk}/replies/", {"statement": "We deny it"}),
        as_irene.post(
            f"{API}/incidents/{pk}/query-logs/",
            {"file": SimpleUploadedFile("log.csv", b"x")},
            format="multipart",
        ),
        as_irene.get(f"{API}/decisions/{decision.pk}/"),
        as_irene.post(f"{API}/decisions/{decision.pk}/approve/", {}),
        download(as_irene, embargoed, embargoed.public_file),
    ]
    assert [response.status_code for response in attempts] == [404] * len(attempts)
    assert decision.pk not in [
        row["id"] for row in as_irene.get(f"{API}/decisions/").data["results"]
    ]
    client.force_login(irene)
    assert client.get(f"/incidents/{pk}/").status_code == 404
    assert LedgerEntry.objects.count() == before


def test_the_incident_page_shows_atlas_names_replies_evidence_and_timeline(
    api: Any, client: Client, public: Case, olga: User
) -> None:
    filed = api(olga).post(
        f"{API}/incidents/{public.incident.pk}/replies/",
        {"statement": "Our model was trained independently."},
        format="json",
    )
    assert filed.status_code == 201, filed.data
    page = client.get(f"/incidents/{public.incident.pk}/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "AML.T0024.002" in text
    assert "Extract AI Model" in text
    assert "Our model was trained independently." in text
    assert sha256(RESTRICTED_BYTES)[:17] in text
    assert "restricted" in text
    home = client.get("/")
    assert f'href="/incidents/{public.incident.pk}/"' in home.content.decode()


def test_the_embargoed_page_is_visible_to_its_handlers(
    client: Client, embargoed: Case, ivan: User, anna: User
) -> None:
    assert client.get(f"/incidents/{embargoed.incident.pk}/").status_code == 404
    for handler in (ivan, anna):
        client.force_login(handler)
        assert client.get(f"/incidents/{embargoed.incident.pk}/").status_code == 200


@pytest.mark.parametrize(("name", "expected"), [("olga", 201), ("adam", 201), ("ivan", 403)])
def test_only_members_of_the_accused_organization_and_admins_file_replies(
    request: pytest.FixtureRequest, api: Any, public: Case, olga: User, name: str, expected: int
) -> None:
    response = api(persona(request, name)).post(
        f"{API}/incidents/{public.incident.pk}/replies/", {"statement": "Reply"}, format="json"
    )
    assert response.status_code == expected
    assert public.incident.replies.count() == (1 if expected == 201 else 0)


def test_a_reply_cannot_speak_for_another_organization(api: Any, public: Case, adam: User) -> None:
    other = OrganizationFactory()
    response = api(adam).post(
        f"{API}/incidents/{public.incident.pk}/replies/",
        {"statement": "Reply", "organization": other.pk},
        format="json",
    )
    assert response.status_code == 400
    assert "organization" in response.data


# --- Commitments ---


def commitment_body(organization_id: int, digest: str, kind: str) -> dict[str, Any]:
    return {"organization": organization_id, "kind": kind, "sha256": digest}


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("alice", 201),
        ("ivan", 201),
        ("olga", 201),
        ("vera", 403),
        ("nobody", 403),
        ("anonymous", 403),
    ],
)
def test_who_may_register_a_commitment(
    request: pytest.FixtureRequest, api: Any, public: Case, olga: User, name: str, expected: int
) -> None:
    organization = public.incident.suspect_release.organization  # type: ignore[union-attr]
    body = commitment_body(organization.pk, key_set().commitment(), "fingerprint_key_set")
    response = api(persona(request, name)).post(f"{API}/commitments/", body, format="json")
    # Anonymous gets 401 or 403 depending on which authenticator DRF consults first.
    allowed = {401, 403} if name == "anonymous" else {expected}
    assert response.status_code in allowed
    assert Commitment.objects.count() == (1 if expected == 201 else 0)
    if expected == 201:
        assert LedgerEntry.objects.filter(
            object_type="registry.commitment", object_id=str(response.data["id"]), action="create"
        ).exists()


def check(client: Any, commitment_id: int, material: bytes) -> Any:
    return client.post(
        f"{API}/commitments/{commitment_id}/check/",
        {"file": SimpleUploadedFile("material", material)},
        format="multipart",
    )


def test_a_key_set_matches_its_commitment_in_any_order_and_a_changed_one_does_not(
    api: Any, alice: User, vera: User
) -> None:
    keys = key_set()
    created = api(alice).post(
        f"{API}/commitments/",
        commitment_body(OrganizationFactory().pk, keys.commitment(), "fingerprint_key_set"),
        format="json",
    )
    as_vera = api(vera)
    matched = check(as_vera, created.data["id"], keys.jsonl(reverse=True))
    assert matched.status_code == 200
    assert matched.data["matches"] is True
    assert matched.data["computed_sha256"] == keys.commitment()
    tampered = type(keys)([*keys.keys[:-1], {**keys.keys[-1], "expected": "other"}])
    mismatched = check(as_vera, created.data["id"], tampered.jsonl())
    assert mismatched.data["matches"] is False
    assert mismatched.data["computed_sha256"] == tampered.commitment()


def test_other_material_is_hashed_byte_for_byte(api: Any, alice: User) -> None:
    prompts = b"What is 2+2?\nName a prime.\n"
    created = api(alice).post(
        f"{API}/commitments/",
        commitment_body(OrganizationFactory().pk, sha256(prompts), "evaluation_prompt_set"),
        format="json",
    )
    assert check(api(None), created.data["id"], prompts).data["matches"] is True
    assert check(api(None), created.data["id"], prompts + b" ").data["matches"] is False


# --- Fingerprint verification ---


@pytest.fixture
def investigating(public: Case, ivan: User) -> CloningIncident:
    incident_transition(incident=public.incident, to_status="triage", actor=ivan, reason="a")
    return public.incident


def verify(
    client: Any, incident: CloningIncident, commitment: Commitment, keys: bytes, answers: bytes
) -> Any:
    return client.post(
        f"{API}/incidents/{incident.pk}/fingerprint-verifications/",
        {
            "key_set": SimpleUploadedFile("keys.jsonl", keys),
            "responses": SimpleUploadedFile("responses.jsonl", answers),
            "commitment": commitment.pk,
            "false_trigger_rate": 0.05,
        },
        format="multipart",
    )


def test_a_fingerprint_verification_cites_its_commitment_and_gets_the_binomial_tail(
    api: Any, investigating: CloningIncident, ivan: User
) -> None:
    keys = key_set(12)
    commitment = Commitment.objects.create(
        organization=investigating.original_release.organization,
        kind="fingerprint_key_set",
        sha256=keys.commitment(),
    )
    response = verify(
        api(ivan), investigating, commitment, keys.jsonl(), responses_jsonl(keys, triggered=9)
    )
    assert response.status_code == 202, response.data
    [item] = result(api(ivan), response)["evidence"]
    assert item["kind"] == "embedded_fingerprint"
    assert item["details"]["keys_matched"] == 9
    assert item["p_value"] == pytest.approx(binomial_upper_tail(9, 12, 0.05), rel=1e-9)
    assert item["statistic_value"] == pytest.approx(9 / 12)
    assert item["ci_low"] <= item["statistic_value"] <= item["ci_high"]
    assert item["decision"] == "supports"
    assert Evidence.objects.get(pk=item["id"]).commitment == commitment


def test_a_key_set_that_does_not_match_the_commitment_is_refused_naming_both_digests(
    api: Any, investigating: CloningIncident, ivan: User
) -> None:
    keys = key_set(12)
    commitment = Commitment.objects.create(
        organization=investigating.original_release.organization,
        kind="fingerprint_key_set",
        sha256=keys.commitment(),
    )
    chosen_later = key_set(11)
    before = (Evidence.objects.count(), LedgerEntry.objects.count())
    response = verify(
        api(ivan),
        investigating,
        commitment,
        chosen_later.jsonl(),
        responses_jsonl(chosen_later, triggered=11),
    )
    assert response.status_code == 400
    [message] = response.data["commitment"]
    assert keys.commitment() in message
    assert chosen_later.commitment() in message
    assert (Evidence.objects.count(), LedgerEntry.objects.count()) == before
