"""Benchmark: how long jobs take to recover from each fault.

Runs the fault-injection suite (``tests/registry/test_job_faults.py``: its own Redis,
gunicorn, beat and a prefork worker on PostgreSQL, 20 analyses and 20 reports in flight
per fault) ``--rounds`` times and prints, per fault, the seconds from the fault until

- every job the fault hit (claimed again after it) was done, and
- every one of the 40 jobs was done (the control row: the same batch with no fault,
  timed from when the first job ran).

Needs PostgreSQL: ``--database-url`` (default: this machine's, database
``registry_recovery_bench``; pytest-django makes ``test_<name>`` from it).

Usage: python benchmarks/recovery_bench.py [--rounds 3] [--database-url postgres://...]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SUITE = "tests/registry/test_job_faults.py"


def _run_suite(database_url: str, timings: Path) -> None:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "JOB_FAULTS_TIMINGS": str(timings),
    }
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", SUITE]
    completed = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True)
    if completed.returncode != 0:
        sys.exit(f"the fault suite failed:\n{completed.stdout[-4000:]}")


def _table(lines: list[dict[str, object]]) -> str:
    by_fault: dict[str, list[dict[str, object]]] = defaultdict(list)
    for line in lines:
        by_fault[str(line["fault"])].append(line)
    rows = [
        "| fault | runs | jobs hit (median) | hit jobs done after (median / max) "
        "| all 40 done after (median / max) |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for fault, runs in by_fault.items():
        hit = [float(str(run["hit"])) for run in runs]
        hit_done = [float(str(run["hit_done_seconds"])) for run in runs]
        all_done = [float(str(run["all_done_seconds"])) for run in runs]
        rows.append(
            f"| {fault} | {len(runs)} | {statistics.median(hit):.0f} "
            f"| {statistics.median(hit_done):.1f} s / {max(hit_done):.1f} s "
            f"| {statistics.median(all_done):.1f} s / {max(all_done):.1f} s |"
        )
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--database-url", default="postgres://postgres@127.0.0.1:5432/registry_recovery_bench"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        timings = Path(scratch) / "timings.jsonl"
        for round_number in range(1, args.rounds + 1):
            print(f"round {round_number} of {args.rounds} ...", file=sys.stderr, flush=True)
            _run_suite(args.database_url, timings)
        lines = [json.loads(line) for line in timings.read_text().splitlines()]
    print(_table(lines))


if __name__ == "__main__":
    main()
