"""Reading vote files: formats, mappings, identifiers, excluded records and bad input."""

from __future__ import annotations

import gzip
import hashlib
import io
import json

import numpy as np
import pytest
from fragility_helpers import LLMFAO_COLUMNS, LLMFAO_WINNERS

from registry.fragility import (
    AnalysisOptions,
    ColumnMapping,
    VoteFileError,
    VoteTable,
    WinnerValues,
    analyze,
    read_votes,
)
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


def test_an_id_column_naming_pairs_falls_back_to_positions(arena_votes: VoteTable) -> None:
    assert arena_votes.ids is None  # the synthetic arena's id repeats with different votes
    assert arena_votes.n_votes == 4000
    assert arena_votes.naming.duplicates.shape[0] == 0


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


def test_fast_csv_path_agrees_with_the_csv_module(arena_csv: bytes) -> None:
    fast = read_votes(arena_csv, columns=LLMFAO_COLUMNS, winner_values=LLMFAO_WINNERS)
    slow = _columns_to_table(
        lambda: _csv_records(arena_csv.decode(), ","),
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


FAST = AnalysisOptions(top_k=(1,), bootstrap_rounds=0, random_trials=0, adjacent_pairs=False)
TRIANGLE = [
    ("alpha", "beta", "model_a"),
    ("beta", "gamma", "model_a"),
    ("gamma", "alpha", "model_a"),
    ("beta", "alpha", "model_a"),
    ("gamma", "beta", "tie"),
    ("alpha", "gamma", "model_b"),
]


def test_a_self_comparison_is_read_excluded_from_the_fit_and_reported() -> None:
    data = csv_bytes([*TRIANGLE[:3], ("beta", "beta", "model_a"), *TRIANGLE[3:]])
    for reader_input in (
        data,
        data.replace(b"model_a,model_b,winner", b'"model_a",model_b,winner'),
    ):
        votes = read_votes(reader_input)  # the fast reader, then the csv module's
        assert votes.self_comparisons.tolist() == [3]
        result = analyze(votes, FAST)
        assert result["dataset"]["n_self_comparisons"] == 1
        assert result["dataset"]["self_comparison_votes"] == [4]
        assert result["dataset"]["n_excluded"] == 1
        assert result["fit"]["n_votes_used"] == len(TRIANGLE)
    without = analyze(csv_bytes(TRIANGLE), FAST)
    assert [row["score"] for row in result["scores"]] == [row["score"] for row in without["scores"]]


def test_exact_duplicate_records_under_one_id_are_excluded_and_named() -> None:
    rows = [(f"v{i}", *row) for i, row in enumerate(TRIANGLE)]
    data = csv_bytes([*rows, rows[1], rows[4]], header="id,model_a,model_b,winner")
    result = analyze(data, FAST)
    assert result["dataset"]["vote_ids"] == "id column"
    assert result["dataset"]["n_duplicates"] == 2
    assert result["dataset"]["duplicate_votes"] == [
        {"vote": "v1", "record": 7, "repeats_record": 2},
        {"vote": "v4", "record": 8, "repeats_record": 5},
    ]
    assert result["fit"]["n_votes_used"] == len(TRIANGLE)
    assert result["scores"] == analyze(csv_bytes(rows, "id,model_a,model_b,winner"), FAST)["scores"]


def test_a_repeated_id_with_other_columns_differing_is_not_a_duplicate() -> None:
    # LLMFAO's case: the id names the pair; two workers voted the same way on it.
    data = csv_bytes(
        [("p1", "w1", *TRIANGLE[0]), ("p1", "w2", *TRIANGLE[0]), ("p2", "w1", *TRIANGLE[1])],
        header="id,worker,model_a,model_b,winner",
    )
    votes = read_votes(data)
    assert votes.ids is None
    assert votes.naming.duplicates.tolist() == []
    with pytest.raises(VoteFileError, match="different content") as error:
        read_votes(data, columns=ColumnMapping(id="id"))
    assert error.value.record == 2


def test_a_model_whose_only_votes_are_ties_is_reported_when_ties_are_dropped() -> None:
    data = csv_bytes([*TRIANGLE, ("alpha", "delta", "tie"), ("delta", "gamma", "tie (bothbad)")])
    result = analyze(data, AnalysisOptions(**{**FAST.__dict__, "ties": "drop"}))
    assert result["fit"]["models_without_votes"] == ["delta"]
    assert {row["model"] for row in result["scores"]} == {"alpha", "beta", "gamma"}
    assert analyze(data, FAST)["fit"]["models_without_votes"] == []


def test_gzip_compressed_files_read_like_the_plain_ones_and_keep_their_own_digest() -> None:
    plain = csv_bytes(ROWS)
    packed = gzip.compress(plain)
    table = read_votes(packed)
    assert decoded(table) == EXPECTED
    assert table.sha256 == hashlib.sha256(packed).hexdigest()
    with pytest.raises(VoteFileError, match="gzip"):
        read_votes(packed[:-12])


PAIR_COUNTS = (
    b"model_a,model_b,wins_a,wins_b,ties,ties_bothbad\nalpha,beta,2,1,1,0\nbeta,gamma,0,3,0,2\n"
)


def test_pair_counts_expand_into_named_votes() -> None:
    table = read_votes(PAIR_COUNTS)
    assert table.file_format == "pair_counts"
    assert table.n_votes == 9
    assert table.ids is not None
    assert list(table.ids) == [
        "alpha vs beta: wins_a #1",
        "alpha vs beta: wins_a #2",
        "alpha vs beta: wins_b #1",
        "alpha vs beta: ties #1",
        "beta vs gamma: wins_b #1",
        "beta vs gamma: wins_b #2",
        "beta vs gamma: wins_b #3",
        "beta vs gamma: ties_bothbad #1",
        "beta vs gamma: ties_bothbad #2",
    ]
    assert decoded(table)[2] == ("alpha", "beta", 1)
    assert decoded(table)[-1] == ("beta", "gamma", 2)
    votes = read_votes(
        PAIR_COUNTS.replace(b",ties_bothbad", b"").replace(b",0\n", b"\n").replace(b",2\n", b"\n")
    )
    assert votes.n_votes == 7


def test_pair_counts_and_per_vote_files_give_the_same_analysis() -> None:
    per_vote = csv_bytes(
        [("alpha", "beta", w) for w in ["model_a"] * 2 + ["model_b"] + ["tie"]]
        + [("beta", "gamma", w) for w in ["model_b"] * 3 + ["tie"] * 2]
        + [("alpha", "gamma", "model_b"), ("alpha", "gamma", "model_a")]
    )
    counts = PAIR_COUNTS + b"alpha,gamma,1,1,0,0\n"
    assert analyze(counts, FAST)["scores"] == analyze(per_vote, FAST)["scores"]


def test_leaderbot_json_reads_its_index_pairs_and_counts() -> None:
    layout = {
        "models": ["gamma", "alpha", "beta"],
        "X": [[1, 2], [2, 0]],
        "Y": [[2, 1, 1], [0, 3, 0, 2]],
    }
    table = read_votes(json.dumps(layout).encode())
    assert table.file_format == "leaderbot"
    assert table.models == ("alpha", "beta", "gamma")
    assert table.n_votes == 9
    assert table.ids is not None
    assert table.ids[0] == "alpha vs beta: wins_a #1"
    assert table.ids[-1] == "beta vs gamma: ties_bothbad #2"
    assert decoded(table)[4] == ("beta", "gamma", 1)


@pytest.mark.parametrize(
    ("data", "record", "words"),
    [
        (b"model_a,model_b,wins_a,wins_b\nx,y,1,2\n", None, "ties"),
        (b"model_a,model_b,wins_a,wins_b,ties\nx,y,1,-2,0\n", 1, "negative"),
        (b"model_a,model_b,wins_a,wins_b,ties\nx,y,1,2,0\nx,y,one,2,0\n", 2, "repeats record 1"),
        (b"model_a,model_b,wins_a,wins_b,ties\nx,y,1,2,0\nz,y,one,2,0\n", 2, "whole number"),
        (b'{"models": ["a", "b"], "X": [[0, 2]], "Y": [[1, 1, 0]]}', 1, "model indices"),
        (b'{"models": ["a", "b"], "X": [[0, 1]], "Y": [[1, 1]]}', 1, "counts"),
        (b'{"models": ["a", "a"], "X": [[0, 1]], "Y": [[1, 1, 0]]}', None, "twice"),
    ],
)
def test_bad_aggregated_files_name_the_record_and_the_problem(
    data: bytes, record: int | None, words: str
) -> None:
    with pytest.raises(VoteFileError) as error:
        read_votes(data)
    assert error.value.record == record
    assert words in str(error.value)


def parquet_bytes(columns: dict[str, list[object]]) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    sink = io.BytesIO()
    pq.write_table(pa.table(columns), sink)
    return sink.getvalue()


def test_parquet_in_lmarenas_two_layouts_reads_the_same_votes() -> None:
    winners = ["model_a", "tie", "model_b", "both_bad"]
    common = {
        "id": ["q1", "q2", "q3", "q4"],
        "model_a": [a for a, _, _ in ROWS],
        "model_b": [b for _, b, _ in ROWS],
        "conversation_a": ["long text"] * 4,
    }
    by_winner = read_votes(parquet_bytes({**common, "winner": winners}))
    one_hot = read_votes(
        parquet_bytes(
            {
                **common,
                "winner_model_a": [int(w == "model_a") for w in winners],
                "winner_model_b": [int(w == "model_b") for w in winners],
                "winner_tie": [int(w in ("tie", "both_bad")) for w in winners],
            }
        )
    )
    for table in (by_winner, one_hot):
        assert table.file_format == "parquet"
        assert decoded(table) == EXPECTED
        assert table.ids == ("q1", "q2", "q3", "q4")
    assert read_votes(gzip.compress(parquet_bytes({**common, "winner": winners}))).n_votes == 4


def test_bad_parquet_names_the_row_and_the_column() -> None:
    with pytest.raises(VoteFileError, match="unknown winner value 'draw'") as error:
        read_votes(
            parquet_bytes({"model_a": ["x", "y"], "model_b": ["y", "x"], "winner": ["tie", "draw"]})
        )
    assert error.value.record == 2
    flags = {"winner_model_a": [1, 1], "winner_model_b": [0, 1], "winner_tie": [0, 0]}
    with pytest.raises(VoteFileError, match="exactly one") as error:
        read_votes(parquet_bytes({"model_a": ["x", "y"], "model_b": ["y", "x"], **flags}))
    assert error.value.record == 2
    with pytest.raises(VoteFileError, match="missing column 'winner'"):
        read_votes(parquet_bytes({"model_a": ["x"], "model_b": ["y"]}))
    with pytest.raises(VoteFileError, match="declared format 'csv'"):
        read_votes(
            parquet_bytes({"model_a": ["x"], "model_b": ["y"], "winner": ["tie"]}),
            file_format="csv",
        )


def test_a_file_of_only_self_comparisons_reads_but_cannot_be_fitted() -> None:
    data = csv_bytes([("alpha", "alpha", "tie"), ("beta", "beta", "model_a")])
    assert read_votes(data).self_comparisons.tolist() == [0, 1]
    with pytest.raises(VoteFileError, match="self-comparisons"):
        analyze(data, FAST)
