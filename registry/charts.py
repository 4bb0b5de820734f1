"""Server-side SVG charts for the pages (no JavaScript): every model's score with its 95%
interval, the claimed model highlighted, with labelled axes and a legend.

Two layouts of the same chart: ``wide`` puts each model's name left of its interval;
``compact`` (for phones) puts the name above it, so the chart fits 360 px without
shrinking its text."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from html import escape

from registry.fragility.presenter import interval_bounds

_INK, _MUTED, _GRID, _LINE = "#1b2430", "#5b6675", "#e3e7ec", "#1f5fa8"
_HIGHLIGHT, _HIGHLIGHT_LINE = "#fff4cc", "#c98a00"


@dataclass(frozen=True)
class Layout:
    label_width: float  # left of the plot (0: names go above their line)
    plot_width: float
    row: float
    top: float  # the legend and the upper tick labels
    bottom: float = 50  # the lower tick labels and the axis title
    right: float = 24
    left: float = 0

    @property
    def width(self) -> float:
        return self.left + self.label_width + self.plot_width + self.right

    @property
    def plot_left(self) -> float:
        return self.left + self.label_width


WIDE = Layout(label_width=210, plot_width=560, row=20, top=64)
COMPACT = Layout(label_width=0, plot_width=310, row=32, top=84, left=12, right=18)


def score_interval_svg(
    scores: Sequence[Mapping[str, object]],
    *,
    highlight: str | None = None,
    layout: Layout = WIDE,
) -> str:
    """Elo score (dot) and 95% interval (line) per model, best first, one row per model.
    A model whose interval is not available is drawn as its dot alone."""
    rows = list(scores)
    if not rows:
        return ""
    lows, highs = zip(*(interval_bounds(row) for row in rows), strict=True)
    ticks = nice_ticks(min(lows), max(highs))
    lo, hi = ticks[0], ticks[-1]
    span = (hi - lo) or 1.0

    def x(value: float) -> float:
        return layout.plot_left + (value - lo) / span * layout.plot_width

    plot_bottom = layout.top + layout.row * len(rows)
    height = plot_bottom + layout.bottom
    label = f"Elo score and 95% interval of each of the {len(rows)} models, best first"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{layout.width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {layout.width:.0f} {height:.0f}" role="img" aria-label="{escape(label)}" '
        f'font-family="system-ui, sans-serif" font-size="13" fill="{_INK}">',
        _legend(layout, highlight),
    ]
    for tick in ticks:
        parts.append(
            f'<line x1="{x(tick):.1f}" y1="{layout.top - 8}" x2="{x(tick):.1f}" '
            f'y2="{plot_bottom}" stroke="{_GRID}"/>'
            f'<text x="{x(tick):.1f}" y="{layout.top - 12}" text-anchor="middle" '
            f'fill="{_MUTED}">{tick:.0f}</text>'
            f'<text x="{x(tick):.1f}" y="{plot_bottom + 16}" text-anchor="middle" '
            f'fill="{_MUTED}">{tick:.0f}</text>'
        )
    for index, row in enumerate(rows):
        top = layout.top + index * layout.row
        parts.append(_row(row, top, (lows[index], highs[index]), x, layout, highlight))
    parts.append(
        f'<text x="{layout.plot_left + layout.plot_width / 2:.1f}" y="{height - 10}" '
        'text-anchor="middle">Elo score (dot) with its 95% interval (line)</text>'
    )
    if layout.label_width:
        parts.append(
            f'<text x="{layout.plot_left - 8}" y="20" text-anchor="end" font-weight="600">'
            "Model (by rank)</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def _row(
    row: Mapping[str, object],
    top: float,
    interval: tuple[float, float],
    scale: Callable[[float], float],
    layout: Layout,
    highlight: str | None,
) -> str:
    elo = float(row["elo"] or 0.0)  # type: ignore[arg-type]
    model = str(row["model"])
    claimed = model == highlight
    band = (
        f'<rect x="0" y="{top:.1f}" width="{layout.width:.0f}" height="{layout.row}" '
        f'fill="{_HIGHLIGHT}" stroke="{_HIGHLIGHT_LINE}"/>'
        if claimed
        else ""
    )
    weight = ' font-weight="700"' if claimed else ""
    if layout.label_width:  # the name left of the line, on the same baseline
        name = model if len(model) <= 30 else model[:29] + "\u2026"
        line_y = top + layout.row / 2
        text_x, text_y, anchor = layout.plot_left - 8, line_y + 4, "end"
    else:  # the name above the line
        name = model if len(model) <= 44 else model[:43] + "\u2026"
        line_y = top + layout.row - 9
        text_x, text_y, anchor = layout.left, top + 13, "start"
    low, high = interval
    return (
        f"{band}"
        f'<text x="{text_x:.1f}" y="{text_y:.1f}" text-anchor="{anchor}"{weight}>'
        f"<title>{escape(model)}</title>{row['rank']}. {escape(name)}</text>"
        f'<line x1="{scale(low):.1f}" y1="{line_y:.1f}" x2="{scale(high):.1f}" y2="{line_y:.1f}" '
        f'stroke="{_LINE}" stroke-width="2.5"/>'
        f'<circle cx="{scale(elo):.1f}" cy="{line_y:.1f}" r="4" fill="{_INK}"/>'
    )


def _legend(layout: Layout, highlight: str | None) -> str:
    """One line of legend above the plot (two on the compact layout)."""
    x0 = layout.plot_left
    parts = [
        f'<circle cx="{x0 + 6}" cy="16" r="4" fill="{_INK}"/>'
        f'<text x="{x0 + 16}" y="20">Elo score</text>'
        f'<line x1="{x0 + 96}" y1="16" x2="{x0 + 126}" y2="16" stroke="{_LINE}" '
        'stroke-width="2.5"/>'
        f'<text x="{x0 + 134}" y="20">95% interval</text>'
    ]
    if highlight:
        hx, hy = (x0 + 236, 9) if layout.label_width else (x0, 31)
        parts.append(
            f'<rect x="{hx}" y="{hy}" width="24" height="14" fill="{_HIGHLIGHT}" '
            f'stroke="{_HIGHLIGHT_LINE}"/>'
            f'<text x="{hx + 30}" y="{hy + 11}">claimed model</text>'
        )
    return "".join(parts)


def nice_ticks(low: float, high: float, target: int = 6) -> list[float]:
    """Round tick positions enclosing [low, high] with a 1-2-5 step (Heckbert 1990); the
    same rule as ``reports.pdf.charts`` (a pure package that imports nothing of ours)."""
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
