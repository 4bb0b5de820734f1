"""Flowable builders shared by every report kind: text, tables, number formats, title page.

All text that comes from a document is escaped before it reaches reportlab's paragraph
markup, so a model called "<b>x</b>" prints literally instead of breaking the layout.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from xml.sax.saxutils import escape

from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.platypus import (
    CondPageBreak,
    Flowable,
    KeepTogether,
    PageBreak,
    Paragraph,
    Spacer,
    Table,
)

from reports.pdf.document import ReportDocument, SignerCertificate
from reports.pdf.pagecanvas import MARGIN, parse_generated_at
from reports.pdf.styles import (
    ACCENT,
    NOTE_BACKGROUND,
    RULE,
    SANS,
    data_table_style,
    key_value_table_style,
    paragraph_styles,
)

PAGE_WIDTH = 595.2756  # A4 in points
CONTENT_WIDTH = PAGE_WIDTH - 2 * MARGIN
type Cell = str | Flowable

KIND_LABELS = {
    "claim": "Benchmark claim assessment",
    "incident": "Model cloning incident report",
    "digest": "Registry digest",
}


def para(text: str, style: str = "body") -> Paragraph:
    """A paragraph of plain (untrusted) text."""
    return Paragraph(escape(text), paragraph_styles()[style])


def markup(text: str, style: str = "body") -> Paragraph:
    """A paragraph of trusted reportlab markup (``<b>``, ``<i>``); escape inputs first."""
    return Paragraph(text, paragraph_styles()[style])


def heading(text: str, level: int = 1) -> list[Flowable]:
    """A section heading that never sits alone at the foot of a page."""
    return [CondPageBreak(30 * mm if level == 1 else 22 * mm), para(text, f"h{level}")]


def fmt_int(value: int | None) -> str:
    """Thousands-separated integer, or an em dash for missing values."""
    return "—" if value is None else f"{value:,}"


def count_of(number: int, singular: str, plural: str | None = None) -> str:
    """ "1 vote", "2 votes", "1,000 votes": the number and the noun that agrees with it."""
    noun = singular if number == 1 else (plural or f"{singular}s")
    return f"{fmt_int(number)} {noun}"


def fmt_percent(fraction: float | None, digits: int = 2) -> str:
    """A share in [0, 1] as a percentage."""
    return "—" if fraction is None else f"{100 * fraction:.{digits}f}%"


def fmt_float(value: float | None, digits: int = 3) -> str:
    """A fixed-point number, or an em dash."""
    return "—" if value is None else f"{value:,.{digits}f}"


def fmt_p_value(p_value: float | None) -> str:
    """p-values below 0.0001 are shown as a bound: more digits would claim false precision."""
    if p_value is None:
        return "—"
    return "< 0.0001" if p_value < 1e-4 else f"{p_value:.4f}"


def fmt_time(value: str) -> str:
    """An ISO 8601 time as 'YYYY-MM-DD HH:MM UTC'."""
    return parse_generated_at(value).strftime("%Y-%m-%d %H:%M UTC")


def short_hash(value: str, length: int = 16) -> str:
    """The first characters of a hex digest, enough to recognise it by eye."""
    return value[:length] + "…" if len(value) > length else value


def cell(value: Cell, style: str = "cell") -> Flowable:
    """Wrap a string in a table-cell paragraph so that long text wraps instead of overflowing."""
    return value if isinstance(value, Flowable) else para(value, style)


# A table cell's left plus right padding (data_table_style).
CELL_PADDING = 8
SMALLEST_NUMBER_SIZE = 5.0


# "1,200,000", "-0.3436", "16.82%", "< 0.0001", "#4,700", "4.9e-12": one token each.
NUMBER = re.compile(r"[#<>≤≥±+\-\u2212]?\s?\d[\d,.]*(?:[eE][+\-]?\d+)?%?")


def looks_like_number(value: Cell) -> bool:
    return isinstance(value, str) and NUMBER.fullmatch(value) is not None


def number_cell(value: Cell, column_width: float, *, right: bool = True) -> Flowable:
    """A number that is never broken across lines ("1,200,0" / "00"): set on one line,
    in a smaller size when the column is too narrow for it."""
    if isinstance(value, Flowable):
        return value
    style = paragraph_styles()["cell_num" if right else "cell_num_left"]
    natural = stringWidth(value, style.fontName, style.fontSize)
    room = column_width - CELL_PADDING
    if natural > room:
        size = max(SMALLEST_NUMBER_SIZE, math.floor(2 * style.fontSize * room / natural) / 2)
        style = ParagraphStyle(f"cell_num_{size}", parent=style, fontSize=size, leading=size + 2)
    return Paragraph(escape(value).replace(" ", "&nbsp;"), style)


def data_table(
    header: Sequence[str],
    rows: Sequence[Sequence[Cell]],
    widths: Sequence[float],
    *,
    numeric_from_column: int | None = None,
) -> Table:
    """A table whose header repeats on every page it spans."""

    def is_numeric(column: int) -> bool:
        return numeric_from_column is not None and column >= numeric_from_column

    head = [
        cell(text, "cell_head_num" if is_numeric(i) else "cell_head")
        for i, text in enumerate(header)
    ]
    body = [
        [
            number_cell(value, widths[i], right=is_numeric(i))
            if is_numeric(i) or looks_like_number(value)
            else cell(value)
            for i, value in enumerate(row)
        ]
        for row in rows
    ]
    table = Table([head, *body], colWidths=list(widths), repeatRows=1, hAlign="LEFT", splitInRow=1)
    table.setStyle(data_table_style(numeric_from_column=numeric_from_column))
    return table


def facts_table(facts: Sequence[tuple[str, Cell]], label_width: float = 42 * mm) -> Table:
    """Label/value pairs, one per line."""
    rows = [[para(label, "cell_bold"), cell(value)] for label, value in facts]
    table = Table(
        rows, colWidths=[label_width, CONTENT_WIDTH - label_width], hAlign="LEFT", splitInRow=1
    )
    table.setStyle(key_value_table_style())
    return table


def note_box(flowables: list[Flowable], *, background: object = NOTE_BACKGROUND) -> Table:
    """A shaded box for instructions and caveats."""
    table = Table([[flowables]], colWidths=[CONTENT_WIDTH], hAlign="LEFT", splitInRow=1)
    table.setStyle(
        [
            # Every table names its font: reportlab's default cell font is Helvetica, which
            # would add a non-embedded font to the file even for an empty cell.
            ("FONTNAME", (0, 0), (-1, -1), SANS),
            ("BACKGROUND", (0, 0), (-1, -1), background),
            ("BOX", (0, 0), (-1, -1), 0.5, RULE),
            ("LEFTPADDING", (0, 0), (-1, -1), 9),
            ("RIGHTPADDING", (0, 0), (-1, -1), 9),
            ("TOPPADDING", (0, 0), (-1, -1), 7),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 8),
        ]
    )
    return table


DEFAULT_VERIFICATION_STEPS = (
    "Upload this file to the verification page named above (the QR code opens it): it runs "
    "every check below and says whether the file is the one the registry signed.",
    "Check the digital signature (PAdES) in any PDF reader, or with <i>pdfsig</i>. It must be "
    "valid, cover the whole file, chain to the registry's published signing root, and be made "
    "with the certificate whose SHA-256 fingerprint is printed above.",
    "Extract the attachment <i>manifest.json</i> (for example <i>pdfdetach -saveall</i>). Its "
    "SHA-256 must equal the manifest digest printed above.",
    "Compare every SHA-256 in the manifest with the files the registry holds for the listed "
    "subjects; any difference means the evidence changed after this report was issued.",
    "Confirm that the ledger head above (sequence number and hash) appears in the registry's "
    "public ledger; later entries must chain back to it.",
)


def _verification_box(document: ReportDocument) -> Table:
    steps = document.get("verification_instructions")
    if steps:
        items = [escape(step) for step in steps]
    else:
        # The first step points at the verification page, which only a URL names.
        items = list(DEFAULT_VERIFICATION_STEPS[0 if "verification_url" in document else 1 :])
    flowables: list[Flowable] = [markup("<b>How to verify this report</b>", "h2")]
    flowables += [markup(f"{number}. {text}", "small") for number, text in enumerate(items, 1)]
    return note_box(flowables)


QR_SIZE = 30 * mm


def qr_drawing(value: str, size: float = QR_SIZE) -> Drawing:
    """A QR code of ``value`` (reportlab's own encoder), ``size`` points square."""
    widget = QrCodeWidget(value, barLevel="M")
    x0, y0, x1, y1 = widget.getBounds()
    drawing = Drawing(
        size,
        size,
        transform=[size / (x1 - x0), 0, 0, size / (y1 - y0), 0, 0],
        # Without a font of ours the drawing selects Helvetica, which is not embedded.
        initialFontName=SANS,
    )
    drawing.add(widget)
    return drawing


def _verify_here(url: str) -> Table:
    """The verification address as text and as a QR code, side by side."""
    text: list[Flowable] = [
        markup("<b>Verify this report online</b>", "h2"),
        para(url, "cell_mono"),
        Spacer(1, 2 * mm),
        para(
            "Open this address (or scan the code) and upload the PDF: the registry checks its "
            "signature, its manifest and the ledger entries it cites.",
            "small",
        ),
    ]
    table = Table(
        [[qr_drawing(url), text]],
        colWidths=[QR_SIZE + 8 * mm, CONTENT_WIDTH - QR_SIZE - 8 * mm],
        hAlign="LEFT",
    )
    table.setStyle(
        [
            ("FONTNAME", (0, 0), (-1, -1), SANS),
            ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ("LEFTPADDING", (0, 0), (-1, -1), 0),
            ("BOX", (0, 0), (-1, -1), 0.5, RULE),
            ("LEFTPADDING", (0, 0), (0, 0), 4),
        ]
    )
    return table


def signer_facts(signer: SignerCertificate) -> list[tuple[str, Cell]]:
    """Who signs the report and with which certificate, for the title page."""
    return [
        ("Signed by", para(signer["subject"], "cell")),
        ("Certificate issuer", para(signer["issuer"], "cell")),
        ("Certificate SHA-256", para(signer["sha256_fingerprint"], "cell_mono")),
        (
            "Certificate valid",
            f"{fmt_time(signer['valid_from'])} to {fmt_time(signer['valid_until'])}",
        ),
    ]


def title_page(document: ReportDocument, manifest_sha256: str) -> list[Flowable]:
    """The title page: identity, signer, provenance anchors, where and how to verify."""
    head = document["ledger_head"]
    manifest = document["manifest"]
    facts: list[tuple[str, Cell]] = [
        ("Report ID", para(document["report_id"], "cell_mono")),
        ("Kind", KIND_LABELS[document["kind"]]),
        ("Subject", document["subject"]),
        ("Generated at", fmt_time(document["generated_at"])),
        ("Issued by", document.get("issuer", "Evidence Registry")),
        ("Ledger head", markup(f"entry #{head['seq']:,}<br/>{escape(head['hash'])}", "cell_mono")),
        ("Manifest SHA-256", para(manifest_sha256, "cell_mono")),
        ("Engine version", manifest.get("engine_version", "—")),
    ]
    if "signer" in document:
        facts[5:5] = signer_facts(document["signer"])
    url = document.get("verification_url")
    return [
        Spacer(1, 22 * mm),
        para("EVIDENCE REGISTRY", "kicker"),
        Spacer(1, 3 * mm),
        para(document["title"], "title"),
        para(document["subject"], "subtitle"),
        Table(
            [[""]],
            colWidths=[CONTENT_WIDTH],
            rowHeights=[2],
            style=[("LINEABOVE", (0, 0), (-1, 0), 2, ACCENT), ("FONTNAME", (0, 0), (-1, -1), SANS)],
        ),
        Spacer(1, 4 * mm),
        facts_table(facts),
        Spacer(1, 5 * mm),
        *([_verify_here(url), Spacer(1, 5 * mm)] if url else []),
        KeepTogether(_verification_box(document)),
        PageBreak(),
    ]
