"""Bad writes are refused whole: 400, a message under the offending field, and
nothing stored (no row, no ledger entry, no change to the record)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db.models import Model
from django.forms.models import model_to_dict

from registry.services import evidence_submit
from tests.factories import (
    CloningIncidentFactory,
    EvidenceFactory,
    ModelReleaseFactory,
    OrganizationFactory,
    UserFactory,
    VoteDatasetFactory,
    digest,
)
from tests.registry.api_records import (
    API,
    CREATE_BODIES,
    Records,
    client_for,
    evidence_multipart_body,
    make_records,
    row_counts,
)

pytestmark = [
    pytest.mark.django_db,
]

Overrides = Callable[[Records], dict[str, Any]]

WRITER_OF = {
    "organizations": "alice",
    "releases": "alice",
    "artifacts": "alice",
    "benchmarks": "alice",
    "claims": "alice",
    "incidents": "ivan",
    "evidence": "ivan",
}


def vanished(model_factory: Callable[[], Model]) -> int:
    """The id of a row that existed and was deleted: certainly dangling."""
    row = model_factory()
    pk = row.pk
    row.delete()
    return int(pk)


@pytest.fixture
def records(ivan: User, alice: User) -> Records:
    return make_records(investigator=ivan, analyst=alice)


def other_incidents_evidence(records: Records) -> int:
    return EvidenceFactory(incident=CloningIncidentFactory(investigators=[])).pk


def superseded_evidence(records: Records) -> int:
    evidence_submit(
        actor=records.incident.investigators.get(),
        incident=records.incident,
        fields={
            "kind": "extraction_detector",
            "method_name": "Rerun",
            "access_mode": "black_box_api",
            "details": {"detector": "rerun", "statistic": 1.0, "threshold": 3.0},
            "supersedes": records.evidence,
        },
    )
    return records.evidence.pk


# (endpoint, overrides of a valid body, the field the message must name)
CREATE_CASES: list[tuple[str, Overrides, str]] = [
    ("organizations", lambda r: {"kind": "empire"}, "kind"),
    ("organizations", lambda r: {"country": "gbr"}, "country"),
    ("organizations", lambda r: {"website": "not a url"}, "website"),
    ("organizations", lambda r: {"name": ""}, "name"),
    ("organizations", lambda r: {"slug": r.organization.slug}, "slug"),
    ("releases", lambda r: {"organization": vanished(OrganizationFactory)}, "organization"),
    ("releases", lambda r: {"parameter_count": "many"}, "parameter_count"),
    ("releases", lambda r: {"parameter_count": -5}, "parameter_count"),
    ("releases", lambda r: {"access": "leaked"}, "access"),
    ("releases", lambda r: {"release_date": "yesterday"}, "release_date"),
    (
        "releases",
        lambda r: {
            "lineage": [{"base": vanished(ModelReleaseFactory), "relation": "fine_tuned_from"}]
        },
        "lineage",
    ),
    (
        "releases",
        lambda r: {"lineage": [{"base": r.base_release.pk, "relation": "cloned_from"}]},
        "lineage",
    ),
    (
        "releases",
        lambda r: {"lineage": 2 * [{"base": r.base_release.pk, "relation": "distilled_from"}]},
        "lineage",
    ),
    ("artifacts", lambda r: {"sha256": "abc"}, "sha256"),
    ("artifacts", lambda r: {"sha256": digest("x").upper()}, "sha256"),
    ("artifacts", lambda r: {"release": vanished(ModelReleaseFactory)}, "release"),
    ("artifacts", lambda r: {"kind": "recipe"}, "kind"),
    ("artifacts", lambda r: {"size_bytes": -1}, "size_bytes"),
    ("benchmarks", lambda r: {"kind": "vibes"}, "kind"),
    ("benchmarks", lambda r: {"operator": vanished(OrganizationFactory)}, "operator"),
    ("benchmarks", lambda r: {"slug": "not a slug!"}, "slug"),
    ("claims", lambda r: {"kind": "rank", "compared_release": None}, "claimed_rank"),
    ("claims", lambda r: {"kind": "rank", "claimed_rank": 0}, "claimed_rank"),
    ("claims", lambda r: {"kind": "score", "compared_release": None}, "claimed_score"),
    ("claims", lambda r: {"compared_release": r.release.pk}, "compared_release"),
    ("claims", lambda r: {"compared_release": None}, "compared_release"),
    ("claims", lambda r: {"claim_date": "2026-13-01"}, "claim_date"),
    ("claims", lambda r: {"release": vanished(ModelReleaseFactory)}, "release"),
    ("claims", lambda r: {"dataset": VoteDatasetFactory().pk}, "dataset"),
    ("claims", lambda r: {"status": "true"}, "status"),
    ("claims", lambda r: {"claimed_score": "high", "kind": "score"}, "claimed_score"),
    ("incidents", lambda r: {"atlas_techniques": ["AML.X1"]}, "atlas_techniques"),
    ("incidents", lambda r: {"atlas_techniques": "AML.T0024"}, "atlas_techniques"),
    ("incidents", lambda r: {"atlas_techniques": 2 * ["AML.T0024"]}, "atlas_techniques"),
    ("incidents", lambda r: {"suspect_name": ""}, "suspect_name"),
    ("incidents", lambda r: {"suspect_release": r.release.pk}, "suspect_release"),
    ("incidents", lambda r: {"suspect_artifact_sha256": "xyz"}, "suspect_artifact_sha256"),
    ("incidents", lambda r: {"investigators": [vanished(UserFactory)]}, "investigators"),
    ("incidents", lambda r: {"evidentiary_level": "rumour"}, "evidentiary_level"),
    ("incidents", lambda r: {"embargoed": "perhaps"}, "embargoed"),
    (
        "incidents",
        lambda r: {"original_release": vanished(ModelReleaseFactory)},
        "original_release",
    ),
    ("evidence", lambda r: {"p_value": 1.5}, "p_value"),
    ("evidence", lambda r: {"p_value": -0.1}, "p_value"),
    ("evidence", lambda r: {"p_value": "small"}, "p_value"),
    ("evidence", lambda r: {"alpha": 0}, "alpha"),
    ("evidence", lambda r: {"alpha": 1}, "alpha"),
    ("evidence", lambda r: {"alpha": 1.5}, "alpha"),
    ("evidence", lambda r: {"ci_low": 0.95, "ci_high": 0.9, "statistic_value": 0.92}, "ci_low"),
    ("evidence", lambda r: {"ci_high": None}, "ci_low"),
    ("evidence", lambda r: {"statistic_value": 0.99}, "statistic_value"),
    ("evidence", lambda r: {"access_mode": "psychic"}, "access_mode"),
    ("evidence", lambda r: {"decision": "guilty"}, "decision"),
    ("evidence", lambda r: {"n": "many"}, "n"),
    ("evidence", lambda r: {"n": -1}, "n"),
    ("evidence", lambda r: {"kind": "hunch"}, "kind"),
    ("evidence", lambda r: {"details": {"detector": "x"}}, "details"),
    (
        "evidence",
        lambda r: {"details": {"detector": "x", "statistic": 1, "threshold": "high"}},
        "details",
    ),
    ("evidence", lambda r: {"details": ["not", "an", "object"]}, "details"),
    ("evidence", lambda r: {"incident": vanished(CloningIncidentFactory)}, "incident"),
    ("evidence", lambda r: {"supersedes": other_incidents_evidence(r)}, "supersedes"),
    ("evidence", lambda r: {"supersedes": superseded_evidence(r)}, "supersedes"),
]


def case_id(case: tuple[str, Overrides, str]) -> str:
    return f"{case[0]}-{case[2]}"


def assert_refused(response: Any, field: str) -> None:
    assert response.status_code == 400, response.data
    body = response.json()
    assert field in body, body
    messages = body[field]
    assert messages
    assert all(isinstance(message, str | dict) for message in messages)


@pytest.mark.parametrize(
    ("prefix", "overrides", "field"), CREATE_CASES, ids=map(case_id, CREATE_CASES)
)
def test_invalid_create_is_refused_with_a_field_message_and_stores_nothing(
    request: pytest.FixtureRequest, records: Records, prefix: str, overrides: Overrides, field: str
) -> None:
    body = {**CREATE_BODIES[prefix](records), **overrides(records)}
    before = row_counts()
    user = request.getfixturevalue(WRITER_OF[prefix])

    response = client_for(user).post(f"{API}/{prefix}/", body, format="json")

    assert_refused(response, field)
    assert row_counts() == before


UPDATE_CASES: list[tuple[str, Overrides, str]] = [
    ("organizations", lambda r: {"kind": "empire"}, "kind"),
    (
        "releases",
        lambda r: {"lineage": [{"base": r.release.pk, "relation": "fine_tuned_from"}]},
        "lineage",
    ),
    ("releases", lambda r: {"organization": vanished(OrganizationFactory)}, "organization"),
    ("benchmarks", lambda r: {"kind": "vibes"}, "kind"),
    ("claims", lambda r: {"claimed_rank": None}, "claimed_rank"),
    ("claims", lambda r: {"kind": "beats", "compared_release": r.release.pk}, "compared_release"),
    ("claims", lambda r: {"kind": "score"}, "claimed_score"),
    ("incidents", lambda r: {"atlas_techniques": ["AML.X1"]}, "atlas_techniques"),
    ("incidents", lambda r: {"suspect_release": r.release.pk}, "suspect_release"),
    ("incidents", lambda r: {"suspect_name": ""}, "suspect_name"),
]

DETAIL_OF = {
    "organizations": lambda r: r.organization,
    "releases": lambda r: r.release,
    "benchmarks": lambda r: r.benchmark,
    "claims": lambda r: r.claim,
    "incidents": lambda r: r.incident,
}


@pytest.mark.parametrize(
    ("prefix", "overrides", "field"), UPDATE_CASES, ids=map(case_id, UPDATE_CASES)
)
def test_invalid_update_is_refused_with_a_field_message_and_changes_nothing(
    request: pytest.FixtureRequest, records: Records, prefix: str, overrides: Overrides, field: str
) -> None:
    instance = DETAIL_OF[prefix](records)
    patch = overrides(records)
    state_before = model_to_dict(instance)
    before = row_counts()
    user = request.getfixturevalue(WRITER_OF[prefix])

    response = client_for(user).patch(f"{API}/{prefix}/{instance.pk}/", patch, format="json")

    assert_refused(response, field)
    assert row_counts() == before
    instance.refresh_from_db()
    assert model_to_dict(instance) == state_before


@pytest.mark.parametrize("prefix", sorted(WRITER_OF))
def test_malformed_json_is_refused_and_stores_nothing(
    request: pytest.FixtureRequest, records: Records, prefix: str
) -> None:
    before = row_counts()
    user = request.getfixturevalue(WRITER_OF[prefix])
    response = client_for(user).post(
        f"{API}/{prefix}/", data='{"name": ', content_type="application/json"
    )
    assert response.status_code == 400
    assert "JSON parse error" in response.json()["detail"]
    assert row_counts() == before


@pytest.mark.parametrize("prefix", sorted(WRITER_OF))
def test_a_list_body_is_refused_and_stores_nothing(
    request: pytest.FixtureRequest, records: Records, prefix: str
) -> None:
    before = row_counts()
    user = request.getfixturevalue(WRITER_OF[prefix])
    response = client_for(user).post(f"{API}/{prefix}/", [CREATE_BODIES[prefix](records)])
    assert response.status_code == 400
    assert row_counts() == before


def test_oversized_evidence_file_is_refused_and_stores_nothing(
    ivan: User, records: Records, settings: Any
) -> None:
    settings.REGISTRY_MAX_UPLOAD_BYTES = 16
    body = evidence_multipart_body(
        records,
        files=[
            SimpleUploadedFile("small.txt", b"x" * 16),
            SimpleUploadedFile("large.txt", b"x" * 17),
        ],
    )
    before = row_counts()
    response = client_for(ivan).post(f"{API}/evidence/", body, format="multipart")
    assert_refused(response, "files")
    assert "17 bytes" in str(response.json()["files"])
    assert row_counts() == before
