"""End to end on a real Celery worker and the configured broker: request a claim report
through the API, watch its progress, download the signed PDF and verify it with
``verify_report`` and with poppler's ``pdfsig``."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from celery.contrib.testing.worker import start_worker
from django.core.management import call_command

from config.celery import app as celery_app
from registry.models import FragilityAnalysis
from reports import services
from reports.models import Report
from tests.reports.pdf_tools import pdfsig_says_valid
from tests.reports.report_records import FAST, make_claim, make_dataset

pytestmark = pytest.mark.usefixtures("report_settings")


@pytest.fixture
def worker() -> Iterator[None]:
    with start_worker(celery_app, perform_ping_check=False, pool="solo", loglevel="WARNING"):
        yield


def _wait_for(read: Callable[[], Any], done: Callable[[Any], bool], timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = read()
        if done(value):
            return value
        time.sleep(0.05)
    raise AssertionError(f"gave up waiting after {timeout} s; last value {value!r}")


class _GatedSigner:
    """The real signer, held at the signing step until the test has seen that step."""

    def __init__(self, real: Any, gate: threading.Event) -> None:
        self.signer, self.level, self._real, self._gate = real.signer, real.level, real, gate

    def sign(self, pdf: bytes) -> bytes:
        if not self._gate.wait(timeout=30):
            raise RuntimeError("the test never released the signing step")
        signed: bytes = self._real.sign(pdf)
        return signed


@pytest.mark.django_db(transaction=True)
def test_a_claim_report_is_built_by_a_real_worker_downloaded_and_verified(
    api: Any,
    alice: Any,
    worker: None,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    claim = make_claim(alice, make_dataset(alice))
    client = api(alice)
    queued = client.post(f"/api/v1/claims/{claim.pk}/analyses/", {"parameters": FAST})
    assert queued.status_code == 202, queued.content
    _wait_for(
        lambda: FragilityAnalysis.objects.get(pk=queued.data["id"]).status,
        lambda status: status in ("done", "failed"),
    )

    gate = threading.Event()
    real_signer = services.report_signer()
    monkeypatch.setattr(services, "report_signer", lambda: _GatedSigner(real_signer, gate))
    response = client.post("/api/v1/reports/", {"kind": "claim", "subject": claim.pk})
    assert response.status_code == 202, response.content
    url = response["Location"]
    seen = [(response.data["status"], response.data["progress"])]

    signing = _wait_for(lambda: client.get(url).data, lambda body: body["status"] == "signing")
    seen.append((signing["status"], signing["progress"]))
    gate.set()
    done = _wait_for(
        lambda: client.get(url).data, lambda body: body["status"] in ("done", "failed")
    )
    seen.append((done["status"], done["progress"]))
    assert seen == [("pending", 0), ("signing", 70), ("done", 100)], done["error"]

    download = api(None).get(done["download_url"])
    assert download.status_code == 200
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(b"".join(download.streaming_content))
    assert Report.objects.get(pk=done["id"]).sha256 == done["sha256"]

    # The command exits non-zero (SystemExit) on any failed check; it returns normally
    # only when every check passes.
    call_command("verify_report", str(pdf), "--json")
    verification = json.loads(capsys.readouterr().out)
    assert verification["passed"] is True
    assert len(verification["checks"]) == 8  # six signature and registry checks, two log ones
    assert pdfsig_says_valid(pdf)
