"""The orchestrator's common path: actors, RBAC, audit, logs, limits, refusals."""

from __future__ import annotations

import json

import pytest

from core.commands import (
    Actor,
    Approve,
    Cancel,
    JobDone,
    JobFailed,
    JobProgress,
    JobQueued,
    ListJobs,
    ListUsers,
    Render,
    SetRole,
    SetTier,
)
from core.config import load_settings
from core.errors import (
    AuthError,
    BudgetError,
    DurationError,
    NotFound,
    PermissionDenied,
    RateLimited,
    UnsafeCodeError,
)
from core.models import JobState, Role
from core.render.postflight import probe
from core.store import jobs as job_store
from core.store import users

ADA = Actor("telegram", "1001", "Ada", "chat-1")
BOB = Actor("telegram", "1002", "Bob", "chat-1")
SCENE = "from manim import *\n\nclass Dot1(Scene):\n    def construct(self):\n        self.play(FadeIn(Dot()), run_time=1)\n"


async def test_render_through_the_queue_is_audited_logged_and_mirrored(make_app, collect, settings) -> None:
    app = await make_app()
    user, role = await app.orchestrator.resolve_actor(ADA)
    assert (role, user.tier) == (Role.MEMBER, "free")
    async with app.orchestrator.subscribe(user_id=user.id) as events:
        await app.start(admin_api=False, watch=False)
        reply = await app.orchestrator.execute(Render(ADA, prompt="a red square in 2 seconds"))
        seen = await collect(events, until=lambda e: isinstance(e, JobDone))
    job_id = reply.data["job_id"]
    assert isinstance(seen[0], JobQueued) and seen[0].position == 1
    done = seen[-1]
    assert done.job_id == job_id and done.video.is_file() and "Square" in done.code
    job = await job_store.get(app.db, job_id)
    assert job.state is JobState.DONE and job.attempts == 1
    actions = [e.action for e in reversed(await app.audit.page(limit=50))]
    assert actions == ["ingest", "render.queued", "post", "render.done"]
    assert (await app.audit.verify()).ok
    log = (settings.data_dir / "local" / "logs" / "telegram" / "chat-1.md").read_text()
    assert "Render" in log and "post: Queued job" in log
    app.mirror.flush()  # job files are written off the event loop
    assert (settings.data_dir / "local" / "jobs" / f"{job_id}.md").is_file()


async def test_a_member_cannot_approve_set_tiers_or_list_users(make_app) -> None:
    app = await make_app()
    user, _ = await app.orchestrator.resolve_actor(ADA)
    for cmd in (Approve(ADA, "a-000000"), SetTier(ADA, user.id, "premium"), ListUsers(ADA),
                SetRole(ADA, user.id, "admin")):
        with pytest.raises(PermissionDenied):
            await app.orchestrator.execute(cmd)
    assert (await users.get(app.db, user.id)).tier == "free"
    refused = [e for e in await app.audit.page() if e.action == "refused"]
    assert len(refused) == 4 and all(e.detail["code"] == "E_PERMISSION" for e in refused)


async def test_staff_roles_and_the_system_actor(make_app) -> None:
    app = await make_app()
    ada, _ = await app.orchestrator.resolve_actor(ADA)
    admin = await app.local_admin()
    await app.orchestrator.execute(SetRole(admin, ada.id, "operator"))
    assert (await app.orchestrator.resolve_actor(ADA))[1] is Role.OPERATOR
    # An operator still cannot change tiers; the Markdown watcher's system actor can.
    with pytest.raises(PermissionDenied):
        await app.orchestrator.execute(SetTier(ADA, ada.id, "premium"))
    mirror = Actor("system", "mirror", "Markdown edits", "mirror")
    await app.orchestrator.execute(SetTier(mirror, ada.id, "premium"))
    assert (await users.get(app.db, ada.id)).tier == "premium"
    with pytest.raises(AuthError):
        await app.orchestrator.resolve_actor(Actor("admin", "u-nobody", "x", "admin-api"))


async def test_refusals_before_queueing(make_app) -> None:
    app = await make_app()
    with pytest.raises(DurationError) as over:
        await app.orchestrator.execute(Render(ADA, prompt="a circle", duration=12))
    assert over.value.message == "Free previews limited to 8s at 480p/24fps."
    assert "run it locally" in over.value.hint
    with pytest.raises(UnsafeCodeError) as unsafe:
        await app.orchestrator.execute(Render(ADA, code="import os\n" + SCENE))
    assert "line 1" in unsafe.value.message
    assert await job_store.list_jobs(app.db) == []


async def test_compute_budget(make_app, data_dir, monkeypatch) -> None:
    monkeypatch.setenv("FRAMECAST_TIERS__FREE__COMPUTE_BUDGET_S", "0.000001")
    app = await make_app(settings=load_settings())
    with pytest.raises(BudgetError):
        await app.orchestrator.execute(Render(ADA, prompt="a blue circle grows, then a square"))


async def test_user_and_chat_rate_limits(make_app, monkeypatch) -> None:
    now = [1000.0]
    monkeypatch.setenv("FRAMECAST_QUEUE__USER_RATE_PER_MIN", "2")
    monkeypatch.setenv("FRAMECAST_QUEUE__CHAT_RATE_PER_MIN", "3")
    monkeypatch.setenv("FRAMECAST_QUEUE__PER_USER_QUEUED", "10")
    app = await make_app(settings=load_settings(), clock=lambda: now[0])
    for _ in range(2):
        await app.orchestrator.execute(Render(ADA, code=SCENE))
    with pytest.raises(RateLimited) as user_limit:
        await app.orchestrator.execute(Render(ADA, code=SCENE))
    assert "2 per minute" in user_limit.value.message
    await app.orchestrator.execute(Render(BOB, code=SCENE))  # Bob has his own bucket ...
    with pytest.raises(RateLimited) as chat_limit:  # ... but the chat's is empty now
        await app.orchestrator.execute(Render(BOB, code=SCENE))
    assert "This chat" in chat_limit.value.message
    now[0] += 30  # one token back for Ada (2/min) and 1.5 for the chat
    await app.orchestrator.execute(Render(ADA, code=SCENE))


async def test_per_user_queued_limit(make_app, monkeypatch) -> None:
    monkeypatch.setenv("FRAMECAST_QUEUE__PER_USER_QUEUED", "2")
    app = await make_app(settings=load_settings())  # not started: jobs stay queued
    for _ in range(2):
        await app.orchestrator.execute(Render(ADA, code=SCENE))
    with pytest.raises(RateLimited) as limit:
        await app.orchestrator.execute(Render(ADA, code=SCENE))
    assert "2 renders waiting" in limit.value.message and "/cancel" in limit.value.hint
    await app.orchestrator.execute(Render(BOB, code=SCENE))


async def test_cancel_permissions_and_listing(make_app) -> None:
    app = await make_app()
    reply = await app.orchestrator.execute(Render(ADA, code=SCENE))
    job_id = reply.data["job_id"]
    with pytest.raises(PermissionDenied):
        await app.orchestrator.execute(Cancel(BOB, job_id))
    with pytest.raises(NotFound):
        await app.orchestrator.execute(Cancel(BOB, "j-missing"))
    own = await app.orchestrator.execute(ListJobs(BOB))
    assert own.data["jobs"] == []
    admin = await app.local_admin()
    everyone = await app.orchestrator.execute(ListJobs(admin))
    assert [j["id"] for j in everyone.data["jobs"]] == [job_id]
    cancelled = await app.orchestrator.execute(Cancel(admin, job_id))
    assert cancelled.data["cancelled"] is True
    assert (await job_store.get(app.db, job_id)).state is JobState.CANCELLED
    assert json.loads(json.dumps(everyone.data))  # replies are JSON-ready for the admin API



async def test_render_command_to_a_real_mp4(make_app, collect) -> None:
    """The real pipeline and sandbox: a 1 s 480p scene from a prompt."""
    app = await make_app(renderer=None)
    user, _ = await app.orchestrator.resolve_actor(ADA)
    async with app.orchestrator.subscribe(context_id=ADA.context_id) as events:
        await app.start(admin_api=False, watch=False)
        await app.orchestrator.execute(Render(ADA, prompt="a yellow triangle in 1 second"))
        seen = await collect(events, until=lambda e: isinstance(e, (JobDone, JobFailed)), timeout=240)
    done = seen[-1]
    assert isinstance(done, JobDone), done
    info = await probe(done.video)
    assert (info.width, info.height, done.watermarked) == (854, 480, False)
    assert abs(done.duration_s - 1.0) <= 0.25
    assert any(isinstance(e, JobProgress) and e.percent is not None for e in seen)
    assert done.record.read_text().count(done.video.name) >= 1


async def test_a_slow_subscriber_loses_old_progress_first_and_never_blocks() -> None:
    from core.bus import EventBus

    bus = EventBus(maxsize=3)
    async with bus.subscribe(user_id="u-1") as slow, bus.subscribe(context_id="other") as unrelated:
        bus.publish(JobQueued(position=1, user_id="u-1", job_id="j"))
        for percent in (10, 20, 30, 40):
            bus.publish(JobProgress(stage="render", percent=percent, user_id="u-1", job_id="j"))
        bus.publish(JobFailed(code="E_RENDER", message="boom", user_id="u-1", job_id="j"))
        kept = [slow.get_nowait() for _ in range(3)]
        assert slow.get_nowait() is None and unrelated.get_nowait() is None
    assert [type(e).__name__ for e in kept] == ["JobProgress", "JobProgress", "JobFailed"]
    assert [e.percent for e in kept[:2]] == [30, 40] and slow.dropped == 3
