"""SQL for scheduled renders."""

from __future__ import annotations

from core.models import Schedule
from core.store.database import Database, Row

__all__ = ["all_schedules", "delete", "get", "insert"]

_COLUMNS = "id, cron, prompt, context_id, created_by, created_at, enabled"


def _schedule(row: Row) -> Schedule:
    return Schedule(
        id=row["id"],
        cron=row["cron"],
        prompt=row["prompt"],
        context_id=row["context_id"],
        created_by=row["created_by"],
        created_at=float(row["created_at"]),
        enabled=bool(row["enabled"]),
    )


async def insert(db: Database, schedule: Schedule) -> None:
    await db.execute_write(
        f"INSERT INTO schedules ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            schedule.id,
            schedule.cron,
            schedule.prompt,
            schedule.context_id,
            schedule.created_by,
            schedule.created_at,
            int(schedule.enabled),
        ),
    )


async def delete(db: Database, schedule_id: str) -> bool:
    """True when a schedule was removed."""
    return await db.execute_write("DELETE FROM schedules WHERE id = ?", (schedule_id,)) > 0


async def get(db: Database, schedule_id: str) -> Schedule | None:
    row = await db.fetchone(f"SELECT {_COLUMNS} FROM schedules WHERE id = ?", (schedule_id,))
    return _schedule(row) if row else None


async def all_schedules(db: Database) -> list[Schedule]:
    rows = await db.fetchall(f"SELECT {_COLUMNS} FROM schedules ORDER BY created_at, id")
    return [_schedule(row) for row in rows]
