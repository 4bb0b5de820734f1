"""Reading an uploaded vote file into the counts a VoteDataset stores.

The parsing itself is the fragility engine's (``registry.fragility.votes``); this
module turns the stored read options into its arguments and its errors into
field-level validation errors, so a bad file is refused whole and names the record.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.core.exceptions import ValidationError

from registry.fragility.votes import (
    OUTCOME_TIE,
    ColumnMapping,
    VoteFileError,
    VoteTable,
    WinnerValues,
    read_votes,
)

_MEDIA_TYPES = {
    "csv": "text/csv",
    "tsv": "text/tab-separated-values",
    "jsonl": "application/x-ndjson",
    "clean_battle": "application/json",
    "parquet": "application/vnd.apache.parquet",
    "pair_counts": "text/csv",
    "leaderbot": "application/json",
}
GZIP_MAGIC = b"\x1f\x8b"


@dataclass(frozen=True)
class VoteSummary:
    format: str
    media_type: str
    n_votes: int
    n_models: int
    n_ties: int


def _read_mappings(options: Mapping[str, Any]) -> tuple[ColumnMapping, WinnerValues]:
    try:
        columns = ColumnMapping.parse(options.get("columns") or "")
        winner_values = WinnerValues.parse(options.get("winner_values") or "")
    except ValueError as exc:
        field = "columns" if "--columns" in str(exc) else "winner_values"
        raise ValidationError({field: [str(exc)]}) from exc
    return columns, winner_values


def check_read_options(options: Mapping[str, Any]) -> None:
    """Refuse (ValidationError naming the field) read options that cannot be used, before
    any file is read: the upload can be refused at once instead of failing later."""
    _read_mappings(options)


def read_dataset_votes(raw: bytes, options: Mapping[str, Any]) -> VoteTable:
    """Read votes with a dataset's stored options; errors name the field and record."""
    columns, winner_values = _read_mappings(options)
    try:
        return read_votes(
            raw,
            file_format=options.get("format") or "auto",
            columns=columns,
            winner_values=winner_values,
        )
    except VoteFileError as exc:
        raise ValidationError({"file": [str(exc)]}) from exc
    except ValueError as exc:
        raise ValidationError({"format": [str(exc)]}) from exc


def _refuse_control_characters(table: VoteTable) -> None:
    """Model names become database text: a NUL (which PostgreSQL cannot store) or another
    control character is refused at the door, naming the first record that carries it."""
    for index, name in enumerate(table.models):
        bad = next((char for char in name if unicodedata.category(char) == "Cc"), None)
        if bad is None:
            continue
        first = int(np.flatnonzero((table.model_a == index) | (table.model_b == index))[0])
        where = f"vote {table.ids[first]}" if table.ids is not None else f"record {first + 1}"
        raise ValidationError(
            {
                "file": [
                    f"{where}: model name {name!r} contains the control character "
                    f"U+{ord(bad):04X}; names must be printable text."
                ]
            }
        )


def summarise_votes(raw: bytes, options: Mapping[str, Any]) -> VoteSummary:
    table = read_dataset_votes(raw, options)
    _refuse_control_characters(table)
    media_type = _MEDIA_TYPES.get(table.file_format, "application/octet-stream")
    return VoteSummary(
        format=table.file_format,
        # The stored bytes are the upload's, so a compressed upload stays compressed.
        media_type="application/gzip" if raw.startswith(GZIP_MAGIC) else media_type,
        n_votes=table.n_votes,
        n_models=len(table.models),
        n_ties=int(np.count_nonzero(table.outcome == OUTCOME_TIE)),
    )
