"""Services for signed reports: request one, build it (render, sign, store), verify one.

The job's state is the ``Report`` row, run by ``registry.jobs.JobRunner``: a worker
claims it with a conditional UPDATE (PENDING -> RENDERING) and notes the attempt number
it claimed; every later write is conditional on that attempt still owning the row, so a
duplicate delivery does nothing and a worker that was given up for dead cannot overwrite
its successor's result. Rendering, signing and writing the file run outside any
transaction; the file is recorded in one short transaction with its ledger entry. A sweep
re-queues rows whose worker died.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from asn1crypto import pem
from asn1crypto import x509 as asn1_x509
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import Storage
from django.utils import timezone
from pyhanko.sign.timestamps.common_utils import TimestampRequestError

from registry.errors import ConflictError
from registry.jobs import (
    DATABASE_TRANSIENT_ERRORS,
    JobAttempt,
    JobRunner,
    JobStatuses,
    SupersededError,
)
from registry.ledger import PUBLIC, LedgerScope, incident_scope, ledger_append, ledger_contains
from registry.models import BenchmarkClaim, CloningIncident, StoredFile
from registry.roles import (
    ANALYST,
    STANDARDS_BODY,
    AnyUser,
    has_role,
    recorded_user,
    user_handles_incident,
)
from registry.selectors import latest_done_analysis
from registry.services._base import require, writing
from reports.documents import build_document
from reports.models import Report, ReportVersion
from reports.pdf.devca import ensure_dev_pki
from reports.pdf.document import SignerCertificate
from reports.pdf.embedded_files import embedded_file_problem
from reports.pdf.render import render_pdf
from reports.pdf.signing import (
    ReportSigner,
    SignatureLevel,
    SigningConfigurationError,
    TokenSettings,
    describe_certificate,
    load_signer,
    load_token_signer,
    newest_timestamp_expiry,
    retimestamp,
)
from reports.pdf.verify import SIGNATURE_CHECKS, VerificationResult, verify_pdf
from reports.transparency import NewerCheckpoint, log_checks

logger = logging.getLogger(__name__)

# Errors worth another try: the database was briefly unavailable or its connection broke,
# or the timestamp authority did not answer. Anything else is deterministic and fails the
# report.
TRANSIENT_ERRORS: tuple[type[Exception], ...] = (
    *DATABASE_TRANSIENT_ERRORS,
    TimestampRequestError,
)
_CHUNK = 1024 * 1024


# --- signing identity --------------------------------------------------------------------


def _level() -> SignatureLevel | None:
    configured = settings.REPORT_SIGNATURE_LEVEL
    if not configured:
        return SignatureLevel.B_LTA if settings.REPORT_TSA_URL else SignatureLevel.B_B
    try:
        return SignatureLevel(configured)
    except ValueError:
        choices = ", ".join(level.value for level in SignatureLevel)
        raise SigningConfigurationError(
            f"REPORT_SIGNATURE_LEVEL={configured!r} is not one of {choices}"
        ) from None


def _token(prefix: str) -> TokenSettings | None:
    """The PKCS#11 settings of one identity, or None when its key is not in a token."""
    key_label = getattr(settings, f"REPORT_{prefix}_PKCS11_KEY_LABEL")
    if not (settings.REPORT_PKCS11_MODULE and key_label):
        return None
    slot = getattr(settings, f"REPORT_{prefix}_PKCS11_SLOT")
    return TokenSettings(
        module_path=settings.REPORT_PKCS11_MODULE,
        key_label=key_label,
        pin_file=getattr(settings, f"REPORT_{prefix}_PKCS11_PIN_FILE"),
        token_label=getattr(settings, f"REPORT_{prefix}_PKCS11_TOKEN_LABEL"),
        slot=slot if slot >= 0 else None,
    )


def _load_identity(prefix: str, dev_files: Callable[[], tuple[Path, Path, Path]]) -> ReportSigner:
    """The signer named by the REPORT_<prefix>_* settings (SIGNING or COUNTERSIGNING).

    A key in a PKCS#11 token wins over key files, and then no key file is read. Without
    either, DEBUG and the test runner use the development PKI's ``dev_files``
    (key, certificate, chain); production refuses rather than sign with a throwaway key.
    """
    tsa_url = settings.REPORT_TSA_URL or None
    roots = [asn1_x509.Certificate.load(der) for der in trust_roots()]
    options: dict[str, Any] = {"tsa_url": tsa_url, "level": _level(), "trust_roots": roots}
    cert_file = getattr(settings, f"REPORT_{prefix}_CERT_FILE")
    chain_file = getattr(settings, f"REPORT_{prefix}_CHAIN_FILE")
    chain = [chain_file] if chain_file else []
    token = _token(prefix)
    if token is not None:
        if not cert_file:
            raise SigningConfigurationError(f"REPORT_{prefix}_CERT_FILE must name the certificate")
        return load_token_signer(token, cert_file, chain, **options)
    key_file = getattr(settings, f"REPORT_{prefix}_KEY_FILE")
    if key_file:
        return load_signer(key_file, cert_file, chain, **options)
    if not (settings.DEBUG or settings.TESTING):
        raise SigningConfigurationError(
            f"REPORT_{prefix}_KEY_FILE and REPORT_{prefix}_CERT_FILE (or a PKCS#11 key) "
            "must be set when DEBUG is off"
        )
    key_file, cert_file, chain_file = dev_files()
    return load_signer(key_file, cert_file, [chain_file], **options)


@functools.lru_cache(maxsize=1)
def report_signer() -> ReportSigner:
    """The registry's signer, loaded once per worker process (its token session stays open).

    Call ``report_signer.cache_clear()`` after changing the signing settings.
    """

    def dev_files() -> tuple[Path, Path, Path]:
        pki = ensure_dev_pki(settings.REPORT_DEV_PKI_DIR)
        return pki.signing_key_file, pki.signing_cert_file, pki.chain_file

    return _load_identity("SIGNING", dev_files)


@functools.lru_cache(maxsize=1)
def report_countersigner() -> ReportSigner:
    """The standards body's countersigner, loaded once per process like :func:`report_signer`."""

    def dev_files() -> tuple[Path, Path, Path]:
        pki = ensure_dev_pki(settings.REPORT_DEV_PKI_DIR)
        return pki.countersigning_key_file, pki.countersigning_cert_file, pki.chain_file

    return _load_identity("COUNTERSIGNING", dev_files).as_countersigner()


def signer_fingerprint(signer: ReportSigner) -> str:
    """SHA-256 of the signing certificate's DER encoding (hex), as shown by openssl."""
    return signer_certificate(signer)["sha256_fingerprint"]


def signer_certificate(signer: ReportSigner) -> SignerCertificate:
    """The signing certificate described for a report's title page."""
    certificate = signer.signer.signing_cert
    if certificate is None:
        raise SigningConfigurationError("no signing certificate was loaded")
    return describe_certificate(certificate)


def trust_roots() -> list[bytes]:
    """DER certificates a report's signer (and timestamp authority) must chain to.

    REPORT_TRUST_ROOTS_FILE (a PEM bundle) when set; else, under DEBUG or tests, the
    development CA; else none, so that the trust check fails and says why.
    """
    if settings.REPORT_TRUST_ROOTS_FILE:
        with open(settings.REPORT_TRUST_ROOTS_FILE, "rb") as handle:
            data = handle.read()
    elif settings.DEBUG or settings.TESTING:
        data = ensure_dev_pki(settings.REPORT_DEV_PKI_DIR).ca_cert_file.read_bytes()
    else:
        return []
    if not pem.detect(data):
        return [data]
    return [der for _, _, der in pem.unarmor(data, multiple=True)]


# --- requesting --------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportSubject:
    """What a report is about: a claim, an incident, or a period (both dates inclusive)."""

    claim: BenchmarkClaim | None = None
    incident: CloningIncident | None = None
    period_start: dt.date | None = None
    period_end: dt.date | None = None


def report_may_request(user: AnyUser | None, *, kind: str, subject: ReportSubject) -> bool:
    """Analysts request claim reports and digests; an incident's handlers its report."""
    if kind == Report.Kind.INCIDENT:
        return subject.incident is not None and user_handles_incident(user, subject.incident)
    return has_role(user, ANALYST)


def report_scope(report: Report) -> LedgerScope:
    """A report on an incident is read by those who may see the incident; others by all."""
    return incident_scope(report.incident_id) if report.incident_id else PUBLIC


def _subject_fields(kind: str, subject: ReportSubject) -> dict[str, Any]:
    if kind == Report.Kind.CLAIM and subject.claim is not None:
        analysis = latest_done_analysis(subject.claim)
        if analysis is None:
            raise ConflictError(
                f"Claim {subject.claim.pk} has no finished fragility analysis: "
                "run an analysis first."
            )
        return {"claim": subject.claim, "analysis": analysis}
    if kind == Report.Kind.INCIDENT:
        return {"incident": subject.incident}
    return {"period_start": subject.period_start, "period_end": subject.period_end}


def report_request(*, actor: AnyUser | None, kind: str, subject: ReportSubject) -> Report:
    """Record a pending report and queue its build once the transaction commits.

    Raises ``NotPermitted`` when the actor may not request it, ``ConflictError`` for a
    claim without a finished analysis and ``ValidationError`` when the subject does not
    fit the kind.
    """
    require(
        report_may_request(actor, kind=kind, subject=subject),
        "Analysts request claim reports and digests; an incident's handlers its report.",
    )
    fields = _subject_fields(kind, subject)
    with writing():
        report = Report(kind=kind, **fields)
        report.requested_by = recorded_user(actor)
        report.full_clean()
        report.save()
        ledger_append(instance=report, action="request", actor=actor, scope=report_scope(report))
        REPORT_JOBS.publish_on_commit(report.pk)
    return report


# --- building ----------------------------------------------------------------------------


@dataclass(frozen=True)
class SignedReport:
    """A signed report file already in storage, and what the row records about it."""

    name: str
    sha256: str
    size_bytes: int
    manifest: dict[str, Any]
    fingerprint: str
    level: str
    timestamp_expires_at: dt.datetime | None = None


def _report_storage() -> Storage:
    storage: Storage = Report._meta.get_field("file").storage  # type: ignore[union-attr]
    return storage


def _build(job: JobAttempt) -> SignedReport:
    """Render, sign and store the report: the file exists before the row records it."""
    # The signer is loaded first: the title page names the certificate that signs it.
    signer = report_signer()
    document = build_document(Report.objects.get(pk=job.pk), signer=signer_certificate(signer))
    job.update(progress=30)
    pdf = render_pdf(document)
    if not job.update(status=Report.Status.SIGNING, progress=70):
        raise SupersededError  # given up for dead and re-queued: the newer attempt finishes it
    signed = signer.sign(pdf)
    digest = hashlib.sha256(signed).hexdigest()
    name = _report_storage().save(f"reports/{digest}.pdf", ContentFile(signed))
    return SignedReport(
        name=name,
        sha256=digest,
        size_bytes=len(signed),
        manifest=dict(document["manifest"]),
        fingerprint=signer_fingerprint(signer),
        level=signer.level,
        timestamp_expires_at=newest_timestamp_expiry(signed),
    )


def _record(report: Report, signed: SignedReport) -> None:
    report.file.name = signed.name
    report.sha256 = signed.sha256
    report.size_bytes = signed.size_bytes
    report.manifest = signed.manifest
    report.signer_fingerprint = signed.fingerprint
    report.signature_level = signed.level
    report.timestamp_expires_at = signed.timestamp_expires_at
    head = signed.manifest["ledger_head"]
    report.ledger_seq, report.ledger_hash = head["seq"], head["hash"]
    ReportVersion.objects.create(
        report=report,
        number=1,
        change=ReportVersion.Change.ISSUED,
        file=signed.name,
        sha256=signed.sha256,
        size_bytes=signed.size_bytes,
        signer_fingerprint=signed.fingerprint,
    )


def _discard(signed: SignedReport) -> None:
    _report_storage().delete(signed.name)  # never leave a file no row points to


# The task that builds a report (reports/tasks.py), by its registered name.
REPORT_TASK = "reports.tasks.build_report"

REPORT_JOBS = JobRunner(
    model=Report,
    statuses=JobStatuses(
        pending=Report.Status.PENDING,
        running=(Report.Status.RENDERING, Report.Status.SIGNING),
        done=Report.Status.DONE,
        failed=Report.Status.FAILED,
    ),
    task=REPORT_TASK,
    compute=_build,
    record=_record,
    scope=report_scope,
    discard=_discard,
    transient=TRANSIENT_ERRORS,
    claimed_progress=5,
)


def report_claim(*, report_id: int) -> int | None:
    """Take a pending report for this worker: the attempt number, or None if not ours."""
    return REPORT_JOBS.claim(report_id)


def report_run(*, report_id: int) -> None:
    """Claim, build (outside any transaction) and record one report."""
    REPORT_JOBS.run(report_id)


def report_produce(*, report_id: int, attempt: int) -> None:
    """Render, sign and store a report this worker claimed as ``attempt``.

    A transient error puts the row back to PENDING and propagates, so the task's retry
    can claim it again; any other error fails the report with its message.
    """
    REPORT_JOBS.produce(report_id, attempt)


def reports_requeue_stuck(*, older_than: dt.timedelta) -> list[int]:
    """Put reports whose lease lapsed ``older_than`` ago (the worker died) back in the
    queue; after ``MAX_ATTEMPTS`` the report fails instead of looping."""
    return REPORT_JOBS.sweep(lease=older_than)


# --- later versions: countersignatures and renewed archive timestamps ----------------------


def _append_version(
    report: Report,
    *,
    based_on: str,
    signed: bytes,
    change: str,
    actor: AnyUser | None,
    fingerprint: str,
) -> Report:
    """Record ``signed`` (an incremental update of the file ``based_on``) as the newest
    version, in one short transaction with its ledger entry.

    Raises ``ConflictError`` when another version was recorded since ``based_on`` was read:
    the update was made to a file that is no longer the newest, so it is discarded.
    """
    digest = hashlib.sha256(signed).hexdigest()
    name = _report_storage().save(f"reports/{digest}.pdf", ContentFile(signed))
    try:
        with writing():
            locked = Report.objects.select_for_update().get(pk=report.pk)
            if locked.sha256 != based_on:
                raise ConflictError(
                    f"Report {locked.report_id} changed while it was being signed; try again."
                )
            number = locked.versions.count() + 1
            ReportVersion.objects.create(
                report=locked,
                number=number,
                change=change,
                file=name,
                sha256=digest,
                size_bytes=len(signed),
                signer_fingerprint=fingerprint,
                created_by=recorded_user(actor),
            )
            locked.file.name, locked.sha256, locked.size_bytes = name, digest, len(signed)
            locked.timestamp_expires_at = newest_timestamp_expiry(signed)
            locked.save()
            ledger_append(
                instance=locked,
                action=change,
                actor=actor,
                scope=report_scope(locked),
                extra={"version": number, "sha256": digest, "signer_fingerprint": fingerprint},
            )
    except Exception:
        if not ReportVersion.objects.filter(file=name).exists():
            _report_storage().delete(name)  # never leave a file no row points to
        raise
    return locked


def _current_file(report: Report) -> tuple[bytes, str]:
    if report.status != Report.Status.DONE:
        raise ConflictError(f"Report {report.report_id} is {report.status}, not done.")
    with report.file.open("rb") as handle:
        return handle.read(), report.sha256


def report_countersign(*, actor: AnyUser | None, report: Report) -> Report:
    """Countersign an issued report for the standards body; the new file is a new version.

    The countersignature is appended as an incremental update with the standards body's
    own certificate (at the configured PAdES level), so the registry's signature keeps
    verifying. Signing runs outside any transaction. Raises ``NotPermitted`` (a
    ``PermissionDenied``) unless the actor has the standards_body role, and
    ``ConflictError`` when the report is not done or changed meanwhile.
    """
    require(
        has_role(actor, STANDARDS_BODY),
        "Only the standards body countersigns reports.",
    )
    data, based_on = _current_file(report)
    countersigner = report_countersigner()
    signed = countersigner.sign(data)
    return _append_version(
        report,
        based_on=based_on,
        signed=signed,
        change=ReportVersion.Change.COUNTERSIGNED,
        actor=actor,
        fingerprint=signer_fingerprint(countersigner),
    )


def report_retimestamp(*, report: Report) -> Report:
    """Extend a B-LTA report's archive timestamp chain; the new file is a new version."""
    signer = report_signer()
    if signer.timestamper is None:
        raise SigningConfigurationError("renewing archive timestamps needs REPORT_TSA_URL")
    data, based_on = _current_file(report)
    roots = [asn1_x509.Certificate.load(der) for der in trust_roots()]
    renewed = retimestamp(data, timestamper=signer.timestamper, trust_roots=roots)
    return _append_version(
        report,
        based_on=based_on,
        signed=renewed,
        change=ReportVersion.Change.RETIMESTAMPED,
        actor=None,
        fingerprint="",
    )


def reports_renew_timestamps(*, window: dt.timedelta, now: dt.datetime | None = None) -> list[int]:
    """Renew the archive timestamp of every report whose newest one expires within
    ``window``; the ids renewed. A report that fails is logged and tried again next run."""
    due = Report.objects.filter(
        status=Report.Status.DONE,
        timestamp_expires_at__lte=(now or timezone.now()) + window,
    ).order_by("timestamp_expires_at")
    renewed = []
    for report in due:
        try:
            report_retimestamp(report=report)
        except Exception:  # one report's TSA or file problem must not stop the others
            logger.exception("report %s: archive timestamp not renewed this time", report.pk)
            continue
        renewed.append(report.pk)
    return renewed


# --- verifying ---------------------------------------------------------------------------

# Which registry rows a manifest file of each role must be the stored file of.
_FILE_ROLES = {"dataset": "vote_datasets", "evidence": "evidence_files"}


def _stored_digest(stored: StoredFile) -> str | None:
    """SHA-256 of the bytes on disk now, or None when they are gone."""
    hasher = hashlib.sha256()
    try:
        with stored.content.open("rb") as handle:
            while chunk := handle.read(_CHUNK):
                hasher.update(chunk)
    except (FileNotFoundError, ValueError):
        return None
    return hasher.hexdigest()


def _file_problem(entry: dict[str, Any]) -> str | None:
    sha256 = str(entry.get("sha256", ""))
    rows = StoredFile.objects.filter(sha256=sha256)
    relation = _FILE_ROLES.get(str(entry.get("role")))
    if relation:
        rows = rows.filter(**{f"{relation}__isnull": False}).distinct()
    stored = rows.first()
    name = entry.get("name", "?")
    if stored is None:
        return f"{name}: no {entry.get('role')} file in the registry has SHA-256 {sha256}"
    actual = _stored_digest(stored)
    if actual != sha256:
        return f"{name}: the registry's stored bytes now hash to {actual or 'nothing (missing)'}"
    return None


def _registry_checks(result: VerificationResult) -> None:
    manifest = result.manifest
    if manifest is None:
        reason = "no intact manifest to check against the registry"
        result.add_check("files_match_registry", False, reason)
        result.add_check("ledger_head_in_chain", False, reason)
        return
    files = manifest.get("files", [])
    problems = [problem for entry in files if (problem := _file_problem(entry))]
    result.add_check(
        "files_match_registry",
        not problems,
        "; ".join(problems) or f"all {len(files)} files match the registry's stored bytes",
    )
    head = manifest.get("ledger_head") or {}
    seq, entry_hash = head.get("seq"), head.get("hash")
    known = isinstance(seq, int) and isinstance(entry_hash, str)
    known = known and ledger_contains(seq=seq, entry_hash=entry_hash)  # type: ignore[arg-type]
    result.add_check(
        "ledger_head_in_chain",
        known,
        f"ledger entry #{seq} with hash {entry_hash} is in the chain"
        if known
        else f"the ledger holds no entry #{seq} with hash {entry_hash}",
    )


def report_verify(
    data: bytes, *, newer: NewerCheckpoint | None = None, at: dt.datetime | None = None
) -> VerificationResult:
    """Every check on a report file: the signature ones, the registry's own, and the
    transparency log's (consistency too when given a ``newer`` checkpoint).

    ``at`` validates as of that time instead of now (e.g. years after a certificate expired).
    """
    # Refuse a Flate bomb before the verifier inflates the manifest.
    problem = embedded_file_problem(data)
    if problem is not None:
        refused = VerificationResult(refusal=problem)
        for name in SIGNATURE_CHECKS:
            refused.add_check(name, False, problem)
        return refused
    result = verify_pdf(
        data,
        trust_roots=trust_roots(),
        at=at,
        fetch_revocation=settings.REPORT_VERIFY_FETCH_REVOCATION,
    )
    _registry_checks(result)
    log_checks(result, newer)
    return result
