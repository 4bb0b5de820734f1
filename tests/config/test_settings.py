"""Settings are read from the environment and fail loudly; each case runs in a fresh
interpreter because settings are read once per process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from config.env import env_bool

ROOT = Path(__file__).resolve().parents[2]


def load_settings(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {
        key: value
        for key, value in os.environ.items()
        if key not in {"PYTEST_VERSION", "SECRET_KEY", "DEBUG", "DATABASE_URL", "CELERY_BROKER_URL"}
    }
    clean.update({"REGISTRY_VAR_DIR": str(tmp_path / "var"), **env})
    return subprocess.run(
        [sys.executable, "-c", "import config.settings as s; print(s.CELERY_BROKER_URL)"],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        check=False,
    )


def test_production_refuses_to_start_without_a_secret_key(tmp_path: Path) -> None:
    result = load_settings(tmp_path)
    assert result.returncode != 0
    assert "SECRET_KEY (or SECRET_KEY_FILE) must be set" in result.stderr


def test_the_secret_key_can_come_from_a_file(tmp_path: Path) -> None:
    key_file = tmp_path / "key"
    key_file.write_text("a-long-production-secret\n")
    result = load_settings(tmp_path, SECRET_KEY_FILE=str(key_file))
    assert result.returncode == 0, result.stderr


def test_a_boolean_that_is_not_one_is_an_error(tmp_path: Path) -> None:
    result = load_settings(tmp_path, DEBUG="yes")
    assert result.returncode != 0
    assert "DEBUG='yes' is not a boolean" in result.stderr


def test_the_embedded_broker_has_its_folders_before_any_worker_starts(tmp_path: Path) -> None:
    result = load_settings(tmp_path, DEBUG="1")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "filesystem://"
    for folder in ("out", "processed", "control"):
        assert (tmp_path / "var" / "broker" / folder).is_dir()


@pytest.mark.parametrize(("raw", "expected"), [("1", True), ("on", True), ("false", False)])
def test_env_bool_reads_the_documented_spellings(
    monkeypatch: pytest.MonkeyPatch, raw: str, expected: bool
) -> None:
    monkeypatch.setenv("REGISTRY_FLAG", raw)
    assert env_bool("REGISTRY_FLAG") is expected
