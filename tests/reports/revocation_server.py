"""A loopback CRL and OCSP responder for the development PKI, for tests of B-LT/B-LTA.

``LoopbackRevocation`` binds an ephemeral 127.0.0.1 port first (the certificates must name
its URL), then serves ``GET /crl`` and ``POST /ocsp`` from the PKI given to :meth:`serve`,
through :func:`reports.pdf.devca.dev_pki_crl` and :func:`~reports.pdf.devca.dev_pki_ocsp_response`.
The HTTP layer is the standard library's: pyHanko fetches from it as from a real CA.
"""

from __future__ import annotations

from reports.pdf.devca import DevPki, dev_pki_crl, dev_pki_ocsp_response
from tests.reports.loopback import LoopbackServer, QuietHandler


class LoopbackRevocation(LoopbackServer):
    """CRL and OCSP for one development PKI on an ephemeral loopback port."""

    def __init__(self) -> None:
        self.pki: DevPki | None = None
        self.ocsp_requests = 0
        self.crl_requests = 0
        super().__init__()

    @property
    def url(self) -> str:
        """The base URL to create the PKI with (``<url>/crl``, ``<url>/ocsp``)."""
        return self.base_url

    def serve(self, pki: DevPki) -> None:
        self.pki = pki

    def _handler_class(self) -> type[QuietHandler]:
        responder = self

        class Handler(QuietHandler):
            def do_GET(self) -> None:
                if self.path != "/crl" or responder.pki is None:
                    self.send_error(404)
                    return
                responder.crl_requests += 1
                self.reply(dev_pki_crl(responder.pki), "application/pkix-crl")

            def do_POST(self) -> None:
                if self.path != "/ocsp" or responder.pki is None:
                    self.send_error(404)
                    return
                length = int(self.headers.get("Content-Length", "0"))
                answer = dev_pki_ocsp_response(responder.pki, self.rfile.read(length))
                responder.ocsp_requests += 1
                self.reply(answer, "application/ocsp-response")

        return Handler
