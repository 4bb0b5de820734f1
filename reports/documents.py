"""Build a *report document* (see ``reports.pdf.document``) from registry records.

This is the only place that reads the database for a report: everything the PDF shows
is looked up and formatted here, at one ledger head, so that ``render_pdf`` stays a pure
function of the dict returned by :func:`build_document`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from registry import selectors
from registry.cloning import atlas
from registry.fragility import presenter
from registry.ledger import GENESIS_HASH, ledger_head
from registry.models import (
    BenchmarkClaim,
    CloningIncident,
    Evidence,
    FragilityAnalysis,
    LedgerEntry,
    ModelRelease,
)
from registry.selectors import incident_list, incident_report_timeline, latest_done_analysis
from reports.models import Report
from reports.pdf.document import (
    Approval,
    AtlasTechnique,
    BaselineRow,
    ClaimSection,
    DigestClaim,
    DigestIncident,
    DigestRelease,
    DigestSection,
    EvidenceRow,
    FragilityRow,
    IncidentSection,
    LedgerHead,
    Manifest,
    ManifestFile,
    Party,
    ReleaseRef,
    Reply,
    ReportDocument,
    ScoreRow,
    SignerCertificate,
    TimelineEvent,
)
from reports.transparency import log_proofs

ISSUER = "Evidence Registry"
TIE_HANDLING = {
    "half": "a tie counts as half a win for each side (Chatbot Arena convention)",
    "drop": "ties are left out of the fit",
}
TITLES = {
    Report.Kind.CLAIM: "Benchmark claim assessment",
    Report.Kind.INCIDENT: "Model cloning incident report",
    Report.Kind.DIGEST: "Registry digest",
}


def verification_url() -> str:
    """Where anyone can upload a report to have it checked (the public verify page)."""
    return settings.REGISTRY_PUBLIC_URL + reverse("reports:verify")


def build_document(
    report: Report,
    *,
    generated_at: dt.datetime | None = None,
    signer: SignerCertificate | None = None,
) -> ReportDocument:
    """The complete document for ``report``, read at the current ledger head; ``signer``
    is the certificate that will sign it, described on the title page."""
    head = _ledger_head()
    builders = {
        Report.Kind.CLAIM: _claim_parts,
        Report.Kind.INCIDENT: _incident_parts,
        Report.Kind.DIGEST: _digest_parts,
    }
    subject, section, manifest_extra = builders[Report.Kind(report.kind)](report, head["seq"])
    manifest: Manifest = {
        "report_id": report.report_id,
        "kind": report.kind,  # type: ignore[typeddict-item]  # a Report.Kind value
        "subject_ids": manifest_extra["subject_ids"],
        "files": manifest_extra["files"],
        "analysis_ids": manifest_extra["analysis_ids"],
        "engine_version": manifest_extra["engine_version"],
        "ledger_head": head,
    }
    manifest["transparency"] = log_proofs(report, manifest)
    document: ReportDocument = {
        "report_id": report.report_id,
        "kind": report.kind,  # type: ignore[typeddict-item]
        "title": TITLES[Report.Kind(report.kind)],
        "subject": subject,
        "generated_at": (generated_at or timezone.now()).isoformat(),
        "ledger_head": head,
        "manifest": manifest,
        "issuer": ISSUER,
        "verification_url": verification_url(),
    }
    if signer is not None:
        document["signer"] = signer
    document[report.kind] = section  # type: ignore[literal-required]
    return document


def _ledger_head() -> LedgerHead:
    head = ledger_head()
    if head is None:
        return {"seq": 0, "hash": GENESIS_HASH}
    return {"seq": head.seq, "hash": head.entry_hash}


def _date(value: dt.date | None) -> str:
    return value.isoformat() if value else "—"


# --- claim -------------------------------------------------------------------------------


def _fragility_row(row: dict[str, Any], *, kind: str, k: int | None) -> FragilityRow:
    return {
        "kind": kind,
        "k": k,
        "pair": list(row["pair"]),
        "challenger": row["challenger"],
        "votes_to_flip": row["votes_to_flip"],
        "fraction": row["fraction"],
        "dropped_votes": list(row["dropped_votes"]),
        "gap_before": row["gap_before"] if row["gap_before"] is not None else 0.0,
        "gap_after": row["gap_after"],
        "verified": bool(row["verified"]),
    }


def _renderer_kind(row: dict[str, Any]) -> str:
    if row["kind"] != "top_k":
        return "rank"
    return "top1" if row["k"] == 1 else "top"


def claim_fragility_rows(analysis: FragilityAnalysis) -> list[FragilityRow]:
    """The engine's rows (README: "Result schema") in the renderer's words, the claim's first.

    Engine ``top_k`` with k = 1 is the renderer's ``top1``; ``adjacent`` rows are ``rank``
    rows (rank k against rank k + 1); the direct answer to the claim is ``claim``.
    """
    rows: list[FragilityRow] = []
    answer = analysis.claim_answer or {}
    if answer.get("answerable") and answer.get("holds_on_full_data"):
        rows.append(_fragility_row(answer, kind="claim", k=answer.get("k")))
    for row in (analysis.results or {}).get("fragility", []):
        rows.append(_fragility_row(row, kind=_renderer_kind(row), k=row["k"]))
    return rows


def _score_rows(results: dict[str, Any]) -> list[ScoreRow]:
    rows: list[ScoreRow] = []
    for row in results["scores"]:
        elo = row["elo"] if row["elo"] is not None else 0.0
        # The engine writes None for an interval it could not bound (no MLE); the chart
        # then shows the point alone rather than an invented interval.
        low, high = presenter.interval_bounds(row)
        score: ScoreRow = {
            "model": row["model"],
            "score": row["score"] if row["score"] is not None else 0.0,
            "elo": elo,
            "ci_low": low,
            "ci_high": high,
            "rank": row["rank"],
            "rank_ub": row["rank_ub"],
        }
        for key in ("bootstrap_ci_low", "bootstrap_ci_high", "rank_low", "rank_high"):
            if key in row:
                score[key] = row[key]  # type: ignore[literal-required]  # keys of ScoreRow
        rows.append(score)
    return rows


def _baseline(results: dict[str, Any]) -> list[BaselineRow]:
    return [
        {
            "fraction": row["fraction"],
            "votes_dropped": row["votes_dropped"],
            "trials": row["trials"],
            "top1_changed": row["top1_changed"],
            "rate": row["rate"],
        }
        for row in results.get("random_drop_baseline", [])
    ]


def _claim_section(claim: BenchmarkClaim, analysis: FragilityAnalysis) -> ClaimSection:
    dataset = analysis.dataset
    results: dict[str, Any] = analysis.results or {}
    fit = results.get("fit", {})
    counts = results.get("dataset", {})
    return {
        "claim_id": str(claim.pk),
        "statement": claim.statement,
        "claimant": claim.claimant.name,
        "model": claim.model_label or claim.release.name,
        "benchmark": claim.benchmark.name,
        "source_url": claim.source_url or "—",
        "claim_date": _date(claim.claim_date),
        "dataset": {
            "source_url": dataset.source_url or "—",
            "sha256": dataset.file.sha256,
            "n_votes": counts.get("n_votes", dataset.n_votes or 0),
            "n_models": counts.get("n_models", dataset.n_models or 0),
            "n_ties": counts.get("n_ties", dataset.n_ties or 0),
            "attribution": dataset.attribution or "No attribution was recorded.",
        },
        "fit": {
            "tie_handling": TIE_HANDLING.get(fit.get("tie_handling", ""), "unknown"),
            "reference_model": fit.get("reference_model", "—"),
            "mle_exists": bool(fit.get("mle_exists", True)),
            "ridge": float(fit.get("ridge", 0.0)),
        },
        "scores": _score_rows(results),
        "fragility": claim_fragility_rows(analysis),
        "engine_version": f"fragility engine {analysis.engine_version}",
        "bootstrap_rounds": int(fit.get("bootstrap_rounds", 0)),
        "random_drop_baseline": _baseline(results),
    }


def _claim_parts(report: Report, head_seq: int) -> tuple[str, ClaimSection, dict[str, Any]]:
    claim = selectors.claim_list().get(reports=report)
    analysis = selectors.analysis_list().get(reports=report)
    dataset = analysis.dataset
    manifest = {
        "subject_ids": [f"claim:{claim.pk}"],
        "files": [_file("dataset", dataset.original_filename or dataset.name, dataset.sha256)],
        "analysis_ids": [f"analysis:{analysis.pk}"],
        "engine_version": analysis.engine_version,
    }
    subject = f"Claim {claim.pk}: {claim.release} on {claim.benchmark}"
    return subject, _claim_section(claim, analysis), manifest


def _file(role: str, name: str, sha256: str) -> ManifestFile:
    return {"role": role, "name": name, "sha256": sha256}


# --- incident ----------------------------------------------------------------------------


def _release_ref(release: ModelRelease | None, *, name: str = "", sha256: str = "") -> ReleaseRef:
    if release is None:
        ref: ReleaseRef = {"model": name or "—", "version": "", "released_on": "—"}
    else:
        ref = {
            "model": release.name,
            "version": release.version,
            "released_on": _date(release.release_date),
        }
        weights = selectors.release_weights(release)
        sha256 = sha256 or (weights.sha256 if weights else "")
    if sha256:
        ref["sha256"] = sha256
    return ref


def _parties(incident: CloningIncident) -> list[Party]:
    original = incident.original_release
    suspect = incident.suspect_release
    return [
        {
            "role": "original developer",
            "organisation": original.organization.name,
            "release": _release_ref(original),
        },
        {
            "role": "suspected copier",
            "organisation": suspect.organization.name if suspect else "not in the registry",
            "release": _release_ref(
                suspect,
                name=incident.suspect_name,
                sha256=incident.suspect_artifact_sha256,
            ),
        },
        {
            "role": "reporting organisation",
            "organisation": incident.reporting_organization.name,
            "release": {"model": "—", "version": "", "released_on": "—"},
        },
    ]


def _entry_summary(entry: LedgerEntry) -> str:
    context = entry.snapshot.get("_context") or {}
    parts = []
    if "from" in context and "to" in context:
        parts.append(f"{context['from']} -> {context['to']}")
    if context.get("reason"):
        parts.append(str(context["reason"]))
    label = entry.object_type.split(".")[-1]
    return f"{label} {entry.object_id}" + (f": {'; '.join(parts)}" if parts else "")


def _timeline(incident: CloningIncident, head_seq: int) -> list[TimelineEvent]:
    return [
        {
            "seq": entry.seq,
            "at": entry.created_at.isoformat(),
            "actor": entry.actor_label,
            "action": entry.action,
            "summary": _entry_summary(entry),
            "hash": entry.entry_hash,
        }
        # The incident workflow's own timeline (incident, evidence, decisions, replies),
        # cut at the head the report is built at.
        for entry in incident_report_timeline(incident).filter(seq__lte=head_seq)
    ]


def _decision(evidence: Evidence) -> str:
    words = evidence.get_decision_display()
    qualifiers = []
    if evidence.alpha is not None:
        qualifiers.append(f"alpha = {evidence.alpha:g}")
    if evidence.p_adjustment != Evidence.Adjustment.NONE:
        qualifiers.append(f"{evidence.get_p_adjustment_display()} adjusted")
    if hasattr(evidence, "superseded_by"):
        qualifiers.append(f"superseded by E-{evidence.superseded_by.pk}")
    return words + (f" ({', '.join(qualifiers)})" if qualifiers else "")


def _evidence_rows(incident: CloningIncident) -> list[EvidenceRow]:
    items = selectors.incident_report_evidence(incident)
    return [
        {
            "evidence_id": f"E-{item.pk}",
            "method": f"{item.method_name} {item.method_version}".strip(),
            "n": item.n,  # type: ignore[typeddict-item]  # None prints as a dash
            "statistic": item.statistic_value,  # type: ignore[typeddict-item]
            "statistic_name": item.statistic_name or "statistic",
            "ci_low": item.ci_low,
            "ci_high": item.ci_high,
            "p_value": item.p_value,
            "decision": _decision(item),
            "files": [
                {"name": file.original_filename, "sha256": file.file.sha256}
                for file in item.files.all()
            ],
        }
        for item in items
    ]


def _atlas(incident: CloningIncident) -> list[AtlasTechnique]:
    names = atlas.techniques()
    return [
        {"technique_id": technique, "name": names.get(technique, "(not in the ATLAS table)")}
        for technique in incident.atlas_techniques
    ]


def _person(user: Any) -> str:
    return (user.get_full_name() or user.get_username()) if user is not None else "—"


def _incident_approvals(incident: CloningIncident) -> list[Approval]:
    """The four-eyes decisions on the incident, oldest first: each proposal, and its
    approval or rejection by a second person once decided."""
    rows: list[Approval] = []
    for decision in selectors.incident_report_decisions(incident):
        status = decision.get_proposed_status_display()
        rows.append(
            {
                "name": _person(decision.proposed_by),
                "role": "proposer",
                "decision": f"proposed: {status}",
                "at": decision.proposed_at.isoformat(),
            }
        )
        if decision.decided_at is not None:
            rows.append(
                {
                    "name": _person(decision.decided_by),
                    "role": "approver",
                    "decision": f"{decision.get_state_display().lower()}: {status}",
                    "at": decision.decided_at.isoformat(),
                }
            )
    return rows


def _incident_section(incident: CloningIncident, head_seq: int) -> IncidentSection:
    evidence = _evidence_rows(incident)
    versions = sorted({row["method"] for row in evidence})
    return {
        "incident_id": str(incident.pk),
        "title": incident.title,
        "summary": incident.summary,
        "status": incident.get_status_display(),
        "evidentiary_level": incident.get_evidentiary_level_display(),
        "parties": _parties(incident),
        "timeline": _timeline(incident, head_seq),
        "evidence": evidence,
        "atlas_techniques": _atlas(incident),
        "approvals": _incident_approvals(incident),
        "engine_version": "; ".join(versions) or "no evidence recorded",
        "replies": _replies(incident),
    }


def _replies(incident: CloningIncident) -> list[Reply]:
    return [
        {
            "organisation": reply.organization.name,
            "statement": reply.statement,
            "filed_by": _person(reply.filed_by),
            "filed_at": reply.filed_at.isoformat(),
        }
        for reply in selectors.incident_report_replies(incident)
    ]


def _incident_parts(report: Report, head_seq: int) -> tuple[str, IncidentSection, dict[str, Any]]:
    incident = selectors.incident_report_subjects().get(reports=report)
    section = _incident_section(incident, head_seq)
    manifest = {
        "subject_ids": [f"incident:{incident.pk}"],
        "files": [
            _file("evidence", file["name"], file["sha256"])
            for row in section["evidence"]
            for file in row["files"]
        ],
        "analysis_ids": [f"evidence:{row['evidence_id'][2:]}" for row in section["evidence"]],
        "engine_version": section["engine_version"],
    }
    return f"Incident {incident.pk}: {incident.title}", section, manifest


# --- digest ------------------------------------------------------------------------------


def claim_verdict(analysis: FragilityAnalysis | None) -> tuple[str, int | None, float | None]:
    """A claim's fragility verdict word, with votes to flip and their share; the words
    and their definitions are the presenter's (``registry.fragility.presenter``)."""
    if analysis is None:
        verdict = presenter.claim_verdict(None, None)
    else:
        n_used = (analysis.results or {}).get("fit", {}).get("n_votes_used")
        verdict = presenter.claim_verdict(analysis.claim_answer or {}, n_used)
    return verdict.word, verdict.votes_to_flip, verdict.fraction


def _period_bounds(report: Report) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime.combine(report.period_start, dt.time.min, tzinfo=dt.UTC)  # type: ignore[arg-type]
    end = dt.datetime.combine(report.period_end, dt.time.max, tzinfo=dt.UTC)  # type: ignore[arg-type]
    return start, end


def _digest_releases(report: Report) -> list[DigestRelease]:
    start, end = _period_bounds(report)
    releases = selectors.releases_in_period(start.date(), end.date())
    return [
        {
            "organisation": release.organization.name,
            "model": release.name,
            "version": release.version,
            "released_on": _date(release.release_date),
        }
        for release in releases
    ]


def _digest_claims(
    report: Report,
) -> tuple[list[DigestClaim], list[FragilityAnalysis]]:
    start, end = _period_bounds(report)
    claims = selectors.claims_in_period(start.date(), end.date(), analysed_between=(start, end))
    rows: list[DigestClaim] = []
    used: list[FragilityAnalysis] = []
    for claim in claims:
        analysis = latest_done_analysis(claim)
        verdict, votes, fraction = claim_verdict(analysis)
        if analysis is not None:
            used.append(analysis)
        finished = analysis.finished_at if analysis is not None else None
        rows.append(
            {
                "claim_id": str(claim.pk),
                "model": claim.model_label or str(claim.release),
                "benchmark": claim.benchmark.name,
                "statement": claim.statement,
                "verdict": verdict,
                "votes_to_flip": votes,
                "fraction": fraction,
                "claim_date": _date(claim.claim_date),
                "analysed_on": _date(finished.astimezone(dt.UTC).date() if finished else None),
            }
        )
    return rows, used


def _digest_incidents(report: Report) -> list[DigestIncident]:
    start, end = _period_bounds(report)
    # The anonymous scope: a digest is public, whoever asks for it.
    incidents = incident_list(user=None).filter(
        Q(created_at__range=(start, end)) | Q(updated_at__range=(start, end))
    )
    return [
        {
            "incident_id": str(incident.pk),
            "title": incident.title,
            "status": incident.get_status_display(),
            "evidentiary_level": incident.get_evidentiary_level_display(),
            "opened_on": incident.created_at.date().isoformat(),
        }
        for incident in incidents.order_by("created_at", "id")
    ]


def _digest_parts(report: Report, head_seq: int) -> tuple[str, DigestSection, dict[str, Any]]:
    claims, analyses = _digest_claims(report)
    section: DigestSection = {
        "period_start": _date(report.period_start),
        "period_end": _date(report.period_end),
        "releases": _digest_releases(report),
        "claims": claims,
        "incidents": _digest_incidents(report),
    }
    datasets = {a.dataset.sha256: a.dataset for a in analyses}
    manifest = {
        "subject_ids": [f"period:{section['period_start']}/{section['period_end']}"]
        + [f"claim:{c['claim_id']}" for c in claims]
        + [f"incident:{i['incident_id']}" for i in section["incidents"]],
        "files": [
            _file("dataset", d.original_filename or d.name, sha) for sha, d in datasets.items()
        ],
        "analysis_ids": [f"analysis:{a.pk}" for a in analyses],
        "engine_version": ", ".join(sorted({a.engine_version for a in analyses})),
    }
    subject = f"Digest {section['period_start']} to {section['period_end']}"
    return subject, section, manifest
