"""Verification of a signed report: ``verify_pdf(data, trust_roots=...) -> VerificationResult``.

Each check is reported separately, by name, so a reader sees *what* failed:

``signature_intact``
    The PDF holds exactly one signature and its CMS value verifies over the signed bytes.
``covers_whole_file``
    The signed byte range is the whole file: nothing was appended after signing. An
    incremental update can change what a viewer shows while the old signature still
    verifies, so this is checked on its own (``pdfsig`` does not flag it).
``signer_trusted``
    The signer's certificate chains to one of ``trust_roots``.
``manifest_intact``
    ``manifest.json`` is embedded in the signed revision, is canonical JSON, and its SHA-256
    equals the digest recorded in the signed document information dictionary.
``timestamp_valid`` (only when a timestamp token is present, PAdES B-T)
    The RFC 3161 token is intact and its TSA chains to one of ``trust_roots``.

The registry adds two checks that need its database (file hashes still match; the ledger
head is in the chain) with :meth:`VerificationResult.add_check`. The result passes, and
the command-line exit status is 0, only when every check passes.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from io import BytesIO
from typing import Any

from asn1crypto import cms, pem, x509
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.reader import HistoricalResolver, PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature
from pyhanko.sign.validation.status import PdfSignatureStatus, SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext

from reports.pdf.manifest import INFO_MANIFEST_KEY, MANIFEST_NAME, canonical_json

SIGNATURE_CHECKS = ("signature_intact", "covers_whole_file", "signer_trusted", "manifest_intact")


@dataclass(frozen=True)
class Check:
    """The outcome of one named verification check."""

    name: str
    passed: bool
    detail: str


@dataclass
class VerificationResult:
    """All checks run on one PDF, plus what was extracted from it."""

    checks: list[Check] = field(default_factory=list)
    manifest: dict[str, Any] | None = None
    signer: str | None = None
    timestamp: str | None = None

    @property
    def passed(self) -> bool:
        """True only when there is at least one check and every check passed."""
        return bool(self.checks) and all(check.passed for check in self.checks)

    @property
    def exit_status(self) -> int:
        """Process exit status for a command-line verifier: 0 only when everything passed."""
        return 0 if self.passed else 1

    def add_check(self, name: str, passed: bool, detail: str) -> None:
        """Record a check (used by the registry for its database-backed checks)."""
        self.checks.append(Check(name=name, passed=passed, detail=detail))

    def check(self, name: str) -> Check:
        """The check called ``name``; ``KeyError`` when it was not run."""
        for candidate in self.checks:
            if candidate.name == name:
                return candidate
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable view of the result."""
        return {
            "passed": self.passed,
            "checks": [asdict(check) for check in self.checks],
            "manifest": self.manifest,
            "signer": self.signer,
            "timestamp": self.timestamp,
        }


def _load_certificate(data: bytes) -> x509.Certificate:
    if pem.detect(data):
        _, _, data = pem.unarmor(data)
    return x509.Certificate.load(data)


def _fail_all(result: VerificationResult, detail: str) -> VerificationResult:
    for name in SIGNATURE_CHECKS:
        result.add_check(name, False, detail)
    return result


def _padding_is_clean(embedded: EmbeddedPdfSignature) -> bool:
    """True when /Contents holds the CMS object followed only by zero padding.

    The placeholder reserved for the signature is longer than the CMS object, and the
    padding lies outside the signed byte range; parsers stop at the end of the DER value,
    so without this check a byte flipped in the padding would go unnoticed.
    """
    contents = embedded.pkcs7_content
    der_length = len(cms.ContentInfo.load(contents, strict=False).dump())
    return not contents[der_length:].strip(b"\0")


def _signature_checks(
    result: VerificationResult,
    status: PdfSignatureStatus,
    embedded: EmbeddedPdfSignature,
    signature_count: int,
) -> None:
    padding_clean = _padding_is_clean(embedded)
    intact = status.intact and status.valid and padding_clean
    result.add_check(
        "signature_intact",
        intact,
        "the signature value verifies over the signed bytes"
        if intact
        else f"signature does not verify (digest intact: {status.intact}, value valid: "
        f"{status.valid}, padding clean: {padding_clean})",
    )
    whole = status.coverage == SignatureCoverageLevel.ENTIRE_FILE and signature_count == 1
    coverage = status.coverage.name if status.coverage else "unknown"
    result.add_check(
        "covers_whole_file",
        whole,
        "the signed byte range covers the entire file"
        if whole
        else f"content was added after signing (coverage: {coverage}, "
        f"signatures: {signature_count})",
    )
    result.add_check(
        "signer_trusted",
        status.trusted,
        f"chains to a trust root via {len(status.validation_path or ())} certificates"
        if status.trusted
        else f"signer does not chain to a configured trust root ({status.trust_problem_indic})",
    )


def _timestamp_check(result: VerificationResult, status: PdfSignatureStatus) -> None:
    token = status.timestamp_validity
    if token is None:
        return
    ok = token.intact and token.valid and token.trusted
    result.timestamp = token.timestamp.isoformat()
    result.add_check(
        "timestamp_valid",
        ok,
        f"RFC 3161 timestamp at {result.timestamp} verifies and its TSA is trusted"
        if ok
        else f"timestamp token fails (intact: {token.intact}, valid: {token.valid}, "
        f"trusted: {token.trusted})",
    )


def _embedded_manifest(revision: HistoricalResolver) -> bytes | None:
    """The bytes of ``manifest.json`` attached in this revision, or None."""
    try:
        names = revision.root["/Names"]["/EmbeddedFiles"]["/Names"]
    except KeyError:
        return None
    for index in range(0, len(names) - 1, 2):
        if str(names[index]) == MANIFEST_NAME:
            stream = names[index + 1]["/EF"]["/F"]
            return stream.data if isinstance(stream, generic.StreamObject) else None
    return None


def _manifest_problem(data: bytes | None, recorded_sha256: str | None) -> str | None:
    """Why the embedded manifest is not intact, or None when it is."""
    if data is None:
        return f"no {MANIFEST_NAME} attachment in the signed revision"
    if recorded_sha256 is None:
        return f"the signed document information lacks {INFO_MANIFEST_KEY}"
    actual = hashlib.sha256(data).hexdigest()
    if actual != recorded_sha256:
        return f"manifest SHA-256 {actual} differs from the recorded {recorded_sha256}"
    try:
        parsed = json.loads(data)
    except ValueError as error:
        return f"manifest is not JSON: {error}"
    if canonical_json(parsed) != data:
        return "manifest is not in canonical form"
    return None


def _read_signed_manifest(embedded: EmbeddedPdfSignature) -> tuple[bytes | None, str | None]:
    """The manifest bytes and the SHA-256 recorded for them, both from the signed revision."""
    revision = embedded.reader.get_historical_resolver(embedded.signed_revision)
    data = _embedded_manifest(revision)
    trailer = revision.trailer_view
    info = trailer["/Info"] if "/Info" in trailer else generic.DictionaryObject()
    recorded = info.get("/" + INFO_MANIFEST_KEY)
    return data, str(recorded) if recorded is not None else None


def _manifest_check(result: VerificationResult, embedded: EmbeddedPdfSignature) -> None:
    try:
        data, recorded = _read_signed_manifest(embedded)
        problem = _manifest_problem(data, recorded)
    except Exception as error:  # a corrupt stream is a failed check, not a crash
        data, recorded, problem = None, None, f"manifest cannot be read: {error}"
    if problem is None and data is not None:
        result.manifest = json.loads(data)
    result.add_check(
        "manifest_intact",
        problem is None,
        problem or f"{MANIFEST_NAME} SHA-256 {recorded} matches the signed record",
    )


def verify_pdf(data: bytes, *, trust_roots: list[bytes]) -> VerificationResult:
    """Run every check that needs only the file and ``trust_roots`` (PEM or DER certificates).

    Never raises on a damaged or hostile file: problems become failed checks.
    """
    result = VerificationResult()
    try:
        reader = PdfFileReader(BytesIO(data), strict=False)
        signatures = reader.embedded_regular_signatures
    except Exception as error:  # any parse failure means "reject", with why
        return _fail_all(result, f"not a readable PDF: {error}")
    if not signatures:
        return _fail_all(result, "the PDF carries no signature")
    embedded = signatures[0]
    roots = [_load_certificate(root) for root in trust_roots]
    context = ValidationContext(
        trust_roots=roots, allow_fetching=False, revocation_mode="soft-fail"
    )
    try:
        status = validate_pdf_signature(embedded, signer_validation_context=context)
    except Exception as error:  # a malformed signature is a failed check
        return _fail_all(result, f"signature cannot be evaluated: {error}")
    result.signer = status.signing_cert.subject.human_friendly
    _signature_checks(result, status, embedded, len(signatures))
    _manifest_check(result, embedded)
    _timestamp_check(result, status)
    return result
