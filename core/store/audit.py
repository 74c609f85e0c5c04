"""SQL for the append-only audit table. The hash chain itself lives in core.audit."""

from __future__ import annotations

import json

import aiosqlite

from core.models import AuditEntry
from core.store.database import Database, Row

__all__ = ["ascending", "count", "head", "insert", "page"]

_COLUMNS = "seq, ts, actor, action, target, workspace, detail_json, prev_hash, hash"


def _entry(row: Row) -> AuditEntry:
    return AuditEntry(
        seq=int(row["seq"]),
        ts=float(row["ts"]),
        actor=row["actor"],
        action=row["action"],
        target=row["target"],
        workspace=row["workspace"],
        detail=json.loads(row["detail_json"]),
        prev_hash=row["prev_hash"],
        hash=row["hash"],
    )


async def head(conn: aiosqlite.Connection) -> tuple[int, str] | None:
    """The newest (seq, hash), read on the writer inside its transaction."""
    rows = list(await conn.execute_fetchall("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1"))
    row = rows[0] if rows else None
    return (int(row[0]), str(row[1])) if row else None


async def insert(conn: aiosqlite.Connection, entry: AuditEntry, detail_json: str) -> None:
    await conn.execute(
        f"INSERT INTO audit ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            entry.seq,
            entry.ts,
            entry.actor,
            entry.action,
            entry.target,
            entry.workspace,
            detail_json,
            entry.prev_hash,
            entry.hash,
        ),
    )


async def page(db: Database, before_seq: int | None, limit: int) -> list[AuditEntry]:
    """Newest first, strictly older than ``before_seq`` when given."""
    if before_seq is None:
        rows = await db.fetchall(f"SELECT {_COLUMNS} FROM audit ORDER BY seq DESC LIMIT ?", (limit,))
    else:
        rows = await db.fetchall(
            f"SELECT {_COLUMNS} FROM audit WHERE seq < ? ORDER BY seq DESC LIMIT ?",
            (before_seq, limit),
        )
    return [_entry(row) for row in rows]


async def ascending(db: Database, after_seq: int | None, limit: int) -> list[AuditEntry]:
    """Oldest first, strictly newer than ``after_seq``: the order the chain is checked in."""
    if after_seq is None:
        rows = await db.fetchall(f"SELECT {_COLUMNS} FROM audit ORDER BY seq LIMIT ?", (limit,))
    else:
        rows = await db.fetchall(
            f"SELECT {_COLUMNS} FROM audit WHERE seq > ? ORDER BY seq LIMIT ?",
            (after_seq, limit),
        )
    return [_entry(row) for row in rows]


async def count(db: Database) -> int:
    row = await db.fetchone("SELECT count(*) FROM audit")
    return int(row[0]) if row else 0
