"""Parquet vote files, in the layouts LMArena publishes (read with pyarrow, imported lazily).

Two layouts, chosen by the columns present:

* ``id, model_a, model_b, winner`` with ``winner`` in ``model_a``, ``model_b``, ``tie``,
  ``both_bad`` (arena-human-preference-100k/140k; ``--columns`` and ``--winner-values`` apply);
* the 55k layout: ``id, model_a, model_b`` and three 0/1 columns ``winner_model_a``,
  ``winner_model_b``, ``winner_tie``, exactly one of them 1 per row.

Only the needed columns are read (the published files also carry whole conversations). Models
and winners are dictionary-encoded by Arrow, so the cost per row is a few array operations.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from registry.fragility.votes import (
    OUTCOME_A,
    OUTCOME_B,
    OUTCOME_TIE,
    POSITIONS,
    ColumnMapping,
    TableParts,
    VoteFileError,
    resolve_vote_ids,
)

if TYPE_CHECKING:
    import pyarrow as pa

ONE_HOT_COLUMNS = {
    "winner_model_a": OUTCOME_A,
    "winner_model_b": OUTCOME_B,
    "winner_tie": OUTCOME_TIE,
}


def read_parquet_votes(
    data: bytes, columns: ColumnMapping, winner_codes: Mapping[str, int]
) -> TableParts:
    """Votes from Parquet bytes; errors name the 1-based row and the column."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(io.BytesIO(data))
    except (pa.ArrowException, OSError) as error:
        raise VoteFileError(f"not a readable Parquet file ({error})") from None
    present = set(parquet.schema_arrow.names)
    one_hot = columns.winner not in present and set(ONE_HOT_COLUMNS) <= present
    id_column = columns.id if columns.id is not None else ("id" if "id" in present else None)
    winner_columns = list(ONE_HOT_COLUMNS) if one_hot else [columns.winner]
    wanted = [columns.model_a, columns.model_b, *winner_columns]
    wanted += [id_column] if id_column else []
    missing = [name for name in wanted if name not in present]
    if missing:
        raise VoteFileError(f"missing column {missing[0]!r} (columns: {sorted(present)})")
    table = parquet.read(columns=wanted)
    if table.num_rows == 0:
        raise VoteFileError("the file contains no votes")
    names_a, codes_a = _encoded_text(table.column(columns.model_a), columns.model_a)
    names_b, codes_b = _encoded_text(table.column(columns.model_b), columns.model_b)
    models = tuple(sorted(set(names_a) | set(names_b)))
    position = {name: index for index, name in enumerate(models)}
    model_a = np.array([position[n] for n in names_a], dtype=np.int32)[codes_a]
    model_b = np.array([position[n] for n in names_b], dtype=np.int32)[codes_b]
    if one_hot:
        outcome = _one_hot_outcome(table)
    else:
        outcome = _winner_outcome(table.column(columns.winner), columns.winner, winner_codes)
    naming = POSITIONS
    if id_column:
        ids = [str(value) for value in _no_nulls(table.column(id_column), id_column).to_pylist()]

        def whole_rows(rows: list[int]) -> list[object]:
            return list(parquet.read().take(pa.array(rows, pa.int64())).to_pylist())

        naming = resolve_vote_ids(ids, explicit=columns.id is not None, whole_records=whole_rows)
    return models, model_a, model_b, outcome, naming


def _no_nulls(column: pa.ChunkedArray, name: str) -> pa.ChunkedArray:
    if column.null_count:
        first = int(np.flatnonzero(column.is_null().to_numpy(zero_copy_only=False))[0])
        raise VoteFileError("empty value", record=first + 1, field=name)
    return column


def _encoded_text(column: pa.ChunkedArray, name: str) -> tuple[list[str], np.ndarray]:
    """(distinct stripped values, code of every row); empty values name their first row."""
    import pyarrow as pa
    import pyarrow.compute as pc

    column = _no_nulls(column, name)
    if not pa.types.is_string(column.type) and not pa.types.is_large_string(column.type):
        column = column.cast(pa.string())
    encoded = pc.dictionary_encode(column).combine_chunks()
    values = [value.strip() for value in encoded.dictionary.to_pylist()]
    codes = encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    if "" in values:
        first = int(np.flatnonzero(codes == values.index(""))[0])
        raise VoteFileError("empty value", record=first + 1, field=name)
    # Values equal after stripping spaces are one name, as in the other readers.
    distinct = sorted(set(values))
    lookup = {value: index for index, value in enumerate(distinct)}
    remap = np.array([lookup[value] for value in values], dtype=np.int64)
    return distinct, remap[codes]


def _winner_outcome(
    column: pa.ChunkedArray, name: str, winner_codes: Mapping[str, int]
) -> np.ndarray:
    values, codes = _encoded_text(column, name)
    for code, value in enumerate(values):
        if value not in winner_codes:
            first = int(np.flatnonzero(codes == code)[0])
            raise VoteFileError(
                f"unknown winner value {value!r}; expected one of {sorted(winner_codes)}",
                record=first + 1,
                field=name,
            )
    return np.array([winner_codes[value] for value in values], dtype=np.int8)[codes]


def _one_hot_outcome(table: Any) -> np.ndarray:
    flags = []
    for name in ONE_HOT_COLUMNS:
        column = _no_nulls(table.column(name), name)
        flags.append(column.to_numpy().astype(np.int64))
    stacked = np.stack(flags, axis=1)
    bad = np.flatnonzero((stacked.sum(axis=1) != 1) | ((stacked != 0) & (stacked != 1)).any(axis=1))
    if bad.shape[0]:
        raise VoteFileError(
            "exactly one of winner_model_a, winner_model_b, winner_tie must be 1",
            record=int(bad[0]) + 1,
        )
    codes = np.array(list(ONE_HOT_COLUMNS.values()), dtype=np.int8)
    return codes[np.argmax(stacked, axis=1)]
