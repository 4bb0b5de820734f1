"""Is a signer's certificate revoked, and since when? (RFC 6960 OCSP, RFC 5280 CRLs.)

The evidence is every OCSP response and CRL the report carries in its DSS and, when the
caller allows it, a fresh OCSP answer (or CRL) fetched from the URLs in the certificate.
Only evidence signed by the certificate's issuer (or by a responder the issuer delegated
to, RFC 6960 4.2.2.2) counts; anything else is ignored rather than believed.

:func:`revocation_status` answers with the earliest revocation time found, so the
verifier can say whether the signer was revoked before or after the signature's time.
"""

from __future__ import annotations

import datetime as dt
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509 import ocsp
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID

FETCH_TIMEOUT_SECONDS = 10


@dataclass(frozen=True)
class RevocationStatus:
    """What the evidence says about one certificate.

    ``revoked_at`` is set when any trustworthy evidence lists it as revoked;
    ``evidence`` counts the OCSP responses and CRLs that spoke about it at all.
    """

    revoked_at: dt.datetime | None
    evidence: int
    problems: tuple[str, ...] = ()

    @property
    def known(self) -> bool:
        return self.evidence > 0


def declares_revocation_source(certificate: x509.Certificate) -> bool:
    """True when the certificate names an OCSP responder or a CRL distribution point."""
    return bool(_ocsp_urls(certificate) or _crl_urls(certificate))


def _extension(certificate: x509.Certificate, kind: type[x509.ExtensionType]) -> object | None:
    try:
        return certificate.extensions.get_extension_for_class(kind).value
    except x509.ExtensionNotFound:
        return None


def _ocsp_urls(certificate: x509.Certificate) -> list[str]:
    access = _extension(certificate, x509.AuthorityInformationAccess)
    if not isinstance(access, x509.AuthorityInformationAccess):
        return []
    return [
        str(item.access_location.value)
        for item in access
        if item.access_method == AuthorityInformationAccessOID.OCSP
    ]


def _crl_urls(certificate: x509.Certificate) -> list[str]:
    points = _extension(certificate, x509.CRLDistributionPoints)
    if not isinstance(points, x509.CRLDistributionPoints):
        return []
    return [
        str(name.value)
        for point in points
        for name in point.full_name or ()
        if isinstance(name, x509.UniformResourceIdentifier)
    ]


def _signature_verifies(
    key: object, signature: bytes, data: bytes, algorithm: hashes.HashAlgorithm | None
) -> bool:
    if algorithm is None:
        return False
    try:
        if isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, data, ec.ECDSA(algorithm))
        elif isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, data, padding.PKCS1v15(), algorithm)
        else:
            return False
    except InvalidSignature:
        return False
    return True


def _ocsp_signer_key(response: ocsp.OCSPResponse, issuer: x509.Certificate) -> object | None:
    """The key that may sign OCSP answers about ``issuer``'s certificates, if authorised."""
    for responder in response.certificates:
        delegated = _extension(responder, x509.ExtendedKeyUsage)
        if not isinstance(delegated, x509.ExtendedKeyUsage):
            continue
        if ExtendedKeyUsageOID.OCSP_SIGNING not in delegated:
            continue
        try:
            responder.verify_directly_issued_by(issuer)
        except (ValueError, TypeError, InvalidSignature):
            continue
        return responder.public_key()
    return issuer.public_key()


def _ocsp_finding(
    data: bytes, certificate: x509.Certificate, issuer: x509.Certificate
) -> tuple[bool, dt.datetime | None]:
    """(speaks about the certificate, revocation time) from one OCSP response."""
    try:
        response = ocsp.load_der_ocsp_response(data)
        if response.response_status != ocsp.OCSPResponseStatus.SUCCESSFUL:
            return False, None
        key = _ocsp_signer_key(response, issuer)
        if not _signature_verifies(
            key, response.signature, response.tbs_response_bytes, response.signature_hash_algorithm
        ):
            return False, None
        for single in response.responses:
            if single.serial_number != certificate.serial_number:
                continue
            if single.certificate_status == ocsp.OCSPCertStatus.REVOKED:
                return True, single.revocation_time_utc
            return True, None
    except ValueError:
        pass
    return False, None


def _crl_finding(
    data: bytes, certificate: x509.Certificate, issuer: x509.Certificate
) -> tuple[bool, dt.datetime | None]:
    """(speaks about the certificate, revocation time) from one CRL."""
    try:
        crl = x509.load_der_x509_crl(data)
    except ValueError:
        return False, None
    if crl.issuer != issuer.subject or not crl.is_signature_valid(issuer.public_key()):  # type: ignore[arg-type]
        return False, None
    entry = crl.get_revoked_certificate_by_serial_number(certificate.serial_number)
    return True, entry.revocation_date_utc if entry is not None else None


def _fetch(url: str, body: bytes | None, content_type: str) -> bytes:
    # The caller fetches only for certificates that chain to the registry's trust roots:
    # a URL from an uploaded file's own certificate would let anyone make us fetch anything.
    request = urllib.request.Request(url, data=body, headers={"Content-Type": content_type})
    with urllib.request.urlopen(request, timeout=FETCH_TIMEOUT_SECONDS) as reply:
        return bytes(reply.read())


def fetch_revocation_evidence(
    certificate: x509.Certificate, issuer: x509.Certificate
) -> tuple[list[bytes], list[bytes], list[str]]:
    """Fresh (OCSP responses, CRLs, problems) from the certificate's own URLs."""
    ocsps: list[bytes] = []
    crls: list[bytes] = []
    problems: list[str] = []
    request = ocsp.OCSPRequestBuilder().add_certificate(certificate, issuer, hashes.SHA256())
    body = request.build().public_bytes(Encoding.DER)
    for url in _ocsp_urls(certificate):
        try:
            ocsps.append(_fetch(url, body, "application/ocsp-request"))
        except OSError as error:
            problems.append(f"OCSP {url}: {error}")
    if not ocsps:
        for url in _crl_urls(certificate):
            try:
                crls.append(_fetch(url, None, "application/pkix-crl"))
            except OSError as error:
                problems.append(f"CRL {url}: {error}")
    return ocsps, crls, problems


def revocation_status(
    certificate: x509.Certificate,
    issuer: x509.Certificate,
    *,
    ocsp_responses: Iterable[bytes] = (),
    crls: Iterable[bytes] = (),
    problems: Iterable[str] = (),
) -> RevocationStatus:
    """Combine every piece of evidence: the earliest revocation time wins."""
    findings = [_ocsp_finding(data, certificate, issuer) for data in ocsp_responses]
    findings += [_crl_finding(data, certificate, issuer) for data in crls]
    times = [when for speaks, when in findings if speaks and when is not None]
    return RevocationStatus(
        revoked_at=min(times) if times else None,
        evidence=sum(1 for speaks, _ in findings if speaks),
        problems=tuple(problems),
    )
