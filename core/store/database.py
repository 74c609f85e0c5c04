"""SQLite connections for framecast: one writer, WAL, versioned migrations.

All writes go through :meth:`Database.write`, which runs a function inside
``BEGIN IMMEDIATE`` on the single writer connection, serialised by a lock, so
multi-statement changes are atomic and writers never deadlock each other.
One-statement writes (:meth:`Database.execute_write`,
:meth:`Database.write_returning`) take the same lock but no explicit
transaction: SQLite makes a single statement atomic on its own, and every
call into aiosqlite is a round trip to its thread, so ``BEGIN`` and
``COMMIT`` around one statement would triple its cost. Reads use their own
connection, one round trip each, and may run while a write is in progress
(WAL).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable, Iterable, Sequence
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

__all__ = ["Database", "Row"]

Row = aiosqlite.Row
T = TypeVar("T")

_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


def _migrations() -> list[tuple[int, str]]:
    found = []
    for entry in resources.files("core.store.migrations").iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if match:
            found.append((int(match.group(1)), entry.read_text(encoding="utf-8")))
    return sorted(found)


class Database:
    """The SQLite index of one data dir. Open with :meth:`open`, close with :meth:`close`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._writer: aiosqlite.Connection | None = None
        self._reader: aiosqlite.Connection | None = None
        self._write_lock = asyncio.Lock()

    @classmethod
    async def open(cls, path: Path) -> Database:
        db = cls(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        db._writer = await db._connect()
        await db._writer.execute("PRAGMA journal_mode=WAL")
        await db._migrate()
        db._reader = await db._connect()
        return db

    async def _connect(self) -> aiosqlite.Connection:
        conn = await aiosqlite.connect(self.path, isolation_level=None)
        conn.row_factory = aiosqlite.Row
        await conn.execute("PRAGMA foreign_keys=ON")
        await conn.execute("PRAGMA busy_timeout=5000")
        await conn.execute("PRAGMA synchronous=NORMAL")
        return conn

    async def _migrate(self) -> None:
        assert self._writer is not None
        cursor = await self._writer.execute("PRAGMA user_version")
        row = await cursor.fetchone()
        current = int(row[0]) if row else 0
        for version, sql in _migrations():
            if version <= current:
                continue
            # executescript commits on its own; wrap it so a failed migration leaves nothing.
            await self._writer.executescript(
                f"BEGIN IMMEDIATE;\n{sql}\nPRAGMA user_version={version};\nCOMMIT;"
            )

    @property
    def schema_version(self) -> int:
        return max((v for v, _ in _migrations()), default=0)

    async def close(self) -> None:
        for conn in (self._reader, self._writer):
            if conn is not None:
                await conn.close()
        self._reader = self._writer = None

    async def write(self, fn: Callable[[aiosqlite.Connection], Awaitable[T]]) -> T:
        """Run ``fn(conn)`` in one ``BEGIN IMMEDIATE`` transaction on the writer."""
        if self._writer is None:
            raise RuntimeError("database is closed")
        async with self._write_lock:
            await self._writer.execute("BEGIN IMMEDIATE")
            try:
                result = await fn(self._writer)
            except BaseException:
                await self._writer.execute("ROLLBACK")
                raise
            await self._writer.execute("COMMIT")
            return result

    async def execute_write(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> int:
        """One write statement, atomic on its own (see the module docstring); the rows changed."""
        if self._writer is None:
            raise RuntimeError("database is closed")
        async with self._write_lock:
            cursor = await self._writer.execute(sql, params)
            return cursor.rowcount

    async def write_returning(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[Row]:
        """One write statement with a ``RETURNING`` clause, in one round trip; the rows it returned."""
        if self._writer is None:
            raise RuntimeError("database is closed")
        async with self._write_lock:
            return list(await self._writer.execute_fetchall(sql, params))

    async def fetchall(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[Row]:
        if self._reader is None:
            raise RuntimeError("database is closed")
        return list(await self._reader.execute_fetchall(sql, params))

    async def fetchone(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> Row | None:
        rows = await self.fetchall(sql, params)
        return rows[0] if rows else None

    async def executemany_write(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        async def run(conn: aiosqlite.Connection) -> None:
            await conn.executemany(sql, rows)

        await self.write(run)
