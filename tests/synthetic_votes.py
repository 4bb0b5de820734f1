"""A seeded synthetic arena for tests of mechanics (real data: tests/shared_data.py)."""

from __future__ import annotations

import numpy as np

SYNTHETIC_LEADER = "model-00"
# Read options for its LLMFAO-like layout (the API's and the CLI's spelling).
SYNTHETIC_READ_OPTIONS = {
    "format": "csv",
    "columns": "model_a=left,model_b=right",
    "winner_values": "model_a=left,model_b=right,tie=tie",
}


def synthetic_arena_csv(
    *, n_models: int = 14, n_votes: int = 4000, tie_rate: float = 0.35, seed: int = 0
) -> bytes:
    """A seeded arena in LLMFAO's layout (``id,left,right,winner``; ``id`` names the pair and
    repeats, so votes are identified by position) with a close race at the top.

    True logits fall by 0.12 per rank from ``model-00``, so the data's leader is model-00 with
    high probability and a handful of votes separates neighbours, as on real leaderboards.
    """
    generator = np.random.default_rng(seed)
    strength = -0.12 * np.arange(n_models)
    left = generator.integers(0, n_models, n_votes)
    right = (left + generator.integers(1, n_models, n_votes)) % n_models
    p_left = 1.0 / (1.0 + np.exp(strength[right] - strength[left]))
    winner = np.where(generator.random(n_votes) < p_left, "left", "right")
    winner = np.where(generator.random(n_votes) < tie_rate, "tie", winner)
    lines = ["id,left,right,winner"] + [
        f"{min(a, b) * n_models + max(a, b)},model-{a:02d},model-{b:02d},{w}"
        for a, b, w in zip(left.tolist(), right.tolist(), winner.tolist(), strict=True)
    ]
    return ("\n".join(lines) + "\n").encode()
