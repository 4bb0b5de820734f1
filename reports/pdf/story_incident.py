"""The body of an incident report: parties, timeline, statistical evidence and approvals.

A *cloning incident* is a suspicion that one model was trained on another's outputs
(distillation) without permission. Its *evidentiary level* summarises how strong the
recorded statistical evidence is; each evidence item lists the files it was computed from
by SHA-256, so a reader can obtain and re-test exactly those files.
"""

from __future__ import annotations

from xml.sax.saxutils import escape

from reportlab.lib.units import mm
from reportlab.platypus import Flowable, KeepTogether, Spacer

from reports.pdf.document import EvidenceRow, IncidentSection
from reports.pdf.story_common import (
    data_table,
    facts_table,
    fmt_float,
    fmt_int,
    fmt_p_value,
    fmt_time,
    heading,
    markup,
    note_box,
    para,
    short_hash,
)


def _overview(incident: IncidentSection) -> list[Flowable]:
    return [
        *heading("1. Overview"),
        note_box([para(incident["summary"], "body")]),
        Spacer(1, 3 * mm),
        facts_table(
            [
                ("Incident ID", incident["incident_id"]),
                ("Title", incident["title"]),
                ("Status", incident["status"]),
                ("Evidentiary level", incident["evidentiary_level"]),
                ("Analysis engine", incident["engine_version"]),
            ]
        ),
    ]


def _parties(incident: IncidentSection) -> list[Flowable]:
    rows = [
        [
            party["role"],
            party["organisation"],
            f"{party['release']['model']} {party['release']['version']}",
            party["release"]["released_on"],
            para(party["release"].get("sha256", "—"), "cell_mono"),
        ]
        for party in incident["parties"]
    ]
    return [
        *heading("2. Parties and releases"),
        data_table(
            ["Role", "Organisation", "Release", "Released", "SHA-256"], rows, [80, 80, 95, 58, 180]
        ),
    ]


def _timeline(incident: IncidentSection) -> list[Flowable]:
    rows = [
        [
            f"#{event['seq']:,}",
            fmt_time(event["at"]),
            event["actor"],
            event["action"],
            event["summary"],
            para(short_hash(event["hash"], 12), "cell_mono"),
        ]
        for event in sorted(incident["timeline"], key=lambda event: event["seq"])
    ]
    return [
        *heading("3. Timeline from the ledger"),
        data_table(
            ["Entry", "Time", "Actor", "Action", "Summary", "Hash"], rows, [40, 62, 70, 84, 155, 82]
        ),
    ]


def _interval(row: EvidenceRow) -> str:
    if row["ci_low"] is None or row["ci_high"] is None:
        return "—"
    return f"{fmt_float(row['ci_low'])} to {fmt_float(row['ci_high'])}"


def _evidence(incident: IncidentSection) -> list[Flowable]:
    rows = [
        [
            row["evidence_id"],
            row["method"],
            fmt_int(row["n"]),
            f"{row['statistic_name']} = {fmt_float(row['statistic'])}",
            _interval(row),
            fmt_p_value(row["p_value"]),
            row["decision"],
        ]
        for row in incident["evidence"]
    ]
    file_rows = [
        [row["evidence_id"], file["name"], para(file["sha256"], "cell_mono")]
        for row in incident["evidence"]
        for file in row["files"]
    ]
    return [
        *heading("4. Evidence"),
        data_table(
            ["ID", "Method", "n", "Statistic", "Interval", "p", "Decision"],
            rows,
            [40, 128, 40, 70, 70, 50, 95],
        ),
        *heading("Files the evidence was computed from", 2),
        data_table(["Evidence", "File", "SHA-256"], file_rows, [50, 150, 293]),
    ]


def _atlas_and_approvals(incident: IncidentSection) -> list[Flowable]:
    techniques = [[t["technique_id"], t["name"]] for t in incident["atlas_techniques"]]
    approvals = [
        [a["name"], a["role"], a["decision"], fmt_time(a["at"])] for a in incident["approvals"]
    ]
    return [
        *heading("5. MITRE ATLAS techniques"),
        data_table(["Technique", "Name"], techniques, [90, 403])
        if techniques
        else para("No technique has been mapped yet."),
        *heading("6. Approvals"),
        data_table(["Reviewer", "Role", "Decision", "Time"], approvals, [130, 140, 110, 113])
        if approvals
        else para("No approval has been recorded yet."),
    ]


def _replies(incident: IncidentSection) -> list[Flowable]:
    """The organisations' own statements, printed unedited after the registry's findings."""
    flowables: list[Flowable] = [
        *heading("7. Right of reply"),
        para(
            "An organisation named in an incident may file its own statement. The registry "
            "publishes it unedited beside the incident; it is the organisation's view, not a "
            "finding of the registry.",
            "small",
        ),
        Spacer(1, 2 * mm),
    ]
    replies = incident.get("replies") or []
    if not replies:
        return [*flowables, para("No organisation has filed a reply.")]
    for reply in replies:
        filed = f"Filed {fmt_time(reply['filed_at'])} by {reply['filed_by']}"
        flowables += [
            KeepTogether(
                [
                    markup(f"<b>{escape(reply['organisation'])}</b>", "cell"),
                    para(filed, "small"),
                    Spacer(1, 1 * mm),
                ]
            ),
            note_box([para(reply["statement"], "body")]),
            Spacer(1, 3 * mm),
        ]
    return flowables


def incident_story(incident: IncidentSection) -> list[Flowable]:
    """All body flowables of an incident report, after the title page."""
    return [
        *_overview(incident),
        *_parties(incident),
        *_timeline(incident),
        *_evidence(incident),
        *_atlas_and_approvals(incident),
        *_replies(incident),
    ]
