"""Signing and verification, proven by three independent verifiers.

A signed report must verify with pyHanko's validator, with ``openssl cms -verify`` over
the signed byte range, and with poppler's ``pdfsig``; one flipped byte must make all of
them reject it; an incremental update appended after signing must make our verifier
reject it even though the old signature still verifies cryptographically.
"""

from __future__ import annotations

import logging
import multiprocessing
import stat
from collections.abc import Iterator
from io import BytesIO
from pathlib import Path

import pytest
from cryptography import x509
from pyhanko.keys import load_cert_from_pemder
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext

from reports.pdf.devca import CA_COMMON_NAME, SIGNER_COMMON_NAME, DevPki, ensure_dev_pki
from reports.pdf.render import render_pdf
from reports.pdf.samples import sample_claim_document, sample_incident_document
from reports.pdf.signing import ReportSigner, SigningConfigurationError, load_signer
from reports.pdf.verify import SIGNATURE_CHECKS, verify_pdf
from tests.reports.pdf_tools import BYTE_RANGE, openssl_cms_verify, pdfsig_says_valid
from tests.reports.tsa_server import LoopbackTsa


@pytest.fixture(autouse=True)
def _quiet_pyhanko(caplog: pytest.LogCaptureFixture) -> None:
    # pyHanko logs a traceback for every untrusted or broken signature; these tests make
    # many on purpose, and the assertions say what matters.
    caplog.set_level(logging.CRITICAL, logger="pyhanko")


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> DevPki:
    return ensure_dev_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def signer(pki: DevPki) -> ReportSigner:
    return load_signer(pki.signing_key_file, pki.signing_cert_file, [pki.chain_file])


@pytest.fixture(scope="module")
def unsigned_pdf() -> bytes:
    return render_pdf(sample_incident_document())


@pytest.fixture(scope="module")
def signed_pdf(signer: ReportSigner, unsigned_pdf: bytes) -> bytes:
    return signer.sign(unsigned_pdf)


@pytest.fixture(scope="module")
def tsa() -> Iterator[LoopbackTsa]:
    with LoopbackTsa() as authority:
        yield authority


def _write(directory: Path, name: str, data: bytes) -> Path:
    path = directory / name
    path.write_bytes(data)
    return path


def _flip_signed_byte(data: bytes) -> bytes:
    """Flip one bit in the middle of the first signed range (page content, not syntax)."""
    _, length1, _, _ = map(int, BYTE_RANGE.findall(data)[-1])
    position = length1 // 2
    return data[:position] + bytes([data[position] ^ 0x01]) + data[position + 1 :]


def _append_incremental_update(data: bytes) -> bytes:
    """Append a revision that changes the document title, as a tamperer would."""
    writer = IncrementalPdfFileWriter(BytesIO(data))
    info = writer.trailer["/Info"]
    info[generic.NameObject("/Title")] = generic.TextStringObject("Nothing to see here")
    writer.update_container(info)
    output = BytesIO()
    writer.write(output)
    return output.getvalue()


def test_pyhanko_validator_accepts_the_signature(signed_pdf: bytes, pki: DevPki) -> None:
    reader = PdfFileReader(BytesIO(signed_pdf))
    root = load_cert_from_pemder(str(pki.ca_cert_file))
    context = ValidationContext(trust_roots=[root], allow_fetching=False)
    status = validate_pdf_signature(reader.embedded_signatures[0], context)
    assert status.bottom_line
    assert status.signing_cert.subject.native["common_name"] == SIGNER_COMMON_NAME


def test_openssl_verifies_the_signed_byte_range(
    signed_pdf: bytes, pki: DevPki, tmp_path: Path
) -> None:
    result = openssl_cms_verify(signed_pdf, pki.ca_cert_file, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Verification successful" in result.stderr


def test_pdfsig_reports_the_signature_valid(signed_pdf: bytes, tmp_path: Path) -> None:
    assert pdfsig_says_valid(_write(tmp_path, "signed.pdf", signed_pdf))


def test_our_verifier_passes_every_check_and_returns_the_manifest(
    signed_pdf: bytes, pki: DevPki
) -> None:
    result = verify_pdf(signed_pdf, trust_roots=[pki.ca_cert_file.read_bytes()])
    assert [check.name for check in result.checks] == list(SIGNATURE_CHECKS)
    assert result.passed, result.to_dict()
    assert result.exit_status == 0
    assert result.manifest == sample_incident_document()["manifest"]


def test_one_flipped_byte_is_rejected_by_every_verifier(
    signed_pdf: bytes, pki: DevPki, tmp_path: Path
) -> None:
    tampered = _flip_signed_byte(signed_pdf)
    ours = verify_pdf(tampered, trust_roots=[pki.ca_cert_file.read_bytes()])
    assert not ours.check("signature_intact").passed
    assert ours.exit_status == 1
    assert openssl_cms_verify(tampered, pki.ca_cert_file, tmp_path).returncode != 0
    assert not pdfsig_says_valid(_write(tmp_path, "tampered.pdf", tampered))


def test_a_flipped_byte_leaves_the_unchanged_signer_trusted_and_names_no_none(
    signed_pdf: bytes, pki: DevPki
) -> None:
    # The chain of the signer's certificate is judged on its own: the changed byte is
    # signature_intact's failure, not a trust failure without a reason.
    result = verify_pdf(_flip_signed_byte(signed_pdf), trust_roots=[pki.ca_cert_file.read_bytes()])
    assert not result.check("signature_intact").passed
    assert result.check("signer_trusted").passed
    assert "None" not in result.check("signer_trusted").detail
    assert not result.authentic


def test_a_development_signer_is_flagged_as_such(signed_pdf: bytes, pki: DevPki) -> None:
    result = verify_pdf(signed_pdf, trust_roots=[pki.ca_cert_file.read_bytes()])
    assert result.passed
    assert result.development_pki
    assert result.signed_at is not None


def test_a_flipped_byte_in_the_signature_padding_is_rejected(
    signed_pdf: bytes, pki: DevPki
) -> None:
    # The zero padding after the CMS value is outside the signed range; only our check sees it.
    _, _, start2, _ = map(int, BYTE_RANGE.findall(signed_pdf)[-1])
    position = start2 - 10
    assert signed_pdf[position : position + 1] == b"0"
    tampered = signed_pdf[:position] + b"1" + signed_pdf[position + 1 :]
    result = verify_pdf(tampered, trust_roots=[pki.ca_cert_file.read_bytes()])
    assert not result.check("signature_intact").passed


def test_an_appended_incremental_update_is_rejected_though_pdfsig_misses_it(
    signed_pdf: bytes, pki: DevPki, tmp_path: Path
) -> None:
    updated = _append_incremental_update(signed_pdf)
    result = verify_pdf(updated, trust_roots=[pki.ca_cert_file.read_bytes()])
    assert result.check("signature_intact").passed  # the old bytes still verify...
    assert not result.check("only_allowed_updates").passed  # ...but they are not the whole file
    assert not result.passed
    # Why the whole-file check exists: poppler still calls this signature valid.
    assert pdfsig_says_valid(_write(tmp_path, "updated.pdf", updated))


def test_a_signer_outside_the_trust_roots_is_untrusted(signed_pdf: bytes, tmp_path: Path) -> None:
    stranger = ensure_dev_pki(tmp_path / "other")
    result = verify_pdf(signed_pdf, trust_roots=[stranger.ca_cert_file.read_bytes()])
    assert result.check("signature_intact").passed
    assert not result.check("signer_trusted").passed
    assert not result.passed


def test_a_manifest_swapped_before_signing_is_caught(
    signer: ReportSigner, unsigned_pdf: bytes, pki: DevPki
) -> None:
    writer = IncrementalPdfFileWriter(BytesIO(unsigned_pdf))
    spec_reference = writer.root["/Names"]["/EmbeddedFiles"]["/Names"].raw_get(1)
    forged = generic.StreamObject(
        {generic.NameObject("/Type"): generic.NameObject("/EmbeddedFile")},
        stream_data=b'{"report_id":"forged"}',
    )
    spec = spec_reference.get_object()
    spec[generic.NameObject("/EF")] = generic.DictionaryObject(
        {generic.NameObject("/F"): writer.add_object(forged)}
    )
    writer.mark_update(spec_reference)
    output = BytesIO()
    writer.write(output)
    signed = signer.sign(output.getvalue())
    result = verify_pdf(signed, trust_roots=[pki.ca_cert_file.read_bytes()])
    assert result.check("signature_intact").passed
    assert not result.check("manifest_intact").passed
    assert result.manifest is None


@pytest.mark.parametrize(
    "data", [b"", b"not a pdf at all", b"%PDF-1.4\n%%EOF"], ids=["empty", "text", "stub"]
)
def test_garbage_is_rejected_without_raising(data: bytes, pki: DevPki) -> None:
    result = verify_pdf(data, trust_roots=[pki.ca_cert_file.read_bytes()])
    assert [check.name for check in result.checks] == list(SIGNATURE_CHECKS)
    assert not any(check.passed for check in result.checks)
    assert result.refusal is not None


def test_an_unsigned_report_fails_every_check(unsigned_pdf: bytes, pki: DevPki) -> None:
    result = verify_pdf(unsigned_pdf, trust_roots=[pki.ca_cert_file.read_bytes()])
    assert not result.passed
    assert "no signature" in result.check("signature_intact").detail


def test_registry_checks_added_by_the_caller_decide_the_outcome(
    signed_pdf: bytes, pki: DevPki
) -> None:
    result = verify_pdf(signed_pdf, trust_roots=[pki.ca_cert_file.read_bytes()])
    result.add_check("ledger_head_in_chain", False, "entry #4813 is not in the ledger")
    assert not result.passed
    assert result.to_dict()["checks"][-1] == {
        "name": "ledger_head_in_chain",
        "passed": False,
        "detail": "entry #4813 is not in the ledger",
    }


def test_pades_b_t_carries_a_timestamp_that_validates(
    pki: DevPki, tsa: LoopbackTsa, unsigned_pdf: bytes, tmp_path: Path
) -> None:
    timestamping = load_signer(
        pki.signing_key_file, pki.signing_cert_file, [pki.chain_file], tsa_url=tsa.url
    )
    served_before = tsa.requests_served
    signed = timestamping.sign(unsigned_pdf)
    assert tsa.requests_served == served_before + 1
    result = verify_pdf(signed, trust_roots=[pki.ca_cert_file.read_bytes(), tsa.root_pem])
    assert result.check("timestamp_valid").passed, result.to_dict()
    assert result.passed
    assert result.timestamp is not None
    # The timestamp must not disturb the other verifiers.
    assert openssl_cms_verify(signed, pki.ca_cert_file, tmp_path).returncode == 0
    assert pdfsig_says_valid(_write(tmp_path, "bt.pdf", signed))


def test_a_timestamp_from_an_untrusted_tsa_fails_its_check(
    pki: DevPki, tsa: LoopbackTsa, unsigned_pdf: bytes
) -> None:
    timestamping = load_signer(
        pki.signing_key_file, pki.signing_cert_file, [pki.chain_file], tsa_url=tsa.url
    )
    result = verify_pdf(
        timestamping.sign(unsigned_pdf), trust_roots=[pki.ca_cert_file.read_bytes()]
    )
    assert not result.check("timestamp_valid").passed
    assert not result.passed


def test_signing_is_repeatable_with_a_loaded_signer(signer: ReportSigner, pki: DevPki) -> None:
    roots = [pki.ca_cert_file.read_bytes()]
    document = sample_claim_document()
    for _ in range(2):
        assert verify_pdf(signer.sign(render_pdf(document)), trust_roots=roots).passed


def test_a_key_that_does_not_match_the_certificate_is_refused(pki: DevPki, tmp_path: Path) -> None:
    other = ensure_dev_pki(tmp_path / "other")
    with pytest.raises(SigningConfigurationError, match="not the key"):
        load_signer(other.signing_key_file, pki.signing_cert_file, [pki.chain_file])


def test_a_missing_signing_file_is_refused(pki: DevPki, tmp_path: Path) -> None:
    with pytest.raises(SigningConfigurationError, match="does not exist"):
        load_signer(tmp_path / "absent.pem", pki.signing_cert_file)


def test_dev_pki_is_created_once_and_reused(tmp_path: Path) -> None:
    first = ensure_dev_pki(tmp_path)
    contents = {path: path.read_bytes() for path in first.files()}
    second = ensure_dev_pki(tmp_path)
    assert {path: path.read_bytes() for path in second.files()} == contents


def _first_use(directory: Path) -> bytes:
    pki = ensure_dev_pki(directory)
    load_signer(pki.signing_key_file, pki.signing_cert_file, [pki.chain_file])  # key matches
    return pki.ca_cert_file.read_bytes()


def test_processes_starting_at_once_share_one_dev_pki(tmp_path: Path) -> None:
    # A worker's pool children sign their first reports at the same moment: none may sign
    # with a key another has just replaced, nor read a file another is writing.
    with multiprocessing.get_context("fork").Pool(8) as pool:
        roots = pool.map(_first_use, [tmp_path] * 8)
    assert len(set(roots)) == 1
    assert roots[0] == DevPki.in_directory(tmp_path).ca_cert_file.read_bytes()


def test_dev_pki_names_itself_untrusted_and_chains(tmp_path: Path) -> None:
    pki = ensure_dev_pki(tmp_path)
    ca = x509.load_pem_x509_certificate(pki.ca_cert_file.read_bytes())
    leaf = x509.load_pem_x509_certificate(pki.signing_cert_file.read_bytes())
    assert CA_COMMON_NAME in ca.subject.rfc4514_string()
    assert "NOT TRUSTED" in leaf.subject.rfc4514_string()
    leaf.verify_directly_issued_by(ca)
    for key_file in (pki.ca_key_file, pki.signing_key_file):
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


def test_an_interrupted_dev_pki_is_replaced(tmp_path: Path) -> None:
    partial = DevPki.in_directory(tmp_path)
    partial.signing_key_file.write_bytes(b"half-written")
    pki = ensure_dev_pki(tmp_path)
    assert load_signer(pki.signing_key_file, pki.signing_cert_file, [pki.chain_file])
