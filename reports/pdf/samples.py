"""Realistic sample report documents for tests, the benchmark and layout review.

The claim sample mirrors the LLMFAO crowd-vote dataset (59 models, 8,931 votes, CC BY 4.0)
in names and sizes; its scores and dropped vote ids are drawn from a seeded generator, so
they look like a real analysis but are not one. Every sample is a pure function of its
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
)

# fmt: off
LLMFAO_MODELS: tuple[str, ...] = (
    "GPT 4", "Platypus-2 Instruct (70B)", "Claude v2", "Claude v1.2", "Claude v1",
    "GPT 3.5 Turbo", "GPT 3.5 Turbo (16k)", "Claude Instant v1", "LLaMA-2-Chat (70B)",
    "Airoboros L2 70B", "LLaMA 2 SFT v10 (70B)", "PaLM 2 Bison", "Jurassic 2 Ultra",
    "MythoMax-L2 (13B)", "Mythalion 13B", "ReMM SLERP L2 13B", "Weaver 12k",
    "Vicuna v1.5 (13B)", "command-nightly", "command", "LLaMA-2-Chat (13B)",
    "Chronos Hermes (13B)", "Guanaco (65B)", "Vicuna v1.3 (13B)", "Luminous Supreme Control",
    "PaLM 2 Bison (Code Chat)", "Code Llama Instruct (34B)", "LLaMA-2-Chat (7B)",
    "Guanaco (33B)", "Jurassic 2 Mid", "Qwen-Chat (7B)", "Luminous Extended Control",
    "Falcon Instruct (40B)", "Code Llama Instruct (13B)", "Vicuna v1.3 (7B)", "MPT-Chat (30B)",
    "Luminous Supreme", "Guanaco (13B)", "Koala (13B)", "command-light",
    "Code Llama Instruct (7B)", "Jurassic 2 Light", "Luminous Extended",
    "Open-Assistant StableLM SFT-7 (7B)", "MPT-Chat (7B)", "Luminous Base Control",
    "StarCoderChat Alpha (16B)", "Falcon Instruct (7B)", "Vicuna-FastChat-T5 (3B)",
    "Open-Assistant Pythia SFT-4 (12B)", "Luminous Base", "RedPajama-INCITE Chat (7B)",
    "GPT-NeoXT-Chat-Base (20B)", "Alpaca (7B)", "Dolly v2 (12B)", "RedPajama-INCITE Chat (3B)",
    "Pythia-Chat-Base (7B)", "Dolly v2 (7B)", "Dolly v2 (3B)",
)
# fmt: on

LLMFAO_ATTRIBUTION = (
    "LLMFAO crowd comparisons by Dmitry Ustalov (github.com/dustalov/llmfao, commit "
    "9e224e94a40129fd6e1e1529b962307e84af40da); prompts and model outputs from llmonitor.com's "
    "Crowdsourced LLM Benchmark. Licensed under Creative Commons Attribution 4.0 "
    "International (CC BY 4.0), https://creativecommons.org/licenses/by/4.0/."
)

ENGINE_VERSION = "fragility-engine 1.4.2 (amip+refit)"
ELO_PER_NAT = 400 / math.log(10)
N_VOTES = 8931


def _digest(label: str) -> str:
    """A stable, realistic-looking SHA-256 for a named sample file."""
    return hashlib.sha256(label.encode()).hexdigest()


def _ledger_head(seq: int) -> LedgerHead:
    return {"seq": seq, "hash": _digest(f"ledger-entry-{seq}")}


def _sample_scores(rng: random.Random, n_models: int) -> list[ScoreRow]:
    """Descending Bradley-Terry scores with intervals that widen toward the tail."""
    strengths = sorted(
        (3.2 * (1 - i / (n_models - 1)) ** 1.25 + rng.gauss(0.0, 0.05) for i in range(n_models)),
        reverse=True,
    )
    # Pin the top two close together, as in LLMFAO where the lead is fragile.
    strengths[1] = strengths[0] - 0.04
    reference = strengths[-1]
    rows: list[ScoreRow] = []
    for index, strength in enumerate(strengths):
        score = strength - reference
        half_width = 22 + 12 * rng.random() + index * 0.4
        elo = 1000 + ELO_PER_NAT * score
        rows.append(
            {
                "model": LLMFAO_MODELS[index % len(LLMFAO_MODELS)],
                "score": round(score, 4),
                "elo": round(elo, 1),
                "ci_low": round(elo - half_width, 1),
                "ci_high": round(elo + half_width, 1),
                "rank": index + 1,
                "rank_ub": min(n_models, index + 1 + int(half_width // 18)),
            }
        )
    return rows


def _fragility_row(
    rng: random.Random, scores: list[ScoreRow], rank: int, kind: str
) -> FragilityRow:
    incumbent, challenger = scores[rank - 1], scores[rank]
    gap = incumbent["score"] - challenger["score"]
    found = rng.random() > 0.05
    # Votes to flip grow with the score gap; the log-normal factor mimics AMIP's spread.
    votes = 16 if kind == "top1" else max(1, int(gap * 5200 * rng.lognormvariate(0.0, 0.6)))
    votes = min(votes, N_VOTES // 4)
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


def sample_claim_document(n_models: int = 59, seed: int = 20231004) -> ReportDocument:
    """A claim report document over an LLMFAO-sized leaderboard (about 20 pages)."""
    rng = random.Random(seed)
    scores = _sample_scores(rng, n_models)
    # Rank 1 against rank 2 is the headline "top1" test; the rest are adjacent-rank swaps.
    fragility = [_fragility_row(rng, scores, 1, "top1")]
    fragility += [_fragility_row(rng, scores, rank, "rank") for rank in range(2, n_models)]
    dataset_sha = _digest("llmfao/crowd-comparisons.csv")
    claim: ClaimSection = {
        "claim_id": "C-2023-0117",
        "statement": "GPT 4 is the best model on the LLMFAO crowd leaderboard, ahead of every "
        "open-weight model including Platypus-2 Instruct (70B).",
        "claimant": "OpenAI (as repeated in a vendor comparison deck)",
        "model": "GPT 4",
        "benchmark": "LLMFAO crowd pairwise preferences",
        "source_url": "https://example.org/press/2023-10-04-leaderboard",
        "claim_date": "2023-10-04",
        "dataset": {
            "source_url": "https://github.com/dustalov/llmfao",
            "sha256": dataset_sha,
            "n_votes": N_VOTES,
            "n_models": n_models,
            "n_ties": 3471,
            "attribution": LLMFAO_ATTRIBUTION,
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
    }
    manifest = _manifest("R-2024-000311", "claim", ["claim:C-2023-0117"], 4812)
    manifest["files"] = [
        {"role": "dataset", "name": "crowd-comparisons.csv", "sha256": dataset_sha}
    ]
    manifest["analysis_ids"] = ["fit:F-0192", "fragility:A-0733", "fragility:A-0734"]
    return {
        "report_id": "R-2024-000311",
        "kind": "claim",
        "title": "Benchmark claim assessment",
        "subject": "Claim C-2023-0117: GPT 4 leads LLMFAO",
        "generated_at": "2024-03-18T09:30:00+00:00",
        "ledger_head": _ledger_head(4812),
        "manifest": manifest,
        "issuer": "Evidence Registry (sample data)",
        "claim": claim,
    }


def _sample_incident() -> IncidentSection:
    weights = _digest("weights/nimbus-7b-v2.safetensors")
    outputs = _digest("probes/nimbus-vs-gpt35-outputs.jsonl")
    return {
        "incident_id": "I-2024-0007",
        "title": "Suspected distillation of GPT 3.5 Turbo into Nimbus-7B v2",
        "summary": "Nimbus-7B v2 reproduces GPT 3.5 Turbo's rare refusal phrasings and its "
        "watermark-bearing token choices far more often than comparable 7B models.",
        "status": "under review",
        "evidentiary_level": "substantial (two independent tests reject H0 at 0.01)",
        "parties": [
            {
                "role": "original developer",
                "organisation": "OpenAI",
                "release": {
                    "model": "GPT 3.5 Turbo",
                    "version": "0613",
                    "released_on": "2023-06-13",
                },
            },
            {
                "role": "suspected distiller",
                "organisation": "Nimbus Labs",
                "release": {
                    "model": "Nimbus-7B",
                    "version": "v2",
                    "released_on": "2024-01-22",
                    "sha256": weights,
                },
            },
        ],
        "timeline": [
            {
                "seq": 4700 + step,
                "at": f"2024-02-{10 + step:02d}T1{step}:05:00+00:00",
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
                "files": [{"name": "nimbus-vs-gpt35-outputs.jsonl", "sha256": outputs}],
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
                    {"name": "nimbus-7b-v2.safetensors", "sha256": weights},
                ],
            },
        ],
        "atlas_techniques": [
            {"technique_id": "AML.T0024", "name": "Exfiltration via ML Inference API"},
            {"technique_id": "AML.T0024.002", "name": "Extract ML Model"},
        ],
        "approvals": [
            {
                "name": "Carol Reviewer",
                "role": "evidence reviewer",
                "decision": "approved",
                "at": "2024-02-14T14:05:00+00:00",
            }
        ],
        "engine_version": "cloning-engine 0.9.1",
    }


def sample_incident_document() -> ReportDocument:
    """An incident report document with two evidence items and a five-entry timeline."""
    incident = _sample_incident()
    manifest = _manifest("R-2024-000312", "incident", ["incident:I-2024-0007"], 4813)
    manifest["files"] = [
        {"role": "evidence", "name": f["name"], "sha256": f["sha256"]}
        for row in incident["evidence"]
        for f in row["files"]
    ]
    manifest["analysis_ids"] = [row["evidence_id"] for row in incident["evidence"]]
    manifest["engine_version"] = incident["engine_version"]
    return {
        "report_id": "R-2024-000312",
        "kind": "incident",
        "title": "Model cloning incident report",
        "subject": "Incident I-2024-0007: Nimbus-7B v2",
        "generated_at": "2024-03-18T09:31:00+00:00",
        "ledger_head": _ledger_head(4813),
        "manifest": manifest,
        "issuer": "Evidence Registry (sample data)",
        "incident": incident,
    }


def _sample_digest() -> DigestSection:
    return {
        "period_start": "2024-02-01",
        "period_end": "2024-02-29",
        "releases": [
            {"organisation": org, "model": model, "version": version, "released_on": day}
            for org, model, version, day in [
                ("Nimbus Labs", "Nimbus-7B", "v2", "2024-02-02"),
                ("Mistral AI", "Mistral Large", "2402", "2024-02-26"),
                ("Google", "Gemma", "7B-it", "2024-02-21"),
                ("Google", "Gemini", "1.5 Pro", "2024-02-15"),
                ("Alibaba", "Qwen1.5-72B-Chat", "1.5", "2024-02-05"),
            ]
        ],
        "claims": [
            {
                "claim_id": "C-2023-0117",
                "model": "GPT 4",
                "benchmark": "LLMFAO crowd pairwise preferences",
                "statement": "GPT 4 is the best model on the LLMFAO crowd leaderboard.",
                "verdict": "fragile",
                "votes_to_flip": 16,
                "fraction": 16 / N_VOTES,
            },
            {
                "claim_id": "C-2024-0009",
                "model": "Claude v2",
                "benchmark": "LLMFAO crowd pairwise preferences",
                "statement": "Claude v2 ranks above every LLaMA-2-Chat size.",
                "verdict": "robust",
                "votes_to_flip": 412,
                "fraction": 412 / N_VOTES,
            },
            {
                "claim_id": "C-2024-0011",
                "model": "Gemma 7B-it",
                "benchmark": "Vendor arena snapshot",
                "statement": "Gemma 7B-it beats Mistral 7B Instruct head to head.",
                "verdict": "not analysed (dataset not yet deposited)",
                "votes_to_flip": None,
                "fraction": None,
            },
        ],
        "incidents": [
            {
                "incident_id": "I-2024-0007",
                "title": "Suspected distillation of GPT 3.5 Turbo into Nimbus-7B v2",
                "status": "under review",
                "evidentiary_level": "substantial",
                "opened_on": "2024-02-10",
            }
        ],
    }


def sample_digest_document() -> ReportDocument:
    """A monthly digest document with releases, claim verdicts and one public incident."""
    digest = _sample_digest()
    manifest = _manifest(
        "R-2024-000313",
        "digest",
        [f"claim:{c['claim_id']}" for c in digest["claims"]]
        + [f"incident:{i['incident_id']}" for i in digest["incidents"]],
        4814,
    )
    return {
        "report_id": "R-2024-000313",
        "kind": "digest",
        "title": "Registry digest, February 2024",
        "subject": "Digest 2024-02-01 to 2024-02-29",
        "generated_at": "2024-03-01T06:00:00+00:00",
        "ledger_head": _ledger_head(4814),
        "manifest": manifest,
        "issuer": "Evidence Registry (sample data)",
        "digest": digest,
    }


def sample_documents() -> dict[str, ReportDocument]:
    """One sample document of every kind, keyed by kind."""
    return {
        "claim": sample_claim_document(),
        "incident": sample_incident_document(),
        "digest": sample_digest_document(),
    }
