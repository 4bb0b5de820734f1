"""Aggregated vote files: per-pair counts instead of one record per vote.

Many leaderboards publish only how often each side of a pair won. Two layouts are read:

* ``pair_counts``: a CSV/TSV with ``model_a,model_b,wins_a,wins_b,ties`` and optionally
  ``ties_bothbad`` (one row per ordered pair; a pair may not repeat);
* ``leaderbot``: the JSON object the ``leaderbot`` package ships (``leaderbot.data.load``):
  ``models`` (names), ``X`` (index pairs ``[i, j]``) and ``Y`` (``[wins_i, wins_j, ties]`` or
  with a fourth ``both_bad`` count).

Each count is expanded into that many votes, so the fit and the votes-to-flip search are the
same as for per-vote files. A vote is named by its pair, outcome and 1-based ordinal within
that count ("A vs B: wins_b #3"), built on demand, so a votes-to-flip answer still names exactly
which votes to drop. Both tie columns are ties (LMSYS counts "both bad" as a tie).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from typing import overload

import numpy as np

from registry.fragility.votes import (
    ID_AGGREGATED,
    OUTCOME_A,
    OUTCOME_B,
    OUTCOME_TIE,
    TableParts,
    VoteFileError,
    VoteIds,
)

COUNT_COLUMNS = ("wins_a", "wins_b", "ties", "ties_bothbad")
COUNT_OUTCOMES = np.array([OUTCOME_A, OUTCOME_B, OUTCOME_TIE, OUTCOME_TIE], dtype=np.int8)


class AggregatedIds(Sequence[str]):
    """Vote names "A vs B: outcome #ordinal" computed from the count blocks, never stored."""

    def __init__(self, labels: list[str], counts: np.ndarray) -> None:
        self._labels = labels  # one "A vs B" per pair row
        self._counts = counts  # (pairs, 4)
        flat = counts.reshape(-1)
        self._block_starts = np.concatenate(([0], np.cumsum(flat)[:-1]))
        self._nonempty = np.flatnonzero(flat)
        self._total = int(flat.sum())

    def __len__(self) -> int:
        return self._total

    @overload
    def __getitem__(self, index: int) -> str: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[str]: ...

    def __getitem__(self, index: int | slice) -> str | Sequence[str]:
        if isinstance(index, slice):
            return [self[position] for position in range(*index.indices(self._total))]
        if not -self._total <= index < self._total:
            raise IndexError(index)
        index %= self._total
        starts = self._block_starts[self._nonempty]
        block = int(self._nonempty[np.searchsorted(starts, index, side="right") - 1])
        row, column = divmod(block, len(COUNT_COLUMNS))
        ordinal = index - int(self._block_starts[block]) + 1
        return f"{self._labels[row]}: {COUNT_COLUMNS[column]} #{ordinal}"


def expand_counts(
    models: tuple[str, ...], pair_a: np.ndarray, pair_b: np.ndarray, counts: np.ndarray
) -> TableParts:
    """Votes (in pair order, then outcome, then ordinal) from per-pair counts (pairs x 4)."""
    flat = counts.reshape(-1)
    block_a = np.repeat(pair_a, len(COUNT_COLUMNS))
    block_b = np.repeat(pair_b, len(COUNT_COLUMNS))
    block_outcome = np.tile(COUNT_OUTCOMES, pair_a.shape[0])
    labels = [f"{models[a]} vs {models[b]}" for a, b in zip(pair_a, pair_b, strict=True)]
    return (
        models,
        np.repeat(block_a, flat).astype(np.int32),
        np.repeat(block_b, flat).astype(np.int32),
        np.repeat(block_outcome, flat),
        VoteIds(AggregatedIds(labels, counts), ID_AGGREGATED),
    )


def read_pair_counts(text: str) -> TableParts:
    """A pair-count CSV or TSV; errors name the record (row after the header) and field."""
    header_line = text.lstrip().split("\n", 1)[0]
    delimiter = "\t" if header_line.count("\t") > header_line.count(",") else ","
    reader = csv.DictReader(io.StringIO(text.lstrip()), delimiter=delimiter)
    fieldnames = [name.strip() for name in reader.fieldnames or []]
    reader.fieldnames = fieldnames
    missing = [
        name for name in ("model_a", "model_b", *COUNT_COLUMNS[:3]) if name not in fieldnames
    ]
    if missing:
        raise VoteFileError(f"a pair-count file needs the columns {', '.join(missing)}")
    names: list[tuple[str, str]] = []
    rows: list[list[int]] = []
    seen: dict[tuple[str, str], int] = {}
    for record_number, record in enumerate(reader, start=1):
        pair = (_name(record, "model_a", record_number), _name(record, "model_b", record_number))
        if pair in seen:
            raise VoteFileError(
                f"pair {pair[0]!r} vs {pair[1]!r} repeats record {seen[pair]}",
                record=record_number,
            )
        seen[pair] = record_number
        names.append(pair)
        rows.append([_count(record, column, record_number) for column in COUNT_COLUMNS])
    if not rows:
        raise VoteFileError("the file has a header but no pairs")
    models = tuple(sorted({name for pair in names for name in pair}))
    index = {name: position for position, name in enumerate(models)}
    return _checked_expansion(
        models,
        np.array([index[a] for a, _ in names], dtype=np.int64),
        np.array([index[b] for _, b in names], dtype=np.int64),
        np.array(rows, dtype=np.int64),
    )


def _name(record: dict[str, str | None], column: str, record_number: int) -> str:
    value = (record.get(column) or "").strip()
    if not value:
        raise VoteFileError("empty value", record=record_number, field=column)
    return value


def _count(record: dict[str, str | None], column: str, record_number: int) -> int:
    raw = record.get(column)
    if raw is None or not raw.strip():
        if column == "ties_bothbad":
            return 0
        raise VoteFileError("empty value", record=record_number, field=column)
    try:
        value = int(raw.strip())
    except ValueError:
        raise VoteFileError(
            f"{raw.strip()!r} is not a whole number", record=record_number, field=column
        ) from None
    if value < 0:
        raise VoteFileError(f"{value} is negative", record=record_number, field=column)
    return value


def read_leaderbot(text: str) -> TableParts:
    """leaderbot's ``{"models", "X", "Y"}`` JSON; errors name the pair (1-based) and the key."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise VoteFileError(f"not valid JSON ({error.msg}, line {error.lineno})") from None
    if not isinstance(value, dict) or not {"models", "X", "Y"} <= value.keys():
        raise VoteFileError('a leaderbot file is a JSON object with "models", "X" and "Y"')
    models = _leaderbot_models(value["models"])
    pairs, counts = value["X"], value["Y"]
    if not isinstance(pairs, list) or not isinstance(counts, list) or len(pairs) != len(counts):
        raise VoteFileError('"X" and "Y" must be lists of the same length')
    pair_a, pair_b = np.zeros(len(pairs), np.int64), np.zeros(len(pairs), np.int64)
    table = np.zeros((len(pairs), len(COUNT_COLUMNS)), np.int64)
    for position, (pair, count) in enumerate(zip(pairs, counts, strict=True)):
        record = position + 1
        if not _int_list(pair, (2,)) or not all(0 <= i < len(models) for i in pair):
            raise VoteFileError(
                f"expected two model indices below {len(models)}", record=record, field="X"
            )
        if not _int_list(count, (3, 4)) or min(count) < 0:
            raise VoteFileError("expected 3 or 4 non-negative counts", record=record, field="Y")
        pair_a[position], pair_b[position] = pair
        table[position, : len(count)] = count
    if not pairs:
        raise VoteFileError('"X" lists no pairs')
    # leaderbot sorts its names; ours must be sorted too (rank ties break by name order).
    order = np.argsort(np.array(models, dtype=object), kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(order.shape[0])
    sorted_models = tuple(models[i] for i in order)
    return _checked_expansion(sorted_models, rank[pair_a], rank[pair_b], table)


def _leaderbot_models(value: object) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(n, str) and n.strip() for n in value):
        raise VoteFileError('"models" must be a list of non-empty names')
    names = [name.strip() for name in value]
    if len(set(names)) != len(names):
        repeated = next(name for name in names if names.count(name) > 1)
        raise VoteFileError(f'"models" names {repeated!r} twice')
    return names


def _int_list(value: object, lengths: tuple[int, ...]) -> bool:
    return (
        isinstance(value, list)
        and len(value) in lengths
        and all(isinstance(item, int) and not isinstance(item, bool) for item in value)
    )


def _checked_expansion(
    models: tuple[str, ...], pair_a: np.ndarray, pair_b: np.ndarray, counts: np.ndarray
) -> TableParts:
    if counts.sum() == 0:
        raise VoteFileError("the file contains no votes (every count is 0)")
    return expand_counts(models, pair_a, pair_b, counts)
