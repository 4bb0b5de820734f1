"""Benchmark: full query-log analysis of a seeded 1,000,000-row log against a 60 s target.

Prints a table: generation time (not part of the target), a floor that only reads the CSV rows
with the standard-library ``csv`` module, the full analysis (CSV bytes -> summary + per-account
table), the ratio analysis / floor, peak traced Python memory of the analysis, and whether the
planted campaign was recovered exactly. No external peer exists for this analysis, so the
floor is the reference. Run: ``.venv/bin/python benchmarks/querylog_bench.py [--rows N]``.
"""

import argparse
import csv
import io
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.synthetic_querylog import generate_log
from registry.cloning.querylog import analyse_query_log

TARGET_SECONDS = 60.0


def read_rows_only(data: bytes) -> int:
    """The floor: decode and split every row, nothing else."""
    stream = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8", newline="")
    return sum(1 for _ in csv.reader(stream)) - 1


def timed[**P, R](function: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> tuple[R, float]:
    """Call ``function`` and return its result with the wall-clock seconds it took."""
    start = time.perf_counter()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - start


def main() -> None:
    """Generate the log, time the floor and the analysis, print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=0)
    arguments = parser.parse_args()
    log, generate_seconds = timed(lambda: generate_log(rows=arguments.rows, seed=arguments.seed))
    rows_read, floor_seconds = timed(read_rows_only, log.csv_bytes)
    tracemalloc.start()
    (summary, table), analysis_seconds = timed(analyse_query_log, log.csv_bytes)
    _, peak_bytes = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    # Timing again without tracemalloc, which slows allocation-heavy code.
    _, analysis_seconds = timed(analyse_query_log, log.csv_bytes)
    recovered = set(summary.flagged_accounts) == set(log.campaign_accounts)
    print(
        f"rows: {rows_read:,}  log size: {len(log.csv_bytes) / 1e6:.1f} MB  seed: {arguments.seed}"
    )
    print(f"{'measure':<44}{'value':>14}")
    print(f"{'generate synthetic log (not timed target)':<44}{generate_seconds:>13.2f}s")
    print(f"{'floor: csv.reader reads all rows':<44}{floor_seconds:>13.2f}s")
    print(f"{'full analysis (bytes -> summary + table)':<44}{analysis_seconds:>13.2f}s")
    print(f"{'ratio full / floor':<44}{analysis_seconds / floor_seconds:>13.1f}x")
    print(f"{'target':<44}{TARGET_SECONDS:>13.0f}s")
    print(f"{'within target':<44}{analysis_seconds < TARGET_SECONDS!s:>14}")
    print(f"{'peak traced memory of analysis':<44}{peak_bytes / 2**20:>12.0f}MB")
    print(f"{'per-account table size':<44}{len(table) / 1e6:>12.1f}MB")
    print(
        f"{'accounts / flagged / clusters':<44}"
        f"{f'{summary.accounts}/{len(summary.flagged_accounts)}/{len(summary.clusters)}':>14}"
    )
    print(f"{'planted campaign recovered exactly':<44}{recovered!s:>14}")


if __name__ == "__main__":
    main()
