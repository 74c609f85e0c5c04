"""The staff event stream (SSE): live events, heartbeats, and revocation ending the stream."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import pytest

from core.adminapi.client import AdminClient
from core.commands import Actor, RequestTrial
from core.errors import AuthError, PermissionDenied
from core.models import Role

if TYPE_CHECKING:
    from conftest import Api

Staff = Callable[[str, Role], Awaitable[AdminClient]]


async def test_staff_see_approval_requests_live_until_revoked(api: Api, staff: Staff) -> None:
    async with await staff("olga", Role.OPERATOR) as operator:
        stream = operator.events()
        first = asyncio.ensure_future(anext(stream))
        await asyncio.sleep(0.3)  # subscribed and past a heartbeat, no event yet
        assert not first.done()
        await api.app.orchestrator.execute(
            RequestTrial(Actor("telegram", "555", "Mia", "dm-555"), prompt="a red square spins")
        )
        event = await asyncio.wait_for(first, 10)
        while event.type != "ApprovalRequested":
            event = await asyncio.wait_for(anext(stream), 10)
        assert event.data["approval"]["kind"] == "trial"
        serial = (await api.authority.certificates("olga"))[0].serial
        await api.authority.revoke(serial, actor=None)
        with pytest.raises(AuthError, match="revoked"):
            while True:  # the next heartbeat re-checks the certificate and ends the stream
                await asyncio.wait_for(anext(stream), 10)
        await stream.aclose()


async def test_members_cannot_watch_events(api: Api, staff: Staff) -> None:
    async with await staff("mo", Role.MEMBER) as member:
        with pytest.raises(PermissionDenied):
            await anext(member.events())


async def test_stopping_the_server_ends_open_streams(api: Api, staff: Staff) -> None:
    async with await staff("olga", Role.OPERATOR) as operator:
        stream = operator.events()
        pending = asyncio.ensure_future(anext(stream))
        await asyncio.sleep(0.3)
        started = time.monotonic()
        await api.server.stop()
        assert time.monotonic() - started < 2  # not the 5 s shutdown timeout: the stream ended itself
        with pytest.raises(StopAsyncIteration):
            await asyncio.wait_for(pending, 5)
