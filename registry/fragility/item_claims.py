"""Per-item claims on static benchmarks: "A beats B on benchmark X" from paired item scores.

Each benchmark *item* (question) has a score for A and for B (0/1 correctness, or real-valued).
The claim's statistic is the mean paired difference d_i = a_i - b_i. We report:

* a paired percentile bootstrap interval for the mean difference (items resampled together);
* for 0/1 scores, the exact McNemar test: under H0 the discordant items are Binomial(n, 1/2),
  p = min(1, 2 * P[X <= min(n01, n10)]) (McNemar 1947; exact binomial form);
* the exact minimum number of items whose removal reverses the sign of the mean difference.
  The sign of a mean is the sign of a sum, and removing an item changes the sum by -d_i, so
  removing the largest same-signed differences first is optimal (exchange argument): no other
  set of the same size lowers the sum more.

:func:`read_item_scores` reads the scores from an uploaded CSV/TSV (columns ``item_id``,
``score_a``, ``score_b``); any defect raises :class:`ItemScoreFileError` naming the record.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from registry import boundedjson

ITEM_SCORE_COLUMNS = ("item_id", "score_a", "score_b")
# The bootstrap costs rounds x items; the largest static benchmarks have tens of thousands
# of items, so a file far beyond that is a mistake, not a benchmark.
MAX_ITEMS = 200_000
# Resampled indices are drawn this many at a time, so memory stays bounded (~32 MB of
# indices) however many items there are.
_BOOTSTRAP_BLOCK = 1 << 22


class ItemScoreFileError(ValueError):
    """An item-score file that cannot be read; ``record`` is 1-based (the header is not a
    record), None for the whole file or its header."""

    def __init__(
        self, message: str, *, record: int | None = None, where: str | None = None
    ) -> None:
        self.record = record
        self.problem = message
        if where is None:
            where = "file" if record is None else f"record {record}"
        super().__init__(f"{where}: {message}")


def read_item_scores(
    data: bytes, *, delimiter: Literal["auto", ",", "\t"] = "auto"
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Item ids and the two score vectors (A = the claiming release, B = the compared one).

    The delimiter is a tab when the header has more tabs than commas, else a comma, unless
    given. Extra columns are ignored; blank lines are not records.
    """
    text = _decode_scores(data)
    if not text.strip():
        raise ItemScoreFileError("the file is empty")
    if delimiter == "auto":
        header_line = text.lstrip().split("\n", 1)[0]
        delimiter = "\t" if header_line.count("\t") > header_line.count(",") else ","
    reader = csv.reader(io.StringIO(text.lstrip()), delimiter=delimiter)
    try:
        header = [name.strip() for name in next(reader)]
    except csv.Error as error:
        raise ItemScoreFileError(str(error), where="header") from None
    positions = _header_positions(header)
    ids: list[str] = []
    scores_a: list[float] = []
    scores_b: list[float] = []
    first_seen: dict[str, int] = {}
    try:
        for record, item_id, score_a, score_b in _score_records(reader, positions):
            if item_id in first_seen:
                raise ItemScoreFileError(
                    f"item_id {item_id!r} repeats record {first_seen[item_id]}", record=record
                )
            first_seen[item_id] = record
            ids.append(item_id)
            scores_a.append(score_a)
            scores_b.append(score_b)
    except csv.Error as error:  # e.g. a field over csv.field_size_limit()
        raise ItemScoreFileError(f"line {reader.line_num}: {error}", record=len(ids) + 1) from None
    # Item ids end up in results and in PostgreSQL, which cannot store NUL.
    bad = boundedjson.first_with_control_character(ids)
    if bad is not None:
        raise ItemScoreFileError(f"item_id holds {bad[1]}", record=bad[0] + 1)
    if len(ids) < 2:
        raise ItemScoreFileError(f"{len(ids)} item(s); a comparison needs at least 2")
    return ids, np.array(scores_a, dtype=np.float64), np.array(scores_b, dtype=np.float64)


def _decode_scores(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise ItemScoreFileError(
            f"not UTF-8: byte {error.start} (line {line}) cannot be decoded"
        ) from None


def _header_positions(header: list[str]) -> tuple[int, int, int]:
    missing = [name for name in ITEM_SCORE_COLUMNS if name not in header]
    if missing:
        raise ItemScoreFileError(
            f"missing column(s) {', '.join(missing)}; expected {', '.join(ITEM_SCORE_COLUMNS)}",
            where="header",
        )
    item_id, score_a, score_b = (header.index(name) for name in ITEM_SCORE_COLUMNS)
    return item_id, score_a, score_b


def _score_records(
    reader: Iterator[list[str]], positions: tuple[int, int, int]
) -> Iterator[tuple[int, str, float, float]]:
    """(record number, item id, score A, score B) for every non-blank row."""
    id_at, a_at, b_at = positions
    needed = max(positions) + 1
    record = 0
    for row in reader:
        if not row or all(not cell.strip() for cell in row):
            continue
        record += 1
        if record > MAX_ITEMS:
            raise ItemScoreFileError(f"more than {MAX_ITEMS:,} items", record=record)
        if len(row) < needed:
            raise ItemScoreFileError(
                f"has {len(row)} fields; the header names {needed} or more", record=record
            )
        item_id = row[id_at].strip()
        if not item_id:
            raise ItemScoreFileError("empty item_id", record=record)
        score_a = _score(row[a_at], "score_a", record)
        yield record, item_id, score_a, _score(row[b_at], "score_b", record)


def _score(cell: str, column: str, record: int) -> float:
    try:
        value = float(cell.strip())
    except ValueError:
        raise ItemScoreFileError(
            f"{column} {cell.strip()!r} is not a number", record=record
        ) from None
    if not math.isfinite(value):
        raise ItemScoreFileError(f"{column} {cell.strip()!r} is not finite", record=record)
    return value


@dataclass(frozen=True)
class ItemClaim:
    """Result of testing "A beats B" on per-item scores."""

    mean_difference: float
    ci_low: float
    ci_high: float
    mcnemar_p_value: float | None  # None unless both score vectors are 0/1
    items_to_reverse: int | None  # None when no removal can reverse the sign
    removed_items: tuple[str | int, ...]

    def as_dict(self) -> dict[str, object]:
        """JSON-serialisable form."""
        return {
            "mean_difference": self.mean_difference,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "mcnemar_p_value": self.mcnemar_p_value,
            "items_to_reverse": self.items_to_reverse,
            "removed_items": list(self.removed_items),
        }


def item_claim(
    scores_a: Sequence[float],
    scores_b: Sequence[float],
    item_ids: Sequence[str | int] | None = None,
    *,
    bootstrap_rounds: int = 2000,
    seed: int = 0,
    confidence: float = 0.95,
) -> ItemClaim:
    """Evaluate "A beats B" (or "B beats A" when the mean difference is negative)."""
    a = np.asarray(scores_a, dtype=np.float64)
    b = np.asarray(scores_b, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 1 or a.shape[0] == 0:
        raise ValueError("scores_a and scores_b must be non-empty sequences of equal length")
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise ValueError("scores must be finite numbers")
    ids = list(item_ids) if item_ids is not None else list(range(1, a.shape[0] + 1))
    if len(ids) != a.shape[0]:
        raise ValueError("item_ids must have one id per item")
    difference = a - b
    ci_low, ci_high = paired_bootstrap_interval(difference, bootstrap_rounds, seed, confidence)
    count, removed = items_to_reverse(difference)
    return ItemClaim(
        mean_difference=float(difference.mean()),
        ci_low=ci_low,
        ci_high=ci_high,
        mcnemar_p_value=exact_mcnemar(a, b),
        items_to_reverse=count,
        removed_items=tuple(ids[index] for index in removed),
    )


def paired_bootstrap_interval(
    difference: np.ndarray, rounds: int, seed: int, confidence: float
) -> tuple[float, float]:
    """Percentile interval of the mean paired difference over item resamples.

    Efron & Tibshirani (1993), ch. 13: resample items with replacement, keeping each item's
    A and B scores together, and take the tail quantiles of the resampled means.
    """
    generator = np.random.default_rng(seed)
    n_items = difference.shape[0]
    block = max(1, _BOOTSTRAP_BLOCK // n_items)
    means = np.empty(rounds, dtype=np.float64)
    for start in range(0, rounds, block):
        stop = min(start + block, rounds)
        resampled = generator.integers(0, n_items, size=(stop - start, n_items))
        means[start:stop] = difference[resampled].mean(axis=1)
    tail = (1 - confidence) / 2
    return float(np.quantile(means, tail)), float(np.quantile(means, 1 - tail))


def exact_mcnemar(a: np.ndarray, b: np.ndarray) -> float | None:
    """Two-sided exact McNemar p-value for 0/1 scores; None for real-valued scores."""
    if not (np.isin(a, (0.0, 1.0)).all() and np.isin(b, (0.0, 1.0)).all()):
        return None
    only_a = int(np.sum((a == 1) & (b == 0)))
    only_b = int(np.sum((a == 0) & (b == 1)))
    discordant = only_a + only_b
    if discordant == 0:
        return 1.0
    from scipy import stats  # here: scipy.stats costs ~0.6 s to import, the CLI never needs it

    return float(min(1.0, 2 * stats.binom.cdf(min(only_a, only_b), discordant, 0.5)))


def items_to_reverse(difference: np.ndarray) -> tuple[int | None, list[int]]:
    """Fewest items whose removal makes the mean difference strictly the opposite sign.

    Returns (count, 0-based indices); (None, []) if impossible, (0, []) if the mean is already
    zero (there is no sign to reverse, so the claim does not hold to begin with).
    """
    total = float(difference.sum())
    if total == 0.0:
        return 0, []
    sign = np.sign(total)
    signed = sign * difference  # now the claim is "sum > 0"
    order = np.argsort(-signed, kind="stable")
    remaining = total * sign - np.cumsum(signed[order])
    reversed_at = np.flatnonzero(remaining < 0)
    # Removing every item leaves no mean at all, so at least one item must remain.
    if reversed_at.shape[0] == 0 or reversed_at[0] + 1 >= difference.shape[0]:
        return None, []
    count = int(reversed_at[0] + 1)
    return count, sorted(order[:count].tolist())
