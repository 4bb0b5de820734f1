"""Benchmark: what bootstrap rounds and random-drop trials cost on 10M votes, and whether
the API's bounds and its duration estimate (``registry.fragility.cost``) hold.

For each number of models, a synthetic arena (benchmarks/synthetic_arena.py) is written
as CSV, read and fitted, then a sample of bootstrap rounds and of random-drop trials at
each default fraction is timed on one core (BLAS single-threaded, as a worker runs it).
It prints the measured per-unit costs beside the constants the estimate uses, the
predicted time of an analysis at the API's bounds, and (``--full``) the wall time of the
whole analysis at those bounds, flip searches included, for the first model count.

Usage: python benchmarks/bounded_work_bench.py [--votes 10000000] [--models 200 1000]
           [--sample 40] [--full]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from synthetic_arena import write_arena_csv  # noqa: E402

from registry.fragility import AnalysisOptions, analyze, read_votes  # noqa: E402
from registry.fragility._blas import one_blas_thread  # noqa: E402
from registry.fragility.analysis import Arena  # noqa: E402
from registry.fragility.cost import (  # noqa: E402
    MAX_BOOTSTRAP_ROUNDS,
    MAX_RANDOM_TRIALS,
    SECONDS_PER_TYPE_PER_ROUND,
    SECONDS_PER_TYPE_PER_TRIAL,
    SECONDS_PER_VOTE_READ_AND_FIT,
    expected_seconds,
)
from registry.fragility.uncertainty import bootstrap_intervals  # noqa: E402

FRACTIONS = (0.001, 0.01)


def measure(path: Path, *, n_votes: int, n_models: int, sample: int, full: bool) -> None:
    start = time.perf_counter()
    votes = read_votes(path)
    arena = Arena(votes)
    read_and_fit = time.perf_counter() - start
    types = int((arena.comparisons.type_count > 0).sum())
    start = time.perf_counter()
    bootstrap_intervals(arena.comparisons, arena.settings, arena.scores, rounds=sample, seed=0)
    per_round = (time.perf_counter() - start) / sample
    per_trial: dict[float, float] = {}
    for fraction in FRACTIONS:
        start = time.perf_counter()
        arena.random_drop_rate(fraction, sample, 0)
        per_trial[fraction] = (time.perf_counter() - start) / sample
    measured_at_bounds = (
        read_and_fit
        + MAX_BOOTSTRAP_ROUNDS * per_round
        + MAX_RANDOM_TRIALS * sum(per_trial.values())
    )
    estimate = expected_seconds(
        n_votes=n_votes,
        n_models=n_models,
        bootstrap_rounds=MAX_BOOTSTRAP_ROUNDS,
        random_trials=MAX_RANDOM_TRIALS,
    )
    print(f"\n{n_votes:,} votes among {n_models} models ({types:,} vote types)")
    print(
        f"  read + fit      {read_and_fit:8.2f} s  "
        f"({read_and_fit / n_votes:.2e} s/vote; estimate uses {SECONDS_PER_VOTE_READ_AND_FIT:.2e})"
    )
    print(
        f"  bootstrap round {per_round * 1000:8.1f} ms "
        f"({per_round / types:.2e} s/type; estimate uses {SECONDS_PER_TYPE_PER_ROUND:.2e})"
    )
    for fraction, seconds in per_trial.items():
        print(
            f"  trial at {fraction:<6}  {seconds * 1000:8.1f} ms "
            f"({seconds / types:.2e} s/type; "
            f"estimate uses {SECONDS_PER_TYPE_PER_TRIAL[fraction]:.2e})"
        )
    print(
        f"  at the bounds ({MAX_BOOTSTRAP_ROUNDS:,} rounds, {MAX_RANDOM_TRIALS:,} trials): "
        f"{measured_at_bounds:.0f} s from the samples; the estimate says {estimate:.0f} s"
    )
    if full:
        options = AnalysisOptions(
            bootstrap_rounds=MAX_BOOTSTRAP_ROUNDS, random_trials=MAX_RANDOM_TRIALS
        )
        start = time.perf_counter()
        analyze(path, options)
        print(
            f"  whole analysis at the bounds (read, fit, intervals, flips, baseline): "
            f"{time.perf_counter() - start:.0f} s"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--votes", type=int, default=10_000_000)
    parser.add_argument("--models", type=int, nargs="+", default=[200, 1000])
    parser.add_argument("--ties", type=float, default=0.3)
    parser.add_argument("--sample", type=int, default=40, help="rounds and trials timed")
    parser.add_argument("--full", action="store_true", help="run one whole analysis too")
    args = parser.parse_args()
    with one_blas_thread(), tempfile.TemporaryDirectory() as folder:
        for index, n_models in enumerate(args.models):
            path = Path(folder) / f"arena-{n_models}.csv"
            write_arena_csv(path, n_votes=args.votes, n_models=n_models, tie_rate=args.ties, seed=0)
            measure(
                path,
                n_votes=args.votes,
                n_models=n_models,
                sample=args.sample,
                full=args.full and index == 0,
            )
            path.unlink()


if __name__ == "__main__":
    main()
