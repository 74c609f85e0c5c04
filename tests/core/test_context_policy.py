"""A chat's policy (contexts/<connector>/<chat>.md, or SetContextPolicy) shapes renders there.

``ai_enabled: false`` refuses prompt renders but not code; ``max_duration_s``
lowers the tier's cap, never raises it; a bad value is refused and changes nothing.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from core.commands import Actor, JobDone, Render, RequestTrial, SetContextPolicy
from core.errors import DurationError, InputError, PermissionDenied
from core.mirror import errors_path
from core.renders import AI_OFF_IN_CHAT
from core.store import users

SCENE = "from manim import *\n\nclass Dot1(Scene):\n    def construct(self):\n        self.play(FadeIn(Dot()), run_time=1)\n"
ADA = Actor("telegram", "1", "Ada", "group-7")
ELSEWHERE = Actor("telegram", "1", "Ada", "dm-1")
WAIT_S = 5.0


async def _policy(app: Any, policy: dict[str, Any]) -> None:
    await app.orchestrator.resolve_actor(ADA)  # the chat exists once someone spoke in it
    await app.orchestrator.execute(SetContextPolicy(await app.local_admin(), ADA.context_id, policy))


async def test_ai_off_in_a_chat_refuses_prompts_there_but_not_code(make_app: Any) -> None:
    app = await make_app()
    await app.orchestrator.execute(Render(ADA, prompt="a blue circle"))  # allowed by default
    await _policy(app, {"ai_enabled": False})

    with pytest.raises(PermissionDenied) as refused:
        await app.orchestrator.execute(Render(ADA, prompt="a red square"))
    assert refused.value.message == AI_OFF_IN_CHAT and "code" in (refused.value.hint or "")
    with pytest.raises(PermissionDenied):
        await app.orchestrator.execute(RequestTrial(ADA, prompt="a red square"))
    reply = await app.orchestrator.execute(Render(ADA, code=SCENE))
    assert reply.data and reply.data["job_id"]
    # Only that chat: the same user elsewhere still gets AI.
    assert (await app.orchestrator.execute(Render(ELSEWHERE, prompt="a red square"))).data


async def test_max_duration_lowers_the_cap_and_never_raises_it(make_app: Any, stub: Any, collect: Any) -> None:
    app = await make_app()
    await _policy(app, {"max_duration_s": 3})
    with pytest.raises(DurationError) as refused:
        await app.orchestrator.execute(Render(ADA, code=SCENE, duration=5))
    assert "limited to 3s" in refused.value.message and "8s" in refused.value.message

    async with app.orchestrator.subscribe(user_id=None, context_id=ADA.context_id) as events:
        await app.start(admin_api=False, watch=False)
        await app.orchestrator.execute(Render(ADA, code=SCENE, duration=2))
        await collect(events, until=lambda e: isinstance(e, JobDone))
    assert stub.requests[-1].tier.max_duration_s == 3  # the sandbox and postflight get the lower cap

    await _policy(app, {"max_duration_s": 100})  # above the Free tier's 8 s: the tier still rules
    with pytest.raises(DurationError) as tier:
        await app.orchestrator.execute(Render(ADA, code=SCENE, duration=10))
    assert "Free previews limited to 8s" in tier.value.message


@pytest.mark.parametrize("bad", [{"max_duration_s": -1}, {"max_duration_s": True}, {"ai_enabled": "yes"}])
async def test_a_bad_policy_value_is_refused_and_changes_nothing(make_app: Any, bad: dict[str, Any]) -> None:
    app = await make_app()
    await _policy(app, {"max_duration_s": 4})
    with pytest.raises(InputError):
        await _policy(app, bad)
    context = await users.get_context(app.db, ADA.context_id)
    assert context is not None and context.policy == {"max_duration_s": 4}


async def _until(condition: Any) -> None:
    async def poll() -> None:
        while not await condition():
            await asyncio.sleep(0.02)

    await asyncio.wait_for(poll(), WAIT_S)


async def test_an_edited_context_file_applies_the_policy(make_app: Any, data_dir: Path) -> None:
    """Through the real watcher: edit the Markdown, and the next prompt there is refused."""
    app = await make_app()
    folder = data_dir / "local" / "contexts" / "telegram"
    folder.mkdir(parents=True)  # in place before the watch starts, as in a data dir in use
    await app.start(admin_api=False, watch=True)
    await asyncio.wait_for(app.watcher.ready.wait(), WAIT_S)
    await app.orchestrator.resolve_actor(ADA)  # first contact writes the context's file
    path = folder / "group-7.md"
    path.write_text(path.read_text().replace("policy.ai_enabled:", "policy.ai_enabled: false", 1))

    async def applied() -> bool:
        context = await users.get_context(app.db, ADA.context_id)
        return context is not None and context.policy.get("ai_enabled") is False

    await _until(applied)
    with pytest.raises(PermissionDenied):
        await app.orchestrator.execute(Render(ADA, prompt="a red square"))

    path.write_text(path.read_text().replace("policy.max_duration_s:", "policy.max_duration_s: soon", 1))

    async def explained() -> bool:
        return errors_path(path).exists()

    await _until(explained)
    assert "positive number of seconds" in errors_path(path).read_text()
    context = await users.get_context(app.db, ADA.context_id)
    assert context is not None and context.policy == {"ai_enabled": False}


async def test_a_trial_asked_before_ai_was_turned_off_cannot_be_approved(make_app: Any) -> None:
    """The approver's chat does not matter: the requester's chat rules at approval time do."""
    from core.commands import Approve

    app = await make_app()
    reply = await app.orchestrator.execute(RequestTrial(ADA, prompt="a blue circle"))
    await _policy(app, {"ai_enabled": False})
    with pytest.raises(PermissionDenied):
        await app.orchestrator.execute(Approve(await app.local_admin(), reply.data["approval_id"]))
