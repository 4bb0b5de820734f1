"""Benchmark: build and sign a ~20-page claim report; sign alone; verify.

Targets from the issues: a 20-page claim report built and signed in <= 1.5 s; signing alone
<= 100 ms with the signer loaded, also with the key in a PKCS#11 token (SoftHSM2); PAdES
B-LTA (signature timestamp, DSS with OCSP, document timestamp) with a loopback TSA and
OCSP responder in <= 1 s. Each step runs ``--runs`` times and the median is reported.
Peers measured in the same run, for scale:

* signing: pyHanko's ``sign_pdf`` with its defaults, which dry-runs a signature (and, at
  B-T and above, asks the TSA an extra time) to size the reservation (we fix it instead);
* verification: poppler's ``pdfsig`` on the same file (a separate process, so it includes
  process start-up; skipped when pdfsig is not installed).

The loopback TSA and OCSP responder and the SoftHSM2 token set-up are the tests' own
(tests/reports/); SoftHSM2 comes from ``make system-tools``.

Usage: python benchmarks/reports_bench.py [--runs 7]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from io import BytesIO
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from asn1crypto import pem
from asn1crypto import x509 as asn1_x509
from pyhanko.keys import load_cert_from_pemder
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers

from reports.pdf.devca import ensure_dev_pki
from reports.pdf.render import render_pdf
from reports.pdf.samples import sample_claim_document
from reports.pdf.signing import (
    ReportSigner,
    SignatureLevel,
    TokenSettings,
    load_signer,
    load_token_signer,
)
from reports.pdf.verify import verify_pdf
from tests.reports.revocation_server import LoopbackRevocation
from tests.reports.softhsm import (
    USER_PIN,
    configure_softhsm,
    generate_token_key,
    init_token,
    softhsm_module,
)
from tests.reports.tsa_server import LoopbackTsa


def median_seconds(action: Callable[[], object], runs: int) -> tuple[float, float]:
    """(median, minimum) wall time of ``action`` over ``runs`` calls."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times), min(times)


def pyhanko_default_sign(signer: ReportSigner, pdf: bytes) -> bytes:
    """The peer: pyHanko's high-level signing call with no tuning, at the signer's level."""
    long_term = signer.level in (SignatureLevel.B_LT, SignatureLevel.B_LTA)
    metadata = signers.PdfSignatureMetadata(
        field_name="Peer",
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
        embed_validation_info=long_term,
        use_pades_lta=signer.level == SignatureLevel.B_LTA,
        validation_context=signer._metadata("Peer").validation_context,
    )
    output = signers.sign_pdf(
        IncrementalPdfFileWriter(BytesIO(pdf)),
        metadata,
        signer.signer,
        timestamper=signer.timestamper,
    )
    return output.getvalue()


def token_signer(directory: Path) -> ReportSigner:
    """The registry's key generated in a fresh SoftHSM2 token; its certificate from a CA."""
    configure_softhsm(directory)
    init_token("bench")
    pki = ensure_dev_pki(directory / "ca")
    key = generate_token_key(
        pki,
        token_label="bench",
        key_label="report-signing",
        common_name="BENCH TOKEN SIGNER",
        cert_file=directory / "token.crt.pem",
    )
    pin_file = directory / "pin"
    pin_file.write_text(USER_PIN)
    token = TokenSettings(
        module_path=softhsm_module(),
        token_label="bench",
        key_label="report-signing",
        pin_file=str(pin_file),
    )
    return load_token_signer(token, key.cert_file, [pki.chain_file])


def long_term_rows(pdf: bytes, runs: int, directory: Path) -> list[str]:
    """PAdES B-LTA against a loopback TSA and OCSP responder, and SoftHSM2 signing."""
    rows = []
    with LoopbackRevocation() as responder, LoopbackTsa(days=365) as tsa:
        pki = ensure_dev_pki(directory / "lta", revocation_url=responder.url)
        responder.serve(pki)
        signer = load_signer(
            pki.signing_key_file,
            pki.signing_cert_file,
            [pki.chain_file],
            tsa_url=tsa.url,
            level=SignatureLevel.B_LTA,
            trust_roots=[
                load_cert_from_pemder(str(pki.ca_cert_file)),
                asn1_x509.Certificate.load(pem.unarmor(tsa.root_pem)[2]),
            ],
        )
        lta = median_seconds(lambda: signer.sign(pdf), runs)
        peer = median_seconds(lambda: pyhanko_default_sign(signer, pdf), runs)
        rows.append(row("sign B-LTA (TSA + OCSP)", lta, 1.0, "pyHanko sign_pdf defaults", peer[0]))
    hsm = token_signer(directory / "hsm")
    hsm.sign(pdf)  # the first signature pulls the key handle and certificate once
    token = median_seconds(lambda: hsm.sign(pdf), runs)
    peer = median_seconds(lambda: pyhanko_default_sign(hsm, pdf), runs)
    rows.append(
        row("sign B-B, key in SoftHSM2", token, 0.100, "pyHanko sign_pdf defaults", peer[0])
    )
    return rows


def row(
    step: str,
    seconds: tuple[float, float],
    target: float | None,
    peer: str = "",
    peer_seconds: float | None = None,
) -> str:
    median, minimum = seconds
    within = "" if target is None else ("yes" if median <= target else "NO")
    ratio = f"{median / peer_seconds:.2f}" if peer_seconds else ""
    peer_ms = f"{peer_seconds * 1000:.1f}" if peer_seconds else ""
    target_ms = "" if target is None else f"{target * 1000:.0f}"
    return (
        f"| {step:<28} | {median * 1000:9.1f} | {minimum * 1000:7.1f} | {target_ms:>6} "
        f"| {within:>6} | {peer:<26} | {peer_ms:>9} | {ratio:>5} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    runs = parser.parse_args().runs
    document = sample_claim_document()
    with tempfile.TemporaryDirectory() as directory:
        pki = ensure_dev_pki(Path(directory))
        load_time = median_seconds(
            lambda: load_signer(pki.signing_key_file, pki.signing_cert_file, [pki.chain_file]), 3
        )
        signer = load_signer(pki.signing_key_file, pki.signing_cert_file, [pki.chain_file])
        render_pdf(document)  # warm-up: font registration happens once per process
        pdf = render_pdf(document)
        signed = signer.sign(pdf)
        pages = int(PdfFileReader(BytesIO(pdf)).root["/Pages"]["/Count"])
        roots = [pki.ca_cert_file.read_bytes()]
        signed_file = Path(directory) / "signed.pdf"
        signed_file.write_bytes(signed)

        render = median_seconds(lambda: render_pdf(document), runs)
        sign = median_seconds(lambda: signer.sign(pdf), runs)
        peer_sign = median_seconds(lambda: pyhanko_default_sign(signer, pdf), runs)
        both = median_seconds(lambda: signer.sign(render_pdf(document)), runs)
        verify = median_seconds(lambda: verify_pdf(signed, trust_roots=roots), runs)
        pdfsig = shutil.which("pdfsig")
        peer_verify = (
            median_seconds(lambda: subprocess.run([pdfsig, signed_file], capture_output=True), runs)
            if pdfsig
            else None
        )
        long_term = long_term_rows(pdf, runs, Path(directory))

    print(
        f"claim report: {pages} pages, {len(pdf):,} bytes unsigned, {len(signed):,} signed; "
        f"median of {runs} runs (ms)"
    )
    print(
        "| step                         | median ms |  min ms | target | within | peer"
        "                       |   peer ms | ratio |"
    )
    print("|" + "|".join(["---"] * 8) + "|")
    print(row("load signer (once/process)", load_time, None))
    print(row("render (unsigned)", render, None))
    print(row("sign (signer loaded)", sign, 0.100, "pyHanko sign_pdf defaults", peer_sign[0]))
    print(row("render + sign", both, 1.5))
    print(
        row(
            "verify (signature checks)",
            verify,
            None,
            "pdfsig (process)",
            peer_verify[0] if peer_verify else None,
        )
    )
    for line in long_term:
        print(line)


if __name__ == "__main__":
    main()
