"""Benchmark of the fragility engine against LMArena's arena-rank and the paper's published times.

Each side runs in its own subprocess on the same synthetic CSV, so peak memory
(``ru_maxrss``) is per side. arena-rank 0.1.1 pins numpy 2.3.3 and jax, so it runs from a
separate interpreter (``--peer-python``, e.g. a venv made from benchmarks/requirements-bench.txt);
without one its rows say "not run". The paper's RankAMIP times are quoted, not re-run (its code is
not installable here).

The command-line row times ``manage.py fragility`` as a user runs it: a fresh process that
starts Django, reads the file, fits, computes sandwich intervals and the verified top-1 flip
(median of ``--cli-runs``); the peer's rows are its in-process read + fit + sandwich and the
wall time of its whole fresh process (interpreter, imports and work).

Usage:
    python benchmarks/fragility_bench.py [--votes 2000000 --models 200 --ties 0.3]
        [--peer-python /tmp/peer-venv/bin/python] [--peer-bootstrap 3] [--cli-runs 5]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from synthetic_arena import write_arena_csv  # noqa: E402

RANKAMIP_QUOTED = {"loose": 33.0, "exact": 106.0}  # arXiv 2508.11847, 57,477 votes / 64 models


def run_ours(path: str, bootstrap_rounds: int) -> dict[str, float]:
    """Child process: time each phase of the engine on one CSV, report peak memory."""
    import resource

    from registry.fragility import Arena, read_votes
    from registry.fragility._blas import one_blas_thread
    from registry.fragility.uncertainty import bootstrap_intervals, sandwich_intervals

    timings: dict[str, float] = {}
    cpu: dict[str, float] = {}
    timings["cpu"] = cpu  # type: ignore[assignment]
    with one_blas_thread():
        start, cpu_start = time.perf_counter(), time.process_time()
        arena = Arena(read_votes(path))
        intervals = sandwich_intervals(arena.comparisons, arena.scores)
        timings["read_fit_sandwich"] = time.perf_counter() - start
        cpu["read_fit_sandwich"] = time.process_time() - cpu_start
        start, cpu_start = time.perf_counter(), time.process_time()
        if bootstrap_rounds:
            bootstrap_intervals(
                arena.comparisons, arena.settings, arena.scores, rounds=bootstrap_rounds, seed=0
            )
        timings["bootstrap"] = time.perf_counter() - start
        cpu["bootstrap"] = time.process_time() - cpu_start
        start, cpu_start = time.perf_counter(), time.process_time()
        top1 = arena.top_k_fragility(1)
        timings["top1"] = time.perf_counter() - start
        cpu["top1"] = time.process_time() - cpu_start
        timings["top1_votes"] = top1.votes_to_flip if top1 else None
        start, cpu_start = time.perf_counter(), time.process_time()
        top10 = arena.top_k_fragility(10) if len(arena.comparisons.models) > 10 else None
        timings["top10"] = time.perf_counter() - start
        cpu["top10"] = time.process_time() - cpu_start
        timings["top10_votes"] = top10.votes_to_flip if top10 else None
        start, cpu_start = time.perf_counter(), time.process_time()
        adjacent = [arena.adjacent_fragility(p) for p in range(1, len(arena.comparisons.models))]
        timings["adjacent"] = time.perf_counter() - start
        cpu["adjacent"] = time.process_time() - cpu_start
        timings["adjacent_unverified"] = sum(o.votes_to_flip is None for o in adjacent)
    timings["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    timings["logit_ci"] = {
        name: [float(intervals.low[i]), float(intervals.high[i])]
        for i, name in enumerate(arena.comparisons.models)
    }
    return timings


def run_peer(path: str, bootstrap_rounds: int) -> dict[str, object]:
    """Child process in the peer interpreter: arena-rank's read + fit + sandwich and bootstrap."""
    import resource

    import numpy as np
    import pandas as pd
    from arena_rank.models.bradley_terry import BradleyTerry
    from arena_rank.utils.data_utils import PairDataset

    result: dict[str, object] = {}
    start = time.perf_counter()
    frame = pd.read_csv(path)
    dataset = PairDataset.from_pandas(frame)
    model = BradleyTerry(n_competitors=len(dataset.competitors))
    sandwich = model.compute_ratings_and_cis(dataset, ci_method="sandwich")
    np.asarray(sandwich["rating_upper"]).sum()  # force jax's asynchronous work to finish
    result["read_fit_sandwich"] = time.perf_counter() - start
    scale = 400.0 / np.log(10.0)
    result["logit_ci_half_width"] = {
        name: float((sandwich["rating_upper"][i] - sandwich["rating_lower"][i]) / 2 / scale)
        for i, name in enumerate(dataset.competitors)
    }
    if bootstrap_rounds:
        start, _cpu_start = time.perf_counter(), time.process_time()
        model.compute_ratings_and_cis(
            dataset, ci_method="bootstrap", num_bootstrap=bootstrap_rounds, n_jobs=2
        )
        result["bootstrap"] = time.perf_counter() - start
        result["bootstrap_rounds"] = bootstrap_rounds
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return result


def child(python: str, role: str, path: Path, rounds: int) -> dict:
    """Run one side in a fresh process and return its JSON report (plus the process's wall)."""
    command = [python, __file__, "--child", role, str(path), "--bootstrap", str(rounds)]
    start = time.perf_counter()
    completed = subprocess.run(command, capture_output=True, text=True, check=True, cwd=REPO)
    report = json.loads(completed.stdout.strip().splitlines()[-1])
    report["process_wall"] = time.perf_counter() - start
    return report


def time_cli(path: Path, runs: int) -> dict[str, object]:
    """``manage.py fragility`` in a fresh process each run: median wall time and its answer."""
    command = [sys.executable, str(REPO / "manage.py"), "fragility", str(path)]
    command += ["--bootstrap", "0", "--random-trials", "0", "--no-adjacent", "--top-k", "1"]
    # DEBUG=1 only spares the command a SECRET_KEY; it changes nothing in the engine.
    environment = {**os.environ, "DEBUG": "1"}
    walls, cpus = [], []
    for _ in range(runs):
        before = _children_cpu()
        start = time.perf_counter()
        completed = subprocess.run(
            [*command, "--json"], capture_output=True, text=True, check=True, env=environment
        )
        walls.append(time.perf_counter() - start)
        cpus.append(_children_cpu() - before)
    top1 = json.loads(completed.stdout)["fragility"][0]
    return {
        "wall": statistics.median(walls),
        "cpu": statistics.median(cpus),
        "walls": walls,
        "top1": top1,
    }


def _children_cpu() -> float:
    """User + system CPU seconds of every finished child process so far."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    """Generate the arenas, run both sides, print a table to paste into the README."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--votes", type=int, default=2_000_000)
    parser.add_argument("--models", type=int, default=200)
    parser.add_argument("--ties", type=float, default=0.3)
    parser.add_argument("--bootstrap", type=int, default=1000)
    parser.add_argument("--peer-python", default=None)
    parser.add_argument("--peer-bootstrap", type=int, default=3)
    parser.add_argument("--cli-runs", type=int, default=5)
    parser.add_argument("--child", nargs=2, metavar=("ROLE", "PATH"))
    args = parser.parse_args()
    if args.child:
        role, path = args.child
        runner = run_ours if role == "ours" else run_peer
        print(json.dumps(runner(path, args.bootstrap)))
        return
    with tempfile.TemporaryDirectory() as folder:
        big = Path(folder) / "arena.csv"
        write_arena_csv(big, n_votes=args.votes, n_models=args.models, tie_rate=args.ties, seed=0)
        ours = child(sys.executable, "ours", big, args.bootstrap)
        ours["cli"] = time_cli(big, args.cli_runs)
        peer = (
            child(args.peer_python, "peer", big, args.peer_bootstrap) if args.peer_python else None
        )
        small = Path(folder) / "rankamip.csv"
        write_arena_csv(small, n_votes=57_477, n_models=64, tie_rate=args.ties, seed=1)
        amip = child(sys.executable, "ours", small, 0)
    print_report(args, ours, peer, amip)


def print_report(args: argparse.Namespace, ours: dict, peer: dict | None, amip: dict) -> None:
    """Markdown table: our time, the peer's, the ratio."""
    command = " ".join(["python benchmarks/fragility_bench.py", *sys.argv[1:]])
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(
        f"Command: `{command}`  \nData: {args.votes:,} synthetic votes, {args.models} models,"
        f" {args.ties:.0%} ties (benchmarks/synthetic_arena.py, seed 0); {os.cpu_count()} cores,"
        f" load average {load} (CPU column: time this process actually ran)\n"
    )
    print("| task | this engine (wall) | (CPU) | peer | peer time | ratio (peer / ours) |")
    print("| --- | ---: | ---: | --- | ---: | ---: |")
    peer_fit = peer["read_fit_sandwich"] if peer else None
    cpu = ours["cpu"]
    cli = ours["cli"]
    verified = "verified" if cli["top1"]["verified"] else "NOT verified"
    _row(
        f"`manage.py fragility`, fresh process: Django start-up + read + fit + sandwich +"
        f" top-1 ({cli['top1']['votes_to_flip']} votes, {verified}); median of {len(cli['walls'])}",
        cli["wall"],
        "arena-rank 0.1.1 read + fit + sandwich (in-process)",
        peer_fit,
        cli["cpu"],
    )
    _row(
        "the same command",
        cli["wall"],
        "arena-rank 0.1.1 whole fresh process (imports + read + fit + sandwich)",
        peer["process_wall"] if peer else None,
    )
    _row(
        "read + aggregate + fit + sandwich CIs",
        ours["read_fit_sandwich"],
        "arena-rank 0.1.1",
        peer_fit,
        cpu["read_fit_sandwich"],
    )
    if peer and "bootstrap" in peer:
        per_round = peer["bootstrap"] / peer["bootstrap_rounds"]
        _row(
            f"{args.bootstrap} bootstrap rounds",
            ours["bootstrap"],
            f"arena-rank ({peer['bootstrap_rounds']} rounds run, extrapolated)",
            per_round * args.bootstrap,
            cpu["bootstrap"],
        )
    else:
        _row(
            f"{args.bootstrap} bootstrap rounds",
            ours["bootstrap"],
            "arena-rank",
            None,
            cpu["bootstrap"],
        )
    _row(
        f"top-1 votes-to-flip ({ours['top1_votes']} votes), verified",
        ours["top1"],
        "-",
        None,
        cpu["top1"],
    )
    _row(
        f"top-10 set ({ours['top10_votes']} votes), verified",
        ours["top10"],
        "-",
        None,
        cpu["top10"],
    )
    _row(
        f"all {args.models - 1} adjacent pairs, verified",
        ours["adjacent"],
        "-",
        None,
        cpu["adjacent"],
    )
    print(
        f"| peak memory (MB) | {ours['peak_rss_mb']:.0f} |  | arena-rank |"
        f" {peer['peak_rss_mb']:.0f} |  |"
        if peer
        else f"| peak memory (MB) | {ours['peak_rss_mb']:.0f} |  | arena-rank | not run |  |"
    )
    for mode, seconds in RANKAMIP_QUOTED.items():
        _row(
            f"read + fit + top-1 on 57,477 votes / 64 models ({amip['top1_votes']} votes)",
            amip["read_fit_sandwich"] + amip["top1"],
            f"RankAMIP, {mode} fits (quoted, not re-run)",
            seconds,
        )
    if peer:
        widths = [
            abs((high - low) / 2 - peer["logit_ci_half_width"][m])
            for m, (low, high) in ours["logit_ci"].items()
        ]
        print(
            f"\nSandwich CI half-widths vs arena-rank: max |difference| = {max(widths):.2e} logits"
            " (arena-rank fits with L-BFGS to its own tolerance; ours to gradient norm 1e-9)."
        )


def _row(
    task: str, ours: float, peer_name: str, peer: float | None, cpu: float | None = None
) -> None:
    peer_text = "not run" if peer is None else f"{peer:.2f} s"
    ratio = "" if peer is None else f"{peer / ours:.1f}x"
    cpu_text = "" if cpu is None else f"{cpu:.2f} s"
    print(f"| {task} | {ours:.2f} s | {cpu_text} | {peer_name} | {peer_text} | {ratio} |")


if __name__ == "__main__":
    main()
