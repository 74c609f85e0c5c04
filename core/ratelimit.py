"""Token-bucket rate limits, per user and per chat, with an injectable clock.

Each key (``user:<id>``, ``chat:<context id>``) has a bucket of ``capacity``
tokens refilled at ``rate_per_min`` per minute; a request takes one token or
is refused with the time until the next one. Buckets live in memory: a
restart forgives everyone, which is the friendly failure mode.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from core.errors import RateLimited

__all__ = ["RateLimiter", "TokenBucket"]


@dataclass
class TokenBucket:
    capacity: float
    rate_per_s: float
    tokens: float
    updated: float

    def take(self, now: float) -> float:
        """Take one token; return 0 on success or the seconds to wait for one."""
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate_per_s)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate_per_s


class RateLimiter:
    """Per-user and per-chat buckets; ``check`` takes from both or from neither."""

    def __init__(
        self,
        *,
        user_per_min: int,
        chat_per_min: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._limits = {"user": user_per_min, "chat": chat_per_min}
        self._clock = clock
        self._buckets: dict[str, TokenBucket] = {}

    def _bucket(self, kind: str, key: str, now: float) -> TokenBucket:
        name = f"{kind}:{key}"
        bucket = self._buckets.get(name)
        if bucket is None:
            per_min = self._limits[kind]
            bucket = TokenBucket(capacity=per_min, rate_per_s=per_min / 60, tokens=per_min, updated=now)
            self._buckets[name] = bucket
        return bucket

    def check(self, *, user_id: str, chat: str) -> None:
        """Raise RateLimited naming which limit was hit and when to try again."""
        now = self._clock()
        user = self._bucket("user", user_id, now)
        chat_bucket = self._bucket("chat", chat, now)
        wait_user = user.take(now)
        if wait_user:
            raise RateLimited(
                f"You are sending render requests too fast (limit {self._limits['user']} per minute).",
                hint=f"Try again in {math.ceil(wait_user)} s.",
            )
        wait_chat = chat_bucket.take(now)
        if wait_chat:
            user.tokens += 1  # the request was refused: give the user's token back
            raise RateLimited(
                f"This chat is sending render requests too fast (limit {self._limits['chat']} per minute).",
                hint=f"Try again in {math.ceil(wait_chat)} s.",
            )
