"""Vote datasets: an uploaded vote file, parsed and refused whole if any record is bad."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import IO, Any

from django.conf import settings

from registry.blobs import blob_write
from registry.datasets import summarise_votes
from registry.ledger import PUBLIC
from registry.models import Benchmark, VoteDataset
from registry.roles import ANALYST, AnyUser, recorded_user
from registry.services._base import record_insert, require_role, writing
from registry.services.files import stored_file_record


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
    """Store a vote file as a dataset of its benchmark, or return the dataset that
    already holds the same bytes there.

    A repeat is recognised by the file's SHA-256 (hashed while the upload streamed in,
    ``registry.uploads``) before anything is parsed. The bytes are written before the
    transaction; the check for an existing dataset runs again inside it, under the
    ledger lock every writer takes first, so concurrent uploads of the same bytes make
    one dataset and every other upload is answered with it.
    """
    require_role(actor, ANALYST, doing="upload vote datasets")
    options = dict(read_options or {})
    blob = blob_write(content=content, max_bytes=settings.REGISTRY_MAX_DATASET_UPLOAD_BYTES)
    benchmark = fields["benchmark"]
    existing = _dataset_holding(benchmark, blob.sha256)
    if existing is not None:
        return DatasetIngestResult(existing, created=False)
    content.seek(0)
    summary = summarise_votes(content.read(), options)
    with writing():
        stored = stored_file_record(blob=blob, media_type=summary.media_type)
        existing = _dataset_holding(benchmark, blob.sha256)
        if existing is not None:
            return DatasetIngestResult(existing, created=False)
        dataset = record_insert(
            model=VoteDataset,
            actor=actor,
            scope=PUBLIC,
            fields={
                **fields,
                "file": stored,
                "original_filename": filename[:255],
                "detected_format": summary.format,
                "read_options": options,
                "n_votes": summary.n_votes,
                "n_models": summary.n_models,
                "n_ties": summary.n_ties,
                "uploaded_by": recorded_user(actor),
            },
        )
    return DatasetIngestResult(dataset, created=True)


def _dataset_holding(benchmark: Benchmark, sha256: str) -> VoteDataset | None:
    return VoteDataset.objects.filter(benchmark=benchmark, file__sha256=sha256).first()
