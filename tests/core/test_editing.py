"""The editing rule: a Free edit of AI code turns AI off (code kept, banner); Premium keeps it."""

from __future__ import annotations

import pytest

from core.commands import Actor, Banner, EditCode, JobQueued, NewSession, Render, ShowCode
from core.config import load_settings
from core.errors import Conflict, FramecastError
from core.sessions import AI_OFF_BANNER
from core.store import users

ADA = Actor("discord", "3001", "Ada", "guild-3")
EDITED = (
    "from manim import *\n\nclass Mine(Scene):\n    def construct(self):\n"
    "        self.play(Create(Square(color=RED)), run_time=1)\n"
)


@pytest.fixture(autouse=True)
def roomy_queue(monkeypatch: pytest.MonkeyPatch) -> None:
    # These tests queue several previews without running them.
    monkeypatch.setenv("FRAMECAST_QUEUE__PER_USER_QUEUED", "20")


async def _ai_render(app) -> str:
    reply = await app.orchestrator.execute(Render(ADA, prompt="a blue circle in 2 seconds"))
    shown = await app.orchestrator.execute(ShowCode(ADA))
    assert shown.data["origin"] == "ai" and "Circle" in shown.data["code"]
    return reply.data["job_id"]


async def test_free_edit_turns_ai_off_keeps_the_code_and_shows_a_banner(make_app, collect) -> None:
    app = await make_app(settings=load_settings())
    ada, _ = await app.orchestrator.resolve_actor(ADA)
    async with app.orchestrator.subscribe(user_id=ada.id) as events:
        await _ai_render(app)
        reply = await app.orchestrator.execute(EditCode(ADA, EDITED))
        seen = await collect(events, until=lambda e: isinstance(e, JobQueued) and e.job_id == reply.data["job_id"])
    banners = [e for e in seen if isinstance(e, Banner)]
    assert [b.text for b in banners] == [AI_OFF_BANNER]
    assert "/session new" in AI_OFF_BANNER and "Your code is kept" in AI_OFF_BANNER
    assert reply.data["ai_enabled"] is False  # and the edit is queued as a preview
    shown = await app.orchestrator.execute(ShowCode(ADA))
    assert shown.data["code"] == EDITED and shown.data["ai_enabled"] is False
    with pytest.raises(Conflict) as refused:
        await app.orchestrator.execute(Render(ADA, prompt="now a triangle"))
    assert "/session new" in refused.value.hint
    await app.orchestrator.execute(Render(ADA, code=EDITED))  # code-only renders still work
    assert any(e.action == "session.ai_off" for e in await app.audit.page(limit=100))

    await app.orchestrator.execute(NewSession(ADA))
    assert (await app.orchestrator.execute(ShowCode(ADA))).data["code"] is None
    await app.orchestrator.execute(Render(ADA, prompt="now a triangle"))  # AI is back on
    assert (await app.orchestrator.execute(ShowCode(ADA))).data["ai_enabled"] is True


async def test_premium_edit_keeps_ai_on(make_app) -> None:
    app = await make_app()
    ada, _ = await app.orchestrator.resolve_actor(ADA)
    await users.set_tier(app.db, ada.id, "premium", 0)
    async with app.orchestrator.subscribe(user_id=ada.id) as events:
        await _ai_render(app)
        reply = await app.orchestrator.execute(EditCode(ADA, EDITED))
        assert reply.data["ai_enabled"] is True
        await app.orchestrator.execute(Render(ADA, prompt="now a triangle"))
        queued = []
        while (event := events.get_nowait()) is not None:
            queued.append(event)
    assert not any(isinstance(e, Banner) for e in queued)


async def test_supplying_code_over_ai_code_counts_as_an_edit(make_app) -> None:
    app = await make_app()
    await _ai_render(app)
    await app.orchestrator.execute(Render(ADA, code=EDITED))
    assert (await app.orchestrator.execute(ShowCode(ADA))).data["ai_enabled"] is False


async def test_an_invalid_edit_changes_nothing(make_app) -> None:
    app = await make_app()
    await _ai_render(app)
    with pytest.raises(FramecastError) as bad:
        await app.orchestrator.execute(EditCode(ADA, "import socket\n" + EDITED))
    assert bad.value.code == "E_UNSAFE_CODE"
    shown = await app.orchestrator.execute(ShowCode(ADA))
    assert shown.data["ai_enabled"] is True and "Circle" in shown.data["code"]
