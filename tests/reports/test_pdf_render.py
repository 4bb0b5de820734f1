"""Rendering: every report kind becomes a deterministic, self-contained, readable PDF.

The PDFs are read back with poppler (pdftotext, pdffonts, pdfinfo, pdfdetach, pdftoppm),
an implementation independent of reportlab, so the tests check the file a reader gets.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import math
import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image, ImageStat

from reports.pdf.charts import nice_ticks
from reports.pdf.manifest import canonical_json
from reports.pdf.render import render_pdf
from reports.pdf.samples import sample_claim_document, sample_documents
from tests.real_ai_names import real_names_in
from tests.reports.pdf_tools import page_count, pdf_text, run_tool

KINDS = ("claim", "incident", "digest")


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Each sample document rendered once, written to disk for the poppler tools."""
    directory = tmp_path_factory.mktemp("rendered")
    paths = {}
    for kind, document in sample_documents().items():
        paths[kind] = directory / f"{kind}.pdf"
        paths[kind].write_bytes(render_pdf(document))
    return paths


def test_same_document_renders_to_identical_bytes_in_one_process() -> None:
    document = sample_claim_document()
    assert render_pdf(document) == render_pdf(copy.deepcopy(document))


def test_a_fresh_process_renders_the_same_bytes(rendered: dict[str, Path]) -> None:
    # A new interpreter has no font cache or object counters left over from this one.
    script = (
        "import sys; from reports.pdf.render import render_pdf; "
        "from reports.pdf.samples import sample_claim_document; "
        "sys.stdout.buffer.write(render_pdf(sample_claim_document()))"
    )
    fresh = subprocess.run([sys.executable, "-c", script], capture_output=True, check=True)
    assert fresh.stdout == rendered["claim"].read_bytes()


def test_different_documents_render_differently() -> None:
    document = sample_claim_document()
    changed = copy.deepcopy(document)
    changed["claim"]["statement"] += " Allegedly."
    assert render_pdf(document) != render_pdf(changed)


@pytest.mark.parametrize("kind", KINDS)
def test_every_font_is_embedded(rendered: dict[str, Path], kind: str) -> None:
    lines = run_tool("pdffonts", rendered[kind], check=True).stdout.splitlines()[2:]
    assert lines, "pdffonts listed no fonts"
    for line in lines:
        # Columns: name type encoding emb sub uni object ID; the name may not contain spaces.
        name, *_, emb, _sub, _uni, _obj, _gen = line.split()
        assert emb == "yes", f"{name} is not embedded in the {kind} report"
        assert "DejaVu" in name


@pytest.mark.parametrize("kind", KINDS)
def test_every_page_says_page_n_of_m(rendered: dict[str, Path], kind: str) -> None:
    pages = pdf_text(rendered[kind])
    total = page_count(rendered[kind])
    assert len(pages) == total
    for number, text in enumerate(pages, start=1):
        assert f"Page {number} of {total}" in text


def test_claim_report_is_a_long_document_whose_tables_continue_across_pages(
    rendered: dict[str, Path],
) -> None:
    pages = pdf_text(rendered["claim"])
    assert len(pages) >= 15
    # A split table repeats its header row on the continuation page.
    leaderboard_pages = [text for text in pages if "Bootstrap 95%" in text]
    assert len(leaderboard_pages) >= 2


def test_title_page_shows_identity_ledger_head_and_manifest_digest(
    rendered: dict[str, Path], tmp_path: Path
) -> None:
    document = sample_documents()["claim"]
    title = pdf_text(rendered["claim"])[0]
    extracted = tmp_path / "manifest.json"
    run_tool("pdfdetach", "-save", "1", "-o", extracted, rendered["claim"], check=True)
    for expected in (
        document["report_id"],
        document["subject"],
        "2026-09-18 09:30 UTC",
        document["ledger_head"]["hash"],
        hashlib.sha256(extracted.read_bytes()).hexdigest(),
        "How to verify this report",
    ):
        assert expected in title


@pytest.mark.parametrize("kind", KINDS)
def test_manifest_is_attached_as_canonical_json(
    rendered: dict[str, Path], tmp_path: Path, kind: str
) -> None:
    listing = run_tool("pdfdetach", "-list", rendered[kind], check=True).stdout
    assert "manifest.json" in listing
    extracted = tmp_path / "manifest.json"
    run_tool("pdfdetach", "-save", "1", "-o", extracted, rendered[kind], check=True)
    manifest = sample_documents()[kind]["manifest"]
    assert json.loads(extracted.read_bytes()) == manifest
    assert (
        extracted.read_bytes()
        == json.dumps(manifest, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    )


@pytest.mark.parametrize("kind", KINDS)
def test_metadata_comes_from_the_document(rendered: dict[str, Path], kind: str) -> None:
    document = sample_documents()[kind]
    info = run_tool("pdfinfo", "-isodates", rendered[kind], check=True).stdout
    assert re.search(rf"^Title:\s+{re.escape(document['title'])}$", info, re.MULTILINE)
    assert re.search(rf"^Subject:\s+{re.escape(document['subject'])}$", info, re.MULTILINE)
    generated = document["generated_at"].replace("+00:00", "Z")
    assert re.search(rf"^CreationDate:\s+{re.escape(generated)}$", info, re.MULTILINE)


def _flat(text: str) -> str:
    return " ".join(text.split())


def test_claim_report_shows_attribution_and_fragility_in_plain_words(
    rendered: dict[str, Path],
) -> None:
    claim = sample_documents()["claim"]["claim"]
    text = _flat(" ".join(pdf_text(rendered["claim"])))
    assert _flat(claim["dataset"]["attribution"]) in text
    top = claim["fragility"][0]
    share = f"{100 * top['votes_to_flip'] / claim['dataset']['n_votes']:.2f}%"
    votes = claim["dataset"]["n_votes"]
    assert f"Dropping {top['votes_to_flip']} of the {votes:,} votes ({share})" in text
    assert "upper bound" in text


def test_the_samples_name_no_real_organisation_or_model() -> None:
    text = json.dumps(sample_documents())
    # The method section cites the tie convention it follows; that names no party.
    text = text.replace("(Chatbot Arena convention)", "")
    assert real_names_in(text) == set()


def test_claim_report_lists_every_dropped_vote_id(rendered: dict[str, Path]) -> None:
    claim = sample_documents()["claim"]["claim"]
    text = " ".join(pdf_text(rendered["claim"]))
    listed = text[text.index("7. Dropped votes") : text.index("8. Method and its limits")]
    printed = {int(token) for token in re.findall(r"\b\d+\b", listed)}
    for row in claim["fragility"]:
        assert set(row["dropped_votes"]) <= printed


def test_incident_report_lists_every_evidence_file_hash(rendered: dict[str, Path]) -> None:
    incident = sample_documents()["incident"]["incident"]
    text = " ".join(pdf_text(rendered["incident"]))
    for row in incident["evidence"]:
        for file in row["files"]:
            assert file["sha256"] in text
    for technique in incident["atlas_techniques"]:
        assert technique["technique_id"] in text


@pytest.mark.parametrize("kind", KINDS)
def test_every_page_renders_to_a_non_blank_image(
    rendered: dict[str, Path], tmp_path: Path, kind: str
) -> None:
    run_tool("pdftoppm", "-r", "30", "-png", rendered[kind], tmp_path / kind, check=True)
    images = sorted(tmp_path.glob(f"{kind}*.png"))
    assert len(images) == page_count(rendered[kind])
    for image_path in images:
        with Image.open(image_path) as image:
            assert ImageStat.Stat(image.convert("L")).stddev[0] > 5, f"{image_path} is blank"


def test_text_that_looks_like_markup_is_printed_literally(tmp_path: Path) -> None:
    document = sample_documents()["digest"]
    document["digest"]["releases"][0]["model"] = "<b>Evil & Co</b>"
    path = tmp_path / "digest.pdf"
    path.write_bytes(render_pdf(document))
    assert "<b>Evil & Co</b>" in " ".join(pdf_text(path))


def test_a_digest_listing_an_embargoed_incident_is_refused() -> None:
    document = sample_documents()["digest"]
    document["digest"]["incidents"][0]["embargoed"] = True
    with pytest.raises(ValueError, match="embargoed"):
        render_pdf(document)


def test_a_document_without_its_section_is_refused() -> None:
    document = sample_documents()["incident"]
    del document["incident"]
    with pytest.raises(ValueError, match="'incident' section"):
        render_pdf(document)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=12,
)


@given(st.dictionaries(st.text(max_size=6), json_values, max_size=6))
def test_canonical_json_ignores_key_order_and_round_trips(value: dict[str, object]) -> None:
    reordered = dict(reversed(list(value.items())))
    assert canonical_json(reordered) == canonical_json(value)
    assert json.loads(canonical_json(value)) == value


@given(
    st.floats(min_value=-1e6, max_value=1e6, allow_nan=False),
    st.floats(min_value=1e-3, max_value=1e6, allow_nan=False),
)
def test_chart_ticks_enclose_the_data_with_a_round_even_step(low: float, span: float) -> None:
    ticks = nice_ticks(low, low + span)
    assert ticks[0] <= low + 1e-9 * abs(low)
    assert ticks[-1] >= (low + span) - 1e-9 * abs(low + span)
    steps = [b - a for a, b in itertools.pairwise(ticks)]
    step = steps[0]
    assert max(steps) - min(steps) <= 1e-6 * step + 1e-9
    mantissa = step / 10 ** math.floor(math.log10(step))
    # Ticks are rounded to 1e-10 and far from zero carry float error, so the step read
    # back from differences is exact only to about that, relative to the step.
    tolerance = 1e-6 + 4 * (1e-10 + 1e-15 * abs(low)) / step
    assert min(abs(mantissa - m) for m in (1, 2, 5, 10)) < tolerance
