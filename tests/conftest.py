"""Shared fixtures: every test gets its own data dir and settings."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from core.config import Settings, load_settings
from core.store.database import Database


class Clock:
    """A clock that stands still until a test moves ``now``."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


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


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def db(data_dir: Path) -> AsyncIterator[Database]:
    database = await Database.open(data_dir / "framecast.sqlite3")
    yield database
    await database.close()
