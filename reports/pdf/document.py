"""The *report document*: the plain, JSON-serialisable dict that ``render_pdf`` turns into a PDF.

A report document is everything a report shows, already looked up and formatted by the
Django side, so that rendering is a pure function of one dict: the same document always
gives the same bytes. It never holds model instances, querysets or datetimes (times are
ISO 8601 strings), and the renderer never reads the clock or the database.

Every document shares a header (:class:`ReportHeader`) and carries exactly one section
chosen by ``kind``: ``claim`` (:class:`ClaimSection`), ``incident``
(:class:`IncidentSection`) or ``digest`` (:class:`DigestSection`).

Scales used below:

* ``score`` is the Bradley-Terry log-strength of a model (natural log odds);
  ``elo`` is the same number on the Elo scale (``elo = 400 / ln(10) * score + offset``),
  and ``ci_low`` / ``ci_high`` bound ``elo`` (95% unless the fit says otherwise).
* ``fraction`` is a share in [0, 1] (``votes_to_flip / n_votes``), rendered as a percentage.
* ``p_value`` is in [0, 1].
"""

from __future__ import annotations

from typing import Any, Literal, NotRequired, TypedDict

ReportKind = Literal["claim", "incident", "digest"]
REPORT_KINDS: tuple[ReportKind, ...] = ("claim", "incident", "digest")


class LedgerHead(TypedDict):
    """The newest ledger entry when the report was built: its sequence number and hash."""

    seq: int
    hash: str


class ManifestFile(TypedDict):
    """One file the report relies on, identified by its SHA-256 (hex, lower case)."""

    role: str  # e.g. "dataset", "evidence"
    name: str
    sha256: str


class ProvenEntry(TypedDict):
    """A ledger entry the report relies on and its inclusion proof (RFC 9162 audit path,
    hex hashes) in the tree the manifest's checkpoint signs."""

    seq: int
    entry_hash: str
    cites: str  # "report", "ledger_head" or a manifest id such as "claim:12"
    proof: list[str]


class LogProofs(TypedDict):
    """The transparency-log evidence: a signed C2SP checkpoint (with any witness
    cosignatures) and inclusion proofs for the entries the report relies on."""

    checkpoint: str
    entries: list[ProvenEntry]


class Manifest(TypedDict):
    """The machine-readable manifest embedded in the PDF as ``manifest.json``.

    It lets a reader check, without trusting the PDF's prose, which registry objects
    the report is about and which exact files and analyses it was computed from.
    """

    report_id: str
    kind: ReportKind
    subject_ids: list[str]
    files: list[ManifestFile]
    analysis_ids: list[str]
    engine_version: str
    ledger_head: LedgerHead
    transparency: NotRequired[LogProofs]


class SignerCertificate(TypedDict):
    """The certificate the registry signs the report with, described on the title page so
    that a reader can match it against the signature a PDF reader shows."""

    subject: str  # RFC 4514 distinguished name, e.g. "CN=Evidence Registry,O=..."
    issuer: str
    serial: str  # hex
    sha256_fingerprint: str  # SHA-256 of the certificate's DER encoding, hex lower case
    valid_from: str  # ISO 8601
    valid_until: str  # ISO 8601


class ReportHeader(TypedDict):
    """Fields every report kind shares; shown on the title page and in the PDF metadata."""

    report_id: str
    kind: ReportKind
    title: str
    subject: str  # human label of what the report is about, e.g. "Claim C-2024-0042"
    generated_at: str  # ISO 8601, supplied by the caller (never read from the clock)
    ledger_head: LedgerHead
    manifest: Manifest
    issuer: NotRequired[str]  # organisation name shown as the PDF author
    verification_instructions: NotRequired[list[str]]  # replaces the default steps
    # Where anyone can upload the PDF to have it checked; printed and drawn as a QR code.
    verification_url: NotRequired[str]
    signer: NotRequired[SignerCertificate]


# --- claim -----------------------------------------------------------------------------


class DatasetInfo(TypedDict):
    """Provenance of the vote dataset a claim was checked against."""

    source_url: str
    sha256: str
    n_votes: int
    n_models: int
    n_ties: int
    attribution: str  # licence attribution text that must be displayed (e.g. CC BY 4.0)


class FitInfo(TypedDict):
    """How the Bradley-Terry model was fitted."""

    tie_handling: str  # e.g. "half win to each side"
    reference_model: str  # model whose score is pinned to 0
    mle_exists: bool  # False when the comparison graph is not strongly connected
    ridge: float  # L2 penalty on scores (0 = plain MLE)


class ScoreRow(TypedDict):
    """One leaderboard line: a model's fitted strength and its rank."""

    model: str
    score: float
    elo: float
    ci_low: float
    ci_high: float
    rank: int
    rank_ub: int  # worst rank compatible with the intervals (an upper bound on rank)
    # Percentile interval (Elo) and rank range from the multinomial bootstrap, when run.
    bootstrap_ci_low: NotRequired[float | None]
    bootstrap_ci_high: NotRequired[float | None]
    rank_low: NotRequired[int | None]
    rank_high: NotRequired[int | None]


class FragilityRow(TypedDict):
    """One *fragility analysis*: the fewest dropped votes found that flip an ordering.

    ``kind`` names the ordering tested: ``"top1"`` (the leader loses first place),
    ``"rank"`` (the models at ranks ``k`` and ``k + 1`` swap) or ``"pair"`` (any named
    pair). ``votes_to_flip`` is None when no flip was found within the search budget.
    """

    kind: str
    k: int | None
    pair: list[str]  # [incumbent, challenger] before dropping votes
    challenger: str
    votes_to_flip: int | None
    fraction: float | None
    dropped_votes: list[int]  # vote ids (1-based row numbers in the dataset)
    gap_before: float  # incumbent minus challenger score before dropping
    gap_after: float | None  # the same after dropping and refitting
    verified: bool  # True when an exact refit confirmed the flip


class BaselineRow(TypedDict):
    """The random-drop baseline at one share: how often dropping that many votes chosen
    at random (not by the method) changed the leader, over ``trials`` refits."""

    fraction: float
    votes_dropped: int
    trials: int
    top1_changed: int
    rate: float | None  # top1_changed / trials that could be refitted; None if none could


class ClaimSection(TypedDict):
    """A benchmark claim as published and what the registry found about it."""

    claim_id: str
    statement: str
    claimant: str
    model: str
    benchmark: str
    source_url: str
    claim_date: str
    dataset: DatasetInfo
    fit: FitInfo
    scores: list[ScoreRow]
    fragility: list[FragilityRow]
    engine_version: str
    bootstrap_rounds: NotRequired[int]  # 0 or absent: no bootstrap was run
    random_drop_baseline: NotRequired[list[BaselineRow]]


# --- incident --------------------------------------------------------------------------


class ReleaseRef(TypedDict):
    """A model release named in an incident."""

    model: str
    version: str
    released_on: str
    sha256: NotRequired[str]  # weights or model-card digest when the registry holds one


class Party(TypedDict):
    """An organisation in an incident and the release it is involved with."""

    role: str  # e.g. "original developer", "suspected distiller"
    organisation: str
    release: ReleaseRef


class TimelineEvent(TypedDict):
    """One ledger entry about the incident."""

    seq: int
    at: str
    actor: str
    action: str
    summary: str
    hash: str


class EvidenceFile(TypedDict):
    """A file an evidence item was computed from."""

    name: str
    sha256: str


class EvidenceRow(TypedDict):
    """One statistical test supporting (or not) the incident."""

    evidence_id: str
    method: str
    n: int
    statistic: float
    statistic_name: str
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    decision: str  # e.g. "reject H0 at 0.01"
    files: list[EvidenceFile]


class AtlasTechnique(TypedDict):
    """A MITRE ATLAS technique the incident maps to."""

    technique_id: str  # e.g. "AML.T0024"
    name: str


class Approval(TypedDict):
    """A reviewer's sign-off on the incident's current status."""

    name: str
    role: str
    decision: str
    at: str


class Reply(TypedDict):
    """A statement an organisation in the incident filed in its own words (right of reply)."""

    organisation: str
    statement: str
    filed_by: str
    filed_at: str  # ISO 8601


class IncidentSection(TypedDict):
    """A suspected model-cloning (distillation) incident and its evidence."""

    incident_id: str
    title: str
    summary: str
    status: str
    evidentiary_level: str
    parties: list[Party]
    timeline: list[TimelineEvent]
    evidence: list[EvidenceRow]
    atlas_techniques: list[AtlasTechnique]
    approvals: list[Approval]
    engine_version: str
    replies: NotRequired[list[Reply]]


# --- digest ----------------------------------------------------------------------------


class DigestRelease(TypedDict):
    """A model release recorded during the digest period."""

    organisation: str
    model: str
    version: str
    released_on: str


class DigestClaim(TypedDict):
    """A claim analysed during the digest period, with its fragility verdict."""

    claim_id: str
    model: str
    benchmark: str
    statement: str
    verdict: str  # e.g. "fragile", "robust", "not analysed"
    votes_to_flip: int | None
    fraction: float | None
    claim_date: NotRequired[str]  # when the claim was published (ISO date or "—")
    analysed_on: NotRequired[str]  # when the analysis behind the verdict finished


class DigestIncident(TypedDict):
    """A non-embargoed incident opened or updated during the digest period."""

    incident_id: str
    title: str
    status: str
    evidentiary_level: str
    opened_on: str
    embargoed: NotRequired[bool]  # must be absent or False: the renderer refuses True


class DigestSection(TypedDict):
    """What happened in the registry over a period."""

    period_start: str
    period_end: str
    releases: list[DigestRelease]
    claims: list[DigestClaim]
    incidents: list[DigestIncident]


class ReportDocument(ReportHeader):
    """A complete report document; exactly the section named by ``kind`` is present."""

    claim: NotRequired[ClaimSection]
    incident: NotRequired[IncidentSection]
    digest: NotRequired[DigestSection]


_HEADER_KEYS = ("report_id", "kind", "title", "subject", "generated_at", "ledger_head", "manifest")


def validate_document(document: dict[str, Any]) -> None:
    """Raise ``ValueError`` naming the first structural problem in ``document``.

    Only the shape the renderer depends on is checked; the content is the caller's.
    A digest that lists an embargoed incident is refused: printing it would leak it.
    """
    missing = [key for key in _HEADER_KEYS if key not in document]
    if missing:
        raise ValueError(f"report document lacks {', '.join(missing)}")
    kind = document["kind"]
    if kind not in REPORT_KINDS:
        raise ValueError(f"unknown report kind {kind!r}; expected one of {REPORT_KINDS}")
    if kind not in document:
        raise ValueError(f"a {kind} report document needs a {kind!r} section")
    if kind == "digest":
        leaked = [i["incident_id"] for i in document["digest"]["incidents"] if i.get("embargoed")]
        if leaked:
            raise ValueError(f"digest lists embargoed incidents: {', '.join(leaked)}")
