"""Registry records for the report tests, made through the ledgered services.

A small synthetic vote file (five models, 600 votes, seeded) keeps the real fragility
engine fast; the incident has evidence with uploaded files so the report's manifest has
hashes to check.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import User
from django.utils import timezone

from registry.analyses import analysis_request, analysis_run
from registry.models import (
    BenchmarkClaim,
    CloningIncident,
    Evidence,
    FragilityAnalysis,
    VoteDataset,
)
from registry.services import (
    UploadedEvidenceFile,
    evidence_submit,
    incident_create,
)
from reports.models import Report
from reports.services import ReportSubject, report_request, report_run
from tests.datasets import read_dataset
from tests.factories import BenchmarkClaimFactory, BenchmarkFactory, ModelReleaseFactory

READ_OPTIONS = {
    "format": "csv",
    "columns": "model_a=left,model_b=right,winner=winner",
    "winner_values": "model_a=left,model_b=right,tie=tie",
}
# Bradley-Terry strengths: Aurora narrowly leads Borealis, so the claim is fragile.
STRENGTHS = {"Aurora": 1.0, "Borealis": 0.93, "Cirrus": 0.4, "Drizzle": 0.0, "Ember": -0.5}
FAST = {"bootstrap_rounds": 0, "top_k": [1, 2], "budget": 0.05}


def similarity_evidence_fields(**overrides: Any) -> dict[str, Any]:
    """A typed output-similarity evidence item, as an investigator submits it."""
    return {
        "kind": "output_similarity",
        "method_name": "Refusal-phrase overlap",
        "method_version": "0.3",
        "access_mode": Evidence.AccessMode.BLACK_BOX_API,
        "n": 2000,
        "statistic_name": "overlap",
        "statistic_value": 0.41,
        "ci_low": 0.39,
        "ci_high": 0.44,
        "p_value": 0.0002,
        "alpha": 0.01,
        "decision": Evidence.Decision.SUPPORTS,
        "details": {
            "similarity": 0.41,
            "baseline_mean": 0.12,
            "baseline_sd": 0.04,
            "p_value": 0.0002,
            "adjusted_p_value": 0.0004,
            "prompts": 2000,
        },
        **overrides,
    }


def days_ago(days: int) -> dt.date:
    return timezone.now().date() - dt.timedelta(days=days)


def digest_period() -> tuple[dt.date, dt.date]:
    """The last 30 days up to today, taken when called.

    Call it after making the records a digest should list: a period fixed at import time
    goes stale when the suite runs across midnight, and incidents are dated by when they
    were recorded.
    """
    return days_ago(30), days_ago(0)


def vote_csv(n_votes: int = 600, seed: int = 7) -> bytes:
    """Pairwise votes drawn from the Bradley-Terry model with ``STRENGTHS``."""
    rng = random.Random(seed)
    names = list(STRENGTHS)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["left", "right", "winner"])
    for _ in range(n_votes):
        a, b = rng.sample(names, 2)
        if rng.random() < 0.1:
            writer.writerow([a, b, "tie"])
            continue
        p_left = 1 / (1 + pow(2.718281828, STRENGTHS[b] - STRENGTHS[a]))
        writer.writerow([a, b, "left" if rng.random() < p_left else "right"])
    return out.getvalue().encode()


def make_dataset(actor: User) -> VoteDataset:
    benchmark = BenchmarkFactory(name="Weather Arena", slug="weather-arena")
    return read_dataset(
        actor,
        vote_csv(),
        fields={
            "benchmark": benchmark,
            "name": "Weather Arena snapshot",
            "source_url": "https://example.org/weather-arena.csv",
            "attribution": "Synthetic votes for tests, CC0.",
        },
        read_options=READ_OPTIONS,
        filename="weather-arena.csv",
    )


def make_claim(actor: User, dataset: VoteDataset) -> BenchmarkClaim:
    release = ModelReleaseFactory(name="Aurora", version="", release_date=days_ago(3))
    return BenchmarkClaimFactory(
        release=release,
        benchmark=dataset.benchmark,
        dataset=dataset,
        kind="rank",
        claimed_rank=1,
        statement="Aurora is the best model on the Weather Arena.",
        claim_date=days_ago(5),
    )


def run_analysis(actor: User, claim: BenchmarkClaim, capture: object) -> FragilityAnalysis:
    """A real analysis of the claim, run here (its queued task is not sent)."""
    assert claim.dataset is not None
    with capture(execute=False):  # type: ignore[operator]
        analysis = analysis_request(
            actor=actor, dataset=claim.dataset, claim=claim, parameters=FAST
        )
    analysis_run(analysis_id=analysis.pk)
    analysis.refresh_from_db()
    assert analysis.status == FragilityAnalysis.Status.DONE, analysis.error
    return analysis


@dataclass(frozen=True)
class IncidentRecords:
    incident: CloningIncident
    evidence: Evidence
    file_bytes: dict[str, bytes]


def make_incident(
    investigator: User, *, embargoed: bool = False, title: str = ""
) -> IncidentRecords:
    original = ModelReleaseFactory(name="Borealis", version="2")
    incident = incident_create(
        actor=investigator,
        fields={
            "title": title or "Suspected distillation of Borealis",
            "suspect_name": "Replica 7B",
            "original_release": original,
            "reporting_organization": original.organization,
            "summary": "Replica 7B repeats Borealis's rare phrasings.",
            "embargoed": embargoed,
            "atlas_techniques": ["AML.T0024.002"],
        },
    )
    files = {
        "outputs.jsonl": b'{"prompt": 1, "output": "as a large language model"}\n',
        "probes.csv": b"probe,hit\n1,1\n2,0\n",
    }
    evidence = evidence_submit(
        actor=investigator,
        incident=incident,
        fields=similarity_evidence_fields(),
        files=[
            UploadedEvidenceFile(
                content=io.BytesIO(data), filename=name, media_type="text/plain", restricted=False
            )
            for name, data in files.items()
        ],
    )
    return IncidentRecords(incident=incident, evidence=evidence, file_bytes=files)


def incident_report(investigator: User, capture: Any, *, build: bool = True) -> Report:
    """A report on a new incident, requested through the service with its task not sent
    (``capture`` is pytest-django's ``django_capture_on_commit_callbacks``), then built
    here unless ``build`` is false."""
    incident = make_incident(investigator).incident
    with capture(execute=False):
        report = report_request(
            actor=investigator, kind=Report.Kind.INCIDENT, subject=ReportSubject(incident=incident)
        )
    if build:
        report_run(report_id=report.pk)
        report.refresh_from_db()
    return report
