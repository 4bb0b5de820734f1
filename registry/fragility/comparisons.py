"""Aggregated pairwise comparisons: votes collapsed into interchangeable *vote types*.

A *vote type* is an unordered model pair {i, j} (i < j) together with an outcome: i won, j won,
or a tie. Two votes of the same type have identical likelihood terms, identical influence and
identical effect when dropped, so the fit, the intervals and the votes-to-flip search all work
on type counts: their cost grows with the number of distinct pairs, not with the number of votes.
Which concrete votes make up a type is kept (in file order) only to name dropped votes.

Tie conventions (Huang et al. 2025, arXiv 2508.11847, section 2): ``"half"`` counts a tie as half
a win for each side (Chatbot Arena); ``"drop"`` removes ties before fitting.

Records that cannot enter a fit (self-comparisons, exact duplicates: ``VoteTable.usable``) are
left out like dropped ties. A model left with no vote at all (one whose only votes were ties,
under ``"drop"``) has no likelihood term and so no score: it is left out of the fitted models
and named in :attr:`Comparisons.models_without_votes`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from registry.fragility.votes import OUTCOME_A, OUTCOME_B, OUTCOME_TIE, VoteTable

TIE_HANDLING = ("half", "drop")
KIND_I_WINS, KIND_J_WINS, KIND_TIE = 0, 1, 2
# Score of model i (the lower index of the pair) for each kind: the Bradley-Terry "outcome" y.
OUTCOME_FOR_I = np.array([1.0, 0.0, 0.5])


@dataclass(frozen=True, eq=False)
class Comparisons:
    """Vote-type counts for one dataset under one tie convention."""

    votes: VoteTable
    tie_handling: str
    pair_i: np.ndarray  # (P,) lower model index of each compared pair
    pair_j: np.ndarray  # (P,) higher model index
    type_pair: np.ndarray  # (T,) index into pair_i/pair_j
    type_kind: np.ndarray  # (T,) KIND_I_WINS, KIND_J_WINS or KIND_TIE
    type_count: np.ndarray  # (T,) number of votes of the type, all > 0
    vote_type: np.ndarray = field(repr=False)  # (N,) type of each vote, -1 if not used
    models: tuple[str, ...] = ()  # the fitted models; a model's index is its position here
    models_without_votes: tuple[str, ...] = ()  # models of the file that no used vote involves

    @property
    def n_models(self) -> int:
        """Number of fitted models."""
        return len(self.models)

    @property
    def n_used(self) -> int:
        """Number of votes entering the fit (all votes, or the non-ties under ``"drop"``)."""
        return int(self.type_count.sum())

    @property
    def type_outcome(self) -> np.ndarray:
        """Bradley-Terry outcome y of each type, as seen from model ``pair_i``."""
        return OUTCOME_FOR_I[self.type_kind]

    @cached_property
    def _votes_by_type(self) -> tuple[np.ndarray, np.ndarray]:
        # Shifted by one so unused votes (-1) sort first; numpy's stable sort is a radix sort,
        # O(N), for 16-bit keys (7x faster than int32 on 2M votes), so use them when they fit.
        keys = self.vote_type.astype(np.int64) + 1
        if self.type_count.shape[0] < np.iinfo(np.uint16).max:
            keys = keys.astype(np.uint16)
        order = np.argsort(keys, kind="stable")[self.vote_type.shape[0] - self.n_used :]
        boundaries = np.concatenate(([0], np.cumsum(self.type_count)))
        return order, boundaries

    def votes_of_type(self, type_index: int, how_many: int) -> np.ndarray:
        """0-based indices of the first ``how_many`` votes of a type, in file order."""
        order, boundaries = self._votes_by_type
        start = boundaries[type_index]
        return order[start : start + how_many]

    def pair_totals(self, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(votes per pair, total score of model i per pair) for type counts ``counts``."""
        n_pairs = self.pair_i.shape[0]
        weights = counts.astype(np.float64)
        totals = np.bincount(self.type_pair, weights=weights, minlength=n_pairs)
        scores = np.bincount(self.type_pair, weights=weights * self.type_outcome, minlength=n_pairs)
        return totals, scores

    def votes_per_model(self) -> np.ndarray:
        """How many used votes involve each model."""
        totals, _ = self.pair_totals(self.type_count)
        return np.bincount(self.pair_i, totals, self.n_models) + np.bincount(
            self.pair_j, totals, self.n_models
        )


def build_comparisons(votes: VoteTable, tie_handling: str = "half") -> Comparisons:
    """Collapse votes into vote-type counts under the chosen tie convention."""
    if tie_handling not in TIE_HANDLING:
        raise ValueError(f"tie handling must be one of {TIE_HANDLING}, got {tie_handling!r}")
    used = votes.usable
    if tie_handling == "drop":
        used &= votes.outcome != OUTCOME_TIE
    fitted, new_index = _models_with_votes(votes, used)
    n_models = fitted.shape[0]
    model_a, model_b = new_index[votes.model_a], new_index[votes.model_b]
    low = np.minimum(model_a, model_b)
    high = np.maximum(model_a, model_b)
    a_is_low = model_a < model_b
    kind = np.where(
        votes.outcome == OUTCOME_TIE,
        KIND_TIE,
        np.where((votes.outcome == OUTCOME_A) == a_is_low, KIND_I_WINS, KIND_J_WINS),
    )
    assert not np.any(votes.outcome > OUTCOME_TIE)
    assert OUTCOME_B == 1
    key = np.where(used, (low * n_models + high) * 3 + kind, -1)
    distinct_keys, vote_type, type_count = _distinct_keys(key, 3 * n_models * n_models)
    if distinct_keys.shape[0] and distinct_keys[0] == -1:  # dropped ties become type -1
        distinct_keys, type_count = distinct_keys[1:], type_count[1:]
        vote_type = vote_type - 1
    pair_keys, type_pair = np.unique(distinct_keys // 3, return_inverse=True)
    return Comparisons(
        votes=votes,
        tie_handling=tie_handling,
        pair_i=pair_keys // n_models,
        pair_j=pair_keys % n_models,
        type_pair=type_pair.reshape(-1),
        type_kind=(distinct_keys % 3).astype(np.int8),
        type_count=type_count.astype(np.int64),
        vote_type=vote_type.astype(np.int32),
        models=tuple(votes.models[i] for i in fitted.tolist()),
        models_without_votes=tuple(np.delete(np.array(votes.models, dtype=object), fitted)),
    )


def _models_with_votes(votes: VoteTable, used: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(indices into votes.models of the models some used vote involves, old -> new index).

    Unused models map to 0; only used votes, which never involve them, read the map.
    """
    n_models = len(votes.models)
    involved = np.zeros(n_models, dtype=bool)
    involved[votes.model_a[used]] = True
    involved[votes.model_b[used]] = True
    fitted = np.flatnonzero(involved)
    new_index = np.zeros(n_models, dtype=np.int64)
    new_index[fitted] = np.arange(fitted.shape[0])
    return fitted, new_index


DENSE_KEY_LIMIT = 30_000_000  # a dense count table up to 240 MB beats sorting 2M keys


def _distinct_keys(key: np.ndarray, key_space: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """np.unique(key, return_inverse, return_counts), by counting when the key space is small.

    Sorting two million keys costs ~0.2 s; counting them in a table indexed by key is O(N).
    A key of -1 (a dropped tie) stays the smallest distinct key, as with np.unique.
    """
    if key_space > DENSE_KEY_LIMIT:
        distinct, inverse, counts = np.unique(key, return_inverse=True, return_counts=True)
        return distinct, inverse.reshape(-1), counts
    table = np.bincount(key + 1, minlength=key_space + 1)
    present = np.flatnonzero(table)
    lookup = np.zeros(key_space + 1, dtype=np.int64)
    lookup[present] = np.arange(present.shape[0])
    return present - 1, lookup[key + 1], table[present]
