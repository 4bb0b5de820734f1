"""The public pages: lists with search and filters, record pages whose every reference is a
link, history tabs from the ledger, the claim page's verdict and evidence, downloads, and the
API's html_url beside each record.

Alice is an analyst, Ivan an investigator handling an embargoed and a public incident, Vera a
viewer and anonymous is not logged in; the embargo must hold on every list and page.
"""

from __future__ import annotations

import csv
import hashlib
import html
import io
import re
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from registry import services
from registry.analyses import analysis_request, analysis_run
from registry.models import BenchmarkClaim, FragilityAnalysis, LedgerEntry, Organization
from tests.datasets import read_dataset
from tests.factories import (
    BenchmarkClaimFactory,
    BenchmarkFactory,
    ModelReleaseFactory,
    OrganizationFactory,
    UserFactory,
)
from tests.registry.test_api_query_counts import SEEDERS
from tests.registry.test_trust_surfaces import Case, make_case
from tests.synthetic_votes import SYNTHETIC_LEADER, SYNTHETIC_READ_OPTIONS, synthetic_arena_csv

pytestmark = [pytest.mark.django_db]

FAST = {"bootstrap_rounds": 20, "top_k": [1], "adjacent_pairs": True, "random_trials": 2}
ARENA_CSV = synthetic_arena_csv()
LISTS = ["organizations", "releases", "benchmarks", "datasets", "claims", "incidents", "reports"]


def browser(user: User | None = None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def text_of(response: Any) -> str:
    return html.unescape(response.content.decode())


def links(page: str) -> set[str]:
    return set(re.findall(r'href="([^"#]+)', page))


@pytest.fixture
def cases(ivan: User, anna: User) -> tuple[Case, Case]:
    olga = UserFactory(username="olga")
    return (
        make_case(ivan, anna, olga, embargoed=False),
        make_case(ivan, anna, olga, embargoed=True),
    )


@pytest.fixture
def analysed_claim(alice: User) -> BenchmarkClaim:
    """Alice's synthetic arena, the claim "model-00 ranks #1" and its finished analysis."""
    benchmark = BenchmarkFactory(name="Synthetic arena", slug="synthetic-arena", kind="pairwise")
    dataset = read_dataset(
        alice,
        ARENA_CSV,
        fields={"benchmark": benchmark, "name": "Synthetic arena votes"},
        read_options=SYNTHETIC_READ_OPTIONS,
        filename="arena.csv",
    )
    claim = BenchmarkClaimFactory(
        release=ModelReleaseFactory(name=SYNTHETIC_LEADER, version=""),
        benchmark=benchmark,
        dataset=dataset,
        kind="rank",
        claimed_rank=1,
        statement="model-00 is the best model in the synthetic arena.",
    )
    analysis = analysis_request(actor=alice, dataset=dataset, claim=claim, parameters=FAST)
    analysis_run(analysis_id=analysis.pk)
    return claim


# --- Lists ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", LISTS)
def test_every_list_is_in_the_navigation_and_answers_anyone(name: str) -> None:
    home = text_of(browser().get("/"))
    assert f'href="/{name}/"' in home
    assert 'href="/reports/verify/"' in home
    response = browser().get(f"/{name}/")
    assert response.status_code == 200
    assert 'role="search"' in text_of(response)


def test_search_finds_claims_by_their_words_and_the_claimant() -> None:
    northwind = OrganizationFactory(name="Northwind AI")
    BenchmarkClaimFactory(statement="Atlas ranks first.", claimant=northwind)
    BenchmarkClaimFactory(statement="Quill beats Tide.")
    by_words = text_of(browser().get("/claims/", {"q": "atlas"}))
    assert "Atlas ranks first." in by_words
    assert "Quill beats Tide." not in by_words
    by_claimant = text_of(browser().get("/claims/", {"q": "northwind"}))
    assert "Atlas ranks first." in by_claimant
    assert "Quill beats Tide." not in by_claimant


def test_a_filter_narrows_the_list_and_every_row_links_its_references() -> None:
    northwind = OrganizationFactory(name="Northwind AI", slug="northwind")
    atlas = ModelReleaseFactory(name="Atlas", version="4", organization=northwind)
    ModelReleaseFactory(name="Quill", version="8B")
    page = text_of(browser().get("/releases/", {"organization": "northwind"}))
    assert "Atlas 4" in page
    assert "Quill 8B" not in page
    assert {atlas.get_absolute_url(), northwind.get_absolute_url()} <= links(page)


def test_a_bad_filter_value_is_named_and_lists_nothing() -> None:
    ModelReleaseFactory(name="Atlas", version="4")
    response = browser().get("/releases/", {"organization": "no-such-organisation"})
    assert response.status_code == 400
    page = text_of(response)
    assert "Select a valid choice" in page
    assert "Atlas 4" not in page


@pytest.mark.parametrize("viewer", ["anonymous", "vera", "ivan"])
def test_embargoed_incidents_and_their_reports_are_missing_from_outsiders_lists(
    request: pytest.FixtureRequest, cases: tuple[Case, Case], viewer: str
) -> None:
    public, embargoed = cases
    user = None if viewer == "anonymous" else request.getfixturevalue(viewer)
    sees = viewer == "ivan"
    client = browser(user)
    incidents = text_of(client.get("/incidents/"))
    assert public.incident.title in incidents
    assert (embargoed.incident.title in incidents) is sees
    searched = text_of(client.get("/incidents/", {"q": "embargoed"}))
    assert (embargoed.incident.title in searched) is sees
    reports = text_of(client.get("/reports/"))
    assert public.report.report_id in reports
    assert (embargoed.report.report_id in reports) is sees
    assert (embargoed.report.get_absolute_url() in links(reports)) is sees
    expected = 200 if sees else 404
    for path in [
        embargoed.report.get_absolute_url(),
        f"{embargoed.report.get_absolute_url()}history/",
        f"{embargoed.incident.get_absolute_url()}history/",
    ]:
        assert client.get(path).status_code == expected, path
    # Nor does a page about the accused organisation list it.
    organization = embargoed.incident.suspect_release.organization
    assert (
        embargoed.incident.title in text_of(client.get(f"/organizations/{organization.pk}/"))
    ) is sees


@pytest.mark.parametrize("name", sorted(set(LISTS) - {"reports"}))
def test_list_pages_run_a_fixed_number_of_queries(ivan: User, name: str) -> None:
    seed = SEEDERS[name]

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert browser().get(f"/{name}/").status_code == 200
        return len(captured)

    seed(2, ivan)
    for_two = queries()
    seed(18, ivan)
    assert queries() == for_two


# --- Record pages and history tabs ------------------------------------------------------


def test_a_record_page_links_every_reference(cases: tuple[Case, Case]) -> None:
    public, _ = cases
    incident = public.incident
    page = text_of(browser().get(incident.get_absolute_url()))
    assert {
        incident.suspect_release.get_absolute_url(),
        incident.original_release.get_absolute_url(),
        incident.reporting_organization.get_absolute_url(),
        public.report.get_absolute_url(),
        f"{incident.get_absolute_url()}history/",
    } <= links(page)
    release = incident.original_release
    release_page = text_of(browser().get(release.get_absolute_url()))
    assert {release.organization.get_absolute_url(), incident.get_absolute_url()} <= links(
        release_page
    )


def test_the_history_tab_shows_each_ledger_entry_with_what_changed(alice: User) -> None:
    organization = services.organization_create(
        actor=alice, fields={"name": "Halcyon Labs", "slug": "halcyon", "country": "GB"}
    )
    services.organization_update(actor=alice, organization=organization, fields={"country": "IE"})
    page = text_of(browser().get(f"/organizations/{organization.pk}/history/"))
    entries = LedgerEntry.objects.filter(
        object_type="registry.organization", object_id=str(organization.pk)
    ).order_by("-seq")
    assert entries.count() == 2
    # Newest first, each linked to the entry itself.
    positions = [page.index(f"/api/v1/ledger/{entry.seq}/") for entry in entries]
    assert positions == sorted(positions)
    assert "<del>GB</del> → <ins>IE</ins>" in page
    assert 'aria-current="page">History' in page


def test_a_history_tab_of_a_record_that_does_not_exist_is_a_404() -> None:
    assert browser().get("/claims/999999/history/").status_code == 404


# --- Claim and dataset pages ------------------------------------------------------------


def test_the_claim_page_gives_the_verdict_first_and_never_states_the_claim_as_fact(
    analysed_claim: BenchmarkClaim,
) -> None:
    page = text_of(browser().get(analysed_claim.get_absolute_url()))
    heading = re.search(r"<h1>(.*?)</h1>", page, re.S)
    assert heading is not None
    # The claim is quoted and attributed to its claimant.
    assert f"{analysed_claim.claimant} claims:" in re.sub(r"<[^>]+>", "", heading.group(1))
    assert f"“{analysed_claim.statement}”" in heading.group(1)
    verdict = page.index("Does the claim hold?")
    assert verdict < page.index('id="leaderboard"') < page.index('id="chart"')
    assert verdict < page.index('id="glossary"')


def test_the_leaderboard_lists_every_model_with_votes_and_highlights_the_claimed_one(
    analysed_claim: BenchmarkClaim,
) -> None:
    analysis = FragilityAnalysis.objects.get(claim=analysed_claim)
    scores = analysis.results["scores"]
    page = text_of(browser().get(analysed_claim.get_absolute_url()))
    table = page[
        page.index("<table data-sortable>") : page.index(
            "</table>", page.index("<table data-sortable>")
        )
    ]
    rows = re.findall(r"<tr(?: class=\"highlight\")?>\s*<td", table)
    assert len(rows) == len(scores) == 14
    highlighted = re.findall(r'<tr class="highlight">.*?<td data-sort="([^"]+)"', table, re.S)
    assert highlighted == [SYNTHETIC_LEADER]
    # Each vote involves two models: the votes column adds up to twice the votes used.
    per_model = [
        int(v.replace(",", ""))
        for v in re.findall(
            r'<td class="num" data-sort="(\d+)">[\d,]+</td>\s*<td class="num" data-sort="\d*">',
            table,
        )
    ]
    assert sum(per_model) == 2 * analysis.results["fit"]["n_votes_used"]
    # The chart draws every model, not a first few.
    chart = page[page.index('class="chart chart-wide"') :]
    for row in scores:
        assert f"{row['rank']}. {row['model']}" in chart


def test_every_glossary_link_on_the_claim_page_has_its_term(
    analysed_claim: BenchmarkClaim,
) -> None:
    page = text_of(browser().get(analysed_claim.get_absolute_url()))
    targets = set(re.findall(r'href="#(g-[a-z-]+)"', page))
    assert {"g-rank-ub", "g-ties", "g-elo", "g-logits", "g-ci"} <= targets
    for target in targets:
        assert f'id="{target}"' in page, target


def expected_votes(vote_ids: list[int | str]) -> list[list[str]]:
    """Each vote read independently from the CSV: votes are named by their 1-based position."""
    records = list(csv.DictReader(io.StringIO(ARENA_CSV.decode())))
    winners = {"left": "model_a", "right": "model_b", "tie": "tie"}
    return [
        [
            str(vote),
            records[int(vote) - 1]["left"],
            records[int(vote) - 1]["right"],
            winners[records[int(vote) - 1]["winner"]],
        ]
        for vote in vote_ids
    ]


def csv_votes(path: str) -> list[list[str]]:
    response = browser().get(path)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["vote", "model_a", "model_b", "winner", "winner_model"]
    return [row[:4] for row in rows[1:]]


@pytest.mark.parametrize("engine", ["current", "before 1.2.0"])
def test_the_dropped_votes_are_shown_and_downloadable_with_their_content(
    analysed_claim: BenchmarkClaim, engine: str
) -> None:
    analysis = FragilityAnalysis.objects.get(claim=analysed_claim)
    answer = analysis.claim_answer
    assert answer["dropped_votes"], "the synthetic race at the top is close enough to flip"
    if engine != "current":  # an older answer names the votes only: the file is read
        answer = {key: value for key, value in answer.items() if key != "dropped_vote_details"}
        FragilityAnalysis.objects.filter(pk=analysis.pk).update(claim_answer=answer)
    expected = expected_votes(answer["dropped_votes"])
    assert csv_votes(f"/analyses/{analysis.pk}/dropped-votes/claim.csv") == expected
    page = text_of(browser().get(analysed_claim.get_absolute_url()))
    for vote, model_a, model_b, winner in expected:
        words = "Tie" if winner == "tie" else f"{model_a if winner == 'model_a' else model_b} won"
        assert (
            f"<tr><td>{vote}</td><td>{model_a}</td><td>{model_b}</td><td>{words}</td></tr>" in page
        )


def test_each_flip_searchs_dropped_votes_download_with_their_content(
    analysed_claim: BenchmarkClaim,
) -> None:
    analysis = FragilityAnalysis.objects.get(claim=analysed_claim)
    assert browser().get(f"/analyses/{analysis.pk}/dropped-votes/top_k-9.csv").status_code == 404
    for row in analysis.results["fragility"]:
        path = f"/analyses/{analysis.pk}/dropped-votes/{row['kind']}-{row['k']}.csv"
        assert csv_votes(path) == expected_votes(row["dropped_votes"]), path


def test_the_dataset_page_offers_its_exact_bytes_with_their_digest(
    analysed_claim: BenchmarkClaim,
) -> None:
    dataset = analysed_claim.dataset
    assert dataset is not None
    page = text_of(browser().get(dataset.get_absolute_url()))
    assert dataset.file.sha256 in page
    assert f"/datasets/{dataset.pk}/download/" in links(page)
    response = browser().get(f"/datasets/{dataset.pk}/download/")
    body = b"".join(response.streaming_content)
    assert body == ARENA_CSV
    assert hashlib.sha256(body).hexdigest() == dataset.file.sha256 == response["X-Content-SHA256"]
    assert 'filename="arena.csv"' in response["Content-Disposition"]


def test_a_queued_analysis_shows_live_status_then_the_result(
    alice: User, django_capture_on_commit_callbacks: Any
) -> None:
    benchmark = BenchmarkFactory(kind="pairwise")
    dataset = read_dataset(
        alice,
        ARENA_CSV,
        fields={"benchmark": benchmark, "name": "Queued votes"},
        read_options=SYNTHETIC_READ_OPTIONS,
    )
    with django_capture_on_commit_callbacks(execute=False):
        analysis = analysis_request(actor=alice, dataset=dataset, parameters=FAST)
    page = text_of(browser().get(dataset.get_absolute_url()))
    poll = re.search(r'data-poll-url="([^"]+)"', page)
    assert poll is not None
    assert poll.group(1) == f"/api/v1/analyses/{analysis.pk}/"
    assert "registry/live-status.js" in page
    # What the script reads answers anyone.
    assert browser().get(poll.group(1)).json()["status"] == "pending"
    analysis_run(analysis_id=analysis.pk)
    done = text_of(browser().get(dataset.get_absolute_url()))
    assert "data-poll-url" not in done
    assert 'id="leaderboard"' in done


def test_pages_carry_no_inline_script() -> None:
    page = text_of(browser().get("/"))
    assert re.findall(r"<script(?![^>]*\bsrc=)", page) == []


# --- The API points at the pages ---------------------------------------------------------


@pytest.mark.parametrize(
    "prefix",
    [
        "organizations",
        "releases",
        "benchmarks",
        "datasets",
        "claims",
        "incidents",
        "reports",
        "analyses",
    ],
)
def test_api_records_carry_the_url_of_their_page(
    cases: tuple[Case, Case], analysed_claim: BenchmarkClaim, prefix: str
) -> None:
    client = browser()
    rows = client.get(f"/api/v1/{prefix}/", HTTP_ACCEPT="application/json").json()["results"]
    assert rows
    for row in rows:
        assert row["html_url"].startswith("http://testserver/")
        path = row["html_url"].removeprefix("http://testserver")
        assert client.get(path).status_code == 200, path
    detail = client.get(f"/api/v1/{prefix}/{rows[0]['id']}/", HTTP_ACCEPT="application/json")
    assert detail.json()["html_url"] == rows[0]["html_url"]


def test_organisation_pages_name_what_the_organisation_released_and_claimed() -> None:
    northwind = OrganizationFactory(name="Northwind AI")
    atlas = ModelReleaseFactory(name="Atlas", version="4", organization=northwind)
    claim = BenchmarkClaimFactory(claimant=northwind, release=atlas, statement="Atlas wins.")
    page = text_of(browser().get(northwind.get_absolute_url()))
    assert {atlas.get_absolute_url(), claim.get_absolute_url()} <= links(page)
    assert Organization.objects.count() >= 1


def test_a_beats_claim_marks_both_of_its_models(
    alice: User, analysed_claim: BenchmarkClaim
) -> None:
    rival = ModelReleaseFactory(name="model-03", version="")
    claim = BenchmarkClaimFactory(
        release=analysed_claim.release,
        benchmark=analysed_claim.benchmark,
        dataset=analysed_claim.dataset,
        kind="beats",
        compared_release=rival,
        statement="model-00 beats model-03.",
    )
    analysis = analysis_request(actor=alice, dataset=claim.dataset, claim=claim, parameters=FAST)
    analysis_run(analysis_id=analysis.pk)
    page = text_of(browser().get(claim.get_absolute_url()))
    assert re.search(
        r'<tr class="highlight">\s*<td[^>]*>\d+</td>\s*<td data-sort="model-00">', page
    )
    assert re.search(r'<td data-sort="model-03">model-03 <span class="badge">compared</span>', page)


def test_filters_offer_any_rather_than_dashes() -> None:
    page = text_of(browser().get("/claims/"))
    assert '<option value="" selected>Any</option>' in page
    assert "---------" not in page
