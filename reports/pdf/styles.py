"""Fonts, colours and paragraph/table styles shared by every report.

Only the DejaVu TrueType fonts shipped in ``fonts/`` are used, never the PDF base-14
fonts (Helvetica and friends), because base-14 fonts are not embedded and a report must
print identically everywhere (PDF/A habit; checked with ``pdffonts`` in the tests).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from reportlab.lib import colors
from reportlab.lib.enums import TA_LEFT, TA_RIGHT
from reportlab.lib.styles import ParagraphStyle
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import TableStyle

FONT_DIR = Path(__file__).resolve().parent / "fonts"

SANS = "DejaVuSans"
SANS_BOLD = "DejaVuSans-Bold"
SANS_ITALIC = "DejaVuSans-Oblique"
MONO = "DejaVuSansMono"

INK = colors.HexColor("#1b1f24")
MUTED = colors.HexColor("#5b6470")
ACCENT = colors.HexColor("#1f3a5f")  # navy: headings, rules, chart marks
ACCENT_LIGHT = colors.HexColor("#dfe7f1")
WARNING = colors.HexColor("#9a3412")  # burnt orange: flips and failures
RULE = colors.HexColor("#b8c2cc")
STRIPE = colors.HexColor("#f3f5f8")
NOTE_BACKGROUND = colors.HexColor("#f7f4ea")


def register_fonts() -> None:
    """Register the DejaVu family with reportlab once per process (parsing costs ~50 ms)."""
    if SANS in pdfmetrics.getRegisteredFontNames():
        return
    for name in (SANS, SANS_BOLD, SANS_ITALIC, MONO):
        pdfmetrics.registerFont(TTFont(name, str(FONT_DIR / f"{name}.ttf")))
    # The family mapping lets <b> and <i> inside paragraphs pick the right face.
    pdfmetrics.registerFontFamily(
        SANS, normal=SANS, bold=SANS_BOLD, italic=SANS_ITALIC, boldItalic=SANS_BOLD
    )


@lru_cache(maxsize=1)
def paragraph_styles() -> dict[str, ParagraphStyle]:
    """The named paragraph styles, built once (they are immutable in practice)."""
    register_fonts()
    body = ParagraphStyle(
        "body", fontName=SANS, fontSize=9.5, leading=13.5, textColor=INK, alignment=TA_LEFT
    )
    return {
        "body": body,
        "small": ParagraphStyle("small", parent=body, fontSize=8, leading=10.5, textColor=MUTED),
        "cell": ParagraphStyle("cell", parent=body, fontSize=8, leading=10),
        "cell_bold": ParagraphStyle(
            "cell_bold", parent=body, fontName=SANS_BOLD, fontSize=8, leading=10
        ),
        "cell_head": ParagraphStyle(
            "cell_head",
            parent=body,
            fontName=SANS_BOLD,
            fontSize=8,
            leading=10,
            textColor=colors.white,
        ),
        # Numbers are never split inside a word (see story_common.number_cell).
        "cell_num": ParagraphStyle(
            "cell_num", parent=body, fontSize=8, leading=10, alignment=TA_RIGHT, splitLongWords=0
        ),
        "cell_num_left": ParagraphStyle(
            "cell_num_left", parent=body, fontSize=8, leading=10, splitLongWords=0
        ),
        "cell_head_num": ParagraphStyle(
            "cell_head_num",
            parent=body,
            fontName=SANS_BOLD,
            fontSize=8,
            leading=10,
            textColor=colors.white,
            alignment=TA_RIGHT,
        ),
        "cell_mono": ParagraphStyle("cell_mono", parent=body, fontName=MONO, fontSize=7, leading=9),
        "mono_block": ParagraphStyle(
            "mono_block", parent=body, fontName=MONO, fontSize=7, leading=9.2, textColor=INK
        ),
        "h1": ParagraphStyle(
            "h1",
            parent=body,
            fontName=SANS_BOLD,
            fontSize=14,
            leading=18,
            textColor=ACCENT,
            spaceBefore=14,
            spaceAfter=6,
        ),
        "h2": ParagraphStyle(
            "h2",
            parent=body,
            fontName=SANS_BOLD,
            fontSize=10.5,
            leading=14,
            textColor=INK,
            spaceBefore=10,
            spaceAfter=4,
        ),
        "kicker": ParagraphStyle(
            "kicker", parent=body, fontName=SANS_BOLD, fontSize=9, leading=12, textColor=MUTED
        ),
        "title": ParagraphStyle(
            "title",
            parent=body,
            fontName=SANS_BOLD,
            fontSize=24,
            leading=29,
            textColor=ACCENT,
            spaceAfter=6,
        ),
        "subtitle": ParagraphStyle(
            "subtitle", parent=body, fontSize=13, leading=17, textColor=INK, spaceAfter=14
        ),
        "quote": ParagraphStyle(
            "quote",
            parent=body,
            fontName=SANS_ITALIC,
            fontSize=10.5,
            leading=15,
            leftIndent=10,
            rightIndent=10,
        ),
        "verdict": ParagraphStyle("verdict", parent=body, fontSize=10.5, leading=15),
    }


def data_table_style(*, header_rows: int = 1, numeric_from_column: int | None = None) -> TableStyle:
    """Grid style for data tables: navy header, zebra rows, hairline rules.

    ``numeric_from_column`` right-aligns that column and every column after it, so that
    digits line up for comparison.
    """
    commands: list[tuple[object, ...]] = [
        ("FONTNAME", (0, 0), (-1, -1), SANS),
        ("FONTSIZE", (0, 0), (-1, -1), 8),
        ("LEADING", (0, 0), (-1, -1), 10),
        ("TEXTCOLOR", (0, 0), (-1, -1), INK),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("TOPPADDING", (0, 0), (-1, -1), 2.5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2.5),
        ("LEFTPADDING", (0, 0), (-1, -1), 4),
        ("RIGHTPADDING", (0, 0), (-1, -1), 4),
        ("ROWBACKGROUNDS", (0, header_rows), (-1, -1), [colors.white, STRIPE]),
        ("LINEBELOW", (0, -1), (-1, -1), 0.6, ACCENT),
    ]
    if header_rows:
        commands += [
            ("BACKGROUND", (0, 0), (-1, header_rows - 1), ACCENT),
            ("TEXTCOLOR", (0, 0), (-1, header_rows - 1), colors.white),
            ("FONTNAME", (0, 0), (-1, header_rows - 1), SANS_BOLD),
        ]
    if numeric_from_column is not None:
        commands.append(("ALIGN", (numeric_from_column, 0), (-1, -1), "RIGHT"))
    return TableStyle(commands)


def key_value_table_style() -> TableStyle:
    """Two-column label/value style for facts (title page, claim details)."""
    return TableStyle(
        [
            ("FONTNAME", (0, 0), (0, -1), SANS_BOLD),
            ("FONTNAME", (1, 0), (1, -1), SANS),
            ("FONTSIZE", (0, 0), (-1, -1), 8.5),
            ("TEXTCOLOR", (0, 0), (0, -1), MUTED),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("TOPPADDING", (0, 0), (-1, -1), 3),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
            ("LEFTPADDING", (0, 0), (-1, -1), 0),
            ("LINEBELOW", (0, 0), (-1, -1), 0.25, RULE),
        ]
    )
