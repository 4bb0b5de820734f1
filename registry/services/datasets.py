"""Vote datasets: an uploaded vote file, parsed and refused whole if any record is bad."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import IO, Any

from django.conf import settings

from registry.blobs import blob_write
from registry.datasets import summarise_votes
from registry.ledger import PUBLIC
from registry.models import VoteDataset
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
    """Parse a vote file, refuse it whole if any record is bad, else store it.

    Parsing and writing the file happen before the transaction; the same bytes
    uploaded again for the same benchmark return the existing dataset instead of a
    second copy.
    """
    require_role(actor, ANALYST, doing="upload vote datasets")
    options = dict(read_options or {})
    raw = content.read()
    summary = summarise_votes(raw, options)
    blob = blob_write(content=raw, max_bytes=settings.REGISTRY_MAX_DATASET_UPLOAD_BYTES)
    with writing():
        stored = stored_file_record(blob=blob, media_type=summary.media_type)
        existing = VoteDataset.objects.filter(benchmark=fields["benchmark"], file=stored).first()
        if existing:
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
