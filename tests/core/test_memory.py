"""Per-project memory: 10 plans, 20 KB of notes, 48 h TTL, clear at once, no secrets."""

from __future__ import annotations

from core.commands import Actor, AddNote, ClearMemory, Render
from core.memory import MAX_NOTE_BYTES, TTL_S, scrub
from core.store import memory as store
from core.store import sessions

ADA = Actor("console", "ada", "Ada", "console")
BOB = Actor("console", "bob", "Bob", "console")


async def _project(app, actor):
    user, _ = await app.orchestrator.resolve_actor(actor)
    return await sessions.ensure_project(app.db, user_id=user.id, workspace="local", name="default",
                                         now=app.clock())


async def test_plans_are_recorded_and_capped_at_ten(make_app, monkeypatch) -> None:
    monkeypatch.setenv("FRAMECAST_QUEUE__USER_RATE_PER_MIN", "100")
    monkeypatch.setenv("FRAMECAST_QUEUE__PER_USER_QUEUED", "100")
    from core.config import load_settings

    app = await make_app(settings=load_settings())
    for i in range(12):
        await app.orchestrator.execute(Render(ADA, prompt=f"a circle of radius {i % 3 + 1} in 1 second"))
    items = await store.items(app.db, (await _project(app, ADA)).id)
    plans = [i for i in items if i.kind == "plan"]
    assert len(plans) == 10
    assert plans[0].content.startswith("a circle of radius 3")  # the 3rd prompt: two oldest dropped
    assert "->" in plans[0].content  # the composer's summary is kept with the prompt
    app.mirror.flush()  # memory files are written off the event loop
    md = (app.settings.data_dir / "local" / "memory" / f"{plans[0].project_id}.md").read_text()
    assert "radius" in md


async def test_notes_are_capped_at_20_kb_oldest_first(make_app) -> None:
    app = await make_app()
    for i in range(30):
        await app.orchestrator.execute(AddNote(ADA, f"note {i:02d} " + "blue " * 200))
    notes = [i for i in await store.items(app.db, (await _project(app, ADA)).id) if i.kind == "note"]
    assert sum(len(n.content.encode()) for n in notes) <= MAX_NOTE_BYTES
    assert notes[-1].content.startswith("note 29") and not any(n.content.startswith("note 00") for n in notes)
    assert len(notes) == MAX_NOTE_BYTES // len(notes[-1].content.encode())


async def test_ttl_purge_with_an_injected_clock(make_app, clock) -> None:
    app = await make_app(clock=clock)
    await app.orchestrator.execute(AddNote(ADA, "Ada likes blue"))
    await app.orchestrator.execute(AddNote(BOB, "Bob likes red"))
    clock.now += TTL_S - 60
    await app.orchestrator.execute(AddNote(BOB, "still here"))  # Bob's project is touched
    clock.now += 120  # Ada: 48 h + 60 s idle; Bob: 60 s
    assert await app.memory.purge_expired() == 1
    assert await store.items(app.db, (await _project(app, ADA)).id) == []
    assert len(await store.items(app.db, (await _project(app, BOB)).id)) == 2
    assert await app.memory.purge_expired() == 0


async def test_clear_memory_at_once_with_audit(make_app) -> None:
    app = await make_app()
    await app.orchestrator.execute(AddNote(ADA, "keep the background dark"))
    reply = await app.orchestrator.execute(ClearMemory(ADA))
    assert reply.data["removed"] == 1
    project = await _project(app, ADA)
    assert await store.items(app.db, project.id) == []
    app.mirror.flush()
    assert not (app.settings.data_dir / "local" / "memory" / f"{project.id}.md").exists()
    assert any(e.action == "memory.cleared" for e in await app.audit.page())


def test_secrets_and_addresses_are_scrubbed() -> None:
    text = scrub("mail ada@example.com, key sk-abcdefghijklmnop1234, password: hunter2, a blue circle")
    assert "ada@example.com" not in text and "sk-abc" not in text and "hunter2" not in text
    assert text.endswith("a blue circle")
