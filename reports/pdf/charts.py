"""Vector charts for reports, drawn with reportlab graphics in the embedded DejaVu font.

Charts are built from primitive shapes rather than reportlab's chart widgets so that every
string uses the registered TrueType font (the widgets default to Helvetica, which would
not be embedded) and so the layout is under our control.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from reportlab.graphics.shapes import Circle, Drawing, Line, Rect, String
from reportlab.pdfbase.pdfmetrics import stringWidth

from reports.pdf.document import FragilityRow, ScoreRow
from reports.pdf.styles import ACCENT, ACCENT_LIGHT, INK, MUTED, RULE, SANS, WARNING

# Read at print size: 8 pt labels, as the body tables use.
LABEL_SIZE = 8
AXIS_SIZE = 8
# The forest plot's row height, shrunk (never below the label size) only when a very long
# leaderboard would not fit on one page.
ROW_HEIGHT = 11.5
MAX_PLOT_HEIGHT = 600.0


def nice_ticks(low: float, high: float, target: int = 6) -> list[float]:
    """Round tick positions enclosing [low, high] with a 1-2-5 step (Heckbert 1990)."""
    if high <= low:
        high = low + 1.0
    raw_step = (high - low) / target
    magnitude = 10 ** math.floor(math.log10(raw_step))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw_step)
    first = math.floor(low / step) * step
    if first > low:  # low / step underflowed to -0.0 (a subnormal low): one step further
        first -= step
    count = math.ceil((high - first) / step - 1e-9) + 1
    return [round(first + i * step, 10) for i in range(count)]


def _text(
    x: float,
    y: float,
    text: str,
    *,
    size: float = LABEL_SIZE,
    anchor: str = "start",
    color: object = INK,
) -> String:
    return String(x, y, text, fontName=SANS, fontSize=size, fillColor=color, textAnchor=anchor)


def score_interval_chart(
    scores: Sequence[ScoreRow], *, width: float, highlight: frozenset[str] = frozenset()
) -> Drawing:
    """Forest plot: one row per model, its Elo as a dot and its interval as a bar.

    Models named in ``highlight`` (the claimed leader and its challenger) are drawn in
    the warning colour so the reader finds them at once.
    """
    rows = sorted(scores, key=lambda row: row["rank"])
    row_height = max(LABEL_SIZE + 1, min(ROW_HEIGHT, MAX_PLOT_HEIGHT / max(1, len(rows))))
    label_width, top, bottom = 170.0, 18.0, 30.0
    height = top + bottom + row_height * len(rows)
    drawing = Drawing(width, height, initialFontName=SANS)
    low = min(row["ci_low"] for row in rows)
    high = max(row["ci_high"] for row in rows)
    ticks = nice_ticks(low, high)
    x_min, x_max = ticks[0], ticks[-1]
    plot_left, plot_right = label_width + 8, width - 8

    def to_x(value: float) -> float:
        return plot_left + (value - x_min) / (x_max - x_min) * (plot_right - plot_left)

    for tick in ticks:
        drawing.add(
            Line(to_x(tick), bottom, to_x(tick), height - top, strokeColor=RULE, strokeWidth=0.3)
        )
        drawing.add(
            _text(to_x(tick), bottom - 9, f"{tick:g}", size=AXIS_SIZE, anchor="middle", color=MUTED)
        )
    drawing.add(Line(plot_left, bottom, plot_right, bottom, strokeColor=INK, strokeWidth=0.6))
    drawing.add(
        _text(
            (plot_left + plot_right) / 2,
            2,
            "Elo rating (dot) with its 95% interval (bar)",
            size=AXIS_SIZE,
            anchor="middle",
            color=MUTED,
        )
    )
    _legend(drawing, x=plot_left, y=height - 10, highlighted=bool(highlight))
    for index, row in enumerate(rows):
        y = height - top - row_height * (index + 0.5)
        color = WARNING if row["model"] in highlight else ACCENT
        drawing.add(
            _text(
                label_width,
                y - LABEL_SIZE * 0.35,
                _fit_label(f"{row['rank']}. {row['model']}", label_width - 4),
                anchor="end",
                color=color,
            )
        )
        drawing.add(
            Line(
                to_x(row["ci_low"]), y, to_x(row["ci_high"]), y, strokeColor=color, strokeWidth=0.9
            )
        )
        drawing.add(Circle(to_x(row["elo"]), y, 1.9, fillColor=color, strokeColor=None))
    return drawing


def _fit_label(text: str, room: float) -> str:
    """``text`` shortened with an ellipsis until it fits ``room`` points at the label size."""
    if stringWidth(text, SANS, LABEL_SIZE) <= room:
        return text
    while text and stringWidth(text + "…", SANS, LABEL_SIZE) > room:
        text = text[:-1]
    return text + "…"


def _legend(drawing: Drawing, *, x: float, y: float, highlighted: bool) -> None:
    """The key above the plot: which colour is which."""
    entries = [(ACCENT, "model")]
    if highlighted:
        entries.append((WARNING, "claimed model and closest challenger"))
    for color, label in entries:
        drawing.add(Line(x, y + 2.5, x + 14, y + 2.5, strokeColor=color, strokeWidth=0.9))
        drawing.add(Circle(x + 7, y + 2.5, 1.9, fillColor=color, strokeColor=None))
        drawing.add(_text(x + 18, y, label, size=AXIS_SIZE, color=MUTED))
        x += 26 + stringWidth(label, SANS, AXIS_SIZE)


def _log_axis(
    drawing: Drawing, *, left: float, right: float, bottom: float, top: float, decades: int
) -> None:
    for decade in range(decades + 1):
        y = bottom + (top - bottom) * decade / decades
        drawing.add(Line(left, y, right, y, strokeColor=RULE, strokeWidth=0.3))
        drawing.add(
            _text(left - 4, y - 2.8, f"{10**decade:,}", size=AXIS_SIZE, anchor="end", color=MUTED)
        )


def votes_to_flip_chart(
    rows: Sequence[FragilityRow], *, width: float, height: float = 190
) -> Drawing:
    """Bars of votes-to-flip for each adjacent rank pair (rank k against rank k + 1).

    Rows of kind ``top1`` count as rank 1 (the leader against the runner-up).

    The y axis is logarithmic because the counts span 1 to thousands and the small ones,
    the fragile rankings, are the ones that matter. Pairs where no flip was found within
    the search budget are marked "n/f" at the baseline rather than drawn as zero.
    """
    # A "top1" row and a "rank" row with k = 1 test the same pair; draw it once.
    has_rank_one = any(r["kind"] == "rank" and r["k"] == 1 for r in rows)
    kinds = ("rank",) if has_rank_one else ("top1", "rank")
    ranked = sorted(
        (r for r in rows if r["kind"] in kinds and r["k"] is not None),
        key=lambda r: r["k"] or 0,
    )
    drawing = Drawing(width, height, initialFontName=SANS)
    left, right, bottom, top = 34.0, width - 6, 30.0, height - 18
    found = [r["votes_to_flip"] for r in ranked if r["votes_to_flip"]]
    decades = max(1, math.ceil(math.log10(max(found, default=10) + 1)))
    _log_axis(drawing, left=left, right=right, bottom=bottom, top=top, decades=decades)
    slot = (right - left) / max(1, len(ranked))
    for index, row in enumerate(ranked):
        x = left + slot * index + slot * 0.15
        votes = row["votes_to_flip"]
        if votes is None:
            drawing.add(
                _text(x + slot * 0.35, bottom + 2, "n/f", size=6, anchor="middle", color=MUTED)
            )
        else:
            bar = max(1.0, (top - bottom) * math.log10(votes) / decades)
            color = ACCENT if row["verified"] else ACCENT_LIGHT
            drawing.add(
                Rect(
                    x, bottom, slot * 0.7, bar, fillColor=color, strokeColor=ACCENT, strokeWidth=0.2
                )
            )
        if (row["k"] or 0) % 5 == 0 or index == 0:
            drawing.add(
                _text(
                    x + slot * 0.35,
                    bottom - 9,
                    str(row["k"]),
                    size=AXIS_SIZE,
                    anchor="middle",
                    color=MUTED,
                )
            )
    drawing.add(Line(left, bottom, right, bottom, strokeColor=INK, strokeWidth=0.6))
    drawing.add(
        _text(
            (left + right) / 2,
            4,
            "rank k (pair: rank k against rank k + 1)",
            size=AXIS_SIZE,
            anchor="middle",
            color=MUTED,
        )
    )
    drawing.add(
        _text(
            left,
            height - 9,
            "votes to drop to swap the pair (log scale); pale: not confirmed by refit; "
            "n/f: none found",
            size=AXIS_SIZE,
            color=MUTED,
        )
    )
    return drawing
