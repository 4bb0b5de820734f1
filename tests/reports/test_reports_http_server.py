"""A report request through a real HTTP server, as `make run` serves it: Django's
development server checks that every header is a ``str``, which the test client does
not, and answered 500 on every 202 while the job was created anyway."""

from __future__ import annotations

import json
import sys
import urllib.request
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from rest_framework.authtoken.models import Token

from reports.models import Report
from tests.live_http import ROOT, free_port, running, server_env
from tests.reports.report_records import digest_period


@pytest.mark.django_db(transaction=True)
def test_a_report_request_through_runserver_answers_202_with_its_location(
    alice: User, tmp_path: Path
) -> None:
    token = Token.objects.create(user=alice)
    start, end = digest_period()
    body = {"kind": "digest", "subject": {"period_start": str(start), "period_end": str(end)}}
    port = free_port()
    command = [sys.executable, str(ROOT / "manage.py"), "runserver", f"127.0.0.1:{port}"]
    with running([*command, "--noreload"], server_env(DEBUG="1"), port, tmp_path / "server.log"):
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/v1/reports/",
            data=json.dumps(body).encode(),
            headers={"Authorization": f"Token {token.key}", "Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request) as answer:
            assert answer.status == 202
            report = Report.objects.get()
            assert (
                answer.headers["Location"] == f"http://127.0.0.1:{port}/api/v1/reports/{report.pk}/"
            )
            assert json.load(answer)["url"] == answer.headers["Location"]
