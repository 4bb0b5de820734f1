"""What each kind of user does, in a real browser against the live registry: a reader
understands a claim's verdict, an analyst watches an analysis finish, an investigator and
an approver settle an incident under the four-eyes rule, a reviewer tells a genuine report
from a tampered one. Selectors are roles, labels and visible text, as a person finds them."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import analysis_done, api_json, log_in, wait_for
from tests.synthetic_votes import SYNTHETIC_READ_OPTIONS, synthetic_arena_csv

HEADLINE_CLAIM = "Atlas 4 is the number one model"
BYTE_RANGE = re.compile(rb"/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]")

Api = Callable[[str], Any]
Shot = Callable[[Any, str], Any]


def _claim(api: Api, statement_start: str) -> dict[str, Any]:
    claims = api_json(api("viewer").get("/api/v1/claims/?page_size=100"))["results"]
    return next(claim for claim in claims if claim["statement"].startswith(statement_start))


def test_a_reader_opens_a_claim_and_reads_its_verdict(
    page: Any, api: Api, demo_analyses: dict[int, int], shot: Shot
) -> None:
    claim = _claim(api, HEADLINE_CLAIM)
    analysis = analysis_done(api, demo_analyses[claim["id"]])
    votes = analysis["claim_answer"]["votes_to_flip"]

    page.goto("/")
    page.get_by_role("link", name=re.compile(HEADLINE_CLAIM)).first.click()
    expect(page).to_have_url(re.compile(rf"/claims/{claim['id']}/$"))
    main = page.get_by_role("main")
    # The claim is quoted (not stated as fact), then how many votes overturn it.
    expect(main).to_contain_text(f"“{HEADLINE_CLAIM}")
    verdict = re.compile(rf"\b{votes:,}\b.{{0,60}}votes.{{0,40}}overturn")
    expect(main.get_by_text(verdict).first).to_be_visible()
    shot(page, "reader-claim")


def _upload_votes(api: Api) -> dict[str, Any]:
    benchmarks = api_json(api("analyst").get("/api/v1/benchmarks/?page_size=100"))["results"]
    arena = next(b for b in benchmarks if b["kind"] == "pairwise")
    seed = int(time.time())  # a new file each run: the same bytes are one dataset
    upload = {
        "benchmark": str(arena["id"]),
        "name": f"Browser journey votes {seed}",
        "attribution": "Synthetic votes made by the browser tests",
        "file": {
            "name": "votes.csv",
            "mimeType": "text/csv",
            "buffer": synthetic_arena_csv(n_models=6, n_votes=3000, seed=seed),
        },
        **SYNTHETIC_READ_OPTIONS,
    }
    return dict(api_json(api("analyst").post("/api/v1/datasets/", multipart=upload)))


def test_an_analyst_uploads_votes_queues_an_analysis_and_watches_it_finish(
    new_page: Callable[..., Any], api: Api, shot: Shot
) -> None:
    dataset = _upload_votes(api)
    page = new_page()
    log_in(page, "analyst")
    page.goto(f"/datasets/{dataset['id']}/")
    expect(page.get_by_role("heading", level=1)).to_contain_text(dataset["name"])

    analysis = api_json(
        api("analyst").post(
            f"/api/v1/datasets/{dataset['id']}/analyses/",
            data={"parameters": {"bootstrap_rounds": 50, "top_k": [1, 2]}},
        )
    )
    page.reload()
    # The page shows the queued or running analysis and updates itself (no reload here)
    # until the leaderboard replaces it; a worker faster than this page goes straight there.
    progress = page.get_by_role("progressbar", name=re.compile("Progress of"))
    leaderboard = page.get_by_role("heading", name="Leaderboard")
    expect(progress.or_(leaderboard).first).to_be_visible()
    if progress.count():
        shot(page, "analyst-running")
    expect(leaderboard).to_be_visible(timeout=180_000)
    assert api_json(api("analyst").get(f"/api/v1/analyses/{analysis['id']}/"))["status"] == "done"
    expect(page.get_by_role("main")).to_contain_text("model-00")
    shot(page, "analyst-finished")


def _incident_under_investigation(api: Api) -> dict[str, Any]:
    investigator = api("investigator")
    original = api_json(investigator.get("/api/v1/releases/?search=Atlas 4"))["results"][0]
    incident = api_json(
        investigator.post(
            "/api/v1/incidents/",
            data={
                "title": f"Browser journey: suspected copy of Atlas 4 ({int(time.time())})",
                "suspect_name": "Mimic 2B",
                "original_release": original["id"],
                "reporting_organization": original["organization"],
                "summary": "Opened by the browser tests to settle under the four-eyes rule.",
            },
        )
    )
    for status in ("triage", "investigating"):
        api_json(
            investigator.post(
                f"/api/v1/incidents/{incident['id']}/transition/",
                data={"to_status": status, "reason": "Browser journey set-up."},
            )
        )
    return dict(incident)


def _run_incident_action(page: Any, title: str, action: str) -> None:
    page.goto("/admin/registry/cloningincident/")
    page.get_by_role("textbox", name="Search").fill(title)
    page.get_by_role("button", name="Search").click()
    page.get_by_role("row", name=re.compile(re.escape(title))).get_by_role("checkbox").check()
    page.get_by_role("combobox", name=re.compile("^Action")).select_option(label=action)
    page.get_by_role("button", name=re.compile("^(Run|Go)$")).click()


def test_an_investigator_proposes_and_an_approver_approves_but_not_the_proposer(
    new_page: Callable[..., Any], api: Api, shot: Shot
) -> None:
    incident = _incident_under_investigation(api)
    title = incident["title"]

    investigator = new_page()
    log_in(investigator, "investigator")
    _run_incident_action(investigator, title, "Propose a decision on the selected incidents")
    investigator.get_by_label("Proposed status").select_option(label="Substantiated")
    investigator.get_by_label("Reason").fill("The probe answers repeat Atlas 4's wording.")
    shot(investigator, "decision-propose-form")
    investigator.get_by_role("button", name=re.compile("Apply|Propose|Submit", re.I)).click()
    expect(investigator.get_by_text(re.compile(rf"{re.escape(title)}: done"))).to_be_visible()

    _run_incident_action(investigator, title, "Approve the open proposal of the selected incidents")
    expect(investigator.get_by_text(re.compile("Four-eyes rule"))).to_be_visible()
    shot(investigator, "decision-own-approval-refused")

    approver = new_page()
    log_in(approver, "approver")
    _run_incident_action(approver, title, "Approve the open proposal of the selected incidents")
    expect(approver.get_by_text(re.compile(rf"{re.escape(title)}: done"))).to_be_visible()
    shot(approver, "decision-approved")
    settled = api_json(api("investigator").get(f"/api/v1/incidents/{incident['id']}/"))
    assert settled["status"] == "substantiated"


def _flip_signed_byte(data: bytes) -> bytes:
    """One bit changed in the middle of the first signed range (page content)."""
    _, length1, _, _ = map(int, BYTE_RANGE.findall(data)[-1])
    position = length1 // 2
    return data[:position] + bytes([data[position] ^ 0x01]) + data[position + 1 :]


@pytest.fixture(scope="module")
def claim_report(api: Api, demo_analyses: dict[int, int]) -> tuple[dict[str, Any], bytes]:
    claim = _claim(api, HEADLINE_CLAIM)
    analysis_done(api, demo_analyses[claim["id"]])
    analyst = api("analyst")
    report = api_json(
        analyst.post("/api/v1/reports/", data={"kind": "claim", "subject": claim["id"]})
    )
    done = wait_for(
        lambda: (
            row
            if (row := api_json(analyst.get(f"/api/v1/reports/{report['id']}/")))["status"]
            in ("done", "failed")
            else None
        ),
        what=f"report {report['report_id']}",
    )
    assert done["status"] == "done", done
    pdf = analyst.get(f"/api/v1/reports/{report['id']}/download/")
    assert pdf.ok
    return done, pdf.body()


def _verify(page: Any, name: str, data: bytes, mime: str = "application/pdf") -> Any:
    page.get_by_label("Report PDF").set_input_files(
        {"name": name, "mimeType": mime, "buffer": data}
    )
    page.get_by_role("button", name="Verify").click()
    return page.get_by_role("heading", level=2).first


def test_a_reviewer_verifies_a_genuine_and_a_tampered_report(
    page: Any, claim_report: tuple[dict[str, Any], bytes], shot: Shot
) -> None:
    report, data = claim_report
    page.goto("/")
    verify_link = page.get_by_role("link", name=re.compile("verify", re.I))
    if verify_link.count():
        verify_link.first.click()
    else:
        page.goto("/reports/verify/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Verify")

    headline = _verify(page, "genuine.pdf", data)
    expect(headline).to_contain_text(
        f"Genuine report {report['report_id']} on claim {report['claim']}, issued"
    )
    expect(page.get_by_role("note")).to_contain_text("development keys")
    expect(page.get_by_text("The signature matches the bytes it signs")).to_be_visible()
    shot(page, "verify-genuine")

    headline = _verify(page, "tampered.pdf", _flip_signed_byte(data))
    expect(headline).to_have_text("Not genuine: the signed bytes were changed")
    expect(page.get_by_role("main")).not_to_contain_text(report["report_id"])
    expect(page.get_by_text("Not relied on").first).to_be_visible()
    shot(page, "verify-tampered")

    headline = _verify(page, "votes.csv", b"id,left,right,winner\n1,a,b,left\n", "text/csv")
    expect(headline).to_contain_text("This file is not a PDF")
    expect(page.get_by_text("Failed", exact=True)).to_have_count(0)
