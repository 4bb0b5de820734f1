"""The bounded JSON reader agrees with ``json.loads`` within the limit and refuses
deeper nesting, checked against a recursive depth count on generated values."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from registry import boundedjson

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=3), children, max_size=3)
    ),
    max_leaves=40,
)


def depth(value: Any) -> int:
    """Containers on the deepest path, counted recursively (small values only)."""
    if isinstance(value, dict):
        return 1 + max((depth(child) for child in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((depth(child) for child in value), default=0)
    return 0


@given(json_values, st.integers(min_value=1, max_value=6))
def test_values_within_the_limit_read_as_json_loads_does(value: Any, max_depth: int) -> None:
    text = json.dumps(value)
    if depth(value) <= max_depth:
        assert boundedjson.loads(text, max_depth=max_depth) == value
    else:
        with pytest.raises(boundedjson.JSONDepthError):
            boundedjson.loads(text, max_depth=max_depth)


@pytest.mark.parametrize("text", ["[" * 5000 + "]" * 5000, '{"a":' * 5000 + "1" + "}" * 5000])
def test_nesting_past_the_recursion_limit_is_a_depth_error(text: str) -> None:
    with pytest.raises(boundedjson.JSONDepthError, match="nested deeper than 32 levels"):
        boundedjson.loads(text)
    with pytest.raises(boundedjson.JSONDepthError):
        boundedjson.loads(text.encode())


def test_the_member_that_nests_too_deep_is_named() -> None:
    with pytest.raises(boundedjson.JSONDepthError) as refused:
        boundedjson.loads('{"ok": [1], "statistics": ' + "[" * 40 + "]" * 40 + "}")
    assert refused.value.where == "statistics"


def test_check_depth_leaves_malformed_json_to_the_parser() -> None:
    boundedjson.check_depth("[" * 40)  # malformed, not refused here
    with pytest.raises(boundedjson.JSONDepthError):
        boundedjson.check_depth("[" * 40 + "]" * 40)


@given(st.lists(st.text(alphabet=st.characters(codec="utf-8"), max_size=6), max_size=8))
def test_the_joined_scan_finds_the_same_first_value_as_a_loop(values: list[str]) -> None:
    expected = next(
        (
            (index, problem)
            for index, value in enumerate(values)
            if (problem := boundedjson.control_character(value))
        ),
        None,
    )
    assert boundedjson.first_with_control_character(values) == expected
