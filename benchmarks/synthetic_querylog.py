"""Seeded synthetic API request logs with a planted distillation campaign.

The *planted campaign* is a set of accounts that (a) each send far more queries than a typical
account, (b) fill a small shared pool of prompt templates with different numbers and quoted
slots, and (c) send on a scripted, near-periodic clock. Ordinary accounts send a log-normal
number of free-form prompts at Poisson times over the whole window. One *benign heavy user*
sends as many queries as a campaign account but with free-form prompts and ordinary timing;
a detector that flags it is flagging volume alone.

Used by ``benchmarks/querylog_bench.py`` and by the query-log tests (with fewer rows).
"""

from dataclasses import dataclass

import numpy as np

WINDOW_DAYS = 30
_START = np.datetime64("2026-01-01T00:00:00", "s")
_WORDS = [
    "river", "matrix", "poem", "contract", "protein", "orbit", "budget", "kernel", "garden",
    "theorem", "recipe", "climate", "sonnet", "ledger", "enzyme", "galaxy", "compiler",
    "harbour", "violin", "tariff", "glacier", "neuron", "mosaic", "pendulum", "voltage",
    "dialect", "fossil", "lantern", "prism", "quartz", "saddle", "tundra", "vortex", "walnut",
]  # fmt: skip
_VERBS = ["explain", "summarise", "translate", "critique", "rewrite", "compare", "outline"]
_CAMPAIGN_TEMPLATES = [
    'Solve step by step and show your reasoning: what is {a} times {b}? Topic "{w}".',
    "Write a detailed chain of thought for problem #{a}: a train leaves at {b} km/h.",
    "Answer as an expert tutor. Question {a}: integrate x^{b} from 0 to {a}.",
    'Translate the sentence "{w} {w}" into French, then explain each of the {b} words.',
    "Give {a} numbered reasons why step {b} of the proof holds, thinking aloud.",
    "You are a careful grader. Score answer {a} out of {b} and justify in detail.",
    'Continue the dialogue {a} with a reply about "{w}" in at most {b} sentences.',
    "List {a} edge cases for function f{b} and reason about each one carefully.",
]


@dataclass(frozen=True)
class SyntheticLog:
    """A generated CSV log and the ground truth planted in it."""

    csv_bytes: bytes
    campaign_accounts: frozenset[str]
    benign_heavy_account: str
    rows: int


def _account_volumes(
    rng: np.random.Generator, ordinary_rows: int, ordinary_accounts: int
) -> np.ndarray:
    """Log-normal volumes for ordinary accounts, summing exactly to ``ordinary_rows``."""
    weights = rng.lognormal(mean=0.0, sigma=1.0, size=ordinary_accounts)
    volumes = np.floor(weights / weights.sum() * ordinary_rows).astype(np.int64)
    volumes = np.maximum(volumes, 1)
    surplus = int(volumes.sum()) - ordinary_rows
    # Settle rounding on the largest accounts so the total is exact.
    order = np.argsort(-volumes)
    volumes[order[: abs(surplus)]] -= int(np.sign(surplus))
    return volumes


def _free_prompts(rng: np.random.Generator, count: int) -> list[str]:
    verbs = rng.integers(0, len(_VERBS), count)
    words = rng.integers(0, len(_WORDS), size=(count, 4))
    return [
        f"{_VERBS[v]} the {_WORDS[a]} of the {_WORDS[b]} near a {_WORDS[c]} and {_WORDS[d]}"
        for v, (a, b, c, d) in zip(verbs, words, strict=True)
    ]


def _campaign_prompts(rng: np.random.Generator, count: int) -> list[str]:
    templates = rng.integers(0, len(_CAMPAIGN_TEMPLATES), count)
    numbers = rng.integers(1, 10_000, size=(count, 2))
    words = rng.integers(0, len(_WORDS), count)
    return [
        _CAMPAIGN_TEMPLATES[t].format(a=a, b=b, w=_WORDS[w])
        for t, (a, b), w in zip(templates, numbers, words, strict=True)
    ]


def _poisson_times(rng: np.random.Generator, count: int) -> np.ndarray:
    return np.sort(rng.uniform(0, WINDOW_DAYS * 86_400, count))


def _scripted_times(rng: np.random.Generator, count: int) -> np.ndarray:
    """A fixed sleep with a little jitter, starting somewhere in the middle of the window."""
    start = rng.uniform(5 * 86_400, 10 * 86_400)
    period = rng.uniform(20.0, 40.0)
    return start + np.arange(count) * period + rng.uniform(0, 1.0, count)


def generate_log(
    *,
    rows: int = 1_000_000,
    ordinary_accounts: int = 5_000,
    campaign_accounts: int = 40,
    campaign_share: float = 0.2,
    seed: int = 0,
) -> SyntheticLog:
    """A CSV log of ``rows`` requests with a planted campaign; deterministic in ``seed``."""
    rng = np.random.default_rng(seed)
    per_campaign = max(1, int(rows * campaign_share) // campaign_accounts)
    heavy_volume = per_campaign
    ordinary_rows = rows - per_campaign * campaign_accounts - heavy_volume
    volumes = _account_volumes(rng, ordinary_rows, ordinary_accounts)
    columns: list[tuple[str, np.ndarray, list[str]]] = []
    for index, volume in enumerate(volumes):
        columns.append(
            (f"user{index:05d}", _poisson_times(rng, int(volume)), _free_prompts(rng, int(volume)))
        )
    columns.append(
        ("heavy-benign", _poisson_times(rng, heavy_volume), _free_prompts(rng, heavy_volume))
    )
    campaign = [f"acct-x{index:03d}" for index in range(campaign_accounts)]
    for name in campaign:
        columns.append(
            (name, _scripted_times(rng, per_campaign), _campaign_prompts(rng, per_campaign))
        )
    return SyntheticLog(
        csv_bytes=_to_csv(rng, columns),
        campaign_accounts=frozenset(campaign),
        benign_heavy_account="heavy-benign",
        rows=sum(len(prompts) for _, _, prompts in columns),
    )


def _to_csv(rng: np.random.Generator, columns: list[tuple[str, np.ndarray, list[str]]]) -> bytes:
    """Interleave the accounts by time and render the CSV with ISO 8601 UTC timestamps."""
    accounts = np.concatenate([np.full(len(p), i) for i, (_, _, p) in enumerate(columns)])
    seconds = np.concatenate([times for _, times, _ in columns])
    prompts = [prompt for _, _, account_prompts in columns for prompt in account_prompts]
    order = np.argsort(seconds, kind="stable")
    stamps = np.datetime_as_string(_START + seconds.astype(np.int64), unit="s")
    tokens_in = rng.integers(5, 400, seconds.size)
    tokens_out = rng.integers(20, 2_000, seconds.size)
    names = [name for name, _, _ in columns]
    lines = ["timestamp,account,prompt,tokens_in,tokens_out"]
    for i in order:
        prompt = prompts[i].replace('"', '""')
        lines.append(f'{stamps[i]}Z,{names[accounts[i]]},"{prompt}",{tokens_in[i]},{tokens_out[i]}')
    return ("\n".join(lines) + "\n").encode("utf-8")
