"""Rebuilding the Markdown projection from SQLite (``framecast mirror rebuild``).

The App runs it on the first start after an unclean stop; that is what lets
:mod:`core.mirror` skip fsync for files it can always write again.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from core.mirror import Mirror, audit_line
from core.store import approvals, users
from core.store import audit as audit_store
from core.store import jobs as job_store
from core.store import memory as memory_store
from core.store import sessions as projects
from core.store.database import Database

__all__ = ["RebuildReport", "rebuild"]

_BATCH = 1000


@dataclass(frozen=True)
class RebuildReport:
    """How many files of each kind :func:`rebuild` wrote."""

    users: int
    contexts: int
    jobs: int
    approvals: int
    memory: int
    audit_days: int


async def rebuild(mirror: Mirror, db: Database, *, default_workspace: str = "local") -> RebuildReport:
    """Rewrite every projection from SQLite: users, contexts, jobs, approvals, memory, audit copies.

    A user has no workspace of their own, so their file goes to every workspace
    they were seen in (projects, jobs, sessions, approvals, an existing file),
    or to ``default_workspace``. Memory files of projects with no memory left
    are removed. Chat logs are not projections (nothing else holds them) and
    are left alone.
    """
    contexts = {context.id: context for context in await users.all_contexts(db)}
    for context in contexts.values():
        mirror.write_context(context)
    identities = await users.all_identities(db)
    seen = await users.workspaces_of_users(db)
    for workspace, user_id in mirror.user_files():
        seen.setdefault(user_id, set()).add(workspace)
    everyone = await users.list_all(db)
    for user in everyone:
        for workspace in sorted(seen.get(user.id) or {default_workspace}):
            mirror.write_user(workspace, user, identities.get(user.id, []))
    jobs, rowid = 0, 0
    while batch := await job_store.batch_after(db, rowid, _BATCH):
        for rowid, job in batch:
            mirror.write_job(job.workspace, job)
        jobs += len(batch)
    decided = await approvals.all_approvals(db)
    for approval in decided:
        chat = contexts.get(approval.context_id)
        workspace = approval.payload.get("workspace") or (chat.workspace if chat else default_workspace)
        mirror.write_approval(str(workspace), approval)
    memory = await memory_store.all_items(db)
    for project in await projects.all_projects(db):
        if project.id in memory:
            mirror.write_memory(project.workspace, project, memory[project.id])
        else:
            mirror.remove_memory(project.workspace, project.id)
    days = await _rebuild_audit(mirror, db)
    await asyncio.to_thread(mirror.flush)
    return RebuildReport(len(everyone), len(contexts), jobs, len(decided), len(memory), days)


async def _rebuild_audit(mirror: Mirror, db: Database) -> int:
    """Rewrite each audit/<day>.md whole from the table; the number of day files."""
    days: dict[Path, tuple[str, list[str]]] = {}
    after: int | None = None
    while chunk := await audit_store.ascending(db, after, _BATCH):
        for entry in chunk:
            path, header = mirror.audit_file(entry)
            days.setdefault(path, (header, []))[1].append(audit_line(entry))
        after = chunk[-1].seq
    for path, (header, lines) in days.items():
        mirror.write(path, header + "".join(lines))
    return len(days)
