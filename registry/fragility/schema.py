"""The typed shape of an analysis result (``analyze``) and of a claim answer
(``registry.analyses.claim_fragility``), as stored in ``FragilityAnalysis.results`` and
``claim_answer`` and documented in the README's "Result schema".

Every reader (the pages, the CLI, the report builder) goes through
``registry.fragility.presenter`` rather than interpreting these dicts itself. Keys that
older analyses may lack are ``NotRequired``; a value the engine could not compute is None.
"""

from __future__ import annotations

from typing import NotRequired, TypedDict


class DuplicateVote(TypedDict):
    """An exact duplicate kept out of the fit: its id and 1-based record, and the earlier one."""

    vote: int | str
    record: int
    repeats_record: int


class DatasetInfo(TypedDict):
    sha256: str
    format: str
    n_votes: int
    n_models: int
    n_ties: int
    vote_ids: str
    # Records read but kept out of every fit (engine 1.1.0 on; older results lack them).
    n_self_comparisons: NotRequired[int]
    self_comparison_votes: NotRequired[list[int | str]]
    n_duplicates: NotRequired[int]
    duplicate_votes: NotRequired[list[DuplicateVote]]
    n_excluded: NotRequired[int]


class FitInfo(TypedDict):
    tie_handling: str
    n_votes_used: int
    models_without_votes: NotRequired[list[str]]  # no fitted vote involves them: no score
    reference_model: str
    mle_exists: NotRequired[bool]
    mle_problem: NotRequired[str | None]
    mle_problem_models: NotRequired[list[str]]
    ridge: NotRequired[float]
    gradient_tolerance: NotRequired[float]
    budget_votes: NotRequired[int]
    bootstrap_rounds: NotRequired[int]
    seed: NotRequired[int]


class ScoreRow(TypedDict):
    model: str
    score: float | None
    elo: float | None
    ci_low: float | None
    ci_high: float | None
    rank: int
    rank_ub: int
    votes: NotRequired[int]  # used votes involving the model (engine 1.2.0 on)
    ridge_dependent: NotRequired[bool]
    bootstrap_ci_low: NotRequired[float | None]
    bootstrap_ci_high: NotRequired[float | None]
    rank_low: NotRequired[int | None]
    rank_high: NotRequired[int | None]


class FragilityRow(TypedDict):
    kind: str
    k: int
    pair: list[str]
    challenger: str
    votes_to_flip: int | None
    fraction: float | None
    dropped_votes: list[int | str]
    gap_before: float | None
    gap_after: float | None
    verified: bool
    budget_exhausted: NotRequired[bool]
    certified_robust: NotRequired[bool]
    ridge_dependent: NotRequired[bool]


class BaselineRow(TypedDict):
    fraction: float
    votes_dropped: int
    trials: int
    trials_skipped_no_mle: int
    top1_changed: int
    rate: float | None


class InfluentialVote(TypedDict):
    vote: int | str
    model_a: str
    model_b: str
    winner: str
    gap_change: float


class AnalysisResult(TypedDict):
    engine_version: NotRequired[str]
    dataset: NotRequired[DatasetInfo]
    fit: FitInfo
    scores: list[ScoreRow]
    fragility: list[FragilityRow]
    random_drop_baseline: NotRequired[list[BaselineRow]]
    most_influential_votes: NotRequired[list[InfluentialVote]]
    timings_seconds: NotRequired[dict[str, float]]


class VoteContent(TypedDict):
    """One vote as the file has it: its id, the two models shown and who won."""

    vote: int | str
    model_a: str
    model_b: str
    winner: str  # model_a, model_b or tie


class ClaimAnswer(TypedDict, total=False):
    """The claim answered directly; when ``answerable`` is false only ``reason`` is set."""

    answerable: bool
    reason: str
    model: str
    holds_on_full_data: bool
    kind: str
    k: int
    pair: list[str]
    challenger: str
    votes_to_flip: int | None
    fraction: float | None
    dropped_votes: list[int | str]
    dropped_vote_details: list[VoteContent]  # the same votes with their content (engine 1.2.0 on)
    gap_before: float | None
    gap_after: float | None
    verified: bool
