"""SQL for per-project memory: plans and notes, with the caps applied on write."""

from __future__ import annotations

import aiosqlite

from core.models import MemoryItem
from core.store.database import Database, Row

__all__ = ["add", "all_items", "clear", "items"]


def _item(row: Row) -> MemoryItem:
    return MemoryItem(
        id=int(row["id"]),
        project_id=row["project_id"],
        kind=row["kind"],
        content=row["content"],
        created_at=float(row["created_at"]),
    )


async def add(
    db: Database,
    *,
    project_id: str,
    kind: str,
    content: str,
    now: float,
    max_plans: int,
    max_note_bytes: int,
) -> None:
    """Insert one item and, in the same transaction, drop the oldest beyond the caps."""

    async def run(conn: aiosqlite.Connection) -> None:
        await conn.execute(
            "INSERT INTO memory (project_id, kind, content, created_at) VALUES (?, ?, ?, ?)",
            (project_id, kind, content, now),
        )
        await conn.execute(
            "DELETE FROM memory WHERE project_id = ? AND kind = 'plan' AND id NOT IN "
            "(SELECT id FROM memory WHERE project_id = ? AND kind = 'plan' ORDER BY id DESC LIMIT ?)",
            (project_id, project_id, max_plans),
        )
        cursor = await conn.execute(
            "SELECT id, length(CAST(content AS BLOB)) FROM memory WHERE project_id = ? AND kind = 'note' "
            "ORDER BY id DESC",
            (project_id,),
        )
        total, drop = 0, []
        for item_id, size in await cursor.fetchall():
            total += int(size)
            if total > max_note_bytes:
                drop.append(int(item_id))
        if drop:
            await conn.executemany("DELETE FROM memory WHERE id = ?", [(i,) for i in drop])

    await db.write(run)


async def items(db: Database, project_id: str) -> list[MemoryItem]:
    rows = await db.fetchall(
        "SELECT id, project_id, kind, content, created_at FROM memory WHERE project_id = ? ORDER BY id",
        (project_id,),
    )
    return [_item(row) for row in rows]


async def all_items(db: Database) -> dict[str, list[MemoryItem]]:
    """Every project's memory items, oldest first, by project id."""
    rows = await db.fetchall("SELECT id, project_id, kind, content, created_at FROM memory ORDER BY id")
    found: dict[str, list[MemoryItem]] = {}
    for row in rows:
        found.setdefault(row["project_id"], []).append(_item(row))
    return found


async def clear(db: Database, project_id: str) -> int:
    return await db.execute_write("DELETE FROM memory WHERE project_id = ?", (project_id,))
