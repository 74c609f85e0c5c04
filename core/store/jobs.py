"""SQL for render jobs: the persistent half of the queue.

A job's ``state`` is the truth the queue rebuilds itself from after a
restart: ``queued`` jobs resume in creation order, ``running`` ones were
interrupted and are retried or failed by the queue.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

from core.models import Job, JobState
from core.store.database import Database, Row

__all__ = [
    "batch_after",
    "finish",
    "get",
    "insert",
    "list_jobs",
    "mark_running",
    "new_job_id",
    "requeue",
    "with_state",
]

_COLUMNS = (
    "id, user_id, workspace, context_id, session_id, kind, tier, prompt, code, "
    "requested_duration, state, attempts, error_code, error_message, result_json, "
    "created_at, started_at, finished_at"
)


def new_job_id() -> str:
    return f"j-{secrets.token_hex(5)}"


def _job(row: Row) -> Job:
    result = row["result_json"]
    return Job(
        id=row["id"],
        user_id=row["user_id"],
        workspace=row["workspace"],
        context_id=row["context_id"],
        session_id=row["session_id"],
        kind=row["kind"],
        tier=row["tier"],
        prompt=row["prompt"],
        code=row["code"],
        requested_duration=row["requested_duration"],
        state=JobState(row["state"]),
        attempts=int(row["attempts"]),
        error_code=row["error_code"],
        error_message=row["error_message"],
        result=json.loads(result) if result else None,
        created_at=float(row["created_at"]),
        started_at=row["started_at"],
        finished_at=row["finished_at"],
    )


async def insert(db: Database, job: Job, *, max_queued: int | None = None) -> bool:
    """Insert a new job; with ``max_queued``, only while its user has fewer queued jobs.

    The check and the insert are one statement, so two concurrent requests
    cannot both slip under the limit. False when the limit refused it.
    """
    limit = (
        "" if max_queued is None
        else " WHERE (SELECT count(*) FROM jobs WHERE user_id = ? AND state = 'queued') < ?"
    )
    changed = await db.execute_write(
        f"INSERT INTO jobs ({_COLUMNS}) SELECT {', '.join('?' * 18)}{limit}",
        (
            job.id, job.user_id, job.workspace, job.context_id, job.session_id, job.kind,
            job.tier, job.prompt, job.code, job.requested_duration, job.state.value,
            job.attempts, job.error_code, job.error_message,
            json.dumps(job.result) if job.result is not None else None,
            job.created_at, job.started_at, job.finished_at,
            *(() if max_queued is None else (job.user_id, max_queued)),
        ),
    )
    return changed == 1


async def get(db: Database, job_id: str) -> Job | None:
    row = await db.fetchone(f"SELECT {_COLUMNS} FROM jobs WHERE id = ?", (job_id,))
    return _job(row) if row else None


async def with_state(db: Database, state: JobState) -> list[Job]:
    rows = await db.fetchall(
        f"SELECT {_COLUMNS} FROM jobs WHERE state = ? ORDER BY created_at, id", (state.value,)
    )
    return [_job(row) for row in rows]


async def batch_after(db: Database, rowid: int, limit: int) -> list[tuple[int, Job]]:
    """Every job in insertion order, ``limit`` at a time: pass the last rowid seen (0 to start)."""
    rows = await db.fetchall(
        f"SELECT rowid, {_COLUMNS} FROM jobs WHERE rowid > ? ORDER BY rowid LIMIT ?", (rowid, limit)
    )
    return [(int(row["rowid"]), _job(row)) for row in rows]


async def list_jobs(
    db: Database, *, user_id: str | None = None, state: JobState | None = None, limit: int = 50
) -> list[Job]:
    clauses, params = [], []
    if user_id is not None:
        clauses.append("user_id = ?")
        params.append(user_id)
    if state is not None:
        clauses.append("state = ?")
        params.append(state.value)
    where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    rows = await db.fetchall(
        f"SELECT {_COLUMNS} FROM jobs {where} ORDER BY created_at DESC, id DESC LIMIT ?",
        (*params, limit),
    )
    return [_job(row) for row in rows]


async def mark_running(db: Database, job_id: str, now: float) -> Job | None:
    """queued -> running, counting the attempt; None if it was no longer queued."""
    return await _update_returning(
        db,
        "UPDATE jobs SET state = 'running', attempts = attempts + 1, started_at = ? "
        "WHERE id = ? AND state = 'queued'",
        (now, job_id),
    )


async def _update_returning(db: Database, sql: str, params: tuple[Any, ...]) -> Job | None:
    """One UPDATE that hands back the changed row, in a single round trip."""
    rows = await db.write_returning(f"{sql} RETURNING {_COLUMNS}", params)
    return _job(rows[0]) if rows else None


async def requeue(db: Database, job_id: str, *, refund_attempt: bool) -> Job | None:
    """running -> queued (None if it was not running).

    A graceful stop refunds the attempt, a crash recovery does not.
    """
    return await _update_returning(
        db,
        "UPDATE jobs SET state = 'queued', started_at = NULL, "
        "attempts = attempts - ? WHERE id = ? AND state = 'running'",
        (1 if refund_attempt else 0, job_id),
    )


async def finish(
    db: Database,
    job_id: str,
    state: JobState,
    now: float,
    *,
    error_code: str | None = None,
    error_message: str | None = None,
    result: dict[str, Any] | None = None,
) -> Job | None:
    """Move a job to a final state (done, failed, cancelled); None if it already was in one."""
    return await _update_returning(
        db,
        "UPDATE jobs SET state = ?, finished_at = ?, error_code = ?, error_message = ?, result_json = ? "
        "WHERE id = ? AND state IN ('queued', 'running')",
        (
            state.value, now, error_code, error_message,
            json.dumps(result) if result is not None else None, job_id,
        ),
    )
