"""What dropped votes were: each vote id looked up in the dataset's stored bytes (its pair
and who won), so a page and a CSV can show the votes an analysis dropped, not bare ids.

Reading a large file takes a second or so; a dataset never changes once ingested, so the
answer is cached by the file's SHA-256, its read options and the ids asked for.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass

from django.core.cache import cache

from registry.datasets import read_dataset_votes
from registry.fragility.presenter import winner_words
from registry.fragility.votes import OUTCOME_A, OUTCOME_B, VoteTable
from registry.models import VoteDataset

_OUTCOME_NAMES = {OUTCOME_A: "model_a", OUTCOME_B: "model_b"}
_CACHE_SECONDS = 24 * 3600


@dataclass(frozen=True)
class VoteContent:
    vote: str
    model_a: str
    model_b: str
    winner: str  # model_a, model_b or tie, as in the file's canonical form

    @property
    def winner_words(self) -> str:
        return winner_words(self.model_a, self.model_b, self.winner)

    @property
    def winner_model(self) -> str:
        return {"model_a": self.model_a, "model_b": self.model_b}.get(self.winner, "")


def votes_content(dataset: VoteDataset, vote_ids: Sequence[int | str]) -> list[VoteContent]:
    """The content of each vote id, in the order given; an id the file does not hold (which
    an analysis of this dataset never produces) is left out."""
    if not vote_ids:
        return []
    wanted = [str(vote) for vote in vote_ids]
    fingerprint = json.dumps([dataset.read_options, wanted], sort_keys=True, default=str)
    key = f"votes:{dataset.file.sha256}:{hashlib.sha256(fingerprint.encode()).hexdigest()}"
    cached = cache.get(key)
    if cached is not None:
        return [VoteContent(*row) for row in cached]
    with dataset.file.content.open("rb") as handle:
        table = read_dataset_votes(handle.read(), dataset.read_options)
    rows = _look_up(table, wanted)
    cache.set(key, [list(vars(row).values()) for row in rows], _CACHE_SECONDS)
    return rows


def _look_up(table: VoteTable, wanted: list[str]) -> list[VoteContent]:
    if table.ids is not None:
        position = {str(vote): index for index, vote in enumerate(table.ids)}
    else:
        position = {str(index + 1): index for index in range(table.n_votes)}
    rows = []
    for vote in wanted:
        index = position.get(vote)
        if index is None:
            continue
        rows.append(
            VoteContent(
                vote=vote,
                model_a=table.models[int(table.model_a[index])],
                model_b=table.models[int(table.model_b[index])],
                winner=_OUTCOME_NAMES.get(int(table.outcome[index]), "tie"),
            )
        )
    return rows
