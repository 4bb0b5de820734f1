"""PAdES signing of rendered reports with pyHanko.

The levels (ETSI EN 319 142-1), each including the one before:

*B-B*
    A CMS signature over the whole PDF except the signature value itself, carrying the
    signer's certificate as a signed attribute.
*B-T*
    Adds an RFC 3161 timestamp token over the signature value: the signature existed then.
*B-LT*
    Adds, in an incremental update, a Document Security Store (DSS) with every certificate,
    CRL and OCSP response needed to validate the signature and its timestamp, fetched while
    they are still obtainable.
*B-LTA*
    Adds a document timestamp over all of that. Before that timestamp's certificate expires,
    :func:`retimestamp` appends the validation material of the newest timestamp and a new
    document timestamp, so the chain can be extended for as long as the report is kept.

A *countersignature* is a further signature in a new field, appended as an incremental
update by another signer (the standards body); it covers the first signature and
everything before it. The signer (key or token session, certificate, chain, timestamp
client) is loaded once per worker process by the caller, e.g.::

    @functools.lru_cache(maxsize=1)
    def report_signer() -> ReportSigner:
        return load_signer(KEY_FILE, CERT_FILE, CHAIN_FILES, tsa_url=TSA_URL)
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Any

from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509 import load_der_x509_certificate
from pyhanko.keys import load_cert_from_pemder, load_certs_from_pemder
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.timestamps import HTTPTimeStamper, TimeStamper
from pyhanko_certvalidator import ValidationContext

from reports.pdf.document import SignerCertificate

SIGNATURE_FIELD = "RegistrySignature"
SIGNATURE_REASON = "Issued by the Evidence Registry"
COUNTERSIGNATURE_FIELD = "Countersignature"
COUNTERSIGNATURE_REASON = "Countersigned: accepted by the standards body"
ARCHIVE_TIMESTAMP_FIELD = "ArchiveTimestamp"
# Room for the CMS blob inside /Contents. Fixing it skips pyHanko's dry-run signature (and,
# for B-T, a second timestamp request) that it would otherwise use to estimate the size.
# A B-B signature with a two-certificate chain is ~2 KB; a timestamp token adds ~2-6 KB.
BYTES_RESERVED_BB = 12 * 1024
BYTES_RESERVED_BT = 24 * 1024


class SigningConfigurationError(RuntimeError):
    """The signing key, certificate or chain could not be loaded or do not belong together."""


class SignatureLevel(enum.StrEnum):
    """The PAdES baseline levels a report can be signed at (ETSI EN 319 142-1)."""

    B_B = "B-B"
    B_T = "B-T"
    B_LT = "B-LT"
    B_LTA = "B-LTA"

    @property
    def needs_timestamps(self) -> bool:
        return self != SignatureLevel.B_B

    @property
    def embeds_validation_info(self) -> bool:
        return self in (SignatureLevel.B_LT, SignatureLevel.B_LTA)


def validation_context(roots: Sequence[asn1_x509.Certificate]) -> ValidationContext:
    """How validation material is gathered when signing at B-LT and above.

    Fetching is on (the CRLs and OCSP responses named in the certificates are what the DSS
    records); "hard-fail" refuses to sign when a responder named in a certificate does
    not answer, rather than issue a report that cannot be validated later.
    """
    return ValidationContext(
        trust_roots=list(roots), allow_fetching=True, revocation_mode="hard-fail"
    )


def describe_certificate(certificate: asn1_x509.Certificate) -> SignerCertificate:
    """Subject, issuer, serial, SHA-256 fingerprint (of the DER, as ``openssl x509
    -fingerprint -sha256`` prints it, without colons) and validity of ``certificate``."""
    parsed = load_der_x509_certificate(certificate.dump())
    return {
        "subject": parsed.subject.rfc4514_string(),
        "issuer": parsed.issuer.rfc4514_string(),
        "serial": format(parsed.serial_number, "x"),
        "sha256_fingerprint": hashlib.sha256(certificate.dump()).hexdigest(),
        "valid_from": parsed.not_valid_before_utc.isoformat(),
        "valid_until": parsed.not_valid_after_utc.isoformat(),
    }


@dataclass(frozen=True)
class ReportSigner:
    """A loaded signing identity that turns report PDFs into PAdES-signed ones.

    ``signer`` is pyHanko's: a key from a file (:class:`signers.SimpleSigner`) or a key in
    a PKCS#11 token (:class:`pyhanko.sign.pkcs11.PKCS11Signer`). ``trust_roots`` are the
    certificates the signer and the timestamp authority chain to, for B-LT and above.
    """

    signer: signers.Signer
    timestamper: TimeStamper | None = None
    target_level: SignatureLevel | None = None
    trust_roots: tuple[asn1_x509.Certificate, ...] = ()
    field_name: str = SIGNATURE_FIELD
    reason: str = SIGNATURE_REASON

    @property
    def level(self) -> str:
        """The PAdES baseline level this signer produces."""
        if self.target_level is not None:
            return self.target_level.value
        return SignatureLevel.B_T if self.timestamper else SignatureLevel.B_B

    def __post_init__(self) -> None:
        if self.target_level and self.target_level.needs_timestamps and not self.timestamper:
            raise SigningConfigurationError(
                f"PAdES {self.target_level} needs a timestamp authority (REPORT_TSA_URL)"
            )

    def _metadata(self, field_name: str) -> signers.PdfSignatureMetadata:
        level = SignatureLevel(self.level)
        long_term = level.embeds_validation_info
        return signers.PdfSignatureMetadata(
            field_name=field_name,
            md_algorithm="sha256",
            subfilter=fields.SigSeedSubFilter.PADES,
            reason=self.reason,
            embed_validation_info=long_term,
            use_pades_lta=level == SignatureLevel.B_LTA,
            timestamp_field_name=f"{ARCHIVE_TIMESTAMP_FIELD}-{field_name}",
            validation_context=validation_context(self.trust_roots) if long_term else None,
        )

    def sign(self, pdf: bytes) -> bytes:
        """Return ``pdf`` with one PAdES signature appended as an incremental update.

        At B-LT and B-LTA, the DSS (and the document timestamp) follow in further updates.
        A PDF that already carries signatures gets the new one in a field of its own:
        that is a countersignature.
        """
        reader = PdfFileReader(BytesIO(pdf), strict=False)
        taken = {name for name, _, _ in fields.enumerate_sig_fields(reader)}
        field_name = self.field_name
        for number in range(2, len(taken) + 2):
            if field_name not in taken:
                break
            field_name = f"{self.field_name}{number}"
        pdf_signer = signers.PdfSigner(
            self._metadata(field_name), signer=self.signer, timestamper=self.timestamper
        )
        reserved = BYTES_RESERVED_BT if self.timestamper else BYTES_RESERVED_BB
        output = pdf_signer.sign_pdf(
            IncrementalPdfFileWriter(BytesIO(pdf)), bytes_reserved=reserved
        )
        return output.getvalue()

    def as_countersigner(self) -> ReportSigner:
        """The same identity, signing in countersignature fields with their own reason."""
        return dataclasses.replace(
            self, field_name=COUNTERSIGNATURE_FIELD, reason=COUNTERSIGNATURE_REASON
        )


def retimestamp(
    pdf: bytes, *, timestamper: TimeStamper, trust_roots: Sequence[asn1_x509.Certificate]
) -> bytes:
    """Extend a B-LTA report's archive timestamp chain (ETSI EN 319 142-1, 5.5).

    Adds the validation material of the newest document timestamp to the DSS and a new
    document timestamp over everything, in incremental updates.
    """
    reader = PdfFileReader(BytesIO(pdf), strict=False)
    stamper = signers.PdfTimeStamper(timestamper, field_name=None)
    output = stamper.update_archival_timestamp_chain(
        reader, validation_context(trust_roots), in_place=False
    )
    return output.getvalue()


def _check_key_matches_certificate(key_file: Path, signer: signers.SimpleSigner) -> None:
    """Fail at load time, not at the first report, when key and certificate are mismatched."""
    data = key_file.read_bytes()
    is_pem = data.lstrip().startswith(b"-----")
    load_key = serialization.load_pem_private_key if is_pem else serialization.load_der_private_key
    key_public = load_key(data, password=None).public_key()
    if signer.signing_cert is None:
        raise SigningConfigurationError("no signing certificate was loaded")
    cert_public = load_der_x509_certificate(signer.signing_cert.dump()).public_key()
    der, spki = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    if key_public.public_bytes(der, spki) != cert_public.public_bytes(der, spki):
        raise SigningConfigurationError(f"{key_file} is not the key of the signing certificate")


def load_signer(
    key_file: str | Path,
    cert_file: str | Path,
    chain_files: Sequence[str | Path] = (),
    tsa_url: str | None = None,
    *,
    level: SignatureLevel | None = None,
    trust_roots: Sequence[asn1_x509.Certificate] = (),
) -> ReportSigner:
    """Load a PEM (or DER) key, certificate and chain; with ``tsa_url``, sign at PAdES B-T
    (or ``level``, which B-LT and B-LTA need, with the ``trust_roots`` to validate against).

    Raises :class:`SigningConfigurationError` when the files cannot be read or the key does
    not match the certificate.
    """
    key_path, cert_path = Path(key_file), Path(cert_file)
    for path in (key_path, cert_path, *map(Path, chain_files)):
        if not path.is_file():
            raise SigningConfigurationError(f"signing file {path} does not exist")
    signer = signers.SimpleSigner.load(
        key_file=str(key_path),
        cert_file=str(cert_path),
        ca_chain_files=[str(path) for path in chain_files] or None,
    )
    if signer is None:  # pyHanko logs the cause and returns None instead of raising
        raise SigningConfigurationError(f"could not load signing material {key_path}, {cert_path}")
    _check_key_matches_certificate(key_path, signer)
    timestamper = HTTPTimeStamper(tsa_url, timeout=10) if tsa_url else None
    return ReportSigner(
        signer=signer, timestamper=timestamper, target_level=level, trust_roots=tuple(trust_roots)
    )


@dataclass(frozen=True)
class TokenSettings:
    """Where a signing key lives in a PKCS#11 token.

    ``slot`` or ``token_label`` selects the token (the label wins when both are given);
    ``key_label`` the private key; the PIN is read from ``pin_file`` (first line) so it
    never sits in the environment. The certificate is public and read from a file.
    """

    module_path: str
    key_label: str
    pin_file: str
    token_label: str = ""
    slot: int | None = None


def _read_pin(pin_file: str) -> str:
    try:
        lines = Path(pin_file).read_text().splitlines()
    except OSError as error:
        raise SigningConfigurationError(f"cannot read the PKCS#11 PIN file: {error}") from error
    if not lines or not lines[0].strip():
        raise SigningConfigurationError(f"the PKCS#11 PIN file {pin_file} is empty")
    return lines[0].strip()


def _open_session(token: TokenSettings) -> Any:
    """A session on the configured token, logged in with the PIN from the PIN file."""
    from pkcs11 import PKCS11Error, UserAlreadyLoggedIn
    from pyhanko.config.pkcs11 import TokenCriteria
    from pyhanko.sign.pkcs11 import open_pkcs11_session

    criteria = TokenCriteria(label=token.token_label) if token.token_label else None
    slot = None if criteria else token.slot
    try:
        try:
            return open_pkcs11_session(
                token.module_path,
                slot_no=slot,
                token_criteria=criteria,
                user_pin=_read_pin(token.pin_file),
            )
        except UserAlreadyLoggedIn:
            # PKCS#11 logs in per application and token: another session of this process
            # (the other identity, or a reloaded signer) already did.
            return open_pkcs11_session(token.module_path, slot_no=slot, token_criteria=criteria)
    except PKCS11Error as error:
        raise SigningConfigurationError(
            f"cannot open PKCS#11 token ({token.module_path}): {type(error).__name__} {error}"
        ) from error


def load_token_signer(
    token: TokenSettings,
    cert_file: str | Path,
    chain_files: Sequence[str | Path] = (),
    tsa_url: str | None = None,
    *,
    level: SignatureLevel | None = None,
    trust_roots: Sequence[asn1_x509.Certificate] = (),
) -> ReportSigner:
    """A signer whose private key stays in a PKCS#11 token; no key file is read.

    The session stays open for the life of the process (the caller caches the signer).
    Raises :class:`SigningConfigurationError` when the module, token, PIN, key or
    certificate cannot be found.
    """
    from pyhanko.sign.pkcs11 import PKCS11Signer

    for path in (token.module_path, cert_file, *chain_files):
        if not Path(path).is_file():
            raise SigningConfigurationError(f"signing file {path} does not exist")
    certificate = load_cert_from_pemder(str(cert_file))
    chain = [cert for path in chain_files for cert in load_certs_from_pemder([str(path)])]
    signer = PKCS11Signer(
        _open_session(token),
        key_label=token.key_label,
        signing_cert=certificate,
        ca_chain=chain,
        # Hash here, sign the digest in the token (CKM_ECDSA): SoftHSM2 and many HSMs
        # offer no combined hash-and-sign mechanism for ECDSA.
        use_raw_mechanism=certificate.public_key.algorithm == "ec",
    )
    try:
        signer._load_objects()  # fail at load time, not at the first report
    except Exception as error:
        raise SigningConfigurationError(
            f"no usable key {token.key_label!r} in the PKCS#11 token: {error}"
        ) from error
    timestamper = HTTPTimeStamper(tsa_url, timeout=10) if tsa_url else None
    return ReportSigner(
        signer=signer, timestamper=timestamper, target_level=level, trust_roots=tuple(trust_roots)
    )


def newest_timestamp_expiry(pdf: bytes) -> dt.datetime | None:
    """When the certificate of the newest document timestamp expires; None without one.

    The archive timestamp chain must be extended (:func:`retimestamp`) before then.
    """
    reader = PdfFileReader(BytesIO(pdf), strict=False)
    stamps = reader.embedded_timestamp_signatures
    if not stamps:
        return None
    expiry: dt.datetime = stamps[-1].signer_cert.not_valid_after
    return expiry
