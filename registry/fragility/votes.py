"""Reading pairwise *votes* from CSV/TSV, JSON lines and LMSYS ``clean_battle`` JSON arrays.

A *vote* is one human (or judge) preference between two models: ``model_a``, ``model_b`` and
the outcome ``winner`` (model_a wins, model_b wins, or tie). A vote is identified by its 1-based
position among the file's records (a CSV header is not a record) or, when the file has an id
column whose values are unique, by that id.

Nothing here imports Django: the upload view, the CLI and the benchmarks all call
:func:`read_votes` on bytes or a path. Any defect raises :class:`VoteFileError` naming the record
and the problem, so the caller stores nothing.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from registry.fragility import _fastcsv

FORMATS = ("auto", "csv", "tsv", "jsonl", "clean_battle")
OUTCOME_A, OUTCOME_B, OUTCOME_TIE = 0, 1, 2
CANONICAL_OUTCOMES = {"model_a": OUTCOME_A, "model_b": OUTCOME_B, "tie": OUTCOME_TIE}
DEFAULT_WINNER_VALUES: dict[str, tuple[str, ...]] = {
    "model_a": ("model_a",),
    "model_b": ("model_b",),
    "tie": ("tie", "tie (bothbad)"),
}
COLUMN_ROLES = ("model_a", "model_b", "winner", "id")


class VoteFileError(ValueError):
    """An uploaded vote file that cannot be read; ``record`` is 1-based, None for the whole file."""

    def __init__(
        self, message: str, *, record: int | None = None, field: str | None = None
    ) -> None:
        self.record = record
        self.field = field
        self.problem = message
        where = "file" if record is None else f"record {record}"
        if field is not None:
            where += f", field {field!r}"
        super().__init__(f"{where}: {message}")


@dataclass(frozen=True)
class ColumnMapping:
    """Which source column plays each role; ``id=None`` means use an ``id`` column if present."""

    model_a: str = "model_a"
    model_b: str = "model_b"
    winner: str = "winner"
    id: str | None = None

    @classmethod
    def parse(cls, text: str) -> ColumnMapping:
        """Parse ``model_a=left,model_b=right,winner=winner,id=row``."""
        values = _parse_assignments(text, allowed=COLUMN_ROLES, what="--columns")
        return cls(**{role: value[0] for role, value in values.items()})


@dataclass(frozen=True)
class WinnerValues:
    """Which source values of the winner column mean model_a wins, model_b wins, or a tie."""

    mapping: Mapping[str, tuple[str, ...]] = field(
        default_factory=lambda: dict(DEFAULT_WINNER_VALUES)
    )

    @classmethod
    def parse(cls, text: str) -> WinnerValues:
        """Parse ``model_a=left,model_b=right,tie=tie|draw``; unnamed roles keep defaults."""
        values = _parse_assignments(text, allowed=tuple(CANONICAL_OUTCOMES), what="--winner-values")
        return cls({**DEFAULT_WINNER_VALUES, **values})

    def code_of(self) -> dict[str, int]:
        """Source value -> outcome code."""
        return {
            value: CANONICAL_OUTCOMES[role]
            for role, values in self.mapping.items()
            for value in values
        }


@dataclass(frozen=True)
class VoteTable:
    """Votes as integer arrays; vote v is models[model_a[v]] vs models[model_b[v]], outcome[v]."""

    models: tuple[str, ...]
    model_a: np.ndarray
    model_b: np.ndarray
    outcome: np.ndarray
    sha256: str
    file_format: str
    ids: tuple[str, ...] | None = None

    @property
    def n_votes(self) -> int:
        """Number of votes (records) read."""
        return int(self.outcome.shape[0])

    def vote_id(self, index: int) -> int | str:
        """The public identifier of the vote at 0-based ``index``: its id, else its position."""
        return self.ids[index] if self.ids is not None else index + 1


def _parse_assignments(text: str, *, allowed: tuple[str, ...], what: str) -> dict[str, tuple]:
    result: dict[str, tuple[str, ...]] = {}
    for part in text.split(","):
        if not part.strip():
            continue
        role, sep, value = part.partition("=")
        role = role.strip()
        if not sep or role not in allowed or not value.strip():
            raise ValueError(f"{what}: expected ROLE=VALUE with ROLE in {allowed}, got {part!r}")
        result[role] = tuple(item.strip() for item in value.split("|"))
    return result


def read_votes(
    source: bytes | str | Path,
    *,
    file_format: str = "auto",
    columns: ColumnMapping | None = None,
    winner_values: WinnerValues | None = None,
) -> VoteTable:
    """Read votes from bytes (an upload) or a file path; raise VoteFileError on any defect."""
    data = source if isinstance(source, bytes) else Path(source).read_bytes()
    if file_format not in FORMATS:
        raise ValueError(f"unknown format {file_format!r}; choose from {FORMATS}")
    columns = columns or ColumnMapping()
    winner_codes = (winner_values or WinnerValues()).code_of()
    sha256 = hashlib.sha256(data).hexdigest()
    text = _decode(data)
    if not text.strip():
        raise VoteFileError("the file is empty")
    detected = _detect_format(text)
    chosen = detected if file_format == "auto" else file_format
    _check_declared_format(chosen, detected)
    if chosen in ("csv", "tsv"):
        delimiter = "\t" if chosen == "tsv" else ","
        table = _fastcsv.read_simple_csv(data, delimiter, columns, winner_codes)
        if table is None:  # quoting, ragged rows or odd whitespace: let the csv module decide
            table = _columns_to_table(_csv_records(text, delimiter), columns, winner_codes)
    else:
        records = _json_array_records(text) if chosen == "clean_battle" else _jsonl_records(text)
        table = _columns_to_table(records, columns, winner_codes)
    models, model_a, model_b, outcome, ids = table
    return VoteTable(models, model_a, model_b, outcome, sha256, chosen, ids)


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise VoteFileError(
            f"not UTF-8: byte {error.start} (line {line}) cannot be decoded", record=None
        ) from None


def _detect_format(text: str) -> str:
    stripped = text.lstrip()
    if stripped.startswith("["):
        return "clean_battle"
    if stripped.startswith("{"):
        return "jsonl"
    header = stripped.split("\n", 1)[0]
    return "tsv" if header.count("\t") > header.count(",") else "csv"


def _check_declared_format(chosen: str, detected: str) -> None:
    json_like = {"clean_battle", "jsonl"}
    if chosen == detected or (chosen in ("csv", "tsv") and detected in ("csv", "tsv")):
        return
    if chosen in json_like or detected in json_like:
        raise VoteFileError(f"declared format {chosen!r} but the content looks like {detected!r}")


RecordStream = Iterator[tuple[int, Mapping[str, object]]]


def _csv_records(text: str, delimiter: str) -> RecordStream:
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    header = [name.strip() for name in next(reader)]
    record_number = 0
    for row in reader:
        if not row or all(not cell.strip() for cell in row):
            continue  # blank lines are not records
        record_number += 1
        if len(row) != len(header):
            raise VoteFileError(
                f"has {len(row)} fields but the header has {len(header)}", record=record_number
            )
        yield record_number, dict(zip(header, row, strict=True))
    if record_number == 0:
        raise VoteFileError("the file has a header but no votes")


def _jsonl_records(text: str) -> RecordStream:
    record_number = 0
    for line in text.splitlines():
        if not line.strip():
            continue
        record_number += 1
        yield record_number, _json_object(line, record_number)


def _json_object(line: str, record_number: int) -> Mapping[str, object]:
    try:
        value = json.loads(line)
    except json.JSONDecodeError as error:
        raise VoteFileError(f"not valid JSON ({error.msg})", record=record_number) from None
    if not isinstance(value, dict):
        raise VoteFileError("is not a JSON object", record=record_number)
    return value


def _json_array_records(text: str) -> RecordStream:
    try:
        values = json.loads(text)
    except json.JSONDecodeError as error:
        raise VoteFileError(f"not a valid JSON array ({error.msg}, line {error.lineno})") from None
    if not isinstance(values, list):
        raise VoteFileError("a clean_battle file must be a JSON array of records")
    for record_number, value in enumerate(values, start=1):
        if not isinstance(value, dict):
            raise VoteFileError("is not a JSON object", record=record_number)
        yield record_number, value


TableParts = tuple[tuple[str, ...], np.ndarray, np.ndarray, np.ndarray, tuple[str, ...] | None]


def _columns_to_table(
    records: RecordStream, columns: ColumnMapping, winner_codes: Mapping[str, int]
) -> TableParts:
    """Validate every record and encode models as indices into the sorted model names."""
    names_a: list[str] = []
    names_b: list[str] = []
    outcomes: list[int] = []
    ids: list[str] = []
    id_column = columns.id
    for record_number, record in records:
        if record_number == 1 and id_column is None and "id" in record:
            id_column = "id"
        model_a = _required_text(record, columns.model_a, record_number)
        model_b = _required_text(record, columns.model_b, record_number)
        winner = _required_text(record, columns.winner, record_number)
        if model_a == model_b:
            raise VoteFileError(f"model {model_a!r} is compared with itself", record=record_number)
        if winner not in winner_codes:
            raise VoteFileError(
                f"unknown winner value {winner!r}; expected one of {sorted(winner_codes)}",
                record=record_number,
                field=columns.winner,
            )
        names_a.append(model_a)
        names_b.append(model_b)
        outcomes.append(winner_codes[winner])
        if id_column is not None:
            ids.append(_required_text(record, id_column, record_number))
    if not outcomes:
        raise VoteFileError("the file contains no votes")
    models = tuple(sorted(set(names_a) | set(names_b)))
    index = {name: position for position, name in enumerate(models)}
    vote_ids = choose_vote_ids(ids, explicit=columns.id is not None) if id_column else None
    return (
        models,
        np.fromiter((index[name] for name in names_a), dtype=np.int32, count=len(names_a)),
        np.fromiter((index[name] for name in names_b), dtype=np.int32, count=len(names_b)),
        np.asarray(outcomes, dtype=np.int8),
        vote_ids,
    )


def _required_text(record: Mapping[str, object], column: str, record_number: int) -> str:
    if column not in record or record[column] is None:
        raise VoteFileError("missing column", record=record_number, field=column)
    value = str(record[column]).strip()
    if not value:
        raise VoteFileError("empty value", record=record_number, field=column)
    return value


def choose_vote_ids(ids: list[str], *, explicit: bool) -> tuple[str, ...] | None:
    """Use the id column when its values are unique; an explicit but repeating id is an error.

    An implicit ``id`` column that repeats (LLMFAO's ``id`` names the compared pair, not the
    vote) falls back to positions, as the dataset's README prescribes.
    """
    seen: dict[str, int] = {}
    for record_number, vote_id in enumerate(ids, start=1):
        if vote_id in seen:
            if explicit:
                raise VoteFileError(
                    f"id {vote_id!r} repeats record {seen[vote_id]}; ids must be unique",
                    record=record_number,
                )
            return None
        seen[vote_id] = record_number
    return tuple(ids)
