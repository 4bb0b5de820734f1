"""List endpoints run a fixed number of queries however many rows they return
(no N+1), and pages are limit/offset with a ceiling of 500 rows."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext

from registry import models
from registry.services import organization_create
from tests.factories import (
    BenchmarkClaimFactory,
    BenchmarkFactory,
    CloningIncidentFactory,
    EvidenceFactory,
    ModelArtifactFactory,
    ModelReleaseFactory,
    OrganizationFactory,
    StoredFileFactory,
    UserFactory,
    VoteDatasetFactory,
)
from tests.registry.api_records import API, client_for

pytestmark = [
    pytest.mark.django_db,
]

Seeder = Callable[[int, User], None]


def seed_organizations(n: int, ivan: User) -> None:
    OrganizationFactory.create_batch(n)


def seed_releases(n: int, ivan: User) -> None:
    # Each row carries every relation the serializer renders: artifacts and lineage.
    for _ in range(n):
        release = ModelReleaseFactory()
        ModelArtifactFactory.create_batch(2, release=release)
        base = ModelReleaseFactory(organization=release.organization)
        models.ModelLineage.objects.create(release=release, base=base, relation="fine_tuned_from")


def seed_artifacts(n: int, ivan: User) -> None:
    ModelArtifactFactory.create_batch(n)


def seed_benchmarks(n: int, ivan: User) -> None:
    BenchmarkFactory.create_batch(n, operator=OrganizationFactory())


def seed_datasets(n: int, ivan: User) -> None:
    VoteDatasetFactory.create_batch(n, uploaded_by=ivan)


def seed_claims(n: int, ivan: User) -> None:
    for _ in range(n):
        dataset = VoteDatasetFactory()
        release = ModelReleaseFactory()
        BenchmarkClaimFactory(
            release=release,
            benchmark=dataset.benchmark,
            dataset=dataset,
            kind="beats",
            compared_release=ModelReleaseFactory(),
        )


def seed_incidents(n: int, ivan: User) -> None:
    for _ in range(n):
        CloningIncidentFactory(
            suspect_release=ModelReleaseFactory(), investigators=[ivan], created_by=ivan
        )


def seed_evidence(n: int, ivan: User) -> None:
    incident = CloningIncidentFactory(investigators=[ivan])
    for _ in range(n):
        evidence = EvidenceFactory(incident=incident, submitted_by=ivan)
        models.EvidenceFile.objects.create(
            evidence=evidence, file=StoredFileFactory(), original_filename="log.jsonl"
        )


def seed_ledger(n: int, ivan: User) -> None:
    start = models.LedgerEntry.objects.count()
    analyst = UserFactory(username=f"analyst-{start}", is_superuser=True)
    for i in range(start, start + n):
        organization_create(actor=analyst, fields={"name": f"L{i}", "slug": f"l-{i}"})


def seed_analyses(n: int, ivan: User) -> None:
    for _ in range(n):
        dataset = VoteDatasetFactory()
        models.FragilityAnalysis.objects.create(
            dataset=dataset,
            claim=BenchmarkClaimFactory(benchmark=dataset.benchmark, dataset=dataset),
            input_sha256=dataset.file.sha256,
            requested_by=ivan,
        )


SEEDERS: dict[str, Seeder] = {
    "organizations": seed_organizations,
    "releases": seed_releases,
    "artifacts": seed_artifacts,
    "benchmarks": seed_benchmarks,
    "datasets": seed_datasets,
    "claims": seed_claims,
    "incidents": seed_incidents,
    "evidence": seed_evidence,
    "ledger": seed_ledger,
    "analyses": seed_analyses,
}


def measure(prefix: str, user: User | None) -> tuple[int, int]:
    """(queries run, rows returned) for one list page, as a fresh request would see it."""
    if user is not None:
        # A fresh instance: role names are cached on the user object per request.
        user = User.objects.get(pk=user.pk)
    client = client_for(user)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(f"{API}/{prefix}/", {"limit": 500})
    assert response.status_code == 200
    return len(queries), len(response.json()["results"])


@pytest.mark.parametrize("viewer", ["anonymous", "ivan"])
@pytest.mark.parametrize("prefix", sorted(SEEDERS))
def test_list_query_count_does_not_grow_with_the_page(ivan: User, prefix: str, viewer: str) -> None:
    user = None if viewer == "anonymous" else ivan
    seed = SEEDERS[prefix]
    seed(2, ivan)
    queries_for_two, rows = measure(prefix, user)
    assert rows >= 2
    seed(18, ivan)
    queries_for_twenty, more_rows = measure(prefix, user)
    assert more_rows >= rows + 18
    assert queries_for_twenty == queries_for_two


def test_page_size_is_at_most_500_rows(vera: User) -> None:
    models.Organization.objects.bulk_create(
        models.Organization(name=f"Org {i:03}", slug=f"org-{i:03}") for i in range(501)
    )
    client = client_for(vera)
    # Beyond the largest page is refused by name, not quietly cut to it.
    too_large = client.get(f"{API}/organizations/", {"limit": 1000})
    assert too_large.status_code == 400
    assert "limit" in too_large.json()
    largest = client.get(f"{API}/organizations/", {"limit": 500}).json()
    default = client.get(f"{API}/organizations/").json()
    last = client.get(f"{API}/organizations/", {"limit": 500, "offset": 500}).json()
    assert (largest["count"], len(largest["results"])) == (501, 500)
    assert len(default["results"]) == 50
    assert [row["name"] for row in last["results"]] == ["Org 500"]
    assert last["next"] is None
