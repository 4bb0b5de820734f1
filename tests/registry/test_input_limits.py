"""Input at the door: deeply nested JSON, huge CSV fields, control characters in names
and oversized bodies each get a 4xx in the API's error format naming the field or
record, never a 500, and store nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from registry.models import CloningIncident, Commitment
from registry.services import incident_transition
from tests.datasets import read_upload
from tests.factories import (
    BenchmarkFactory,
    CloningIncidentFactory,
    OrganizationFactory,
    VoteDatasetFactory,
)
from tests.registry.api_records import API, client_for, row_counts
from tests.registry.incident_uploads import BASELINES, SUSPECT, TEACHER, key_set, responses_jsonl
from tests.registry.jobs import result
from tests.registry.test_item_claims import beats_claim, scores_file
from tests.registry.test_item_claims import upload as upload_item_scores

pytestmark = pytest.mark.django_db

DEEP = "[" * 5000 + "]" * 5000
# Shallower than the interpreter's recursion limit, deeper than any record needs.
NESTED_400 = "[" * 400 + "]" * 400


def test_a_deeply_nested_json_body_is_refused_whole(alice: User) -> None:
    before = row_counts()
    response = client_for(alice).post(
        f"{API}/organizations/", DEEP, content_type="application/json"
    )
    assert response.status_code == 400
    assert "nested deeper than 32 levels" in response.json()["detail"]
    assert row_counts() == before


def test_a_deeply_nested_member_is_named(alice: User) -> None:
    body = '{"name": "Acme", "slug": "acme", "kind": "developer", "website": ' + NESTED_400 + "}"
    response = client_for(alice).post(
        f"{API}/organizations/", body, content_type="application/json"
    )
    assert response.status_code == 400
    assert "nested deeper" in response.json()["website"][0]


def test_shallow_json_bodies_still_work(alice: User) -> None:
    body = {"name": "Acme Labs", "slug": "acme", "kind": "developer"}
    response = client_for(alice).post(f"{API}/organizations/", body, format="json")
    assert response.status_code == 201, response.json()


def test_a_body_over_the_limit_gets_a_json_413(alice: User, settings: Any) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = json.dumps({"name": "x" * 2000, "slug": "x", "kind": "developer"})
    response = client_for(alice).post(
        f"{API}/organizations/", body, content_type="application/json"
    )
    assert response.status_code == 413
    assert response.json() == {
        "detail": "The request body is larger than the limit of 1,000 bytes."
    }


def test_a_form_field_over_the_limit_gets_a_json_413(alice: User, settings: Any) -> None:
    """Django counts a multipart body's non-file fields against the memory limit while
    the view reads them."""
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = client_for(alice).post(
        f"{API}/datasets/",
        {
            "benchmark": BenchmarkFactory().pk,
            "name": "n" * 5000,
            "file": SimpleUploadedFile("v.csv", b"model_a,model_b,winner\na,b,tie\n"),
        },
        format="multipart",
    )
    assert response.status_code == 413
    assert "limit of 1,000 bytes" in response.json()["detail"]


def upload_votes(user: User, content: bytes, benchmark: Any = None, **options: str) -> Any:
    return client_for(user).post(
        f"{API}/datasets/",
        {
            "benchmark": (benchmark or BenchmarkFactory()).pk,
            "name": "votes",
            "file": SimpleUploadedFile("votes.json", content),
            **options,
        },
        format="multipart",
    )


@pytest.mark.parametrize(
    ("content", "options", "phrase"),
    [
        (DEEP.encode(), {}, "nested deeper than 32 levels"),
        (DEEP.encode(), {"format": "clean_battle"}, "nested deeper than 32 levels"),
        (
            b'{"model_a": "a", "model_b": "b", "winner": "tie"}\n{"model_a": '
            + NESTED_400.encode()
            + b"}\n",
            {"format": "jsonl"},
            "record 2, field 'model_a': nested deeper",
        ),
    ],
    ids=["auto", "clean_battle", "jsonl"],
)
def test_a_deeply_nested_vote_file_is_refused(
    alice: User, content: bytes, options: dict[str, str], phrase: str
) -> None:
    dataset = read_upload(upload_votes(alice, content, **options))
    assert dataset["status"] == "failed"
    assert phrase in dataset["error"], dataset["error"]


def test_a_vote_csv_field_over_the_csv_modules_default_limit_is_read(alice: User) -> None:
    # Quoted, so the fast reader hands the file to the csv module (131,072 by default).
    long_name = "m" * 131_073
    content = f'model_a,model_b,winner\n"{long_name}",b,model_a\nb,c,tie\n'.encode()
    dataset = read_upload(upload_votes(alice, content, format="csv"))
    assert (dataset["status"], dataset["n_models"]) == ("ready", 3), dataset["error"]


def test_an_item_score_field_over_the_csv_modules_default_limit_is_read(alice: User) -> None:
    claim = beats_claim()
    data = scores_file(["i" * 131_073, "short", "other"], [1, 0, 1], [0, 0, 1])
    client = client_for(alice)
    response = upload_item_scores(client, claim, data, rounds=10)
    assert response.status_code == 202, response.json()
    assert result(client, response)["item_analysis"]["n_items"] == 3


@pytest.mark.parametrize("character", ["\x00", "\x1b", "\u200b", "\u202e"])
def test_an_item_id_with_a_control_character_is_refused_naming_the_record(
    alice: User, character: str
) -> None:
    claim = beats_claim()
    before = row_counts()
    data = scores_file(["a", "b", f"item{character}3"], [1, 0, 1], [0, 0, 1])
    response = upload_item_scores(client_for(alice), claim, data, rounds=10)
    assert response.status_code == 400
    message = str(response.json()["file"])
    assert "record 3" in message
    assert f"U+{ord(character):04X}" in message
    assert row_counts() == before


def test_a_vote_file_with_a_nul_in_a_model_name_is_refused_naming_the_record(alice: User) -> None:
    dataset = read_upload(
        upload_votes(alice, b"model_a,model_b,winner\na,b,tie\nb,c\x00d,model_a\n")
    )
    assert dataset["status"] == "failed"
    assert "record 2" in dataset["error"]
    assert "U+0000" in dataset["error"]


@pytest.fixture
def incident(ivan: User) -> CloningIncident:
    incident: CloningIncident = CloningIncidentFactory(investigators=[ivan])
    incident_transition(incident=incident, to_status="triage", actor=ivan, reason="Credible")
    incident_transition(incident=incident, to_status="investigating", actor=ivan, reason="Go")
    return incident


def test_a_deeply_nested_provenance_upload_is_refused_naming_the_line(
    ivan: User, incident: CloningIncident
) -> None:
    before = row_counts()
    response = client_for(ivan).post(
        f"{API}/incidents/{incident.pk}/provenance-tests/",
        {
            "file": SimpleUploadedFile("responses.jsonl", DEEP.encode()),
            "suspect": SUSPECT,
            "candidates": TEACHER,
            "baselines": BASELINES,
            "permutations": 99,
        },
        format="multipart",
    )
    assert response.status_code == 400
    assert "line 1: nested deeper than 32 levels" in str(response.json()["file"])
    assert row_counts() == before


def test_a_provenance_model_name_with_a_nul_is_refused(
    ivan: User, incident: CloningIncident
) -> None:
    line = json.dumps({"prompt_id": "p1", "model": "suspect\x00", "response": "a b"})
    response = client_for(ivan).post(
        f"{API}/incidents/{incident.pk}/provenance-tests/",
        {
            "file": SimpleUploadedFile("responses.jsonl", line.encode()),
            "suspect": SUSPECT,
            "candidates": TEACHER,
            "baselines": BASELINES,
            "permutations": 99,
        },
        format="multipart",
    )
    assert response.status_code == 400
    assert "line 1: field 'model' holds U+0000" in str(response.json()["file"])


def test_a_deeply_nested_fingerprint_key_set_is_refused(
    ivan: User, incident: CloningIncident
) -> None:
    commitment = Commitment.objects.create(
        organization=incident.original_release.organization,
        kind="fingerprint_key_set",
        sha256="a" * 64,
    )
    keys = key_set()
    response = client_for(ivan).post(
        f"{API}/incidents/{incident.pk}/fingerprint-verifications/",
        {
            "key_set": SimpleUploadedFile("k.jsonl", DEEP.encode()),
            "responses": SimpleUploadedFile("r.jsonl", responses_jsonl(keys, triggered=3)),
            "commitment": commitment.pk,
            "false_trigger_rate": 0.01,
        },
        format="multipart",
    )
    assert response.status_code == 400
    assert "nested deeper than 32 levels" in str(response.json())


def test_an_anonymous_commitment_check_with_deep_json_is_refused() -> None:
    commitment = Commitment.objects.create(
        organization=OrganizationFactory(), kind="fingerprint_key_set", sha256="a" * 64
    )
    response = Client().post(
        f"{API}/commitments/{commitment.pk}/check/",
        {"file": SimpleUploadedFile("material", DEEP.encode())},
    )
    assert response.status_code == 400
    assert "line 1: nested deeper than 32 levels" in str(response.json()["file"])


def test_a_query_log_account_with_a_control_character_is_refused(
    ivan: User, incident: CloningIncident
) -> None:
    log = (
        b"timestamp,account,prompt,tokens_in,tokens_out\n"
        b"2026-01-01T00:00:00,alice,hi,1,5\n"
        b"2026-01-01T00:00:01,=cmd\x00,hi,1,5\n"
    )
    response = client_for(ivan).post(
        f"{API}/incidents/{incident.pk}/query-logs/",
        {"file": SimpleUploadedFile("log.csv", log)},
        format="multipart",
    )
    assert response.status_code == 400
    assert "request 2: field 'account' holds U+0000" in str(response.json()["file"])


@pytest.mark.parametrize("body_format", ["multipart", "urlencoded"])
def test_deep_json_in_a_form_field_is_refused_naming_it(alice: User, body_format: str) -> None:
    before = row_counts()
    if body_format == "multipart":
        response = client_for(alice).post(
            f"{API}/reports/", {"kind": "digest", "subject": DEEP}, format="multipart"
        )
    else:
        response = client_for(alice).post(
            f"{API}/reports/",
            f"kind=digest&subject={DEEP}",
            content_type="application/x-www-form-urlencoded",
        )
    assert response.status_code == 400
    assert "nested deeper than 32 levels" in response.json()["subject"][0]
    assert row_counts() == before


def test_a_json_only_endpoint_still_answers_415_to_a_form(alice: User) -> None:
    dataset = VoteDatasetFactory()
    response = client_for(alice).post(
        f"{API}/datasets/{dataset.pk}/analyses/", {"parameters": DEEP}, format="multipart"
    )
    assert response.status_code == 415


def test_a_vote_dataset_up_to_its_own_limit_is_not_refused_as_a_body(settings: Any) -> None:
    from registry.request_limits import body_limit

    settings.REGISTRY_MAX_UPLOAD_BYTES = 200
    settings.REGISTRY_MAX_DATASET_UPLOAD_BYTES = 5000
    assert body_limit("multipart/form-data") > 5000
    assert body_limit("application/json") == settings.DATA_UPLOAD_MAX_MEMORY_SIZE
