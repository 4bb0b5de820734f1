"""The OpenAPI schema generates cleanly and documents every endpoint; Swagger UI serves."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from django.core.management import call_command
from django.test import Client

from config.api import router

pytestmark = pytest.mark.django_db


def test_schema_generates_and_validates_without_warnings(tmp_path: Path) -> None:
    target = tmp_path / "schema.yml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))
    schema = yaml.safe_load(target.read_text())
    documented = set(schema["paths"])
    for prefix, _viewset, _basename in router.registry:
        assert f"/api/v1/{prefix}/" in documented
    assert "/api/v1/ledger/head/" in documented


def test_schema_documents_uploads_as_multipart(tmp_path: Path) -> None:
    target = tmp_path / "schema.yml"
    call_command("spectacular", "--file", str(target))
    paths = yaml.safe_load(target.read_text())["paths"]
    dataset_upload = paths["/api/v1/datasets/"]["post"]["requestBody"]["content"]
    evidence_submit = paths["/api/v1/evidence/"]["post"]["requestBody"]["content"]
    assert "multipart/form-data" in dataset_upload
    assert {"application/json", "multipart/form-data"} <= set(evidence_submit)


def test_schema_endpoint_serves_openapi_to_anyone(client: Client) -> None:
    response = client.get("/api/v1/schema/")
    assert response.status_code == 200
    assert yaml.safe_load(response.content)["openapi"].startswith("3.")


def test_swagger_ui_serves_to_anyone(client: Client) -> None:
    response = client.get("/api/docs/")
    assert response.status_code == 200
    assert b"swagger-ui" in response.content
