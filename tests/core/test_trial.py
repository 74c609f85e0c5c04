"""The one-off trial: request, approval, watermark notice, delivery, denial, double requests."""

from __future__ import annotations

import pytest

from core.commands import (
    Actor,
    ApprovalDecided,
    ApprovalRequested,
    Approve,
    Deny,
    JobDone,
    JobFailed,
    JobStarted,
    ListApprovals,
    Notice,
    RequestTrial,
)
from core.errors import Conflict, PermissionDenied, RenderError
from core.models import ApprovalState, TrialState
from core.policy import TRIAL_NOTICE
from core.render.postflight import probe
from core.store import approvals, users
from core.trial import TRIAL_SPENT

ADA = Actor("telegram", "2001", "Ada", "dm-2001")


async def test_trial_end_to_end_with_a_real_watermarked_render(make_app, collect) -> None:
    app = await make_app(renderer=None)  # the real pipeline and sandbox
    ada, _ = await app.orchestrator.resolve_actor(ADA)
    admin = await app.local_admin()
    async with app.orchestrator.subscribe(user_id=ada.id) as mine, \
            app.orchestrator.subscribe(staff=True) as staff:
        await app.start(admin_api=False, watch=False)
        reply = await app.orchestrator.execute(RequestTrial(ADA, "a green circle in 1 second"))
        approval_id = reply.data["approval_id"]
        assert TRIAL_NOTICE in reply.text
        requested = await collect(staff, until=lambda e: isinstance(e, ApprovalRequested))
        assert requested[-1].approval.id == approval_id
        assert (await users.get(app.db, ada.id)).trial_state is TrialState.PENDING
        with pytest.raises(Conflict):  # one pending at most
            await app.orchestrator.execute(RequestTrial(ADA, "another one"))
        with pytest.raises(PermissionDenied):  # a member cannot approve, not even their own
            await app.orchestrator.execute(Approve(ADA, approval_id))
        listed = await app.orchestrator.execute(ListApprovals(admin, ApprovalState.PENDING))
        assert [a["id"] for a in listed.data["approvals"]] == [approval_id]

        await app.orchestrator.execute(Approve(admin, approval_id))
        seen = await collect(mine, until=lambda e: isinstance(e, (JobDone, JobFailed)), timeout=240)
    kinds = [type(e) for e in seen]
    notice = next(i for i, e in enumerate(seen) if isinstance(e, Notice) and e.text == TRIAL_NOTICE)
    assert notice < kinds.index(JobStarted), "the user hears about the watermark before it runs"
    done = seen[-1]
    assert isinstance(done, JobDone), done
    assert done.watermarked
    info = await probe(done.video)
    assert (info.width, info.height) == (1920, 1080)
    assert (await users.get(app.db, ada.id)).trial_state is TrialState.SPENT
    decided = await approvals.get(app.db, approval_id)
    assert decided.state is ApprovalState.APPROVED and decided.job_id == done.job_id
    with pytest.raises(Conflict) as again:
        await app.orchestrator.execute(RequestTrial(ADA, "one more please"))
    assert again.value.message == TRIAL_SPENT == "You have already used your one-off 30s trial."
    actions = [e.action for e in await app.audit.page(limit=200)]
    assert {"approval.requested", "approval.approved", "render.done"} <= set(actions)


async def test_denial_frees_the_trial_and_tells_the_reason(make_app, collect) -> None:
    app = await make_app()
    ada, _ = await app.orchestrator.resolve_actor(ADA)
    admin = await app.local_admin()
    async with app.orchestrator.subscribe(user_id=ada.id) as mine, \
            app.orchestrator.subscribe(staff=True) as staff:
        first = (await app.orchestrator.execute(RequestTrial(ADA, "a square"))).data["approval_id"]
        await app.orchestrator.execute(Deny(admin, first, "not today"))
        notices = await collect(mine, until=lambda e: isinstance(e, Notice))
        await collect(staff, until=lambda e: isinstance(e, ApprovalDecided))
    assert "denied: not today" in notices[-1].text
    assert (await users.get(app.db, ada.id)).trial_state is TrialState.AVAILABLE
    with pytest.raises(Conflict):  # decided once, for good
        await app.orchestrator.execute(Approve(admin, first))
    second = await app.orchestrator.execute(RequestTrial(ADA, "a square, please"))
    assert second.data["approval_id"] != first
    assert (await approvals.get(app.db, first)).reason == "not today"


async def test_a_failed_trial_render_returns_the_trial(make_app, stub, collect) -> None:
    app = await make_app()
    stub.fail_with = RenderError("The scene failed while rendering.")
    ada, _ = await app.orchestrator.resolve_actor(ADA)
    admin = await app.local_admin()
    async with app.orchestrator.subscribe(user_id=ada.id) as mine:
        await app.start(admin_api=False, watch=False)
        approval_id = (await app.orchestrator.execute(RequestTrial(ADA, "a circle"))).data["approval_id"]
        await app.orchestrator.execute(Approve(admin, approval_id))
        seen = await collect(mine, until=lambda e: isinstance(e, Notice) and "still available" in e.text)
    assert any(isinstance(e, JobFailed) for e in seen)
    assert stub.requests[0].tier.watermark and stub.requests[0].tier.width == 1920
    assert (await users.get(app.db, ada.id)).trial_state is TrialState.AVAILABLE


async def test_premium_users_do_not_need_the_trial(make_app) -> None:
    app = await make_app()
    ada, _ = await app.orchestrator.resolve_actor(ADA)
    await users.set_tier(app.db, ada.id, "premium", 0)
    with pytest.raises(Conflict):
        await app.orchestrator.execute(RequestTrial(ADA, "a circle"))
