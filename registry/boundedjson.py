"""JSON from clients with a depth limit, and text fields without control characters.

Shared by every reader of client JSON: request bodies (``registry.request_limits``),
uploaded JSON and JSON lines (``registry.fragility.votes``, ``registry.cloning._records``).
Standard library only, no Django and no other project import, so the pure packages can
use it.

Why a depth limit: the standard decoder recurses once per level, so ``'[' * 5000`` raises
``RecursionError`` (a 500), and anything a little shallower than the interpreter's limit
parses but fails later, in ``json.dumps`` of the ledger snapshot or in a serializer. No
record of this registry is nested more than a few levels, so 32 leaves room and stays
far below the recursion limit.
"""

from __future__ import annotations

import bisect
import functools
import itertools
import json
import re
import sys
import unicodedata
from collections.abc import Sequence
from typing import Any

MAX_DEPTH = 32


class JSONDepthError(ValueError):
    """The JSON nests deeper than allowed. ``where`` names the top-level member (an
    object's key or an array's 1-based position) that does, when known."""

    def __init__(self, max_depth: int, where: str | None = None) -> None:
        self.max_depth = max_depth
        self.where = where
        super().__init__(f"nested deeper than {max_depth} levels")


def loads(text: str | bytes, *, max_depth: int = MAX_DEPTH) -> Any:
    """``json.loads`` that raises JSONDepthError instead of recursing too deep (and
    ``json.JSONDecodeError`` for malformed JSON, as usual)."""
    # Fast path: a text with fewer brackets than the limit cannot nest deeper than it;
    # counting runs at memory speed, so ordinary records never pay for the walk below.
    if _bracket_count(text) <= max_depth:
        return json.loads(text)
    try:
        value = json.loads(text)
    except RecursionError:
        raise JSONDepthError(max_depth) from None
    where = too_deep(value, max_depth)
    if where is not None:
        raise JSONDepthError(max_depth, where or None)
    return value


def _bracket_count(text: str | bytes) -> int:
    if isinstance(text, bytes):
        return text.count(b"[") + text.count(b"{")
    return text.count("[") + text.count("{")


def check_depth(text: str | bytes, *, max_depth: int = MAX_DEPTH) -> None:
    """Raise JSONDepthError if ``text`` is JSON nested deeper than ``max_depth``; say
    nothing about malformed JSON (the real parser reports that). Parses only texts with
    more brackets than the limit."""
    if _bracket_count(text) <= max_depth:
        return
    try:
        loads(text, max_depth=max_depth)
    except ValueError as error:
        if isinstance(error, JSONDepthError):
            raise


def too_deep(value: Any, max_depth: int = MAX_DEPTH) -> str | None:
    """``None`` if ``value`` nests at most ``max_depth`` containers deep; otherwise the
    top-level member that is deeper ("" when the top level itself is the problem).

    Iterative, so it cannot itself run out of stack."""
    if not isinstance(value, dict | list):
        return None
    members = value.items() if isinstance(value, dict) else enumerate(value, start=1)
    for key, member in members:
        stack: list[tuple[Any, int]] = [(member, 2)]
        while stack:
            node, depth = stack.pop()
            if not isinstance(node, dict | list):
                continue
            if depth > max_depth:
                return str(key)
            children = node.values() if isinstance(node, dict) else node
            stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return None if max_depth >= 1 else ""


_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp"})
# The Unicode database names no C0 control; these are the ones people meet.
_CONTROL_NAMES = {
    "\x00": "NUL",
    "\t": "TAB",
    "\n": "LINE FEED",
    "\r": "CARRIAGE RETURN",
    "\x1b": "ESCAPE",
    "\x7f": "DELETE",
}


@functools.cache
def _invisible_pattern() -> re.Pattern[str]:
    """A character class of every code point in the categories above (built once, from
    this interpreter's Unicode database, so a regex scan replaces a per-character loop)."""
    ranges: list[str] = []
    start: int | None = None
    for code in range(sys.maxunicode + 2):
        inside = code <= sys.maxunicode and unicodedata.category(chr(code)) in _INVISIBLE_CATEGORIES
        if inside and start is None:
            start = code
        elif not inside and start is not None:
            ranges.append(f"{re.escape(chr(start))}-{re.escape(chr(code - 1))}")
            start = None
    return re.compile(f"[{''.join(ranges)}]")


def control_character(text: str) -> str | None:
    """Describe the first control, format or bidi character in ``text`` (``None`` if
    there is none): NUL, which PostgreSQL cannot store; C0/C1 controls, which break
    logs and CSV; zero-width and bidi controls, which make two names look alike or
    reorder what a reader sees (Unicode categories Cc, Cf, Zl, Zp)."""
    found = _invisible_pattern().search(text)
    if found is None:
        return None
    character = found.group()
    name = _CONTROL_NAMES.get(character) or unicodedata.name(character, "control character")
    return f"U+{ord(character):04X} ({name}) at character {found.start() + 1}"


def first_with_control_character(values: Sequence[str]) -> tuple[int, str] | None:
    """``(index, description)`` of the first value holding a control, format or bidi
    character (see :func:`control_character`), or ``None``. One regex scan over all
    values joined, so millions of short identifiers cost one pass at C speed."""
    joined = "/".join(values)  # "/" is not in any of the refused categories
    found = _invisible_pattern().search(joined)
    if found is None:
        return None
    ends = list(itertools.accumulate(len(value) + 1 for value in values))
    index = bisect.bisect_right(ends, found.start())
    description = control_character(values[index])
    assert description is not None
    return index, description
