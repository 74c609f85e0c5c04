"""Sessions and the editing rule (SPEC §2).

A session is one user's conversation in one chat: it holds the current
code, where that code came from, and whether AI assistance is on. When a
user on a tier without ``ai_after_edit`` (Free, and the trial's Free
editing rules) replaces AI-written code with their own, AI assistance goes
off for the rest of the session; the code is kept and a :class:`Banner`
explains how to get it back (``/session new``). Premium keeps it on.
Supplying code through ``Render(code=...)`` counts as an edit too, or the
rule would be a formality.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.commands import Banner, EditCode, NewSession, Reply, ShowCode
from core.errors import Conflict
from core.models import Project, Session
from core.store import sessions as store

if TYPE_CHECKING:
    from core.orchestrator import Call, Orchestrator

__all__ = [
    "AI_OFF_BANNER",
    "ai_off_error",
    "current",
    "edit_code",
    "new_session",
    "show_code",
    "take_code",
]

AI_OFF_BANNER = (
    "AI assistance is off for the rest of this session because you edited the AI-written code "
    "(Free tier). Your code is kept; start a new session with /session new to turn it back on."
)

_RUN_LOCALLY = (
    "To render without the tier's limits, save it as scene.py and run it locally: "
    "pip install manim, then `manim -qh scene.py`."
)


def ai_off_error() -> Conflict:
    return Conflict(
        "AI assistance is off in this session because you edited AI-written code.",
        hint="Start a new session with /session new to turn it back on, or send code to render "
        "(/edit or a .py file); code-only renders still work.",
    )


async def current(core: Orchestrator, call: Call) -> tuple[Session, Project]:
    """The caller's open session in this chat (started if none) and its project, touched."""
    project, session = await store.project_and_session(
        core.db, user_id=call.user.id, workspace=call.workspace, name=store.DEFAULT_PROJECT,
        context_id=call.context_id, now=call.now,
    )
    if session is None:
        session = await store.start_session(
            core.db, user_id=call.user.id, project_id=project.id, context_id=call.context_id,
            now=call.now,
        )
    return session, project


async def take_code(core: Orchestrator, call: Call, session: Session, code: str, origin: str) -> Session:
    """Make ``code`` the session's code, applying the editing rule for user code."""
    spec = core.settings.tiers.get(call.user.tier)
    edits_ai_code = origin == "user" and session.code_origin == "ai" and session.code is not None
    turn_off = edits_ai_code and session.ai_enabled and not spec.ai_after_edit
    updated = await store.update_session(
        core.db, session.id, now=call.now, code=code, code_origin=origin,
        ai_enabled=False if turn_off else None,
    )
    if turn_off:
        await core.audit.record(
            call.who, "session.ai_off", session.id, workspace=call.workspace,
            detail={"user": call.user.id, "tier": spec.name.value},
        )
        core.publish(Banner(text=AI_OFF_BANNER, user_id=call.user.id, context_id=call.context_id))
    return updated


async def edit_code(core: Orchestrator, call: Call, cmd: EditCode) -> Reply:
    """Keep the edit and preview it within the tier."""
    core.ratelimit.check(user_id=call.user.id, chat=call.context_id)
    session, _ = await current(core, call)
    spec = core.renders.spec_for(call, call.user.tier, ai=False)
    prepared = await core.renders.prepare(spec, prompt=None, code=cmd.code, duration=None)
    session = await take_code(core, call, session, prepared.code, "user")
    job, position = await core.renders.queue_job(
        call, call.user, session, kind="render", tier=spec.name, prompt=None,
        code=prepared.code, duration=None,
    )
    state = "on" if session.ai_enabled else "off"
    return Reply(
        f"Your code is saved; previewing it as job {job.id} (position {position}). "
        f"AI assistance is {state}.",
        {"job_id": job.id, "position": position, "ai_enabled": session.ai_enabled},
    )


async def new_session(core: Orchestrator, call: Call, cmd: NewSession) -> Reply:
    project = await store.ensure_project(
        core.db, user_id=call.user.id, workspace=call.workspace, name=store.DEFAULT_PROJECT,
        now=call.now,
    )
    session = await store.start_session(
        core.db, user_id=call.user.id, project_id=project.id, context_id=call.context_id, now=call.now
    )
    await core.audit.record(
        call.who, "session.new", session.id, workspace=call.workspace, detail={"user": call.user.id}
    )
    return Reply("New session started; AI assistance is on.", {"session_id": session.id})


async def show_code(core: Orchestrator, call: Call, cmd: ShowCode) -> Reply:
    session, _ = await current(core, call)
    if session.code is None:
        return Reply("No code in this session yet; try /render <what you want to see>.", {"code": None})
    return Reply(
        f"{session.code}\n\n{_RUN_LOCALLY}",
        {"code": session.code, "origin": session.code_origin, "ai_enabled": session.ai_enabled},
    )
