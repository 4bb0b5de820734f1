"""Reading vote files: formats, mappings, identifiers and every kind of bad input."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest
from fragility_helpers import LLMFAO

from registry.fragility import ColumnMapping, VoteFileError, VoteTable, WinnerValues, read_votes
from registry.fragility.votes import _columns_to_table, _csv_records

ROWS = [
    ("alpha", "beta", "model_a"),
    ("beta", "gamma", "tie"),
    ("gamma", "alpha", "model_b"),
    ("alpha", "gamma", "tie (bothbad)"),
]


def csv_bytes(
    rows: list[tuple[str, ...]], header: str = "model_a,model_b,winner", delimiter: str = ","
) -> bytes:
    lines = [header.replace(",", delimiter)] + [delimiter.join(row) for row in rows]
    return ("\n".join(lines) + "\n").encode()


def decoded(table: VoteTable) -> list[tuple[str, str, int]]:
    return [
        (table.models[a], table.models[b], int(o))
        for a, b, o in zip(table.model_a, table.model_b, table.outcome, strict=True)
    ]


EXPECTED = [
    ("alpha", "beta", 0),
    ("beta", "gamma", 2),
    ("gamma", "alpha", 1),
    ("alpha", "gamma", 2),
]


def test_csv_tsv_jsonl_and_clean_battle_read_the_same_votes() -> None:
    records = [
        {"model_a": a, "model_b": b, "winner": w, "judge": "j", "anony": True, "tstamp": 1.0}
        for a, b, w in ROWS
    ]
    sources = {
        "csv": csv_bytes(ROWS),
        "tsv": csv_bytes(ROWS, delimiter="\t"),
        "jsonl": "\n".join(json.dumps(record) for record in records).encode(),
        "clean_battle": json.dumps(records).encode(),
    }
    for expected_format, data in sources.items():
        table = read_votes(data)
        assert table.file_format == expected_format
        assert decoded(table) == EXPECTED
        assert table.sha256 == hashlib.sha256(data).hexdigest()


def test_votes_are_identified_by_position_unless_a_unique_id_column_exists() -> None:
    by_position = read_votes(csv_bytes(ROWS))
    assert [by_position.vote_id(i) for i in range(4)] == [1, 2, 3, 4]
    with_ids = read_votes(
        csv_bytes(
            [(f"v{i}", *row) for i, row in enumerate(ROWS)], header="id,model_a,model_b,winner"
        )
    )
    assert [with_ids.vote_id(i) for i in range(4)] == ["v0", "v1", "v2", "v3"]


def test_llmfao_repeating_id_column_falls_back_to_positions(llmfao_votes: VoteTable) -> None:
    assert llmfao_votes.ids is None
    assert llmfao_votes.n_votes == 8931
    assert len(llmfao_votes.models) == 59
    assert int(np.sum(llmfao_votes.outcome == 2)) == 3471


def test_an_explicit_id_column_must_be_unique() -> None:
    data = csv_bytes([("x", *ROWS[0]), ("x", *ROWS[1])], header="id,model_a,model_b,winner")
    with pytest.raises(VoteFileError) as error:
        read_votes(data, columns=ColumnMapping(id="id"))
    assert error.value.record == 2


def test_column_and_winner_mapping_reads_other_layouts() -> None:
    data = csv_bytes([("alpha", "beta", "L"), ("beta", "alpha", "draw")], header="left,right,res")
    table = read_votes(
        data,
        columns=ColumnMapping.parse("model_a=left,model_b=right,winner=res"),
        winner_values=WinnerValues.parse("model_a=L,model_b=R,tie=draw|both"),
    )
    assert decoded(table) == [("alpha", "beta", 0), ("beta", "alpha", 2)]


def test_fast_csv_path_agrees_with_the_csv_module_on_llmfao() -> None:
    data = LLMFAO.read_bytes()
    fast = read_votes(
        data,
        columns=ColumnMapping.parse("model_a=left,model_b=right"),
        winner_values=WinnerValues.parse("model_a=left,model_b=right,tie=tie"),
    )
    slow = _columns_to_table(
        _csv_records(data.decode(), ","),
        ColumnMapping(model_a="left", model_b="right"),
        {"left": 0, "right": 1, "tie": 2},
    )
    assert fast.models == slow[0]
    assert np.array_equal(fast.model_a, slow[1])
    assert np.array_equal(fast.model_b, slow[2])
    assert np.array_equal(fast.outcome, slow[3])


def test_quoted_csv_takes_the_general_path_and_reads_commas_in_names() -> None:
    data = b'model_a,model_b,winner\n"a, large",b,model_a\nb,"a, large",tie\n'
    assert decoded(read_votes(data)) == [("a, large", "b", 0), ("b", "a, large", 2)]


@pytest.mark.parametrize(
    ("data", "record", "words"),
    [
        (b"", None, "empty"),
        (b"   \n", None, "empty"),
        (b"model_a,model_b,winner\n", None, "no votes"),
        (b"model_a,model_b\nx,y\n", 1, "missing column"),
        (b"model_a,model_b,winner\nx,y,model_a\nx,y,maybe\n", 2, "unknown winner"),
        (b"model_a,model_b,winner\nx,x,tie\n", 1, "compared with itself"),
        (b"model_a,model_b,winner\nx,y,tie,extra\n", 1, "fields"),
        (b"model_a,model_b,winner\nx,,tie\n", 1, "empty value"),
        (b"model_a,model_b,winner\nx,\xff\xfe,tie\n", None, "not UTF-8"),
        (b'{"model_a": "x", "model_b": "y", "winner": "tie"}\n{"model_a": ', 2, "JSON"),
        (b'[{"model_a": "x", "model_b": "y", "winner": "tie"}, 3]', 2, "object"),
    ],
)
def test_bad_input_names_the_record_and_the_problem(
    data: bytes, record: int | None, words: str
) -> None:
    with pytest.raises(VoteFileError) as error:
        read_votes(data)
    assert error.value.record == record
    assert words in str(error.value)
    assert isinstance(error.value, ValueError)


def test_declared_format_must_match_the_content() -> None:
    with pytest.raises(VoteFileError, match="declared format 'jsonl'"):
        read_votes(csv_bytes(ROWS), file_format="jsonl")
    with pytest.raises(VoteFileError, match="declared format 'csv'"):
        read_votes(b'[{"model_a": "x"}]', file_format="csv")


def test_malformed_mapping_options_are_rejected() -> None:
    with pytest.raises(ValueError, match="--columns"):
        ColumnMapping.parse("model_a")
    with pytest.raises(ValueError, match="--winner-values"):
        WinnerValues.parse("winner=left")
