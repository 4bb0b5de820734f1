"""Computation jobs: the statistics the registry computes from an upload, run by a worker.

An item-score analysis (200,000 items and 10,000 bootstrap rounds: ~12 s), a provenance
test (100,000 permutations), a query-log analysis (a million rows: ~9 s) or a fingerprint
verification (a large key set) would hold a web worker far longer than a request should,
so the API answers 202 with a ``ComputationJob`` and a worker computes it through the same
runner as fragility analyses (``registry.jobs.JobRunner``).

The request does only what is cheap, in this order: who may ask and the subject's rules
(the service's ``*_check``), the parameters, and, for a file small enough to read at once
(``DOOR_READ_BYTES``), the file itself with the parser the job uses, so a defective small
file is refused (400 naming the field and record) and nothing is written. Then the files
go to storage as blobs, outside any transaction, and the job row and its ``request``
ledger entry are recorded in one short transaction; the job is published once it commits.
The same request again (same kind, subject, parameters and file digests) answers with the
existing job unless that one failed, so a client that retries does not compute twice.

The worker reads the blobs, computes outside any transaction (a defect deeper in a large
file fails the job, its ``error`` naming the field and record), writes the files the
result keeps, and records in the runner's one short transaction: the item-score analysis
or the evidence items through their services (each with its ledger entry, the requester
as actor), and the job's ``complete`` entry.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import IO, Any

from django.core.exceptions import ValidationError

from registry.blobs import Blob, blob_read, blob_write
from registry.jobs import DATABASE_TRANSIENT_ERRORS, JobAttempt, JobRunner, JobStatuses
from registry.ledger import PUBLIC, LedgerScope, canonical_json, incident_scope, ledger_append
from registry.models import BenchmarkClaim, CloningIncident, Commitment, ComputationJob
from registry.roles import AnyUser, recorded_user
from registry.services._base import writing
from registry.services.evidence import (
    EvidenceRows,
    Upload,
    WrittenEvidence,
    ensure_accepts_evidence,
    evidence_rows_record,
    evidence_rows_write,
    fingerprint_evidence_compute,
    provenance_evidence_check,
    provenance_evidence_compute,
    query_log_evidence_compute,
    require_fingerprint_commitment,
)

# A file up to this size is read at the door with the job's own parser (a few
# milliseconds: a 256 KiB query log parses in ~20 ms), so that a defective small file is a
# 400 that writes nothing; a larger one is read by the job.
DOOR_READ_BYTES = 256 * 1024

Kind = ComputationJob.Kind
Status = ComputationJob.Status


@dataclass(frozen=True)
class JobInput:
    """One uploaded file of a request: the form field it came in, and its bytes."""

    field: str
    content: IO[bytes] | bytes
    filename: str
    media_type: str = "application/octet-stream"
    restricted: bool = False

    @property
    def size(self) -> int:
        if isinstance(self.content, bytes):
            return len(self.content)
        self.content.seek(0, 2)
        size = self.content.tell()
        self.content.seek(0)
        return size

    def read(self) -> bytes:
        if isinstance(self.content, bytes):
            return self.content
        self.content.seek(0)
        return self.content.read()


@dataclass(frozen=True)
class JobRequested:
    """The job and whether this call created it (False: the same request already had one)."""

    job: ComputationJob
    created: bool


# --- Requests -------------------------------------------------------------------------------


def item_analysis_job_request(
    *,
    actor: AnyUser | None,
    claim: BenchmarkClaim,
    upload: JobInput,
    bootstrap_rounds: int,
    seed: int,
) -> JobRequested:
    """Queue an item-score analysis of ``claim`` (see ``registry.item_claims``)."""
    from registry.item_claims import item_analysis_check, item_scores_read

    item_analysis_check(claim=claim, actor=actor, bootstrap_rounds=bootstrap_rounds, seed=seed)
    return _request(
        actor=actor,
        kind=Kind.ITEM_ANALYSIS,
        subject={"claim": claim},
        parameters={"bootstrap_rounds": bootstrap_rounds, "seed": seed},
        inputs=[upload],
        door_read=lambda files: _refuse_as(item_scores_read, files["file"]),
    )


def provenance_job_request(
    *,
    actor: AnyUser | None,
    incident: CloningIncident,
    upload: JobInput,
    parameters: Mapping[str, Any],
) -> JobRequested:
    """Queue an output-similarity provenance test for ``incident``; ``parameters`` are
    ``provenance_test``'s keyword arguments."""
    ensure_accepts_evidence(incident, actor)
    params = dict(parameters)

    def door_read(files: Mapping[str, bytes]) -> None:
        provenance_evidence_check(upload=Upload(files["file"], "door"), parameters=params)

    return _request(
        actor=actor,
        kind=Kind.PROVENANCE_TEST,
        subject={"incident": incident},
        parameters=params,
        inputs=[upload],
        door_read=door_read,
    )


def query_log_job_request(
    *,
    actor: AnyUser | None,
    incident: CloningIncident,
    upload: JobInput,
    thresholds: Mapping[str, Any],
) -> JobRequested:
    """Queue a query-log analysis for ``incident``; the log is stored restricted."""
    ensure_accepts_evidence(incident, actor)
    params = dict(thresholds)

    def door_read(files: Mapping[str, bytes]) -> None:
        query_log_evidence_compute(upload=Upload(files["file"], "door"), thresholds=params)

    return _request(
        actor=actor,
        kind=Kind.QUERY_LOG,
        subject={"incident": incident},
        parameters=params,
        inputs=[JobInput(upload.field, upload.content, upload.filename, "text/csv", True)],
        door_read=door_read,
    )


def fingerprint_job_request(
    *,
    actor: AnyUser | None,
    incident: CloningIncident,
    commitment: Commitment,
    key_set: JobInput,
    responses: JobInput,
    false_trigger_rate: float,
    alpha: float,
    match: str,
) -> JobRequested:
    """Queue a fingerprint verification: the key set against ``commitment``, then the
    responses against the keys."""
    ensure_accepts_evidence(incident, actor)
    require_fingerprint_commitment(commitment)
    params: dict[str, Any] = {
        "false_trigger_rate": false_trigger_rate,
        "alpha": alpha,
        "match": match,
    }

    def door_read(files: Mapping[str, bytes]) -> None:
        fingerprint_evidence_compute(
            commitment=commitment,
            key_set=Upload(files["key_set"], "door"),
            responses=Upload(files["responses"], "door"),
            **params,
        )

    return _request(
        actor=actor,
        kind=Kind.FINGERPRINT_VERIFICATION,
        subject={"incident": incident, "commitment": commitment},
        parameters=params,
        inputs=[key_set, responses],
        door_read=door_read,
    )


def _refuse_as(read: Callable[[bytes], object], content: bytes) -> None:
    read(content)


def _request(
    *,
    actor: AnyUser | None,
    kind: str,
    subject: Mapping[str, Any],
    parameters: dict[str, Any],
    inputs: Sequence[JobInput],
    door_read: Callable[[Mapping[str, bytes]], None],
) -> JobRequested:
    if all(upload.size <= DOOR_READ_BYTES for upload in inputs):
        door_read({upload.field: upload.read() for upload in inputs})
    blobs = [blob_write(content=upload.content) for upload in inputs]  # before the rows
    described = [
        _input_description(upload, blob) for upload, blob in zip(inputs, blobs, strict=True)
    ]
    request_sha256 = hashlib.sha256(
        canonical_json(
            {
                "kind": kind,
                **{name: record.pk for name, record in subject.items()},
                "parameters": parameters,
                "inputs": [(i["field"], i["sha256"], i["restricted"]) for i in described],
            }
        )
    ).hexdigest()
    with writing():
        existing = (
            ComputationJob.objects.filter(request_sha256=request_sha256)
            .exclude(status=Status.FAILED)
            .order_by("pk")
            .first()
        )
        if existing is not None:
            return JobRequested(existing, created=False)
        job = ComputationJob(
            kind=kind,
            **subject,
            parameters=parameters,
            inputs=described,
            request_sha256=request_sha256,
            requested_by=recorded_user(actor),
        )
        job.full_clean()
        job.save()
        ledger_append(instance=job, action="request", actor=actor, scope=computation_scope(job))
        COMPUTATION_JOBS.publish_on_commit(job.pk)
    return JobRequested(job, created=True)


def _input_description(upload: JobInput, blob: Blob) -> dict[str, Any]:
    return {
        "field": upload.field,
        "filename": upload.filename[:255],
        "media_type": upload.media_type[:100],
        "restricted": upload.restricted,
        "sha256": blob.sha256,
        "size_bytes": blob.size_bytes,
    }


def computation_scope(job: ComputationJob) -> LedgerScope:
    """A claim's jobs are public records; an incident's are in the incident's scope."""
    return PUBLIC if job.incident_id is None else incident_scope(job.incident_id)


# --- The worker's side ----------------------------------------------------------------------


@dataclass(frozen=True)
class ItemAnalysisComputed:
    """An item-score analysis computed and its file written, ready to be recorded."""

    blob: Blob
    filename: str
    results: dict[str, Any]


@dataclass(frozen=True)
class ComputationOutcome:
    """What a job produced, with its files already in storage."""

    summary: Blob
    evidence: WrittenEvidence | None = None
    item_analysis: ItemAnalysisComputed | None = None


def _uploads(job: ComputationJob) -> dict[str, Upload]:
    return {
        described["field"]: Upload(
            content=blob_read(described["sha256"]),
            filename=described["filename"],
            media_type=described["media_type"],
            restricted=described["restricted"],
        )
        for described in job.inputs
    }


def _compute_item_analysis(job: ComputationJob, files: Mapping[str, Upload]) -> ComputationOutcome:
    from registry.item_claims import item_analysis_compute

    upload = files["file"]
    results = item_analysis_compute(content=upload.content, **job.parameters)
    blob = blob_write(content=upload.content)
    computed = ItemAnalysisComputed(blob=blob, filename=upload.filename, results=results)
    return ComputationOutcome(summary=_summary_write(results), item_analysis=computed)


def _compute_evidence(job: ComputationJob, files: Mapping[str, Upload]) -> ComputationOutcome:
    rows = _EVIDENCE_COMPUTE[job.kind](job, files)
    written = evidence_rows_write(rows)
    return ComputationOutcome(summary=_summary_write(rows.summary), evidence=written)


_EVIDENCE_COMPUTE: dict[str, Callable[[ComputationJob, Mapping[str, Upload]], EvidenceRows]] = {
    Kind.PROVENANCE_TEST: lambda job, files: provenance_evidence_compute(
        upload=files["file"], parameters=job.parameters
    ),
    Kind.QUERY_LOG: lambda job, files: query_log_evidence_compute(
        upload=files["file"], thresholds=job.parameters
    ),
    Kind.FINGERPRINT_VERIFICATION: lambda job, files: fingerprint_evidence_compute(
        commitment=_commitment(job),
        key_set=files["key_set"],
        responses=files["responses"],
        **job.parameters,
    ),
}


def _commitment(job: ComputationJob) -> Commitment:
    if job.commitment is None:  # the row's constraint rules it out
        raise ValidationError({"commitment": ["The job names no commitment."]})
    return job.commitment


def _summary_write(summary: Mapping[str, Any]) -> Blob:
    return blob_write(content=canonical_json(summary))


def computation_summary(job: ComputationJob) -> dict[str, Any] | None:
    """The summary a finished job produced (None before): its blob, read back."""
    import json

    if not job.summary_sha256:
        return None
    summary: dict[str, Any] = json.loads(blob_read(job.summary_sha256))
    return summary


def _compute(attempt: JobAttempt) -> ComputationOutcome:
    job = ComputationJob.objects.select_related("commitment").get(pk=attempt.pk)
    files = _uploads(job)
    attempt.update(progress=10)
    if job.kind == Kind.ITEM_ANALYSIS:
        outcome = _compute_item_analysis(job, files)
    else:
        outcome = _compute_evidence(job, files)
    attempt.update(progress=90)
    return outcome


def _record(job: ComputationJob, outcome: ComputationOutcome) -> None:
    """Inside the runner's finishing transaction: the results through their services."""
    from registry.item_claims import item_analysis_insert

    actor = job.requested_by
    if outcome.item_analysis is not None:
        claim = BenchmarkClaim.objects.get(pk=job.claim_id or 0)
        computed = outcome.item_analysis
        recorded = item_analysis_insert(
            claim=claim,
            actor=actor,
            blob=computed.blob,
            filename=computed.filename,
            results=computed.results,
        )
        job.item_analysis = recorded.analysis
    if outcome.evidence is not None:
        incident = CloningIncident.objects.get(pk=job.incident_id or 0)
        evidence = evidence_rows_record(incident=incident, actor=actor, written=outcome.evidence)
        job.evidence.set(evidence)
    job.summary_sha256 = outcome.summary.sha256


# The task that runs a computation job (registry/tasks.py), by its registered name.
COMPUTATION_TASK = "registry.tasks.run_computation_job"

COMPUTATION_JOBS = JobRunner(
    model=ComputationJob,
    statuses=JobStatuses(
        pending=Status.PENDING,
        running=(Status.RUNNING,),
        done=Status.DONE,
        failed=Status.FAILED,
    ),
    task=COMPUTATION_TASK,
    compute=_compute,
    record=_record,
    scope=computation_scope,
    transient=DATABASE_TRANSIENT_ERRORS,
)


def computation_job_run(*, job_id: int) -> None:
    """Claim, compute (outside any transaction) and record one computation job."""
    COMPUTATION_JOBS.run(job_id)
