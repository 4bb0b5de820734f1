"""The page canvas: running header and footer with "Page N of M", metadata and attachments.

"Page N of M" needs M before any page is finished, so the canvas keeps each page's drawing
state when platypus ends the page and replays them all at ``save()`` once the total is
known, drawing the header and footer then (the usual reportlab two-phase canvas).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas

from reports.pdf.manifest import embed_manifest, install_info
from reports.pdf.styles import ACCENT, MONO, MUTED, RULE, SANS, SANS_BOLD

MARGIN = 18 * mm
# Space kept between a running text and what stands right of it on the same line.
GUTTER = 6 * mm
ELLIPSIS = "…"


def fit_to_width(text: str, font: str, size: float, width: float) -> str:
    """``text``, or its longest prefix followed by an ellipsis, that is at most ``width``
    points wide in ``font`` at ``size`` (the running header and footer are one line, and
    the full text is on the title page)."""
    if stringWidth(text, font, size) <= width:
        return text
    # Binary search on the prefix length: widths only grow as characters are added.
    low, high = 0, len(text)
    while low < high:
        middle = (low + high + 1) // 2
        if stringWidth(text[:middle].rstrip() + ELLIPSIS, font, size) <= width:
            low = middle
        else:
            high = middle - 1
    return text[:low].rstrip() + ELLIPSIS


def parse_generated_at(value: str) -> datetime:
    """Parse the document's ISO 8601 time; a naive time is taken as UTC."""
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def pdf_date(moment: datetime) -> str:
    """Format ``moment`` as a PDF date string (ISO 32000-1 section 7.9.4), in UTC."""
    return moment.astimezone(UTC).strftime("D:%Y%m%d%H%M%S+00'00'")


@dataclass(frozen=True)
class PageChrome:
    """What the running header and footer show, and the document-level extras."""

    header_left: str
    report_id: str
    footer_left: str
    ledger_line: str
    generated_at: datetime
    manifest_bytes: bytes
    info_extra: dict[str, str]
    # Printed after ``footer_left``, never shortened (e.g. " · generated 2026-11-29").
    footer_note: str = ""

    def draw(self, canvas: Canvas, page_number: int, page_count: int) -> None:
        """Draw header (not on the title page) and footer on the current page."""
        width, height = canvas._pagesize
        canvas.saveState()
        if page_number > 1:
            report_id_width = stringWidth(self.report_id, MONO, 7.5)
            header_width = width - 2 * MARGIN - report_id_width - GUTTER
            canvas.setFont(SANS_BOLD, 7.5)
            canvas.setFillColor(ACCENT)
            header = fit_to_width(self.header_left, SANS_BOLD, 7.5, header_width)
            canvas.drawString(MARGIN, height - 12 * mm, header)
            canvas.setFont(MONO, 7.5)
            canvas.drawRightString(width - MARGIN, height - 12 * mm, self.report_id)
            canvas.setStrokeColor(RULE)
            canvas.setLineWidth(0.5)
            canvas.line(MARGIN, height - 13.5 * mm, width - MARGIN, height - 13.5 * mm)
        canvas.setStrokeColor(RULE)
        canvas.setLineWidth(0.5)
        canvas.line(MARGIN, 14 * mm, width - MARGIN, 14 * mm)
        canvas.setFillColor(MUTED)
        page_label = f"Page {page_number} of {page_count}"
        footer_width = width - 2 * MARGIN - stringWidth(page_label, SANS_BOLD, 7.5) - GUTTER
        canvas.setFont(SANS, 7.5)
        subject_width = footer_width - stringWidth(self.footer_note, SANS, 7.5)
        subject = fit_to_width(self.footer_left, SANS, 7.5, subject_width)
        canvas.drawString(MARGIN, 10.5 * mm, subject + self.footer_note)
        canvas.setFont(SANS_BOLD, 7.5)
        canvas.drawRightString(width - MARGIN, 10.5 * mm, page_label)
        canvas.setFont(MONO, 6.5)
        canvas.drawString(
            MARGIN, 7 * mm, fit_to_width(self.ledger_line, MONO, 6.5, width - 2 * MARGIN)
        )
        canvas.restoreState()


class ReportCanvas(Canvas):
    """A canvas that defers page chrome until the page count is known.

    Construct through ``functools.partial(ReportCanvas, chrome=...)`` as platypus's
    ``canvasmaker``.
    """

    def __init__(self, *args: Any, chrome: PageChrome, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._chrome = chrome
        self._page_states: list[dict[str, Any]] = []

    def showPage(self) -> None:  # noqa: N802 - reportlab's method name
        self._page_states.append(dict(self.__dict__))
        self._startPage()

    def save(self) -> None:
        page_count = len(self._page_states)
        for page_number, state in enumerate(self._page_states, start=1):
            self.__dict__.update(state)
            self._chrome.draw(self, page_number, page_count)
            super().showPage()
        install_info(self, self._chrome.info_extra)
        # The creation date comes from the document, never from the clock, so that the same
        # document gives the same bytes (reportlab's invariant mode fixes everything else).
        fixed_date = pdf_date(self._chrome.generated_at)
        self._doc.info._dateFormatter = lambda *_fields: fixed_date
        embed_manifest(self, self._chrome.manifest_bytes)
        super().save()
