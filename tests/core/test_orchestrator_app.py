"""The App's wiring: Markdown edits, schedules, pairing and the purge go through the orchestrator."""

from __future__ import annotations

import asyncio
import re

from core.commands import Actor, AddNote, RequestPairing, ShowCode
from core.memory import TTL_S
from core.models import Schedule
from core.store import jobs as job_store
from core.store import users

ADA = Actor("telegram", "5001", "Ada", "group-5")


async def _until(check, timeout: float = 20) -> None:
    for _ in range(int(timeout * 20)):
        if await check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("timed out")


async def test_a_tier_edited_in_markdown_is_applied_and_a_bad_one_refused(make_app, settings) -> None:
    app = await make_app()
    ada, _ = await app.orchestrator.resolve_actor(ADA)
    await app.start(admin_api=False)
    await asyncio.wait_for(app.watcher.ready.wait(), 20)
    path = settings.data_dir / "local" / "users" / f"{ada.id}.md"
    path.write_text(re.sub(r"(?m)^tier: free$", "tier: premium", path.read_text()))

    async def premium() -> bool:
        return (await users.get(app.db, ada.id)).tier == "premium"

    await _until(premium)
    entries = await app.audit.page(limit=50)
    assert any(e.action == "user.tier" and e.actor == "system:mirror" for e in entries)

    path.write_text(re.sub(r"(?m)^tier: \w+$", "tier: gold", path.read_text()))
    errors = path.with_name(path.stem + ".errors.md")

    async def refused() -> bool:
        return errors.is_file()

    await _until(refused)
    assert "tier must be one of" in errors.read_text()
    assert (await users.get(app.db, ada.id)).tier == "premium"


async def test_a_schedule_queues_a_render_into_its_chat(make_app) -> None:
    app = await make_app()
    await app.orchestrator.execute(ShowCode(ADA))  # the chat exists once someone spoke in it
    schedule = Schedule("sch-1", "0 9 * * MON", "a red circle in 1 second", ADA.context_id,
                        "someone", 0.0, True)
    await app.orchestrator.run_schedule(schedule)
    (job,) = await job_store.list_jobs(app.db)
    assert (job.kind, job.context_id, job.user_id) == ("scheduled", ADA.context_id, "system-scheduler")
    assert "Circle" in job.code
    assert any(e.action == "schedule.fired" for e in await app.audit.page())


async def test_pairing_requests_go_to_the_identity_module(make_app) -> None:
    app = await make_app()
    reply = await app.orchestrator.execute(RequestPairing(ADA))
    info = await app.pairing.lookup(reply.data["code"])
    assert (info.connector, info.external_id, info.display_name) == ("telegram", "5001", "Ada")


async def test_the_scheduled_purge_forgets_idle_projects(make_app) -> None:
    now = [1_700_000_000.0]
    app = await make_app(clock=lambda: now[0])
    await app.orchestrator.execute(AddNote(ADA, "likes pastel colours"))
    now[0] += TTL_S + 1
    assert await app.purge_memory() == 1
    assert any(e.action == "memory.purged" for e in await app.audit.page())
