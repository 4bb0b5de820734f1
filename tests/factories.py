"""factory_boy factories. Records made here bypass the services (and so the ledger)
unless a test calls a service itself; they are scaffolding, not the thing tested."""

from __future__ import annotations

import datetime as dt
import hashlib

import factory
from django.contrib.auth.models import User

from registry import models


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ["username"]

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.org")
    password = factory.django.Password("correct horse battery staple")


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Organization

    name = factory.Sequence(lambda n: f"Organisation {n}")
    slug = factory.Sequence(lambda n: f"org-{n}")
    kind = models.Organization.Kind.DEVELOPER
    country = "GB"


class ModelReleaseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.ModelRelease

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Model {n}")
    version = "1.0"
    release_date = dt.date(2026, 1, 15)


class ModelArtifactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.ModelArtifact

    release = factory.SubFactory(ModelReleaseFactory)
    kind = models.ModelArtifact.Kind.WEIGHTS
    uri = factory.Sequence(lambda n: f"https://example.org/weights-{n}.safetensors")
    sha256 = factory.Sequence(lambda n: digest(f"weights {n}"))


class BenchmarkFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Benchmark

    name = factory.Sequence(lambda n: f"Arena {n}")
    slug = factory.Sequence(lambda n: f"arena-{n}")
    kind = models.Benchmark.Kind.PAIRWISE


class StoredFileFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.StoredFile

    sha256 = factory.Sequence(lambda n: digest(f"file {n}"))
    size_bytes = 10
    content = factory.django.FileField(data=b"0123456789")


class VoteDatasetFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.VoteDataset

    benchmark = factory.SubFactory(BenchmarkFactory)
    name = factory.Sequence(lambda n: f"Snapshot {n}")
    file = factory.SubFactory(StoredFileFactory)
    # Read already, as most tests need it; a test of reading starts from an upload.
    status = models.VoteDataset.Status.READY
    progress = 100
    detected_format = "csv"
    n_votes = 10
    n_models = 3
    n_ties = 1


class BenchmarkClaimFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.BenchmarkClaim

    claimant = factory.SelfAttribute("release.organization")
    release = factory.SubFactory(ModelReleaseFactory)
    benchmark = factory.SubFactory(BenchmarkFactory)
    kind = models.BenchmarkClaim.Kind.RANK
    claimed_rank = 1
    statement = "Our model ranks #1."
    claim_date = dt.date(2026, 3, 1)


class CloningIncidentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.CloningIncident
        # The investigators hook only sets a many-to-many; no second save needed.
        skip_postgeneration_save = True

    title = factory.Sequence(lambda n: f"Suspected distillation {n}")
    suspect_name = "Cheap Replica 7B"
    original_release = factory.SubFactory(ModelReleaseFactory)
    reporting_organization = factory.SelfAttribute("original_release.organization")
    summary = "Coordinated accounts sent 120,000 prompts."
    atlas_techniques = ["AML.T0024.002"]

    @factory.post_generation
    def investigators(self, create: bool, extracted: list[User] | None, **kwargs: object) -> None:
        if create and extracted:
            self.investigators.set(extracted)


class EvidenceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Evidence

    incident = factory.SubFactory(CloningIncidentFactory)
    kind = "query_volume"
    method_name = "Query-log analysis"
    access_mode = models.Evidence.AccessMode.PROVIDER_TELEMETRY
    n = 1000
    statistic_name = "share of traffic"
    statistic_value = 0.4
    p_value = 0.001
    alpha = 0.05
