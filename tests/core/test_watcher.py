"""The Markdown watcher, with real files and a real watchfiles watch.

``apply`` records what it is given: the watcher's contract is to call it with the
right MirrorEdit (the app wires it to the orchestrator's SetTier / policy change).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from core.audit import Audit
from core.commands import Actor
from core.errors import FramecastError, PermissionDenied
from core.mirror import Mirror, errors_path, parse_front_matter
from core.models import Context, Role, TrialState, User
from core.store import users
from core.store.database import Database
from core.watcher import MirrorEdit, MirrorWatcher

WAIT_S = 5.0


class Recorder:
    """An ``apply`` that records edits and can be told to refuse the next ones."""

    def __init__(self) -> None:
        self.edits: asyncio.Queue[MirrorEdit] = asyncio.Queue()
        self.refuse: FramecastError | None = None

    async def __call__(self, edit: MirrorEdit) -> None:
        if self.refuse is not None:
            raise self.refuse
        await self.edits.put(edit)

    async def next(self) -> MirrorEdit:
        return await asyncio.wait_for(self.edits.get(), WAIT_S)


async def _until(condition: Callable[[], bool]) -> None:
    async def poll() -> None:
        while not condition():
            await asyncio.sleep(0.02)

    await asyncio.wait_for(poll(), WAIT_S)


def _user(user_id: str, tier: str = "free") -> User:
    return User(user_id, user_id.title(), Role.MEMBER, tier, TrialState.AVAILABLE, 1.0, 1.0)


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


@pytest.fixture
def mirror(data_dir: Path) -> Mirror:
    return Mirror(data_dir)


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
async def watcher(mirror: Mirror, recorder: Recorder, db: Database) -> AsyncIterator[MirrorWatcher]:
    # The folders exist before the watch starts, as they do in a data dir in use: inotify
    # cannot see a file written and edited within microseconds of its folder's creation,
    # before the recursive watch reaches the new folder (no person edits that fast).
    for folder in ("users", "contexts/telegram"):
        (mirror.data_dir / "tg-1" / folder).mkdir(parents=True)
    watching = MirrorWatcher(mirror, recorder, audit=Audit(db, mirror))
    task = asyncio.create_task(watching.run())
    await asyncio.wait_for(watching.ready.wait(), WAIT_S)
    yield watching
    watching.stop()
    await asyncio.wait_for(task, WAIT_S)


async def test_a_human_tier_edit_is_applied_and_audited(
    watcher: MirrorWatcher, mirror: Mirror, recorder: Recorder, db: Database, data_dir: Path
) -> None:
    path = mirror.write_user("tg-1", _user("u_ada"), [])
    _edit(path, "tier: free", "tier: premium")
    edit = await recorder.next()
    assert edit == MirrorEdit("user_tier", "tg-1", "u_ada", "premium", path)
    await _until(lambda: bool(list((data_dir / "tg-1" / "audit").glob("*.md"))))
    entries = await Audit(db).page()
    assert [(e.actor, e.action, e.target, e.detail) for e in entries] == [
        ("system:mirror", "mirror.edit", "u_ada", {"kind": "user_tier", "path": "tg-1/users/u_ada.md"})
    ]


async def test_own_writes_do_not_echo(watcher: MirrorWatcher, mirror: Mirror, recorder: Recorder) -> None:
    mirror.write_user("tg-1", _user("u_ada"), [])
    other = mirror.write_user("tg-1", _user("u_bob"), [])
    await asyncio.sleep(0.3)
    # The mirror itself changes ada's tier (as after a TUI change): that is no edit.
    mirror.write_user("tg-1", _user("u_ada", tier="premium"), [])
    await asyncio.sleep(0.3)
    _edit(other, "tier: free", "tier: premium")
    assert (await recorder.next()).target_id == "u_bob"
    await asyncio.sleep(0.3)
    assert recorder.edits.empty()


async def test_a_malformed_edit_is_explained_then_cleared(
    watcher: MirrorWatcher, mirror: Mirror, recorder: Recorder, db: Database
) -> None:
    path = mirror.write_user("tg-1", _user("u_ada"), [])
    note = errors_path(path)
    _edit(path, "tier: free", "tier: gold")
    await _until(note.exists)
    assert "tier must be one of free, premium, not 'gold'" in note.read_text()
    assert recorder.edits.empty()
    assert [e.action for e in await Audit(db).page()] == ["mirror.edit_rejected"]

    # Broken front matter is reported too, and the service keeps going.
    path.write_text("tier premium\n")
    await _until(lambda: "must start with a '---' line" in note.read_text())

    mirror.write_user("tg-1", _user("u_ada"), [])
    _edit(path, "tier: free", "tier: premium")
    assert (await recorder.next()).value == "premium"
    await _until(lambda: not note.exists())


async def test_a_refused_edit_is_explained(watcher: MirrorWatcher, mirror: Mirror, recorder: Recorder) -> None:
    path = mirror.write_user("tg-1", _user("u_ada"), [])
    recorder.refuse = PermissionDenied("Only admins can change tiers.", hint="Ask an admin.")
    _edit(path, "tier: free", "tier: premium")
    note = errors_path(path)
    await _until(note.exists)
    assert "Only admins can change tiers." in note.read_text() and "Hint: Ask an admin." in note.read_text()

    recorder.refuse = None
    path.write_text(path.read_text() + "\n")  # saved again unchanged otherwise: applied now
    assert (await recorder.next()).value == "premium"
    await _until(lambda: not note.exists())


async def test_read_only_fields_are_not_applied(
    watcher: MirrorWatcher, mirror: Mirror, recorder: Recorder
) -> None:
    path = mirror.write_user("tg-1", _user("u_ada"), [])
    _edit(path, "role: member", "role: overlord")
    note = errors_path(path)
    await _until(note.exists)
    assert "Read-only field(s) changed: role" in note.read_text()
    assert recorder.edits.empty()


async def test_a_context_policy_edit_is_applied(
    watcher: MirrorWatcher, mirror: Mirror, recorder: Recorder
) -> None:
    context = Context("telegram:-100", "tg-1", "telegram", "-100", False, {"max_duration_s": 10})
    path = mirror.write_context(context)
    _edit(path, "policy.ai_enabled:", "policy.ai_enabled: false")
    edit = await recorder.next()
    assert edit == MirrorEdit("context_policy", "tg-1", "telegram:-100",
                              {"ai_enabled": False, "max_duration_s": 10}, path)

    _edit(path, "policy.max_duration_s: 10", "policy.max_duration_s: -3")
    await _until(errors_path(path).exists)
    assert "positive number of seconds" in errors_path(path).read_text()


async def test_cancelling_run_ends_it(mirror: Mirror, recorder: Recorder) -> None:
    watching = MirrorWatcher(mirror, recorder)
    task = asyncio.create_task(watching.run())
    await asyncio.wait_for(watching.ready.wait(), WAIT_S)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, WAIT_S)


async def test_through_the_app_an_edited_tier_changes_the_user(make_app: Any, data_dir: Path) -> None:
    """End to end: the App wires the watcher to the orchestrator's SetTier."""
    app = await make_app()
    (data_dir / "local" / "users").mkdir(parents=True)  # see the watcher fixture
    await app.start(admin_api=False, watch=True)
    await asyncio.wait_for(app.watcher.ready.wait(), WAIT_S)
    user, _role = await app.orchestrator.resolve_actor(Actor("telegram", "1001", "Ada", "chat-1"))
    path = data_dir / "local" / "users" / f"{user.id}.md"
    _edit(path, "tier: free", "tier: premium")

    async def applied() -> None:
        while (changed := await users.get(app.db, user.id)) is None or changed.tier != "premium":
            await asyncio.sleep(0.05)

    await asyncio.wait_for(applied(), WAIT_S)
    # The mirror rewrites the file from the new state; that rewrite is its own, not an edit.
    await _until(lambda: app.mirror.is_own(path, path.read_bytes()))
    assert parse_front_matter(path.read_text())[0]["tier"] == "premium"

    async def audited() -> None:  # the watcher audits the edit once apply has returned
        while "mirror.edit" not in [e.action for e in await app.audit.page(limit=50)]:
            await asyncio.sleep(0.02)

    await asyncio.wait_for(audited(), WAIT_S)
    assert "user.tier" in [e.action for e in await app.audit.page(limit=50)]

    _edit(path, "tier: premium", "tier: gold")
    await _until(errors_path(path).exists)
    changed = await users.get(app.db, user.id)
    assert changed is not None and changed.tier == "premium"
    assert (await app.audit.verify()).ok
