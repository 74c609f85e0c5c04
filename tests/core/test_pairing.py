"""Pairing: one-time codes, their limits, and approval taking effect on the next chat command."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from core.app import App
from core.audit import Audit
from core.commands import Actor, Event, ListApprovals, Notice, RequestPairing, UserChanged
from core.errors import Conflict, InputError, NotFound, PermissionDenied, RateLimited
from core.identity import CODE_ALPHABET, CODE_LENGTH, CODE_TTL_S, EXPIRED, USED, Pairing, load_pairing_key
from core.models import Role, User
from core.store import users
from core.store.identity import linked_user
from core.store.database import Database
from tests.conftest import Clock


@pytest.fixture
def published() -> list[Event]:
    return []


@pytest.fixture
def pairing(db: Database, clock: Clock, published: list[Event], data_dir: Path) -> Pairing:
    key = load_pairing_key(data_dir / ".pki" / "pairing.key")
    return Pairing(db, Audit(db, clock=clock), clock=clock, publish=published.append, key=key)


async def _user(db: Database, name: str, role: Role) -> User:
    user, _ = await users.upsert_user_with_identity(
        db, connector="console", external_id=name, display_name=name.title(), now=1.0, role=role, user_id=name
    )
    return user


async def test_code_shape_and_nothing_stored_in_clear(pairing: Pairing, db: Database, data_dir: Path) -> None:
    code = await pairing.request("telegram", "4242", "Ada", "dm-4242")
    assert len(code) == CODE_LENGTH and set(code) <= set(CODE_ALPHABET)
    assert not set("IL O01") & set(CODE_ALPHABET)
    stored = b"".join(p.read_bytes() for p in data_dir.glob("framecast.sqlite3*"))
    assert code.encode() not in stored
    assert (data_dir / ".pki" / "pairing.key").stat().st_mode & 0o777 == 0o600


async def test_lookup_then_approve_links_a_new_user_and_tells_them(
    pairing: Pairing, db: Database, published: list[Event]
) -> None:
    admin = await _user(db, "ada", Role.ADMIN)
    code = await pairing.request("telegram", "4242", "Grace", "dm-4242")
    info = await pairing.lookup(code.lower()[:4] + "-" + code[4:], approver=admin)  # typed loosely
    assert (info.connector, info.external_id, info.display_name, info.chat) == ("telegram", "4242", "Grace", "dm-4242")

    identity = await pairing.approve(code, approver=admin, user_id=None, role=Role.OPERATOR)
    linked = await linked_user(db, "telegram", "4242")
    assert linked is not None and linked.id == identity.user_id
    assert linked.role is Role.OPERATOR and linked.display_name == "Grace"
    notices = [e for e in published if isinstance(e, Notice)]
    assert notices[-1].context_id == "telegram:dm-4242" and "operator" in notices[-1].text
    assert [e.user for e in published if isinstance(e, UserChanged)] == [linked]
    with pytest.raises(Conflict) as reused:
        await pairing.approve(code, approver=admin, user_id=None, role=Role.OPERATOR)
    assert reused.value.message == USED


async def test_approve_to_an_existing_user_moves_the_identity(pairing: Pairing, db: Database) -> None:
    admin = await _user(db, "ada", Role.ADMIN)
    staff = await _user(db, "olga", Role.MEMBER)
    # The chat user already talked to the bot, so it has an auto-created member account.
    auto, _ = await users.upsert_user_with_identity(
        db, connector="discord", external_id="77", display_name="olga#1", now=2.0
    )
    code = await pairing.request("discord", "77", "olga#1", "dm-77")
    await pairing.approve(code, approver=admin, user_id=staff.id, role=Role.OPERATOR)
    linked = await linked_user(db, "discord", "77")
    assert linked is not None and linked.id == "olga" and linked.role is Role.OPERATOR
    assert auto.id != linked.id


async def test_roles_at_or_above_the_approver_cannot_be_granted(pairing: Pairing, db: Database) -> None:
    admin = await _user(db, "ada", Role.ADMIN)
    overlord = await _user(db, "root", Role.OVERLORD)
    member = await _user(db, "mo", Role.MEMBER)
    code = await pairing.request("telegram", "1", "Eve", "dm-1")
    for role in (Role.ADMIN, Role.OVERLORD):
        with pytest.raises(PermissionDenied):
            await pairing.approve(code, approver=admin, user_id=None, role=role)
    with pytest.raises(PermissionDenied):
        await pairing.approve(code, approver=admin, user_id=overlord.id, role=Role.OVERLORD)
    with pytest.raises(PermissionDenied):
        await pairing.approve(code, approver=member, user_id=None, role=Role.VIEWER)
    # An admin may link their own chat account to themselves; an overlord may make admins.
    assert (await pairing.approve(code, approver=admin, user_id=admin.id, role=Role.ADMIN)).user_id == "ada"
    second = await pairing.request("telegram", "2", "Sam", "dm-2")
    await pairing.approve(second, approver=overlord, user_id=None, role=Role.ADMIN)
    linked = await linked_user(db, "telegram", "2")
    assert linked is not None and linked.role is Role.ADMIN


async def test_expired_code_is_refused_with_a_clear_message(
    pairing: Pairing, db: Database, clock: Clock
) -> None:
    admin = await _user(db, "ada", Role.ADMIN)
    code = await pairing.request("telegram", "5", "Lin", "dm-5")
    clock.now += CODE_TTL_S + 1
    with pytest.raises(Conflict) as expired:
        await pairing.lookup(code, approver=admin)
    assert expired.value.message == EXPIRED == "That pairing code has expired; send pair again for a new one."
    assert await pairing.expire() == 1
    with pytest.raises(Conflict, match="expired"):
        await pairing.approve(code, approver=admin, user_id=None, role=Role.MEMBER)


async def test_denied_code_tells_the_user_and_cannot_be_approved(
    pairing: Pairing, db: Database, published: list[Event]
) -> None:
    admin = await _user(db, "ada", Role.ADMIN)
    code = await pairing.request("telegram", "6", "Kim", "dm-6")
    await pairing.deny(code, approver=admin)
    assert isinstance(published[-1], Notice) and "denied" in published[-1].text
    with pytest.raises(Conflict, match="denied"):
        await pairing.approve(code, approver=admin, user_id=None, role=Role.MEMBER)
    assert await linked_user(db, "telegram", "6") is None


async def test_wrong_codes_lock_the_admin_out_for_a_while(pairing: Pairing, db: Database, clock: Clock) -> None:
    admin = await _user(db, "ada", Role.ADMIN)
    other = await _user(db, "bob", Role.ADMIN)
    code = await pairing.request("telegram", "8", "Ray", "dm-8")
    wrong = "".join("A" if ch != "A" else "B" for ch in code)
    for _ in range(5):
        with pytest.raises(NotFound, match="not valid"):
            await pairing.lookup(wrong, approver=admin)
    with pytest.raises(RateLimited):
        await pairing.lookup(code, approver=admin)  # even the right code, while locked out
    assert (await pairing.lookup(code, approver=other)).external_id == "8"  # per admin
    clock.now += 601  # the window has passed (and so has the code's lifetime)
    fresh = await pairing.request("telegram", "8", "Ray", "dm-8")
    assert (await pairing.lookup(fresh, approver=admin)).external_id == "8"


async def test_a_fourth_pending_code_is_refused(pairing: Pairing, clock: Clock) -> None:
    for _ in range(3):
        await pairing.request("telegram", "9", "Max", "dm-9")
    with pytest.raises(Conflict, match="3 pairing codes waiting"):
        await pairing.request("telegram", "9", "Max", "dm-9")
    clock.now += CODE_TTL_S + 1  # the three lapse; a new one is fine
    assert len(await pairing.request("telegram", "9", "Max", "dm-9")) == CODE_LENGTH


async def test_only_chat_accounts_can_ask_to_pair(pairing: Pairing) -> None:
    for connector in ("admin", "system"):
        with pytest.raises(InputError):
            await pairing.request(connector, "overlord", "Overlord", "admin-api")


async def test_requests_are_rate_limited_per_hour(pairing: Pairing, clock: Clock) -> None:
    for _ in range(10):  # spaced so that never more than two are pending at once
        await pairing.request("telegram", "10", "Noa", "dm-10")
        clock.now += CODE_TTL_S / 2 + 50
    with pytest.raises(RateLimited):
        await pairing.request("telegram", "10", "Noa", "dm-10")


async def test_pairing_through_the_orchestrator_applies_the_role_to_the_next_command(
    make_app: Callable[..., Awaitable[App]], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    app = await make_app()
    chat = Actor("telegram", "31337", "Hedy", "dm-31337")
    with pytest.raises(PermissionDenied):
        await app.orchestrator.execute(ListApprovals(chat))
    reply = await app.orchestrator.execute(RequestPairing(chat))
    code = reply.data["code"] if reply.data else ""
    admin = await _user(app.db, "ada", Role.ADMIN)
    async with app.orchestrator.subscribe(context_id=chat.context_id) as events:
        await app.pairing.approve(code, approver=admin, user_id=None, role=Role.OPERATOR)
        notice = await anext(aiter(events))
    assert isinstance(notice, Notice) and "operator" in notice.text
    listed = await app.orchestrator.execute(ListApprovals(chat))  # an operator's command, at once
    assert listed.data == {"approvals": []}
    _, role = await app.orchestrator.resolve_actor(chat)
    assert role is Role.OPERATOR
    assert code not in caplog.text
    written = "".join(p.read_text() for p in app.settings.data_dir.rglob("*.md"))
    assert "RequestPairing" in written  # the chat log has the request...
    assert code not in written  # ...but never the code


async def test_linked_identities_survive_a_restart(make_app: Callable[..., Awaitable[App]]) -> None:
    first = await make_app()
    admin = await _user(first.db, "ada", Role.ADMIN)
    code = await first.pairing.request("discord", "99", "Joan", "dm-99")
    await first.pairing.approve(code, approver=admin, user_id=None, role=Role.VIEWER)
    await first.stop(grace_s=0)
    second = await make_app()
    user, role = await second.orchestrator.resolve_actor(Actor("discord", "99", "Joan", "dm-99"))
    assert role is Role.VIEWER and user.display_name == "Joan"


async def test_an_approved_pairing_rewrites_the_users_markdown(make_app: Callable[..., Awaitable[App]]) -> None:
    """The new user's file shows the role and the identity; the chat's old user no longer lists it."""
    from core.mirror import parse_front_matter

    app = await make_app()
    chat = Actor("telegram", "5150", "Lise", "dm-5150")
    first, _ = await app.orchestrator.resolve_actor(chat)  # first contact: a member, mirrored
    folder = app.settings.data_dir / "local" / "users"
    assert "telegram: 5150" in (folder / f"{first.id}.md").read_text()
    code = await app.pairing.request(chat.connector, chat.external_id, chat.display_name, chat.chat)
    admin = await _user(app.db, "ada", Role.ADMIN)
    identity = await app.pairing.approve(code, approver=admin, user_id=None, role=Role.OPERATOR)

    linked = (folder / f"{identity.user_id}.md").read_text()
    fields, body = parse_front_matter(linked)
    assert fields["role"] == "operator" and fields["id"] == identity.user_id
    assert "- telegram: 5150 (Lise)" in body
    assert "telegram: 5150" not in (folder / f"{first.id}.md").read_text()
    # They are the mirror's own writes: the watcher will not mistake them for edits.
    assert app.mirror.is_own(folder / f"{identity.user_id}.md", linked.encode())
