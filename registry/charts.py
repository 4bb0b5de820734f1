"""Server-side SVG charts for the pages (no JavaScript): scores with intervals."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from html import escape

from registry.fragility.presenter import interval_bounds

_ROW = 18
_LABEL_WIDTH = 230
_PLOT_WIDTH = 460
_PAD = 40


def score_interval_svg(scores: Sequence[Mapping[str, object]], *, limit: int = 30) -> str:
    """Elo score (dot) and 95% interval (line) per model, best first. A model whose
    interval is not available is drawn as its dot alone."""
    rows = list(scores)[:limit]
    if not rows:
        return ""
    lows, highs = zip(*(interval_bounds(row) for row in rows), strict=True)
    lo, hi = min(lows), max(highs)
    span = (hi - lo) or 1.0

    def x(value: float) -> float:
        return _LABEL_WIDTH + (value - lo) / span * _PLOT_WIDTH

    height = _PAD + _ROW * len(rows) + 10
    width = _LABEL_WIDTH + _PLOT_WIDTH + 20
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="Scores with 95% intervals" '
        'font-family="system-ui, sans-serif" font-size="11">'
    ]
    for tick in _ticks(lo, hi):
        parts.append(
            f'<line x1="{x(tick):.1f}" y1="{_PAD - 14}" x2="{x(tick):.1f}" y2="{height - 6}" '
            'stroke="#e3e7ec"/>'
            f'<text x="{x(tick):.1f}" y="{_PAD - 18}" text-anchor="middle" fill="#5b6675">'
            f"{tick:.0f}</text>"
        )
    for index, row in enumerate(rows):
        y = _PAD + index * _ROW
        elo = float(row["elo"])  # type: ignore[arg-type]
        parts.append(
            f'<text x="{_LABEL_WIDTH - 8}" y="{y + 4}" text-anchor="end">'
            f"{escape(str(row['model']))}</text>"
            f'<line x1="{x(lows[index]):.1f}" y1="{y}" x2="{x(highs[index]):.1f}" y2="{y}" '
            'stroke="#1f5fa8" stroke-width="2"/>'
            f'<circle cx="{x(elo):.1f}" cy="{y}" r="3.5" fill="#1b2430"/>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _ticks(lo: float, hi: float) -> list[float]:
    step = max(1.0, 10 ** round(math.log10((hi - lo) / 5 or 1)))
    start = (lo // step + 1) * step
    ticks = []
    value = start
    while value < hi:
        ticks.append(value)
        value += step
    return ticks
