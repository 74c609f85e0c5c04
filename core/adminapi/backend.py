"""What the admin API needs from the running service, and its typed aiohttp keys.

core.app.App satisfies :class:`Backend`; the admin API depends on this
narrow shape rather than on the App class so the two can be built and
tested apart.
"""

from __future__ import annotations

import asyncio
from contextlib import AbstractAsyncContextManager
from collections.abc import AsyncIterator
from typing import Protocol

from aiohttp import web

from core.adminapi.authority import Authority
from core.audit import Audit
from core.commands import Command, Event, Reply
from core.config import Settings
from core.identity import Pairing
from core.models import User
from core.store.database import Database

__all__ = ["AUTHORITY", "BACKEND", "CLOSING", "HEARTBEAT", "USER", "Backend", "Orchestrating"]


class Orchestrating(Protocol):
    async def execute(self, cmd: Command) -> Reply: ...

    def subscribe(
        self, *, user_id: str | None = None, context_id: str | None = None, staff: bool = False
    ) -> AbstractAsyncContextManager[AsyncIterator[Event]]: ...


class Backend(Protocol):
    @property
    def settings(self) -> Settings: ...

    @property
    def db(self) -> Database: ...

    @property
    def audit(self) -> Audit: ...

    @property
    def pairing(self) -> Pairing: ...

    @property
    def orchestrator(self) -> Orchestrating: ...


BACKEND = web.AppKey("backend", Backend)
AUTHORITY = web.AppKey("authority", Authority)
HEARTBEAT = web.AppKey("heartbeat_s", float)
CLOSING = web.AppKey("closing", asyncio.Event)
USER = web.RequestKey("user", User)
