"""Demo data from the real LLMFAO crowd votes (CC BY 4.0, see data/llmfao/README.md).

Loading is idempotent: every record is looked up by its natural key first, so
running the demo twice creates no duplicates (and no duplicate ledger entries).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils.text import slugify

from registry import services
from registry.analyses import analysis_request
from registry.models import (
    Benchmark,
    BenchmarkClaim,
    ModelRelease,
    Organization,
    VoteDataset,
)

LLMFAO_DIR = Path(settings.BASE_DIR) / "data" / "llmfao"
LLMFAO_ATTRIBUTION = (
    "LLMFAO crowd comparisons by Dmitry Ustalov (github.com/dustalov/llmfao); prompts and "
    "model outputs from llmonitor.com's Crowdsourced LLM Benchmark. Licensed CC BY 4.0."
)
LLMFAO_READ_OPTIONS = {
    "format": "csv",
    "columns": "model_a=left,model_b=right,winner=winner",
    "winner_values": "model_a=left,model_b=right,tie=tie",
}
DEMO_USERNAME = "demo"
# Printed by `make run`; the demo database is for local development only.
DEMO_PASSWORD = "demo-registry-2026"


def demo_admin() -> AbstractBaseUser:
    users = get_user_model()
    user = users.objects.filter(username=DEMO_USERNAME).first()
    if user is None:
        user = users.objects.create_superuser(
            username=DEMO_USERNAME, email="demo@example.org", password=DEMO_PASSWORD
        )
    return user


def _organization(actor: AbstractBaseUser, name: str, **fields: Any) -> Organization:
    slug = slugify(name)[:100] or "org"
    existing = Organization.objects.filter(slug=slug).first()
    if existing:
        return existing
    return services.organization_create(actor=actor, fields={"name": name, "slug": slug, **fields})


def _release(actor: AbstractBaseUser, org: Organization, row: dict[str, Any]) -> ModelRelease:
    existing = ModelRelease.objects.filter(organization=org, name=row["name"], version="").first()
    if existing:
        return existing
    return services.release_create(
        actor=actor,
        fields={
            "organization": org,
            "name": row["name"],
            "version": "",
            "access": ModelRelease.Access.API,
            "licence": "",
            "modality": ModelRelease.Modality.TEXT,
        },
    )


def _benchmark(actor: AbstractBaseUser) -> Benchmark:
    existing = Benchmark.objects.filter(slug="llmfao").first()
    if existing:
        return existing
    operator = _organization(actor, "LLMFAO", kind=Organization.Kind.EVALUATOR)
    return services.benchmark_create(
        actor=actor,
        fields={
            "name": "LLMFAO",
            "slug": "llmfao",
            "kind": Benchmark.Kind.PAIRWISE,
            "operator": operator,
            "url": "https://github.com/dustalov/llmfao",
            "methodology": (
                "Crowd workers compared the answers of two LLMs to the same prompt and chose "
                "the better one or a tie (13 prompts, 59 models, 124 workers)."
            ),
        },
    )


def _dataset(actor: AbstractBaseUser, benchmark: Benchmark) -> VoteDataset:
    path = LLMFAO_DIR / "crowd-comparisons.csv"
    with path.open("rb") as handle:
        result = services.dataset_ingest(
            actor=actor,
            content=handle,
            fields={
                "benchmark": benchmark,
                "name": "LLMFAO crowd comparisons (2023)",
                "snapshot_date": dt.date(2023, 9, 27),
                "source_url": "https://github.com/dustalov/llmfao",
                "attribution": LLMFAO_ATTRIBUTION,
            },
            read_options=LLMFAO_READ_OPTIONS,
            filename=path.name,
        )
    return result.dataset


def _claims(
    actor: AbstractBaseUser,
    benchmark: Benchmark,
    dataset: VoteDataset,
    releases: dict[str, ModelRelease],
) -> None:
    # Field values of several model types, as claim_create takes them.
    specs: list[dict[str, Any]] = [
        {
            "release": releases["GPT 4"],
            "kind": BenchmarkClaim.Kind.RANK,
            "claimed_rank": 1,
            "statement": "GPT 4 is the best model on the LLMFAO crowd leaderboard.",
        },
        {
            "release": releases["Platypus-2 Instruct (70B)"],
            "kind": BenchmarkClaim.Kind.RANK,
            "claimed_rank": 3,
            "statement": "Platypus-2 Instruct (70B) is a top-3 model on LLMFAO.",
        },
        {
            "release": releases["Claude v1"],
            "kind": BenchmarkClaim.Kind.BEATS,
            "compared_release": releases["Claude Instant v1"],
            "statement": "Claude v1 is preferred over Claude Instant v1 by LLMFAO's crowd.",
        },
    ]
    for spec in specs:
        if BenchmarkClaim.objects.filter(statement=spec["statement"]).exists():
            continue
        services.claim_create(
            actor=actor,
            fields={
                **spec,
                "claimant": spec["release"].organization,
                "benchmark": benchmark,
                "dataset": dataset,
                "claim_date": dt.date(2023, 10, 1),
                "source_url": "https://github.com/dustalov/llmfao",
            },
        )


def load_demo() -> AbstractBaseUser:
    """Load (or top up) the demo records; returns the demo admin user.

    Three transactions, because the vote file is written to storage between them
    (``registry.blobs``); every step finds what an earlier run made, so a run cut
    short is completed by the next one.
    """
    with transaction.atomic():
        actor = demo_admin()
        releases: dict[str, ModelRelease] = {}
        for line in (LLMFAO_DIR / "models.jsonl").read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            org = _organization(actor, row["org"], kind=Organization.Kind.DEVELOPER)
            releases[row["name"]] = _release(actor, org, row)
        benchmark = _benchmark(actor)
    dataset = _dataset(actor, benchmark)
    with transaction.atomic():
        _claims(actor, benchmark, dataset, releases)
    return actor


def queue_demo_analyses(actor: AbstractBaseUser) -> int:
    """Queue an analysis for the demo dataset and each of its claims that has none."""
    queued = 0
    dataset = VoteDataset.objects.filter(benchmark__slug="llmfao").first()
    if dataset is None:
        return 0
    if not dataset.analyses.filter(claim=None).exists():
        analysis_request(actor=actor, dataset=dataset)
        queued += 1
    for claim in dataset.claims.filter(analyses=None):
        analysis_request(actor=actor, claim=claim)
        queued += 1
    return queued
