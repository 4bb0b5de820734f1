"""Vote-dataset uploads: counted, content-addressed, idempotent, refused whole when bad.

The LLMFAO crowd comparisons (../shared/data/llmfao, see tests/shared_data.py) are a real
file: 8,931 votes between 59 models. The expected counts are recomputed here with the csv
module, independently of the registry's parser.
"""

from __future__ import annotations

import csv
import hashlib
import io
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile

from registry.models import Benchmark, LedgerEntry, StoredFile, VoteDataset
from tests.factories import BenchmarkFactory
from tests.registry.api_records import API, client_for, row_counts
from tests.shared_data import shared_file

pytestmark = [
    pytest.mark.django_db,
]

LLMFAO_COLUMNS = "model_a=left,model_b=right,winner=winner"
LLMFAO_WINNERS = "model_a=left,model_b=right,tie=tie"


def upload(
    user: User, benchmark: Benchmark, content: bytes, **options: str
) -> Any:  # the test client's response
    body = {
        "benchmark": benchmark.pk,
        "name": "LLMFAO crowd comparisons",
        "file": SimpleUploadedFile("votes.csv", content, content_type="text/csv"),
        **options,
    }
    return client_for(user).post(f"{API}/datasets/", body, format="multipart")


def llmfao_counts(data: bytes) -> tuple[int, int, int]:
    """(votes, distinct models, ties) read with the standard library alone."""
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8"))))
    models = {row["left"] for row in rows} | {row["right"] for row in rows}
    ties = sum(row["winner"] == "tie" for row in rows)
    return len(rows), len(models), ties


@pytest.fixture(scope="module")
def llmfao_bytes() -> bytes:
    return shared_file("llmfao/crowd-comparisons.csv").read_bytes()


def test_llmfao_upload_is_counted_and_addressed_by_its_digest(
    alice: User, llmfao_bytes: bytes
) -> None:
    benchmark = BenchmarkFactory()
    response = upload(
        alice, benchmark, llmfao_bytes, columns=LLMFAO_COLUMNS, winner_values=LLMFAO_WINNERS
    )
    assert response.status_code == 201, response.data
    body = response.json()
    assert (body["n_votes"], body["n_models"], body["n_ties"]) == (8931, 59, 3471)
    assert (body["n_votes"], body["n_models"], body["n_ties"]) == llmfao_counts(llmfao_bytes)
    assert body["sha256"] == hashlib.sha256(llmfao_bytes).hexdigest()
    assert body["size_bytes"] == len(llmfao_bytes)
    assert body["detected_format"] == "csv"
    assert body["uploaded_by"] == "alice"
    entry = LedgerEntry.objects.get(object_type="registry.votedataset")
    assert (entry.action, entry.object_id) == ("create", str(body["id"]))
    stored = StoredFile.objects.get()
    with stored.content.open("rb") as handle:
        assert handle.read() == llmfao_bytes


def test_uploading_the_same_bytes_again_returns_the_same_dataset(
    alice: User, llmfao_bytes: bytes
) -> None:
    benchmark = BenchmarkFactory()
    options = {"columns": LLMFAO_COLUMNS, "winner_values": LLMFAO_WINNERS}
    first = upload(alice, benchmark, llmfao_bytes, **options)
    entries_after_first = LedgerEntry.objects.count()
    again = upload(alice, benchmark, llmfao_bytes, **options)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    assert StoredFile.objects.count() == 1
    assert VoteDataset.objects.count() == 1
    assert LedgerEntry.objects.count() == entries_after_first


def test_same_bytes_for_another_benchmark_share_one_stored_file(alice: User) -> None:
    content = b"model_a,model_b,winner\nalpha,beta,model_a\nbeta,gamma,tie\n"
    first = upload(alice, BenchmarkFactory(), content)
    second = upload(alice, BenchmarkFactory(), content)
    assert (first.status_code, second.status_code) == (201, 201)
    assert first.json()["id"] != second.json()["id"]
    assert first.json()["sha256"] == second.json()["sha256"]
    assert StoredFile.objects.count() == 1


BAD_FILES = [
    pytest.param(
        b"model_a,model_b,wins_a,wins_b,ties\nalpha,beta,1,2,0\nbeta,gamma,1,-1,0\n",
        "record 2",
        id="negative-pair-count",
    ),
    pytest.param(
        b"model_a,model_b,winner\nalpha,beta,model_a\nbeta,gamma,model_a\ngamma,alpha,draw\n",
        "record 3",
        id="unknown-winner",
    ),
    pytest.param(
        b"model_a,model_b,winner\nalpha,beta,model_a\nbeta,gamma,tie\nalpha,gamma\n",
        "record 3",
        id="short-row",
    ),
    pytest.param(
        "model_a,model_b,winner\nalpha,beta,model_a\nbéta,gamma,tie\n".encode("latin-1"),
        "UTF-8",
        id="not-utf8",
    ),
    pytest.param(b"", "empty", id="empty"),
    pytest.param(b"model_a,model_b,winner\n", "no votes", id="header-only"),
]


@pytest.mark.parametrize(("content", "message"), BAD_FILES)
def test_bad_vote_file_is_refused_whole_naming_the_record(
    alice: User, content: bytes, message: str
) -> None:
    benchmark = BenchmarkFactory()
    before = row_counts()
    response = upload(alice, benchmark, content)
    assert response.status_code == 400
    assert message in " ".join(response.json()["file"])
    assert row_counts() == before


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"format": "xlsx"}, "format"),
        ({"format": "parquet"}, "file"),
        ({"format": "jsonl"}, "file"),
        ({"columns": "model_a=left,loser=right"}, "columns"),
        ({"winner_values": "winner=left"}, "winner_values"),
    ],
)
def test_bad_read_options_are_refused_with_a_field_message(
    alice: User, options: dict[str, str], field: str
) -> None:
    benchmark = BenchmarkFactory()
    before = row_counts()
    response = upload(alice, benchmark, b"model_a,model_b,winner\na,b,tie\n", **options)
    assert response.status_code == 400
    assert field in response.json(), response.json()
    assert row_counts() == before


def test_oversized_dataset_is_refused_before_parsing(alice: User, settings: Any) -> None:
    settings.REGISTRY_MAX_DATASET_UPLOAD_BYTES = 16
    benchmark = BenchmarkFactory()
    before = row_counts()
    response = upload(alice, benchmark, b"model_a,model_b,winner\na,b,tie\n")
    assert response.status_code == 400
    assert "limit for vote datasets is 16" in " ".join(response.json()["file"])
    assert row_counts() == before


def test_datasets_have_their_own_larger_upload_limit(alice: User, settings: Any) -> None:
    content = b"model_a,model_b,winner\na,b,tie\n"
    settings.REGISTRY_MAX_UPLOAD_BYTES = 16  # other uploads: evidence, item scores, reports
    settings.REGISTRY_MAX_DATASET_UPLOAD_BYTES = len(content)
    assert upload(alice, BenchmarkFactory(), content).status_code == 201


def test_dataset_for_an_unknown_benchmark_is_refused(alice: User) -> None:
    benchmark = BenchmarkFactory()
    missing = benchmark.pk
    benchmark.delete()
    before = row_counts()
    response = client_for(alice).post(
        f"{API}/datasets/",
        {
            "benchmark": missing,
            "name": "Orphan votes",
            "file": SimpleUploadedFile("v.csv", b"model_a,model_b,winner\na,b,tie\n"),
        },
        format="multipart",
    )
    assert response.status_code == 400
    assert "benchmark" in response.json()
    assert row_counts() == before


def test_dataset_upload_without_a_file_is_refused(alice: User) -> None:
    response = client_for(alice).post(
        f"{API}/datasets/",
        {"benchmark": BenchmarkFactory().pk, "name": "No file"},
        format="multipart",
    )
    assert response.status_code == 400
    assert "file" in response.json()


def test_parquet_gzip_and_pair_count_uploads_are_detected_and_counted(alice: User) -> None:
    import gzip

    import pyarrow as pa
    import pyarrow.parquet as pq

    sink = io.BytesIO()
    columns = {"id": ["a1", "a2"], "model_a": ["x", "y"], "model_b": ["y", "x"]}
    pq.write_table(pa.table({**columns, "winner": ["model_a", "both_bad"]}), sink)
    pair_counts = b"model_a,model_b,wins_a,wins_b,ties\nx,y,3,2,1\n"
    cases = [
        (sink.getvalue(), "parquet", (2, 2, 1)),
        (gzip.compress(pair_counts), "pair_counts", (6, 2, 1)),
    ]
    for content, detected, counts in cases:
        response = upload(alice, BenchmarkFactory(), content)
        assert response.status_code == 201, response.data
        body = response.json()
        assert body["detected_format"] == detected
        assert (body["n_votes"], body["n_models"], body["n_ties"]) == counts
        assert body["sha256"] == hashlib.sha256(content).hexdigest()
