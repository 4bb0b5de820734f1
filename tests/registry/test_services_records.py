"""One write path per record: what the services record, whoever calls them.

Alice is an analyst; Adam an admin.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction
from django.test import Client

from registry.models import (
    BenchmarkClaim,
    CloningIncident,
    Evidence,
    FragilityAnalysis,
    LedgerEntry,
    ModelRelease,
    VoteDataset,
)
from registry.services import organization_create
from tests.datasets import read_upload
from tests.factories import (
    BenchmarkClaimFactory,
    BenchmarkFactory,
    CloningIncidentFactory,
    EvidenceFactory,
    ModelReleaseFactory,
    OrganizationFactory,
    VoteDatasetFactory,
)
from tests.markers import requires_postgres
from tests.registry.test_ledger import delete_ledger_rows_past_the_triggers

pytestmark = [pytest.mark.django_db]

API = "/api/v1"


def client(user: User) -> Client:
    browser = Client()
    browser.force_login(user)
    return browser


def patch(user: User, path: str, body: dict[str, Any]) -> Any:
    return client(user).patch(f"{API}{path}", body, content_type="application/json")


def entries_about(instance: Any) -> list[LedgerEntry]:
    return list(
        LedgerEntry.objects.filter(
            object_type=instance._meta.label_lower, object_id=str(instance.pk)
        ).order_by("seq")
    )


def test_a_patch_that_changes_nothing_appends_nothing(alice: User) -> None:
    organization = organization_create(actor=alice, fields={"name": "Acme", "slug": "acme"})
    before = LedgerEntry.objects.count()
    response = patch(alice, f"/organizations/{organization.pk}/", {"name": "Acme"})
    assert response.status_code == 200
    assert LedgerEntry.objects.count() == before
    changed = patch(alice, f"/organizations/{organization.pk}/", {"name": "Acme Labs"})
    assert changed.status_code == 200
    assert LedgerEntry.objects.count() == before + 1


def test_a_release_patch_with_lineage_is_one_entry_that_includes_the_lineage(
    alice: User,
) -> None:
    release, base = ModelReleaseFactory(), ModelReleaseFactory()
    response = patch(
        alice,
        f"/releases/{release.pk}/",
        {"version": "2.0", "lineage": [{"base": base.pk, "relation": "distilled_from"}]},
    )
    assert response.status_code == 200
    assert response.json()["lineage"] == [{"base": base.pk, "relation": "distilled_from"}]
    (entry,) = entries_about(release)
    assert entry.action == "update"
    assert entry.snapshot["version"] == "2.0"
    assert entry.snapshot["_context"]["lineage"] == [
        {"base": base.pk, "relation": "distilled_from"}
    ]
    # The same lineage again changes nothing.
    again = patch(
        alice,
        f"/releases/{release.pk}/",
        {"lineage": [{"base": base.pk, "relation": "distilled_from"}]},
    )
    assert again.status_code == 200
    assert len(entries_about(release)) == 1


def test_an_incomplete_lineage_link_is_refused_naming_the_field(alice: User) -> None:
    release = ModelReleaseFactory()
    response = patch(
        alice, f"/releases/{release.pk}/", {"lineage": [{"relation": "fine_tuned_from"}]}
    )
    assert response.status_code == 400
    assert "lineage" in response.json()
    assert entries_about(release) == []


def test_a_claim_created_through_the_api_records_who_created_it(alice: User) -> None:
    release = ModelReleaseFactory()
    benchmark = BenchmarkFactory()
    response = client(alice).post(
        f"{API}/claims/",
        {
            "claimant": release.organization.pk,
            "release": release.pk,
            "benchmark": benchmark.pk,
            "kind": "rank",
            "claimed_rank": 1,
            "statement": "Our model ranks first.",
            "claim_date": "2026-11-01",
        },
        content_type="application/json",
    )
    assert response.status_code == 201
    assert response.json()["created_by"] == "alice"
    claim = BenchmarkClaim.objects.get(pk=response.json()["id"])
    assert claim.created_by == alice
    assert entries_about(claim)[0].snapshot["created_by_id"] == alice.pk


def test_the_admin_creates_records_through_the_same_service(adam: User) -> None:
    release = ModelReleaseFactory()
    benchmark = BenchmarkFactory()
    response = client(adam).post(
        "/admin/registry/benchmarkclaim/add/",
        {
            "claimant": release.organization.pk,
            "release": release.pk,
            "benchmark": benchmark.pk,
            "kind": "rank",
            "claimed_rank": 2,
            "statement": "Second place.",
            "claim_date": "2026-11-01",
        },
    )
    assert response.status_code == 302
    claim = BenchmarkClaim.objects.get(statement="Second place.")
    assert claim.created_by == adam
    assert [entry.action for entry in entries_about(claim)] == ["create"]


def test_a_nul_in_a_model_name_fails_the_upload_naming_the_record(alice: User) -> None:
    benchmark = BenchmarkFactory()
    votes = b"model_a,model_b,winner\nAlpha,Beta,model_a\nGam\x00ma,Beta,model_b\n"
    response = client(alice).post(
        f"{API}/datasets/",
        {
            "benchmark": benchmark.pk,
            "name": "with a NUL",
            "file": SimpleUploadedFile("votes.csv", votes, "text/csv"),
        },
    )
    dataset = read_upload(response)
    assert dataset["status"] == "failed"
    assert "record 2" in dataset["error"]
    assert "U+0000" in dataset["error"]
    assert VoteDataset.objects.get().n_votes is None


def test_the_database_refuses_to_delete_evidence() -> None:
    evidence = EvidenceFactory(incident=CloningIncidentFactory())
    with pytest.raises(DatabaseError, match="never removed"), transaction.atomic():
        Evidence.objects.filter(pk=evidence.pk).delete()
    assert Evidence.objects.filter(pk=evidence.pk).exists()


@requires_postgres
def test_postgresql_refuses_to_truncate_the_ledger(alice: User) -> None:
    organization_create(actor=alice, fields={"name": "Acme", "slug": "acme"})
    with connection.cursor() as cursor:
        # Fire the deferred foreign-key checks of the inserts above first: PostgreSQL will
        # not truncate a table with pending trigger events, which would hide our trigger.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        with pytest.raises(DatabaseError, match="never removed"), transaction.atomic():
            cursor.execute(f"TRUNCATE {LedgerEntry._meta.db_table} CASCADE")
    assert LedgerEntry.objects.count() == 1


def test_verify_ledger_fails_when_the_ledger_was_emptied_behind_the_registry(
    alice: User,
) -> None:
    organization_create(actor=alice, fields={"name": "Acme", "slug": "acme"})
    delete_ledger_rows_past_the_triggers()
    with pytest.raises(CommandError, match="Ledger is empty, but the registry holds records"):
        call_command("verify_ledger")


def test_a_claim_page_renders_an_interval_that_is_not_available() -> None:
    """The result schema allows a null interval (a model whose sandwich variance is not
    finite); the page says so instead of failing."""
    dataset = VoteDatasetFactory()
    claim = BenchmarkClaimFactory(benchmark=dataset.benchmark, dataset=dataset)
    score = {"rank": 1, "rank_ub": 1, "score": 0.0, "ridge_dependent": False}
    results = {
        "fit": {"tie_handling": "half", "n_votes_used": 10, "reference_model": "Alpha"},
        "scores": [
            {**score, "model": "Alpha", "elo": 1000.0, "ci_low": None, "ci_high": None},
            {**score, "model": "Beta", "elo": 990.0, "ci_low": 970.0, "ci_high": 1010.0},
        ],
        "fragility": [],
        "most_influential_votes": [],
    }
    FragilityAnalysis.objects.create(
        dataset=dataset,
        claim=claim,
        input_sha256=dataset.file.sha256,
        status=FragilityAnalysis.Status.DONE,
        results=results,
    )
    response = Client().get(f"/claims/{claim.pk}/")
    assert response.status_code == 200
    assert "not available" in response.content.decode()


def test_every_admin_change_form_shows_the_records_ledger_history(adam: User) -> None:
    ledgered = organization_create(actor=adam, fields={"name": "Ledgered", "slug": "ledgered"})
    patch(adam, f"/organizations/{ledgered.pk}/", {"country": "FR"})
    page = client(adam).get(f"/admin/registry/organization/{ledgered.pk}/history/")
    content = page.content.decode()
    assert [row.entry.action for row in page.context["rows"]] == ["create", "update"]
    assert "<del></del> → <ins>FR</ins>" in " ".join(content.split())
    assert "<ins>FR</ins>" in content


def test_a_release_saved_in_the_admin_with_its_lineage_is_one_entry(adam: User) -> None:
    organization, base = OrganizationFactory(), ModelReleaseFactory()
    response = client(adam).post(
        "/admin/registry/modelrelease/add/",
        {
            "organization": organization.pk,
            "name": "Derived",
            "version": "1",
            "access": "open_weights",
            "modality": "text",
            "lineage-TOTAL_FORMS": "1",
            "lineage-INITIAL_FORMS": "0",
            "lineage-0-base": base.pk,
            "lineage-0-relation": "fine_tuned_from",
            "artifacts-TOTAL_FORMS": "0",
            "artifacts-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    release = ModelRelease.objects.get(name="Derived")
    assert list(release.lineage.values_list("base", "relation")) == [(base.pk, "fine_tuned_from")]
    (entry,) = entries_about(release)
    assert entry.action == "create"
    assert entry.snapshot["_context"]["lineage"] == [
        {"base": base.pk, "relation": "fine_tuned_from"}
    ]


def test_an_investigator_reporting_in_the_admin_is_assigned_and_cannot_assign_a_viewer(
    ivan: User, vera: User
) -> None:
    release = ModelReleaseFactory()
    fields = {
        "title": "Seen in the logs",
        "suspect_name": "Copycat",
        "original_release": release.pk,
        "reporting_organization": release.organization.pk,
        "summary": "s",
        "evidentiary_level": "alleged",
        "atlas_techniques": ["AML.T0024.002"],
        "evidence-TOTAL_FORMS": "0",
        "evidence-INITIAL_FORMS": "0",
        "decisions-TOTAL_FORMS": "0",
        "decisions-INITIAL_FORMS": "0",
        "replies-TOTAL_FORMS": "0",
        "replies-INITIAL_FORMS": "0",
    }
    refused = client(ivan).post(
        "/admin/registry/cloningincident/add/", {**fields, "investigators": [vera.pk]}, follow=True
    )
    # Vera is not offered (only investigators are); choosing her anyway is refused.
    assert refused.context["adminform"].form.errors["investigators"] == [
        f"Select a valid choice. {vera.pk} is not one of the available choices."
    ]
    assert not CloningIncident.objects.exists()
    added = client(ivan).post("/admin/registry/cloningincident/add/", fields)
    assert added.status_code == 302
    incident = CloningIncident.objects.get()
    assert list(incident.investigators.all()) == [ivan]
    assert incident.created_by == ivan
    assert incident.atlas_techniques == ["AML.T0024.002"]
