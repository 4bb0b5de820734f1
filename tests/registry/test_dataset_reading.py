"""A vote dataset is read by a job, not in the web request; until it is READY everything
that needs its votes says so (409 for an analysis, its status on pages and in the admin),
and a dataset that FAILED cannot be named by a claim.

Alice is an analyst; Adam is an admin.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from celery.contrib.testing.worker import start_worker
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from config.celery import app as celery_app
from registry.models import FragilityAnalysis, LedgerEntry, VoteDataset
from registry.services import claim_create, dataset_read_run
from tests.factories import BenchmarkFactory, ModelReleaseFactory, OrganizationFactory
from tests.registry.api_records import API, client_for
from tests.synthetic_votes import SYNTHETIC_READ_OPTIONS, synthetic_arena_csv

ARENA = synthetic_arena_csv(n_votes=2000)
BAD_ARENA = b"model_a,model_b,winner\nalpha,beta,model_a\nbeta,gamma,draw\n"


def upload(user: User, content: bytes, **options: str) -> Any:
    body = {
        "benchmark": BenchmarkFactory().pk,
        "name": "Arena snapshot",
        "file": SimpleUploadedFile("arena.csv", content, content_type="text/csv"),
        **options,
    }
    return client_for(user).post(f"{API}/datasets/", body, format="multipart")


@pytest.mark.django_db
def test_the_web_request_stores_the_file_without_parsing_it(
    alice: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    def parse(*args: object) -> None:
        raise AssertionError("the web request parsed the vote file")

    monkeypatch.setattr("registry.services.datasets.summarise_votes", parse)
    response = upload(alice, ARENA, **SYNTHETIC_READ_OPTIONS)
    assert response.status_code == 202
    assert response.json()["status"] == "pending"
    assert VoteDataset.objects.get().status == VoteDataset.Status.PENDING


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("content", "status", "words"),
    [
        (ARENA, "pending", "still being read"),
        (BAD_ARENA, "failed", "could not be read"),
    ],
)
def test_an_analysis_of_a_dataset_not_ready_is_refused_with_its_state(
    alice: User, content: bytes, status: str, words: str
) -> None:
    dataset_id = upload(alice, content, **SYNTHETIC_READ_OPTIONS).json()["id"]
    if status == "failed":
        dataset_read_run(dataset_id=dataset_id)
    entries = LedgerEntry.objects.count()
    response = client_for(alice).post(f"{API}/datasets/{dataset_id}/analyses/", {}, format="json")
    assert response.status_code == 409
    assert words in response.json()["detail"]
    assert FragilityAnalysis.objects.count() == 0
    assert LedgerEntry.objects.count() == entries


@pytest.mark.django_db
def test_the_failure_names_the_record_that_could_not_be_read(alice: User) -> None:
    dataset_id = upload(alice, BAD_ARENA).json()["id"]
    dataset_read_run(dataset_id=dataset_id)
    dataset = VoteDataset.objects.get(pk=dataset_id)
    assert dataset.status == VoteDataset.Status.FAILED
    assert "record 2" in dataset.error
    assert "'draw'" in dataset.error
    refusal = client_for(alice).post(f"{API}/datasets/{dataset_id}/analyses/", {}, format="json")
    assert "record 2" in refusal.json()["detail"]


@pytest.mark.django_db
def test_a_claim_may_name_a_dataset_being_read_but_not_one_that_failed(alice: User) -> None:
    pending = VoteDataset.objects.get(pk=upload(alice, ARENA).json()["id"])
    failed = VoteDataset.objects.get(pk=upload(alice, BAD_ARENA).json()["id"])
    dataset_read_run(dataset_id=failed.pk)
    failed.refresh_from_db()
    release = ModelReleaseFactory()
    fields = {
        "claimant": OrganizationFactory(),
        "release": release,
        "kind": "rank",
        "claimed_rank": 1,
        "statement": "Number one.",
        "claim_date": "2026-11-01",
    }
    claim = claim_create(
        actor=alice, fields={**fields, "benchmark": pending.benchmark, "dataset": pending}
    )
    assert claim.dataset == pending
    with pytest.raises(ValidationError) as refused:
        claim_create(
            actor=alice, fields={**fields, "benchmark": failed.benchmark, "dataset": failed}
        )
    assert refused.value.message_dict["dataset"][0].startswith(
        f"Dataset {failed.pk} could not be read:"
    )


@pytest.mark.django_db
def test_pages_and_the_admin_show_a_dataset_that_is_not_read_yet(
    alice: User, adam: User, client: Client
) -> None:
    pending = upload(alice, ARENA).json()["id"]
    failed = upload(alice, BAD_ARENA).json()["id"]
    dataset_read_run(dataset_id=failed)
    pending_page = client.get(f"/datasets/{pending}/").content.decode()
    assert "waiting to be read" in pending_page
    assert "None votes" not in pending_page
    failed_page = client.get(f"/datasets/{failed}/").content.decode()
    assert "could not be read:" in failed_page
    assert "record 2" in failed_page
    home = client.get("/").content.decode()
    assert "Waiting to be read" in home
    assert "Could not be read" in home
    client.force_login(adam)
    admin = client.get("/admin/registry/votedataset/")
    assert admin.status_code == 200
    assert "Waiting to be read" in admin.content.decode()


@pytest.fixture
def worker() -> Iterator[None]:
    with start_worker(celery_app, perform_ping_check=False, pool="solo", loglevel="WARNING"):
        yield


@pytest.mark.django_db(transaction=True)
def test_a_worker_reads_an_uploaded_dataset_and_it_can_then_be_analysed(
    alice: User, worker: None
) -> None:
    response = upload(alice, ARENA, **SYNTHETIC_READ_OPTIONS)
    assert response.status_code == 202
    deadline = time.monotonic() + 60
    dataset = VoteDataset.objects.get(pk=response.json()["id"])
    while dataset.status != VoteDataset.Status.READY and time.monotonic() < deadline:
        time.sleep(0.1)
        dataset.refresh_from_db()
    assert (dataset.status, dataset.n_votes, dataset.attempts) == ("ready", 2000, 1)
    analysis = client_for(alice).post(
        f"{API}/datasets/{dataset.pk}/analyses/",
        {"parameters": {"bootstrap_rounds": 0, "random_trials": 0, "top_k": [1]}},
        format="json",
    )
    assert analysis.status_code == 202
