"""Plain-HTTP liveness and readiness on localhost, for supervisors and compose.

``GET /healthz`` answers 200 while the process serves requests at all.
``GET /readyz`` answers 200 only when the database answers, the sandbox
runner passed its self-check and the queue is dispatching; otherwise 503
with the failing checks, so a load balancer or ``compose`` health check
holds traffic back.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from aiohttp import web

from core.app import App

__all__ = ["HealthServer", "start_health"]

log = logging.getLogger(__name__)

APP = web.AppKey("framecast_app", App)


async def _healthz(request: web.Request) -> web.Response:
    return web.json_response({"ok": True})


async def _readyz(request: web.Request) -> web.Response:
    app = request.app[APP]
    checks = {"db": False, "runner": app.runner_ok, "queue": app.queue.running}
    try:
        checks["db"] = await app.db.fetchone("SELECT 1") is not None
    except Exception:  # a closed or broken database is exactly what this reports
        checks["db"] = False
    ok = all(checks.values())
    return web.json_response({"ok": ok, "checks": checks}, status=200 if ok else 503)


@dataclass
class HealthServer:
    runner: web.AppRunner
    port: int

    async def stop(self) -> None:
        await self.runner.cleanup()


async def start_health(app: App, port: int, host: str = "127.0.0.1") -> HealthServer:
    """Listen on ``host:port`` (0 picks a free port; the bound one is returned and logged)."""
    web_app = web.Application()
    web_app[APP] = app
    web_app.router.add_get("/healthz", _healthz)
    web_app.router.add_get("/readyz", _readyz)
    runner = web.AppRunner(web_app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound = runner.addresses[0][1]
    log.info("health endpoints on http://%s:%d/healthz and /readyz", host, bound,
             extra={"health_port": bound})
    return HealthServer(runner, int(bound))
