"""Services for fragility analyses: request one, run it, record its result.

The job's state is the ``FragilityAnalysis`` row, run by ``registry.jobs.JobRunner``:
a worker claims it with a conditional UPDATE (PENDING -> RUNNING), so a duplicate
delivery of the task does nothing; the engine runs outside any transaction; the result
is written in one short transaction with its ledger entry, and any error fails the row
with its message. A sweep re-queues rows whose worker's lease lapsed.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError

from registry.datasets import read_dataset_votes
from registry.errors import ConflictError
from registry.fragility import ENGINE_VERSION, AnalysisOptions, Arena, analyze, fragility_row
from registry.fragility.cost import MAX_BOOTSTRAP_ROUNDS, MAX_RANDOM_TRIALS, expected_seconds
from registry.jobs import DATABASE_TRANSIENT_ERRORS, JobAttempt, JobRunner, JobStatuses
from registry.ledger import PUBLIC, ledger_append
from registry.models import BenchmarkClaim, FragilityAnalysis, VoteDataset
from registry.roles import ANALYST, AnyUser, recorded_user
from registry.services._base import require_role, writing
from registry.services.claims import claim_transition
from registry.services.datasets import dataset_require_ready

# Errors worth another try (the database's); anything else fails the analysis.
TRANSIENT_ERRORS = DATABASE_TRANSIENT_ERRORS

DEFAULT_PARAMETERS: dict[str, Any] = {
    "ties": "half",
    "top_k": [1, 3, 5],
    "bootstrap_rounds": 1000,
    "seed": 0,
    "budget": 0.01,
    "adjacent_pairs": True,
    "random_trials": 100,
}


def analysis_parameters(raw: Mapping[str, Any] | None) -> dict[str, Any]:
    """Defaults overlaid with the caller's parameters, validated."""
    params = {**DEFAULT_PARAMETERS, **(raw or {})}
    errors: dict[str, list[str]] = {}
    if params["ties"] not in ("half", "drop"):
        errors["ties"] = ["Use 'half' (a tie is half a win each) or 'drop'."]
    top_k = params["top_k"]
    if not (isinstance(top_k, list) and all(isinstance(k, int) and k >= 1 for k in top_k)):
        errors["top_k"] = ["A list of positive integers, e.g. [1, 3, 5]."]
    rounds = params["bootstrap_rounds"]
    if not (isinstance(rounds, int) and 0 <= rounds <= MAX_BOOTSTRAP_ROUNDS):
        errors["bootstrap_rounds"] = [_bound_message(MAX_BOOTSTRAP_ROUNDS)]
    if not isinstance(params["seed"], int):
        errors["seed"] = ["An integer."]
    budget = params["budget"]
    if not (isinstance(budget, int | float) and 0 < budget <= 0.5):
        errors["budget"] = ["A fraction of the votes, greater than 0 and at most 0.5."]
    if not isinstance(params["adjacent_pairs"], bool):
        errors["adjacent_pairs"] = ["true or false."]
    trials = params["random_trials"]
    if not (isinstance(trials, int) and 0 <= trials <= MAX_RANDOM_TRIALS):
        errors["random_trials"] = [_bound_message(MAX_RANDOM_TRIALS)]
    unknown = set(params) - set(DEFAULT_PARAMETERS)
    for name in unknown:
        errors[name] = ["Unknown parameter."]
    if errors:
        raise ValidationError(errors)
    return params


def _bound_message(limit: int) -> str:
    return (
        f"An integer from 0 to {limit:,}: the limit keeps an analysis of 10 million votes "
        'within minutes (README, "Bounded work").'
    )


def analysis_expected_seconds(analysis: FragilityAnalysis) -> float | None:
    """An upper estimate of how long the analysis computes, from its dataset's size;
    None while the dataset's size is not known."""
    dataset = analysis.dataset
    if dataset.n_votes is None or dataset.n_models is None:
        return None
    params = analysis.parameters
    return round(
        expected_seconds(
            n_votes=dataset.n_votes,
            n_models=dataset.n_models,
            bootstrap_rounds=params.get("bootstrap_rounds", 0),
            random_trials=params.get("random_trials", 0),
        ),
        1,
    )


def analysis_request(
    *,
    actor: AnyUser | None,
    dataset: VoteDataset | None = None,
    claim: BenchmarkClaim | None = None,
    parameters: Mapping[str, Any] | None = None,
) -> FragilityAnalysis:
    """Record a pending analysis of ``dataset`` (a claim's own dataset when ``claim`` is
    given) and queue it once the transaction commits."""
    require_role(actor, ANALYST, doing="request fragility analyses")
    if claim is not None:
        if claim.dataset is None:
            raise ValidationError(
                {"dataset": [f"Claim {claim.pk} names no vote dataset to analyse."]}
            )
        if claim.status == BenchmarkClaim.Status.WITHDRAWN:
            raise ConflictError(f"Claim {claim.pk} was withdrawn; it is no longer analysed.")
        dataset = claim.dataset
    if dataset is None:
        raise ValidationError({"dataset": ["Name the vote dataset to analyse."]})
    dataset_require_ready(dataset, doing="be analysed")
    params = analysis_parameters(parameters)
    with writing():
        analysis = FragilityAnalysis.objects.create(
            dataset=dataset,
            claim=claim,
            parameters=params,
            input_sha256=dataset.file.sha256,
            requested_by=recorded_user(actor),
        )
        ledger_append(instance=analysis, action="request", actor=actor, scope=PUBLIC)
        if claim is not None and claim.status == BenchmarkClaim.Status.RECORDED:
            _set_claim_status(claim, BenchmarkClaim.Status.UNDER_ANALYSIS, actor)
        ANALYSIS_JOBS.publish_on_commit(analysis.pk)
    return analysis


def _set_claim_status(claim: BenchmarkClaim, status: str, actor: AnyUser | None) -> None:
    claim_transition(claim=claim, to_status=status, actor=actor, reason="fragility analysis")


@dataclass(frozen=True)
class AnalysisOutcome:
    """What the engine answered: the leaderboard's fragility and, for a claim, the claim's."""

    results: dict[str, Any]
    claim_answer: dict[str, Any] | None


def _compute(job: JobAttempt) -> AnalysisOutcome:
    analysis = FragilityAnalysis.objects.select_related("dataset__file", "claim").get(pk=job.pk)
    dataset = analysis.dataset
    with dataset.file.content.open("rb") as handle:
        raw = handle.read()
    votes = read_dataset_votes(raw, dataset.read_options)
    options = _options(analysis)
    results = analyze(votes, options, progress=_progress_writer(job))
    claim_answer = None
    if analysis.claim is not None:
        claim_answer = claim_fragility(
            Arena(votes, ties=options.ties, budget=options.budget), analysis.claim
        )
    return AnalysisOutcome(results=results, claim_answer=claim_answer)


def _record(analysis: FragilityAnalysis, outcome: AnalysisOutcome) -> None:
    analysis.results = outcome.results
    analysis.claim_answer = outcome.claim_answer
    analysis.engine_version = ENGINE_VERSION
    claim = analysis.claim
    if claim is not None and claim.status == BenchmarkClaim.Status.UNDER_ANALYSIS:
        _set_claim_status(claim, BenchmarkClaim.Status.ANALYSED, None)


# The task that runs an analysis (registry/tasks.py), by its registered name.
ANALYSIS_TASK = "registry.tasks.run_fragility_analysis"

ANALYSIS_JOBS = JobRunner(
    model=FragilityAnalysis,
    statuses=JobStatuses(
        pending=FragilityAnalysis.Status.PENDING,
        running=(FragilityAnalysis.Status.RUNNING,),
        done=FragilityAnalysis.Status.DONE,
        failed=FragilityAnalysis.Status.FAILED,
    ),
    task=ANALYSIS_TASK,
    compute=_compute,
    record=_record,
    scope=lambda analysis: PUBLIC,
    transient=TRANSIENT_ERRORS,
)


def analysis_claim(*, analysis_id: int) -> int | None:
    """Take a pending analysis for this worker: its attempt number, or None if not ours."""
    return ANALYSIS_JOBS.claim(analysis_id)


def analysis_run(*, analysis_id: int) -> None:
    """Claim, compute (outside any transaction) and record one analysis."""
    ANALYSIS_JOBS.run(analysis_id)


def _options(analysis: FragilityAnalysis) -> AnalysisOptions:
    params = analysis.parameters
    return AnalysisOptions(
        top_k=tuple(params["top_k"]),
        bootstrap_rounds=params["bootstrap_rounds"],
        seed=params["seed"],
        budget=params["budget"],
        ties=params["ties"],
        adjacent_pairs=params["adjacent_pairs"],
        random_trials=params["random_trials"],
    )


def _progress_writer(job: JobAttempt) -> Any:
    last = {"percent": -1, "at": 0.0}

    def write(percent: int) -> None:
        # At most a write a second: progress is for people watching, not a log.
        now = time.monotonic()
        if percent != 100 and (percent == last["percent"] or now - last["at"] < 1.0):
            return
        last.update(percent=percent, at=now)
        job.update(progress=min(percent, 99))

    return write


def claim_fragility(arena: Arena, claim: BenchmarkClaim) -> dict[str, Any]:
    """Answer the claim directly: how many votes overturn exactly what was claimed."""
    model = claim.model_label or claim.release.name
    try:
        return _claim_fragility(arena, claim, model)
    except KeyError as exc:
        return {"answerable": False, "reason": f"{exc.args[0]} in this dataset"}


def _claim_fragility(arena: Arena, claim: BenchmarkClaim, model: str) -> dict[str, Any]:
    if claim.kind == BenchmarkClaim.Kind.RANK and claim.claimed_rank:
        outcome = arena.holds_rank(model, claim.claimed_rank)
        row = fragility_row(arena, outcome, kind="claim_rank", k=claim.claimed_rank)
    elif claim.kind == BenchmarkClaim.Kind.BEATS and claim.compared_release is not None:
        rival = claim.compared_label or claim.compared_release.name
        outcome = arena.beats(model, rival)
        row = fragility_row(arena, outcome, kind="claim_beats", k=1)
    else:
        return {"answerable": False, "reason": "Score claims are not answered by votes-to-flip."}
    holds = outcome.gap_before > 0
    # The dropped votes' content too: the claim page shows them without re-reading the file.
    details = arena.dropped_vote_rows(outcome)
    return {
        "answerable": True,
        "model": model,
        "holds_on_full_data": holds,
        **row,
        "dropped_vote_details": details,
    }


def analyses_requeue_stuck(*, older_than: dt.timedelta) -> list[int]:
    """Put analyses whose lease lapsed ``older_than`` ago (the worker died) back in the
    queue; after ``MAX_ATTEMPTS`` the analysis fails instead of looping."""
    return ANALYSIS_JOBS.sweep(lease=older_than)
