"""The one-off 30 s trial for Free users (SPEC §2).

    available --RequestTrial--> pending --Approve--> approved --watermarked video--> spent
                                   |                    |
                                   +--Deny--> available +--render failed/cancelled--> available

One pending request at most; a denial frees the trial, so the user may ask
again later (staff can keep denying). The user is told
:data:`core.policy.TRIAL_NOTICE` before the render runs; the render uses the
trial tier (Premium preset, watermark, Free editing rules). The state is
spent only by :mod:`core.renders` when a watermarked video is delivered.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from core import sessions
from core.commands import Approve, ApprovalDecided, ApprovalRequested, Deny, Notice, Reply, RequestTrial
from core.errors import Conflict, NotFound
from core.models import Approval, ApprovalState, TrialState
from core.policy import TRIAL_NOTICE, Tier
from core.renders import for_chat
from core.store import approvals
from core.store import sessions as session_store
from core.store import users

if TYPE_CHECKING:
    from core.orchestrator import Call, Orchestrator

__all__ = ["TRIAL_SPENT", "approve", "deny", "request_trial"]

TRIAL_SPENT = "You have already used your one-off 30s trial."
KIND = "trial"


async def request_trial(core: Orchestrator, call: Call, cmd: RequestTrial) -> Reply:
    user = call.user
    if user.tier != Tier.FREE.value:
        raise Conflict(
            "The trial is for Free users; your tier already renders at 1080p without a watermark.",
            hint="Use /render.",
        )
    if user.trial_state is TrialState.SPENT:
        raise Conflict(TRIAL_SPENT, hint="Ask an admin about the Premium tier for more 30s renders.")
    if user.trial_state is not TrialState.AVAILABLE:
        raise Conflict(
            "Your trial request is already waiting for approval or rendering.",
            hint="You will get a message when an operator decides.",
        )
    session, _ = await sessions.current(core, call)
    if not session.ai_enabled:
        raise sessions.ai_off_error()
    core.ratelimit.check(user_id=user.id, chat=call.context_id)
    spec = core.renders.spec_for(call, Tier.TRIAL, ai=True)
    # Compose now, so a prompt the composer cannot use is refused before anyone approves it.
    await core.renders.prepare(spec, prompt=cmd.prompt, code=None, duration=None)
    approval = await approvals.insert(
        core.db, kind=KIND, user_id=user.id, context_id=call.context_id,
        payload={"prompt": cmd.prompt, "workspace": call.workspace, "session_id": session.id},
        now=call.now,
    )
    updated = await users.set_trial_state(core.db, user.id, TrialState.PENDING, call.now)
    await core.audit.record(
        call.who, "approval.requested", approval.id, workspace=call.workspace,
        detail={"kind": KIND, "user": user.id},
    )
    core.mirror.write_approval(call.workspace, approval)
    if updated is not None:
        await core.mirror_user(call.workspace, updated)
    core.publish(ApprovalRequested(approval=approval))
    return Reply(
        f"Your trial request {approval.id} is waiting for approval by an operator. {TRIAL_NOTICE}",
        {"approval_id": approval.id},
    )


async def _pending(core: Orchestrator, approval_id: str) -> Approval:
    approval = await approvals.get(core.db, approval_id)
    if approval is None:
        raise NotFound(f"No approval {approval_id!r}.", hint="List them with /approvals.")
    if approval.state is not ApprovalState.PENDING:
        raise Conflict(f"Approval {approval_id} was already {approval.state.value}.")
    return approval


async def approve(core: Orchestrator, call: Call, cmd: Approve) -> Reply:
    approval = await _pending(core, cmd.approval_id)
    requester = await users.get(core.db, approval.user_id)
    if requester is None:
        raise NotFound(f"The user of approval {approval.id} no longer exists.")
    workspace = str(approval.payload.get("workspace", call.workspace))
    # The requester's chat rules, as they are now (the approver may be anywhere).
    spec = for_chat(core.settings.tiers.get(Tier.TRIAL), await core.policy(approval.context_id),
                    ai=True, duration=None)
    prompt = str(approval.payload["prompt"])
    prepared = await core.renders.prepare(spec, prompt=prompt, code=None, duration=None)
    decided = await approvals.decide(
        core.db, approval.id, ApprovalState.APPROVED, by=call.user.id, reason=None, now=call.now
    )
    if decided is None:
        raise Conflict(f"Approval {approval.id} was decided by someone else meanwhile.")
    updated = await users.set_trial_state(core.db, requester.id, TrialState.APPROVED, call.now)
    await core.audit.record(
        call.who, "approval.approved", approval.id, workspace=workspace,
        detail={"kind": KIND, "user": requester.id},
    )
    # The contract: the user hears about the watermark before the render runs.
    core.publish(Notice(text=TRIAL_NOTICE, user_id=requester.id, context_id=approval.context_id))
    # The job belongs to the requester's chat and session, whose code it becomes.
    session = await session_store.get_session(core.db, str(approval.payload.get("session_id", "")))
    if session is not None:
        session = await session_store.update_session(
            core.db, session.id, now=call.now, code=prepared.code, code_origin="ai"
        )
    job, position = await core.renders.queue_job(
        replace(call, workspace=workspace, context_id=approval.context_id),
        updated or requester, session, kind=KIND, tier=Tier.TRIAL, prompt=prompt,
        code=prepared.code, duration=prepared.duration_s, limit_user_queue=False,
    )
    decided = await approvals.set_job(core.db, approval.id, job.id) or decided
    core.mirror.write_approval(workspace, decided)
    if updated is not None:
        await core.mirror_user(workspace, updated)
    core.publish(ApprovalDecided(approval=decided))
    return Reply(
        f"Approved {approval.id}: the trial is queued as job {job.id} (position {position}).",
        {"approval_id": approval.id, "job_id": job.id},
    )


async def deny(core: Orchestrator, call: Call, cmd: Deny) -> Reply:
    approval = await _pending(core, cmd.approval_id)
    workspace = str(approval.payload.get("workspace", call.workspace))
    reason = cmd.reason.strip() or "no reason given"
    decided = await approvals.decide(
        core.db, approval.id, ApprovalState.DENIED, by=call.user.id, reason=reason, now=call.now
    )
    if decided is None:
        raise Conflict(f"Approval {approval.id} was decided by someone else meanwhile.")
    updated = await users.set_trial_state(core.db, approval.user_id, TrialState.AVAILABLE, call.now)
    await core.audit.record(
        call.who, "approval.denied", approval.id, workspace=workspace,
        detail={"kind": KIND, "user": approval.user_id, "reason": reason},
    )
    core.mirror.write_approval(workspace, decided)
    if updated is not None:
        await core.mirror_user(workspace, updated)
    core.publish(Notice(
        text=f"Your trial request was denied: {reason}. You may ask again later with /trial <prompt>.",
        user_id=approval.user_id, context_id=approval.context_id,
    ))
    core.publish(ApprovalDecided(approval=decided))
    return Reply(f"Denied {approval.id}.", {"approval_id": approval.id})

