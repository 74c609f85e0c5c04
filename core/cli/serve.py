"""``framecast serve``: run the service until SIGTERM or SIGINT.

Starts the App (queue with restart recovery, scheduler, Markdown watcher,
the mTLS admin API when a CA exists) and plain ``/healthz`` ``/readyz`` on
localhost, logging JSON lines to stderr. On SIGTERM/SIGINT it stops taking
work, lets running renders finish for ``queue.shutdown_grace_s`` seconds,
requeues the rest for the next start, and exits 0.
"""

from __future__ import annotations

import asyncio
import logging
import signal

import click

from core.app import App
from core.config import Settings, load_settings
from core.health import start_health
from core.logging import configure

__all__ = ["serve"]

log = logging.getLogger("framecast.serve")


async def run_service(settings: Settings) -> None:
    app = await App.create(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    health = None
    try:
        await app.start()
        health = await start_health(app, settings.admin.health_port)
        log.info("framecast serving", extra={"data_dir": str(settings.data_dir), "ready": app.ready})
        await stop.wait()
        log.info("shutting down: finishing running renders (grace %ss)", settings.queue.shutdown_grace_s)
    finally:
        if health is not None:
            await health.stop()
        await app.stop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)


@click.command()
@click.option("--health-port", type=int, default=None,
              help="Port of /healthz and /readyz on 127.0.0.1 (0 picks a free one; default from settings).")
def serve(health_port: int | None) -> None:
    """Run the orchestrator, queue, scheduler, watcher and health endpoints."""
    settings = load_settings()
    if health_port is not None:
        settings.admin.health_port = health_port
    configure(settings.log_level)
    asyncio.run(run_service(settings))
