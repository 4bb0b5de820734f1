"""Seeded generator of synthetic *arenas*: pairwise votes drawn from a known Bradley-Terry model.

An arena here is a CSV of votes in the LMSYS layout (`model_a,model_b,winner`, winner in
`model_a`/`model_b`/`tie`). True scores are drawn from N(0, spread^2) logits; pairs are sampled
with popularity weights (some models are compared far more often, as on Chatbot Arena); a vote
is a tie with probability `tie_rate`, otherwise model_a wins with probability
sigmoid(score_a - score_b) (Bradley & Terry 1952).

Usage: python benchmarks/synthetic_arena.py OUT.csv --votes 2000000 --models 200 --ties 0.3
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

WINNER_LABELS = np.array(["model_a", "model_b", "tie"])


def generate_arena(
    *, n_votes: int, n_models: int, tie_rate: float, seed: int, spread: float = 0.6
) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
    """Return (model names, model_a index, model_b index, outcome code 0=a 1=b 2=tie)."""
    rng = np.random.default_rng(seed)
    names = [f"model-{index:03d}" for index in range(n_models)]
    true_scores = rng.normal(0.0, spread, n_models)
    # Popularity is heavy-tailed so the comparison graph is uneven, like a real arena.
    popularity = rng.pareto(2.0, n_models) + 0.2
    popularity /= popularity.sum()
    model_a = rng.choice(n_models, size=n_votes, p=popularity)
    model_b = rng.choice(n_models - 1, size=n_votes, p=None)
    model_b = np.where(model_b >= model_a, model_b + 1, model_b)  # never a model against itself
    a_wins = rng.random(n_votes) < 1.0 / (1.0 + np.exp(true_scores[model_b] - true_scores[model_a]))
    outcome = np.where(a_wins, 0, 1)
    outcome = np.where(rng.random(n_votes) < tie_rate, 2, outcome)
    return names, model_a, model_b, outcome


def write_arena_csv(path: Path, *, n_votes: int, n_models: int, tie_rate: float, seed: int) -> None:
    """Write a synthetic arena as CSV with header `model_a,model_b,winner`."""
    names, model_a, model_b, outcome = generate_arena(
        n_votes=n_votes, n_models=n_models, tie_rate=tie_rate, seed=seed
    )
    name_array = np.array(names)
    lines = np.char.add(
        np.char.add(np.char.add(name_array[model_a], ","), np.char.add(name_array[model_b], ",")),
        WINNER_LABELS[outcome],
    )
    with path.open("w", encoding="utf-8", newline="") as handle:
        handle.write("model_a,model_b,winner\n")
        handle.write("\n".join(lines.tolist()))
        handle.write("\n")


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--votes", type=int, default=2_000_000)
    parser.add_argument("--models", type=int, default=200)
    parser.add_argument("--ties", type=float, default=0.3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    write_arena_csv(
        args.out, n_votes=args.votes, n_models=args.models, tie_rate=args.ties, seed=args.seed
    )


if __name__ == "__main__":
    main()
