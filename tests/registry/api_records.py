"""Records and request bodies shared by the API tests.

A *record set* is one public row of every kind the API serves, built with the
factories (so without ledger entries of its own), plus one ledger entry written
through a service so the ledger endpoints have something to show.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db.models import Model
from rest_framework.test import APIClient

from registry import models
from registry.ledger import ledger_head
from registry.services import organization_create
from tests.factories import (
    BenchmarkClaimFactory,
    BenchmarkFactory,
    CloningIncidentFactory,
    EvidenceFactory,
    ModelArtifactFactory,
    ModelReleaseFactory,
    VoteDatasetFactory,
    digest,
)

API = "/api/v1"

# A vote file in the default layout: two votes among three models, one of them a tie.
SMALL_VOTE_CSV = b"model_a,model_b,winner\nalpha,beta,model_a\nbeta,gamma,tie\n"


@dataclass(frozen=True)
class Records:
    organization: models.Organization
    release: models.ModelRelease
    base_release: models.ModelRelease
    artifact: models.ModelArtifact
    benchmark: models.Benchmark
    dataset: models.VoteDataset
    claim: models.BenchmarkClaim
    incident: models.CloningIncident
    evidence: models.Evidence
    ledger_entry: models.LedgerEntry
    analysis: models.FragilityAnalysis

    def detail_key(self, prefix: str) -> object:
        """The URL key of this set's record behind ``/api/v1/<prefix>/<key>/``."""
        if prefix == "ledger":
            return self.ledger_entry.seq
        return {
            "organizations": self.organization,
            "releases": self.release,
            "artifacts": self.artifact,
            "benchmarks": self.benchmark,
            "datasets": self.dataset,
            "claims": self.claim,
            "incidents": self.incident,
            "evidence": self.evidence,
            "analyses": self.analysis,
        }[prefix].pk


def make_records(*, investigator: User, analyst: User) -> Records:
    """One public record of each kind; the incident is assigned to ``investigator``."""
    release = ModelReleaseFactory()
    base_release = ModelReleaseFactory(organization=release.organization)
    benchmark = BenchmarkFactory()
    dataset = VoteDatasetFactory(benchmark=benchmark)
    incident = CloningIncidentFactory(original_release=release, investigators=[investigator])
    organization_create(
        actor=analyst,
        fields={"name": "Ledgered Organisation", "slug": "ledgered-organisation"},
    )
    head = ledger_head()
    assert head is not None
    return Records(
        organization=release.organization,
        release=release,
        base_release=base_release,
        artifact=ModelArtifactFactory(release=release),
        benchmark=benchmark,
        dataset=dataset,
        claim=BenchmarkClaimFactory(release=release, benchmark=benchmark, dataset=dataset),
        incident=incident,
        evidence=EvidenceFactory(incident=incident),
        ledger_entry=head,
        analysis=models.FragilityAnalysis.objects.create(
            dataset=dataset, input_sha256=dataset.file.sha256
        ),
    )


def organization_body(records: Records) -> dict[str, Any]:
    return {"name": "Mistral AI", "slug": "mistral-ai", "kind": "developer", "country": "FR"}


def release_body(records: Records) -> dict[str, Any]:
    return {
        "organization": records.organization.pk,
        "name": "Large",
        "version": "2",
        "access": "open_weights",
        "lineage": [{"base": records.base_release.pk, "relation": "fine_tuned_from"}],
    }


def artifact_body(records: Records) -> dict[str, Any]:
    return {
        "release": records.release.pk,
        "kind": "tokenizer",
        "uri": "https://example.org/tokenizer.json",
        "sha256": digest("tokenizer"),
    }


def benchmark_body(records: Records) -> dict[str, Any]:
    return {"name": "Chatbot Arena", "slug": "chatbot-arena", "kind": "pairwise"}


def dataset_body(records: Records) -> dict[str, Any]:
    return {
        "benchmark": records.benchmark.pk,
        "name": "Arena votes",
        "file": SimpleUploadedFile("votes.csv", SMALL_VOTE_CSV, content_type="text/csv"),
    }


def claim_body(records: Records) -> dict[str, Any]:
    return {
        "claimant": records.organization.pk,
        "release": records.release.pk,
        "benchmark": records.benchmark.pk,
        "kind": "beats",
        "compared_release": records.base_release.pk,
        "statement": "Large beats its base model.",
        "claim_date": dt.date(2026, 4, 1).isoformat(),
    }


def incident_body(records: Records) -> dict[str, Any]:
    return {
        "title": "Suspected distillation of Large",
        "suspect_name": "Replica 13B",
        "original_release": records.release.pk,
        "reporting_organization": records.organization.pk,
        "summary": "Twenty thousand accounts sent near-identical prompts.",
        "atlas_techniques": ["AML.T0024.002"],
    }


def evidence_multipart_body(records: Records, **files: Any) -> dict[str, Any]:
    """The evidence body as a form: nested JSON travels as a JSON string."""
    body = evidence_body(records)
    return {**body, "details": json.dumps(body["details"]), **files}


def evidence_body(records: Records) -> dict[str, Any]:
    return {
        "incident": records.incident.pk,
        "kind": "extraction_detector",
        "method_name": "Extraction-pattern detector",
        "access_mode": "black_box_api",
        "n": 500,
        "statistic_name": "agreement",
        "statistic_value": 0.8,
        "ci_low": 0.7,
        "ci_high": 0.9,
        "p_value": 0.001,
        "alpha": 0.05,
        "decision": "supports",
        "details": {"detector": "prompt-diversity", "statistic": 4.2, "threshold": 3.0},
    }


# Valid create bodies; PUT sends the same body (a full replacement).
CREATE_BODIES: dict[str, Callable[[Records], dict[str, Any]]] = {
    "organizations": organization_body,
    "releases": release_body,
    "artifacts": artifact_body,
    "benchmarks": benchmark_body,
    "datasets": dataset_body,
    "claims": claim_body,
    "incidents": incident_body,
    "evidence": evidence_body,
}

PATCH_BODIES: dict[str, dict[str, Any]] = {
    "organizations": {"country": "DE"},
    "releases": {"licence": "Apache-2.0"},
    "benchmarks": {"methodology": "Crowd-sourced pairwise votes."},
    "claims": {"source_url": "https://example.org/press-release"},
    "incidents": {"summary": "Revised after triage."},
}

MULTIPART_PREFIXES = {"datasets"}


def client_for(user: User | None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def row_counts() -> dict[str, int]:
    """Rows per registry model, to show a refused write stored nothing."""
    registry_models: list[type[Model]] = [
        models.Organization,
        models.ModelRelease,
        models.ModelLineage,
        models.ModelArtifact,
        models.Benchmark,
        models.StoredFile,
        models.VoteDataset,
        models.BenchmarkClaim,
        models.CloningIncident,
        models.Evidence,
        models.EvidenceFile,
        models.FragilityAnalysis,
        models.LedgerEntry,
    ]
    return {model.__name__: model._default_manager.count() for model in registry_models}
