"""One lock order: every writing transaction takes the ledger lock before any row lock,
so concurrent writers queue instead of deadlocking (PostgreSQL; SQLite serialises all
writers anyway)."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from django.contrib.auth.models import User
from django.db import connection

import registry.queue
from registry.analyses import analysis_request, analysis_run
from registry.ledger import ledger_verify
from registry.models import BenchmarkClaim, FragilityAnalysis, LedgerEntry
from registry.services import claim_update
from tests.datasets import read_dataset
from tests.factories import BenchmarkClaimFactory, BenchmarkFactory, VoteDatasetFactory
from tests.markers import requires_postgres
from tests.synthetic_votes import SYNTHETIC_READ_OPTIONS, synthetic_arena_csv

FAST = {"bootstrap_rounds": 0, "top_k": [1], "adjacent_pairs": False, "random_trials": 0}


def run_at_once(jobs: list[Callable[[], object]]) -> list[BaseException]:
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(jobs))

    def run(job: Callable[[], object]) -> None:
        try:
            barrier.wait()
            job()
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_claim_edits_and_analysis_requests_never_deadlock(
    alice: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each of 10 claims gets one analysis request and three PATCHes, all at once. Before
    the one lock order, a PATCH took the claim row and then the ledger lock while a request
    took the ledger lock and then the claim row: PostgreSQL found deadlocks."""
    # No worker here: publishing the job is not what is tested.
    monkeypatch.setattr(registry.queue, "job_publish", lambda *args: None)
    dataset = VoteDatasetFactory()
    claims = [
        BenchmarkClaimFactory(benchmark=dataset.benchmark, dataset=dataset) for _ in range(10)
    ]
    jobs: list[Callable[[], object]] = []
    for claim in claims:
        jobs.append(lambda claim=claim: analysis_request(actor=alice, claim=claim))
        for n in range(3):
            jobs.append(
                lambda claim=claim, n=n: claim_update(
                    actor=alice,
                    claim=BenchmarkClaim.objects.get(pk=claim.pk),
                    fields={"statement": f"Edit {n}"},
                )
            )
    assert run_at_once(jobs) == []
    assert set(BenchmarkClaim.objects.values_list("status", flat=True)) == {"under_analysis"}
    assert LedgerEntry.objects.filter(action="status_change").count() == len(claims)
    assert ledger_verify() is None


def edits_of(alice: User, claim: BenchmarkClaim) -> list[Callable[[], object]]:
    return [
        lambda n=n: claim_update(
            actor=alice,
            claim=BenchmarkClaim.objects.get(pk=claim.pk),
            fields={"statement": f"Edit {n}"},
        )
        for n in range(3)
    ]


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_analyses_finishing_while_their_claims_are_edited_never_deadlock(
    alice: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each of 8 claims has an analysis that finishes (ledger, analysis row, then the claim
    it moves to *analysed*) while three PATCHes edit the claim (ledger, then claim)."""
    monkeypatch.setattr(registry.queue, "job_publish", lambda *args: None)
    dataset = read_dataset(
        alice,
        synthetic_arena_csv(n_votes=600),
        {"benchmark": BenchmarkFactory(), "name": "Synthetic arena votes"},
        SYNTHETIC_READ_OPTIONS,
    )
    claims = [BenchmarkClaimFactory(benchmark=dataset.benchmark, dataset=dataset) for _ in range(8)]
    jobs: list[Callable[[], object]] = []
    for claim in claims:
        analysis = analysis_request(actor=alice, claim=claim, parameters=FAST)
        jobs.append(lambda pk=analysis.pk: analysis_run(analysis_id=pk))
        jobs.extend(edits_of(alice, claim))
    assert run_at_once(jobs) == []
    assert set(FragilityAnalysis.objects.values_list("status", flat=True)) == {"done"}
    assert set(BenchmarkClaim.objects.values_list("status", flat=True)) == {"analysed"}
    assert set(BenchmarkClaim.objects.values_list("statement", flat=True)) <= {
        f"Edit {n}" for n in range(3)
    }
    assert ledger_verify() is None
