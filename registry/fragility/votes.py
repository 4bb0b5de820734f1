"""Reading pairwise *votes*: CSV/TSV, JSON lines, LMSYS ``clean_battle`` JSON arrays, Parquet
(LMArena's layouts), and aggregated pair counts (a CSV of counts, or leaderbot's JSON).

A *vote* is one human (or judge) preference between two models: ``model_a``, ``model_b`` and
the outcome ``winner`` (model_a wins, model_b wins, or tie). A vote is identified by its 1-based
position among the file's records (a CSV header is not a record) or, when the file has an id
column that identifies votes, by that id; an aggregated file's votes are named by pair, outcome
and ordinal. Any format may arrive gzip-compressed.

Real exports are messy, and two kinds of record are read but kept out of the fit, each reported
by the analysis rather than refused:

* a *self-comparison* (a model against itself): its Bradley-Terry likelihood term is constant,
  so it carries no information about any score;
* an *exact duplicate*: a record whose id repeats an earlier record's id and whose whole record
  (every column, not only the three read) is identical to it. Without an id column two equal
  records may be two genuine votes, so nothing is called a duplicate. When an id repeats with a
  different record, the id does not name votes (LLMFAO's ``id`` names the compared pair): an
  implicit ``id`` column then falls back to positions and an explicit one (``--columns id=...``)
  is refused.

Nothing here imports Django: the upload view, the CLI and the benchmarks all call
:func:`read_votes` on bytes or a path. Any defect raises :class:`VoteFileError` naming the record
and the problem, so the caller stores nothing.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import re
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from registry import boundedjson
from registry.fragility import _fastcsv

FORMATS = ("auto", "csv", "tsv", "jsonl", "clean_battle", "parquet", "pair_counts", "leaderbot")
OUTCOME_A, OUTCOME_B, OUTCOME_TIE = 0, 1, 2
CANONICAL_OUTCOMES = {"model_a": OUTCOME_A, "model_b": OUTCOME_B, "tie": OUTCOME_TIE}
DEFAULT_WINNER_VALUES: dict[str, tuple[str, ...]] = {
    "model_a": ("model_a",),
    "model_b": ("model_b",),
    # "both_bad" is LMArena's Parquet spelling of LMSYS's "tie (bothbad)".
    "tie": ("tie", "tie (bothbad)", "both_bad"),
}
ID_COLUMN = "id column"
ID_POSITION = "record position (1-based)"
ID_AGGREGATED = "pair, outcome and ordinal"
GZIP_MAGIC = b"\x1f\x8b"
PARQUET_MAGIC = b"PAR1"
NO_RECORDS = np.zeros(0, dtype=np.int64)
FIRST_NON_SPACE = re.compile(r"\S")
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
class VoteIds:
    """How the records of a file are named, and which are exact duplicates of earlier ones."""

    ids: Sequence[str] | None
    scheme: str = ID_POSITION
    duplicates: np.ndarray = field(default_factory=lambda: NO_RECORDS)  # 0-based, excluded
    duplicate_of: np.ndarray = field(default_factory=lambda: NO_RECORDS)  # the earlier record


POSITIONS = VoteIds(None)


@dataclass(frozen=True)
class VoteTable:
    """Votes as integer arrays; vote v is models[model_a[v]] vs models[model_b[v]], outcome[v].

    Every record read is here, self-comparisons and exact duplicates included (so positions stay
    the file's); :attr:`usable` says which of them may enter a fit.
    """

    models: tuple[str, ...]
    model_a: np.ndarray
    model_b: np.ndarray
    outcome: np.ndarray
    sha256: str
    file_format: str
    naming: VoteIds = POSITIONS

    @property
    def n_votes(self) -> int:
        """Number of votes (records) read, excluded ones included."""
        return int(self.outcome.shape[0])

    @property
    def ids(self) -> Sequence[str] | None:
        """The votes' identifiers, or None when they are identified by position."""
        return self.naming.ids

    @property
    def self_comparisons(self) -> np.ndarray:
        """0-based indices of the records that compare a model with itself."""
        return np.flatnonzero(self.model_a == self.model_b)

    @property
    def usable(self) -> np.ndarray:
        """Mask of the records that may enter a fit: neither self-comparisons nor duplicates."""
        mask = self.model_a != self.model_b
        mask[self.naming.duplicates] = False
        return mask

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
    """Read votes from bytes (an upload) or a file path; raise VoteFileError on any defect.

    The SHA-256 is of the bytes exactly as given (compressed, if they are).
    """
    received = source if isinstance(source, bytes) else Path(source).read_bytes()
    if file_format not in FORMATS:
        raise ValueError(f"unknown format {file_format!r}; choose from {FORMATS}")
    columns = columns or ColumnMapping()
    winner_codes = (winner_values or WinnerValues()).code_of()
    sha256 = hashlib.sha256(received).hexdigest()
    data = _gunzip(received)
    if data.startswith(PARQUET_MAGIC):
        _check_declared_format(file_format, "parquet")
        from registry.fragility.parquet import read_parquet_votes  # pyarrow only when needed

        table = read_parquet_votes(data, columns, winner_codes)
        _refuse_control_characters(*table[:3], table[4].ids, by_record=True)
        return VoteTable(*table[:4], sha256=sha256, file_format="parquet", naming=table[4])
    text = _decode(data)
    if not text or text.isspace():
        raise VoteFileError("the file is empty")
    detected = _detect_format(text)
    chosen = detected if file_format == "auto" else file_format
    _check_declared_format(chosen, detected)
    models, model_a, model_b, outcome, naming = _read_text(
        data, text, chosen, columns, winner_codes
    )
    # Aggregated formats expand one row into many votes: vote numbers are not records.
    by_record = chosen not in ("pair_counts", "leaderbot")
    _refuse_control_characters(models, model_a, model_b, naming.ids, by_record=by_record)
    return VoteTable(models, model_a, model_b, outcome, sha256, chosen, naming)


def _read_text(
    data: bytes, text: str, chosen: str, columns: ColumnMapping, winner_codes: Mapping[str, int]
) -> TableParts:
    from registry.fragility import aggregated  # imports this module: import it when used

    if chosen == "pair_counts":
        return aggregated.read_pair_counts(text)
    if chosen == "leaderbot":
        return aggregated.read_leaderbot(text)
    if chosen in ("csv", "tsv"):
        delimiter = "\t" if chosen == "tsv" else ","
        table = _fastcsv.read_simple_csv(data, delimiter, columns, winner_codes)
        if table is not None:
            return table
        # Quoting, ragged rows or odd whitespace: let the csv module decide.
        return _columns_to_table(lambda: _csv_records(text, delimiter), columns, winner_codes)
    if chosen == "clean_battle":
        values = _json_array(text)
        return _columns_to_table(lambda: _json_array_records(values), columns, winner_codes)
    return _columns_to_table(lambda: _jsonl_records(text), columns, winner_codes)


def _gunzip(data: bytes) -> bytes:
    if not data.startswith(GZIP_MAGIC):
        return data
    try:
        return gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as error:
        raise VoteFileError(f"gzip-compressed but cannot be decompressed ({error})") from None


def _refuse_control_characters(
    models: tuple[str, ...],
    model_a: np.ndarray,
    model_b: np.ndarray,
    ids: Sequence[str] | None,
    *,
    by_record: bool,
) -> None:
    """Names and ids end up in results, reports and PostgreSQL (which cannot store NUL):
    refuse control, zero-width and bidi characters, naming the first record holding one."""
    bad_model = boundedjson.first_with_control_character(models)
    if bad_model is not None:
        index, problem = bad_model
        if not by_record:
            raise VoteFileError(f"model name {models[index]!r} holds {problem}")
        holders = np.flatnonzero((model_a == index) | (model_b == index))
        raise VoteFileError(f"model name holds {problem}", record=int(holders[0]) + 1)
    bad_id = boundedjson.first_with_control_character(list(ids or ()))
    if bad_id is not None:
        raise VoteFileError(f"vote id holds {bad_id[1]}", record=bad_id[0] + 1)


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise VoteFileError(
            f"not UTF-8: byte {error.start} (line {line}) cannot be decoded", record=None
        ) from None


def _detect_format(text: str) -> str:
    # Slices, not text.lstrip() or split(): either would copy a file of tens of megabytes.
    start = FIRST_NON_SPACE.search(text)
    offset = start.start() if start else 0
    if text.startswith("[", offset):
        return "clean_battle"
    if text.startswith("{", offset):
        return "leaderbot" if _is_leaderbot(text) else "jsonl"
    line_end = text.find("\n", offset)
    header = text[offset : line_end if line_end >= 0 else len(text)]
    delimiter = "\t" if header.count("\t") > header.count(",") else ","
    names = {name.strip().strip('"') for name in header.split(delimiter)}
    if {"wins_a", "wins_b"} <= names:
        return "pair_counts"
    return "tsv" if delimiter == "\t" else "csv"


def _is_leaderbot(text: str) -> bool:
    # JSON lines fail at their second object ("Extra data") after parsing only the first.
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        return False
    return isinstance(value, dict) and {"models", "X", "Y"} <= value.keys()


def _check_declared_format(chosen: str, detected: str) -> None:
    if chosen in ("auto", detected) or {chosen, detected} <= {"csv", "tsv", "pair_counts"}:
        return
    raise VoteFileError(f"declared format {chosen!r} but the content looks like {detected!r}")


RecordStream = Iterator[tuple[int, Mapping[str, object]]]


def _csv_records(text: str, delimiter: str) -> RecordStream:
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    record_number = 0
    try:
        header = [name.strip() for name in next(reader)]
        for row in reader:
            if not row or all(not cell.strip() for cell in row):
                continue  # blank lines are not records
            record_number += 1
            yield record_number, _csv_record(header, row, record_number)
    except csv.Error as error:  # e.g. a field over csv.field_size_limit()
        raise VoteFileError(f"line {reader.line_num}: {error}", record=record_number + 1) from None
    if record_number == 0:
        raise VoteFileError("the file has a header but no votes")


def _csv_record(header: list[str], row: list[str], record_number: int) -> dict[str, str]:
    if len(row) != len(header):
        raise VoteFileError(
            f"has {len(row)} fields but the header has {len(header)}", record=record_number
        )
    return dict(zip(header, row, strict=True))


def _jsonl_records(text: str) -> RecordStream:
    record_number = 0
    for line in text.splitlines():
        if not line.strip():
            continue
        record_number += 1
        yield record_number, _json_object(line, record_number)


def _json_object(line: str, record_number: int) -> Mapping[str, object]:
    try:
        value = boundedjson.loads(line)
    except boundedjson.JSONDepthError as error:
        raise VoteFileError(str(error), record=record_number, field=error.where) from None
    except json.JSONDecodeError as error:
        raise VoteFileError(f"not valid JSON ({error.msg})", record=record_number) from None
    if not isinstance(value, dict):
        raise VoteFileError("is not a JSON object", record=record_number)
    return value


def _json_array(text: str) -> list[object]:
    try:
        values = boundedjson.loads(text)
    except boundedjson.JSONDepthError as error:
        record = int(error.where) if error.where and error.where.isdigit() else None
        raise VoteFileError(str(error), record=record) from None
    except json.JSONDecodeError as error:
        raise VoteFileError(f"not a valid JSON array ({error.msg}, line {error.lineno})") from None
    if not isinstance(values, list):
        raise VoteFileError("a clean_battle file must be a JSON array of records")
    return values


def _json_array_records(values: list[object]) -> RecordStream:
    for record_number, value in enumerate(values, start=1):
        if not isinstance(value, dict):
            raise VoteFileError("is not a JSON object", record=record_number)
        yield record_number, value


TableParts = tuple[tuple[str, ...], np.ndarray, np.ndarray, np.ndarray, VoteIds]
# Whole records (every column) at some 0-based positions, to decide exact duplicates.
RecordLookup = Callable[[list[int]], list[object]]


def _columns_to_table(
    records: Callable[[], RecordStream],
    columns: ColumnMapping,
    winner_codes: Mapping[str, int],
) -> TableParts:
    """Validate every record and encode models as indices into the sorted model names."""
    names_a: list[str] = []
    names_b: list[str] = []
    outcomes: list[int] = []
    ids: list[str] = []
    id_column = columns.id
    for record_number, record in records():
        if record_number == 1 and id_column is None and "id" in record:
            id_column = "id"
        model_a = _required_text(record, columns.model_a, record_number)
        model_b = _required_text(record, columns.model_b, record_number)
        winner = _required_text(record, columns.winner, record_number)
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
    naming = POSITIONS
    if id_column:

        def whole_records(wanted: list[int]) -> list[object]:
            wanted_numbers = {position + 1 for position in wanted}
            found = {
                number: dict(record) for number, record in records() if number in wanted_numbers
            }
            return [found[position + 1] for position in wanted]

        naming = resolve_vote_ids(ids, explicit=columns.id is not None, whole_records=whole_records)
    return (
        models,
        np.fromiter((index[name] for name in names_a), dtype=np.int32, count=len(names_a)),
        np.fromiter((index[name] for name in names_b), dtype=np.int32, count=len(names_b)),
        np.asarray(outcomes, dtype=np.int8),
        naming,
    )


def _required_text(record: Mapping[str, object], column: str, record_number: int) -> str:
    if column not in record or record[column] is None:
        raise VoteFileError("missing column", record=record_number, field=column)
    value = str(record[column]).strip()
    if not value:
        raise VoteFileError("empty value", record=record_number, field=column)
    return value


def resolve_vote_ids(ids: Sequence[str], *, explicit: bool, whole_records: RecordLookup) -> VoteIds:
    """Name votes by their id column, excluding exact duplicates (see the module docstring).

    A repeated id whose records differ means the column does not identify votes: an implicit
    ``id`` column then falls back to positions, an explicit one is an error naming the record.
    """
    if len(set(ids)) == len(ids):
        return VoteIds(tuple(ids), ID_COLUMN)
    first: dict[str, int] = {}
    repeats: list[tuple[int, int]] = []
    for index, vote_id in enumerate(ids):
        earlier = first.setdefault(vote_id, index)
        if earlier != index:
            repeats.append((index, earlier))
    wanted = sorted({position for pair in repeats for position in pair})
    record_at = dict(zip(wanted, whole_records(wanted), strict=True))
    for index, earlier in repeats:
        if record_at[index] != record_at[earlier]:
            if not explicit:
                return POSITIONS
            raise VoteFileError(
                f"id {ids[index]!r} repeats record {earlier + 1} with different content;"
                " ids must identify votes",
                record=index + 1,
            )
    return VoteIds(
        tuple(ids),
        ID_COLUMN,
        duplicates=np.array([index for index, _ in repeats], dtype=np.int64),
        duplicate_of=np.array([earlier for _, earlier in repeats], dtype=np.int64),
    )
