"""The event bus: one bounded inbox per subscriber, never blocking the core.

``publish`` is synchronous and O(subscribers): it appends to each matching
inbox and wakes its reader. A full inbox drops its oldest progress or
queue-position event first (a newer one says more), then its oldest event of
any kind, so a slow
TUI or a stuck connector costs memory bounded by ``maxsize`` and nothing else.

Routing: a subscriber gets an event when it watches the event's user, or its
chat context, or when it is a staff subscriber (staff see everything,
including events addressed to nobody in particular such as
``ApprovalRequested``).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from core.commands import Event, JobProgress, JobQueued

__all__ = ["EventBus", "Subscription"]

# Updates that a later event of the same kind makes stale: the first to go when full.
_SUPERSEDED = (JobProgress, JobQueued)


class Subscription:
    """An async iterator over the events routed to one subscriber."""

    def __init__(self, *, user_id: str | None, context_id: str | None, staff: bool, maxsize: int) -> None:
        self.user_id = user_id
        self.context_id = context_id
        self.staff = staff
        self.dropped = 0
        self._maxsize = maxsize
        self._inbox: deque[Event] = deque()
        self._ready = asyncio.Event()

    def wants(self, event: Event) -> bool:
        if self.staff:
            return True
        if self.user_id is not None and event.user_id == self.user_id:
            return True
        return self.context_id is not None and event.context_id == self.context_id

    def offer(self, event: Event) -> None:
        if len(self._inbox) >= self._maxsize:
            self._drop_one()
        self._inbox.append(event)
        self._ready.set()

    def _drop_one(self) -> None:
        self.dropped += 1
        for index, queued in enumerate(self._inbox):
            if isinstance(queued, _SUPERSEDED):
                del self._inbox[index]
                return
        self._inbox.popleft()

    def get_nowait(self) -> Event | None:
        """The next event if one is waiting (for tests and draining)."""
        return self._inbox.popleft() if self._inbox else None

    def __aiter__(self) -> AsyncIterator[Event]:
        return self

    async def __anext__(self) -> Event:
        while not self._inbox:
            self._ready.clear()
            await self._ready.wait()
        return self._inbox.popleft()


class EventBus:
    def __init__(self, *, maxsize: int = 256) -> None:
        self._maxsize = maxsize
        self._subscribers: list[Subscription] = []

    def publish(self, event: Event) -> None:
        for subscriber in self._subscribers:
            if subscriber.wants(event):
                subscriber.offer(event)

    @asynccontextmanager
    async def subscribe(
        self, *, user_id: str | None = None, context_id: str | None = None, staff: bool = False
    ) -> AsyncIterator[Subscription]:
        subscription = Subscription(
            user_id=user_id, context_id=context_id, staff=staff, maxsize=self._maxsize
        )
        self._subscribers.append(subscription)
        try:
            yield subscription
        finally:
            self._subscribers.remove(subscription)
