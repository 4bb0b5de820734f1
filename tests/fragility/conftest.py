"""Fixtures for the fragility tests."""

from __future__ import annotations

import pytest
from fragility_helpers import LLMFAO_COLUMNS, LLMFAO_WINNERS, synthetic_arena_csv

from registry.fragility import VoteTable, read_votes


@pytest.fixture(scope="session")
def arena_csv() -> bytes:
    """The seeded synthetic arena (4,000 votes, 14 models, ~35% ties) in LLMFAO's layout."""
    return synthetic_arena_csv()


@pytest.fixture(scope="session")
def arena_votes(arena_csv: bytes) -> VoteTable:
    """The synthetic arena, read."""
    return read_votes(arena_csv, columns=LLMFAO_COLUMNS, winner_values=LLMFAO_WINNERS)
