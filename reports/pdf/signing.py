"""PAdES signing of rendered reports with pyHanko.

A *PAdES B-B* signature (ETSI EN 319 142-1) is a CMS signature over the whole PDF except
the signature value itself, carrying the signer's certificate as a signed attribute.
*PAdES B-T* adds an RFC 3161 timestamp token over the signature value, proving the
signature existed at that time. The signer (key, certificate, chain, timestamp client) is
loaded once per worker process by the caller, e.g.::

    @functools.lru_cache(maxsize=1)
    def report_signer() -> ReportSigner:
        return load_signer(KEY_FILE, CERT_FILE, CHAIN_FILES, tsa_url=TSA_URL)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.x509 import load_der_x509_certificate
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers
from pyhanko.sign.timestamps import HTTPTimeStamper, TimeStamper

SIGNATURE_FIELD = "RegistrySignature"
SIGNATURE_REASON = "Issued by the Evidence Registry"
# Room for the CMS blob inside /Contents. Fixing it skips pyHanko's dry-run signature (and,
# for B-T, a second timestamp request) that it would otherwise use to estimate the size.
# A B-B signature with a two-certificate chain is ~2 KB; a timestamp token adds ~2-6 KB.
BYTES_RESERVED_BB = 12 * 1024
BYTES_RESERVED_BT = 24 * 1024


class SigningConfigurationError(RuntimeError):
    """The signing key, certificate or chain could not be loaded or do not belong together."""


@dataclass(frozen=True)
class ReportSigner:
    """A loaded signing identity that turns unsigned report PDFs into PAdES-signed ones."""

    signer: signers.SimpleSigner
    timestamper: TimeStamper | None = None

    @property
    def level(self) -> str:
        """The PAdES baseline level this signer produces."""
        return "B-T" if self.timestamper else "B-B"

    def sign(self, pdf: bytes) -> bytes:
        """Return ``pdf`` with one PAdES signature appended as an incremental update."""
        metadata = signers.PdfSignatureMetadata(
            field_name=SIGNATURE_FIELD,
            md_algorithm="sha256",
            subfilter=fields.SigSeedSubFilter.PADES,
            reason=SIGNATURE_REASON,
        )
        pdf_signer = signers.PdfSigner(metadata, signer=self.signer, timestamper=self.timestamper)
        reserved = BYTES_RESERVED_BT if self.timestamper else BYTES_RESERVED_BB
        output = pdf_signer.sign_pdf(
            IncrementalPdfFileWriter(BytesIO(pdf)), bytes_reserved=reserved
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
) -> ReportSigner:
    """Load a PEM (or DER) key, certificate and chain; with ``tsa_url``, sign at PAdES B-T.

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
    return ReportSigner(signer=signer, timestamper=timestamper)
