"""The admin API's routes. Each handler declares its :class:`Action` with :func:`allow`.

The ``authorize`` middleware in server.py refuses any route without one.
Approvals, jobs and users go through ``orchestrator.execute`` as
``Actor("admin", <user id>, ...)`` so the orchestrator's own RBAC and audit
apply as for any chat command; pairing, audit and certificates call their
services directly (the services check RBAC and audit themselves).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from core.adminapi.backend import AUTHORITY, BACKEND, CLOSING, HEARTBEAT, USER
from core.adminapi.wire import to_jsonable
from core.commands import (
    Actor,
    Approve,
    Cancel,
    Command,
    Deny,
    ListApprovals,
    ListJobs,
    ListUsers,
    SetRole,
    SetTier,
)
from core.errors import AuthError, InputError
from core.models import ApprovalState, Role, as_json
from core.rbac import Action

__all__ = ["ACTION_ATTR", "STREAMING_ATTR", "allow", "authenticate", "read_json", "routes"]

ACTION_ATTR = "framecast_action"
STREAMING_ATTR = "framecast_streaming"
MAX_AUDIT_PAGE = 500
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

routes = web.RouteTableDef()


def allow(action: Action, *, streaming: bool = False) -> Callable[[Handler], Handler]:
    """Declare the least permission a route needs (streaming routes get no request timeout)."""

    def mark(handler: Handler) -> Handler:
        setattr(handler, ACTION_ATTR, action)
        setattr(handler, STREAMING_ATTR, streaming)
        return handler

    return mark


# --------------------------------------------------------------------------- helpers


def _peer_serial(request: web.Request) -> str:
    transport = request.transport
    peer = transport.get_extra_info("peercert") if transport is not None else None
    if not peer or "serialNumber" not in peer:
        raise AuthError("A client certificate is required.")
    return f"{int(peer['serialNumber'], 16):x}"


async def authenticate(request: web.Request) -> None:
    """Certificate serial -> user, refusing unknown, revoked and expired certificates."""
    request[USER] = await request.app[AUTHORITY].authenticate(_peer_serial(request))


async def read_json(request: web.Request) -> dict[str, Any]:
    """The request's JSON object ({} without a body); anything else is an InputError."""
    if not request.can_read_body:
        return {}
    try:
        body = await request.json()
    except json.JSONDecodeError as exc:
        raise InputError("The request body is not valid JSON.") from exc
    if not isinstance(body, dict):
        raise InputError("The request body must be a JSON object.")
    return body


def _optional(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise InputError(f'"{name}" must be a non-empty string.')
    return value.strip()


def _required(body: dict[str, Any], name: str) -> str:
    value = _optional(body, name)
    if value is None:
        raise InputError(f'"{name}" is required.')
    return value


def _role(value: str) -> Role:
    try:
        return Role(value)
    except ValueError:
        raise InputError(f"Unknown role {value!r}.", hint=f"Use one of: {', '.join(r.value for r in Role)}.") from None


def _actor(request: web.Request) -> Actor:
    user = request[USER]
    return Actor("admin", user.id, user.display_name, "admin-api")


async def _run(request: web.Request, make: Callable[[Actor], Command]) -> web.Response:
    reply = await request.app[BACKEND].orchestrator.execute(make(_actor(request)))
    return web.json_response({"text": reply.text, "data": to_jsonable(reply.data)})


# --------------------------------------------------------------------------- who am I


@routes.get("/admin/whoami")
@allow(Action.VIEW_OWN)
async def whoami(request: web.Request) -> web.Response:
    return web.json_response({"user": as_json(request[USER])})


# --------------------------------------------------------------------------- pairing


@routes.post("/admin/pairing/lookup")
@allow(Action.LOOKUP_PAIRING)
async def pairing_lookup(request: web.Request) -> web.Response:
    code = _required(await read_json(request), "code")
    info = await request.app[BACKEND].pairing.lookup(code, approver=request[USER])
    return web.json_response({"pairing": to_jsonable(info)})


@routes.post("/admin/pairing/approve")
@allow(Action.DECIDE_PAIRING)
async def pairing_approve(request: web.Request) -> web.Response:
    body = await read_json(request)
    code = _required(body, "code")
    identity = await request.app[BACKEND].pairing.approve(
        code, approver=request[USER], user_id=_optional(body, "user_id"),
        role=_role(_required(body, "role")),
    )
    return web.json_response({"identity": as_json(identity)})


@routes.post("/admin/pairing/deny")
@allow(Action.DECIDE_PAIRING)
async def pairing_deny(request: web.Request) -> web.Response:
    code = _required(await read_json(request), "code")
    await request.app[BACKEND].pairing.deny(code, approver=request[USER])
    return web.json_response({"denied": True})


# --------------------------------------------------------------------------- approvals, jobs, users


@routes.get("/admin/approvals")
@allow(Action.LIST_APPROVALS)
async def approvals(request: web.Request) -> web.Response:
    raw = request.query.get("state", ApprovalState.PENDING.value)
    try:
        state = None if raw == "all" else ApprovalState(raw)
    except ValueError:
        raise InputError(f"Unknown approval state {raw!r}.", hint="Use pending, approved, denied or all.") from None
    return await _run(request, lambda actor: ListApprovals(actor, state))


@routes.post("/admin/approvals/{id}/approve")
@allow(Action.DECIDE_APPROVAL)
async def approval_approve(request: web.Request) -> web.Response:
    return await _run(request, lambda actor: Approve(actor, request.match_info["id"]))


@routes.post("/admin/approvals/{id}/deny")
@allow(Action.DECIDE_APPROVAL)
async def approval_deny(request: web.Request) -> web.Response:
    reason = _optional(await read_json(request), "reason") or ""
    return await _run(request, lambda actor: Deny(actor, request.match_info["id"], reason))


@routes.get("/admin/jobs")
@allow(Action.LIST_JOBS)
async def jobs(request: web.Request) -> web.Response:
    return await _run(request, lambda actor: ListJobs(actor, request.query.get("state")))


@routes.post("/admin/jobs/{id}/cancel")
@allow(Action.CANCEL_ANY_JOB)
async def job_cancel(request: web.Request) -> web.Response:
    return await _run(request, lambda actor: Cancel(actor, request.match_info["id"]))


@routes.get("/admin/users")
@allow(Action.LIST_USERS)
async def users(request: web.Request) -> web.Response:
    return await _run(request, ListUsers)


@routes.post("/admin/users/{id}/role")
@allow(Action.SET_ROLE)
async def user_role(request: web.Request) -> web.Response:
    role = _role(_required(await read_json(request), "role"))
    return await _run(request, lambda actor: SetRole(actor, request.match_info["id"], role.value))


@routes.post("/admin/users/{id}/tier")
@allow(Action.SET_TIER)
async def user_tier(request: web.Request) -> web.Response:
    tier = _required(await read_json(request), "tier")
    return await _run(request, lambda actor: SetTier(actor, request.match_info["id"], tier))


# --------------------------------------------------------------------------- audit


def _int(request: web.Request, name: str, default: int | None) -> int | None:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise InputError(f'"{name}" must be a whole number.') from None


@routes.get("/admin/audit")
@allow(Action.VIEW_AUDIT)
async def audit_page(request: web.Request) -> web.Response:
    limit = _int(request, "limit", 50) or 50
    if not 1 <= limit <= MAX_AUDIT_PAGE:
        raise InputError(f'"limit" must be between 1 and {MAX_AUDIT_PAGE}.')
    entries = await request.app[BACKEND].audit.page(_int(request, "before", None), limit)
    return web.json_response({"entries": [as_json(e) for e in entries]})


@routes.get("/admin/audit/verify")
@allow(Action.VIEW_AUDIT)
async def audit_verify(request: web.Request) -> web.Response:
    return web.json_response({"report": to_jsonable(await request.app[BACKEND].audit.verify())})


# --------------------------------------------------------------------------- certificates


@routes.post("/admin/enrollments")
@allow(Action.ISSUE_ENROLLMENT)
async def enrollment_create(request: web.Request) -> web.Response:
    user_id = _required(await read_json(request), "user_id")
    enrollment = await request.app[AUTHORITY].create_enrollment(request[USER], user_id)
    return web.json_response({"enrollment": to_jsonable(enrollment)})


@routes.post("/admin/certs/{serial}/revoke")
@allow(Action.REVOKE_CERTIFICATE)
async def cert_revoke(request: web.Request) -> web.Response:
    await request.app[AUTHORITY].revoke(request.match_info["serial"], actor=request[USER])
    return web.json_response({"revoked": request.match_info["serial"].lower()})


# --------------------------------------------------------------------------- events


def _frame(kind: str, data: Any) -> bytes:
    return f"event: {kind}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


@routes.get("/admin/events")
@allow(Action.WATCH_EVENTS, streaming=True)
async def events(request: web.Request) -> web.StreamResponse:
    """Server-sent events for staff; each event and each heartbeat re-checks the certificate first."""
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
    await response.prepare(request)
    closing = asyncio.ensure_future(request.app[CLOSING].wait())
    try:
        async with request.app[BACKEND].orchestrator.subscribe(staff=True) as stream:
            pending = asyncio.ensure_future(anext(stream))
            try:
                while not closing.done():
                    await asyncio.wait({pending, closing}, timeout=request.app[HEARTBEAT],
                                      return_when=asyncio.FIRST_COMPLETED)
                    try:
                        await authenticate(request)
                    except AuthError as exc:
                        await response.write(_frame("error", exc.to_dict()))
                        break
                    if not pending.done():
                        await response.write(b": heartbeat\n\n")
                        continue
                    event = pending.result()
                    pending = asyncio.ensure_future(anext(stream))
                    await response.write(_frame(type(event).__name__, to_jsonable(event)))
            finally:
                pending.cancel()
    except ConnectionResetError:
        pass  # the client left
    finally:
        closing.cancel()
    return response
