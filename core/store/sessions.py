"""SQL for projects (memory's scope) and sessions (the editing rule's scope).

A user has one default project per workspace unless they name one; a
session is the open conversation of one user in one chat context, holding
the current code, where it came from (``ai`` or ``user``) and whether AI
assistance is still on.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any

import aiosqlite

from core.errors import NotFound
from core.models import Project, Session
from core.store.database import Database, Row

__all__ = [
    "DEFAULT_PROJECT",
    "all_projects",
    "TOUCH_EVERY_S",
    "ensure_project",
    "get_project",
    "get_session",
    "open_session",
    "project_and_session",
    "projects_idle_since",
    "start_session",
    "touch_project",
    "update_session",
]

DEFAULT_PROJECT = "default"
TOUCH_EVERY_S = 60.0

_PROJECT_COLUMNS = "id, user_id, workspace, name, created_at, last_interaction"
_SESSION_COLUMNS = (
    "id, user_id, project_id, context_id, ai_enabled, code, code_origin, started_at, last_seen, ended_at"
)


def _project(row: Row) -> Project:
    return Project(
        id=row["id"],
        user_id=row["user_id"],
        workspace=row["workspace"],
        name=row["name"],
        created_at=float(row["created_at"]),
        last_interaction=float(row["last_interaction"]),
    )


def _session(row: Row | Mapping[str, Any]) -> Session:
    return Session(
        id=row["id"],
        user_id=row["user_id"],
        project_id=row["project_id"],
        context_id=row["context_id"],
        ai_enabled=bool(row["ai_enabled"]),
        code=row["code"],
        code_origin=row["code_origin"],
        started_at=float(row["started_at"]),
        last_seen=float(row["last_seen"]),
        ended_at=row["ended_at"],
    )


async def get_project(db: Database, project_id: str) -> Project | None:
    row = await db.fetchone(f"SELECT {_PROJECT_COLUMNS} FROM projects WHERE id = ?", (project_id,))
    return _project(row) if row else None


async def ensure_project(
    db: Database, *, user_id: str, workspace: str, name: str, now: float
) -> Project:
    """The user's project of that name in the workspace, created if missing, touched either way.

    Touching is skipped within :data:`TOUCH_EVERY_S` of the last one: the TTL
    it feeds is 48 hours, and a write per command would be the busiest one.
    """
    row = await db.fetchone(
        f"SELECT {_PROJECT_COLUMNS} FROM projects WHERE user_id = ? AND workspace = ? AND name = ?",
        (user_id, workspace, name),
    )
    if row is not None and now - float(row["last_interaction"]) < TOUCH_EVERY_S:
        return _project(row)

    async def run(conn: aiosqlite.Connection) -> str:
        cursor = await conn.execute(
            "SELECT id FROM projects WHERE user_id = ? AND workspace = ? AND name = ?",
            (user_id, workspace, name),
        )
        row = await cursor.fetchone()
        if row is not None:
            await conn.execute("UPDATE projects SET last_interaction = ? WHERE id = ?", (now, row[0]))
            return str(row[0])
        project_id = f"p-{secrets.token_hex(5)}"
        await conn.execute(
            f"INSERT INTO projects ({_PROJECT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)",
            (project_id, user_id, workspace, name, now, now),
        )
        return project_id

    project = await get_project(db, await db.write(run))
    assert project is not None
    return project


async def all_projects(db: Database) -> list[Project]:
    rows = await db.fetchall(f"SELECT {_PROJECT_COLUMNS} FROM projects ORDER BY created_at, id")
    return [_project(row) for row in rows]


async def touch_project(db: Database, project_id: str, now: float) -> None:
    await db.execute_write("UPDATE projects SET last_interaction = ? WHERE id = ?", (now, project_id))


async def projects_idle_since(db: Database, cutoff: float) -> list[Project]:
    """Projects that still hold memory and were last used before ``cutoff``."""
    rows = await db.fetchall(
        f"SELECT {_PROJECT_COLUMNS} FROM projects WHERE last_interaction < ? "
        "AND id IN (SELECT project_id FROM memory)",
        (cutoff,),
    )
    return [_project(row) for row in rows]


async def open_session(db: Database, user_id: str, context_id: str) -> Session | None:
    row = await db.fetchone(
        f"SELECT {_SESSION_COLUMNS} FROM sessions WHERE user_id = ? AND context_id = ? "
        "AND ended_at IS NULL ORDER BY started_at DESC LIMIT 1",
        (user_id, context_id),
    )
    return _session(row) if row else None


async def project_and_session(
    db: Database, *, user_id: str, workspace: str, name: str, context_id: str, now: float
) -> tuple[Project, Session | None]:
    """:func:`ensure_project` and :func:`open_session` together: one read in the common case.

    Every render asks for both; only when the project is missing or due for a
    touch does this fall back to the two calls.
    """
    session_columns = ", ".join(f"s.{column} AS s_{column}" for column in _SESSION_COLUMNS.split(", "))
    project_columns = ", ".join(f"p.{column}" for column in _PROJECT_COLUMNS.split(", "))
    row = await db.fetchone(
        f"SELECT {project_columns}, {session_columns} FROM projects p LEFT JOIN sessions s "
        "ON s.user_id = p.user_id AND s.context_id = ? AND s.ended_at IS NULL "
        "WHERE p.user_id = ? AND p.workspace = ? AND p.name = ? ORDER BY s.started_at DESC LIMIT 1",
        (context_id, user_id, workspace, name),
    )
    if row is None or now - float(row["last_interaction"]) >= TOUCH_EVERY_S:
        project = await ensure_project(db, user_id=user_id, workspace=workspace, name=name, now=now)
        return project, await open_session(db, user_id, context_id)
    if row["s_id"] is None:
        return _project(row), None
    return _project(row), _session({key: row[f"s_{key}"] for key in _SESSION_COLUMNS.split(", ")})


async def get_session(db: Database, session_id: str) -> Session | None:
    row = await db.fetchone(f"SELECT {_SESSION_COLUMNS} FROM sessions WHERE id = ?", (session_id,))
    return _session(row) if row else None


async def start_session(
    db: Database, *, user_id: str, project_id: str, context_id: str, now: float
) -> Session:
    """End any open session of the user in the context and start a fresh one (AI on, no code)."""
    session_id = f"s-{secrets.token_hex(5)}"

    async def run(conn: aiosqlite.Connection) -> None:
        await conn.execute(
            "UPDATE sessions SET ended_at = ? WHERE user_id = ? AND context_id = ? AND ended_at IS NULL",
            (now, user_id, context_id),
        )
        await conn.execute(
            f"INSERT INTO sessions ({_SESSION_COLUMNS}) VALUES (?, ?, ?, ?, 1, NULL, NULL, ?, ?, NULL)",
            (session_id, user_id, project_id, context_id, now, now),
        )

    await db.write(run)
    session = await get_session(db, session_id)
    assert session is not None
    return session


async def update_session(
    db: Database,
    session_id: str,
    *,
    now: float,
    code: str | None = None,
    code_origin: str | None = None,
    ai_enabled: bool | None = None,
) -> Session:
    """Set the given fields (None leaves a field as it is) and the last-seen time."""

    rows = await db.write_returning(
        "UPDATE sessions SET last_seen = ?, code = coalesce(?, code), "
        "code_origin = coalesce(?, code_origin), ai_enabled = coalesce(?, ai_enabled) "
        f"WHERE id = ? RETURNING {_SESSION_COLUMNS}",
        (now, code, code_origin, None if ai_enabled is None else int(ai_enabled), session_id),
    )
    if not rows:
        raise NotFound(f"No session {session_id!r}.")
    return _session(rows[0])
