"""The App: the one object wired from Settings, used by serve, chat, the admin API and tests.

    app = await App.create(settings)      # opens the database, builds everything
    async with app.orchestrator.subscribe(user_id=...) as events:
        await app.start()                 # queue (recovery first), scheduler, watcher, admin API
        ...
    await app.stop()                      # graceful: running jobs finish or are requeued

Subscribe before :meth:`App.start` to hear about jobs the previous run left
behind: restart notices are published while the queue recovers.

The Markdown mirror does not fsync its projections and writes the read-only
ones (jobs, approvals, memory) from a thread (see :mod:`core.mirror`).
Each running App leaves a ``.running-<pid>`` marker in the data dir and
removes it on a clean stop; a start that finds the marker of a process that
is gone rebuilds every projection from SQLite first. Appended logs are
fsync'd in batches, every second and at stop.

The renderer is the one seam: ``App.create(settings, renderer=...)`` lets a
test run the orchestration (fairness, cancel, restart) with a cheap renderer;
by default it is the real pipeline on the configured sandbox runner.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any

from core.audit import Audit
from core.commands import Actor, SetContextPolicy, SetTier
from core.config import Settings
from core.identity import Pairing, load_pairing_key
from core.memory import MemoryService
from core.mirror import Mirror
from core.rebuild import rebuild
from core.models import Role
from core.orchestrator import LOCAL_WORKSPACE, Orchestrator
from core.pki import PkiPaths
from core.queue import JobQueue
from core.render.pipeline import RenderOutcome, RenderRequest
from core.render.pipeline import render as render_pipeline
from core.renders import Renderer
from core.sandbox import make_runner
from core.sandbox.job import ProgressCallback, SandboxRunner
from core.scheduler import Scheduler
from core.store import users
from core.store.database import Database
from core.watcher import MirrorEdit, MirrorWatcher

__all__ = ["LOCAL_ADMIN", "MIRROR_ACTOR", "App"]

log = logging.getLogger(__name__)

LOCAL_ADMIN = "local-admin"
SYNC_EVERY_S = 1.0
_MARKER = ".running-"
MIRROR_ACTOR = Actor("system", "mirror", "Markdown edits", "mirror")


class App:
    """Everything one framecast process runs, built from Settings."""

    def __init__(
        self,
        *,
        settings: Settings,
        db: Database,
        audit: Audit,
        mirror: Mirror,
        runner: SandboxRunner,
        orchestrator: Orchestrator,
        pairing: Pairing,
        clock: Callable[[], float],
    ) -> None:
        self.settings = settings
        self.db = db
        self.audit = audit
        self.mirror = mirror
        self.runner = runner
        self.orchestrator = orchestrator
        self.pairing = pairing
        self.clock = clock
        self.scheduler = Scheduler(
            db, purge_memory=self.purge_memory, expire_pairings=pairing.expire,
            run_schedule=orchestrator.run_schedule, clock=clock, audit=audit,
        )
        self.watcher = MirrorWatcher(mirror, self._apply_edit, audit=audit, clock=clock)
        self.admin_server: Any = None
        self.runner_ok = False
        self._watch_task: asyncio.Task[None] | None = None
        self._sync_task: asyncio.Task[None] | None = None
        self._marker = settings.data_dir / f"{_MARKER}{os.getpid()}"
        self._started = False
        self._closed = False

    @classmethod
    async def create(
        cls,
        settings: Settings,
        *,
        renderer: Renderer | None = None,
        runner: SandboxRunner | None = None,
        clock: Callable[[], float] = time.time,
    ) -> App:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        db = await Database.open(settings.db_path)
        mirror = Mirror(settings.data_dir, deferred=True)
        try:
            audit = Audit(db, mirror, clock=clock)
            runner = runner or make_runner(settings)
            orchestrator = Orchestrator(
                settings=settings, db=db, audit=audit, mirror=mirror,
                renderer=renderer or _pipeline(settings, runner), clock=clock,
            )
            pairing = Pairing(
                db, audit, clock=clock, publish=orchestrator.publish,
                key=load_pairing_key(settings.pki_dir / "pairing.key"),
                on_linked=orchestrator.identities_changed,
            )
            orchestrator.pairing = pairing
            return cls(
                settings=settings, db=db, audit=audit, mirror=mirror, runner=runner,
                orchestrator=orchestrator, pairing=pairing, clock=clock,
            )
        except BaseException:
            mirror.close()
            await db.close()  # its threads would otherwise keep the process alive
            raise

    @property
    def queue(self) -> JobQueue:
        return self.orchestrator.queue

    @property
    def memory(self) -> MemoryService:
        return self.orchestrator.memory

    # ------------------------------------------------------------------ lifecycle

    async def start(self, *, admin_api: bool = True, watch: bool = True) -> None:
        """Recover and start the queue, then the scheduler, the watcher and the admin API."""
        check = getattr(self.runner, "check", None)  # local runners can test themselves
        try:
            if check is not None:
                await check()
            self.runner_ok = True
        except Exception as exc:  # readiness reports it; renders will fail with the reason
            log.error("sandbox runner not available: %s", exc)
        await self._recover_mirror()
        self._sync_task = asyncio.create_task(self._sync_appends(), name="framecast-mirror-sync")
        await self.queue.start()
        await self.scheduler.start()
        if watch:
            self._watch_task = asyncio.create_task(self.watcher.run(), name="framecast-watcher")
        if admin_api and PkiPaths(self.settings.pki_dir).has_ca():
            from core.adminapi.server import start_admin_api

            self.admin_server = await start_admin_api(self)
        self._started = True
        log.info("framecast started (data dir %s)", self.settings.data_dir)

    async def stop(self, grace_s: float | None = None) -> None:
        """Stop taking work, let running jobs finish (or requeue them), close everything. Idempotent."""
        if self._closed:
            return
        self._closed = True
        if self.admin_server is not None:
            await self.admin_server.stop()
            self.admin_server = None
        if self._started:
            await self.scheduler.shutdown()
            await self.queue.stop(self.settings.queue.shutdown_grace_s if grace_s is None else grace_s)
        if self._watch_task is not None:
            self.watcher.stop()
            self._watch_task.cancel()
            await asyncio.gather(self._watch_task, return_exceptions=True)
            self._watch_task = None
        await asyncio.to_thread(self.mirror.close)  # the deferred projections reach the files
        if self._sync_task is not None:
            self._sync_task.cancel()
            await asyncio.gather(self._sync_task, return_exceptions=True)
            self._sync_task = None
            await asyncio.to_thread(self.mirror.sync)
            self._marker.unlink(missing_ok=True)  # a clean stop: no rebuild next time
        self._started = False
        await self.db.close()
        log.info("framecast stopped")

    async def __aenter__(self) -> App:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    @property
    def ready(self) -> bool:
        return self._started and self.runner_ok and self.queue.running

    # ------------------------------------------------------------------ wiring

    async def local_admin(self, chat: str = "console") -> Actor:
        """The console's local admin: an overlord of the local workspace, created on first use.

        A local-only convenience for ``framecast chat``: whoever can run the
        console already owns the data dir.
        """
        user, created = await users.upsert_user_with_identity(
            self.db, connector="console", external_id=LOCAL_ADMIN, display_name="Local admin",
            now=self.clock(), user_id=LOCAL_ADMIN,
        )
        scope = f"workspace:{LOCAL_WORKSPACE}"
        if (await users.grants(self.db, user.id)).get(scope) is not Role.OVERLORD:
            await users.set_grant(self.db, user.id, scope, Role.OVERLORD)
            await self.audit.record(
                "console:local-admin", "user.role", user.id, workspace=LOCAL_WORKSPACE,
                detail={"to": Role.OVERLORD.value, "scope": scope, "local_admin": True},
            )
        if created:
            await self.orchestrator.mirror_user(LOCAL_WORKSPACE, user)
        return Actor("console", LOCAL_ADMIN, "Local admin", chat)

    async def _apply_edit(self, edit: MirrorEdit) -> None:
        """A human edit of a Markdown file goes through the same command as the TUI."""
        actor = Actor(MIRROR_ACTOR.connector, MIRROR_ACTOR.external_id, MIRROR_ACTOR.display_name,
                      MIRROR_ACTOR.chat, edit.workspace)
        if edit.kind == "user_tier":
            await self.orchestrator.execute(SetTier(actor, edit.target_id, str(edit.value)))
        else:
            await self.orchestrator.execute(SetContextPolicy(actor, edit.target_id, dict(edit.value)))

    async def _recover_mirror(self) -> None:
        """Rebuild the Markdown from SQLite if a previous process died; then mark this one."""
        dead = [marker for marker in self.settings.data_dir.glob(f"{_MARKER}*") if not _alive(marker)]
        if dead:
            log.warning("the last run did not stop cleanly; rebuilding the Markdown mirror from SQLite")
            report = await rebuild(self.mirror, self.db, default_workspace=LOCAL_WORKSPACE)
            log.info("mirror rebuilt: %s", report)
            for marker in dead:
                marker.unlink(missing_ok=True)
        self._marker.write_text(f"{os.getpid()}\n", encoding="utf-8")

    async def _sync_appends(self) -> None:
        """Group commit for the appended logs: one fsync per file per second, off the loop."""
        while True:
            await asyncio.sleep(SYNC_EVERY_S)
            try:
                await asyncio.to_thread(self.mirror.sync)
            except OSError:
                log.exception("could not fsync the appended Markdown logs")

    async def purge_memory(self) -> int:
        """The scheduler's purge: forget memory idle past its TTL, audited when anything went."""
        removed = await self.memory.purge_expired()
        if removed:
            await self.audit.record("system:scheduler", "memory.purged", "memory", detail={"items": removed})
        return removed


def _alive(marker: Path) -> bool:
    """Whether the process that left ``marker`` still runs (then its files are its own business)."""
    try:
        pid = int(marker.name.removeprefix(_MARKER))
        os.kill(pid, 0)
    except ValueError:
        return False
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


def _pipeline(settings: Settings, runner: SandboxRunner) -> Renderer:
    async def render(request: RenderRequest, progress: ProgressCallback | None) -> RenderOutcome:
        return await render_pipeline(request, settings=settings, runner=runner, progress=progress)

    return render
