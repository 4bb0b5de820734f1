"""Vote-dataset uploads: stored at once (202), read by a job, counted, content-addressed,
idempotent, failed whole naming the record when bad.

The LLMFAO crowd comparisons (../shared/data/llmfao, see tests/shared_data.py) are a real
file: 8,931 votes between 59 models. The expected counts are recomputed here with the csv
module, independently of the registry's parser.
"""

from __future__ import annotations

import csv
import hashlib
import io
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile

from registry.blobs import blob_name
from registry.models import Benchmark, LedgerEntry, StoredFile, VoteDataset
from tests.datasets import read_upload
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
    accepted = response.json()
    assert (accepted["status"], accepted["n_votes"]) == ("pending", None)
    body = read_upload(response)
    assert (body["status"], body["error"]) == ("ready", "")
    assert (body["n_votes"], body["n_models"], body["n_ties"]) == (8931, 59, 3471)
    assert (body["n_votes"], body["n_models"], body["n_ties"]) == llmfao_counts(llmfao_bytes)
    assert body["sha256"] == hashlib.sha256(llmfao_bytes).hexdigest()
    assert body["size_bytes"] == len(llmfao_bytes)
    assert body["detected_format"] == "csv"
    assert body["uploaded_by"] == "alice"
    entries = LedgerEntry.objects.filter(object_type="registry.votedataset").order_by("seq")
    assert [(e.action, e.object_id) for e in entries] == [
        ("create", str(body["id"])),
        ("complete", str(body["id"])),
    ]
    assert entries[1].snapshot["n_votes"] == 8931
    stored = StoredFile.objects.get()
    assert stored.media_type == "text/csv"
    with stored.content.open("rb") as handle:
        assert handle.read() == llmfao_bytes


def test_uploading_the_same_bytes_again_returns_the_same_dataset(
    alice: User, llmfao_bytes: bytes
) -> None:
    benchmark = BenchmarkFactory()
    options = {"columns": LLMFAO_COLUMNS, "winner_values": LLMFAO_WINNERS}
    first = upload(alice, benchmark, llmfao_bytes, **options)
    while_reading = upload(alice, benchmark, llmfao_bytes, **options)
    read_upload(first)
    entries_after_first = LedgerEntry.objects.count()
    again = upload(alice, benchmark, llmfao_bytes, **options)
    assert (first.status_code, while_reading.status_code, again.status_code) == (202, 200, 200)
    assert while_reading.json()["id"] == again.json()["id"] == first.json()["id"]
    assert (while_reading.json()["status"], again.json()["status"]) == ("pending", "ready")
    assert StoredFile.objects.count() == 1
    assert VoteDataset.objects.count() == 1
    assert LedgerEntry.objects.count() == entries_after_first


def test_a_repeat_upload_is_answered_from_its_digest_without_parsing(
    alice: User, llmfao_bytes: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The digest was taken while the upload streamed in: neither the vote parser nor a
    second hashing pass runs for a repeat, and no job is queued for it."""
    benchmark = BenchmarkFactory()
    options = {"columns": LLMFAO_COLUMNS, "winner_values": LLMFAO_WINNERS}
    first = read_upload(upload(alice, benchmark, llmfao_bytes, **options))
    touched: list[str] = []
    monkeypatch.setattr(
        "registry.services.datasets.summarise_votes", lambda *a: touched.append("parsed")
    )
    monkeypatch.setattr("registry.blobs._digest", lambda *a: touched.append("hashed again"))
    monkeypatch.setattr(
        "registry.services.datasets.DATASET_READS.publish_on_commit",
        lambda pk: touched.append("queued"),
    )
    again = upload(alice, benchmark, llmfao_bytes, **options)
    assert (again.status_code, again.json()["id"], touched) == (200, first["id"], [])


def test_a_large_upload_streams_to_disk_and_is_moved_into_place(
    alice: User, llmfao_bytes: bytes, settings: Any, media_root: Path
) -> None:
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 64 * 1024  # the LLMFAO file is ~300 KiB
    assert len(llmfao_bytes) > settings.FILE_UPLOAD_MAX_MEMORY_SIZE
    options = {"columns": LLMFAO_COLUMNS, "winner_values": LLMFAO_WINNERS}
    body = read_upload(upload(alice, BenchmarkFactory(), llmfao_bytes, **options))
    assert body["sha256"] == hashlib.sha256(llmfao_bytes).hexdigest()
    assert body["n_votes"] == 8931
    # The staged copy became the blob: nothing is left in the staging folder.
    assert list((media_root / "incoming").iterdir()) == []
    blob = media_root / blob_name(body["sha256"])
    assert blob.read_bytes() == llmfao_bytes


def test_same_bytes_for_another_benchmark_share_one_stored_file(alice: User) -> None:
    content = b"model_a,model_b,winner\nalpha,beta,model_a\nbeta,gamma,tie\n"
    first = upload(alice, BenchmarkFactory(), content)
    second = upload(alice, BenchmarkFactory(), content)
    assert (first.status_code, second.status_code) == (202, 202)
    assert first.json()["id"] != second.json()["id"]
    assert first.json()["sha256"] == second.json()["sha256"]
    assert StoredFile.objects.count() == 1


# Refused by the job that reads them: the dataset fails naming the record.
BAD_FILES = [
    pytest.param(
        b"model_a,model_b,wins_a,wins_b,ties\nalpha,beta,1,2,0\nbeta,gamma,1,-1,0\n",
        "record 2",
        {},
        id="negative-pair-count",
    ),
    pytest.param(
        b"model_a,model_b,winner\nalpha,beta,model_a\nbeta,gamma,model_a\ngamma,alpha,draw\n",
        "record 3",
        {},
        id="unknown-winner",
    ),
    pytest.param(
        b"model_a,model_b,winner\nalpha,beta,model_a\nbeta,gamma,tie\nalpha,gamma\n",
        "record 3",
        {},
        id="short-row",
    ),
    pytest.param(
        "model_a,model_b,winner\nalpha,beta,model_a\nbéta,gamma,tie\n".encode("latin-1"),
        "UTF-8",
        {},
        id="not-utf8",
    ),
    pytest.param(b"model_a,model_b,winner\n", "no votes", {}, id="header-only"),
    # A file that is not what its declared format says fails the same way.
    pytest.param(
        b"model_a,model_b,winner\nalpha,beta,model_a\n",
        "parquet",
        {"format": "parquet"},
        id="csv-declared-parquet",
    ),
    pytest.param(
        b"model_a,model_b,winner\nalpha,beta,model_a\n",
        "jsonl",
        {"format": "jsonl"},
        id="csv-declared-jsonl",
    ),
]


@pytest.mark.parametrize(("content", "message", "options"), BAD_FILES)
def test_a_bad_vote_file_fails_its_dataset_naming_the_record_and_changes_nothing_else(
    alice: User, content: bytes, message: str, options: dict[str, str]
) -> None:
    benchmark = BenchmarkFactory()
    before = row_counts()
    body = read_upload(upload(alice, benchmark, content, **options))
    assert body["status"] == "failed"
    assert message in body["error"], body["error"]
    assert (body["n_votes"], body["detected_format"]) == (None, "")
    # The dataset, its file and their two ledger entries (create, fail): nothing else.
    added = {name: row_counts()[name] - count for name, count in before.items()}
    assert {name: count for name, count in added.items() if count} == {
        "StoredFile": 1,
        "VoteDataset": 1,
        "LedgerEntry": 2,
    }
    assert LedgerEntry.objects.order_by("-seq").first().action == "fail"  # type: ignore[union-attr]


def test_a_failed_dataset_can_be_uploaded_again_with_read_options_that_fit(
    alice: User, llmfao_bytes: bytes
) -> None:
    """Read with the default columns the LLMFAO file fails; the same options fail the
    same way (the failed dataset is the answer), the right ones make a new dataset."""
    benchmark = BenchmarkFactory()
    failed = read_upload(upload(alice, benchmark, llmfao_bytes))
    assert failed["status"] == "failed"
    same_again = upload(alice, benchmark, llmfao_bytes)
    assert (same_again.status_code, same_again.json()["id"]) == (200, failed["id"])
    options = {"columns": LLMFAO_COLUMNS, "winner_values": LLMFAO_WINNERS}
    fitting = read_upload(upload(alice, benchmark, llmfao_bytes, **options))
    assert fitting["id"] != failed["id"]
    assert (fitting["status"], fitting["n_votes"]) == ("ready", 8931)


def test_an_empty_file_is_refused_at_the_door(alice: User) -> None:
    benchmark = BenchmarkFactory()
    before = row_counts()
    response = upload(alice, benchmark, b"")
    assert response.status_code == 400
    assert "empty" in " ".join(response.json()["file"])
    assert row_counts() == before


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"format": "xlsx"}, "format"),
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
    assert upload(alice, BenchmarkFactory(), content).status_code == 202


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
        body = read_upload(upload(alice, BenchmarkFactory(), content))
        assert body["detected_format"] == detected
        assert (body["n_votes"], body["n_models"], body["n_ties"]) == counts
        assert body["sha256"] == hashlib.sha256(content).hexdigest()
