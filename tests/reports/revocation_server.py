"""A loopback CRL and OCSP responder for the development PKI, for tests of B-LT/B-LTA.

``LoopbackRevocation`` binds an ephemeral 127.0.0.1 port first (the certificates must name
its URL), then serves ``GET /crl`` and ``POST /ocsp`` from the PKI given to :meth:`serve`,
through :func:`reports.pdf.devca.dev_pki_crl` and :func:`~reports.pdf.devca.dev_pki_ocsp_response`.
The HTTP layer is the standard library's: pyHanko fetches from it as from a real CA.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType

from reports.pdf.devca import DevPki, dev_pki_crl, dev_pki_ocsp_response


class LoopbackRevocation:
    """CRL and OCSP for one development PKI on an ephemeral loopback port."""

    def __init__(self) -> None:
        self.pki: DevPki | None = None
        self.ocsp_requests = 0
        self.crl_requests = 0
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """The base URL to create the PKI with (``<url>/crl``, ``<url>/ocsp``)."""
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def serve(self, pki: DevPki) -> None:
        self.pki = pki

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        responder = self

        class Handler(BaseHTTPRequestHandler):
            def _reply(self, body: bytes, content_type: str) -> None:
                self.send_response(200)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                if self.path != "/crl" or responder.pki is None:
                    self.send_error(404)
                    return
                responder.crl_requests += 1
                self._reply(dev_pki_crl(responder.pki), "application/pkix-crl")

            def do_POST(self) -> None:
                if self.path != "/ocsp" or responder.pki is None:
                    self.send_error(404)
                    return
                length = int(self.headers.get("Content-Length", "0"))
                answer = dev_pki_ocsp_response(responder.pki, self.rfile.read(length))
                responder.ocsp_requests += 1
                self._reply(answer, "application/ocsp-response")

            def log_message(self, format: str, *args: object) -> None:
                """Keep test output quiet."""

        return Handler

    def __enter__(self) -> LoopbackRevocation:
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
