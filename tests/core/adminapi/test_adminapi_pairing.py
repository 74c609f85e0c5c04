"""Pairing through the admin API, end to end: chat `pair` -> TUI lookup -> approve -> new role in chat."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import pytest

from core.adminapi.client import AdminClient
from core.commands import Actor, ListApprovals, Notice, RequestPairing
from core.errors import Conflict, NotFound, PermissionDenied, RateLimited
from core.identity import CODE_TTL_S
from core.models import Role

if TYPE_CHECKING:
    from conftest import Api

Staff = Callable[[str, Role], Awaitable[AdminClient]]
GRACE = Actor("telegram", "1815", "Grace", "dm-1815")


async def _pair(api: Api, actor: Actor = GRACE) -> str:
    reply = await api.app.orchestrator.execute(RequestPairing(actor))
    assert reply.data is not None and reply.data["code"] in reply.text
    return str(reply.data["code"])


async def test_an_admin_pairs_a_chat_identity_and_the_role_applies_at_once(
    api: Api, staff: Staff, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with pytest.raises(PermissionDenied):
        await api.app.orchestrator.execute(ListApprovals(GRACE))
    code = await _pair(api)
    async with await staff("ada", Role.ADMIN) as admin, api.app.orchestrator.subscribe(
        context_id=GRACE.context_id
    ) as chat:
        info = await admin.pairing_lookup(code)
        assert (info.connector, info.external_id, info.display_name) == ("telegram", "1815", "Grace")
        identity = await admin.pairing_approve(code, Role.OPERATOR)
        notice = await anext(aiter(chat))
        with pytest.raises(Conflict, match="already used"):
            await admin.pairing_approve(code, Role.OPERATOR)
        entries = await admin.audit(limit=50)
        assert (await admin.verify_audit()).ok
    assert isinstance(notice, Notice) and "operator" in notice.text
    assert identity.connector == "telegram" and identity.external_id == "1815"
    reply = await api.app.orchestrator.execute(ListApprovals(GRACE))  # Grace's next chat command
    assert reply.data == {"approvals": []}
    approved = [e for e in entries if e.action == "pairing.approved"]
    assert approved and approved[0].actor == "admin:ada" and approved[0].detail["role"] == "operator"
    assert all(code not in str(e.detail) and code not in e.target for e in entries)
    assert code not in caplog.text  # no log line, at any level, carries the code


async def test_a_denied_code_links_nothing(api: Api, staff: Staff) -> None:
    code = await _pair(api)
    async with await staff("ada", Role.ADMIN) as admin:
        await admin.pairing_deny(code)
        with pytest.raises(Conflict, match="denied"):
            await admin.pairing_lookup(code)
    _, role = await api.app.orchestrator.resolve_actor(GRACE)
    assert role is Role.MEMBER


async def test_an_expired_code_is_refused_with_409_and_a_clear_message(api: Api, staff: Staff) -> None:
    code = await _pair(api)
    api.clock.offset += CODE_TTL_S + 1
    async with await staff("ada", Role.ADMIN) as admin:
        with pytest.raises(Conflict) as expired:
            await admin.pairing_approve(code, Role.MEMBER)
    assert expired.value.message == "That pairing code has expired; send pair again for a new one."
    assert expired.value.code == "E_CONFLICT"


async def test_wrong_codes_are_rate_limited_with_429(api: Api, staff: Staff) -> None:
    code = await _pair(api)
    async with await staff("ada", Role.ADMIN) as admin:
        for guess in ["ABCDEFGH", "HGFEDCBA", "23456789", "98765432", "ABCD2345"]:
            with pytest.raises(NotFound, match="not valid"):
                await admin.pairing_lookup(guess)
        with pytest.raises(RateLimited):
            await admin.pairing_lookup(code)


async def test_operators_cannot_pair(api: Api, staff: Staff) -> None:
    code = await _pair(api)
    async with await staff("olga", Role.OPERATOR) as operator:
        with pytest.raises(PermissionDenied):
            await operator.pairing_lookup(code)
        with pytest.raises(PermissionDenied):
            await operator.pairing_approve(code, Role.MEMBER)


async def test_a_fourth_pending_code_is_refused_in_chat(api: Api) -> None:
    for _ in range(3):
        await _pair(api)
    with pytest.raises(Conflict, match="3 pairing codes waiting"):
        await _pair(api)
