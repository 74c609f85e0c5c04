"""Shared fixtures: every test gets its own data dir and settings."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from core.config import Settings, load_settings


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    path = tmp_path / "data"
    path.mkdir()
    # The sandbox uid writes job folders under here; it must be able to traverse.
    for p in (tmp_path, path):
        p.chmod(0o755)
    return path


@pytest.fixture
def settings(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    monkeypatch.setenv("FRAMECAST_DATA_DIR", str(data_dir))
    monkeypatch.delenv("FRAMECAST_CONFIG", raising=False)
    yield load_settings()
