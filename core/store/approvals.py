"""SQL for approvals: requests (today, trials) that wait for an operator's decision."""

from __future__ import annotations

import json
import secrets
from typing import Any

from core.models import Approval, ApprovalState
from core.store.database import Database, Row

__all__ = [
    "all_approvals",
    "decide",
    "get",
    "insert",
    "list_approvals",
    "new_approval_id",
    "pending_for_user",
    "set_job",
]

_COLUMNS = (
    "id, kind, user_id, context_id, payload_json, state, requested_at, decided_by, decided_at, reason, job_id"
)


def new_approval_id() -> str:
    # Short: staff type it (`/approve a-1b2c3d`).
    return f"a-{secrets.token_hex(3)}"


def _approval(row: Row) -> Approval:
    return Approval(
        id=row["id"],
        kind=row["kind"],
        user_id=row["user_id"],
        context_id=row["context_id"],
        payload=json.loads(row["payload_json"]),
        state=ApprovalState(row["state"]),
        requested_at=float(row["requested_at"]),
        decided_by=row["decided_by"],
        decided_at=row["decided_at"],
        reason=row["reason"],
        job_id=row["job_id"],
    )


async def insert(
    db: Database, *, kind: str, user_id: str, context_id: str, payload: dict[str, Any], now: float
) -> Approval:
    approval_id = new_approval_id()
    await db.execute_write(
        "INSERT INTO approvals (id, kind, user_id, context_id, payload_json, state, requested_at) "
        "VALUES (?, ?, ?, ?, ?, 'pending', ?)",
        (approval_id, kind, user_id, context_id, json.dumps(payload), now),
    )
    approval = await get(db, approval_id)
    assert approval is not None
    return approval


async def get(db: Database, approval_id: str) -> Approval | None:
    row = await db.fetchone(f"SELECT {_COLUMNS} FROM approvals WHERE id = ?", (approval_id,))
    return _approval(row) if row else None


async def all_approvals(db: Database) -> list[Approval]:
    rows = await db.fetchall(f"SELECT {_COLUMNS} FROM approvals ORDER BY requested_at, id")
    return [_approval(row) for row in rows]


async def list_approvals(db: Database, state: ApprovalState | None, limit: int = 100) -> list[Approval]:
    if state is None:
        rows = await db.fetchall(
            f"SELECT {_COLUMNS} FROM approvals ORDER BY requested_at DESC LIMIT ?", (limit,)
        )
    else:
        rows = await db.fetchall(
            f"SELECT {_COLUMNS} FROM approvals WHERE state = ? ORDER BY requested_at LIMIT ?",
            (state.value, limit),
        )
    return [_approval(row) for row in rows]


async def pending_for_user(db: Database, user_id: str, kind: str) -> Approval | None:
    row = await db.fetchone(
        f"SELECT {_COLUMNS} FROM approvals WHERE user_id = ? AND kind = ? AND state = 'pending'",
        (user_id, kind),
    )
    return _approval(row) if row else None


async def decide(
    db: Database, approval_id: str, state: ApprovalState, *, by: str, reason: str | None, now: float
) -> Approval | None:
    """pending -> approved|denied; None when it was not pending any more (someone else decided)."""
    changed = await db.execute_write(
        "UPDATE approvals SET state = ?, decided_by = ?, decided_at = ?, reason = ? "
        "WHERE id = ? AND state = 'pending'",
        (state.value, by, now, reason, approval_id),
    )
    return await get(db, approval_id) if changed else None


async def set_job(db: Database, approval_id: str, job_id: str) -> Approval | None:
    await db.execute_write("UPDATE approvals SET job_id = ? WHERE id = ?", (job_id, approval_id))
    return await get(db, approval_id)
