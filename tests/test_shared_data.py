"""The real-data rule: absent data skips a test, or fails it where CI requires the data."""

from __future__ import annotations

import pytest

from tests import shared_data


def test_absent_real_data_skips_with_the_reason(monkeypatch, tmp_path) -> None:
    monkeypatch.setattr(shared_data, "SHARED_DATA", tmp_path / "nowhere")
    monkeypatch.delenv(shared_data.REQUIRE_VARIABLE, raising=False)
    with pytest.raises(pytest.skip.Exception, match="absent"):
        shared_data.shared_file("llmfao/crowd-comparisons.csv")


def test_absent_real_data_fails_where_it_is_required(monkeypatch, tmp_path) -> None:
    monkeypatch.setattr(shared_data, "SHARED_DATA", tmp_path / "nowhere")
    monkeypatch.setenv(shared_data.REQUIRE_VARIABLE, "1")
    with pytest.raises(pytest.fail.Exception, match="REGISTRY_REQUIRE_SHARED_DATA=1"):
        shared_data.shared_file("llmfao/crowd-comparisons.csv")


def test_a_present_file_is_returned(monkeypatch, tmp_path) -> None:
    (tmp_path / "votes.csv").write_text("model_a,model_b,winner\n")
    monkeypatch.setattr(shared_data, "SHARED_DATA", tmp_path)
    assert shared_data.shared_file("votes.csv") == tmp_path / "votes.csv"


def test_the_requirement_switch_accepts_only_0_and_1(monkeypatch) -> None:
    monkeypatch.setenv(shared_data.REQUIRE_VARIABLE, "yes")
    with pytest.raises(ValueError, match="0 or 1"):
        shared_data.shared_data_required()
