"""The command table: each command's permission and handler, plus the small handlers.

``HANDLERS[type(cmd)] = (action, handler)``: the orchestrator checks
``action`` with :func:`core.rbac.require` before calling the handler. A
``None`` action means the handler checks itself because the permission
depends on the target (cancelling your own job vs anyone's).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from core import rbac, sessions, trial
from core.commands import (
    AddNote,
    Approve,
    Cancel,
    ClearMemory,
    Command,
    Deny,
    EditCode,
    ListApprovals,
    ListJobs,
    ListUsers,
    NewSession,
    Notice,
    Render,
    Reply,
    RequestPairing,
    RequestTrial,
    SetContextPolicy,
    SetRole,
    SetTier,
    ShowCode,
    UserChanged,
)
from core.errors import Conflict, InputError, NotFound
from core.models import JobState, Role, User, as_json
from core.policy import Tier
from core.rbac import Action
from core.renders import check_policy_value
from core.store import approvals, users
from core.store import jobs as job_store
from core.store import sessions as session_store

if TYPE_CHECKING:
    from core.orchestrator import Call, Orchestrator

__all__ = ["HANDLERS"]

Handler = Callable[["Orchestrator", "Call", Any], Awaitable[Reply]]


async def _render(core: Orchestrator, call: Call, cmd: Render) -> Reply:
    return await core.renders.render(call, cmd)


async def _cancel(core: Orchestrator, call: Call, cmd: Cancel) -> Reply:
    job = await job_store.get(core.db, cmd.job_id)
    if job is None:
        raise NotFound(f"No job {cmd.job_id!r}.", hint="See your jobs with /jobs.")
    rbac.require(call.role, Action.CANCEL_OWN_JOB if job.user_id == call.user.id else Action.CANCEL_ANY_JOB)
    if job.state not in (JobState.QUEUED, JobState.RUNNING):
        return Reply(f"Job {job.id} is already {job.state.value}.", {"job_id": job.id, "cancelled": False})
    cancelled = await core.queue.cancel(job.id, call.who)
    return Reply(
        f"Cancelled job {job.id}." if cancelled else f"Job {job.id} could not be cancelled.",
        {"job_id": job.id, "cancelled": cancelled},
    )


async def _project(core: Orchestrator, call: Call, name: str | None) -> Any:
    return await session_store.ensure_project(
        core.db, user_id=call.user.id, workspace=call.workspace,
        name=name or session_store.DEFAULT_PROJECT, now=call.now,
    )


async def _clear_memory(core: Orchestrator, call: Call, cmd: ClearMemory) -> Reply:
    project = await _project(core, call, cmd.project)
    removed = await core.memory.clear(project)
    await core.audit.record(
        call.who, "memory.cleared", project.id, workspace=call.workspace,
        detail={"user": call.user.id, "items": removed},
    )
    items = "item" if removed == 1 else "items"
    return Reply(f"Memory of project {project.name!r} cleared ({removed} {items}).", {"removed": removed})


async def _add_note(core: Orchestrator, call: Call, cmd: AddNote) -> Reply:
    if not cmd.text.strip():
        raise InputError("The note is empty.")
    project = await _project(core, call, cmd.project)
    await core.memory.add_note(project, cmd.text)
    return Reply(f"Noted in project {project.name!r}.")


async def _list_jobs(core: Orchestrator, call: Call, cmd: ListJobs) -> Reply:
    state = JobState(cmd.state) if cmd.state else None
    staff = call.role.at_least(rbac.PERMISSIONS[Action.LIST_JOBS])
    rbac.require(call.role, Action.LIST_JOBS if staff else Action.VIEW_OWN)
    found = await job_store.list_jobs(core.db, user_id=None if staff else call.user.id, state=state)
    lines = [f"{j.id}  {j.state.value:<9} {j.tier:<7} {j.user_id}  {(j.prompt or '<code>')[:40]}" for j in found]
    return Reply("\n".join(lines) or "No jobs.", {"jobs": [as_json(j) for j in found]})


async def _list_approvals(core: Orchestrator, call: Call, cmd: ListApprovals) -> Reply:
    found = await approvals.list_approvals(core.db, cmd.state)
    lines = [
        f"{a.id}  {a.state.value:<8} {a.kind} for {a.user_id}: {str(a.payload.get('prompt', ''))[:50]}"
        for a in found
    ]
    return Reply("\n".join(lines) or "No approvals.", {"approvals": [as_json(a) for a in found]})


async def _list_users(core: Orchestrator, call: Call, cmd: ListUsers) -> Reply:
    found = await users.list_all(core.db)
    lines = [f"{u.id}  {u.role.value:<8} {u.tier:<7} trial:{u.trial_state.value:<9} {u.display_name}" for u in found]
    return Reply("\n".join(lines), {"users": [as_json(u) for u in found]})


async def _target(core: Orchestrator, user_id: str) -> User:
    user = await users.get(core.db, user_id)
    if user is None:
        raise NotFound(f"No user {user_id!r}.", hint="See users with /users.")
    return user


async def _changed(core: Orchestrator, call: Call, user: User, action: str, detail: dict[str, Any], text: str) -> None:
    await core.audit.record(call.who, action, user.id, workspace=call.workspace, detail=detail)
    await core.mirror_user(call.workspace, user)
    core.publish(UserChanged(user=user))
    core.publish(Notice(text=text, user_id=user.id))


async def _set_tier(core: Orchestrator, call: Call, cmd: SetTier) -> Reply:
    if cmd.tier not in (Tier.FREE.value, Tier.PREMIUM.value):
        raise InputError(f"Unknown tier {cmd.tier!r}.", hint="A user's tier is free or premium.")
    before = await _target(core, cmd.user_id)
    user = await users.set_tier(core.db, before.id, cmd.tier, call.now)
    assert user is not None
    await _changed(core, call, user, "user.tier", {"from": before.tier, "to": cmd.tier},
                   f"Your tier is now {cmd.tier}.")
    return Reply(f"{user.id} is now on the {cmd.tier} tier.", {"user": as_json(user)})


async def _set_role(core: Orchestrator, call: Call, cmd: SetRole) -> Reply:
    try:
        role = Role(cmd.role)
    except ValueError:
        raise InputError(f"Unknown role {cmd.role!r}.", hint="Roles: " + ", ".join(r.value for r in Role)) from None
    before = await _target(core, cmd.user_id)
    old = (await users.grants(core.db, before.id)).get(cmd.scope, before.role) if cmd.scope else before.role
    rbac.require_grant(call.role, old, role)
    if cmd.scope:
        await users.set_grant(core.db, before.id, cmd.scope, role)
        user = before
    else:
        user = await users.set_role(core.db, before.id, role, call.now) or before
    where = f" in {cmd.scope}" if cmd.scope else ""
    await _changed(core, call, user, "user.role", {"from": old.value, "to": role.value, "scope": cmd.scope},
                   f"Your role{where} is now {role.value}.")
    return Reply(f"{user.id} is now {role.value}{where}.", {"user": as_json(user)})


async def _set_context_policy(core: Orchestrator, call: Call, cmd: SetContextPolicy) -> Reply:
    for key, value in cmd.policy.items():
        check_policy_value(key, value)
    context = await users.set_context_policy(core.db, cmd.context_id, cmd.policy)
    if context is None:
        raise NotFound(f"No chat context {cmd.context_id!r}.")
    core.policy_changed(context)
    await core.audit.record(
        call.who, "context.policy", context.id, workspace=context.workspace, detail={"policy": cmd.policy}
    )
    core.mirror.write_context(context)
    return Reply(f"Policy of {context.id} updated.", {"policy": context.policy})


async def _request_pairing(core: Orchestrator, call: Call, cmd: RequestPairing) -> Reply:
    if core.pairing is None:
        raise Conflict("Pairing is not available on this server.", hint="Ask an admin to enable it.")
    actor = call.actor
    code = await core.pairing.request(actor.connector, actor.external_id, actor.display_name, actor.chat)
    return Reply(
        f"Your pairing code is {code}. Give it to an admin, who enters it in the TUI; "
        "it expires in 10 minutes and works once.",
        {"code": code},
        secret=True,
    )


HANDLERS: dict[type[Command], tuple[Action | None, Handler]] = {
    Render: (Action.RENDER, _render),
    EditCode: (Action.EDIT_CODE, sessions.edit_code),
    ShowCode: (Action.SHOW_CODE, sessions.show_code),
    NewSession: (Action.NEW_SESSION, sessions.new_session),
    RequestTrial: (Action.REQUEST_TRIAL, trial.request_trial),
    Approve: (Action.DECIDE_APPROVAL, trial.approve),
    Deny: (Action.DECIDE_APPROVAL, trial.deny),
    Cancel: (None, _cancel),
    ClearMemory: (Action.CLEAR_MEMORY, _clear_memory),
    AddNote: (Action.CLEAR_MEMORY, _add_note),
    ListJobs: (None, _list_jobs),
    ListApprovals: (Action.LIST_APPROVALS, _list_approvals),
    ListUsers: (Action.LIST_USERS, _list_users),
    SetTier: (Action.SET_TIER, _set_tier),
    SetRole: (None, _set_role),
    SetContextPolicy: (Action.SET_CONTEXT_POLICY, _set_context_policy),
    RequestPairing: (Action.REQUEST_PAIRING, _request_pairing),
}
