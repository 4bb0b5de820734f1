"""Reports a standards body can file: each says where to verify it (as text and as a QR
code), which certificate signed it, the method it rests on with its citation, the
bootstrap intervals and random-drop baseline of the analysis, what its verdict words
and dates mean, and the organisations' own replies.

Everything is read back from the PDF with poppler, and the QR code with zxing-cpp, a
decoder independent of reportlab's encoder.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
import zxingcpp
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from PIL import Image

from registry.analyses import analysis_request, analysis_run
from registry.models import FragilityAnalysis
from registry.services import reply_file
from reports.documents import verification_url
from reports.models import Report
from reports.pdf.devca import DevPki
from reports.pdf.render import render_pdf
from reports.pdf.samples import sample_documents
from reports.services import ReportSubject, report_request, report_run, report_verify
from tests.reports.pdf_tools import pdf_text, run_tool
from tests.reports.report_records import (
    digest_period,
    incident_report,
    make_claim,
    make_dataset,
    make_incident,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("report_settings")]

PUBLIC_URL = "https://registry.standards.example"


@pytest.fixture(autouse=True)
def public_url(settings: Any) -> None:
    settings.REGISTRY_PUBLIC_URL = PUBLIC_URL


@pytest.fixture
def analysed_claim(alice: Any, django_capture_on_commit_callbacks: Any) -> FragilityAnalysis:
    claim = make_claim(alice, make_dataset(alice))
    return _analysed(alice, claim, django_capture_on_commit_callbacks, bootstrap_rounds=0)


def _analysed(actor: Any, claim: Any, capture: Any, *, bootstrap_rounds: int) -> FragilityAnalysis:
    parameters = {
        "bootstrap_rounds": bootstrap_rounds,
        "top_k": [1],
        "budget": 0.05,
        "random_trials": 20,
    }
    with capture(execute=False):
        analysis = analysis_request(
            actor=actor, dataset=claim.dataset, claim=claim, parameters=parameters
        )
    analysis_run(analysis_id=analysis.pk)
    analysis.refresh_from_db()
    assert analysis.status == FragilityAnalysis.Status.DONE, analysis.error
    return analysis


def _text(report: Report, tmp_path: Path) -> str:
    path = tmp_path / f"{report.report_id}.pdf"
    path.write_bytes(Path(report.file.path).read_bytes())
    return " ".join(" ".join(pdf_text(path)).split())


def _built(actor: Any, kind: str, subject: ReportSubject, capture: Any) -> Report:
    with capture(execute=False):
        report = report_request(actor=actor, kind=kind, subject=subject)
    report_run(report_id=report.pk)
    report.refresh_from_db()
    assert report.status == Report.Status.DONE, report.error
    return report


def _qr_codes(pdf: Path, tmp_path: Path) -> list[str]:
    """The text of every QR code on the first page, decoded from a 150 dpi picture."""
    run_tool(
        "pdftoppm", "-png", "-r", "150", "-f", "1", "-l", "1", pdf, tmp_path / "page", check=True
    )
    picture = next(tmp_path.glob("page*.png"))
    return [code.text for code in zxingcpp.read_barcodes(Image.open(picture))]


def test_the_verification_url_follows_the_public_url_setting_and_the_verify_route() -> None:
    assert verification_url() == f"{PUBLIC_URL}/reports/verify/"


def test_every_title_page_prints_the_verification_url_and_a_qr_code_of_it(
    tmp_path: Path, ivan: Any, django_capture_on_commit_callbacks: Any
) -> None:
    report = incident_report(ivan, django_capture_on_commit_callbacks)
    pdf = Path(report.file.path)
    first_page = pdf_text(pdf)[0]
    assert f"{PUBLIC_URL}/reports/verify/" in first_page
    assert _qr_codes(pdf, tmp_path) == [f"{PUBLIC_URL}/reports/verify/"]


def test_a_document_without_a_url_has_no_qr_code_and_no_step_pointing_at_one(
    tmp_path: Path,
) -> None:
    document = sample_documents()["digest"]
    del document["verification_url"]
    pdf = tmp_path / "digest.pdf"
    pdf.write_bytes(render_pdf(document))
    assert _qr_codes(pdf, tmp_path) == []
    assert "verification page" not in pdf_text(pdf)[0]


def test_the_title_page_describes_the_certificate_that_signed_the_report(
    tmp_path: Path, ivan: Any, django_capture_on_commit_callbacks: Any, dev_pki: DevPki
) -> None:
    report = incident_report(ivan, django_capture_on_commit_callbacks)
    first_page = " ".join(pdf_text(Path(report.file.path))[0].split())
    # Read from the development PKI's certificate file, not from the code that signed.
    certificate = x509.load_pem_x509_certificate(dev_pki.signing_cert_file.read_bytes())
    fingerprint = hashlib.sha256(certificate.public_bytes(Encoding.DER)).hexdigest()
    assert fingerprint == report.signer_fingerprint
    assert fingerprint in first_page.replace(" ", "")
    common_name = certificate.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value
    assert f"CN={common_name}" in first_page
    valid_until = certificate.not_valid_after_utc.strftime("%Y-%m-%d %H:%M UTC")
    assert valid_until in first_page


def test_the_claim_report_gives_bootstrap_intervals_the_baseline_and_the_cited_method(
    alice: Any, django_capture_on_commit_callbacks: Any, tmp_path: Path
) -> None:
    claim = make_claim(alice, make_dataset(alice))
    analysis = _analysed(alice, claim, django_capture_on_commit_callbacks, bootstrap_rounds=40)
    report = _built(
        alice, Report.Kind.CLAIM, ReportSubject(claim=claim), django_capture_on_commit_callbacks
    )
    text = _text(report, tmp_path)
    for row in analysis.results["scores"]:
        low, high = row["bootstrap_ci_low"], row["bootstrap_ci_high"]
        assert f"{low:,.1f} to {high:,.1f}" in text, row["model"]
    assert "40 resamples" in text
    assert "Random-drop baseline" in text
    baseline = analysis.results["random_drop_baseline"]
    assert baseline
    for row in baseline:
        assert f"{row['top1_changed']} {100 * row['rate']:.1f}%" in text
    largest = max(baseline, key=lambda row: row["votes_dropped"])
    assert (
        f"{largest['votes_dropped']:,} votes dropped at random changed it in "
        f"{largest['top1_changed']} of {largest['trials']} trials."
    ) in text
    assert (
        "Huang, J. Y., Shen, Y., Wei, D. and Broderick, T. (2026). Dropping just a handful of "
        "preferences can change top large language model rankings. ICLR 2026; arXiv:2508.11847."
    ) in text


def test_the_digest_defines_its_verdicts_and_shows_both_dates_of_each_claim(
    alice: Any,
    analysed_claim: FragilityAnalysis,
    django_capture_on_commit_callbacks: Any,
    tmp_path: Path,
) -> None:
    start, end = digest_period()
    report = _built(
        alice,
        Report.Kind.DIGEST,
        ReportSubject(period_start=start, period_end=end),
        django_capture_on_commit_callbacks,
    )
    text = _text(report, tmp_path)
    assert "fragile: the analysis found a set of votes" in text
    assert "robust within the search budget: no such set was found" in text
    assert "published in the period (its claim date) or when the analysis" in text
    claim = analysed_claim.claim
    assert analysed_claim.finished_at is not None
    analysed_on = analysed_claim.finished_at.date().isoformat()
    assert f"{claim.claim_date.isoformat()} {analysed_on} fragile" in text


def test_the_incident_report_prints_each_right_of_reply_unedited(
    ivan: Any, adam: Any, django_capture_on_commit_callbacks: Any, tmp_path: Path
) -> None:
    records = make_incident(ivan)
    organization = records.incident.original_release.organization
    statement = "We trained Replica 7B only on data we hold licences for; see our model card."
    reply_file(
        incident=records.incident, actor=adam, statement=statement, organization=organization
    )
    report = _built(
        ivan,
        Report.Kind.INCIDENT,
        ReportSubject(incident=records.incident),
        django_capture_on_commit_callbacks,
    )
    text = _text(report, tmp_path)
    section = text[text.index("7. Right of reply") :]
    assert organization.name in section
    assert statement in section
    assert "adam" in section


def test_an_incident_without_replies_says_none_was_filed(
    ivan: Any, django_capture_on_commit_callbacks: Any, tmp_path: Path
) -> None:
    report = incident_report(ivan, django_capture_on_commit_callbacks)
    text = _text(report, tmp_path)
    assert "7. Right of reply" in text
    assert "No organisation has filed a reply." in text


def test_a_report_with_the_new_title_page_still_verifies(
    ivan: Any, django_capture_on_commit_callbacks: Any
) -> None:
    report = incident_report(ivan, django_capture_on_commit_callbacks)
    result = report_verify(Path(report.file.path).read_bytes())
    assert result.passed, [check for check in result.checks if not check.passed]
