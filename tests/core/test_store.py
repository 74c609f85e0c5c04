"""The SQLite store: migrations, WAL, and the single serialised writer."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import aiosqlite
import pytest

from core.store.database import Database


async def _user_version(db: Database) -> int:
    row = await db.fetchone("PRAGMA user_version")
    assert row is not None
    return int(row[0])


async def test_migrations_apply_once_and_record_the_version(data_dir: Path) -> None:
    path = data_dir / "framecast.sqlite3"
    first = await Database.open(path)
    assert await _user_version(first) == first.schema_version >= 1
    tables = {row["name"] for row in await first.fetchall("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"users", "audit", "schedules", "jobs", "memory"} <= tables
    await first.execute_write(
        "INSERT INTO schedules VALUES ('s1', '0 9 * * MON', 'p', 'console:local', 'me', 1.0, 1)"
    )
    await first.close()

    # Re-running 0001 would fail on CREATE TABLE or wipe the row; neither may happen.
    second = await Database.open(path)
    assert await _user_version(second) == second.schema_version
    assert await second.fetchone("SELECT id FROM schedules") is not None
    await second.close()


async def test_wal_mode_is_on(db: Database) -> None:
    with sqlite3.connect(db.path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


async def test_concurrent_writes_are_serialised(db: Database) -> None:
    await db.execute_write("CREATE TABLE counter (n INTEGER NOT NULL)")
    await db.execute_write("INSERT INTO counter VALUES (0)")

    async def bump(conn: aiosqlite.Connection) -> None:
        cursor = await conn.execute("SELECT n FROM counter")
        row = await cursor.fetchone()
        assert row is not None
        await asyncio.sleep(0)  # let every other writer try to interleave here
        await conn.execute("UPDATE counter SET n = ?", (row[0] + 1,))

    await asyncio.gather(*(db.write(bump) for _ in range(50)))
    row = await db.fetchone("SELECT n FROM counter")
    assert row is not None and row[0] == 50


async def test_a_failing_write_rolls_back_and_the_writer_stays_usable(db: Database) -> None:
    async def half_done(conn: aiosqlite.Connection) -> None:
        await conn.execute(
            "INSERT INTO schedules VALUES ('s1', '0 9 * * MON', 'p', 'console:local', 'me', 1.0, 1)"
        )
        raise RuntimeError("second statement failed")

    with pytest.raises(RuntimeError):
        await db.write(half_done)
    assert await db.fetchone("SELECT id FROM schedules") is None
    assert await db.execute_write(
        "INSERT INTO schedules VALUES ('s2', '0 9 * * MON', 'p', 'console:local', 'me', 1.0, 1)"
    ) == 1


async def test_readers_do_not_see_or_wait_for_an_open_write(db: Database) -> None:
    seen_during: list[int] = []

    async def insert_then_peek(conn: aiosqlite.Connection) -> None:
        await conn.execute(
            "INSERT INTO schedules VALUES ('s1', '0 9 * * MON', 'p', 'console:local', 'me', 1.0, 1)"
        )
        row = await asyncio.wait_for(db.fetchone("SELECT count(*) FROM schedules"), 2)
        assert row is not None
        seen_during.append(int(row[0]))

    await db.write(insert_then_peek)
    after = await db.fetchone("SELECT count(*) FROM schedules")
    assert seen_during == [0] and after is not None and after[0] == 1
