"""The OpenAPI document is the API's contract: every operation has a tag, a summary and
its error answers in the one error format; open reads say so; fields are nullable where
the API returns null; actions page as lists do; query parameters the API cannot use are
refused with a 400 naming them; downloads have a fixed type; scripts can get a token."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.contrib.auth.models import User
from django.core.cache import cache
from django.core.management import call_command
from django.test import Client
from rest_framework.authtoken.models import Token

from registry import models
from registry.api.schema import ERROR_COMPONENT
from tests.factories import CloningIncidentFactory, EvidenceFactory, StoredFileFactory
from tests.registry.api_records import API, client_for

pytestmark = pytest.mark.django_db

ERROR_REF = {"$ref": f"#/components/schemas/{ERROR_COMPONENT}"}
UNSAFE = {"post", "put", "patch", "delete"}


@pytest.fixture(scope="module")
def schema(django_db_blocker: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    target = tmp_path_factory.mktemp("schema") / "schema.yml"
    with django_db_blocker.unblock():
        call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))
    loaded: dict[str, Any] = yaml.safe_load(Path(target).read_text())
    return loaded


def operations(schema: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            yield path, method, operation


def test_every_operation_has_its_resource_tag_and_a_summary(schema: dict[str, Any]) -> None:
    declared = {tag["name"] for tag in schema["tags"]}
    for path, method, operation in operations(schema):
        resource = path.split("/")[3]
        assert operation["tags"] == [resource], (method, path)
        assert resource in declared, resource
        assert operation.get("summary"), (method, path)
        assert "\n" not in operation["summary"]


def test_every_operation_documents_its_errors_in_the_one_error_format(
    schema: dict[str, Any],
) -> None:
    for path, method, operation in operations(schema):
        responses = operation["responses"]
        errors = {code for code in responses if code.startswith("4")}
        # An invalid token and a spent budget can meet any operation.
        assert {"401", "429"} <= errors, (method, path)
        if "{" in path:
            assert "404" in errors, (method, path)
        if "requestBody" in operation:
            assert {"400", "413", "415"} <= errors, (method, path)
        if any(p["in"] == "query" for p in operation.get("parameters", [])):
            assert "400" in errors, (method, path)
        if method in UNSAFE:
            assert "403" in errors, (method, path)
        for code in errors:
            assert responses[code]["content"] == {"application/json": {"schema": ERROR_REF}}
    error = schema["components"]["schemas"][ERROR_COMPONENT]
    assert set(error["properties"]) == {"detail", "non_field_errors"}


def test_public_reads_are_documented_as_open_and_writes_as_needing_a_token(
    schema: dict[str, Any],
) -> None:
    open_writes = {
        ("post", "/api/v1/auth/token/"),
        ("post", "/api/v1/commitments/{id}/check/"),
        ("post", "/api/v1/reports/verify/"),
        ("post", "/api/v1/log/checkpoints/{tree_size}/cosignatures/"),
    }
    for path, method, operation in operations(schema):
        anonymous = {} in operation["security"]
        if method == "get" or (method, path) in open_writes:
            assert anonymous, (method, path)
        else:
            assert not anonymous, (method, path)
            assert "409" in operation["responses"], (method, path)


def test_fields_that_can_be_null_or_blank_say_so(schema: dict[str, Any]) -> None:
    components = schema["components"]["schemas"]
    assert components["Decision"]["properties"]["decided_by"]["nullable"] is True
    assert components["Evidence"]["properties"]["superseded_by"]["nullable"] is True
    source_url = components["VoteDataset"]["properties"]["source_url"]
    assert {"type": "string", "maxLength": 0} in source_url["oneOf"]


@pytest.mark.parametrize("action", ["decisions", "replies", "timeline"])
def test_incident_actions_page_as_lists_do(schema: dict[str, Any], action: str) -> None:
    operation = schema["paths"][f"/api/v1/incidents/{{id}}/{action}/"]["get"]
    body = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert body["$ref"].startswith("#/components/schemas/Paginated")
    names = {p["name"] for p in operation["parameters"]}
    # The incident list's filters do not apply to an incident's rows.
    assert names == {"id", "limit", "offset"}


def test_incident_actions_answer_pages(ivan: User) -> None:
    incident = CloningIncidentFactory(investigators=[ivan])
    decision = models.IncidentDecision.objects.create(
        incident=incident, proposed_status="substantiated", reason="r", proposed_by=ivan
    )
    client = client_for(ivan)
    for action in ["decisions", "replies", "timeline"]:
        body = client.get(f"{API}/incidents/{decision.incident.pk}/{action}/?limit=1").json()
        assert set(body) == {"count", "next", "previous", "results"}, action
    decisions = client.get(f"{API}/incidents/{decision.incident.pk}/decisions/").json()
    assert [row["id"] for row in decisions["results"]] == [decision.pk]
    assert decisions["results"][0]["decided_by"] is None


def test_the_manifest_and_downloads_are_documented_as_what_they_return(
    schema: dict[str, Any],
) -> None:
    paths = schema["paths"]
    manifest = paths["/api/v1/reports/{id}/manifest/"]["get"]["responses"]
    body = manifest["200"]["content"]["application/json"]["schema"]
    assert {"report_id", "subject_ids", "files", "ledger_head"} <= set(body["properties"])
    assert "409" in manifest
    report_pdf = paths["/api/v1/reports/{id}/download/"]["get"]["responses"]["200"]
    assert set(report_pdf["content"]) == {"application/pdf"}
    evidence_file = paths["/api/v1/evidence/{id}/files/{file_id}/download/"]["get"]
    assert set(evidence_file["responses"]["200"]["content"]) == {"application/octet-stream"}


def test_an_evidence_download_never_carries_the_uploaders_content_type(vera: User) -> None:
    evidence = EvidenceFactory()
    stored = StoredFileFactory(media_type="text/html")
    evidence_file = models.EvidenceFile.objects.create(
        evidence=evidence, file=stored, original_filename="page.html"
    )
    response = client_for(vera).get(
        f"{API}/evidence/{evidence.pk}/files/{evidence_file.pk}/download/"
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "application/octet-stream"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Disposition"].startswith("attachment")


def test_the_report_request_shows_how_subjects_are_given(schema: dict[str, Any]) -> None:
    operation = schema["paths"]["/api/v1/reports/"]["post"]
    examples = operation["requestBody"]["content"]["application/json"]["examples"]
    subjects = {
        example["value"]["kind"]: example["value"]["subject"] for example in examples.values()
    }
    assert subjects == {
        "claim": 12,
        "incident": 3,
        "digest": {"period_start": "2026-10-01", "period_end": "2026-10-31"},
    }


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("limit=abc", "limit"),
        ("limit=0", "limit"),
        ("limit=501", "limit"),
        ("limit=", "limit"),
        ("offset=-1", "offset"),
        ("offset=1.5", "offset"),
        ("ordering=password", "ordering"),
        ("ordering=name,-nonexistent", "ordering"),
        ("kind=not-a-kind", "kind"),
        ("kind=", "kind"),
        ("search=%00", "search"),
    ],
)
def test_query_parameters_the_api_cannot_use_are_refused_by_name(
    query: str, parameter: str
) -> None:
    response = Client().get(f"{API}/organizations/?{query}")
    assert response.status_code == 400
    assert parameter in response.json()


def test_a_boolean_filter_refuses_what_is_neither_true_nor_false() -> None:
    response = Client().get(f"{API}/incidents/?embargoed=maybe")
    assert response.status_code == 400
    assert "embargoed" in response.json()
    assert Client().get(f"{API}/incidents/?embargoed=false").status_code == 200


@pytest.mark.parametrize(
    ("path", "parameter"),
    [
        ("/ledger/?seq_after=0.5", "seq_after"),
        ("/analyses/?status=", "status"),
        ("/releases/?released_before=", "released_before"),
        ("/reports/?incident=", "incident"),
    ],
)
def test_filters_refuse_values_of_the_wrong_kind(path: str, parameter: str) -> None:
    response = Client().get(f"{API}{path}")
    assert response.status_code == 400
    assert parameter in response.json()


def test_a_url_under_the_api_that_matches_no_route_answers_json() -> None:
    response = Client().get(f"{API}/claims/0.5/")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


def test_a_release_takes_json_only_as_its_lineage_is_a_list_of_objects(alice: User) -> None:
    response = Client().post(
        f"{API}/releases/", {"name": "x"}, HTTP_AUTHORIZATION=f"Token {token_of(alice)}"
    )
    assert response.status_code == 415


def token_of(user: User) -> str:
    return Token.objects.get_or_create(user=user)[0].key


def test_valid_paging_and_ordering_still_work() -> None:
    response = Client().get(f"{API}/organizations/?limit=500&offset=0&ordering=-name,created_at")
    assert response.status_code == 200
    assert Client().get(f"{API}/organizations/?ordering=").status_code == 200


# --- Tokens ---------------------------------------------------------------------------------


@pytest.fixture
def counting_cache(settings: Any) -> Iterator[None]:
    """The tests' cache counts nothing; sign-in limits need one that does."""
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    cache.clear()
    yield
    cache.clear()


def ask_token(username: str, password: str) -> Any:
    return Client().post(
        f"{API}/auth/token/",
        {"username": username, "password": password},
        content_type="application/json",
    )


def test_a_script_gets_its_token_with_a_username_and_password(alice: User) -> None:
    response = ask_token("alice", "correct horse battery staple")
    assert response.status_code == 200
    token = response.json()["token"]
    assert ask_token("alice", "correct horse battery staple").json()["token"] == token
    claims = Client().get(f"{API}/claims/", HTTP_AUTHORIZATION=f"Token {token}")
    assert claims.status_code == 200


def test_a_wrong_password_gets_no_token(alice: User) -> None:
    response = ask_token("alice", "guess")
    assert response.status_code == 400
    assert "non_field_errors" in response.json()
    assert not User.objects.filter(auth_token__isnull=False).exists()


def test_token_guesses_share_the_admin_sign_in_limit(
    counting_cache: None, settings: Any, alice: User
) -> None:
    settings.ADMIN_LOGIN_FAILURES = 3
    Client().post("/admin/login/", {"username": "alice", "password": "guess"})
    assert [ask_token("alice", "guess").status_code for _ in range(2)] == [400, 400]
    refused = ask_token("alice", "correct horse battery staple")
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0


def test_a_number_where_text_is_expected_is_refused_not_turned_into_text(alice: User) -> None:
    client = client_for(alice)
    organization = client.post(
        f"{API}/organizations/", {"name": "Acme", "slug": "acme", "kind": "developer"}
    ).json()
    response = client.patch(f"{API}/organizations/{organization['id']}/", {"slug": 0})
    assert response.status_code == 400
    assert response.json() == {"slug": ["Not a valid string."]}
    assert client.get(f"{API}/organizations/{organization['id']}/").json()["slug"] == "acme"
