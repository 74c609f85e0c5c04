"""RBAC on every route, JSON errors with stable codes, request limits."""

from __future__ import annotations

import ssl
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import aiohttp
import pytest
from aiohttp import web

from core.adminapi.client import AdminClient
from core.adminapi.server import build_app
from core.commands import Actor, RequestTrial
from core.errors import AuthError, PermissionDenied
from core.models import ApprovalState, JobState, Role, TrialState
from core.pki import server_ssl_context
from core.store import users

if TYPE_CHECKING:
    from conftest import Api

Staff = Callable[[str, Role], Awaitable[AdminClient]]


async def _trial(api: Api) -> str:
    """A Free member asks for the trial; returns the pending approval's id."""
    reply = await api.app.orchestrator.execute(
        RequestTrial(Actor("telegram", "555", "Mia", "dm-555"), prompt="a blue circle grows")
    )
    assert reply.data is not None
    return str(reply.data["approval_id"])


@pytest.mark.parametrize("role", [Role.VIEWER, Role.MEMBER])
async def test_viewers_and_members_cannot_approve(api: Api, staff: Staff, role: Role) -> None:
    approval_id = await _trial(api)
    client = await staff("pat", role)
    async with client:
        assert (await client.whoami()).role is role  # they are authenticated, just not allowed
        status, body = await _raw(client, "POST", f"/admin/approvals/{approval_id}/approve")
    assert status == 403
    assert body["error"]["code"] == "E_PERMISSION"
    assert "operator" in body["error"]["hint"]


async def test_an_operator_approves_a_trial_but_cannot_change_roles(api: Api, staff: Staff) -> None:
    approval_id = await _trial(api)
    async with await staff("olga", Role.OPERATOR) as operator:
        listed = await operator.approvals()
        assert [(a.id, a.state) for a in listed] == [(approval_id, ApprovalState.PENDING)]
        reply = await operator.approve(approval_id)
        assert reply.data is not None and reply.data["approval_id"] == approval_id
        with pytest.raises(PermissionDenied):
            await operator.set_role("olga", Role.ADMIN)
        with pytest.raises(PermissionDenied):
            await operator.set_tier("olga", "premium")
    requester = await users.get(api.app.db, (await _owner(api, approval_id)))
    assert requester is not None and requester.trial_state is TrialState.APPROVED
    assert any(e.action == "approval.approved" and e.actor == "admin:olga" for e in await api.app.audit.page())


async def _owner(api: Api, approval_id: str) -> str:
    row = await api.app.db.fetchone("SELECT user_id, state FROM approvals WHERE id = ?", (approval_id,))
    assert row is not None and row["state"] == ApprovalState.APPROVED.value
    return str(row["user_id"])


async def test_an_admin_sets_tiers_and_lower_roles_only(api: Api, staff: Staff) -> None:
    await api.user("mo", Role.MEMBER)
    async with await staff("ada", Role.ADMIN) as admin:
        await admin.set_tier("mo", "premium")
        await admin.set_role("mo", Role.OPERATOR)
        with pytest.raises(PermissionDenied):
            await admin.set_role("mo", Role.ADMIN)
        listed = {u.id: u for u in await admin.users()}
    assert listed["mo"].tier == "premium" and listed["mo"].role is Role.OPERATOR


async def _raw(client: AdminClient, method: str, path: str, **kwargs: object) -> tuple[int, dict]:  # type: ignore[type-arg]
    async with client.session.request(method, client.base_url + path, **kwargs) as response:  # type: ignore[arg-type]
        return response.status, await response.json()


async def test_errors_are_json_with_stable_codes(api: Api, staff: Staff) -> None:
    async with await staff("ada", Role.ADMIN) as admin:
        assert (await _raw(admin, "GET", "/admin/nowhere"))[1]["error"]["code"] == "E_NOT_FOUND"
        status, body = await _raw(admin, "POST", "/admin/pairing/lookup", data=b"{not json",
                                  headers={"Content-Type": "application/json"})
        assert (status, body["error"]["code"]) == (400, "E_INPUT")
        status, body = await _raw(admin, "POST", "/admin/users/nobody/role", json={"role": "emperor"})
        assert (status, body["error"]["code"]) == (400, "E_INPUT")
        status, body = await _raw(admin, "POST", "/admin/approvals/nope/approve")
        assert (status, body["error"]["code"]) == (404, "E_NOT_FOUND")
        status, body = await _raw(admin, "POST", "/admin/pairing/lookup", json={"code": "x" * 70_000})
        assert status == 413 and body["error"]["code"] == "E_INPUT"
        status, body = await _raw(admin, "GET", "/admin/audit", params={"limit": "100000"})
        assert (status, body["error"]["code"]) == (400, "E_INPUT")


async def test_a_route_without_a_declared_action_is_denied_to_everyone(api: Api, tmp_path: object) -> None:
    async def undeclared(request: web.Request) -> web.Response:
        return web.json_response({"secret": "data"})

    app = build_app(api.app, api.authority)
    app.router.add_get("/admin/undeclared", undeclared)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=server_ssl_context(api.authority.paths))
    await site.start()
    port = runner.addresses[0][1]
    creds = await api.credentials("overlord", tmp_path)  # type: ignore[arg-type]
    context: ssl.SSLContext = creds.ssl_context()
    try:
        async with aiohttp.ClientSession() as session:
            async with session.get(f"https://127.0.0.1:{port}/admin/undeclared", ssl=context) as response:
                assert response.status == 403
                assert (await response.json())["error"]["code"] == "E_PERMISSION"
            async with session.get(f"https://127.0.0.1:{port}/admin/whoami", ssl=context) as response:
                assert response.status == 200  # the same user passes a declared route
    finally:
        await runner.cleanup()


async def test_operators_list_and_cancel_jobs_and_deny_with_a_reason(api: Api, staff: Staff) -> None:
    approved, denied = await _trial(api), await _trial_of(api, "556")
    async with await staff("olga", Role.OPERATOR) as operator:
        job_id = ((await operator.approve(approved)).data or {})["job_id"]
        jobs = await operator.jobs(state="queued")
        assert [(j.id, j.state, j.tier) for j in jobs] == [(job_id, JobState.QUEUED, "trial")]
        assert ((await operator.cancel_job(job_id)).data or {})["cancelled"] is True
        await operator.deny(denied, reason="not today")
        assert [a.reason for a in await operator.approvals("denied")] == ["not today"]


async def _trial_of(api: Api, external_id: str) -> str:
    reply = await api.app.orchestrator.execute(
        RequestTrial(Actor("telegram", external_id, "Noor", f"dm-{external_id}"), prompt="a green triangle")
    )
    assert reply.data is not None
    return str(reply.data["approval_id"])


async def test_admins_revoke_certificates_of_staff_below_them_only(api: Api, staff: Staff) -> None:
    operator = await staff("olga", Role.OPERATOR)
    other_admin = await staff("bob", Role.ADMIN)
    async with await staff("ada", Role.ADMIN) as admin:
        [bob_cert] = await api.authority.certificates("bob")
        with pytest.raises(PermissionDenied):
            await admin.revoke(bob_cert.serial)
        [olga_cert] = await api.authority.certificates("olga")
        await admin.revoke(olga_cert.serial)
    async with operator, other_admin:
        assert (await other_admin.whoami()).id == "bob"
        with pytest.raises(AuthError, match="revoked"):
            await operator.whoami()
