"""Fragility analyses: requested through the API, run by a real Celery worker,
recorded in the ledger, and shown on the dataset and claim pages."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator

import pytest
from celery.contrib.testing.worker import start_worker
from django.utils import timezone

from config.celery import app as celery_app
from registry.analyses import analyses_requeue_stuck, analysis_request, analysis_run
from registry.datasets import read_dataset_votes
from registry.fragility import AnalysisOptions, Arena
from registry.fragility.cost import MAX_BOOTSTRAP_ROUNDS, MAX_RANDOM_TRIALS, expected_seconds
from registry.fragility.votes import POSITIONS
from registry.models import BenchmarkClaim, FragilityAnalysis, LedgerEntry
from tests.datasets import read_dataset
from tests.factories import BenchmarkClaimFactory, BenchmarkFactory, ModelReleaseFactory
from tests.synthetic_votes import SYNTHETIC_LEADER, SYNTHETIC_READ_OPTIONS, synthetic_arena_csv

# The engine's own tests cover the full search and real data; here the job machinery matters.
FAST = {"bootstrap_rounds": 20, "top_k": [1], "adjacent_pairs": False, "random_trials": 2}
ARENA_CSV = synthetic_arena_csv()


@pytest.fixture
def arena_claim(alice: object) -> BenchmarkClaim:
    """Alice's registry holds a synthetic arena and the claim "model-00 ranks #1"."""
    benchmark = BenchmarkFactory(name="Synthetic arena", slug="synthetic-arena")
    dataset = read_dataset(
        alice,
        ARENA_CSV,
        fields={"benchmark": benchmark, "name": "Synthetic arena votes"},
        read_options=SYNTHETIC_READ_OPTIONS,
    )
    leader = ModelReleaseFactory(name=SYNTHETIC_LEADER, version="")
    return BenchmarkClaimFactory(
        release=leader, benchmark=benchmark, dataset=dataset, kind="rank", claimed_rank=1
    )


@pytest.fixture
def worker() -> Iterator[None]:
    with start_worker(celery_app, perform_ping_check=False, pool="solo", loglevel="WARNING"):
        yield


def wait_until_finished(analysis_id: int, timeout: float = 120) -> FragilityAnalysis:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        analysis = FragilityAnalysis.objects.get(pk=analysis_id)
        if analysis.status in (FragilityAnalysis.Status.DONE, FragilityAnalysis.Status.FAILED):
            return analysis
        time.sleep(0.2)
    raise AssertionError(f"analysis {analysis_id} did not finish in {timeout} s")


@pytest.mark.django_db(transaction=True)
def test_claim_analysis_runs_on_a_real_worker_and_answers_the_claim(
    api, alice, arena_claim, worker
) -> None:
    response = api(alice).post(
        f"/api/v1/claims/{arena_claim.pk}/analyses/", {"parameters": FAST}, format="json"
    )
    assert response.status_code == 202, response.content
    assert response["Location"].endswith(f"/api/v1/analyses/{response.data['id']}/")

    analysis = wait_until_finished(response.data["id"])
    assert analysis.status == "done", analysis.error
    assert analysis.progress == 100
    assert analysis.results["scores"][0]["model"] == SYNTHETIC_LEADER
    answer = analysis.claim_answer
    assert answer["holds_on_full_data"] is True
    assert answer["verified"] is True
    assert len(answer["dropped_votes"]) == answer["votes_to_flip"]

    # The dropped votes really overturn the claim: refit without them here.
    votes = read_dataset_votes(ARENA_CSV, SYNTHETIC_READ_OPTIONS)
    keep = [i for i in range(votes.n_votes) if votes.vote_id(i) not in set(answer["dropped_votes"])]
    refit = Arena(_subset(votes, keep))
    assert refit.comparisons.models[refit.order[0]] != SYNTHETIC_LEADER

    arena_claim.refresh_from_db()
    assert arena_claim.status == "analysed"
    actions = list(
        LedgerEntry.objects.filter(object_type="registry.fragilityanalysis").values_list(
            "action", flat=True
        )
    )
    assert actions == ["request", "complete"]
    detail = api(None).get(f"/api/v1/analyses/{analysis.pk}/")
    assert detail.status_code == 200
    assert detail.data["claim_answer"]["votes_to_flip"] == answer["votes_to_flip"]


def _subset(votes, keep):  # type: ignore[no-untyped-def]
    from dataclasses import replace

    return replace(
        votes,
        model_a=votes.model_a[keep],
        model_b=votes.model_b[keep],
        outcome=votes.outcome[keep],
        naming=POSITIONS,
    )


@pytest.mark.django_db
def test_a_duplicate_delivery_does_nothing(alice, arena_claim, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        analysis = analysis_request(
            actor=alice, dataset=arena_claim.dataset, claim=arena_claim, parameters=FAST
        )
    analysis_run(analysis_id=analysis.pk)
    first = FragilityAnalysis.objects.get(pk=analysis.pk)
    analysis_run(analysis_id=analysis.pk)
    again = FragilityAnalysis.objects.get(pk=analysis.pk)
    assert first.status == again.status == "done"
    assert again.finished_at == first.finished_at
    assert again.attempts == 1
    completes = LedgerEntry.objects.filter(
        object_type="registry.fragilityanalysis", action="complete"
    )
    assert completes.count() == 1


@pytest.mark.django_db
def test_an_analysis_whose_worker_died_is_requeued_and_completes(
    alice, arena_claim, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        analysis = analysis_request(actor=alice, dataset=arena_claim.dataset, parameters=FAST)
    long_ago = timezone.now() - dt.timedelta(hours=1)
    # A worker took it an hour ago and died.
    FragilityAnalysis.objects.filter(pk=analysis.pk).update(
        status="running", started_at=long_ago, created_at=long_ago, attempts=1
    )
    celery_app.conf.task_always_eager = True
    try:
        requeued = analyses_requeue_stuck(older_than=dt.timedelta(minutes=15))
    finally:
        celery_app.conf.task_always_eager = False
    assert requeued == [analysis.pk]
    analysis.refresh_from_db()
    assert analysis.status == "done"
    assert analysis.attempts == 2


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("parameters", "field"),
    [
        ({"ties": "sometimes"}, "ties"),
        ({"top_k": [0]}, "top_k"),
        ({"budget": 2}, "budget"),
        ({"bootstrap_rounds": -1}, "bootstrap_rounds"),
        ({"bootstrap_rounds": MAX_BOOTSTRAP_ROUNDS + 1}, "bootstrap_rounds"),
        ({"random_trials": MAX_RANDOM_TRIALS + 1}, "random_trials"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_parameters_are_refused_and_nothing_is_queued(
    api, alice, arena_claim, parameters, field
):
    before = LedgerEntry.objects.count()
    response = api(alice).post(
        f"/api/v1/claims/{arena_claim.pk}/analyses/", {"parameters": parameters}, format="json"
    )
    assert response.status_code == 400
    assert field in response.data
    assert FragilityAnalysis.objects.count() == 0
    assert LedgerEntry.objects.count() == before


@pytest.mark.django_db
def test_a_bound_refusal_names_the_limit_and_why(api, alice, arena_claim):
    response = api(alice).post(
        f"/api/v1/claims/{arena_claim.pk}/analyses/",
        {"parameters": {"bootstrap_rounds": 10_000, "random_trials": 10_000}},
        format="json",
    )
    assert response.status_code == 400
    assert response.data["bootstrap_rounds"][0].startswith(
        f"An integer from 0 to {MAX_BOOTSTRAP_ROUNDS:,}: the limit keeps an analysis"
    )
    assert response.data["random_trials"][0].startswith(
        f"An integer from 0 to {MAX_RANDOM_TRIALS:,}:"
    )


@pytest.mark.django_db
def test_an_analysis_at_the_bounds_is_accepted_with_its_expected_duration(
    api, alice, arena_claim, django_capture_on_commit_callbacks
):
    url = f"/api/v1/claims/{arena_claim.pk}/analyses/"
    at_bounds = {"bootstrap_rounds": MAX_BOOTSTRAP_ROUNDS, "random_trials": MAX_RANDOM_TRIALS}
    with django_capture_on_commit_callbacks(execute=False):
        small = api(alice).post(url, {"parameters": FAST}, format="json")
        large = api(alice).post(url, {"parameters": at_bounds}, format="json")
    assert (small.status_code, large.status_code) == (202, 202)
    dataset = arena_claim.dataset
    assert large.data["expected_seconds"] == round(
        expected_seconds(
            n_votes=dataset.n_votes,
            n_models=dataset.n_models,
            bootstrap_rounds=MAX_BOOTSTRAP_ROUNDS,
            random_trials=MAX_RANDOM_TRIALS,
        ),
        1,
    )
    assert 0 <= small.data["expected_seconds"] < large.data["expected_seconds"]


@pytest.mark.django_db
def test_only_analysts_may_request_analyses(api, vera, arena_claim):
    url = f"/api/v1/claims/{arena_claim.pk}/analyses/"
    assert api(None).post(url, {}, format="json").status_code in (401, 403)
    assert api(vera).post(url, {}, format="json").status_code == 403
    assert FragilityAnalysis.objects.count() == 0


@pytest.mark.django_db
def test_claim_and_dataset_pages_show_the_verdict_chart_and_influential_votes(
    client, alice, arena_claim, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        analysis = analysis_request(
            actor=alice, dataset=arena_claim.dataset, claim=arena_claim, parameters=FAST
        )
    analysis_run(analysis_id=analysis.pk)
    analysis.refresh_from_db()
    page = client.get(f"/claims/{arena_claim.pk}/").content.decode()
    votes = analysis.claim_answer["votes_to_flip"]
    assert f"dropping {votes:,} of its 4,000 votes" in page
    assert "<svg" in page
    assert "most influential votes" in page
    assert analysis.claim_answer["challenger"] in page
    dataset_page = client.get(f"/datasets/{arena_claim.dataset.pk}/")
    assert dataset_page.status_code == 200


def test_the_default_engine_options_match_the_documented_defaults() -> None:
    from registry.analyses import DEFAULT_PARAMETERS

    defaults = AnalysisOptions()
    assert DEFAULT_PARAMETERS["ties"] == defaults.ties
    assert DEFAULT_PARAMETERS["budget"] == defaults.budget
    assert DEFAULT_PARAMETERS["bootstrap_rounds"] == defaults.bootstrap_rounds


@pytest.mark.django_db
def test_a_transient_database_error_hands_the_analysis_back_for_the_retry(
    alice, arena_claim, django_capture_on_commit_callbacks, monkeypatch
):
    from django.db import OperationalError

    import registry.analyses

    with django_capture_on_commit_callbacks(execute=False):
        analysis = analysis_request(actor=alice, dataset=arena_claim.dataset, parameters=FAST)

    def lose_the_database(*_args: object, **_kwargs: object) -> None:
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(registry.analyses, "analyze", lose_the_database)
    with pytest.raises(OperationalError):
        analysis_run(analysis_id=analysis.pk)
    analysis.refresh_from_db()
    assert analysis.status == "pending"

    monkeypatch.undo()
    analysis_run(analysis_id=analysis.pk)  # the retry
    analysis.refresh_from_db()
    assert (analysis.status, analysis.attempts) == ("done", 2)


@pytest.mark.django_db
def test_a_worker_given_up_for_dead_cannot_overwrite_the_attempt_that_replaced_it(
    alice, arena_claim, django_capture_on_commit_callbacks
):
    from registry.analyses import ANALYSIS_JOBS, analysis_claim

    with django_capture_on_commit_callbacks(execute=False):
        analysis = analysis_request(actor=alice, dataset=arena_claim.dataset, parameters=FAST)
    slow_attempt = analysis_claim(analysis_id=analysis.pk)
    long_ago = timezone.now() - dt.timedelta(hours=1)
    # Its worker stopped renewing the lease an hour ago.
    FragilityAnalysis.objects.filter(pk=analysis.pk).update(heartbeat_at=long_ago)
    with django_capture_on_commit_callbacks(execute=False):
        assert analyses_requeue_stuck(older_than=dt.timedelta(minutes=15)) == [analysis.pk]
    analysis_run(analysis_id=analysis.pk)  # attempt 2 completes

    assert slow_attempt is not None
    recorded = ANALYSIS_JOBS.fail(analysis.pk, slow_attempt, "the slow worker's late outcome")
    analysis.refresh_from_db()
    assert recorded is False
    assert (analysis.status, analysis.attempts, analysis.error) == ("done", 2, "")
    completes = LedgerEntry.objects.filter(
        object_type="registry.fragilityanalysis", action__in=["complete", "fail"]
    )
    assert completes.count() == 1


@pytest.mark.django_db
def test_the_dataset_page_lists_the_records_excluded_from_the_fit(
    client, alice, django_capture_on_commit_callbacks
):
    rows = ["id,model_a,model_b,winner", "v1,alpha,beta,model_a", "v2,beta,gamma,model_a"]
    rows += ["v3,gamma,alpha,model_a", "v4,beta,beta,tie", "v5,beta,alpha,model_a"]
    rows += ["v6,alpha,gamma,tie", "v2,beta,gamma,model_a", "v7,delta,alpha,tie"]
    dataset = read_dataset(
        alice,
        ("\n".join(rows) + "\n").encode(),
        fields={"benchmark": BenchmarkFactory(), "name": "Messy export"},
    )
    with django_capture_on_commit_callbacks(execute=False):
        analysis = analysis_request(
            actor=alice, dataset=dataset, parameters={**FAST, "ties": "drop"}
        )
    analysis_run(analysis_id=analysis.pk)
    analysis.refresh_from_db()
    assert analysis.status == "done", analysis.error
    page = client.get(f"/datasets/{dataset.pk}/").content.decode()
    assert "1 self-comparisons (votes v4)" in page
    assert "1 exact duplicates (records 7 = 2)" in page
    assert "no vote left in the fit: delta" in page
