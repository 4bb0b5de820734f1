"""A development PKI: a throwaway root CA, report signer and countersigner, made on first run.

The *development PKI* exists so that a fresh checkout can sign reports without any
set-up. Its names say loudly that it is not to be trusted ("INSECURE DEVELOPMENT CA - NOT
TRUSTED"), so a report signed with it is never mistaken for an official one. Production
sets REPORT_SIGNING_KEY_FILE / REPORT_SIGNING_CERT_FILE / REPORT_SIGNING_CHAIN_FILE (or a
PKCS#11 token) instead.

Created with a ``revocation_url``, every certificate it issues names ``<url>/crl`` as its
CRL distribution point and ``<url>/ocsp`` as its OCSP responder, and the PKI answers both:
:func:`dev_pki_crl` builds the current CRL and :func:`dev_pki_ocsp_response` answers an
OCSP request (RFC 6960), from the revocations recorded by :func:`dev_pki_revoke`. A small
HTTP server (the tests start one) only has to pass bytes through.

Keys are ECDSA P-256 (fast to generate and to sign with); private keys are written
unencrypted with mode 0600 because they protect nothing of value.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.types import CertificatePublicKeyTypes
from cryptography.x509 import ocsp
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID, NameOID

CA_COMMON_NAME = "INSECURE DEVELOPMENT CA - NOT TRUSTED"
SIGNER_COMMON_NAME = "INSECURE DEVELOPMENT REPORT SIGNER - NOT TRUSTED"
COUNTERSIGNER_COMMON_NAME = "INSECURE DEVELOPMENT STANDARDS BODY - NOT TRUSTED"
OCSP_RESPONDER_COMMON_NAME = "INSECURE DEVELOPMENT OCSP RESPONDER - NOT TRUSTED"
# How long a CRL or OCSP answer may be relied on before a fresh one is needed.
REVOCATION_INFO_VALIDITY = dt.timedelta(days=7)
ORGANISATION = "Evidence Registry (development only)"


@dataclass(frozen=True)
class DevPki:
    """Paths of the development PKI's files (PEM)."""

    directory: Path
    ca_cert_file: Path
    ca_key_file: Path
    signing_key_file: Path
    signing_cert_file: Path
    chain_file: Path  # the CA certificate, as the signer's chain
    countersigning_key_file: Path
    countersigning_cert_file: Path
    ocsp_key_file: Path
    ocsp_cert_file: Path
    revocations_file: Path  # {"<serial>": "<ISO time>"}; absent while nothing is revoked

    @classmethod
    def in_directory(cls, directory: Path) -> DevPki:
        """The file layout inside ``directory`` (nothing is created)."""
        return cls(
            directory=directory,
            ca_cert_file=directory / "dev-ca.crt.pem",
            ca_key_file=directory / "dev-ca.key.pem",
            signing_key_file=directory / "dev-signer.key.pem",
            signing_cert_file=directory / "dev-signer.crt.pem",
            chain_file=directory / "dev-chain.pem",
            countersigning_key_file=directory / "dev-countersigner.key.pem",
            countersigning_cert_file=directory / "dev-countersigner.crt.pem",
            ocsp_key_file=directory / "dev-ocsp.key.pem",
            ocsp_cert_file=directory / "dev-ocsp.crt.pem",
            revocations_file=directory / "dev-revocations.json",
        )

    def files(self) -> tuple[Path, ...]:
        """Every file the PKI consists of."""
        return (
            self.ca_cert_file,
            self.ca_key_file,
            self.signing_key_file,
            self.signing_cert_file,
            self.chain_file,
            self.countersigning_key_file,
            self.countersigning_cert_file,
            self.ocsp_key_file,
            self.ocsp_cert_file,
        )


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANISATION),
        ]
    )


def _write_file(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Write ``path`` whole or not at all: a reader never sees a half-written file."""
    # mkstemp creates the file 0600, so a key is never readable by others, even briefly.
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    _write_file(path, pem, 0o600)


def _write_certificate(path: Path, certificate: x509.Certificate) -> None:
    _write_file(path, certificate.public_bytes(serialization.Encoding.PEM))


def _revocation_pointers(
    builder: x509.CertificateBuilder, revocation_url: str
) -> x509.CertificateBuilder:
    crl_point = x509.DistributionPoint(
        full_name=[x509.UniformResourceIdentifier(f"{revocation_url}/crl")],
        relative_name=None,
        reasons=None,
        crl_issuer=None,
    )
    responder = x509.AccessDescription(
        AuthorityInformationAccessOID.OCSP,
        x509.UniformResourceIdentifier(f"{revocation_url}/ocsp"),
    )
    return builder.add_extension(
        x509.CRLDistributionPoints([crl_point]), critical=False
    ).add_extension(x509.AuthorityInformationAccess([responder]), critical=False)


def _certificate(
    *,
    subject: str,
    issuer: x509.Name,
    public_key: CertificatePublicKeyTypes,
    issuer_key: ec.EllipticCurvePrivateKey,
    is_ca: bool,
    days: int,
    revocation_url: str | None = None,
    not_before: dt.datetime | None = None,
) -> x509.Certificate:
    now = not_before or dt.datetime.now(dt.UTC)
    usage = x509.KeyUsage(
        digital_signature=not is_ca,
        content_commitment=not is_ca,  # non-repudiation: what document signatures assert
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=is_ca,
        crl_sign=is_ca,
        encipher_only=False,
        decipher_only=False,
    )
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))  # tolerate small clock skew
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=is_ca, path_length=0 if is_ca else None), True)
        .add_extension(usage, critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
            critical=False,
        )
    )
    if revocation_url and not is_ca:
        builder = _revocation_pointers(builder, revocation_url)
    return builder.sign(issuer_key, hashes.SHA256())


def _create_ocsp_responder(
    pki: DevPki, ca_cert: x509.Certificate, ca_key: ec.EllipticCurvePrivateKey
) -> None:
    """A delegated OCSP signer (RFC 6960 4.2.2.2) marked id-pkix-ocsp-nocheck.

    Responses signed by the CA itself would be valid too, but long-term validation
    (ETSI EN 319 102-1 time-sliding) then asks for the revocation status of the responder,
    which a delegated responder with "no check" exempts.
    """
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(_name(OCSP_RESPONDER_COMMON_NAME))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.OCSP_SIGNING]), critical=True)
        .add_extension(x509.OCSPNoCheck(), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    _write_key(pki.ocsp_key_file, key)
    _write_certificate(pki.ocsp_cert_file, certificate)


def _create(pki: DevPki, revocation_url: str | None) -> None:
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = _certificate(
        subject=CA_COMMON_NAME,
        issuer=_name(CA_COMMON_NAME),
        public_key=ca_key.public_key(),
        issuer_key=ca_key,
        is_ca=True,
        days=3650,
    )
    _write_key(pki.ca_key_file, ca_key)
    for subject, key_file, cert_file in (
        (SIGNER_COMMON_NAME, pki.signing_key_file, pki.signing_cert_file),
        (COUNTERSIGNER_COMMON_NAME, pki.countersigning_key_file, pki.countersigning_cert_file),
    ):
        key = ec.generate_private_key(ec.SECP256R1())
        certificate = _certificate(
            subject=subject,
            issuer=ca_cert.subject,
            public_key=key.public_key(),
            issuer_key=ca_key,
            is_ca=False,
            days=825,
            revocation_url=revocation_url,
        )
        _write_key(key_file, key)
        _write_certificate(cert_file, certificate)
    _create_ocsp_responder(pki, ca_cert, ca_key)
    _write_certificate(pki.chain_file, ca_cert)
    # The CA certificate is written last: its presence marks a complete PKI.
    _write_certificate(pki.ca_cert_file, ca_cert)


def ensure_dev_pki(directory: Path, *, revocation_url: str | None = None) -> DevPki:
    """Return the development PKI in ``directory``, creating it if it is incomplete.

    Idempotent: an existing complete PKI is reused unchanged, so reports signed earlier keep
    verifying against the same root. A partial one (an interrupted first run) is replaced.
    ``revocation_url`` (used only when creating) is where its CRL and OCSP are served.
    """
    pki = DevPki.in_directory(directory)
    if all(path.is_file() for path in pki.files()):
        return pki
    directory.mkdir(parents=True, exist_ok=True)
    # Processes that start at once (a worker's pool children, the web server) must not each
    # write their own keys over one another's: the first creates, the others wait and reuse.
    with open(directory / ".create.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not all(path.is_file() for path in pki.files()):
            _create(pki, revocation_url)
    return pki


def _load_ca(pki: DevPki) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    certificate = x509.load_pem_x509_certificate(pki.ca_cert_file.read_bytes())
    key = serialization.load_pem_private_key(pki.ca_key_file.read_bytes(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise TypeError(f"{pki.ca_key_file} is not the development CA's EC key")
    return certificate, key


def dev_pki_issue(
    pki: DevPki,
    *,
    common_name: str,
    public_key: CertificatePublicKeyTypes,
    days: int = 825,
    revocation_url: str | None = None,
    not_before: dt.datetime | None = None,
) -> x509.Certificate:
    """A signing certificate from the development CA for a key held elsewhere (a token)."""
    ca_cert, ca_key = _load_ca(pki)
    return _certificate(
        subject=common_name,
        issuer=ca_cert.subject,
        public_key=public_key,
        issuer_key=ca_key,
        is_ca=False,
        days=days,
        revocation_url=revocation_url,
        not_before=not_before,
    )


def _revocations(pki: DevPki) -> dict[int, dt.datetime]:
    if not pki.revocations_file.is_file():
        return {}
    recorded = json.loads(pki.revocations_file.read_text())
    return {int(serial): dt.datetime.fromisoformat(when) for serial, when in recorded.items()}


def dev_pki_revoke(pki: DevPki, certificate: x509.Certificate, *, at: dt.datetime) -> None:
    """Record ``certificate`` as revoked from ``at`` (key compromise) in CRL and OCSP."""
    revoked = _revocations(pki)
    revoked[certificate.serial_number] = at
    recorded = {str(serial): when.isoformat() for serial, when in revoked.items()}
    _write_file(pki.revocations_file, json.dumps(recorded).encode())


def dev_pki_crl(pki: DevPki, *, now: dt.datetime | None = None) -> bytes:
    """The CA's current CRL (DER), listing every revocation recorded so far."""
    ca_cert, ca_key = _load_ca(pki)
    now = now or dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca_cert.subject)
        .last_update(now - dt.timedelta(minutes=1))
        .next_update(now + REVOCATION_INFO_VALIDITY)
    )
    for serial, when in _revocations(pki).items():
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(when).build()
        )
    crl = builder.sign(ca_key, hashes.SHA256())
    return crl.public_bytes(serialization.Encoding.DER)


def _issued_certificates(pki: DevPki) -> dict[int, x509.Certificate]:
    """Every certificate this PKI knows it issued: its own files, plus any issued_*.pem."""
    files = [pki.signing_cert_file, pki.countersigning_cert_file]
    files += sorted(pki.directory.glob("issued-*.crt.pem"))
    certificates = (x509.load_pem_x509_certificate(path.read_bytes()) for path in files)
    return {certificate.serial_number: certificate for certificate in certificates}


def dev_pki_remember(pki: DevPki, certificate: x509.Certificate) -> None:
    """Let the OCSP responder answer for a certificate issued by :func:`dev_pki_issue`."""
    path = pki.directory / f"issued-{certificate.serial_number:x}.crt.pem"
    _write_certificate(path, certificate)


def dev_pki_ocsp_response(
    pki: DevPki, request_der: bytes, *, now: dt.datetime | None = None
) -> bytes:
    """The DER OCSP response to ``request_der``, signed by the CA itself (RFC 6960 4.2.2.2)."""
    try:
        request = ocsp.load_der_ocsp_request(request_der)
    except ValueError:
        return ocsp.OCSPResponseBuilder.build_unsuccessful(
            ocsp.OCSPResponseStatus.MALFORMED_REQUEST
        ).public_bytes(serialization.Encoding.DER)
    ca_cert, _ = _load_ca(pki)
    certificate = _issued_certificates(pki).get(request.serial_number)
    if certificate is None:
        return ocsp.OCSPResponseBuilder.build_unsuccessful(
            ocsp.OCSPResponseStatus.UNAUTHORIZED
        ).public_bytes(serialization.Encoding.DER)
    now = now or dt.datetime.now(dt.UTC)
    revoked_at = _revocations(pki).get(request.serial_number)
    builder = ocsp.OCSPResponseBuilder().add_response(
        cert=certificate,
        issuer=ca_cert,
        algorithm=request.hash_algorithm,
        cert_status=ocsp.OCSPCertStatus.REVOKED if revoked_at else ocsp.OCSPCertStatus.GOOD,
        this_update=now - dt.timedelta(minutes=1),
        next_update=now + REVOCATION_INFO_VALIDITY,
        revocation_time=revoked_at,
        revocation_reason=x509.ReasonFlags.key_compromise if revoked_at else None,
    )
    responder_cert = x509.load_pem_x509_certificate(pki.ocsp_cert_file.read_bytes())
    responder_key = serialization.load_pem_private_key(
        pki.ocsp_key_file.read_bytes(), password=None
    )
    if not isinstance(responder_key, ec.EllipticCurvePrivateKey):
        raise TypeError(f"{pki.ocsp_key_file} is not the OCSP responder's EC key")
    builder = builder.responder_id(ocsp.OCSPResponderEncoding.HASH, responder_cert)
    builder = builder.certificates([responder_cert])
    for extension in request.extensions:
        if isinstance(extension.value, x509.OCSPNonce):
            builder = builder.add_extension(extension.value, critical=False)
    response = builder.sign(responder_key, hashes.SHA256())
    return response.public_bytes(serialization.Encoding.DER)
