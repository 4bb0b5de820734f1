"""Render a report document to an unsigned PDF: ``render_pdf(document) -> bytes``.

Rendering is a pure function: reportlab's invariant mode fixes the file ID and internal
timestamps, the creation date comes from ``generated_at`` and nothing reads the clock,
so the same document always gives byte-identical output (the tests check this).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from io import BytesIO
from typing import Any

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.platypus import BaseDocTemplate, Flowable, Frame, PageTemplate

from reports.pdf.document import ReportDocument, validate_document
from reports.pdf.manifest import (
    INFO_MANIFEST_KEY,
    INFO_REPORT_ID_KEY,
    canonical_json,
    sha256_hex,
)
from reports.pdf.pagecanvas import MARGIN, PageChrome, ReportCanvas, parse_generated_at
from reports.pdf.story_claim import claim_story
from reports.pdf.story_common import KIND_LABELS, fmt_time, short_hash, title_page
from reports.pdf.story_digest import digest_story
from reports.pdf.story_incident import incident_story
from reports.pdf.styles import SANS, register_fonts

PRODUCER = "Evidence Registry report renderer (reportlab)"

_STORY_BUILDERS: dict[str, Callable[[Any], list[Flowable]]] = {
    "claim": claim_story,
    "incident": incident_story,
    "digest": digest_story,
}


def _page_chrome(document: ReportDocument, manifest_bytes: bytes) -> PageChrome:
    head = document["ledger_head"]
    return PageChrome(
        header_left=f"EVIDENCE REGISTRY · {KIND_LABELS[document['kind']]}",
        report_id=document["report_id"],
        footer_left=document["subject"],
        footer_note=f" · generated {fmt_time(document['generated_at'])}",
        ledger_line=f"ledger head #{head['seq']:,} {short_hash(head['hash'], 32)}",
        generated_at=parse_generated_at(document["generated_at"]),
        manifest_bytes=manifest_bytes,
        info_extra={
            INFO_REPORT_ID_KEY: document["report_id"],
            INFO_MANIFEST_KEY: sha256_hex(manifest_bytes),
        },
    )


def _doc_template(buffer: BytesIO, document: ReportDocument) -> BaseDocTemplate:
    template = BaseDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=20 * mm,
        bottomMargin=20 * mm,
        title=document["title"],
        author=document.get("issuer", "Evidence Registry"),
        subject=document["subject"],
        creator="Evidence Registry",
        producer=PRODUCER,
        # The report id in the keywords also makes reportlab's invariant-mode file ID differ
        # between reports (it is derived from title, author, subject and keywords).
        keywords=f"{document['report_id']}, {document['kind']}, evidence registry",
        invariant=1,
        # Without this reportlab starts every page with a Helvetica font selection, which
        # puts a non-embedded font in the file even if no text uses it.
        initialFontName=SANS,
        pageCompression=1,
        lang="en",
    )
    frame = Frame(
        template.leftMargin,
        template.bottomMargin,
        template.width,
        template.height,
        id="body",
        leftPadding=0,
        rightPadding=0,
        topPadding=0,
        bottomPadding=0,
    )
    template.addPageTemplates([PageTemplate(id="report", frames=[frame])])
    return template


def render_pdf(document: ReportDocument) -> bytes:
    """Render ``document`` (see :mod:`reports.pdf.document`) to unsigned PDF bytes.

    Raises ``ValueError`` when the document lacks a required part.
    """
    validate_document(dict(document))
    register_fonts()
    manifest_bytes = canonical_json(document["manifest"])
    kind = document["kind"]
    story = title_page(document, sha256_hex(manifest_bytes))
    story += _STORY_BUILDERS[kind](document[kind])  # type: ignore[literal-required]
    buffer = BytesIO()
    template = _doc_template(buffer, document)
    template.build(
        story, canvasmaker=partial(ReportCanvas, chrome=_page_chrome(document, manifest_bytes))
    )
    return buffer.getvalue()
