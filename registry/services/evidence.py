"""Evidence: typed, append-only items bearing on an incident, and the evidence the
registry computes itself from uploads.

Computed evidence comes in three steps, each usable on its own: ``*_evidence_compute`` runs
the statistics of ``registry.cloning`` and writes nothing (a million-row query log takes ~10 s;
holding the ledger lock that long would stall every other writer), ``evidence_rows_write``
writes the files, and ``evidence_rows_record`` records the rows in the caller's short writing
transaction through ``evidence_record``, so the ledger records them like any other evidence.
The API runs the steps as a computation job (``registry.computations``); the
``*_evidence_record`` services run them inline, for the demo loader and the command line.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any

from django.core.exceptions import ValidationError

from registry.blobs import Blob, blob_write
from registry.errors import ConflictError
from registry.ledger import incident_scope, ledger_append
from registry.models import CloningIncident, Commitment, Evidence, EvidenceFile
from registry.roles import AnyUser, recorded_user, user_edits_incident
from registry.services._base import require, writing
from registry.services.files import stored_file_record
from registry.services.incidents import lock_incident

if TYPE_CHECKING:
    from registry.cloning.querylog import QueryLogSummary


@dataclass(frozen=True)
class UploadedEvidenceFile:
    content: IO[bytes] | bytes
    filename: str
    media_type: str
    restricted: bool


@dataclass(frozen=True)
class EvidenceAttachment:
    """An evidence file whose bytes are already in storage, to be recorded with its item."""

    blob: Blob
    filename: str
    media_type: str
    restricted: bool


def evidence_attachments_write(files: Iterable[UploadedEvidenceFile]) -> list[EvidenceAttachment]:
    """Write the files' bytes to storage: before the transaction that records them."""
    return [
        EvidenceAttachment(
            blob=blob_write(content=upload.content),
            filename=upload.filename,
            media_type=upload.media_type,
            restricted=upload.restricted,
        )
        for upload in files
    ]


def evidence_submit(
    *,
    actor: AnyUser | None,
    incident: CloningIncident,
    fields: Mapping[str, Any],
    files: Iterable[UploadedEvidenceFile] = (),
) -> Evidence:
    """Append an evidence item (and its files) to an open incident.

    The files are written first, outside any transaction (they can be large); the item
    is then recorded in one short transaction (``evidence_record``). Evidence is never
    edited: a correction names the item it ``supersedes``.
    """
    # Refuse what can be refused without the locks before writing any file.
    ensure_accepts_evidence(incident, actor)
    evidence_details_clean(kind=fields.get("kind", ""), details=fields.get("details"))
    attachments = evidence_attachments_write(files)
    with writing():
        return evidence_record(
            actor=actor, incident=incident, fields=fields, attachments=attachments
        )


def evidence_record(
    *,
    actor: AnyUser | None,
    incident: CloningIncident,
    fields: Mapping[str, Any],
    attachments: Iterable[EvidenceAttachment] = (),
) -> Evidence:
    """Record an evidence item and its already written files (inside ``writing()``)."""
    require_may_add_evidence(actor, incident)
    details = evidence_details_clean(kind=fields.get("kind", ""), details=fields.get("details"))
    fields = {**fields, "details": details}
    locked = lock_incident(incident)
    _refuse_closed(locked)
    supersedes = fields.get("supersedes")
    if supersedes is not None:
        _check_supersedes(supersedes, locked)
    evidence = Evidence(**fields, incident=locked, submitted_by=recorded_user(actor))
    evidence.full_clean()
    evidence.save()
    attached = []
    for attachment in attachments:
        stored = stored_file_record(blob=attachment.blob, media_type=attachment.media_type)
        EvidenceFile.objects.create(
            evidence=evidence,
            file=stored,
            original_filename=attachment.filename[:255],
            restricted=attachment.restricted,
        )
        attached.append({"sha256": stored.sha256, "restricted": attachment.restricted})
    ledger_append(
        instance=evidence,
        action="create",
        actor=actor,
        scope=incident_scope(locked),
        extra={"files": attached},
    )
    return evidence


def _refuse_closed(incident: CloningIncident) -> None:
    if incident.status == CloningIncident.Status.CLOSED:
        raise ConflictError(f"Incident {incident.pk} is closed; evidence can no longer be added.")


def require_may_add_evidence(actor: AnyUser | None, incident: CloningIncident) -> None:
    require(
        user_edits_incident(actor, incident),
        "Only the incident's assigned investigators and admins can add evidence.",
    )


def evidence_details_clean(*, kind: str, details: Any) -> dict[str, Any]:
    """The typed ``details`` of an evidence ``kind``, cleaned (``registry.cloning.evidence_kinds``).

    Django's ValidationError cannot nest a dict under a field, so each message names its
    detail field; the API validates first and answers with the nested form.
    """
    # Imported on use: registry.cloning loads SciPy (see registry.services.commitments).
    from registry.cloning.evidence_kinds import KINDS, EvidenceDetailsError, validate_details

    try:
        return validate_details(kind, {} if details is None else details)
    except EvidenceDetailsError as error:
        if kind not in KINDS:
            raise ValidationError({"kind": error.errors["kind"]}) from error
        messages = [f"{name}: {text}" for name, texts in error.errors.items() for text in texts]
        raise ValidationError({"details": messages}) from error


def _check_supersedes(old: Evidence, incident: CloningIncident) -> None:
    if old.incident_id != incident.pk:
        raise ValidationError(
            {"supersedes": ["Evidence can only supersede evidence of its incident."]}
        )
    if Evidence.objects.filter(supersedes=old).exists():
        raise ValidationError({"supersedes": [f"Evidence {old.pk} is already superseded."]})


# A rejected null hypothesis (or a flagged campaign) supports the allegation. Failing to reject
# is *not* evidence against it (absence of evidence), so it is recorded as inconclusive.
_DECISION_OF = {
    "reject": Evidence.Decision.SUPPORTS,
    "flagged": Evidence.Decision.SUPPORTS,
    "none_flagged": Evidence.Decision.DOES_NOT_SUPPORT,
}
_ADJUSTMENT_OF = {
    "holm": Evidence.Adjustment.HOLM,
    "bonferroni": Evidence.Adjustment.BONFERRONI,
    "bh": Evidence.Adjustment.BENJAMINI_HOCHBERG,
}


@dataclass(frozen=True)
class ComputedEvidence:
    """The evidence rows a computation produced, with its JSON summary for the response."""

    evidence: list[Evidence]
    summary: dict[str, Any]
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Upload:
    """One uploaded file: its bytes, name, and whether downloads are restricted."""

    content: bytes
    filename: str
    media_type: str = "application/octet-stream"
    restricted: bool = False

    def for_evidence(self) -> UploadedEvidenceFile:
        # A fresh stream per evidence item: each submission reads it from the start.
        return UploadedEvidenceFile(
            content=io.BytesIO(self.content),
            filename=self.filename,
            media_type=self.media_type,
            restricted=self.restricted,
        )


def evidence_fields(
    item: Mapping[str, Any], *, access_mode: str, commitment: Commitment | None = None
) -> dict[str, Any]:
    """Map a ``registry.cloning`` evidence-item dict onto Evidence columns.

    The interval is widened by float round-off only: the statistic and its interval come
    from two computations of the same mean, and the row's constraints require
    ``ci_low <= statistic_value <= ci_high`` exactly.
    """
    value, low, high = item.get("statistic_value"), item.get("ci_low"), item.get("ci_high")
    if value is not None and low is not None and high is not None:
        low, high = min(low, value), max(high, value)
    return {
        "kind": item["kind"],
        "method_name": item["method"],
        "method_version": item.get("method_version", ""),
        "access_mode": access_mode,
        "n": item.get("n"),
        "statistic_name": item.get("statistic_name", ""),
        "statistic_value": value,
        "ci_low": low,
        "ci_high": high,
        "p_value": item.get("p_value"),
        "alpha": item.get("alpha"),
        "p_adjustment": _ADJUSTMENT_OF.get(item.get("p_value_adjustment") or "", "none"),
        "decision": _DECISION_OF.get(item.get("decision", ""), Evidence.Decision.INCONCLUSIVE),
        "description": item.get("description", ""),
        "details": dict(item.get("details", {})),
        "commitment": commitment,
    }


def ensure_accepts_evidence(incident: CloningIncident, actor: AnyUser | None) -> None:
    """Fail fast, before a long computation; ``evidence_record`` checks again under lock."""
    require_may_add_evidence(actor, incident)
    _refuse_closed(incident)


def _input_error(error: Exception, field_name: str) -> ValidationError:
    return ValidationError({field_name: [str(error)]})


@dataclass(frozen=True)
class EvidenceRows:
    """What a computation found, before anything is written: the evidence rows (their
    fields and the uploads each keeps) and the JSON summary for the uploader."""

    rows: list[tuple[dict[str, Any], list[Upload]]]
    summary: dict[str, Any]


@dataclass(frozen=True)
class WrittenEvidence:
    """Evidence rows whose files are already in storage, ready to be recorded."""

    rows: list[tuple[dict[str, Any], list[EvidenceAttachment]]]
    summary: dict[str, Any]


def evidence_rows_write(computed: EvidenceRows) -> WrittenEvidence:
    """Write every row's files to storage: outside any transaction, before recording."""
    return WrittenEvidence(
        rows=[
            (fields, evidence_attachments_write(upload.for_evidence() for upload in uploads))
            for fields, uploads in computed.rows
        ],
        summary=computed.summary,
    )


def evidence_rows_record(
    *, incident: CloningIncident, actor: AnyUser | None, written: WrittenEvidence
) -> list[Evidence]:
    """Record the rows (inside ``writing()``), each with its ledger entry."""
    return [
        evidence_record(actor=actor, incident=incident, fields=fields, attachments=attached)
        for fields, attached in written.rows
    ]


def _record(
    *, incident: CloningIncident, actor: AnyUser, computed: EvidenceRows
) -> ComputedEvidence:
    """Write the files, then record the rows in one short transaction (after the
    computation)."""
    written = evidence_rows_write(computed)
    with writing():
        evidence = evidence_rows_record(incident=incident, actor=actor, written=written)
    return ComputedEvidence(evidence=evidence, summary=computed.summary)


def provenance_evidence_record(
    *, incident: CloningIncident, actor: AnyUser, upload: Upload, parameters: Mapping[str, Any]
) -> ComputedEvidence:
    """Run the output-similarity provenance test and record one item per candidate.

    ``parameters`` are ``provenance_test``'s keyword arguments (suspect, candidates,
    baselines, prefix_tokens, alpha, method, permutations, seed). The stored p-value is the
    Holm-adjusted one, on which the decision rests; the raw one stays in ``details``.
    """
    ensure_accepts_evidence(incident, actor)
    computed = provenance_evidence_compute(upload=upload, parameters=parameters)
    return _record(incident=incident, actor=actor, computed=computed)


def provenance_evidence_compute(*, upload: Upload, parameters: Mapping[str, Any]) -> EvidenceRows:
    """The provenance test's evidence rows, one per candidate (no writes)."""
    from registry.cloning import CloningInputError, provenance_test

    try:
        result = provenance_test(upload.content, **parameters)
    except CloningInputError as error:
        raise _input_error(error, "file") from error
    rows: list[tuple[dict[str, Any], list[Upload]]] = []
    for item in result.evidence_items():
        adjusted = {**item, "p_value": item["details"]["adjusted_p_value"]}
        rows.append((evidence_fields(adjusted, access_mode="black_box_api"), [upload]))
    return EvidenceRows(rows=rows, summary=result.to_dict())


def _cluster_fields(summary: QueryLogSummary) -> list[dict[str, Any]]:
    heavy = summary.thresholds.min_queries
    rows = []
    for cluster, details in zip(summary.clusters, summary.cluster_evidence_items(), strict=True):
        rows.append(
            evidence_fields(
                {
                    "kind": "account_cluster",
                    "method": summary.method_name,
                    "method_version": summary.method_version,
                    "n": cluster.queries,
                    "statistic_name": "cluster_size",
                    "statistic_value": float(len(cluster.accounts)),
                    # A heavy cluster is what the flagging rule calls coordinated.
                    "decision": "flagged" if cluster.queries >= heavy else "",
                    "description": (
                        f"Coordination cluster {cluster.cluster_id}: {len(cluster.accounts)} "
                        f"accounts sharing {cluster.shared_templates} indicator templates "
                        f"sent {cluster.queries} queries."
                    ),
                    "details": details,
                },
                access_mode="provider_telemetry",
            )
        )
    return rows


def provenance_evidence_check(*, upload: Upload, parameters: Mapping[str, Any]) -> None:
    """Refuse (naming ``file``) what the provenance test would, without its statistics."""
    from registry.cloning import CloningInputError
    from registry.cloning.provenance import provenance_check

    try:
        provenance_check(upload.content, **parameters)
    except CloningInputError as error:
        raise _input_error(error, "file") from error


def query_log_evidence_record(
    *,
    incident: CloningIncident,
    actor: AnyUser,
    upload: Upload,
    thresholds: Mapping[str, Any] | None = None,
) -> ComputedEvidence:
    """Analyse an API request log; record the campaign summary and each coordination cluster.

    A million-row log takes about 10 s, spent *outside* any transaction (call this
    outside ``atomic()``; the API runs it as a job); only the recording afterwards takes
    the write lock. A log in which no account is flagged is recorded too, as evidence that
    does not support the allegation.
    """
    ensure_accepts_evidence(incident, actor)
    computed = query_log_evidence_compute(upload=upload, thresholds=thresholds)
    return _record(incident=incident, actor=actor, computed=computed)


def query_log_evidence_compute(
    *, upload: Upload, thresholds: Mapping[str, Any] | None = None
) -> EvidenceRows:
    """The campaign summary's row and one row per coordination cluster (no writes). The
    raw log and the per-account table name accounts, so both are kept restricted."""
    from registry.cloning import CloningInputError, QueryLogThresholds, analyse_query_log

    try:
        summary, table = analyse_query_log(
            upload.content, thresholds=QueryLogThresholds(**(thresholds or {}))
        )
    except CloningInputError as error:
        raise _input_error(error, "file") from error
    log = Upload(upload.content, upload.filename, "text/csv", restricted=True)
    account_table = Upload(
        table, f"{upload.filename or 'query-log'}.accounts.csv", "text/csv", restricted=True
    )
    main = evidence_fields(summary.evidence_item(), access_mode="provider_telemetry")
    rows = [(main, [log, account_table])]
    rows += [(fields, [log]) for fields in _cluster_fields(summary)]
    return EvidenceRows(rows=rows, summary=summary.to_dict())


def _fingerprint_error(error: Exception) -> ValidationError:
    from registry.cloning import CommitmentMismatchError
    from registry.cloning.fingerprint import RESPONSES

    if isinstance(error, CommitmentMismatchError):
        return _input_error(error, "commitment")
    return _input_error(error, "responses" if str(error).startswith(RESPONSES) else "key_set")


def fingerprint_evidence_record(
    *,
    incident: CloningIncident,
    actor: AnyUser,
    commitment: Commitment,
    key_set: Upload,
    responses: Upload,
    false_trigger_rate: float,
    alpha: float = 0.05,
    match: str = "contains",
) -> ComputedEvidence:
    """Check the revealed key set against the cited commitment, then test the responses.

    A key set that does not hash to the commitment is refused (400 naming both digests):
    keys chosen after seeing the suspect's answers prove nothing.
    """
    ensure_accepts_evidence(incident, actor)
    require_fingerprint_commitment(commitment)
    computed = fingerprint_evidence_compute(
        commitment=commitment,
        key_set=key_set,
        responses=responses,
        false_trigger_rate=false_trigger_rate,
        alpha=alpha,
        match=match,
    )
    return _record(incident=incident, actor=actor, computed=computed)


def require_fingerprint_commitment(commitment: Commitment) -> None:
    """Only a fingerprint key-set commitment can vouch for revealed keys."""
    if commitment.kind != Commitment.Kind.FINGERPRINT_KEY_SET:
        raise ValidationError(
            {"commitment": [f"Commitment {commitment.pk} is a {commitment.get_kind_display()}."]}
        )


def fingerprint_evidence_compute(
    *,
    commitment: Commitment,
    key_set: Upload,
    responses: Upload,
    false_trigger_rate: float,
    alpha: float = 0.05,
    match: str = "contains",
) -> EvidenceRows:
    """The fingerprint verification's one row (no writes)."""
    from registry.cloning import CloningInputError, fingerprint_verify

    try:
        result = fingerprint_verify(
            key_set.content,
            responses.content,
            commitment=commitment.sha256,
            false_trigger_rate=false_trigger_rate,
            alpha=alpha,
            match=match,  # type: ignore[arg-type]
        )
    except CloningInputError as error:
        raise _fingerprint_error(error) from error
    item = result.evidence_item()
    # The Clopper-Pearson interval is for the trigger *rate*, so the statistic is k / n.
    item = {**item, "statistic_name": "trigger_rate"}
    item["statistic_value"] = result.keys_matched / result.keys_total
    fields = evidence_fields(item, access_mode="black_box_api", commitment=commitment)
    return EvidenceRows(rows=[(fields, [key_set, responses])], summary=result.to_dict())
