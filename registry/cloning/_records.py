"""Shared decoding of uploaded bytes into records, with errors that name the record.

Every uploader-facing parser in this package goes through these helpers so that the same
defect (non-UTF-8 bytes, a line that is not a JSON object, a missing field) yields the same
wording everywhere.
"""

import json
from typing import Any

from registry import boundedjson
from registry.cloning.errors import CloningInputError


def decode_utf8(data: bytes, *, what: str) -> str:
    """Decode ``data`` as UTF-8, reporting the line and byte offset of the first bad byte."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise CloningInputError(non_utf8_message(data, error, what=what)) from error


def non_utf8_message(data: bytes, error: UnicodeDecodeError, *, what: str) -> str:
    """Describe where in ``data`` the undecodable byte sits (1-based line number)."""
    line_number = data.count(b"\n", 0, error.start) + 1
    return f"{what}: line {line_number} is not valid UTF-8 (byte offset {error.start})"


def parse_jsonl(data: bytes, *, what: str) -> list[tuple[int, dict[str, Any]]]:
    """Parse JSON Lines into ``(line_number, object)`` pairs, skipping blank lines.

    Raises CloningInputError naming the line when a line is not a JSON object, and when the
    upload holds no records at all.
    """
    text = decode_utf8(data, what=what)
    records: list[tuple[int, dict[str, Any]]] = []
    for line_number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            value = boundedjson.loads(line)
        except boundedjson.JSONDepthError as error:
            field = f" field '{error.where}'" if error.where else ""
            raise CloningInputError(f"{what}: line {line_number}:{field} {error}") from error
        except json.JSONDecodeError as error:
            raise CloningInputError(
                f"{what}: line {line_number} is not valid JSON ({error.msg})"
            ) from error
        if not isinstance(value, dict):
            raise CloningInputError(f"{what}: line {line_number} is not a JSON object")
        records.append((line_number, value))
    if not records:
        raise CloningInputError(f"{what}: the upload contains no records")
    return records


def require_string(record: dict[str, Any], field: str, *, line_number: int, what: str) -> str:
    """Return ``record[field]`` if it is a string, else raise an error naming line and field."""
    if field not in record:
        raise CloningInputError(f"{what}: line {line_number}: missing field '{field}'")
    value = record[field]
    if not isinstance(value, str):
        raise CloningInputError(
            f"{what}: line {line_number}: field '{field}' must be a string, "
            f"got {type(value).__name__}"
        )
    return value


def require_identifier(record: dict[str, Any], field: str, *, line_number: int, what: str) -> str:
    """Return an identifier field (a string or an integer) as a non-empty string."""
    if field not in record:
        raise CloningInputError(f"{what}: line {line_number}: missing field '{field}'")
    value = record[field]
    # bool is an int subclass; an identifier of `true` is certainly a mistake.
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise CloningInputError(
            f"{what}: line {line_number}: field '{field}' must be a string or integer, "
            f"got {type(value).__name__}"
        )
    text = str(value)
    if not text.strip():
        raise CloningInputError(f"{what}: line {line_number}: field '{field}' is empty")
    # Identifiers (model names, key and prompt ids) end up in results and PostgreSQL.
    problem = boundedjson.control_character(text)
    if problem:
        raise CloningInputError(f"{what}: line {line_number}: field '{field}' holds {problem}")
    return text
