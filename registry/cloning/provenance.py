"""Black-box output-similarity provenance test (is a suspect model derived from a candidate?).

An *output-similarity provenance test* asks whether a suspect model's responses are closer to
those of a candidate parent than to those of unrelated baseline models, following Nikolic,
Baluta & Saxena, "Model Provenance Testing for Large Language Models" (NeurIPS 2025,
arXiv:2502.00706): derivation (fine-tuning, distillation) preserves output similarity, and
unrelated models supply the baseline level of similarity any two models share.

Upload format: JSON Lines, one object per response::

    {"prompt_id": "p17", "model": "suspect-7b", "response": "The capital of ..."}

Per-prompt similarity (the choice this module makes, documented because it matters):
*prefix token agreement*. Both responses are Unicode-NFC normalised, case-folded and split on
whitespace; for the first ``prefix_tokens`` positions we count positions where the two token
sequences hold the same token, and divide by the number of positions compared, which is
``min(prefix_tokens, max(len(a), len(b)))`` (a position one response lacks is a mismatch).
Two empty responses agree fully (1.0). Whitespace tokens are used because the uploader's
models need not share a tokenizer; Nikolic et al. compare model tokens, which is the same
idea at a finer grain.

Test per candidate: the prompts are blocks; inside a block the suspect's similarity to the
candidate and to each of the k >= 2 baselines form k + 1 columns. H0: the candidate is just
another unrelated model, i.e. the k + 1 similarities are exchangeable within each prompt. The
statistic is the mean over prompts of (similarity to candidate - mean similarity to the
baselines); its p-value (one-sided, "closer to the candidate") comes from an exact seeded
within-prompt label permutation test (see ``stats.within_block_permutation_pvalue``), or,
with ``method="sign"``, an exact one-sided binomial sign test on the per-prompt differences
(zeros dropped). p-values are Holm-adjusted across candidates (family-wise error <= alpha).
"""

import hashlib
import math
import unicodedata
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray
from scipy import stats as scipy_stats

from registry.cloning._records import parse_jsonl, require_identifier, require_string
from registry.cloning.errors import CloningInputError
from registry.cloning.stats import holm_adjust, within_block_permutation_pvalue

METHOD_NAME = "output_similarity_provenance"
METHOD_VERSION = "1.0"
WHAT = "provenance upload"
MIN_BASELINES = 2
MIN_PROMPTS = 2

TestMethod = Literal["permutation", "sign"]
Responses = dict[str, dict[str, str]]  # model label -> prompt id -> response


@dataclass(frozen=True)
class CandidateResult:
    """The provenance test of one candidate parent against the baselines."""

    candidate: str
    similarity_mean: float
    baseline_mean: float
    baseline_sd: float
    statistic: float
    ci_low: float
    ci_high: float
    p_value: float
    adjusted_p_value: float
    prompts: int
    decision: Literal["reject", "not_rejected"]


@dataclass(frozen=True)
class ProvenanceResult:
    """All candidates' results for one uploaded file, with the parameters that produced them."""

    input_sha256: str
    suspect: str
    baselines: list[str]
    prefix_tokens: int
    alpha: float
    method: TestMethod
    permutations: int
    seed: int
    prompts_used: int
    prompts_dropped: int
    candidates: list[CandidateResult] = field(default_factory=list)
    method_name: str = METHOD_NAME
    method_version: str = METHOD_VERSION
    statistic_name: str = "mean_similarity_excess"
    p_value_adjustment: str = "holm"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict (plain floats and ints only)."""
        return asdict(self)

    def evidence_items(self) -> list[dict[str, Any]]:
        """One Evidence-row dict per candidate; ``details`` fits the output_similarity kind."""
        return [self._evidence_item(candidate) for candidate in self.candidates]

    def _evidence_item(self, result: CandidateResult) -> dict[str, Any]:
        description = (
            f"Suspect '{self.suspect}' vs candidate '{result.candidate}': "
            f"prefix-{self.prefix_tokens} token agreement {result.similarity_mean:.3f} "
            f"against baseline mean "
            f"{result.baseline_mean:.3f} (sd {result.baseline_sd:.3f}, {len(self.baselines)} "
            f"baselines) over {result.prompts} prompts; {self.method} test p={result.p_value:.3g},"
            f" Holm-adjusted p={result.adjusted_p_value:.3g}."
        )
        return {
            "kind": "output_similarity",
            "method": self.method_name,
            "method_version": self.method_version,
            "n": result.prompts,
            "statistic_name": self.statistic_name,
            "statistic_value": result.statistic,
            "ci_low": result.ci_low,
            "ci_high": result.ci_high,
            "p_value": result.p_value,
            "alpha": self.alpha,
            "p_value_adjustment": self.p_value_adjustment,
            "decision": result.decision,
            "description": description,
            "input_sha256": self.input_sha256,
            "details": {
                "candidate": result.candidate,
                "similarity": result.similarity_mean,
                "baseline_mean": result.baseline_mean,
                "baseline_sd": result.baseline_sd,
                "p_value": result.p_value,
                "adjusted_p_value": result.adjusted_p_value,
                "prompts": result.prompts,
                "input_sha256": self.input_sha256,
            },
        }


def response_tokens(response: str) -> list[str]:
    """NFC-normalised, case-folded whitespace tokens of a response."""
    return unicodedata.normalize("NFC", response).casefold().split()


def prefix_agreement(first: list[str], second: list[str], prefix_tokens: int) -> float:
    """Share of the first ``prefix_tokens`` positions where both token lists agree."""
    compared = min(prefix_tokens, max(len(first), len(second)))
    if compared == 0:
        return 1.0
    matches = sum(1 for a, b in zip(first[:compared], second[:compared], strict=False) if a == b)
    return matches / compared


def load_responses(data: bytes) -> Responses:
    """Parse the JSONL upload into model -> prompt -> response, rejecting duplicates."""
    responses: Responses = defaultdict(dict)
    for line_number, record in parse_jsonl(data, what=WHAT):
        prompt_id = require_identifier(record, "prompt_id", line_number=line_number, what=WHAT)
        model = require_identifier(record, "model", line_number=line_number, what=WHAT)
        response = require_string(record, "response", line_number=line_number, what=WHAT)
        if prompt_id in responses[model]:
            raise CloningInputError(
                f"{WHAT}: line {line_number}: duplicate response for model '{model}' "
                f"and prompt_id '{prompt_id}'"
            )
        responses[model][prompt_id] = response
    return dict(responses)


def _check_labels(
    responses: Responses, *, suspect: str, candidates: list[str], baselines: list[str]
) -> None:
    if len(set(baselines)) < MIN_BASELINES:
        raise CloningInputError(
            f"at least {MIN_BASELINES} distinct baseline models are required, "
            f"got {len(set(baselines))}"
        )
    if not candidates:
        raise CloningInputError("at least one candidate parent model is required")
    roles = [suspect, *candidates, *baselines]
    repeated = sorted({label for label in roles if roles.count(label) > 1})
    if repeated:
        raise CloningInputError(f"model labels used in more than one role: {repeated}")
    unknown = [label for label in roles if label not in responses]
    if unknown:
        known = sorted(responses)
        raise CloningInputError(f"unknown model labels {unknown}; the upload has {known}")


def _similarity_matrix(
    responses: Responses, suspect: str, others: list[str], prompts: list[str], prefix: int
) -> NDArray[np.float64]:
    """Rows = prompts, columns = ``others``: suspect's prefix agreement with each model."""
    matrix = np.empty((len(prompts), len(others)))
    for row, prompt_id in enumerate(prompts):
        suspect_tokens = response_tokens(responses[suspect][prompt_id])
        for column, model in enumerate(others):
            other_tokens = response_tokens(responses[model][prompt_id])
            matrix[row, column] = prefix_agreement(suspect_tokens, other_tokens, prefix)
    return matrix


def _t_interval(differences: NDArray[np.float64], alpha: float) -> tuple[float, float]:
    """Two-sided (1 - alpha) Student-t interval for the mean per-prompt difference."""
    n = differences.size
    mean = float(differences.mean())
    sd = float(differences.std(ddof=1))
    half_width = float(scipy_stats.t.ppf(1 - alpha / 2, n - 1)) * sd / math.sqrt(n)
    return mean - half_width, mean + half_width


def _sign_test_pvalue(differences: NDArray[np.float64]) -> float:
    positives = int(np.count_nonzero(differences > 0))
    non_zero = int(np.count_nonzero(differences != 0))
    if non_zero == 0:
        return 1.0
    return float(scipy_stats.binomtest(positives, non_zero, 0.5, alternative="greater").pvalue)


def _test_candidate(
    block: NDArray[np.float64],
    *,
    method: TestMethod,
    permutations: int,
    rng: np.random.Generator,
    alpha: float,
) -> dict[str, float]:
    """Statistic, CI and raw p for one candidate; ``block`` columns = candidate, baselines."""
    differences = block[:, 0] - block[:, 1:].mean(axis=1)
    if method == "permutation":
        statistic, p_value = within_block_permutation_pvalue(
            block, permutations=permutations, rng=rng
        )
    else:
        statistic, p_value = float(differences.mean()), _sign_test_pvalue(differences)
    ci_low, ci_high = _t_interval(differences, alpha)
    baseline_model_means = block[:, 1:].mean(axis=0)
    return {
        "similarity_mean": float(block[:, 0].mean()),
        "baseline_mean": float(baseline_model_means.mean()),
        # Spread of the baselines' mean similarities: how much unrelated models differ.
        "baseline_sd": float(baseline_model_means.std(ddof=1)),
        "statistic": statistic,
        "ci_low": ci_low,
        "ci_high": ci_high,
        "p_value": p_value,
    }


def provenance_test(
    data: bytes,
    *,
    suspect: str,
    candidates: list[str],
    baselines: list[str],
    prefix_tokens: int = 32,
    alpha: float = 0.05,
    method: TestMethod = "permutation",
    permutations: int = 9999,
    seed: int = 0,
) -> ProvenanceResult:
    """Test each candidate parent of ``suspect`` against the baselines; see module docstring.

    Only prompts answered by the suspect, every candidate and every baseline are used; the
    others are counted in ``prompts_dropped``.
    """
    _check_arguments(
        prefix_tokens=prefix_tokens, alpha=alpha, permutations=permutations, method=method
    )
    responses, models, prompts, all_prompts = _prompts_answered_by_all(
        data, suspect=suspect, candidates=candidates, baselines=baselines
    )
    similarity = _similarity_matrix(responses, suspect, models[1:], prompts, prefix_tokens)
    baseline_columns = similarity[:, len(candidates) :]
    rng = np.random.default_rng(seed)
    raw = [
        _test_candidate(
            np.column_stack([similarity[:, index], baseline_columns]),
            method=method,
            permutations=permutations,
            rng=rng,
            alpha=alpha,
        )
        for index in range(len(candidates))
    ]
    adjusted = holm_adjust([row["p_value"] for row in raw])
    results = [
        CandidateResult(
            candidate=name,
            prompts=len(prompts),
            adjusted_p_value=adjusted_p,
            decision="reject" if adjusted_p <= alpha else "not_rejected",
            **row,
        )
        for name, row, adjusted_p in zip(candidates, raw, adjusted, strict=True)
    ]
    return ProvenanceResult(
        input_sha256=hashlib.sha256(data).hexdigest(),
        suspect=suspect,
        baselines=list(baselines),
        prefix_tokens=prefix_tokens,
        alpha=alpha,
        method=method,
        permutations=permutations if method == "permutation" else 0,
        seed=seed,
        prompts_used=len(prompts),
        prompts_dropped=len(all_prompts) - len(prompts),
        candidates=results,
    )


def provenance_check(
    data: bytes,
    *,
    suspect: str,
    candidates: list[str],
    baselines: list[str],
    prefix_tokens: int = 32,
    alpha: float = 0.05,
    method: TestMethod = "permutation",
    permutations: int = 9999,
    seed: int = 0,
) -> None:
    """Refuse (CloningInputError) what ``provenance_test`` would refuse, without its
    statistics: the arguments, the upload's records, the labels and the shared prompts."""
    _check_arguments(
        prefix_tokens=prefix_tokens, alpha=alpha, permutations=permutations, method=method
    )
    _prompts_answered_by_all(data, suspect=suspect, candidates=candidates, baselines=baselines)


def _prompts_answered_by_all(
    data: bytes, *, suspect: str, candidates: list[str], baselines: list[str]
) -> tuple[Responses, list[str], list[str], set[str]]:
    """The responses, the models in role order, the prompts every model answered (sorted)
    and all prompts seen."""
    responses = load_responses(data)
    _check_labels(responses, suspect=suspect, candidates=candidates, baselines=baselines)
    models = [suspect, *candidates, *baselines]
    all_prompts: set[str] = set().union(*(responses[model].keys() for model in models))
    prompts = sorted(set.intersection(*(set(responses[model]) for model in models)))
    if len(prompts) < MIN_PROMPTS:
        raise CloningInputError(
            f"only {len(prompts)} prompts are answered by every model; need {MIN_PROMPTS}"
        )
    return responses, models, prompts, all_prompts


def _check_arguments(*, prefix_tokens: int, alpha: float, permutations: int, method: str) -> None:
    if method not in ("permutation", "sign"):
        raise CloningInputError(f"method must be 'permutation' or 'sign', got {method!r}")
    if prefix_tokens < 1:
        raise CloningInputError(f"prefix_tokens must be >= 1, got {prefix_tokens}")
    if not 0 < alpha < 1:
        raise CloningInputError(f"alpha must lie strictly between 0 and 1, got {alpha}")
    if permutations < 1:
        raise CloningInputError(f"permutations must be >= 1, got {permutations}")
