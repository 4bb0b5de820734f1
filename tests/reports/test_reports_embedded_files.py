"""The verifier refuses an embedded file over a bounded size before inflating it: a
Flate bomb posted to the public verify endpoint once drove a worker to 706 MB."""

from __future__ import annotations

import logging
import tracemalloc
import zlib
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from pyhanko.pdf_utils import generic

from reports import services
from reports.documents import build_document
from reports.models import Report
from reports.pdf.embedded_files import EmbeddedFileError, bounded_stream_data
from reports.pdf.render import render_pdf
from reports.services import ReportSubject, report_request, report_run
from tests.reports.report_records import make_incident

MIB = 1024 * 1024


def flate_bomb(decoded_bytes: int) -> bytes:
    """Zeros deflated chunk by chunk, so the test itself never holds them."""
    deflater = zlib.compressobj(9)
    chunk = bytes(MIB)
    parts = [deflater.compress(chunk) for _ in range(decoded_bytes // MIB)]
    return b"".join([*parts, deflater.flush()])


def test_a_flate_bomb_is_refused_without_inflating_it() -> None:
    stream = generic.StreamObject(
        {generic.NameObject("/Filter"): generic.NameObject("/FlateDecode")},
        encoded_data=flate_bomb(300 * MIB),
    )
    tracemalloc.start()
    try:
        with pytest.raises(EmbeddedFileError, match="larger than the limit of 1,048,576 bytes"):
            bounded_stream_data(stream)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 16 * MIB


def test_a_small_embedded_file_reads_as_pyhanko_decodes_it() -> None:
    payload = b'{"report_id": "R-1"}' * 100
    stream = generic.StreamObject(
        {generic.NameObject("/Filter"): generic.NameObject("/FlateDecode")},
        encoded_data=zlib.compress(payload),
    )
    assert bounded_stream_data(stream) == payload == stream.data


@pytest.mark.django_db
@pytest.mark.usefixtures("report_settings")
def test_the_verify_endpoint_refuses_a_report_whose_manifest_is_too_large(
    api: Any, ivan: Any, django_capture_on_commit_callbacks: Any, caplog: Any
) -> None:
    caplog.set_level(logging.CRITICAL, logger="pyhanko")
    incident = make_incident(ivan).incident
    with django_capture_on_commit_callbacks(execute=False):
        report = report_request(
            actor=ivan, kind=Report.Kind.INCIDENT, subject=ReportSubject(incident=incident)
        )
    report_run(report_id=report.pk)
    report.refresh_from_db()
    document = build_document(report)
    # Correctly signed by the registry's own key: only the size is wrong.
    document["manifest"]["analysis_ids"].append("0" * (4 * MIB))  # not printed, only embedded
    signed = services.report_signer().sign(render_pdf(document))
    response = api(None).post(
        "/api/v1/reports/verify/",
        {"file": SimpleUploadedFile("r.pdf", signed)},
        format="multipart",
    )
    assert response.status_code == 200
    assert response.data["passed"] is False
    manifest_check = next(c for c in response.data["checks"] if c["name"] == "manifest_intact")
    assert "larger than the limit of 1,048,576 bytes" in manifest_check["detail"]
