"""Reading per-item score files: what is read back, and every defect named by its record."""

from __future__ import annotations

import csv
import io

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from registry.fragility.item_claims import ItemScoreFileError, item_claim, read_item_scores

finite_scores = st.floats(allow_nan=False, allow_infinity=False, width=64)
item_ids = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("C", "Z")), min_size=1, max_size=8
)


def written(rows: list[tuple[str, float, float]], delimiter: str = ",") -> bytes:
    """The rows as the csv module writes them: an independent writer for the reader."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\n")
    writer.writerow(["item_id", "score_a", "score_b"])
    writer.writerows((item, repr(a), repr(b)) for item, a, b in rows)
    return buffer.getvalue().encode()


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(item_ids, finite_scores, finite_scores), min_size=2, max_size=30).filter(
        lambda rows: len({row[0] for row in rows}) == len(rows)
    ),
    st.sampled_from([",", "\t"]),
)
def test_scores_written_by_the_csv_module_read_back_exactly(
    rows: list[tuple[str, float, float]], delimiter: str
) -> None:
    ids, scores_a, scores_b = read_item_scores(written(rows, delimiter))
    assert ids == [item for item, _a, _b in rows]
    assert scores_a.tolist() == [a for _item, a, _b in rows]
    assert scores_b.tolist() == [b for _item, _a, b in rows]


def test_tab_separated_file_is_detected_and_extra_columns_are_ignored() -> None:
    data = b"subject\titem_id\tscore_b\tscore_a\nmath\tq1\t0\t1\n\nlaw\tq2\t0.25\t0.5\n"
    ids, scores_a, scores_b = read_item_scores(data)
    assert ids == ["q1", "q2"]
    np.testing.assert_array_equal(scores_a, [1.0, 0.5])
    np.testing.assert_array_equal(scores_b, [0.0, 0.25])


def test_explicit_delimiter_overrides_detection() -> None:
    # A header with more commas than tabs would be read as CSV; the caller knows better.
    data = b"item_id\tscore_a\tscore_b\tnote\nq1\t1\t0\ta,b,c\nq2\t0\t1\tx\n"
    ids, _a, _b = read_item_scores(data, delimiter="\t")
    assert ids == ["q1", "q2"]


def test_byte_order_mark_and_surrounding_whitespace_are_tolerated() -> None:
    ids, scores_a, _b = read_item_scores(
        b"\xef\xbb\xbfitem_id, score_a ,score_b\n q1 , 1 ,0\nq2,0,1\n"
    )
    assert ids == ["q1", "q2"]
    assert scores_a.tolist() == [1.0, 0.0]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            b"item_id,score_a,score_b\nq1,1,0\nq\xff2,1,0\n",
            r"^file: not UTF-8: byte \d+ \(line 3\)",
        ),
        (b"", "^file: the file is empty"),
        (b"  \n\n", "^file: the file is empty"),
        (b"item_id,score_a\nq1,1\nq2,0\n", "^header: missing column.*score_b"),
        (b"id,score_a,score_b\nq1,1,0\nq2,0,1\n", "^header: missing column.*item_id"),
        (
            b"item_id,score_a,score_b\nq1,1,0\nq2,yes,1\n",
            "^record 2: score_a 'yes' is not a number",
        ),
        (b"item_id,score_a,score_b\nq1,1,\nq2,0,1\n", "^record 1: score_b '' is not a number"),
        (
            b"item_id,score_a,score_b\nq1,1,0\n\nq2,0,nan\n",
            "^record 2: score_b 'nan' is not finite",
        ),
        (b"item_id,score_a,score_b\nq1,inf,0\nq2,0,1\n", "^record 1: score_a 'inf' is not finite"),
        (
            b"item_id,score_a,score_b\nq1,1,0\nq2,0,1\nq1,1,1\n",
            "^record 3: item_id 'q1' repeats record 1",
        ),
        (b"item_id,score_a,score_b\nq1,1,0\n,0,1\n", "^record 2: empty item_id"),
        (b"item_id,score_a,score_b\nq1,1,0\nq2,0\n", "^record 2: has 2 fields"),
        (b"item_id,score_a,score_b\nq1,1,0\n", "^file: 1 item.*at least 2"),
        (b"item_id,score_a,score_b\n", "^file: 0 item.*at least 2"),
    ],
    ids=[
        "not-utf8",
        "empty",
        "blank",
        "no-score_b",
        "no-item_id",
        "non-numeric",
        "empty-score",
        "nan",
        "infinite",
        "duplicate-id",
        "empty-id",
        "short-row",
        "one-item",
        "header-only",
    ],
)
def test_defective_file_is_refused_naming_the_record_and_problem(data: bytes, message: str) -> None:
    with pytest.raises(ItemScoreFileError, match=message):
        read_item_scores(data)


def test_error_carries_the_record_number_for_callers() -> None:
    with pytest.raises(ItemScoreFileError) as caught:
        read_item_scores(b"item_id,score_a,score_b\nq1,1,0\nq2,0,1\nq3,x,1\n")
    assert caught.value.record == 3
    assert isinstance(caught.value, ValueError)


def test_bootstrap_drawn_in_blocks_matches_the_normal_theory_interval() -> None:
    """5,000 items x 2,000 rounds is drawn in several blocks; the percentile interval must
    still agree with mean +/- 1.96 standard errors (the CLT holds well at this size)."""
    generator = np.random.default_rng(11)
    scores_a = (generator.random(5000) < 0.62).astype(float)
    scores_b = (generator.random(5000) < 0.58).astype(float)
    result = item_claim(scores_a, scores_b, bootstrap_rounds=2000, seed=4)
    difference = scores_a - scores_b
    half_width = 1.96 * difference.std(ddof=1) / np.sqrt(difference.shape[0])
    assert result.ci_low == pytest.approx(difference.mean() - half_width, abs=0.1 * half_width)
    assert result.ci_high == pytest.approx(difference.mean() + half_width, abs=0.1 * half_width)
