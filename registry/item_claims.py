"""Item-score analyses: testing "release A beats release R on benchmark X" from per-item scores.

On a static test set (or an LLM-judged one) a "beats" claim rests on each model's score on
every item. An analyst uploads those paired scores (``item_id,score_a,score_b``, A being the
claiming release); the engine (``registry.fragility.item_claims``) answers with the mean paired
difference, its bootstrap interval, the exact McNemar p-value for 0/1 scores, and the fewest
items whose removal reverses the sign. The computation is deterministic for given bytes,
rounds and seed, but not fast (200,000 items and 10,000 rounds take ~12 s), so the API runs
it as a computation job (``registry.computations``): ``item_analysis_check`` refuses what it
can at the door, ``item_analysis_compute`` runs outside any transaction, the file is written
next, and ``item_analysis_insert`` records the file's row, the result row and its ledger
entry in one short transaction.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from registry.blobs import Blob, blob_write
from registry.fragility import ENGINE_VERSION
from registry.fragility.item_claims import ItemScoreFileError, item_claim, read_item_scores
from registry.ledger import PUBLIC
from registry.models import Benchmark, BenchmarkClaim, ItemScoreAnalysis
from registry.roles import ANALYST, AnyUser, recorded_user
from registry.selectors import item_analysis_list
from registry.services._base import record_insert, require_role, writing
from registry.services.claims import claim_transition
from registry.services.files import stored_file_record

# Pairwise leaderboards answer "beats" claims from votes (fragility analyses), not items.
ITEM_SCORED_BENCHMARKS = (Benchmark.Kind.STATIC, Benchmark.Kind.LLM_JUDGE)
MIN_BOOTSTRAP_ROUNDS = 100
MAX_BOOTSTRAP_ROUNDS = 10_000
DEFAULT_BOOTSTRAP_ROUNDS = 2000
# The seed is stored in a PositiveBigIntegerField.
MAX_SEED = 2**63 - 1
# The verdict names at most this many removed items; the page lists them all below it.
VERDICT_IDS_SHOWN = 10


@dataclass(frozen=True)
class ItemAnalysisRecorded:
    """The analysis and whether this call created it (False: the same run already existed)."""

    analysis: ItemScoreAnalysis
    created: bool


def item_analysis_record(
    *,
    claim: BenchmarkClaim,
    actor: AnyUser | None,
    content: bytes,
    filename: str,
    bootstrap_rounds: int = DEFAULT_BOOTSTRAP_ROUNDS,
    seed: int = 0,
) -> ItemAnalysisRecorded:
    """Test ``claim`` on the uploaded per-item scores and record the result, inline (the
    demo loader; the API runs the same steps as a computation job).

    Refuses (ValidationError) a claim that is not "beats R" on an item-scored benchmark,
    parameters out of range, and a defective file (naming its record); nothing is stored
    then. The same bytes with the same rounds and seed return the existing analysis.
    """
    item_analysis_check(claim=claim, actor=actor, bootstrap_rounds=bootstrap_rounds, seed=seed)
    run = {"claim": claim, "bootstrap_rounds": bootstrap_rounds, "seed": seed}
    digest = hashlib.sha256(content).hexdigest()
    existing = item_analysis_list().filter(file__sha256=digest, **run).first()
    if existing is not None:
        return ItemAnalysisRecorded(existing, created=False)
    results = item_analysis_compute(content=content, bootstrap_rounds=bootstrap_rounds, seed=seed)
    blob = blob_write(content=content)  # before the transaction: see registry.blobs
    with writing():
        return item_analysis_insert(
            claim=claim, actor=actor, blob=blob, filename=filename, results=results
        )


def item_analysis_check(
    *, claim: BenchmarkClaim, actor: AnyUser | None, bootstrap_rounds: int, seed: int
) -> None:
    """What can be refused before the file is read: who asks, the claim, the settings."""
    require_role(actor, ANALYST, doing="test claims on item scores")
    _check_claim(claim)
    _check_parameters(bootstrap_rounds, seed)


def item_analysis_compute(*, content: bytes, bootstrap_rounds: int, seed: int) -> dict[str, Any]:
    """Read the scores and test the claim (no writes): the analysis's ``results``."""
    ids, scores_a, scores_b = item_scores_read(content)
    outcome = item_claim(scores_a, scores_b, ids, bootstrap_rounds=bootstrap_rounds, seed=seed)
    return {
        **outcome.as_dict(),
        "n_items": len(ids),
        "bootstrap_rounds": bootstrap_rounds,
        "seed": seed,
        "engine_version": ENGINE_VERSION,
    }


def item_analysis_insert(
    *,
    claim: BenchmarkClaim,
    actor: AnyUser | None,
    blob: Blob,
    filename: str,
    results: dict[str, Any],
) -> ItemAnalysisRecorded:
    """Record the analysis of a written file (inside ``writing()``), or answer with the
    same run's existing row."""
    run = {
        "claim": claim,
        "bootstrap_rounds": results["bootstrap_rounds"],
        "seed": results["seed"],
    }
    existing = item_analysis_list().filter(file__sha256=blob.sha256, **run).first()
    if existing is not None:
        return ItemAnalysisRecorded(existing, created=False)
    try:
        # A savepoint: a concurrent upload of the same run may win the unique constraint
        # (caught by full_clean as a ValidationError, or by the database).
        with transaction.atomic():
            stored = stored_file_record(blob=blob, media_type=_media_type(filename))
            analysis = record_insert(
                model=ItemScoreAnalysis,
                actor=actor,
                scope=PUBLIC,
                fields={
                    **run,
                    "file": stored,
                    "original_filename": filename[:255],
                    "n_items": results["n_items"],
                    "results": results,
                    "engine_version": results["engine_version"],
                    "created_by": recorded_user(actor),
                },
            )
            _mark_claim_analysed(claim, actor)
    except (IntegrityError, ValidationError):
        winner = item_analysis_list().filter(file__sha256=blob.sha256, **run).first()
        if winner is None:
            raise
        return ItemAnalysisRecorded(winner, created=False)
    return ItemAnalysisRecorded(analysis, created=True)


def _check_claim(claim: BenchmarkClaim) -> None:
    if claim.kind != BenchmarkClaim.Kind.BEATS or claim.compared_release_id is None:
        raise ValidationError(
            {
                "claim": [
                    f"Claim {claim.pk} claims that its release {claim.claimed}; item scores "
                    "test only claims that a release beats another release."
                ]
            }
        )
    benchmark = claim.benchmark
    if benchmark.kind not in ITEM_SCORED_BENCHMARKS:
        raise ValidationError(
            {
                "claim": [
                    f"Claim {claim.pk} is on {benchmark.name}, a "
                    f"{benchmark.get_kind_display().lower()}; item scores test claims on "
                    "static or LLM-judged benchmarks (request a fragility analysis instead)."
                ]
            }
        )


def _check_parameters(bootstrap_rounds: int, seed: int) -> None:
    errors: dict[str, list[str]] = {}
    if not MIN_BOOTSTRAP_ROUNDS <= bootstrap_rounds <= MAX_BOOTSTRAP_ROUNDS:
        errors["bootstrap_rounds"] = [
            f"An integer from {MIN_BOOTSTRAP_ROUNDS} to {MAX_BOOTSTRAP_ROUNDS}."
        ]
    if not 0 <= seed <= MAX_SEED:
        errors["seed"] = [f"An integer from 0 to {MAX_SEED}."]
    if errors:
        raise ValidationError(errors)


def item_scores_read(content: bytes) -> tuple[list[str], Any, Any]:
    """The file's item ids and scores; a defect is a ValidationError naming the record."""
    try:
        return read_item_scores(content)
    except ItemScoreFileError as exc:
        raise ValidationError({"file": [str(exc)]}) from exc


def _media_type(filename: str) -> str:
    return "text/tab-separated-values" if filename.lower().endswith(".tsv") else "text/csv"


def _mark_claim_analysed(claim: BenchmarkClaim, actor: AnyUser | None) -> None:
    """A recorded claim that now has an answer is analysed (one pending a vote analysis
    stays under analysis until that finishes)."""
    if BenchmarkClaim.objects.get(pk=claim.pk).status != BenchmarkClaim.Status.RECORDED:
        return
    claim_transition(
        claim=claim,
        to_status=BenchmarkClaim.Status.ANALYSED,
        actor=actor,
        reason="item-score analysis",
    )


def item_verdict(analysis: ItemScoreAnalysis) -> str:
    """The analysis in one sentence, naming the claiming (A) and compared (R) releases."""
    results = analysis.results
    claim = analysis.claim
    model, rival = str(claim.release), str(claim.compared_release)
    mean = results["mean_difference"]
    interval = f"(95% CI {results['ci_low']:.3f} to {results['ci_high']:.3f})"
    if mean > 0:
        opening = f"{model}'s mean advantage over {rival} is {mean:.3f} {interval}"
    elif mean < 0:
        opening = f"The claim does not hold: {model} trails {rival} by {-mean:.3f} {interval}"
    else:
        return f"The claim does not hold: {model} and {rival} tie on these items {interval}."
    if results["mcnemar_p_value"] is not None:
        opening += f", McNemar p = {results['mcnemar_p_value']:.2g}"
    return f"{opening}; {_reversal_words(results)}."


def _reversal_words(results: dict[str, Any]) -> str:
    count, n_items = results["items_to_reverse"], results["n_items"]
    if count is None:
        return "no removal of items (short of all) reverses it"
    removed = [str(item) for item in results["removed_items"]]
    shown = ", ".join(removed[:VERDICT_IDS_SHOWN])
    if len(removed) > VERDICT_IDS_SHOWN:
        shown += f" and {len(removed) - VERDICT_IDS_SHOWN:,} more"
    noun = "item" if count == 1 else "items"
    return f"removing {count:,} of {n_items:,} {noun} (ids: {shown}) reverses it"
