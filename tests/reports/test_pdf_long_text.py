"""Reports render any text: 50,000-character summaries, statements and reasons flow
across pages, 2,000-character names wrap, the running footer never reaches the page
number, numbers are never split inside a table cell and counts agree with their nouns.
Each stressed report is rendered, signed and verified."""

from __future__ import annotations

import copy
import itertools
import re
from pathlib import Path
from typing import Any

import pytest
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth

from reports.pdf.devca import DevPki, ensure_dev_pki
from reports.pdf.document import ReportDocument
from reports.pdf.pagecanvas import PageChrome, fit_to_width, parse_generated_at
from reports.pdf.render import render_pdf
from reports.pdf.samples import (
    sample_claim_document,
    sample_digest_document,
    sample_documents,
    sample_incident_document,
)
from reports.pdf.signing import load_signer
from reports.pdf.styles import SANS, register_fonts
from reports.pdf.verify import verify_pdf
from tests.reports.pdf_tools import pdf_text

LONG_TEXT = " ".join(f"clause{i} of the statement" for i in range(4000))[:50_000]
LAST_CLAUSE = LONG_TEXT.rsplit(" ", 4)[0].rsplit(" ", 1)[-1]  # a whole word near the end
LONG_NAME = ("Nimbus-7B-" * 200)[:2000]  # one unbroken 2,000-character token


def stressed(document: ReportDocument) -> ReportDocument:
    """``document`` with every free text at 50,000 characters and every name at 2,000."""
    doc: Any = copy.deepcopy(document)
    doc.update(title=LONG_NAME, subject=LONG_NAME, issuer=LONG_NAME)
    doc["verification_instructions"] = [LONG_TEXT]
    section = doc[doc["kind"]]
    if doc["kind"] == "claim":
        section.update(statement=LONG_TEXT, claimant=LONG_NAME, model=LONG_NAME)
        section.update(benchmark=LONG_NAME, source_url=LONG_NAME)
        section["dataset"].update(attribution=LONG_TEXT, source_url=LONG_NAME)
        section["fit"]["reference_model"] = LONG_NAME
        section["scores"][0]["model"] = LONG_NAME
        section["fragility"][0]["pair"][1] = section["fragility"][0]["challenger"] = LONG_NAME
    elif doc["kind"] == "incident":
        section.update(title=LONG_NAME, summary=LONG_TEXT, evidentiary_level=LONG_TEXT)
        section["parties"][0]["organisation"] = LONG_NAME
        section["parties"][0]["release"]["model"] = LONG_NAME
        section["timeline"][0].update(summary=LONG_TEXT, actor=LONG_NAME)
        section["evidence"][0].update(method=LONG_NAME, decision=LONG_TEXT)
        section["evidence"][0]["files"][0]["name"] = LONG_NAME
        section["approvals"][0]["name"] = LONG_NAME
    else:
        section["releases"][0].update(organisation=LONG_NAME, model=LONG_NAME)
        section["claims"][0].update(statement=LONG_TEXT, verdict=LONG_TEXT)
        section["incidents"][0]["title"] = LONG_NAME
    return doc  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> DevPki:
    return ensure_dev_pki(tmp_path_factory.mktemp("pki"))


def words(text: str) -> str:
    return re.sub(r"\s+", " ", text)


@pytest.mark.parametrize("kind", ["claim", "incident", "digest"])
def test_a_report_with_huge_texts_renders_signs_and_verifies(
    kind: str, pki: DevPki, tmp_path: Path
) -> None:
    document = stressed(sample_documents()[kind])
    signer = load_signer(pki.signing_key_file, pki.signing_cert_file, [pki.chain_file])
    signed = signer.sign(render_pdf(document))
    result = verify_pdf(signed, trust_roots=[pki.ca_cert_file.read_bytes()])
    assert result.passed, result.to_dict()
    assert result.manifest == document["manifest"]
    path = tmp_path / "report.pdf"
    path.write_bytes(signed)
    pages = pdf_text(path)
    # The long text flowed on to its end rather than being cut or overflowing a page.
    assert LAST_CLAUSE in words(" ".join(pages))
    for number, page in enumerate(pages, start=1):
        assert f"Page {number} of {len(pages)}" in page


class RecordingCanvas:
    """Just enough of a reportlab canvas to record where PageChrome puts its strings."""

    def __init__(self) -> None:
        self._pagesize = (595.2756, 841.8898)
        self.font = ("", 0.0)
        self.strings: list[tuple[float, float, float]] = []  # (left, right, y)

    def setFont(self, name: str, size: float) -> None:  # noqa: N802 - reportlab's name
        self.font = (name, size)

    def drawString(self, x: float, y: float, text: str) -> None:  # noqa: N802
        self.strings.append((x, x + stringWidth(text, *self.font), y))

    def drawRightString(self, x: float, y: float, text: str) -> None:  # noqa: N802
        self.strings.append((x - stringWidth(text, *self.font), x, y))

    def __getattr__(self, name: str) -> Any:
        return lambda *args, **kwargs: None


def test_the_running_header_and_footer_never_reach_what_stands_beside_them() -> None:
    register_fonts()
    chrome = PageChrome(
        header_left=f"EVIDENCE REGISTRY · {LONG_NAME}",
        report_id="R-2024-000312",
        footer_left=LONG_NAME,
        ledger_line="ledger head #4,813 " + "ab" * 40,
        generated_at=parse_generated_at("2024-03-18T09:31:00+00:00"),
        manifest_bytes=b"{}",
        info_extra={},
        footer_note=" · generated 2024-03-18 09:31 UTC",
    )
    canvas = RecordingCanvas()
    chrome.draw(canvas, 118, 120)  # type: ignore[arg-type]
    by_line: dict[float, list[tuple[float, float]]] = {}
    for left, right, y in canvas.strings:
        by_line.setdefault(y, []).append((left, right))
    for spans in by_line.values():
        spans.sort()
        for (_, first_right), (second_left, _) in itertools.pairwise(spans):
            assert first_right + 5 * mm <= second_left
        assert spans[-1][1] <= canvas._pagesize[0]


def test_a_shortened_footer_keeps_as_much_as_fits_and_says_so() -> None:
    register_fonts()
    shortened = fit_to_width(LONG_NAME, SANS, 7.5, 200)
    assert shortened.endswith("…")
    assert stringWidth(shortened, SANS, 7.5) <= 200
    assert stringWidth(LONG_NAME[: len(shortened)] + "…", SANS, 7.5) > 200
    assert fit_to_width("short", SANS, 7.5, 200) == "short"


def rendered_text(document: ReportDocument, tmp_path: Path) -> str:
    path = tmp_path / "report.pdf"
    path.write_bytes(render_pdf(document))
    return "\n".join(pdf_text(path))


def test_numbers_are_never_split_inside_a_table_cell(tmp_path: Path) -> None:
    claim: Any = sample_claim_document()
    claim["claim"]["fragility"][0]["votes_to_flip"] = 1_200_000
    incident: Any = sample_incident_document()
    incident["incident"]["evidence"][0]["n"] = 12_000_000
    assert "1,200,000" in rendered_text(claim, tmp_path)
    assert "12,000,000" in rendered_text(incident, tmp_path)


def test_counts_agree_with_their_nouns(tmp_path: Path) -> None:
    claim: Any = sample_claim_document()
    claim["claim"]["fragility"] = claim["claim"]["fragility"][:1]
    claim["claim"]["fragility"][0]["dropped_votes"] = [371]
    text = words(rendered_text(claim, tmp_path))
    assert ": 1 vote" in text
    assert not re.search(r"(?<![\d,.])1 votes", text)
    digest: Any = sample_digest_document()
    digest["digest"]["releases"] = digest["digest"]["releases"][:1]
    digest["digest"]["incidents"] = digest["digest"]["incidents"][:1]
    text = words(rendered_text(digest, tmp_path))
    assert "1 model release," in text
    assert "1 public incident." in text
