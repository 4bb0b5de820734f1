"""Vectorised reader for *simple* CSV/TSV: no quotes, no carriage returns, one row per line.

Python's ``csv`` module needs about 3 s for 2 million arena rows on the reference 2-core
machine, more than the whole read-fit-interval budget. An arena export is almost always simple
(model names do not contain the delimiter), so this path finds newline and delimiter bytes with
numpy, hashes each needed field's bytes, and groups equal fields by hash. Every group is then
checked byte-for-byte against its representative, so a hash collision can never merge two
different names: it only sends the file to the ``csv`` module path.

Whenever anything is unusual (quotes, ragged rows, empty fields, surrounding spaces, unknown
winner values) this returns None and the caller re-reads with the
``csv`` module, which produces the precise :class:`VoteFileError`.
"""

from __future__ import annotations

import codecs
from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from registry.fragility.votes import ColumnMapping, TableParts, VoteIds

ROWS_PER_CHUNK = 1 << 18  # bounds the temporary arrays of the collision check
MAX_FIELD_BYTES = 256
NEWLINE = 10
# Odd 64-bit multipliers (from splitmix64); wrapping multiplication mixes each 8-byte word.
HASH_MULTIPLIERS = np.array(
    [0x9E3779B97F4A7C15, 0xBF58476D1CE4E5B9, 0x94D049BB133111EB, 0xD6E8FEB86659FD93],
    dtype=np.uint64,
)


def read_simple_csv(
    data: bytes, delimiter: str, columns: ColumnMapping, winner_codes: Mapping[str, int]
) -> TableParts | None:
    """Return the vote table of a simple CSV, or None if the file needs the general parser."""
    if b'"' in data or b"\r" in data:
        return None
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    header_end = data.find(b"\n")
    if header_end < 0:
        return None
    header = [name.strip() for name in data[:header_end].decode("utf-8").split(delimiter)]
    id_column = columns.id if columns.id is not None else ("id" if "id" in header else None)
    wanted = [columns.model_a, columns.model_b, columns.winner] + ([id_column] if id_column else [])
    if len(header) < 2 or any(name not in header for name in wanted):
        return None
    body = np.frombuffer(data, dtype=np.uint8, offset=header_end + 1)
    body = body[: _trimmed_length(body)]
    bounds = _field_bounds(body, ord(delimiter), len(header))
    if bounds is None:
        return None
    fields = {name: _column_bounds(bounds, header.index(name)) for name in wanted}
    encoded = _encode_votes(body, fields, columns, winner_codes)
    if encoded is None:
        return None
    models, model_a, model_b, outcome = encoded
    from registry.fragility.votes import POSITIONS

    if id_column is None:
        return models, model_a, model_b, outcome, POSITIONS
    naming = _vote_ids(body, bounds, fields[id_column], explicit=columns.id is not None)
    if naming is None:
        return None
    return models, model_a, model_b, outcome, naming


def _trimmed_length(body: np.ndarray) -> int:
    length = body.shape[0]
    while length and body[length - 1] == NEWLINE:
        length -= 1
    return length


def _field_bounds(
    body: np.ndarray, delimiter: int, n_fields: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Line starts, line ends and the (rows x delimiters) offsets, or None when a row is ragged."""
    if body.shape[0] == 0 or n_fields < 2:
        return None
    line_ends = np.append(np.flatnonzero(body == NEWLINE), body.shape[0])
    line_starts = np.concatenate(([0], line_ends[:-1] + 1))
    delimiter_offsets = np.flatnonzero(body == delimiter)
    n_rows = line_ends.shape[0]
    if delimiter_offsets.shape[0] != n_rows * (n_fields - 1):
        return None
    delimiters = delimiter_offsets.reshape(n_rows, n_fields - 1)
    # With the total count right and offsets sorted, every row has exactly n_fields - 1
    # delimiters iff each row's first and last delimiter fall inside that row.
    if not ((delimiters[:, 0] >= line_starts).all() and (delimiters[:, -1] < line_ends).all()):
        return None
    return line_starts, line_ends, delimiters


def _column_bounds(
    bounds: tuple[np.ndarray, np.ndarray, np.ndarray], column: int
) -> tuple[np.ndarray, np.ndarray]:
    line_starts, line_ends, delimiters = bounds
    start = line_starts if column == 0 else delimiters[:, column - 1] + 1
    end = line_ends if column == delimiters.shape[1] else delimiters[:, column]
    return start, end


def _encode_votes(
    body: np.ndarray,
    fields: dict[str, tuple[np.ndarray, np.ndarray]],
    columns: ColumnMapping,
    winner_codes: Mapping[str, int],
) -> tuple[tuple[str, ...], np.ndarray, np.ndarray, np.ndarray] | None:
    grouped = [
        _group_equal_fields(body, *fields[name])
        for name in (columns.model_a, columns.model_b, columns.winner)
    ]
    if any(group is None for group in grouped):
        return None
    (codes_a, values_a), (codes_b, values_b), (codes_w, values_w) = grouped  # type: ignore[misc]
    if any(value not in winner_codes for value in values_w):
        return None
    models = tuple(sorted(set(values_a) | set(values_b)))
    position = {name: index for index, name in enumerate(models)}
    model_a = np.array([position[name] for name in values_a], dtype=np.int32)[codes_a]
    model_b = np.array([position[name] for name in values_b], dtype=np.int32)[codes_b]
    outcome = np.array([winner_codes[value] for value in values_w], dtype=np.int8)[codes_w]
    return models, model_a, model_b, outcome


def _group_equal_fields(
    body: np.ndarray, starts: np.ndarray, ends: np.ndarray
) -> tuple[np.ndarray, list[str]] | None:
    """Codes (one per row) and the distinct decoded values, or None if unusual."""
    lengths = ends - starts
    if lengths.min() <= 0 or lengths.max() > MAX_FIELD_BYTES:
        return None
    words = _field_words(body, starts, lengths)
    first_rows, codes = _codes_of_hashes(_hash_words(words, lengths))
    for low in range(0, codes.shape[0], ROWS_PER_CHUNK):
        chunk = slice(low, low + ROWS_PER_CHUNK)
        if not (words[chunk] == words[first_rows[codes[chunk]]]).all():
            return None  # a hash collision: correctness first, the csv module decides
    values = [
        body[start : start + length].tobytes().decode("utf-8")
        for start, length in zip(
            starts[first_rows].tolist(), lengths[first_rows].tolist(), strict=True
        )
    ]
    if any(value != value.strip() for value in values):
        return None
    return codes, values


def _codes_of_hashes(hashes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(a representative row per distinct hash, code of every row), codes ordered by hash.

    Sorting two million hashes costs ~90 ms per column; an arena has a few hundred distinct
    names, so distinct values are found on a prefix and every row is located by binary search,
    widening the distinct set only with the rows it missed.
    """
    distinct = np.unique(hashes[:4096])
    while True:
        codes = np.minimum(np.searchsorted(distinct, hashes), distinct.shape[0] - 1)
        missing = distinct[codes] != hashes
        if not missing.any():
            break
        distinct = np.union1d(distinct, hashes[missing])
    # Any row of a group can represent it (every row is compared with it afterwards); with
    # repeated indices the assignment keeps one of the writers, which is all that is needed.
    representative_rows = np.empty(distinct.shape[0], dtype=np.int64)
    representative_rows[codes] = np.arange(hashes.shape[0])
    return representative_rows, codes


def _field_words(body: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Each field's bytes as little-endian uint64 words, zero beyond the field's end.

    A strided view exposes "the 8 bytes starting at offset i" as one uint64 for every i, so a
    word costs one gather instead of eight byte gathers.
    """
    padded = np.concatenate([body, np.zeros(8, dtype=np.uint8)])
    windows = np.lib.stride_tricks.as_strided(padded, shape=(body.shape[0] + 1, 8), strides=(1, 1))
    as_words = windows.view(np.uint64)[:, 0]
    n_words = int(-(-lengths.max() // 8))
    words = np.empty((starts.shape[0], n_words), dtype=np.uint64)
    for column in range(n_words):
        valid_bytes = np.clip(lengths - 8 * column, 0, 8).astype(np.uint64)
        # (1 << 64) overflows, so a full word's mask is built from two half shifts.
        mask = (np.uint64(1) << (np.uint64(4) * valid_bytes)) << (np.uint64(4) * valid_bytes)
        mask -= np.uint64(1)
        words[:, column] = as_words[np.minimum(starts + 8 * column, body.shape[0])] & mask
    return words


def _hash_words(words: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    hashes = lengths.astype(np.uint64)
    for column in range(words.shape[1]):
        multiplier = HASH_MULTIPLIERS[column % HASH_MULTIPLIERS.shape[0]]
        hashes = (hashes ^ words[:, column]) * multiplier
        hashes ^= hashes >> np.uint64(29)
    return hashes


def _vote_ids(
    body: np.ndarray,
    bounds: tuple[np.ndarray, np.ndarray, np.ndarray],
    field: tuple[np.ndarray, np.ndarray],
    *,
    explicit: bool,
) -> VoteIds | None:
    """The id column's naming (duplicates judged on whole lines); None if an id is unusual."""
    from registry.fragility.votes import resolve_vote_ids

    raw = body.tobytes()
    starts, ends = field
    ids = [
        raw[start:end].decode("utf-8")
        for start, end in zip(starts.tolist(), ends.tolist(), strict=True)
    ]
    if any(value != value.strip() for value in ids):
        return None
    line_starts, line_ends, _ = bounds

    def whole_lines(wanted: list[int]) -> list[object]:
        return [raw[line_starts[index] : line_ends[index]] for index in wanted]

    return resolve_vote_ids(ids, explicit=explicit, whole_records=whole_lines)
