"""Command-line glue: argparse options and the plain-words table of a fragility analysis.

The Django command ``manage.py fragility`` and ``python -m registry.fragility`` both call
:func:`add_arguments`, :func:`options_from_args`, :func:`analyze` and :func:`format_table`,
so the command itself stays a few lines long.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from registry.fragility.analysis import AnalysisOptions, analyze
from registry.fragility.presenter import flip_sentence
from registry.fragility.votes import FORMATS, ColumnMapping, VoteFileError, WinnerValues

# A decoded analysis result (the README's "Result schema"): values are whatever JSON holds.
JsonObject = Mapping[str, Any]


def add_arguments(parser: argparse.ArgumentParser, *, include_path: bool = True) -> None:
    """Register the fragility options (and the PATH argument) on an argparse parser."""
    if include_path:
        parser.add_argument(
            "path",
            type=Path,
            help="vote file: CSV/TSV, JSON lines, clean_battle JSON, Parquet, pair counts"
            " (CSV or leaderbot JSON); gzip-compressed too",
        )
    parser.add_argument("--format", dest="file_format", choices=FORMATS, default="auto")
    parser.add_argument(
        "--columns", default="", help="role=column pairs, e.g. model_a=left,model_b=right,id=row"
    )
    parser.add_argument(
        "--winner-values",
        default="",
        help="outcome=value pairs, e.g. model_a=left,model_b=right,tie=tie|draw",
    )
    parser.add_argument("--top-k", default="1,3,5", help="comma-separated k for top-k sets")
    parser.add_argument("--bootstrap", type=int, default=1000, help="bootstrap rounds (0: none)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--budget",
        type=float,
        default=0.01,
        help="largest drop searched, as a fraction of the votes",
    )
    parser.add_argument("--ties", choices=("half", "drop"), default="half")
    parser.add_argument("--random-trials", type=int, default=100)
    parser.add_argument("--no-adjacent", action="store_true", help="skip adjacent-pair searches")
    parser.add_argument("--json", action="store_true", help="print the JSON result")


def options_from_args(namespace: argparse.Namespace) -> AnalysisOptions:
    """Build AnalysisOptions from parsed arguments; ValueError names a malformed option."""
    try:
        top_k = tuple(int(part) for part in namespace.top_k.split(",") if part.strip())
    except ValueError:
        raise ValueError(
            f"--top-k: expected integers like 1,3,5, got {namespace.top_k!r}"
        ) from None
    if any(k < 1 for k in top_k) or not 0 < namespace.budget <= 1:
        raise ValueError("--top-k values must be >= 1 and --budget in (0, 1]")
    return AnalysisOptions(
        file_format=namespace.file_format,
        columns=ColumnMapping.parse(namespace.columns) if namespace.columns else None,
        winner_values=(
            WinnerValues.parse(namespace.winner_values) if namespace.winner_values else None
        ),
        top_k=top_k,
        bootstrap_rounds=namespace.bootstrap,
        seed=namespace.seed,
        budget=namespace.budget,
        ties=namespace.ties,
        adjacent_pairs=not namespace.no_adjacent,
        random_trials=namespace.random_trials,
    )


def format_table(result: JsonObject) -> str:
    """The leaderboard, then every fragility line in plain words."""
    lines = [*_header_lines(result), "", *_leaderboard_lines(result["scores"])]
    lines += [
        "",
        "Votes to flip (each verified by an exact refit; upper bounds, never"
        " certificates of robustness):",
    ]
    n_used = result["fit"]["n_votes_used"]
    lines += ["  " + flip_sentence(row, n_used) for row in result["fragility"]]
    for row in result.get("random_drop_baseline", []):
        rate = "n/a" if row["rate"] is None else f"{row['rate']:.0%}"
        lines.append(
            f"Random drops of {row['votes_dropped']:,} votes ({row['fraction']:.1%}):"
            f" top-1 changed in {row['top1_changed']} of {row['trials']} trials ({rate})"
        )
    return "\n".join(lines)


def _header_lines(result: JsonObject) -> list[str]:
    dataset, fit = result["dataset"], result["fit"]
    lines = [
        f"{dataset['n_votes']:,} votes, {dataset['n_models']} models, {dataset['n_ties']:,} ties"
        f" (sha256 {dataset['sha256'][:12]}...)",
        f"Bradley-Terry, ties: {fit['tie_handling']}, {fit['n_votes_used']:,} votes used,"
        f" reference {fit['reference_model']} = 1000",
    ]
    excluded = []
    if dataset.get("n_self_comparisons"):
        excluded.append(f"{dataset['n_self_comparisons']:,} self-comparisons")
    if dataset.get("n_duplicates"):
        excluded.append(f"{dataset['n_duplicates']:,} exact duplicates")
    if excluded:
        lines.append(f"Excluded before fitting: {' and '.join(excluded)} (listed in --json)")
    if fit.get("models_without_votes"):
        lines.append(
            "Not ranked, no vote left in the fit: " + ", ".join(fit["models_without_votes"])
        )
    if not fit["mle_exists"]:
        lines.append(
            f"WARNING: no maximum likelihood estimate ({fit['mle_problem']}:"
            f" {', '.join(fit['mle_problem_models'])}); fitted with ridge"
            f" {fit['ridge']}, figures marked * depend on it"
        )
    return lines


def _leaderboard_lines(scores: Sequence[JsonObject]) -> list[str]:
    width = max([len("model")] + [len(str(row["model"])) for row in scores])
    lines = [f"{'rank':>4} {'ub':>4}  {'model':<{width}}  {'elo':>7}  {'95% CI (sandwich)':>19}"]
    for row in scores:
        mark = "*" if row.get("ridge_dependent") else " "
        lines.append(
            f"{row['rank']:>4} {row['rank_ub']:>4}  {row['model']!s:<{width}}{mark} "
            f"{_fmt(row['elo']):>7}  [{_fmt(row['ci_low']):>8}, {_fmt(row['ci_high']):>8}]"
        )
    return lines


def _fmt(value: object) -> str:
    return "n/a" if value is None else f"{value:.1f}"


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m registry.fragility PATH [options]``."""
    parser = argparse.ArgumentParser(
        prog="python -m registry.fragility",
        description="Votes-to-flip analysis of a pairwise leaderboard",
    )
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        result = analyze(args.path, options_from_args(args))
    except (VoteFileError, ValueError) as error:
        parser.exit(2, f"error: {error}\n")
    print(json.dumps(result, indent=2) if args.json else format_table(result))
    return 0
