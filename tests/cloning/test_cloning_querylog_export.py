"""The per-account CSV is safe to open in a spreadsheet: an account name that starts like
a formula is written as text (leading apostrophe), everything else as it came."""

from __future__ import annotations

import csv
import io

import pytest

from registry.cloning import analyse_query_log
from registry.cloning.querylog import spreadsheet_safe

HOSTILE = ["=cmd|' /C calc'!A0", "+1+1", "-2+3", "@SUM(A1:A9)"]


def test_account_names_that_look_like_formulas_are_written_as_text() -> None:
    rows = ["timestamp,account,prompt,tokens_in,tokens_out"]
    for second, account in enumerate([*HOSTILE, "plain-account"]):
        quoted = '"' + account.replace('"', '""') + '"'
        rows.append(f"2026-01-01T00:00:{second:02d},{quoted},hello there,10,20")
    _, table = analyse_query_log("\n".join(rows).encode())
    accounts = {row["account"] for row in csv.DictReader(io.StringIO(table.decode()))}
    assert accounts == {*(f"'{name}" for name in HOSTILE), "plain-account"}


@pytest.mark.parametrize("cell", ["=1", "+1", "-1", "@x", "\tx", "\rx"])
def test_every_formula_prefix_is_neutralised(cell: str) -> None:
    assert spreadsheet_safe(cell) == "'" + cell


@pytest.mark.parametrize("cell", ["alice", "1-2", "a=b", "'quoted", ""])
def test_other_text_is_unchanged(cell: str) -> None:
    assert spreadsheet_safe(cell) == cell
