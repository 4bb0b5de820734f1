"""Uploads for the incident tests, built from first principles rather than by the code
under test: a provenance JSONL with a planted distilled suspect, a query log with a planted
campaign (the benchmark's synthetic generator), and fingerprint key sets whose commitment is
computed here from the canonical form the fingerprint module documents."""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass
from math import comb

from benchmarks.synthetic_querylog import SyntheticLog, generate_log

VOCABULARY = [f"w{index}" for index in range(40)]
SUSPECT, TEACHER = "suspect-7b", "teacher-70b"
BASELINES = ["base-a", "base-b", "base-c"]
UNRELATED_CANDIDATE = "other-13b"


def provenance_jsonl(*, prompts: int = 40, keep: float = 0.6, seed: int = 5) -> bytes:
    """The suspect copies each teacher token with probability ``keep``; every other
    model answers independently at random."""
    rng = random.Random(seed)

    def answer() -> list[str]:
        return [rng.choice(VOCABULARY) for _ in range(20)]

    lines = []
    for prompt in range(prompts):
        teacher = answer()
        answers = {model: answer() for model in [UNRELATED_CANDIDATE, *BASELINES]}
        answers[TEACHER] = teacher
        answers[SUSPECT] = [
            tok if rng.random() < keep else rng.choice(VOCABULARY) for tok in teacher
        ]
        lines += [
            json.dumps({"prompt_id": f"p{prompt}", "model": model, "response": " ".join(words)})
            for model, words in answers.items()
        ]
    return ("\n".join(lines) + "\n").encode()


def query_log(seed: int = 2) -> SyntheticLog:
    """A 4,000-row log with five campaign accounts (analysed in well under a second)."""
    return generate_log(rows=4000, ordinary_accounts=60, campaign_accounts=5, seed=seed)


@dataclass(frozen=True)
class KeySet:
    keys: list[dict[str, str]]

    def jsonl(self, *, reverse: bool = False) -> bytes:
        rows = list(reversed(self.keys)) if reverse else self.keys
        return ("\n".join(json.dumps(key, indent=None) for key in rows) + "\n").encode()

    def commitment(self) -> str:
        """SHA-256 of the documented canonical form: keys sorted by key_id, fields sorted,
        compact separators, UTF-8."""
        ordered = sorted(self.keys, key=lambda key: key["key_id"])
        canonical = json.dumps(
            [{name: key[name] for name in ("expected", "key_id", "prompt")} for key in ordered],
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=False,
        )
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def key_set(n: int = 12) -> KeySet:
    return KeySet(
        [
            {
                "key_id": f"k{index:02d}",
                "prompt": f"Say the word {index}",
                "expected": f"zq{index}x",
            }
            for index in range(n)
        ]
    )


def responses_jsonl(keys: KeySet, *, triggered: int) -> bytes:
    """The first ``triggered`` keys answered with their expected response, the rest not."""
    rows = [
        {
            "key_id": key["key_id"],
            "response": f"Sure: {key['expected']}" if index < triggered else "I cannot help.",
        }
        for index, key in enumerate(keys.keys)
    ]
    return ("\n".join(json.dumps(row) for row in rows) + "\n").encode()


def binomial_upper_tail(k: int, n: int, rate: float) -> float:
    """P(X >= k) for X ~ Binomial(n, rate), summed term by term."""
    return sum(comb(n, i) * rate**i * (1 - rate) ** (n - i) for i in range(k, n + 1))


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
