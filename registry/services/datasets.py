"""Vote datasets: an uploaded vote file, stored at once and read by a job.

The upload stores the bytes (hashed while they streamed in, ``registry.uploads``) and
records the dataset PENDING; the web request never parses the file, so a web worker's
memory does not grow with it. The dataset row is also the job that reads it
(``DATASET_READS``, run by ``registry.jobs.JobRunner``): a worker parses the stored
bytes with the dataset's read options and records its counts (READY), or fails it with
the record that could not be read (FAILED), refusing the file whole.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import IO, Any

from django.conf import settings
from django.core.exceptions import ValidationError

from registry.blobs import blob_write
from registry.datasets import VoteSummary, check_read_options, summarise_votes
from registry.errors import ConflictError
from registry.jobs import JobAttempt, JobRunner, JobStatuses
from registry.ledger import PUBLIC
from registry.models import Benchmark, StoredFile, VoteDataset
from registry.roles import ANALYST, AnyUser, recorded_user
from registry.services._base import record_insert, require_role, writing
from registry.services.files import stored_file_record

Status = VoteDataset.Status

# What a stored file is called until the job that reads it knows its format.
UNREAD_MEDIA_TYPE = "application/octet-stream"


@dataclass(frozen=True)
class DatasetIngestResult:
    dataset: VoteDataset
    created: bool


def dataset_ingest(
    *,
    actor: AnyUser | None,
    content: IO[bytes],
    fields: Mapping[str, Any],
    read_options: Mapping[str, Any] | None = None,
    filename: str = "",
) -> DatasetIngestResult:
    """Store a vote file and record its dataset PENDING, to be read by a worker; or
    return the dataset that already holds the same bytes for the benchmark.

    A repeat is recognised by the file's SHA-256 before anything is parsed. The bytes
    are written before the transaction; the check for an existing dataset runs again
    inside it, under the ledger lock every writer takes first, so concurrent uploads of
    the same bytes make one dataset and every other upload is answered with it. A
    dataset whose reading failed does not hold its bytes: they may be uploaded again
    with other read options (the same options would fail the same way, so the failed
    dataset is the answer to those).
    """
    require_role(actor, ANALYST, doing="upload vote datasets")
    options = dict(read_options or {})
    check_read_options(options)
    blob = blob_write(content=content, max_bytes=settings.REGISTRY_MAX_DATASET_UPLOAD_BYTES)
    benchmark = fields["benchmark"]
    existing = _dataset_holding(benchmark, blob.sha256, options)
    if existing is not None:
        return DatasetIngestResult(existing, created=False)
    with writing():
        existing = _dataset_holding(benchmark, blob.sha256, options)
        if existing is not None:
            return DatasetIngestResult(existing, created=False)
        dataset = record_insert(
            model=VoteDataset,
            actor=actor,
            scope=PUBLIC,
            fields={
                **fields,
                "file": stored_file_record(blob=blob, media_type=UNREAD_MEDIA_TYPE),
                "original_filename": filename[:255],
                "read_options": options,
                "status": Status.PENDING,
                "uploaded_by": recorded_user(actor),
            },
        )
        DATASET_READS.publish_on_commit(dataset.pk)
    return DatasetIngestResult(dataset, created=True)


def _dataset_holding(
    benchmark: Benchmark, sha256: str, options: Mapping[str, Any]
) -> VoteDataset | None:
    same_bytes = VoteDataset.objects.filter(benchmark=benchmark, file__sha256=sha256)
    holding = same_bytes.exclude(status=Status.FAILED).first()
    if holding is not None:
        return holding
    failed = same_bytes.filter(status=Status.FAILED).order_by("-id")
    return next((dataset for dataset in failed if dataset.read_options == options), None)


def dataset_require_ready(dataset: VoteDataset, *, doing: str) -> None:
    """Refuse (409) work that needs the dataset's votes while it is not READY."""
    if dataset.status == Status.READY:
        return
    if dataset.status == Status.FAILED:
        raise ConflictError(
            f"Dataset {dataset.pk} could not be read, so it cannot be used to {doing}: "
            f"{dataset.error} Upload the file again with read options that fit it."
        )
    raise ConflictError(
        f"Dataset {dataset.pk} is still being read (status '{dataset.status}'); it can be "
        f"used to {doing} once its status is 'ready'. GET the dataset to follow it."
    )


def dataset_refuse_failed(dataset: VoteDataset | None) -> None:
    """A record may name a dataset that is still being read, not one that failed."""
    if dataset is not None and dataset.status == Status.FAILED:
        raise ValidationError(
            {"dataset": [f"Dataset {dataset.pk} could not be read: {dataset.error}"]}
        )


def _read(job: JobAttempt) -> VoteSummary:
    dataset = VoteDataset.objects.select_related("file").get(pk=job.pk)
    with dataset.file.content.open("rb") as handle:
        raw = handle.read()
    return summarise_votes(raw, dataset.read_options)


def _record(dataset: VoteDataset, summary: VoteSummary) -> None:
    dataset.detected_format = summary.format
    dataset.n_votes = summary.n_votes
    dataset.n_models = summary.n_models
    dataset.n_ties = summary.n_ties
    StoredFile.objects.filter(pk=dataset.file_id, media_type=UNREAD_MEDIA_TYPE).update(
        media_type=summary.media_type
    )


# The task that reads a dataset (registry/tasks.py), by its registered name.
DATASET_READ_TASK = "registry.tasks.read_vote_dataset"

DATASET_READS = JobRunner(
    model=VoteDataset,
    statuses=JobStatuses(
        pending=Status.PENDING,
        running=(Status.PARSING,),
        done=Status.READY,
        failed=Status.FAILED,
    ),
    task=DATASET_READ_TASK,
    compute=_read,
    record=_record,
    scope=lambda dataset: PUBLIC,
)


def dataset_read_run(*, dataset_id: int) -> None:
    """Claim, read (outside any transaction) and record one dataset."""
    DATASET_READS.run(dataset_id)
