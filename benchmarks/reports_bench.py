"""Benchmark: build and sign a ~20-page claim report; sign alone; verify.

Targets from the issue: a 20-page claim report built and signed in <= 1.5 s; signing alone
<= 100 ms with the signer loaded. Each step runs ``--runs`` times and the median is
reported. Peers measured in the same run, for scale:

* signing: pyHanko's ``sign_pdf`` with its defaults, which dry-runs a signature to size
  the reservation (we fix the reservation instead);
* verification: poppler's ``pdfsig`` on the same file (a separate process, so it includes
  process start-up; skipped when pdfsig is not installed).

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

from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers

from reports.pdf.devca import ensure_dev_pki
from reports.pdf.render import render_pdf
from reports.pdf.samples import sample_claim_document
from reports.pdf.signing import ReportSigner, load_signer
from reports.pdf.verify import verify_pdf


def median_seconds(action: Callable[[], object], runs: int) -> tuple[float, float]:
    """(median, minimum) wall time of ``action`` over ``runs`` calls."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times), min(times)


def pyhanko_default_sign(signer: ReportSigner, pdf: bytes) -> bytes:
    """The peer: pyHanko's high-level signing call with no tuning."""
    metadata = signers.PdfSignatureMetadata(
        field_name="Peer", md_algorithm="sha256", subfilter=fields.SigSeedSubFilter.PADES
    )
    output = signers.sign_pdf(IncrementalPdfFileWriter(BytesIO(pdf)), metadata, signer.signer)
    return output.getvalue()


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
            "verify (4 checks)",
            verify,
            None,
            "pdfsig (process)",
            peer_verify[0] if peer_verify else None,
        )
    )


if __name__ == "__main__":
    main()
