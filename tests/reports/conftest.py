"""Fixtures for the report tests: a throwaway signing PKI and media folder per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from reports.pdf.devca import DevPki, ensure_dev_pki
from reports.services import report_countersigner, report_signer


@pytest.fixture(scope="session")
def dev_pki(tmp_path_factory: pytest.TempPathFactory) -> DevPki:
    return ensure_dev_pki(tmp_path_factory.mktemp("dev-pki"))


@pytest.fixture
def report_settings(settings: object, tmp_path: Path, dev_pki: DevPki) -> Iterator[Path]:
    """Reports are signed with the test PKI and stored under a per-test MEDIA_ROOT."""
    media = tmp_path / "media"
    settings.MEDIA_ROOT = media  # type: ignore[attr-defined]
    settings.REPORT_DEV_PKI_DIR = dev_pki.directory  # type: ignore[attr-defined]
    report_signer.cache_clear()
    report_countersigner.cache_clear()
    yield media
    report_signer.cache_clear()
    report_countersigner.cache_clear()
