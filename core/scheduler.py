"""Timed work: scheduled renders, the memory purge and pairing-code expiry.

APScheduler 3.x (``AsyncIOScheduler``) runs everything on the app's event
loop. Scheduled renders live in the ``schedules`` table, not in APScheduler's
memory: :meth:`Scheduler.start` registers every stored schedule, and a sync
job re-reads the table every ``sync_every_s`` seconds, so a schedule added
or removed by ``framecast schedule`` against the same data dir reaches a
running server without a restart. Cron expressions are classic five-field
crontab (minute hour day month weekday), evaluated in UTC.
"""

from __future__ import annotations

import asyncio
import builtins
import logging
import secrets
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from apscheduler.job import Job
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from core.audit import Audit
from core.errors import InputError, NotFound
from core.models import Schedule
from core.store import schedules as store
from core.store.database import Database

__all__ = [
    "EXPIRE_PAIRINGS_EVERY_S",
    "PURGE_MEMORY_EVERY_S",
    "Scheduler",
    "add_schedule",
    "cron_trigger",
    "remove_schedule",
]

log = logging.getLogger(__name__)

PURGE_MEMORY_EVERY_S = 600
EXPIRE_PAIRINGS_EVERY_S = 60
_JOB_PREFIX = "schedule:"


def cron_trigger(cron: str) -> BaseTrigger:
    """The trigger of a five-field crontab expression (UTC); InputError if it is not one."""
    try:
        return CronTrigger.from_crontab(cron, timezone=UTC)
    except ValueError as exc:
        raise InputError(
            f"{cron!r} is not a valid cron expression: {exc}.",
            hint="Use five fields: minute hour day-of-month month day-of-week, e.g. '0 9 * * MON'.",
        ) from exc


async def add_schedule(
    db: Database,
    cron: str,
    prompt: str,
    context_id: str,
    created_by: str,
    *,
    audit: Audit | None = None,
    clock: Callable[[], float] = time.time,
    trigger: Callable[[str], BaseTrigger] = cron_trigger,
) -> Schedule:
    """Validate and store a schedule (nothing is stored when any part is invalid)."""
    trigger(cron)
    if not prompt.strip():
        raise InputError("A scheduled render needs a prompt.")
    connector, _, chat = context_id.partition(":")
    if not connector or not chat:
        raise InputError(
            f"{context_id!r} is not a context.", hint="Name it as <connector>:<chat>, e.g. console:local."
        )
    schedule = Schedule(
        id=f"sch_{secrets.token_hex(5)}",
        cron=" ".join(cron.split()),
        prompt=prompt.strip(),
        context_id=context_id,
        created_by=created_by,
        created_at=float(clock()),
        enabled=True,
    )
    await store.insert(db, schedule)
    if audit is not None:
        await audit.record(created_by, "schedule.added", schedule.id,
                           detail={"cron": schedule.cron, "context": context_id})
    return schedule


async def remove_schedule(db: Database, schedule_id: str, *, actor: str, audit: Audit | None = None) -> None:
    if not await store.delete(db, schedule_id):
        raise NotFound(f"There is no schedule {schedule_id!r}.")
    if audit is not None:
        await audit.record(actor, "schedule.removed", schedule_id)


class Scheduler:
    """Owns the APScheduler instance of one app; start it inside the running loop."""

    def __init__(
        self,
        db: Database,
        *,
        purge_memory: Callable[[], Awaitable[int]],
        expire_pairings: Callable[[], Awaitable[int]],
        run_schedule: Callable[[Schedule], Awaitable[None]],
        clock: Callable[[], float] = time.time,
        audit: Audit | None = None,
        sync_every_s: float = 30.0,
        trigger: Callable[[str], BaseTrigger] = cron_trigger,
    ) -> None:
        self._db = db
        self._purge_memory = purge_memory
        self._expire_pairings = expire_pairings
        self._run_schedule = run_schedule
        self._clock = clock
        self._audit = audit
        self._sync_every_s = sync_every_s
        self._trigger = trigger
        self._aps = AsyncIOScheduler(timezone=UTC)
        self._in_flight: set[asyncio.Task[object]] = set()

    @property
    def running(self) -> bool:
        return bool(self._aps.running)

    async def start(self) -> None:
        """Start the housekeeping jobs and register every stored schedule."""
        self._aps.start()
        now = datetime.now(UTC)
        # The purge also runs right away: memory may have expired while we were down.
        self._aps.add_job(self._housekeeping, IntervalTrigger(seconds=PURGE_MEMORY_EVERY_S),
                          args=["memory purge", self._purge_memory], id="purge-memory",
                          next_run_time=now, coalesce=True, max_instances=1)
        self._aps.add_job(self._housekeeping, IntervalTrigger(seconds=EXPIRE_PAIRINGS_EVERY_S),
                          args=["pairing expiry", self._expire_pairings], id="expire-pairings",
                          next_run_time=now, coalesce=True, max_instances=1)
        self._aps.add_job(self._sync_job, IntervalTrigger(seconds=self._sync_every_s), id="sync-schedules",
                          next_run_time=now + timedelta(seconds=self._sync_every_s),
                          coalesce=True, max_instances=1)
        await self.sync()

    async def shutdown(self, grace_s: float = 10.0) -> None:
        """Stop firing; let jobs already running finish (cancelled after ``grace_s``)."""
        if not self._aps.running:
            return
        self._aps.pause()
        # APScheduler's own shutdown cancels running coroutine jobs, so wait first.
        if self._in_flight:
            await asyncio.wait(set(self._in_flight), timeout=grace_s)
        self._aps.shutdown(wait=False)

    @contextmanager
    def _tracked(self) -> Iterator[None]:
        """Mark the current task as a running job, so shutdown can wait for it.

        Only for code APScheduler runs: each of its jobs has a task of its own.
        """
        task = asyncio.current_task()
        if task is not None:
            self._in_flight.add(task)
        try:
            yield
        finally:
            self._in_flight.discard(task)

    async def add(self, cron: str, prompt: str, context_id: str, created_by: str) -> Schedule:
        schedule = await add_schedule(self._db, cron, prompt, context_id, created_by,
                                      audit=self._audit, clock=self._clock, trigger=self._trigger)
        if self.running:
            self._register(schedule)
        return schedule

    async def remove(self, id: str, *, actor: str = "system:scheduler") -> None:
        await remove_schedule(self._db, id, actor=actor, audit=self._audit)
        if self._aps.get_job(_JOB_PREFIX + id) is not None:
            self._aps.remove_job(_JOB_PREFIX + id)

    def jobs(self) -> builtins.list[Job]:
        """Everything registered with APScheduler: housekeeping and ``schedule:<id>`` jobs."""
        return list(self._aps.get_jobs())

    def next_runs(self) -> dict[str, datetime | None]:
        """Schedule id -> next fire time, for every registered scheduled render."""
        return {
            job.id.removeprefix(_JOB_PREFIX): job.next_run_time
            for job in self._aps.get_jobs()
            if job.id.startswith(_JOB_PREFIX)
        }

    async def sync(self) -> None:
        """Make the registered jobs match the enabled rows of the schedules table."""
        wanted = {s.id: s for s in await store.all_schedules(self._db) if s.enabled}
        registered = self.next_runs()
        for schedule_id in registered.keys() - wanted.keys():
            self._aps.remove_job(_JOB_PREFIX + schedule_id)
        for schedule_id in wanted.keys() - registered.keys():
            self._register(wanted[schedule_id])

    async def _sync_job(self) -> None:
        with self._tracked():
            await self.sync()

    def _register(self, schedule: Schedule) -> None:
        try:
            trigger = self._trigger(schedule.cron)
        except InputError:
            log.error("schedule %s has an invalid cron %r; not registered", schedule.id, schedule.cron)
            return
        self._aps.add_job(self._fire, trigger, args=[schedule.id], id=_JOB_PREFIX + schedule.id,
                          replace_existing=True, coalesce=True, max_instances=1, misfire_grace_time=300)

    async def _fire(self, schedule_id: str) -> None:
        with self._tracked():
            # Read the row at fire time: it may have been disabled or removed since registering.
            schedule = await store.get(self._db, schedule_id)
            if schedule is None or not schedule.enabled:
                return
            try:
                await self._run_schedule(schedule)
            except Exception:
                log.exception("scheduled render %s failed to start", schedule_id)

    async def _housekeeping(self, name: str, task: Callable[[], Awaitable[int]]) -> None:
        with self._tracked():
            try:
                count = await task()
            except Exception:
                log.exception("%s failed", name)
                return
            if count:
                log.info("%s: %d removed", name, count)

    async def list(self) -> builtins.list[Schedule]:
        return await store.all_schedules(self._db)
