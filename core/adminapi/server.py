"""The admin API server: two TLS 1.3 listeners, one middleware stack, JSON errors.

- The main listener (``settings.admin.port``) requires a client certificate
  signed by our CA at the TLS handshake (CERT_REQUIRED): a peer without one,
  with one from another CA, or with an expired one never gets to send a
  request. Every request then maps the certificate's serial to a user
  through the ``certificates`` table (unknown or revoked -> 401), and the
  route's declared :class:`~core.rbac.Action` is checked against the user's
  role (no declared action -> refused: default deny).
- The enrollment listener (``settings.admin.enroll_port``) is server-auth
  TLS only and serves exactly two things: ``GET /ca.pem`` (public) and
  ``POST /enroll`` (a bootstrap secret plus a CSR in, a certificate out).
  Keeping it apart means no code path on the main port ever runs without
  a verified client certificate.

One error middleware turns a FramecastError into
``{"error": {"code", "message", "hint"}}`` with a status per class.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from core.adminapi.authority import Authority
from core.adminapi.backend import AUTHORITY, BACKEND, CLOSING, HEARTBEAT, USER, Backend
from core.adminapi.routes import ACTION_ATTR, STREAMING_ATTR, authenticate, read_json, routes
from core.adminapi.wire import to_jsonable
from core.errors import (
    AuthError,
    Conflict,
    FramecastError,
    InputError,
    NotFound,
    PermissionDenied,
    RateLimited,
)
from core.pki import PkiPaths, server_ssl_context
from core.rbac import require

__all__ = ["BODY_LIMIT", "AdminServer", "build_app", "error_response", "start_admin_api"]

log = logging.getLogger(__name__)

BODY_LIMIT = 64 * 1024
REQUEST_TIMEOUT_S = 30.0
KEEPALIVE_TIMEOUT_S = 75.0
HEARTBEAT_S = 15.0
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_STATUS: tuple[tuple[type[FramecastError], int], ...] = (
    (PermissionDenied, 403),
    (AuthError, 401),
    (NotFound, 404),
    (InputError, 400),
    (RateLimited, 429),
    (Conflict, 409),
)


def error_response(status: int, code: str, message: str, hint: str | None = None) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message, "hint": hint}}, status=status)


@web.middleware
async def errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """The only place errors become responses."""
    try:
        return await handler(request)
    except FramecastError as exc:
        status = next((s for cls, s in _STATUS if isinstance(exc, cls)), 400)
        return error_response(status, exc.code, exc.message, exc.hint)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = "E_NOT_FOUND" if exc.status == 404 else "E_INPUT"
        return error_response(exc.status, code, exc.reason)
    except TimeoutError:
        return error_response(504, "E_TIMEOUT", "The admin API request took too long.")
    except Exception:
        log.exception("admin API: unexpected error on %s %s", request.method, request.path)
        return error_response(500, "E_INTERNAL", "Something went wrong inside framecast.")


@web.middleware
async def authorize(request: web.Request, handler: Handler) -> web.StreamResponse:
    await authenticate(request)
    match = request.match_info
    if match.http_exception is not None:
        raise match.http_exception
    action = getattr(match.handler, ACTION_ATTR, None)
    if action is None:
        raise PermissionDenied("This route declares no permission, so nobody may use it.")
    require(request[USER].role, action)
    if getattr(match.handler, STREAMING_ATTR, False):
        return await handler(request)
    async with asyncio.timeout(REQUEST_TIMEOUT_S):
        return await handler(request)


def build_app(backend: Backend, authority: Authority, *, heartbeat_s: float = HEARTBEAT_S) -> web.Application:
    """The main (mTLS) application."""
    app = web.Application(middlewares=[errors, authorize], client_max_size=BODY_LIMIT)
    app[BACKEND] = backend
    app[AUTHORITY] = authority
    app[HEARTBEAT] = heartbeat_s
    app[CLOSING] = asyncio.Event()
    app.on_shutdown.append(_end_streams)
    app.add_routes(routes)
    return app


async def _end_streams(app: web.Application) -> None:
    """Event streams never end on their own; tell them the server is stopping."""
    app[CLOSING].set()


async def _enroll(request: web.Request) -> web.Response:
    body = await read_json(request)
    if not isinstance(body.get("secret"), str) or not isinstance(body.get("csr"), str):
        raise InputError('Send JSON {"secret": "...", "csr": "<PEM>"}.')
    async with asyncio.timeout(REQUEST_TIMEOUT_S):
        issued = await request.app[AUTHORITY].enroll(body["secret"], body["csr"].encode("ascii", "replace"))
    return web.json_response(to_jsonable(issued))


async def _ca(request: web.Request) -> web.Response:
    return web.Response(body=request.app[AUTHORITY].paths.ca_cert.read_bytes(), content_type="application/x-pem-file")


def build_enroll_app(authority: Authority) -> web.Application:
    app = web.Application(middlewares=[errors], client_max_size=BODY_LIMIT)
    app[AUTHORITY] = authority
    app.router.add_post("/enroll", _enroll)
    app.router.add_get("/ca.pem", _ca)
    return app


@dataclass
class AdminServer:
    """Both listeners; ``port``/``enroll_port`` are the bound ports (useful when 0 was asked for)."""

    runners: list[web.AppRunner]
    port: int
    enroll_port: int

    async def stop(self) -> None:
        for runner in self.runners:
            await runner.cleanup()


async def _serve(app: web.Application, host: str, port: int, require_client_cert: bool, paths: PkiPaths) -> tuple[web.AppRunner, int]:
    runner = web.AppRunner(app, access_log=None, keepalive_timeout=KEEPALIVE_TIMEOUT_S, shutdown_timeout=5.0)
    await runner.setup()
    site = web.TCPSite(runner, host, port, ssl_context=server_ssl_context(paths, require_client_cert=require_client_cert))
    await site.start()
    bound: Any = runner.addresses[0]
    return runner, int(bound[1])


async def start_admin_api(
    backend: Backend,
    *,
    host: str | None = None,
    port: int | None = None,
    enroll_port: int | None = None,
    heartbeat_s: float = HEARTBEAT_S,
) -> AdminServer:
    """Start both listeners from ``backend.settings`` (arguments override, e.g. port 0 in tests)."""
    admin = backend.settings.admin
    paths = PkiPaths(backend.settings.pki_dir)
    if not paths.has_ca():
        raise FramecastError(f"No CA in {paths.root}.", hint="Run `framecast admin init` first.")
    authority = Authority(backend.db, backend.audit, paths)
    bind = host or admin.host
    main, main_port = await _serve(build_app(backend, authority, heartbeat_s=heartbeat_s), bind, admin.port if port is None else port, True, paths)
    try:
        enroll, bound_enroll = await _serve(
            build_enroll_app(authority), bind, admin.enroll_port if enroll_port is None else enroll_port, False, paths
        )
    except BaseException:
        await main.cleanup()
        raise
    log.info("admin API on %s:%d (mTLS), enrollment on %s:%d", bind, main_port, bind, bound_enroll)
    return AdminServer([main, enroll], main_port, bound_enroll)
