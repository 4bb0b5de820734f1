"""The body of a claim report: the claim, its data, the leaderboard and how fragile it is.

A *fragile* ranking is one that a handful of votes decides: dropping them and refitting
reverses the order. The report states how many votes that takes (``votes_to_flip``), what
share of the data they are, and lists their ids so anyone can re-run the refit.
"""

from __future__ import annotations

from xml.sax.saxutils import escape

from reportlab.lib.units import mm
from reportlab.platypus import Flowable, KeepTogether, Spacer

from reports.pdf.charts import score_interval_chart, votes_to_flip_chart
from reports.pdf.document import BaselineRow, ClaimSection, FragilityRow, ScoreRow
from reports.pdf.story_common import (
    CONTENT_WIDTH,
    count_of,
    data_table,
    facts_table,
    fmt_float,
    fmt_int,
    fmt_percent,
    heading,
    markup,
    note_box,
    para,
)

METHOD_TEXT = (
    "Scores come from a Bradley-Terry model [1] fitted by maximum "
    "likelihood to the pairwise votes; Elo values are the same scores rescaled by 400/ln 10. "
    "The <i>95% interval</i> is the robust (sandwich) interval of the fit, as LMArena computes "
    "it; the <i>bootstrap interval</i> is the 2.5th to 97.5th percentile of the scores refitted "
    "on votes resampled with replacement. A <i>rank upper bound</i> is the worst rank a model "
    "could take while staying inside every interval.",
    "Fragility is searched as Huang, Shen, Wei and Broderick do for LLM leaderboards [3], with "
    "the approximate maximum influence perturbation (AMIP) of Broderick, Giordano and Meager "
    "[2]: the influence of each vote on the score gap is approximated to first order, the most "
    "influential votes are dropped, and the model is refitted exactly to confirm the flip. A "
    "row marked <i>confirmed</i> passed that refit.",
    "The <i>random-drop baseline</i> drops the same numbers of votes chosen at random instead "
    "and counts how often the leader changes: it shows how much more the votes the method "
    "picks matter than typical votes do.",
    "<b>Limits.</b> AMIP finds <i>a</i> set of votes that flips the order, not necessarily the "
    "smallest one, so each votes-to-flip figure is an <b>upper bound</b>: fewer votes may "
    "suffice. A large figure is therefore weaker evidence of robustness than a small figure is "
    "of fragility. The analysis says nothing about whether the votes themselves are sound; it "
    "measures how much the published order depends on a few of them.",
)

# The works the method rests on, cited by number in METHOD_TEXT.
REFERENCES = (
    "Bradley, R. A. and Terry, M. E. (1952). Rank analysis of incomplete block designs: I. "
    "The method of paired comparisons. <i>Biometrika</i> 39(3/4), 324-345.",
    "Broderick, T., Giordano, R. and Meager, R. (2020). An automatic finite-sample robustness "
    "metric: when can dropping a little data make a big difference? arXiv:2011.14999.",
    "Huang, J. Y., Shen, Y., Wei, D. and Broderick, T. (2026). Dropping just a handful of "
    "preferences can change top large language model rankings. ICLR 2026; arXiv:2508.11847.",
)


def _describe_flip(row: FragilityRow, n_votes: int) -> str:
    """One sentence, in plain words, saying what the fragility analysis found."""
    incumbent, challenger = (escape(name) for name in row["pair"])
    if row["votes_to_flip"] is None:
        return (
            f"No set of dropped votes that lets <b>{challenger}</b> overtake "
            f"<b>{incumbent}</b> was found within the search budget."
        )
    confirmation = (
        f"an exact refit confirmed it (score gap {fmt_float(row['gap_before'], 4)} before, "
        f"{fmt_float(row['gap_after'], 4)} after)"
        if row["verified"]
        else "the exact refit did <b>not</b> confirm it, so treat it as indicative only"
    )
    return (
        f"Dropping <b>{fmt_int(row['votes_to_flip'])}</b> of the {count_of(n_votes, 'vote')} "
        f"(<b>{fmt_percent(row['fraction'])}</b>) lets <b>{challenger}</b> overtake "
        f"<b>{incumbent}</b>; {confirmation}."
    )


def _headline(claim: ClaimSection) -> FragilityRow | None:
    """The row that answers the claim itself when there is one, else the top-1 test."""
    rows = claim["fragility"]
    for kind in ("claim", "top1"):
        found = next((r for r in rows if r["kind"] == kind), None)
        if found:
            return found
    return rows[0] if rows else None


def _row_label(row: FragilityRow) -> str:
    """How a fragility row is named in tables: "claim", "top 1", "top 3", "rank 4"."""
    if row["kind"] == "claim":
        return "claim"
    if row["kind"] == "top1":
        return "top 1"
    return f"{row['kind']} {row['k'] or ''}".strip()


def _refit_label(row: FragilityRow) -> str:
    if row["votes_to_flip"] is None:
        return "no flip found"
    return "confirmed" if row["verified"] else "not confirmed"


def _claim_section(claim: ClaimSection) -> list[Flowable]:
    summary = _headline(claim)
    finding = (
        _describe_flip(summary, claim["dataset"]["n_votes"])
        if summary
        else "No fragility analysis has been recorded for this claim."
    )
    return [
        *heading("1. The claim as published"),
        note_box([para(f"“{claim['statement']}”", "quote")]),
        Spacer(1, 3 * mm),
        facts_table(
            [
                ("Claim ID", claim["claim_id"]),
                ("Claimant", claim["claimant"]),
                ("Model", claim["model"]),
                ("Benchmark", claim["benchmark"]),
                ("Published", claim["claim_date"]),
                ("Source", para(claim["source_url"], "cell_mono")),
            ]
        ),
        *heading("2. Finding in brief"),
        markup(finding, "verdict"),
    ]


def _dataset_section(claim: ClaimSection) -> list[Flowable]:
    dataset, fit = claim["dataset"], claim["fit"]
    return [
        *heading("3. Dataset provenance and model fit"),
        facts_table(
            [
                ("Source", para(dataset["source_url"], "cell_mono")),
                ("SHA-256", para(dataset["sha256"], "cell_mono")),
                ("Votes", fmt_int(dataset["n_votes"])),
                ("Models", fmt_int(dataset["n_models"])),
                ("Ties", f"{fmt_int(dataset['n_ties'])} (tie handling: {fit['tie_handling']})"),
                ("Reference model", f"{fit['reference_model']} (score fixed at 0)"),
                ("MLE exists", "yes" if fit["mle_exists"] else "no: scores are ridge-penalised"),
                ("Ridge penalty", fmt_float(fit["ridge"], 4)),
            ]
        ),
        Spacer(1, 3 * mm),
        note_box(
            [markup("<b>Data attribution</b>", "small"), para(dataset["attribution"], "small")]
        ),
    ]


def _leaderboard_section(claim: ClaimSection) -> list[Flowable]:
    scores = sorted(claim["scores"], key=lambda row: row["rank"])
    summary = _headline(claim)
    highlight = frozenset([claim["model"], *(summary["pair"] if summary else [])])
    rows = [
        [
            str(row["rank"]),
            str(row["rank_ub"]),
            row["model"],
            fmt_float(row["elo"], 1),
            _interval(row["ci_low"], row["ci_high"]),
            _interval(row.get("bootstrap_ci_low"), row.get("bootstrap_ci_high")),
            _rank_range(row),
        ]
        for row in scores
    ]
    widths = [34, 38, 151, 45, 85, 85, 55]
    rounds = claim.get("bootstrap_rounds") or 0
    bootstrap_note = (
        f"Bootstrap: {count_of(rounds, 'resample')} of the votes; rank range is the 2.5th to "
        "97.5th percentile of the model's rank across them."
        if rounds
        else "No bootstrap was run for this analysis."
    )
    return [
        # The chart fills most of a page: keep its heading with it rather than orphaned.
        KeepTogether(
            [
                *heading("4. Leaderboard"),
                para("Models in orange are the claimed model and its closest challenger.", "small"),
                score_interval_chart(scores, width=CONTENT_WIDTH, highlight=highlight),
            ]
        ),
        Spacer(1, 4 * mm),
        data_table(
            ["Rank", "Rank UB", "Model", "Elo", "95% interval", "Bootstrap 95%", "Rank range"],
            rows,
            widths,
            numeric_from_column=3,
        ),
        Spacer(1, 2 * mm),
        para(
            "Rank UB: the worst rank compatible with the 95% intervals. Intervals are in Elo. "
            + bootstrap_note,
            "small",
        ),
    ]


def _interval(low: float | None, high: float | None) -> str:
    if low is None or high is None:
        return "—"
    return f"{fmt_float(low, 1)} to {fmt_float(high, 1)}"


def _rank_range(row: ScoreRow) -> str:
    low, high = row.get("rank_low"), row.get("rank_high")
    if low is None or high is None:
        return "—"
    return str(low) if low == high else f"{low} to {high}"


def _baseline_section(claim: ClaimSection) -> list[Flowable]:
    baseline = claim.get("random_drop_baseline") or []
    flowables: list[Flowable] = [
        *heading("6. Random-drop baseline"),
        para(
            "How often the leader changes when the same numbers of votes are dropped at random "
            "rather than chosen by the method. A method that needs far fewer votes than random "
            "dropping does is finding votes that decide the ranking.",
        ),
        Spacer(1, 2 * mm),
    ]
    if not baseline:
        return [*flowables, para("No random-drop baseline was run for this analysis.")]
    rows = [
        [
            fmt_percent(row["fraction"]),
            fmt_int(row["votes_dropped"]),
            fmt_int(row["trials"]),
            fmt_int(row["top1_changed"]),
            fmt_percent(row["rate"], 1),
        ]
        for row in baseline
    ]
    header = ["Share dropped", "Votes dropped", "Trials", "Leader changed", "Rate"]
    table = data_table(header, rows, [95, 100, 90, 110, 98], numeric_from_column=0)
    return [*flowables, table, *_baseline_comparison(claim, baseline)]


def _baseline_comparison(claim: ClaimSection, baseline: list[BaselineRow]) -> list[Flowable]:
    """One sentence setting the method's count beside the largest random drop."""
    top = next((row for row in claim["fragility"] if row["kind"] == "top1"), None)
    if top is None or top["votes_to_flip"] is None:
        return []
    largest = max(baseline, key=lambda row: row["votes_dropped"])
    return [
        Spacer(1, 2 * mm),
        markup(
            f"The method's <b>{count_of(top['votes_to_flip'], 'vote')}</b> "
            f"({fmt_percent(top['fraction'])}) change the leader; "
            f"<b>{count_of(largest['votes_dropped'], 'vote')}</b> dropped at random changed it "
            f"in {fmt_int(largest['top1_changed'])} of {count_of(largest['trials'], 'trial')}.",
        ),
    ]


def _fragility_section(claim: ClaimSection) -> list[Flowable]:
    n_votes = claim["dataset"]["n_votes"]
    rows = [
        [
            _row_label(row),
            f"{row['pair'][0]} → {row['challenger']}",
            fmt_int(row["votes_to_flip"]),
            fmt_percent(row["fraction"]),
            fmt_float(row["gap_before"], 4),
            fmt_float(row["gap_after"], 4),
            _refit_label(row),
        ]
        for row in claim["fragility"]
    ]
    return [
        # The heading and its explanation travel with the chart rather than stay orphaned.
        KeepTogether(
            [
                *heading("5. Fragility"),
                para(
                    "Each line asks: how many votes must be dropped for the challenger to "
                    "overtake the incumbent? Fewer votes means a more fragile ordering.",
                ),
                Spacer(1, 2 * mm),
                votes_to_flip_chart(claim["fragility"], width=CONTENT_WIDTH),
            ]
        ),
        Spacer(1, 3 * mm),
        data_table(
            [
                "Test",
                "Incumbent → challenger",
                "Votes",
                "Share",
                "Gap before",
                "Gap after",
                "Refit",
            ],
            rows,
            [44, 182, 40, 42, 50, 50, 85],
            numeric_from_column=2,
        ),
        Spacer(1, 2 * mm),
        para(f"Share is votes to flip divided by all {count_of(n_votes, 'vote')}.", "small"),
    ]


def _dropped_votes_section(claim: ClaimSection) -> list[Flowable]:
    flowables: list[Flowable] = [
        *heading("7. Dropped votes"),
        para(
            "Vote ids are 1-based row numbers in the dataset file identified above. Dropping "
            "exactly these votes and refitting reproduces each flip.",
            "small",
        ),
    ]
    for row in claim["fragility"]:
        if not row["dropped_votes"]:
            continue
        title = (
            f"{escape(row['pair'][0])} → {escape(row['challenger'])}: "
            f"{count_of(len(row['dropped_votes']), 'vote')}"
        )
        ids = ", ".join(str(vote) for vote in row["dropped_votes"])
        label = _row_label(row).capitalize()
        flowables += [markup(f"<b>{label}.</b> {title}", "cell"), para(ids, "mono_block")]
        flowables.append(Spacer(1, 2 * mm))
    return flowables


def _method_section(claim: ClaimSection) -> list[Flowable]:
    return [
        *heading("8. Method and its limits"),
        *[markup(text) for text in METHOD_TEXT],
        Spacer(1, 2 * mm),
        para(f"Analysis engine: {claim['engine_version']}.", "small"),
        *heading("References", 2),
        *[markup(f"[{number}] {text}", "small") for number, text in enumerate(REFERENCES, 1)],
    ]


def claim_story(claim: ClaimSection) -> list[Flowable]:
    """All body flowables of a claim report, after the title page."""
    return [
        *_claim_section(claim),
        *_dataset_section(claim),
        *_leaderboard_section(claim),
        *_fragility_section(claim),
        *_baseline_section(claim),
        *_dropped_votes_section(claim),
        *_method_section(claim),
    ]
