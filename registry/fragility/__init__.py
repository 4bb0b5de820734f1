"""The fragility engine: how many votes must be dropped to change a leaderboard's ranking.

Pure numpy/scipy (no Django), so the same code serves the web app, the Celery task, the CLI and
the benchmarks. Public API:

* :func:`analyze` -- full analysis of a vote file (bytes, path or VoteTable) -> JSON dict;
* :func:`format_table` -- that dict as a readable aligned table;
* :func:`add_arguments` / :func:`options_from_args` -- argparse glue for the management command;
* :class:`Arena` -- one fitted dataset, for claim questions (``holds_rank``, ``beats``);
* :func:`read_votes`, :class:`VoteFileError`, :class:`ColumnMapping`, :class:`WinnerValues`;
* :func:`item_claim` -- "A beats B" on per-item static benchmark scores.
"""

from registry.fragility.analysis import (
    ENGINE_VERSION,
    AnalysisOptions,
    Arena,
    analyze,
    fragility_row,
)
from registry.fragility.cli import add_arguments, format_table, options_from_args
from registry.fragility.item_claims import ItemClaim, item_claim
from registry.fragility.votes import (
    ColumnMapping,
    VoteFileError,
    VoteTable,
    WinnerValues,
    read_votes,
)

__all__ = [
    "ENGINE_VERSION",
    "AnalysisOptions",
    "Arena",
    "ColumnMapping",
    "ItemClaim",
    "VoteFileError",
    "VoteTable",
    "WinnerValues",
    "add_arguments",
    "analyze",
    "format_table",
    "fragility_row",
    "item_claim",
    "options_from_args",
    "read_votes",
]
