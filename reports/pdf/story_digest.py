"""The body of a digest: what the registry recorded over a period.

A *digest* lists new model releases, claims with their fragility verdicts and incidents
that are public. Embargoed incidents never reach this module: the caller filters them and
``validate_document`` refuses a digest that still lists one.
"""

from __future__ import annotations

from reportlab.platypus import Flowable

from reports.pdf.document import DigestSection
from reports.pdf.story_common import (
    count_of,
    data_table,
    fmt_int,
    fmt_percent,
    heading,
    markup,
    note_box,
    para,
)


def _summary(digest: DigestSection) -> list[Flowable]:
    fragile = sum(1 for claim in digest["claims"] if claim["verdict"] == "fragile")
    return [
        *heading("1. The period in brief"),
        markup(
            f"From <b>{digest['period_start']}</b> to <b>{digest['period_end']}</b> the registry "
            f"recorded <b>{count_of(len(digest['releases']), 'model release')}</b>, lists "
            f"<b>{count_of(len(digest['claims']), 'benchmark claim')}</b> made or analysed "
            f"(<b>{fragile}</b> found fragile) and "
            f"<b>{count_of(len(digest['incidents']), 'public incident')}</b>.",
            "verdict",
        ),
        *_definitions(),
    ]


def _releases(digest: DigestSection) -> list[Flowable]:
    rows = [
        [r["released_on"], r["organisation"], r["model"], r["version"]]
        for r in sorted(digest["releases"], key=lambda r: (r["released_on"], r["model"]))
    ]
    table = data_table(["Released", "Organisation", "Model", "Version"], rows, [70, 140, 183, 100])
    return [*heading("2. New releases"), table if rows else para("No releases in this period.")]


# The verdict words of ``registry.fragility.presenter.claim_verdict``, defined.
VERDICT_DEFINITIONS = (
    (
        "fragile",
        "the analysis found a set of votes, within its search budget, whose removal overturns "
        "the claim, and an exact refit of the model without them confirmed it.",
    ),
    (
        "robust within the search budget",
        "no such set was found. This is not a certificate of robustness: the search finds "
        "upper bounds, and a smaller set may exist.",
    ),
    ("does not hold on the full data", "the claim is already false on all the votes."),
    ("not answerable", "the claim cannot be tested on the dataset (the reason is given)."),
    ("not analysed", "no finished fragility analysis answers the claim yet."),
)

DATE_BASIS = (
    "A claim is listed when it was <b>published</b> in the period (its claim date) <b>or</b> "
    "when the analysis behind its verdict <b>finished</b> in the period (its analysis date), "
    "so a claim made earlier but analysed now appears too; both dates are shown. Releases are "
    "listed by release date, incidents by the day they were opened or last updated. Dates are "
    "UTC days, both ends of the period included."
)


def _definitions() -> list[Flowable]:
    items = [markup(f"<b>{word}</b>: {text}", "small") for word, text in VERDICT_DEFINITIONS]
    return [
        note_box(
            [
                markup("<b>What the verdicts mean</b>", "small"),
                *items,
                markup("<b>Which dates count</b>", "small"),
                markup(DATE_BASIS, "small"),
            ]
        )
    ]


def _claims(digest: DigestSection) -> list[Flowable]:
    rows = [
        [
            c["claim_id"],
            c["model"],
            c["statement"],
            c.get("claim_date", "—"),
            c.get("analysed_on", "—"),
            c["verdict"],
            fmt_int(c["votes_to_flip"]),
            fmt_percent(c["fraction"]),
        ]
        for c in digest["claims"]
    ]
    return [
        *heading("3. Claims and their fragility"),
        data_table(
            [
                "Claim",
                "Model",
                "Claim as published",
                "Claimed",
                "Analysed",
                "Verdict",
                "Votes",
                "Share",
            ],
            rows,
            [48, 62, 125, 55, 55, 70, 36, 42],
            numeric_from_column=6,
        )
        if rows
        else para("No claims were made or analysed in this period."),
        para(
            "Votes: the fewest dropped votes found that reverse the claimed ordering (an upper "
            "bound). Share: those votes as a share of the dataset.",
            "small",
        ),
    ]


def _incidents(digest: DigestSection) -> list[Flowable]:
    rows = [
        [i["incident_id"], i["title"], i["status"], i["evidentiary_level"], i["opened_on"]]
        for i in digest["incidents"]
    ]
    return [
        *heading("4. Public incidents"),
        data_table(
            ["Incident", "Title", "Status", "Evidence", "Opened"], rows, [66, 207, 75, 80, 65]
        )
        if rows
        else para("No public incidents in this period."),
        para("Incidents under embargo are omitted until the embargo lifts.", "small"),
    ]


def digest_story(digest: DigestSection) -> list[Flowable]:
    """All body flowables of a digest, after the title page."""
    return [*_summary(digest), *_releases(digest), *_claims(digest), *_incidents(digest)]
