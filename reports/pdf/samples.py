"""Realistic sample report documents for tests, the benchmark and layout review.

The claim sample is sized like the demo's synthetic arena (``registry.demo_data``: 40
fictional models, 200,000 votes, 30% ties, a close race at the top) and runs to 22 pages;
its scores and dropped vote ids are drawn from a seeded generator, so they look like a real
analysis but are not one. Every
organisation and model named here is fictional. Every sample is a pure function of its
arguments: the same call always returns an equal dict.
"""

from __future__ import annotations

import hashlib
import math
import random

from reports.pdf.document import (
    ClaimSection,
    DigestSection,
    FragilityRow,
    IncidentSection,
    LedgerHead,
    Manifest,
    ReportDocument,
    ScoreRow,
    SignerCertificate,
)

# Fictional model families and generations; names are "<family> <generation>".
FAMILIES = ("Atlas", "Aria", "Heron", "Orrery", "Tide", "Quill", "Ember", "Corvid")
GENERATIONS = ("4", "3 Pro", "3.5", "3", "2.5", "2", "1.5", "1")
ARENA_ATTRIBUTION = (
    "Synthetic votes generated in-process by the Evidence Registry demo (seed 2026); the "
    "organisations, models and votes are fictional."
)

ENGINE_VERSION = "fragility-engine 1.4.2 (amip+refit)"
ELO_PER_NAT = 400 / math.log(10)
N_VOTES = 200_000
# The search budget of an analysis (1% of the votes): larger drop sets are not searched.
BUDGET_VOTES = N_VOTES // 100


def sample_model_names(n_models: int) -> list[str]:
    """``n_models`` distinct fictional model names, strongest generation first."""
    names = [f"{family} {generation}" for generation in GENERATIONS for family in FAMILIES]
    if n_models > len(names):
        raise ValueError(f"at most {len(names)} sample models, not {n_models}")
    return names[:n_models]


def _digest(label: str) -> str:
    """A stable, realistic-looking SHA-256 for a named sample file."""
    return hashlib.sha256(label.encode()).hexdigest()


VERIFICATION_URL = "https://registry.example/reports/verify/"
SAMPLE_SIGNER: SignerCertificate = {
    "subject": "CN=Evidence Registry report signing (sample),O=Evidence Registry,C=NL",
    "issuer": "CN=Evidence Registry sample CA,O=Evidence Registry,C=NL",
    "serial": "4f2a9c1d",
    "sha256_fingerprint": hashlib.sha256(b"sample signing certificate").hexdigest(),
    "valid_from": "2026-01-01T00:00:00+00:00",
    "valid_until": "2028-01-01T00:00:00+00:00",
}


def _ledger_head(seq: int) -> LedgerHead:
    return {"seq": seq, "hash": _digest(f"ledger-entry-{seq}")}


def _sample_scores(rng: random.Random, n_models: int) -> list[ScoreRow]:
    """Descending Bradley-Terry scores with intervals that widen toward the tail."""
    strengths = sorted(
        (3.2 * (1 - i / (n_models - 1)) ** 1.25 + rng.gauss(0.0, 0.05) for i in range(n_models)),
        reverse=True,
    )
    # Pin the top two close together, as in the demo arena where the lead is fragile.
    strengths[1] = strengths[0] - 0.04
    reference = strengths[-1]
    names = sample_model_names(n_models)
    rows: list[ScoreRow] = []
    for index, strength in enumerate(strengths):
        score = strength - reference
        half_width = 22 + 12 * rng.random() + index * 0.4
        elo = 1000 + ELO_PER_NAT * score
        boot_half = half_width * rng.uniform(0.9, 1.15)
        rows.append(
            {
                "model": names[index],
                "score": round(score, 4),
                "elo": round(elo, 1),
                "ci_low": round(elo - half_width, 1),
                "ci_high": round(elo + half_width, 1),
                "rank": index + 1,
                "rank_ub": min(n_models, index + 1 + int(half_width // 18)),
                "bootstrap_ci_low": round(elo - boot_half, 1),
                "bootstrap_ci_high": round(elo + boot_half, 1),
                "rank_low": max(1, index + 1 - int(boot_half // 20)),
                "rank_high": min(n_models, index + 1 + int(boot_half // 20)),
            }
        )
    return rows


def _fragility_row(
    rng: random.Random, scores: list[ScoreRow], rank: int, kind: str
) -> FragilityRow:
    incumbent, challenger = scores[rank - 1], scores[rank]
    gap = incumbent["score"] - challenger["score"]
    # Votes to flip grow with the score gap; the log-normal factor mimics AMIP's spread.
    # Beyond the budget the search finds nothing.
    votes = 73 if kind == "top1" else max(1, int(gap * 5000 * rng.lognormvariate(0.0, 0.6)))
    found = votes <= BUDGET_VOTES
    dropped = sorted(rng.sample(range(1, N_VOTES + 1), votes)) if found else []
    return {
        "kind": kind,
        "k": rank,
        "pair": [incumbent["model"], challenger["model"]],
        "challenger": challenger["model"],
        "votes_to_flip": votes if found else None,
        "fraction": votes / N_VOTES if found else None,
        "dropped_votes": dropped,
        "gap_before": round(gap, 4),
        "gap_after": round(-rng.uniform(0.001, 0.02), 4) if found else None,
        "verified": found,
    }


def _manifest(report_id: str, kind: str, subject_ids: list[str], seq: int) -> Manifest:
    return {
        "report_id": report_id,
        "kind": kind,  # type: ignore[typeddict-item]  # callers pass a valid kind
        "subject_ids": subject_ids,
        "files": [],
        "analysis_ids": [],
        "engine_version": ENGINE_VERSION,
        "ledger_head": _ledger_head(seq),
    }


def sample_claim_document(n_models: int = 40, seed: int = 20260908) -> ReportDocument:
    """A claim report document over a demo-sized synthetic arena (22 pages)."""
    rng = random.Random(seed)
    scores = _sample_scores(rng, n_models)
    # Rank 1 against rank 2 is the headline "top1" test; the rest are adjacent-rank swaps.
    fragility = [_fragility_row(rng, scores, 1, "top1")]
    fragility += [_fragility_row(rng, scores, rank, "rank") for rank in range(2, n_models)]
    dataset_sha = _digest("open-preference-arena-2026-09.csv")
    leader, runner_up = scores[0]["model"], scores[1]["model"]
    claim: ClaimSection = {
        "claim_id": "C-2026-0117",
        "statement": f"{leader} is the number one model on the Open Preference Arena, ahead "
        f"of {runner_up} and every open-weight model.",
        "claimant": "Northwind AI (fictional)",
        "model": leader,
        "benchmark": "Open Preference Arena (synthetic)",
        "source_url": "https://northwind-ai.example/news/2026-09-08-arena",
        "claim_date": "2026-09-08",
        "dataset": {
            "source_url": "https://lumen-eval.example/arena/2026-09",
            "sha256": dataset_sha,
            "n_votes": N_VOTES,
            "n_models": n_models,
            "n_ties": 59_646,
            "attribution": ARENA_ATTRIBUTION,
        },
        "fit": {
            "tie_handling": "a tie counts as half a win for each side (Chatbot Arena convention)",
            "reference_model": scores[-1]["model"],
            "mle_exists": True,
            "ridge": 0.0,
        },
        "scores": scores,
        "fragility": fragility,
        "engine_version": ENGINE_VERSION,
        "bootstrap_rounds": 1000,
        "random_drop_baseline": [
            {
                "fraction": fraction,
                "votes_dropped": int(N_VOTES * fraction),
                "trials": 200,
                "top1_changed": changed,
                "rate": changed / 200,
            }
            for fraction, changed in ((0.0005, 3), (0.001, 9), (0.005, 41), (0.01, 77))
        ],
    }
    manifest = _manifest("R-2026-000311", "claim", ["claim:C-2026-0117"], 4812)
    manifest["files"] = [
        {"role": "dataset", "name": "open-preference-arena-2026-09.csv", "sha256": dataset_sha}
    ]
    manifest["analysis_ids"] = ["fit:F-0192", "fragility:A-0733", "fragility:A-0734"]
    return {
        "report_id": "R-2026-000311",
        "kind": "claim",
        "title": "Benchmark claim assessment",
        "subject": f"Claim C-2026-0117: {leader} leads the Open Preference Arena",
        "generated_at": "2026-09-18T09:30:00+00:00",
        "ledger_head": _ledger_head(4812),
        "manifest": manifest,
        "issuer": "Evidence Registry (sample data)",
        "verification_url": VERIFICATION_URL,
        "signer": SAMPLE_SIGNER,
        "claim": claim,
    }


def _sample_incident() -> IncidentSection:
    weights = _digest("weights/heron-9b.safetensors")
    outputs = _digest("probes/heron-9b-vs-atlas-4-outputs.jsonl")
    return {
        "incident_id": "I-2026-0007",
        "title": "Suspected distillation of Atlas 4 into Heron 9B",
        "summary": "Heron 9B reproduces Atlas 4's rare refusal phrasings and its "
        "watermark-bearing token choices far more often than comparable 9B models.",
        "status": "under review",
        "evidentiary_level": "substantial (two independent tests reject H0 at 0.01)",
        "parties": [
            {
                "role": "original developer",
                "organisation": "Northwind AI (fictional)",
                "release": {
                    "model": "Atlas 4",
                    "version": "2026-06",
                    "released_on": "2026-06-02",
                },
            },
            {
                "role": "suspected distiller",
                "organisation": "Saltmarsh Intelligence (fictional)",
                "release": {
                    "model": "Heron 9B",
                    "version": "1.0",
                    "released_on": "2026-07-08",
                    "sha256": weights,
                },
            },
        ],
        "timeline": [
            {
                "seq": 4700 + step,
                "at": f"2026-08-{10 + step:02d}T1{step}:05:00+00:00",
                "actor": actor,
                "action": action,
                "summary": summary,
                "hash": _digest(f"ledger-entry-{4700 + step}"),
            }
            for step, (actor, action, summary) in enumerate(
                [
                    ("alice@registry", "incident.opened", "Report received from a researcher."),
                    ("alice@registry", "evidence.added", "Refusal-phrase overlap test, n=2000."),
                    ("bob@registry", "evidence.added", "Token-choice watermark test, n=5000."),
                    ("bob@registry", "status.changed", "triage -> under review"),
                    ("carol@registry", "approval.recorded", "Evidence level: substantial."),
                ]
            )
        ],
        "evidence": [
            {
                "evidence_id": "E-0031",
                "method": "Refusal-phrase overlap, permutation test",
                "n": 2000,
                "statistic": 0.412,
                "statistic_name": "overlap",
                "ci_low": 0.389,
                "ci_high": 0.436,
                "p_value": 0.0002,
                "decision": "reject H0 at 0.01",
                "files": [{"name": "heron-9b-vs-atlas-4-outputs.jsonl", "sha256": outputs}],
            },
            {
                "evidence_id": "E-0032",
                "method": "Green-list watermark z-test (Kirchenbauer et al. 2023)",
                "n": 5000,
                "statistic": 6.81,
                "statistic_name": "z",
                "ci_low": None,
                "ci_high": None,
                "p_value": 4.9e-12,
                "decision": "reject H0 at 0.01",
                "files": [
                    {"name": "watermark-probe-tokens.parquet", "sha256": _digest("wm-tokens")},
                    {"name": "heron-9b.safetensors", "sha256": weights},
                ],
            },
        ],
        "atlas_techniques": [
            {"technique_id": "AML.T0024", "name": "Exfiltration via AI Inference API"},
            {"technique_id": "AML.T0024.002", "name": "Extract AI Model"},
        ],
        "approvals": [
            {
                "name": "Carol Reviewer",
                "role": "evidence reviewer",
                "decision": "approved",
                "at": "2026-08-14T14:05:00+00:00",
            }
        ],
        "engine_version": "cloning-engine 0.9.1",
        "replies": [
            {
                "organisation": "Saltmarsh Intelligence",
                "statement": "Heron 9B was trained on licensed and public data only. The probe "
                "answers that match Atlas 4 come from a public benchmark both models saw; we "
                "have offered our training manifest to the standards body for review.",
                "filed_by": "Saltmarsh Intelligence spokesperson",
                "filed_at": "2026-08-16T10:20:00+00:00",
            }
        ],
    }


def sample_incident_document() -> ReportDocument:
    """An incident report document with two evidence items and a five-entry timeline."""
    incident = _sample_incident()
    manifest = _manifest("R-2026-000312", "incident", ["incident:I-2026-0007"], 4813)
    manifest["files"] = [
        {"role": "evidence", "name": f["name"], "sha256": f["sha256"]}
        for row in incident["evidence"]
        for f in row["files"]
    ]
    manifest["analysis_ids"] = [row["evidence_id"] for row in incident["evidence"]]
    manifest["engine_version"] = incident["engine_version"]
    return {
        "report_id": "R-2026-000312",
        "kind": "incident",
        "title": "Model cloning incident report",
        "subject": "Incident I-2026-0007: Heron 9B",
        "generated_at": "2026-09-18T09:31:00+00:00",
        "ledger_head": _ledger_head(4813),
        "manifest": manifest,
        "issuer": "Evidence Registry (sample data)",
        "verification_url": VERIFICATION_URL,
        "signer": SAMPLE_SIGNER,
        "incident": incident,
    }


def _sample_digest() -> DigestSection:
    return {
        "period_start": "2026-08-01",
        "period_end": "2026-08-31",
        "releases": [
            {"organisation": org, "model": model, "version": version, "released_on": day}
            for org, model, version, day in [
                ("Saltmarsh Intelligence", "Heron 9B", "1.1", "2026-08-04"),
                ("Emberline", "Ember 2", "2026-08", "2026-08-12"),
                ("Orrery Foundation", "Orrery 70B Instruct", "1.2", "2026-08-19"),
                ("Halcyon Labs", "Aria 3 Pro", "2026-08", "2026-08-21"),
                ("Corvid Systems", "Corvid 32B Coder", "1.0", "2026-08-27"),
            ]
        ],
        "claims": [
            {
                "claim_id": "C-2026-0117",
                "model": "Atlas 4",
                "benchmark": "Open Preference Arena (synthetic)",
                "statement": "Atlas 4 is the number one model on the Open Preference Arena.",
                "verdict": "fragile",
                "votes_to_flip": 73,
                "fraction": 73 / N_VOTES,
                "claim_date": "2026-07-28",
                "analysed_on": "2026-08-02",
            },
            {
                "claim_id": "C-2026-0121",
                "model": "Orrery 70B Instruct",
                "benchmark": "Open Preference Arena (synthetic)",
                "statement": "Arena voters prefer Orrery 70B Instruct to Tide 70B Chat.",
                "verdict": "robust within the search budget",
                "votes_to_flip": None,
                "fraction": None,
                "claim_date": "2026-08-14",
                "analysed_on": "2026-08-15",
            },
            {
                "claim_id": "C-2026-0124",
                "model": "Quill 8B Instruct",
                "benchmark": "Fablemath-500",
                "statement": "Quill 8B Instruct solves more Fablemath-500 problems than Tide 12B.",
                "verdict": "not analysed (dataset not yet deposited)",
                "votes_to_flip": None,
                "fraction": None,
                "claim_date": "2026-08-22",
                "analysed_on": "—",
            },
        ],
        "incidents": [
            {
                "incident_id": "I-2026-0007",
                "title": "Suspected distillation of Atlas 4 into Heron 9B",
                "status": "under review",
                "evidentiary_level": "substantial",
                "opened_on": "2026-08-10",
            }
        ],
    }


def sample_digest_document() -> ReportDocument:
    """A monthly digest document with releases, claim verdicts and one public incident."""
    digest = _sample_digest()
    manifest = _manifest(
        "R-2026-000313",
        "digest",
        [f"claim:{c['claim_id']}" for c in digest["claims"]]
        + [f"incident:{i['incident_id']}" for i in digest["incidents"]],
        4814,
    )
    return {
        "report_id": "R-2026-000313",
        "kind": "digest",
        "title": "Registry digest, August 2026",
        "subject": "Digest 2026-08-01 to 2026-08-31",
        "generated_at": "2026-09-01T06:00:00+00:00",
        "ledger_head": _ledger_head(4814),
        "manifest": manifest,
        "issuer": "Evidence Registry (sample data)",
        "verification_url": VERIFICATION_URL,
        "signer": SAMPLE_SIGNER,
        "digest": digest,
    }


def sample_documents() -> dict[str, ReportDocument]:
    """One sample document of every kind, keyed by kind."""
    return {
        "claim": sample_claim_document(),
        "incident": sample_incident_document(),
        "digest": sample_digest_document(),
    }
