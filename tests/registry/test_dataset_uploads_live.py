"""Vote-dataset uploads through a real gunicorn on PostgreSQL: the same bytes sent 64
times at once make one dataset (202 for the upload that made it, 200 with it for every
other; no 400, no 500), and 64 more, once it exists, are all answered with it."""

from __future__ import annotations

import http.client
import json
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart
from rest_framework.authtoken.models import Token

from registry.models import Benchmark, LedgerEntry, StoredFile, VoteDataset
from tests.factories import BenchmarkFactory
from tests.live_http import BIN, free_port, running, server_env
from tests.markers import requires_postgres
from tests.synthetic_votes import SYNTHETIC_READ_OPTIONS, synthetic_arena_csv

pytestmark = [requires_postgres, pytest.mark.django_db(transaction=True)]

CLIENTS = 64


def _gunicorn(port: int) -> list[str]:
    # Four processes of four threads: requests race across processes, as in production.
    return [
        str(BIN / "gunicorn"),
        "config.wsgi:application",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        "4",
        "--threads",
        "4",
        "--timeout",
        "120",
    ]


def _post_dataset(port: int, token: str, body: bytes) -> tuple[int, dict[str, Any]]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        connection.request(
            "POST",
            "/api/v1/datasets/",
            body=body,
            headers={"Authorization": f"Token {token}", "Content-Type": MULTIPART_CONTENT},
        )
        response = connection.getresponse()
        return response.status, json.loads(response.read() or b"{}")
    finally:
        connection.close()


def _upload_body(benchmark: Benchmark, content: bytes) -> bytes:
    return encode_multipart(
        BOUNDARY,
        {
            "benchmark": str(benchmark.pk),
            "name": "Synthetic arena",
            "file": SimpleUploadedFile("arena.csv", content, content_type="text/csv"),
            **SYNTHETIC_READ_OPTIONS,
        },
    )


def test_sixty_four_concurrent_uploads_of_the_same_bytes_make_one_dataset(
    alice: User, tmp_path: Path, media_root: Path
) -> None:
    benchmark = BenchmarkFactory()
    token = Token.objects.create(user=alice).key
    body = _upload_body(benchmark, synthetic_arena_csv(n_votes=20_000))
    port = free_port()
    env = server_env(
        DEBUG="0",
        SECRET_KEY="live-upload-test-" + "x" * 40,
        MEDIA_ROOT=str(media_root),
        THROTTLE_UPLOADS="100000/min",
        THROTTLE_USER="100000/min",
    )
    with running(_gunicorn(port), env, port, tmp_path / "gunicorn.log"):
        first_burst = _burst(port, token, body)
        # Again, now that the benchmark holds the bytes: every answer is the dataset.
        second_burst = _burst(port, token, body)

    log = (tmp_path / "gunicorn.log").read_text(errors="replace")
    assert Counter(status for status, _ in first_burst) == {202: 1, 200: CLIENTS - 1}, log
    assert Counter(status for status, _ in second_burst) == {200: CLIENTS}, log
    assert VoteDataset.objects.count() == 1
    assert StoredFile.objects.count() == 1
    dataset = VoteDataset.objects.get()
    assert {body["id"] for _, body in [*first_burst, *second_burst]} == {dataset.pk}
    assert LedgerEntry.objects.filter(object_type="registry.votedataset").count() == 1


def _burst(port: int, token: str, body: bytes) -> list[tuple[int, dict[str, Any]]]:
    with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        return list(pool.map(lambda _: _post_dataset(port, token, body), range(CLIENTS)))
