"""The queue: round-robin fairness, positions, cancel, concurrency, graceful stop."""

from __future__ import annotations

import asyncio
import os

import pytest

from core.commands import Actor, Cancel, JobCancelled, JobDone, JobProgress, JobQueued, JobStarted, Render
from core.config import load_settings
from core.models import JobState
from core.store import jobs as job_store

SCENE = "from manim import *\n\nclass S(Scene):\n    def construct(self):\n        self.play(FadeIn(Dot()), run_time=1)\n"
A = Actor("discord", "a", "A", "guild-1")
B = Actor("discord", "b", "B", "guild-1")


@pytest.fixture
def one_at_a_time(monkeypatch):
    monkeypatch.setenv("FRAMECAST_QUEUE__CONCURRENCY", "1")
    monkeypatch.setenv("FRAMECAST_QUEUE__PER_USER_QUEUED", "10")
    monkeypatch.setenv("FRAMECAST_QUEUE__USER_RATE_PER_MIN", "100")
    monkeypatch.setenv("FRAMECAST_QUEUE__CHAT_RATE_PER_MIN", "100")
    return load_settings()


async def test_round_robin_b_is_not_last(make_app, stub, collect, one_at_a_time) -> None:
    app = await make_app(settings=one_at_a_time)
    a_jobs = [(await app.orchestrator.execute(Render(A, code=SCENE))).data["job_id"] for _ in range(5)]
    b_job = (await app.orchestrator.execute(Render(B, code=SCENE))).data["job_id"]
    # Positions are the round-robin order: A1, B1, A2, A3, A4, A5.
    assert app.queue.position(b_job) == 2 and app.queue.position(a_jobs[-1]) == 6
    async with app.orchestrator.subscribe(staff=True) as events:
        await app.start(admin_api=False, watch=False)
        done: set[str] = set()
        await collect(events, until=lambda e: isinstance(e, JobDone) and done.add(e.job_id) is None
                      and len(done) == 6)
    assert stub.started.index(b_job) < 5
    assert stub.started[:2] == [a_jobs[0], b_job]
    assert stub.most_running == 1


async def test_positions_move_and_cancel_a_queued_job(make_app, stub, collect, one_at_a_time) -> None:
    app = await make_app(settings=one_at_a_time)
    stub.hold()
    user, _ = await app.orchestrator.resolve_actor(B)
    async with app.orchestrator.subscribe(user_id=user.id) as events:
        await app.start(admin_api=False, watch=False)
        first = (await app.orchestrator.execute(Render(A, code=SCENE))).data["job_id"]
        b1 = (await app.orchestrator.execute(Render(B, code=SCENE))).data["job_id"]
        b2 = (await app.orchestrator.execute(Render(B, code=SCENE))).data["job_id"]
        await collect(events, until=lambda e: isinstance(e, JobQueued) and e.job_id == b2)
        assert [app.queue.position(b1), app.queue.position(b2)] == [1, 2]
        await app.orchestrator.execute(Cancel(B, b1))
        seen = await collect(events, until=lambda e: isinstance(e, JobQueued) and e.job_id == b2)
        assert any(isinstance(e, JobCancelled) and e.job_id == b1 for e in seen)
        assert seen[-1].position == 1  # b2 moved up when b1 left
        stub.release()
        await collect(events, until=lambda e: isinstance(e, JobDone) and e.job_id == b2)
    assert b1 not in stub.started and stub.started == [first, b2]
    assert (await job_store.get(app.db, b1)).state is JobState.CANCELLED


async def test_cancel_a_running_job(make_app, stub, collect, one_at_a_time) -> None:
    app = await make_app(settings=one_at_a_time)
    stub.hold()
    user, _ = await app.orchestrator.resolve_actor(A)
    async with app.orchestrator.subscribe(user_id=user.id) as events:
        await app.start(admin_api=False, watch=False)
        job_id = (await app.orchestrator.execute(Render(A, code=SCENE))).data["job_id"]
        await collect(events, until=lambda e: isinstance(e, JobStarted))
        reply = await app.orchestrator.execute(Cancel(A, job_id))
        assert reply.data["cancelled"] is True
        await collect(events, until=lambda e: isinstance(e, JobCancelled))
    assert stub.running == 0
    job = await job_store.get(app.db, job_id)
    assert job.state is JobState.CANCELLED
    assert [e.action for e in await app.audit.page(limit=5)][:1] == ["post"]


async def test_concurrency_is_bounded(make_app, stub, collect, monkeypatch, one_at_a_time) -> None:
    monkeypatch.setenv("FRAMECAST_QUEUE__CONCURRENCY", "2")
    app = await make_app(settings=load_settings())
    actors = [Actor("console", f"u{i}", f"U{i}", "c") for i in range(5)]
    async with app.orchestrator.subscribe(staff=True) as events:
        await app.start(admin_api=False, watch=False)
        for actor in actors:
            await app.orchestrator.execute(Render(actor, code=SCENE))
        finished: set[str] = set()
        await collect(events, until=lambda e: isinstance(e, JobDone) and finished.add(e.job_id) is None
                      and len(finished) == 5)
    assert stub.most_running == 2


async def test_graceful_stop_requeues_running_jobs_without_spending_an_attempt(make_app, stub, collect,
                                                                            one_at_a_time) -> None:
    app = await make_app(settings=one_at_a_time)
    stub.hold()
    async with app.orchestrator.subscribe(staff=True) as events:
        await app.start(admin_api=False, watch=False)
        job_id = (await app.orchestrator.execute(Render(A, code=SCENE))).data["job_id"]
        await collect(events, until=lambda e: isinstance(e, JobStarted))
    await app.stop(grace_s=0.2)
    reopened = await make_app(settings=one_at_a_time)
    job = await job_store.get(reopened.db, job_id)
    assert (job.state, job.attempts) == (JobState.QUEUED, 0)


def _descendants() -> set[int]:
    """Every process below this one (the sandbox's bubblewrap and all it spawned)."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", "rb") as fh:
                    parents[int(entry)] = int(fh.read().rsplit(b")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    found, frontier = set(), {os.getpid()}
    while frontier:
        frontier = {pid for pid, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


async def test_cancelling_a_real_render_kills_the_sandbox(make_app, collect, one_at_a_time) -> None:
    app = await make_app(settings=one_at_a_time, renderer=None)
    slow = SCENE.replace("run_time=1", "run_time=8")
    user, _ = await app.orchestrator.resolve_actor(A)
    async with app.orchestrator.subscribe(user_id=user.id) as events:
        await app.start(admin_api=False, watch=False)
        job_id = (await app.orchestrator.execute(Render(A, code=slow))).data["job_id"]
        await collect(events, until=lambda e: isinstance(e, JobProgress) and e.stage == "render")
        assert _descendants()
        await app.orchestrator.execute(Cancel(A, job_id))
        await collect(events, until=lambda e: isinstance(e, JobCancelled))
    for _ in range(50):
        if not _descendants():
            break
        await asyncio.sleep(0.1)
    assert not _descendants()
    assert (await job_store.get(app.db, job_id)).state is JobState.CANCELLED
