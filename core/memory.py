"""Per-project memory: the last plans and some notes, small, scrubbed and short-lived.

Rules (SPEC §2): at most :data:`MAX_PLANS` plans and :data:`MAX_NOTE_BYTES`
of notes per project (the oldest go first), forgotten :data:`TTL_S` after
the project's last interaction (``purge_expired``, run by the scheduler),
cleared at once on request. Only non-sensitive text is kept: the prompt and
the composer's plan summary, with anything that looks like a secret or an
address scrubbed, and never who the user is.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable

from core.mirror import Mirror
from core.models import MemoryItem, Project
from core.store import memory as store
from core.store import sessions as projects
from core.store.database import Database

__all__ = ["MAX_NOTE_BYTES", "MAX_PLANS", "TTL_S", "MemoryService", "scrub"]

MAX_PLANS = 10
MAX_NOTE_BYTES = 20 * 1024
TTL_S = 48 * 3600

_SECRETS = [
    re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+"),                          # e-mail addresses
    re.compile(r"\b(?:sk|pk|ghp|gho|xox[abp]|AKIA)[-_A-Za-z0-9]{12,}"),  # API-key shapes
    re.compile(r"\b[A-Za-z0-9+/_-]{32,}={0,2}"),                      # long opaque tokens
    re.compile(r"(?i)\b(password|passwd|secret|token|api[_-]?key)\s*[:=]\s*\S+"),
]


def scrub(text: str) -> str:
    """Replace what looks like a secret or an address with ``[redacted]``."""
    for pattern in _SECRETS:
        text = pattern.sub("[redacted]", text)
    return text


class MemoryService:
    def __init__(self, db: Database, mirror: Mirror, *, clock: Callable[[], float] = time.time) -> None:
        self._db = db
        self._mirror = mirror
        self._clock = clock

    async def record_plan(self, project: Project, prompt: str, summary: str) -> None:
        content = scrub(f"{prompt.strip()}\n-> {summary.strip()}")
        await self._add(project, "plan", content)

    async def add_note(self, project: Project, text: str) -> None:
        await self._add(project, "note", scrub(text.strip()))

    async def _add(self, project: Project, kind: str, content: str) -> None:
        await store.add(
            self._db, project_id=project.id, kind=kind, content=content, now=self._clock(),
            max_plans=MAX_PLANS, max_note_bytes=MAX_NOTE_BYTES,
        )
        await self._mirror_project(project)

    async def items(self, project: Project) -> list[MemoryItem]:
        return await store.items(self._db, project.id)

    async def clear(self, project: Project) -> int:
        removed = await store.clear(self._db, project.id)
        self._mirror.remove_memory(project.workspace, project.id)
        return removed

    async def purge_expired(self, now: float | None = None) -> int:
        """Forget the memory of projects idle for longer than the TTL; the items removed."""
        cutoff = (self._clock() if now is None else now) - TTL_S
        removed = 0
        for project in await projects.projects_idle_since(self._db, cutoff):
            removed += await self.clear(project)
        return removed

    async def _mirror_project(self, project: Project) -> None:
        self._mirror.write_memory(project.workspace, project, await store.items(self._db, project.id))
