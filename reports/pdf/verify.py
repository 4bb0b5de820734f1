"""Verification of a signed report: ``verify_pdf(data, trust_roots=...) -> VerificationResult``.

A report carries the registry's signature, possibly countersignatures (further signatures
in fields of their own), a DSS with validation material and document timestamps (PAdES
B-LT, B-LTA). Every signature is listed in :attr:`VerificationResult.signatures` with who
made it, when (the trusted timestamp) and what it covers. Each check is reported
separately, by name, so a reader sees *what* failed:

``signature_intact``
    Every signature and document timestamp verifies over the bytes it signs, with nothing
    but zero padding after its CMS value.
``only_allowed_updates``
    Everything appended after each signature is an allowed later update: a new signature
    field and its signature (a countersignature), a DSS, a document timestamp. Any other
    change (a new title, an annotation, a changed page) fails, though the old signature
    still verifies cryptographically (``pdfsig`` does not flag it).
``signer_trusted``
    Each signer's certificate chains to one of ``trust_roots`` at the validation time,
    judged on the certificates alone (a changed byte fails ``signature_intact``, not this).
    "Trusted" means trusted by whoever chose ``trust_roots``: a signer of the development
    PKI passes where the development CA is a root, and :attr:`VerificationResult.development_pki`
    says so (the pages show it as a warning, since anyone can make such keys).
    With document timestamps (B-LTA), this is the ETSI EN 319 102-1 long-term validation:
    the archive timestamp chain proves the signature and its validation material existed
    while the certificates were valid, so it holds long after they expired.
``manifest_intact``
    ``manifest.json`` is embedded in the registry's signed revision, is canonical JSON,
    and its SHA-256 equals the digest recorded in the signed document information.
``timestamp_valid`` (only with a signature timestamp or document timestamps)
    The timestamps are intact and their TSA chains to one of ``trust_roots``.
``signer_not_revoked`` (only when revocation information exists or is declared)
    No signer was revoked before its signature's trusted time. A revocation after that
    time leaves the signature standing and is reported as such.

The registry adds two checks that need its database (file hashes still match; the ledger
head is in the chain) with :meth:`VerificationResult.add_check`. The result passes, and
the command-line exit status is 0, only when every check passes.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
from dataclasses import asdict, dataclass, field
from io import BytesIO
from typing import Any

from asn1crypto import cms, pem, x509
from cryptography import x509 as crypto_x509
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.generic import DecodePurpose
from pyhanko.pdf_utils.reader import HistoricalResolver, PdfFileReader
from pyhanko.sign.ades.report import AdESPassed
from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.validation import validate_pdf_signature, validate_pdf_timestamp
from pyhanko.sign.validation.ades import ades_lta_validation
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature
from pyhanko.sign.validation.policy_decl import (
    PdfSignatureValidationSpec,
    RevinfoOnlineFetchingRule,
    RevocationInfoGatheringSpec,
    SignatureValidationSpec,
)
from pyhanko.sign.validation.status import (
    DocumentTimestampStatus,
    PdfSignatureStatus,
    SignatureCoverageLevel,
)
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.context import CertValidationPolicySpec
from pyhanko_certvalidator.ltv.types import ValidationTimingInfo
from pyhanko_certvalidator.policy_decl import (
    CertRevTrustPolicy,
    RevocationCheckingPolicy,
    RevocationCheckingRule,
)
from pyhanko_certvalidator.registry import SimpleTrustManager

from reports.pdf.devca import CA_COMMON_NAME as DEV_CA_COMMON_NAME
from reports.pdf.diff_policy import ALLOWED_LATER_UPDATES, REPORT_DIFF_POLICY
from reports.pdf.manifest import INFO_MANIFEST_KEY, MANIFEST_NAME, canonical_json
from reports.pdf.revocation import (
    declares_revocation_source,
    fetch_revocation_evidence,
    revocation_status,
)

SIGNATURE_CHECKS = ("signature_intact", "only_allowed_updates", "signer_trusted", "manifest_intact")


@dataclass(frozen=True)
class Check:
    """The outcome of one named verification check."""

    name: str
    passed: bool
    detail: str


@dataclass(frozen=True)
class SignatureSummary:
    """One signature or document timestamp in the file, as a reader would describe it."""

    field: str
    kind: str  # "signature", "countersignature" or "document timestamp"
    signer: str
    time: str | None  # the trusted timestamp's time, when there is one
    covers: str
    later_updates: str


@dataclass
class VerificationResult:
    """All checks run on one PDF, plus what was extracted from it."""

    checks: list[Check] = field(default_factory=list)
    manifest: dict[str, Any] | None = None
    signer: str | None = None
    signer_name: str | None = None  # the same signer, "Common Name (Organization)"
    timestamp: str | None = None
    signatures: list[SignatureSummary] = field(default_factory=list)
    # Why the file was not examined at all (not a PDF, unsigned, ...); then every check
    # fails with this one reason.
    refusal: str | None = None
    # The signing time in the signer's own signed attributes (its clock, not a timestamp).
    signed_at: str | None = None
    # A signer's certificate was issued by the development CA, which nobody should trust.
    development_pki: bool = False

    @property
    def passed(self) -> bool:
        """True only when there is at least one check and every check passed."""
        return bool(self.checks) and all(check.passed for check in self.checks)

    @property
    def exit_status(self) -> int:
        """Process exit status for a command-line verifier: 0 only when everything passed."""
        return 0 if self.passed else 1

    @property
    def authentic(self) -> bool:
        """True when the file is what a trusted signer signed: what it says (the manifest,
        the signer) can be shown as fact. The registry's own checks may still fail."""
        return all(self._passed(name) for name in SIGNATURE_CHECKS)

    def _passed(self, name: str) -> bool:
        return any(check.name == name and check.passed for check in self.checks)

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
            "signer_name": self.signer_name,
            "timestamp": self.timestamp,
            "signed_at": self.signed_at,
            "refusal": self.refusal,
            "development_pki": self.development_pki,
            "signatures": [asdict(summary) for summary in self.signatures],
        }


def _load_certificate(data: bytes) -> x509.Certificate:
    if pem.detect(data):
        _, _, data = pem.unarmor(data)
    return x509.Certificate.load(data)


def _fail_all(result: VerificationResult, detail: str) -> VerificationResult:
    result.refusal = detail
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


@dataclass
class _Evaluated:
    """One embedded signature (or document timestamp) and pyHanko's verdict on it."""

    embedded: EmbeddedPdfSignature
    status: PdfSignatureStatus | DocumentTimestampStatus
    kind: str
    long_term_problem: str | None = None  # B-LTA only: why ETSI LTA validation failed
    lta: bool = False  # the file carries document timestamps and LTA validation ran

    @property
    def signer(self) -> str:
        return str(self.status.signing_cert.subject.human_friendly)

    @property
    def signer_name(self) -> str:
        """The signer as a person would name it: "Common Name (Organization)"."""
        names = self.status.signing_cert.subject.native
        common, organization = names.get("common_name"), names.get("organization_name")
        if not common:
            return self.signer
        return f"{common} ({organization})" if organization else str(common)

    @property
    def trusted_time(self) -> dt.datetime | None:
        """When a trusted timestamp proves the signature existed."""
        if isinstance(self.status, DocumentTimestampStatus):
            return self.status.timestamp if self.status.trusted else None
        token = self.status.timestamp_validity
        return token.timestamp if token is not None and token.trusted else None

    @property
    def later_level(self) -> ModificationLevel:
        level = self.status.modification_level
        return ModificationLevel.OTHER if level is None else level


@dataclass(frozen=True)
class _Evidence:
    """Validation material the file carries in its DSS (DER)."""

    certs: list[x509.Certificate]
    ocsps: list[bytes]
    crls: list[bytes]


def _read_dss(reader: PdfFileReader) -> _Evidence:
    try:
        dss = reader.root["/DSS"]
    except KeyError:
        return _Evidence([], [], [])

    def streams(key: str, purpose: DecodePurpose) -> list[bytes]:
        return [ref.get_object().read_data(purpose) for ref in dss.get(key, [])]

    certs = [x509.Certificate.load(d) for d in streams("/Certs", DecodePurpose.CERTIFICATE)]
    return _Evidence(
        certs=certs,
        ocsps=streams("/OCSPs", DecodePurpose.OCSP_RESPONSE),
        crls=streams("/CRLs", DecodePurpose.CRL),
    )


def _long_term_spec(roots: list[x509.Certificate]) -> PdfSignatureValidationSpec:
    """ETSI LTA validation from what the file carries: nothing is fetched."""
    declared = RevocationCheckingRule.CHECK_IF_DECLARED
    policy = CertValidationPolicySpec(
        trust_manager=SimpleTrustManager.build(trust_roots=roots),
        revinfo_policy=CertRevTrustPolicy(
            RevocationCheckingPolicy(
                ee_certificate_rule=declared, intermediate_ca_cert_rule=declared
            )
        ),
    )
    gathering = RevocationInfoGatheringSpec(
        online_fetching_rule=RevinfoOnlineFetchingRule.LOCAL_ONLY
    )
    return PdfSignatureValidationSpec(
        SignatureValidationSpec(cert_validation_policy=policy, revinfo_gathering_policy=gathering),
        diff_policy=REPORT_DIFF_POLICY,
    )


def _long_term_problem(
    embedded: EmbeddedPdfSignature, spec: PdfSignatureValidationSpec, moment: dt.datetime
) -> str | None:
    timing = ValidationTimingInfo(
        validation_time=moment, best_signature_time=moment, point_in_time_validation=True
    )
    outcome = asyncio.run(ades_lta_validation(embedded, spec, timing_info=timing))
    if isinstance(outcome.ades_subindic, AdESPassed):
        return None
    return f"{outcome.ades_subindic}: {outcome.failure_msg}"


def _evaluate(
    reader: PdfFileReader,
    roots: list[x509.Certificate],
    evidence: _Evidence,
    at: dt.datetime | None,
) -> list[_Evaluated]:
    context = ValidationContext(
        trust_roots=roots,
        other_certs=evidence.certs,
        allow_fetching=False,
        revocation_mode="soft-fail",
        moment=at,
    )
    evaluated = []
    for index, embedded in enumerate(reader.embedded_regular_signatures):
        status = validate_pdf_signature(
            embedded, signer_validation_context=context, diff_policy=REPORT_DIFF_POLICY
        )
        kind = "signature" if index == 0 else "countersignature"
        evaluated.append(_Evaluated(embedded, status, kind))
    for embedded in reader.embedded_timestamp_signatures:
        stamp = validate_pdf_timestamp(
            embedded, validation_context=context, diff_policy=REPORT_DIFF_POLICY
        )
        evaluated.append(_Evaluated(embedded, stamp, "document timestamp"))
    if reader.embedded_timestamp_signatures:
        spec, moment = _long_term_spec(roots), at or dt.datetime.now(dt.UTC)
        for item in evaluated:
            if item.kind != "document timestamp":
                item.lta = True
                item.long_term_problem = _long_term_problem(item.embedded, spec, moment)
    return evaluated


def _covers(item: _Evaluated, total_revisions: int) -> str:
    revision = item.embedded.signed_revision + 1
    if item.status.coverage == SignatureCoverageLevel.ENTIRE_FILE:
        return f"the whole file (revision {revision} of {total_revisions})"
    return f"revisions 1-{revision} of {total_revisions}"


def _later_updates(item: _Evaluated) -> str:
    level = item.later_level
    if level == ModificationLevel.NONE:
        return "none"
    if level in ALLOWED_LATER_UPDATES and item.status.docmdp_ok is not False:
        return "allowed: signatures, document timestamps and validation material only"
    return f"NOT allowed: changes of kind {level.name}"


def _summaries(evaluated: list[_Evaluated], total_revisions: int) -> list[SignatureSummary]:
    return [
        SignatureSummary(
            field=str(item.embedded.field_name),
            kind=item.kind,
            signer=item.signer,
            time=item.trusted_time.isoformat() if item.trusted_time else None,
            covers=_covers(item, total_revisions),
            later_updates=_later_updates(item),
        )
        for item in evaluated
    ]


def _intact_check(result: VerificationResult, evaluated: list[_Evaluated]) -> None:
    broken = []
    for item in evaluated:
        clean = _padding_is_clean(item.embedded)
        if not (item.status.intact and item.status.valid and clean):
            broken.append(
                f"{item.embedded.field_name} (digest intact: {item.status.intact}, value "
                f"valid: {item.status.valid}, padding clean: {clean})"
            )
    result.add_check(
        "signature_intact",
        not broken,
        f"all {len(evaluated)} signatures verify over the bytes they sign"
        if not broken
        else "signature does not verify: " + "; ".join(broken),
    )


def _updates_check(result: VerificationResult, evaluated: list[_Evaluated]) -> None:
    refused = [
        f"after {item.embedded.field_name}: {_later_updates(item)}"
        for item in evaluated
        if _later_updates(item).startswith("NOT")
    ]
    later = any(item.later_level != ModificationLevel.NONE for item in evaluated)
    if refused:
        detail = "content was changed after signing: " + "; ".join(refused)
    elif later:
        detail = "later updates are countersignatures, DSS and document timestamps only"
    else:
        detail = "the signed byte range covers the entire file"
    result.add_check("only_allowed_updates", not refused, detail)


def _stamps_valid_now(evaluated: list[_Evaluated]) -> list[str]:
    """What fails when every timestamp is checked at the validation time alone."""
    problems = []
    for item in evaluated:
        token = (
            item.status.timestamp_validity
            if isinstance(item.status, PdfSignatureStatus)
            else item.status
        )
        if token is not None and not (token.intact and token.valid and token.trusted):
            problems.append(
                f"{item.embedded.field_name} (intact: {token.intact}, valid: {token.valid}, "
                f"trusted: {token.trusted})"
            )
    return problems


def _trust_check(result: VerificationResult, evaluated: list[_Evaluated]) -> None:
    """Valid at the validation time, or else (B-LTA) by ETSI long-term validation."""
    signers = [item for item in evaluated if item.kind != "document timestamp"]
    stamps_now = not _stamps_valid_now(evaluated)
    problems = [
        f"{item.signer}: {_chain_problem(item)}"
        + (f"; long-term validation fails ({item.long_term_problem})" if item.lta else "")
        for item in signers
        if not (_chain_valid(item) and stamps_now) and not _long_term_valid(item)
    ]
    how = (
        "at the validation time"
        if all(_chain_valid(item) for item in signers) and stamps_now
        else "by the archive timestamp chain (B-LTA)"
    )
    result.add_check(
        "signer_trusted",
        not problems,
        f"all {len(signers)} signers chain to a trust root, validated {how}"
        if not problems
        else "signer does not chain to a configured trust root: " + "; ".join(problems),
    )


def _chain_valid(item: _Evaluated) -> bool:
    """The signer's certificate chains to a trust root. Unlike pyHanko's ``trusted`` this
    leaves out whether the signed bytes are intact, which ``signature_intact`` reports: a
    changed byte does not make an unchanged signer untrusted."""
    status = item.status
    return status.trust_problem_indic is None and status.validation_path is not None


def _chain_problem(item: _Evaluated) -> str:
    if not item.status.valid:
        return "not examined: the signature value itself does not verify"
    return str(item.status.trust_problem_indic or "no path to a trust root")


def _issued_by_development_ca(item: _Evaluated) -> bool:
    issuer = item.status.signing_cert.issuer.native
    return bool(issuer.get("common_name") == DEV_CA_COMMON_NAME)


def _long_term_valid(item: _Evaluated) -> bool:
    return item.lta and item.long_term_problem is None


def _timestamp_check(result: VerificationResult, evaluated: list[_Evaluated]) -> None:
    stamps = [item for item in evaluated if item.kind == "document timestamp"]
    has_tokens = any(
        isinstance(item.status, PdfSignatureStatus) and item.status.timestamp_validity
        for item in evaluated
    )
    if not (has_tokens or stamps):
        return
    problems = _stamps_valid_now(evaluated)
    signers = [item for item in evaluated if item.kind != "document timestamp"]
    if problems and stamps and all(_long_term_valid(item) for item in signers):
        problems = []  # the archive timestamp chain vouches for the expired ones
    detail = "every timestamp verifies and its TSA is trusted"
    if stamps:
        newest = stamps[-1].trusted_time
        detail += f"; {len(stamps)} document timestamps, the newest at {newest}"
    result.add_check(
        "timestamp_valid",
        not problems,
        detail if not problems else "timestamp token fails: " + "; ".join(problems),
    )


def _issuer_of(
    certificate: x509.Certificate, candidates: list[x509.Certificate]
) -> x509.Certificate | None:
    for candidate in candidates:
        if candidate.subject == certificate.issuer:
            return candidate
    return None


def _chains_to_trust_root(item: _Evaluated) -> bool:
    return _chain_valid(item) or _long_term_valid(item)


def _revocation_verdict(
    item: _Evaluated, candidates: list[x509.Certificate], evidence: _Evidence, fetch: bool
) -> tuple[bool, str] | None:
    """(passes, why) for one signer; None when there is nothing to check it against."""
    cert = crypto_x509.load_der_x509_certificate(item.status.signing_cert.dump())
    issuer_asn1 = _issuer_of(item.status.signing_cert, candidates)
    declared = declares_revocation_source(cert)
    if issuer_asn1 is None or not (declared or evidence.ocsps or evidence.crls):
        return None
    issuer = crypto_x509.load_der_x509_certificate(issuer_asn1.dump())
    ocsps, crls = list(evidence.ocsps), list(evidence.crls)
    problems: list[str] = []
    if fetch and declared and _chains_to_trust_root(item):
        fresh_ocsps, fresh_crls, problems = fetch_revocation_evidence(cert, issuer)
        ocsps, crls = ocsps + fresh_ocsps, crls + fresh_crls
    status = revocation_status(cert, issuer, ocsp_responses=ocsps, crls=crls, problems=problems)
    if not status.known:
        if not declared:
            return None
        return (
            False,
            f"{item.signer}: revocation status unknown ({'; '.join(problems) or 'no answer'})",
        )
    if status.revoked_at is None:
        return True, f"{item.signer}: not revoked ({status.evidence} OCSP/CRL answers)"
    signed_at, revoked = item.trusted_time, status.revoked_at.isoformat()
    if signed_at is None:
        return False, f"{item.signer}: revoked from {revoked}; no timestamp proves it signed before"
    if signed_at < status.revoked_at:
        return True, (
            f"{item.signer}: revoked from {revoked}, after it signed at "
            f"{signed_at.isoformat()}: the signature stands"
        )
    return (
        False,
        f"{item.signer}: revoked from {revoked}, before it signed at {signed_at.isoformat()}",
    )


def _revocation_check(
    result: VerificationResult,
    evaluated: list[_Evaluated],
    roots: list[x509.Certificate],
    evidence: _Evidence,
    fetch: bool,
) -> None:
    verdicts = []
    for item in evaluated:
        if item.kind == "document timestamp":
            continue
        candidates = [*item.embedded.other_embedded_certs, *evidence.certs, *roots]
        verdict = _revocation_verdict(item, candidates, evidence, fetch)
        if verdict is not None:
            verdicts.append(verdict)
    if verdicts:
        passed = all(ok for ok, _ in verdicts)
        result.add_check("signer_not_revoked", passed, "; ".join(why for _, why in verdicts))


def verify_pdf(
    data: bytes,
    *,
    trust_roots: list[bytes],
    at: dt.datetime | None = None,
    fetch_revocation: bool = False,
) -> VerificationResult:
    """Run every check that needs only the file and ``trust_roots`` (PEM or DER certificates).

    ``at`` is the validation time (default: now); ``fetch_revocation`` asks the OCSP
    responders (or CRL distribution points) named in the signers' certificates for their
    current status. Never raises on a damaged or hostile file: problems become failed checks.
    """
    result = VerificationResult()
    try:
        reader = PdfFileReader(BytesIO(data), strict=False)
        signatures = reader.embedded_regular_signatures
        evidence = _read_dss(reader)
    except Exception as error:  # any parse failure means "reject", with why
        return _fail_all(result, f"not a readable PDF: {error}")
    if not signatures:
        return _fail_all(result, "the PDF carries no signature")
    roots = [_load_certificate(root) for root in trust_roots]
    try:
        evaluated = _evaluate(reader, roots, evidence, at)
    except Exception as error:  # a malformed signature is a failed check
        return _fail_all(result, f"signature cannot be evaluated: {error}")
    first = evaluated[0]
    result.signer, result.signer_name = first.signer, first.signer_name
    if first.trusted_time is not None:
        result.timestamp = first.trusted_time.isoformat()
    reported = getattr(first.status, "signer_reported_dt", None)
    if reported is not None:
        result.signed_at = reported.isoformat()
    result.development_pki = any(_issued_by_development_ca(item) for item in evaluated)
    result.signatures = _summaries(evaluated, reader.xrefs.total_revisions)
    _intact_check(result, evaluated)
    _updates_check(result, evaluated)
    _trust_check(result, evaluated)
    _manifest_check(result, first.embedded)
    _timestamp_check(result, evaluated)
    _revocation_check(result, evaluated, roots, evidence, fetch_revocation)
    return result
