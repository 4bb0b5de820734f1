"""Real public vote data for tests, read from ``../shared/data/`` beside the repository.

The project does not carry third-party data (see that folder's README). A test that needs a
real file asks :func:`shared_file`: when the folder is absent (a user's clone) the test is
skipped with the reason; where ``REGISTRY_REQUIRE_SHARED_DATA=1`` (``.ci/run``) absence is a
failure, so CI can never pass by skipping the real-data tests.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
REQUIRE_VARIABLE = "REGISTRY_REQUIRE_SHARED_DATA"


def shared_data_required() -> bool:
    """``REGISTRY_REQUIRE_SHARED_DATA``: ``1`` makes absence a failure, ``0``/unset a skip."""
    value = os.environ.get(REQUIRE_VARIABLE, "0")
    if value not in ("0", "1"):
        raise ValueError(f"{REQUIRE_VARIABLE} must be 0 or 1, got {value!r}")
    return value == "1"


def shared_file(relative: str) -> Path:
    """The path of a real data file, or skip (fail, when required) if it is absent."""
    path = SHARED_DATA / relative
    if path.is_file():
        return path
    reason = f"real data file {path} is absent (../shared/data beside the repository)"
    if shared_data_required():
        pytest.fail(f"{reason}; {REQUIRE_VARIABLE}=1 requires it")
    pytest.skip(reason)
