"""A development PKI: a throwaway root CA and report-signing certificate, made on first run.

The *development PKI* exists so that a fresh checkout can sign reports without any
set-up. Its names say loudly that it is not to be trusted ("INSECURE DEVELOPMENT CA - NOT
TRUSTED"), so a report signed with it is never mistaken for an official one. Production
sets REPORT_SIGNING_KEY_FILE / REPORT_SIGNING_CERT_FILE / REPORT_SIGNING_CHAIN_FILE instead.

Keys are ECDSA P-256 (fast to generate and to sign with); private keys are written
unencrypted with mode 0600 because they protect nothing of value.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

CA_COMMON_NAME = "INSECURE DEVELOPMENT CA - NOT TRUSTED"
SIGNER_COMMON_NAME = "INSECURE DEVELOPMENT REPORT SIGNER - NOT TRUSTED"
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
        )

    def files(self) -> tuple[Path, ...]:
        """Every file the PKI consists of."""
        return (
            self.ca_cert_file,
            self.ca_key_file,
            self.signing_key_file,
            self.signing_cert_file,
            self.chain_file,
        )


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANISATION),
        ]
    )


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    # Create with 0600 from the start: a chmod after writing leaves a readable window.
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(pem)


def _certificate(
    *,
    subject: str,
    issuer: x509.Name,
    public_key: ec.EllipticCurvePublicKey,
    issuer_key: ec.EllipticCurvePrivateKey,
    is_ca: bool,
    days: int,
) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
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
    return builder.sign(issuer_key, hashes.SHA256())


def _create(pki: DevPki) -> None:
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = _certificate(
        subject=CA_COMMON_NAME,
        issuer=_name(CA_COMMON_NAME),
        public_key=ca_key.public_key(),
        issuer_key=ca_key,
        is_ca=True,
        days=3650,
    )
    signer_key = ec.generate_private_key(ec.SECP256R1())
    signer_cert = _certificate(
        subject=SIGNER_COMMON_NAME,
        issuer=ca_cert.subject,
        public_key=signer_key.public_key(),
        issuer_key=ca_key,
        is_ca=False,
        days=825,
    )
    ca_pem = ca_cert.public_bytes(serialization.Encoding.PEM)
    _write_key(pki.ca_key_file, ca_key)
    _write_key(pki.signing_key_file, signer_key)
    pki.signing_cert_file.write_bytes(signer_cert.public_bytes(serialization.Encoding.PEM))
    pki.chain_file.write_bytes(ca_pem)
    # The CA certificate is written last: its presence marks a complete PKI.
    pki.ca_cert_file.write_bytes(ca_pem)


def ensure_dev_pki(directory: Path) -> DevPki:
    """Return the development PKI in ``directory``, creating it if it is incomplete.

    Idempotent: an existing complete PKI is reused unchanged, so reports signed earlier keep
    verifying against the same root. A partial one (an interrupted first run) is replaced.
    """
    pki = DevPki.in_directory(directory)
    if all(path.is_file() for path in pki.files()):
        return pki
    directory.mkdir(parents=True, exist_ok=True)
    _create(pki)
    return pki
