"""A loopback RFC 3161 timestamp authority for tests of PAdES B-T signing.

``LoopbackTsa`` owns a throwaway RSA root and a TSA certificate (extended key usage
``timeStamping``, critical, as RFC 3161 section 2.3 requires) and answers
``application/timestamp-query`` POSTs on 127.0.0.1 from a daemon thread. Tokens are built
by pyHanko's ``DummyTimeStamper`` (a real signed TSTInfo, RSA only); the HTTP layer is
the standard library's, so the signer under test talks to it exactly as to a real TSA.
"""

from __future__ import annotations

import datetime as dt
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType

from asn1crypto import keys, tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from pyhanko.sign.timestamps import DummyTimeStamper

TSA_ROOT_NAME = "TEST TSA ROOT - NOT TRUSTED"
TSA_NAME = "TEST TIMESTAMP AUTHORITY - NOT TRUSTED"


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
    return builder.sign(signing_key, hashes.SHA256())


class LoopbackTsa:
    """An RFC 3161 TSA on an ephemeral loopback port; use as a context manager.

    ``days`` is how long its certificates are valid: a long-lived one stands in for the
    renewed archive timestamps that keep a B-LTA report verifiable for decades.
    """

    def __init__(self, *, days: int = 2) -> None:
        root_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        tsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        root = _issue(TSA_ROOT_NAME, TSA_ROOT_NAME, root_key.public_key(), root_key, is_ca=True, days=days)
        tsa = _issue(TSA_NAME, TSA_ROOT_NAME, tsa_key.public_key(), root_key, is_ca=False, days=days)
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
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """The URL to give the signer as REPORT_TSA_URL."""
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/tsa"

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        authority = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                request = tsp.TimeStampReq.load(self.rfile.read(length))
                reply = authority.stamper.request_tsa_response(request).dump()
                authority.requests_served += 1
                self.send_response(200)
                self.send_header("Content-Type", "application/timestamp-reply")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, format: str, *args: object) -> None:
                """Keep test output quiet."""

        return Handler

    def __enter__(self) -> LoopbackTsa:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
