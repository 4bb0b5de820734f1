"""Item-score analyses: Alice tests "A beats R on a static benchmark" from per-item scores
through the API; the answer is checked against independent computations, recorded once in
the ledger, refused whole when the claim or the file is wrong, and shown on the claim page."""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from rest_framework.response import Response
from rest_framework.test import APIClient
from scipy import stats

from registry.models import (
    BenchmarkClaim,
    ComputationJob,
    ItemScoreAnalysis,
    LedgerEntry,
    StoredFile,
)
from tests.factories import (
    BenchmarkClaimFactory,
    BenchmarkFactory,
    ModelReleaseFactory,
    StoredFileFactory,
)
from tests.registry.jobs import result

pytestmark = pytest.mark.django_db

Api = Callable[[User | None], APIClient]


def beats_claim(benchmark_kind: str = "static") -> BenchmarkClaim:
    """ "Model A beats Model R on Static QA", as recorded by an analyst."""
    return BenchmarkClaimFactory(
        release=ModelReleaseFactory(name="Model A", version=""),
        compared_release=ModelReleaseFactory(name="Model R", version=""),
        benchmark=BenchmarkFactory(name="Static QA", kind=benchmark_kind),
        kind=BenchmarkClaim.Kind.BEATS,
        claimed_rank=None,
        statement="Model A beats Model R on Static QA.",
    )


@pytest.fixture
def claim() -> BenchmarkClaim:
    return beats_claim()


def scores_file(ids: Sequence[str], scores_a: Sequence[float], scores_b: Sequence[float]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["item_id", "score_a", "score_b"])
    for item, score_a, score_b in zip(ids, scores_a, scores_b, strict=True):
        writer.writerow([item, repr(float(score_a)), repr(float(score_b))])
    return buffer.getvalue().encode()


def upload(client: APIClient, claim: BenchmarkClaim, data: bytes, **fields: Any) -> Response:
    body = {"file": SimpleUploadedFile("scores.csv", data, content_type="text/csv"), **fields}
    response: Response = client.post(
        f"/api/v1/claims/{claim.pk}/item-analyses/", body, format="multipart"
    )
    return response


def counts() -> tuple[int, int, int, int]:
    return (
        StoredFile.objects.count(),
        LedgerEntry.objects.count(),
        ItemScoreAnalysis.objects.count(),
        ComputationJob.objects.count(),
    )


def analysis_of(client: APIClient, accepted: Response) -> dict[str, Any]:
    """The item-score analysis the job a POST queued recorded, once a worker ran it."""
    analysis: dict[str, Any] = result(client, accepted)["item_analysis"]
    return analysis


def analysed(client: APIClient, claim: BenchmarkClaim, data: bytes, **fields: Any) -> Any:
    """Upload the scores, run the job, and return the analysis it recorded."""
    return analysis_of(client, upload(client, claim, data, **fields))


def zero_one_scores(n_items: int = 400, seed: int = 20) -> tuple[list[str], np.ndarray, np.ndarray]:
    generator = np.random.default_rng(seed)
    scores_a = (generator.random(n_items) < 0.75).astype(float)
    scores_b = (generator.random(n_items) < 0.62).astype(float)
    return [f"q{i:04}" for i in range(n_items)], scores_a, scores_b


def test_zero_one_scores_are_answered_as_scipy_and_counting_agree(
    api: Api, alice: User, claim: BenchmarkClaim
) -> None:
    ids, scores_a, scores_b = zero_one_scores()
    only_a = int(np.sum((scores_a == 1) & (scores_b == 0)))
    only_b = int(np.sum((scores_a == 0) & (scores_b == 1)))
    assert only_a > only_b  # the claim holds on these items

    response = upload(api(alice), claim, scores_file(ids, scores_a, scores_b))

    assert response.status_code == 202, response.data
    analysis = analysis_of(api(alice), response)
    results = analysis["results"]
    difference = scores_a - scores_b
    assert results["mean_difference"] == pytest.approx(difference.mean(), abs=1e-12)
    assert results["mcnemar_p_value"] == pytest.approx(
        stats.binomtest(only_a, only_a + only_b, 0.5).pvalue, rel=1e-9
    )
    # With differences in {-1, 0, 1} and sum S > 0, removing S + 1 items that A alone
    # answered is the least that makes the sum negative.
    assert results["items_to_reverse"] == only_a - only_b + 1
    removed = set(results["removed_items"])
    assert len(removed) == results["items_to_reverse"]
    kept = [i for i, item in enumerate(ids) if item not in removed]
    assert difference[kept].sum() < 0
    # The paired bootstrap agrees with the normal-theory interval at this size.
    half_width = 1.96 * difference.std(ddof=1) / np.sqrt(len(ids))
    assert results["ci_low"] == pytest.approx(difference.mean() - half_width, abs=0.2 * half_width)
    assert results["ci_high"] == pytest.approx(difference.mean() + half_width, abs=0.2 * half_width)
    assert (results["n_items"], results["bootstrap_rounds"], results["seed"]) == (400, 2000, 0)
    assert analysis["n_items"] == 400


def brute_force_minimum(difference: np.ndarray) -> int | None:
    """Fewest removals (leaving at least one item) that make the sum strictly opposite."""
    sign = np.sign(difference.sum())
    for size in range(1, difference.shape[0]):
        for removed in itertools.combinations(range(difference.shape[0]), size):
            if np.sign(np.delete(difference, removed).sum()) == -sign:
                return size
    return None


def test_real_valued_scores_reverse_at_the_brute_force_minimum(
    api: Api, alice: User, claim: BenchmarkClaim
) -> None:
    ids = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta"]
    scores_a = [0.91, 0.40, 0.77, 0.52, 0.66, 0.30, 0.81]
    scores_b = [0.35, 0.45, 0.70, 0.60, 0.41, 0.33, 0.79]
    difference = np.subtract(scores_a, scores_b)

    response = upload(api(alice), claim, scores_file(ids, scores_a, scores_b), bootstrap_rounds=500)

    assert response.status_code == 202, response.data
    results = analysis_of(api(alice), response)["results"]
    assert results["mcnemar_p_value"] is None
    assert results["items_to_reverse"] == brute_force_minimum(difference)
    kept = [i for i, item in enumerate(ids) if item not in results["removed_items"]]
    assert np.sign(difference[kept].sum()) == -np.sign(difference.sum())
    assert results["bootstrap_rounds"] == 500


def test_the_same_file_again_returns_the_same_analysis(
    api: Api, alice: User, claim: BenchmarkClaim
) -> None:
    data = scores_file(*zero_one_scores(n_items=60))
    first = upload(api(alice), claim, data)
    analysis = analysis_of(api(alice), first)
    before = counts()

    again = upload(api(alice), claim, data)

    assert (first.status_code, again.status_code) == (202, 200)
    assert again["Location"] == first["Location"]
    assert again.json()["result"]["item_analysis"] == analysis
    assert counts() == before


def test_the_same_file_with_another_seed_is_another_analysis(
    api: Api, alice: User, claim: BenchmarkClaim
) -> None:
    data = scores_file(*zero_one_scores(n_items=60))
    first = analysed(api(alice), claim, data)
    reseeded = analysed(api(alice), claim, data, seed=7)

    assert reseeded["id"] != first["id"]
    assert reseeded["sha256"] == first["sha256"]
    assert StoredFile.objects.count() == 1


def test_the_analysis_is_ledgered_and_the_claim_becomes_analysed(
    api: Api, alice: User, claim: BenchmarkClaim
) -> None:
    analysis = analysed(api(alice), claim, scores_file(*zero_one_scores(n_items=50)))

    analysis_id = str(analysis["id"])
    created = LedgerEntry.objects.get(
        object_type="registry.itemscoreanalysis", object_id=analysis_id
    )
    assert (created.action, created.actor_label) == ("create", "alice")
    assert created.snapshot["results"] == analysis["results"]
    assert created.snapshot["file_id"] == StoredFile.objects.get().pk
    moved = LedgerEntry.objects.get(object_type="registry.benchmarkclaim", object_id=str(claim.pk))
    assert moved.snapshot["_context"]["to"] == "analysed"
    claim.refresh_from_db()
    assert claim.status == BenchmarkClaim.Status.ANALYSED


@pytest.mark.parametrize(
    "make_claim",
    [
        lambda: BenchmarkClaimFactory(benchmark=BenchmarkFactory(kind="static")),
        lambda: beats_claim(benchmark_kind="pairwise"),
    ],
    ids=["rank-claim", "pairwise-benchmark"],
)
def test_a_claim_item_scores_cannot_test_is_refused_naming_the_claim(
    api: Api, alice: User, make_claim: Callable[[], BenchmarkClaim]
) -> None:
    refused = make_claim()
    before = counts()

    response = upload(api(alice), refused, scores_file(*zero_one_scores(n_items=20)))

    assert response.status_code == 400
    assert f"Claim {refused.pk}" in response.json()["claim"][0]
    assert counts() == before


def test_a_llm_judged_benchmark_claim_is_accepted(api: Api, alice: User) -> None:
    judged = beats_claim(benchmark_kind="llm_judge")
    response = upload(api(alice), judged, scores_file(*zero_one_scores(n_items=20)))
    assert response.status_code == 202, response.data
    assert analysis_of(api(alice), response)["claim"] == judged.pk


@pytest.mark.parametrize(
    ("data", "named"),
    [
        (b"item_id,score_a,score_b\nq1,1,0\nq2,x,1\n", "record 2: score_a 'x' is not a number"),
        (b"item_id,score_a,score_b\nq1,1,0\nq1,0,1\n", "record 2: item_id 'q1' repeats record 1"),
        (b"item_id,score_a,score_b\nq1,inf,0\nq2,0,1\n", "record 1: score_a 'inf' is not finite"),
        (b"item_id,score_a\nq1,1\nq2,0\n", "header: missing column(s) score_b"),
        (b"item_id,score_a,score_b\nq1,1,0\n", "file: 1 item(s)"),
        (b"item_id,score_a,score_b\nq\xff,1,0\nq2,0,1\n", "file: not UTF-8"),
    ],
    ids=["non-numeric", "duplicate", "infinite", "missing-column", "one-item", "not-utf8"],
)
def test_a_defective_file_is_refused_naming_the_record_and_nothing_is_stored(
    api: Api, alice: User, claim: BenchmarkClaim, data: bytes, named: str
) -> None:
    before = counts()

    response = upload(api(alice), claim, data)

    assert response.status_code == 400
    assert named in response.json()["file"][0]
    assert counts() == before
    claim.refresh_from_db()
    assert claim.status == BenchmarkClaim.Status.RECORDED


@pytest.mark.parametrize(("field", "value"), [("bootstrap_rounds", 99), ("seed", -1)])
def test_out_of_range_settings_are_refused(
    api: Api, alice: User, claim: BenchmarkClaim, field: str, value: int
) -> None:
    before = counts()
    response = upload(
        api(alice), claim, scores_file(*zero_one_scores(n_items=20)), **{field: value}
    )
    assert response.status_code == 400
    assert field in response.json()
    assert counts() == before


@pytest.mark.parametrize(
    ("name", "allowed"),
    [("anonymous", {401, 403}), ("nobody", {403}), ("vera", {403}), ("adam", {202})],
)
def test_only_analysts_and_admins_may_upload_item_scores(
    request: pytest.FixtureRequest, api: Api, claim: BenchmarkClaim, name: str, allowed: set[int]
) -> None:
    user = None if name == "anonymous" else request.getfixturevalue(name)
    before = counts()

    response = upload(api(user), claim, scores_file(*zero_one_scores(n_items=20)))

    assert response.status_code in allowed
    if response.status_code != 202:
        assert counts() == before


@pytest.mark.parametrize("name", ["anonymous", "vera"])
def test_anyone_lists_a_claims_item_analyses_newest_first(
    request: pytest.FixtureRequest, api: Api, alice: User, claim: BenchmarkClaim, name: str
) -> None:
    data = scores_file(*zero_one_scores(n_items=30))
    older = analysed(api(alice), claim, data)["id"]
    newer = analysed(api(alice), claim, data, seed=1)["id"]
    analysed(api(alice), beats_claim_elsewhere(), data)
    user = None if name == "anonymous" else request.getfixturevalue(name)

    response = api(user).get(f"/api/v1/claims/{claim.pk}/item-analyses/")

    assert response.status_code == 200
    assert response.json()["count"] == 2
    assert [row["id"] for row in response.json()["results"]] == [newer, older]


def beats_claim_elsewhere() -> BenchmarkClaim:
    return BenchmarkClaimFactory(
        compared_release=ModelReleaseFactory(),
        benchmark=BenchmarkFactory(kind="static"),
        kind=BenchmarkClaim.Kind.BEATS,
        claimed_rank=None,
    )


SEEDED_RESULTS = {
    "mean_difference": 0.5,
    "ci_low": 0.0,
    "ci_high": 1.0,
    "mcnemar_p_value": 1.0,
    "items_to_reverse": None,
    "removed_items": [],
    "n_items": 2,
    "bootstrap_rounds": 100,
    "seed": 0,
    "engine_version": "test",
}


def seed_analyses(claim: BenchmarkClaim, n: int, creator: User) -> None:
    for seed in range(ItemScoreAnalysis.objects.count(), ItemScoreAnalysis.objects.count() + n):
        ItemScoreAnalysis.objects.create(
            claim=claim,
            file=StoredFileFactory(),
            n_items=2,
            bootstrap_rounds=100,
            seed=seed,
            results=SEEDED_RESULTS,
            engine_version="test",
            created_by=creator,
        )


def test_listing_a_claims_item_analyses_runs_a_fixed_number_of_queries(
    api: Api, alice: User, claim: BenchmarkClaim
) -> None:
    url = f"/api/v1/claims/{claim.pk}/item-analyses/"

    def measure() -> tuple[int, int]:
        with CaptureQueriesContext(connection) as queries:
            response = api(None).get(url, {"limit": 500})
        return len(queries), len(response.json()["results"])

    seed_analyses(claim, 2, alice)
    queries_for_two, rows = measure()
    seed_analyses(claim, 18, alice)
    queries_for_twenty, more_rows = measure()

    assert (rows, more_rows) == (2, 20)
    assert queries_for_twenty == queries_for_two


def test_the_claim_page_states_the_latest_verdict(
    client: Client, api: Api, alice: User, claim: BenchmarkClaim
) -> None:
    ids, scores_a, scores_b = zero_one_scores(n_items=120)
    results = analysed(api(alice), claim, scores_file(ids, scores_a, scores_b))["results"]

    page = client.get(f"/claims/{claim.pk}/").content.decode()

    assert "Model A&#x27;s mean advantage over Model R is " in page
    assert f"{results['mean_difference']:.3f}" in page
    assert f"McNemar p = {results['mcnemar_p_value']:.2g}" in page
    assert f"removing {results['items_to_reverse']} of 120 items" in page
    assert results["removed_items"][0] in page


def test_the_claim_page_says_when_the_claim_does_not_hold(
    client: Client, api: Api, alice: User, claim: BenchmarkClaim
) -> None:
    ids, scores_a, scores_b = zero_one_scores(n_items=120)
    analysed(api(alice), claim, scores_file(ids, scores_b, scores_a))  # A and R swapped

    page = client.get(f"/claims/{claim.pk}/").content.decode()

    assert "The claim does not hold: Model A trails Model R by" in page


def test_the_admin_shows_item_analyses_but_never_adds_them(
    client: Client, api: Api, adam: User, claim: BenchmarkClaim
) -> None:
    analysis_id = analysed(api(adam), claim, scores_file(*zero_one_scores(n_items=20)))["id"]
    client.force_login(adam)

    changelist = client.get("/admin/registry/itemscoreanalysis/")
    change = client.get(f"/admin/registry/itemscoreanalysis/{analysis_id}/change/")
    add = client.get("/admin/registry/itemscoreanalysis/add/")

    assert (changelist.status_code, change.status_code, add.status_code) == (200, 200, 403)


def test_a_static_claim_page_without_a_test_says_how_to_upload_scores(
    client: Client, claim: BenchmarkClaim
) -> None:
    page = client.get(f"/claims/{claim.pk}/").content.decode()
    assert f"POST /api/v1/claims/{claim.pk}/item-analyses/" in page
    assert "No fragility analysis yet" not in page


def test_a_concurrent_duplicate_is_answered_with_the_row_that_won(
    monkeypatch: pytest.MonkeyPatch, alice: User, claim: BenchmarkClaim
) -> None:
    """Two identical uploads race: the later one misses the earlier row in its first look,
    meets the unique run constraint when saving, and answers with the winner's row."""
    from registry import item_claims

    data = scores_file(*zero_one_scores(n_items=40))
    winner = item_claims.item_analysis_record(
        claim=claim, actor=alice, content=data, filename="s.csv"
    )
    before = counts()
    looks = []

    def first_look_misses() -> Any:
        looks.append(1)
        real = ItemScoreAnalysis.objects.select_related("file", "created_by")
        return real.none() if len(looks) == 1 else real

    monkeypatch.setattr(item_claims, "item_analysis_list", first_look_misses)

    loser = item_claims.item_analysis_record(
        claim=claim, actor=alice, content=data, filename="s.csv"
    )

    assert (winner.created, loser.created) == (True, False)
    assert len(looks) == 2  # the first look missed, the second found the winner
    assert loser.analysis.pk == winner.analysis.pk
    assert counts() == before
