"""Reports that stay verifiable: B-LT, B-LTA, countersignatures and revocation.

A development PKI whose certificates name a loopback CRL and OCSP responder, and a
loopback TSA whose certificate outlives the test's clock, stand in for a real CA and TSA.
Every kind of report is checked by three verifiers (pyHanko, pdfsig, openssl), and each
must reject a one-byte change.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator
from io import BytesIO
from pathlib import Path

import pytest
from asn1crypto import pem
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature, validate_pdf_timestamp
from pyhanko_certvalidator import ValidationContext

from reports.pdf.devca import (
    COUNTERSIGNER_COMMON_NAME,
    SIGNER_COMMON_NAME,
    DevPki,
    dev_pki_revoke,
    ensure_dev_pki,
)
from reports.pdf.render import render_pdf
from reports.pdf.samples import sample_incident_document
from reports.pdf.signing import (
    COUNTERSIGNATURE_FIELD,
    SIGNATURE_FIELD,
    ReportSigner,
    SignatureLevel,
    SigningConfigurationError,
    load_signer,
    retimestamp,
)
from reports.pdf.verify import verify_pdf
from tests.reports.pdf_tools import (
    BYTE_RANGE,
    all_signed_ranges,
    openssl_verify_every_signature,
    pdfsig_signatures,
)
from tests.reports.revocation_server import LoopbackRevocation
from tests.reports.tsa_server import LoopbackTsa

# Long enough to outlive "ten years after the signer's certificate expired".
TSA_DAYS = 25 * 365


@pytest.fixture(autouse=True)
def _quiet_pyhanko(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.CRITICAL, logger="pyhanko")
    caplog.set_level(logging.CRITICAL, logger="pyhanko_certvalidator")


@pytest.fixture(scope="module")
def revocation() -> Iterator[LoopbackRevocation]:
    with LoopbackRevocation() as responder:
        yield responder


@pytest.fixture(scope="module")
def pki(revocation: LoopbackRevocation, tmp_path_factory: pytest.TempPathFactory) -> DevPki:
    created = ensure_dev_pki(tmp_path_factory.mktemp("pki"), revocation_url=revocation.url)
    revocation.serve(created)
    return created


@pytest.fixture(scope="module")
def tsa() -> Iterator[LoopbackTsa]:
    with LoopbackTsa(days=TSA_DAYS, publish_crl=False) as authority:
        yield authority


def _roots(pki: DevPki, *tsas: LoopbackTsa) -> list[bytes]:
    return [pki.ca_cert_file.read_bytes(), *(authority.root_pem for authority in tsas)]


def _asn1(roots: list[bytes]) -> list[asn1_x509.Certificate]:
    return [asn1_x509.Certificate.load(pem.unarmor(root)[2]) for root in roots]


def _signer(
    pki: DevPki, tsa: LoopbackTsa | None, level: SignatureLevel, *, counter: bool = False
) -> ReportSigner:
    key, cert = (
        (pki.countersigning_key_file, pki.countersigning_cert_file)
        if counter
        else (pki.signing_key_file, pki.signing_cert_file)
    )
    roots = _roots(pki, tsa) if tsa else _roots(pki)
    signer = load_signer(
        key,
        cert,
        [pki.chain_file],
        tsa_url=tsa.url if tsa else None,
        level=level,
        trust_roots=_asn1(roots),
    )
    return signer.as_countersigner() if counter else signer


@pytest.fixture(scope="module")
def unsigned_pdf() -> bytes:
    return render_pdf(sample_incident_document())


@pytest.fixture(scope="module")
def reports(pki: DevPki, tsa: LoopbackTsa, unsigned_pdf: bytes) -> dict[str, bytes]:
    """One report of every kind, signed once for the module."""
    made = {
        level.value: _signer(pki, None if level == SignatureLevel.B_B else tsa, level).sign(
            unsigned_pdf
        )
        for level in SignatureLevel
    }
    countersigner = _signer(pki, tsa, SignatureLevel.B_LTA, counter=True)
    made["countersigned"] = countersigner.sign(made["B-LTA"])
    return made


def _write(directory: Path, name: str, data: bytes) -> Path:
    path = directory / name
    path.write_bytes(data)
    return path


def _flip_first_signed_byte(data: bytes) -> bytes:
    _, length1, _, _ = map(int, BYTE_RANGE.findall(data)[0])
    position = length1 // 2
    return data[:position] + bytes([data[position] ^ 0x01]) + data[position + 1 :]


def _signer_expiry(pki: DevPki) -> dt.datetime:
    return x509.load_pem_x509_certificate(pki.signing_cert_file.read_bytes()).not_valid_after_utc


# --- levels ------------------------------------------------------------------------------


def test_b_lt_embeds_a_dss_with_the_signers_ocsp_answer(
    reports: dict[str, bytes], pki: DevPki, tsa: LoopbackTsa
) -> None:
    reader = PdfFileReader(BytesIO(reports["B-LT"]))
    dss = reader.root["/DSS"]
    assert len(dss["/OCSPs"]) >= 1
    assert not reader.embedded_timestamp_signatures
    result = verify_pdf(reports["B-LT"], trust_roots=_roots(pki, tsa))
    assert result.passed, result.to_dict()


def test_b_lta_adds_a_document_timestamp_over_the_dss(
    reports: dict[str, bytes], pki: DevPki, tsa: LoopbackTsa
) -> None:
    result = verify_pdf(reports["B-LTA"], trust_roots=_roots(pki, tsa))
    assert result.passed, result.to_dict()
    kinds = [summary.kind for summary in result.signatures]
    assert kinds == ["signature", "document timestamp"]
    assert "countersignatures, DSS and document timestamps" in (
        result.check("only_allowed_updates").detail
    )


def test_b_lta_verifies_ten_years_after_the_signing_certificate_expired(
    reports: dict[str, bytes], pki: DevPki, tsa: LoopbackTsa
) -> None:
    later = _signer_expiry(pki) + dt.timedelta(days=3653)
    result = verify_pdf(reports["B-LTA"], trust_roots=_roots(pki, tsa), at=later)
    assert result.passed, result.to_dict()
    assert "archive timestamp chain" in result.check("signer_trusted").detail


def test_b_t_does_not_survive_its_signing_certificate(
    reports: dict[str, bytes], pki: DevPki, tsa: LoopbackTsa
) -> None:
    # The control for the test above: the clock really is moved, and B-T is not enough.
    later = _signer_expiry(pki) + dt.timedelta(days=3653)
    result = verify_pdf(reports["B-T"], trust_roots=_roots(pki, tsa), at=later)
    assert not result.check("signer_trusted").passed


def test_renewing_the_archive_timestamp_extends_the_chain_past_an_expiring_tsa(
    pki: DevPki, tsa: LoopbackTsa, unsigned_pdf: bytes
) -> None:
    later = _signer_expiry(pki) + dt.timedelta(days=3653)
    with LoopbackTsa(days=2) as short_lived:
        signed = _signer(pki, short_lived, SignatureLevel.B_LTA).sign(unsigned_pdf)
        roots = _roots(pki, short_lived, tsa)
        assert not verify_pdf(signed, trust_roots=roots, at=later).passed
        renewed = retimestamp(
            signed,
            timestamper=_signer(pki, tsa, SignatureLevel.B_LTA).timestamper,
            trust_roots=_asn1(roots),
        )  # type: ignore[arg-type]
    result = verify_pdf(renewed, trust_roots=roots, at=later)
    assert result.passed, [c for c in result.checks if not c.passed]
    assert [s.kind for s in result.signatures].count("document timestamp") == 2


def test_a_level_above_b_b_without_a_tsa_is_refused(pki: DevPki) -> None:
    with pytest.raises(SigningConfigurationError, match="timestamp authority"):
        _signer(pki, None, SignatureLevel.B_LTA)


# --- countersignatures -------------------------------------------------------------------


def test_a_countersigned_report_lists_both_signatures(
    reports: dict[str, bytes], pki: DevPki, tsa: LoopbackTsa
) -> None:
    result = verify_pdf(reports["countersigned"], trust_roots=_roots(pki, tsa))
    assert result.passed, result.to_dict()
    signatures = [s for s in result.signatures if s.kind != "document timestamp"]
    assert [(s.field, s.kind) for s in signatures] == [
        (SIGNATURE_FIELD, "signature"),
        (COUNTERSIGNATURE_FIELD, "countersignature"),
    ]
    assert SIGNER_COMMON_NAME in signatures[0].signer
    assert COUNTERSIGNER_COMMON_NAME in signatures[1].signer
    assert signatures[0].later_updates.startswith("allowed")
    assert signatures[1].covers.startswith("revisions 1-")
    assert result.manifest == sample_incident_document()["manifest"]


def test_any_other_change_after_a_countersignature_still_fails(
    reports: dict[str, bytes], pki: DevPki, tsa: LoopbackTsa
) -> None:
    writer = IncrementalPdfFileWriter(BytesIO(reports["countersigned"]))
    info = writer.trailer["/Info"]
    info[generic.NameObject("/Title")] = generic.TextStringObject("Nothing to see here")
    writer.update_container(info)
    output = BytesIO()
    writer.write(output)
    result = verify_pdf(output.getvalue(), trust_roots=_roots(pki, tsa))
    assert result.check("signature_intact").passed
    assert not result.check("only_allowed_updates").passed
    assert not result.passed


# --- revocation --------------------------------------------------------------------------


@pytest.fixture
def own_pki(tmp_path: Path) -> Iterator[tuple[DevPki, LoopbackRevocation]]:
    """A PKI of the test's own, so revoking its signer leaves the module's PKI alone."""
    with LoopbackRevocation() as responder:
        created = ensure_dev_pki(tmp_path / "pki", revocation_url=responder.url)
        responder.serve(created)
        yield created, responder


def test_a_signer_revoked_after_signing_is_reported_and_the_signature_stands(
    own_pki: tuple[DevPki, LoopbackRevocation], tsa: LoopbackTsa, unsigned_pdf: bytes
) -> None:
    pki, responder = own_pki
    signed = _signer(pki, tsa, SignatureLevel.B_LTA).sign(unsigned_pdf)
    revoked_at = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(seconds=1)
    signer_cert = x509.load_pem_x509_certificate(pki.signing_cert_file.read_bytes())
    dev_pki_revoke(pki, signer_cert, at=revoked_at)
    asked_before = responder.ocsp_requests
    result = verify_pdf(signed, trust_roots=_roots(pki, tsa), fetch_revocation=True)
    assert responder.ocsp_requests == asked_before + 1
    check = result.check("signer_not_revoked")
    assert check.passed, check.detail
    assert f"revoked from {revoked_at.isoformat()}, after it signed" in check.detail


def test_a_signer_revoked_before_signing_fails(
    own_pki: tuple[DevPki, LoopbackRevocation], tsa: LoopbackTsa, unsigned_pdf: bytes
) -> None:
    pki, _ = own_pki
    revoked_at = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(minutes=5)
    signer_cert = x509.load_pem_x509_certificate(pki.signing_cert_file.read_bytes())
    dev_pki_revoke(pki, signer_cert, at=revoked_at)
    # B-T: a B-LT signer would refuse to sign, having asked the responder itself.
    signed = _signer(pki, tsa, SignatureLevel.B_T).sign(unsigned_pdf)
    result = verify_pdf(signed, trust_roots=_roots(pki, tsa), fetch_revocation=True)
    check = result.check("signer_not_revoked")
    assert not check.passed
    assert f"revoked from {revoked_at.isoformat()}, before it signed" in check.detail
    assert not result.passed


def test_a_b_lt_signer_refuses_to_sign_with_a_revoked_certificate(
    own_pki: tuple[DevPki, LoopbackRevocation], tsa: LoopbackTsa, unsigned_pdf: bytes
) -> None:
    pki, _ = own_pki
    signer_cert = x509.load_pem_x509_certificate(pki.signing_cert_file.read_bytes())
    dev_pki_revoke(pki, signer_cert, at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5))
    with pytest.raises(Exception, match="could not be validated"):
        _signer(pki, tsa, SignatureLevel.B_LT).sign(unsigned_pdf)


def test_an_unreachable_responder_leaves_the_status_unknown(
    tmp_path: Path, tsa: LoopbackTsa, unsigned_pdf: bytes
) -> None:
    with LoopbackRevocation() as responder:
        pki = ensure_dev_pki(tmp_path / "pki", revocation_url=responder.url)
        responder.serve(pki)
        signed = _signer(pki, tsa, SignatureLevel.B_T).sign(unsigned_pdf)
    # The responder is gone; the B-T report carries no DSS to fall back on.
    result = verify_pdf(signed, trust_roots=_roots(pki, tsa), fetch_revocation=True)
    assert not result.check("signer_not_revoked").passed
    assert "unknown" in result.check("signer_not_revoked").detail


# --- three verifiers, every kind ---------------------------------------------------------

KINDS = ["B-B", "B-T", "B-LT", "B-LTA", "countersigned"]


@pytest.mark.parametrize("kind", KINDS)
def test_pyhanko_validates_every_kind_and_rejects_one_changed_byte(
    reports: dict[str, bytes], pki: DevPki, tsa: LoopbackTsa, kind: str
) -> None:
    reader = PdfFileReader(BytesIO(reports[kind]))
    context = ValidationContext(trust_roots=_asn1(_roots(pki, tsa)), allow_fetching=False)
    for embedded in reader.embedded_regular_signatures:
        assert validate_pdf_signature(embedded, context).bottom_line
    for embedded in reader.embedded_timestamp_signatures:
        stamp = validate_pdf_timestamp(embedded, context)
        assert stamp.intact
        assert stamp.valid
        assert stamp.trusted
    tampered = PdfFileReader(BytesIO(_flip_first_signed_byte(reports[kind])), strict=False)
    for embedded in tampered.embedded_regular_signatures:  # all cover the flipped byte
        assert not validate_pdf_signature(embedded, context).intact
    for embedded in tampered.embedded_timestamp_signatures:
        assert not validate_pdf_timestamp(embedded, context).intact


@pytest.mark.parametrize("kind", KINDS)
def test_pdfsig_and_openssl_accept_every_kind_and_reject_one_changed_byte(
    reports: dict[str, bytes], pki: DevPki, tsa: LoopbackTsa, kind: str, tmp_path: Path
) -> None:
    ca_file = _write(tmp_path, "roots.pem", b"".join(_roots(pki, tsa)))
    data = reports[kind]
    listed = pdfsig_signatures(_write(tmp_path, "report.pdf", data))
    signatures = [s for s in listed if s.get("Signature Type") != "unknown"]
    expected = 2 if kind == "countersigned" else 1
    assert len(signatures) == expected
    assert all(s["Signature Validation"] == "Signature is Valid." for s in signatures)
    assert len(listed) == len(all_signed_ranges(data))
    assert all(openssl_verify_every_signature(data, ca_file, tmp_path))

    tampered = _flip_first_signed_byte(data)
    listed = pdfsig_signatures(_write(tmp_path, "tampered.pdf", tampered))
    assert listed[0]["Signature Validation"] != "Signature is Valid."
    assert not any(openssl_verify_every_signature(tampered, ca_file, tmp_path))
    assert not verify_pdf(tampered, trust_roots=_roots(pki, tsa)).passed
