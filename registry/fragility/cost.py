"""What an analysis's options cost: the bounds the API accepts and an upper estimate of
the time an analysis takes, from its dataset's size.

A bootstrap round draws a multinomial resample over the dataset's vote *types* (a pair
of models and an outcome: at most three per pair) and refits on them, so it costs in
proportion to the number of types, whatever the number of votes. A random-drop trial
draws the dropped votes and refits, so it costs in proportion to the types too, more
for the larger fraction (more pairs change). Reading and the first fit cost in
proportion to the votes.

The constants are the slowest per-unit costs ``benchmarks/bounded_work_bench.py``
measured on one core (README, "Bounded work"), rounded up, so the estimate is an upper
one: at 10M votes among 200 models, with the machine's two cores busy, reading and
fitting took 37 s, a round 73 ms and a trial 31-54 ms; among 1,000 models (1.4M types),
on a quieter machine, a round took 0.59 s and a trial 0.46-1.36 s.
"""

from __future__ import annotations

from collections.abc import Sequence

# The largest options the API accepts. On 10M votes among 200 models (LMArena's scale)
# a whole analysis at both limits took 5.5 minutes on one busy core (README, "Bounded work").
MAX_BOOTSTRAP_ROUNDS = 2_000
MAX_RANDOM_TRIALS = 1_000

SECONDS_PER_VOTE_READ_AND_FIT = 4.0e-6
SECONDS_PER_TYPE_PER_ROUND = 1.3e-6
# Per type and trial, at the smallest and the largest default fraction (0.1% and 1%).
SECONDS_PER_TYPE_PER_TRIAL = {0.001: 5.5e-7, 0.01: 1.0e-6}


def vote_types(*, n_votes: int, n_models: int) -> int:
    """The most distinct (pair, outcome) types ``n_votes`` votes among ``n_models`` can have."""
    return min(n_votes, 3 * n_models * (n_models - 1) // 2)


def expected_seconds(
    *,
    n_votes: int,
    n_models: int,
    bootstrap_rounds: int,
    random_trials: int,
    random_fractions: Sequence[float] = (0.001, 0.01),
) -> float:
    """An upper estimate of the seconds the read, fit, bootstrap and random-drop baseline
    take on one core (the flip searches, usually seconds, are not counted)."""
    types = vote_types(n_votes=n_votes, n_models=n_models)
    slowest_trial = max(SECONDS_PER_TYPE_PER_TRIAL.values())
    per_trial = [SECONDS_PER_TYPE_PER_TRIAL.get(f, slowest_trial) for f in random_fractions]
    return (
        n_votes * SECONDS_PER_VOTE_READ_AND_FIT
        + bootstrap_rounds * types * SECONDS_PER_TYPE_PER_ROUND
        + random_trials * types * sum(per_trial)
    )
