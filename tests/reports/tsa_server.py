"""A loopback RFC 3161 timestamp authority for tests of PAdES B-T signing.

``LoopbackTsa`` owns a throwaway RSA root and a TSA certificate (extended key usage
``timeStamping``, critical, as RFC 3161 section 2.3 requires) and answers
``application/timestamp-query`` POSTs on 127.0.0.1 from a daemon thread. Tokens are built
by pyHanko's ``DummyTimeStamper`` (a real signed TSTInfo, RSA only); the HTTP layer is
the standard library's, so the signer under test talks to it exactly as to a real TSA.
"""

from __future__ import annotations

import datetime as dt

from asn1crypto import keys, tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from pyhanko.sign.timestamps import DummyTimeStamper

from tests.reports.loopback import LoopbackServer, QuietHandler

TSA_ROOT_NAME = "TEST TSA ROOT - NOT TRUSTED"
TSA_NAME = "TEST TIMESTAMP AUTHORITY - NOT TRUSTED"
ROOT_DAYS = 25 * 365


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _issue(
    subject: str,
    issuer: str,
    public_key: rsa.RSAPublicKey,
    signing_key: rsa.RSAPrivateKey,
    *,
    is_ca: bool,
    days: int,
    crl_url: str | None = None,
) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name(issuer))
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=is_ca, path_length=None), critical=True)
    )
    if not is_ca:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True
        )
    if crl_url:
        point = x509.DistributionPoint([x509.UniformResourceIdentifier(crl_url)], None, None, None)
        builder = builder.add_extension(x509.CRLDistributionPoints([point]), critical=False)
    return builder.sign(signing_key, hashes.SHA256())


class LoopbackTsa(LoopbackServer):
    """An RFC 3161 TSA on an ephemeral loopback port; use as a context manager.

    ``days`` is how long its TSA certificate is valid (its root lives at least 25 years,
    as real TSA roots outlive their signing certificates): a long-lived one stands in for
    the renewed archive timestamps that keep a B-LTA report verifiable for decades.
    With ``publish_crl`` its certificate names the CRL it serves (GET): the validation
    material a renewal embeds. Without, it declares no revocation source, so a check
    at a simulated future time does not ask for a CRL fresh at that time.
    """

    def __init__(self, *, days: int = 2, publish_crl: bool = True) -> None:
        # Bound first: the TSA certificate names this server's CRL, which long-term
        # validation needs once the certificate has expired.
        super().__init__()
        # A name of its own, so that two authorities in one test are never confused.
        root_name = f"{TSA_ROOT_NAME} {x509.random_serial_number() % 10**6}"
        root_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        tsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        root = _issue(
            root_name, root_name, root_key.public_key(), root_key, is_ca=True, days=ROOT_DAYS
        )
        tsa = _issue(
            TSA_NAME,
            root_name,
            tsa_key.public_key(),
            root_key,
            is_ca=False,
            days=days,
            crl_url=self.url.replace("/tsa", "/crl") if publish_crl else None,
        )
        now = dt.datetime.now(dt.UTC)
        self.crl = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(root.subject)
            .last_update(now - dt.timedelta(minutes=1))
            .next_update(now + dt.timedelta(days=7))
            .sign(root_key, hashes.SHA256())
            .public_bytes(serialization.Encoding.DER)
        )
        self.root_pem = root.public_bytes(serialization.Encoding.PEM)
        der_key = tsa_key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        self.stamper = DummyTimeStamper(
            tsa_cert=asn1_x509.Certificate.load(tsa.public_bytes(serialization.Encoding.DER)),
            tsa_key=keys.PrivateKeyInfo.load(der_key),
        )
        self.requests_served = 0

    @property
    def url(self) -> str:
        """The URL to give the signer as REPORT_TSA_URL."""
        return f"{self.base_url}/tsa"

    def _handler_class(self) -> type[QuietHandler]:
        authority = self

        class Handler(QuietHandler):
            def do_GET(self) -> None:
                self.reply(authority.crl, "application/pkix-crl")

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                request = tsp.TimeStampReq.load(self.rfile.read(length))
                reply = authority.stamper.request_tsa_response(request).dump()
                authority.requests_served += 1
                self.reply(reply, "application/timestamp-reply")

        return Handler
