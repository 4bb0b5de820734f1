"""Fixtures for the fragility tests."""

from __future__ import annotations

import pytest
from fragility_helpers import LLMFAO, LLMFAO_COLUMNS, LLMFAO_WINNERS

from registry.fragility import VoteTable, read_votes


@pytest.fixture(scope="session")
def llmfao_votes() -> VoteTable:
    """The 8,931 LLMFAO crowd votes."""
    return read_votes(LLMFAO, columns=LLMFAO_COLUMNS, winner_values=LLMFAO_WINNERS)
