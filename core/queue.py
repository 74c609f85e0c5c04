"""The fair, persistent job queue.

The ``jobs`` table is the queue's memory; this module keeps a fast
in-memory view of it and runs jobs with bounded concurrency:

- *fair*: one FIFO per user, served round robin, so a user with five jobs
  cannot starve a user with one;
- *persistent*: jobs are written before they are announced; at start,
  ``queued`` jobs resume and ``running`` ones (the process died under them)
  are retried once or failed with :data:`RESTART_MESSAGE`;
- *cancellable*: a queued job is removed, a running one has its task
  cancelled (the sandbox runner kills the process group on cancellation);
- *graceful*: :meth:`JobQueue.stop` stops dispatching, lets running jobs
  finish within a grace period, then requeues the rest without counting
  the attempt.

What a job *does* is not the queue's business: it calls :class:`JobHooks`
(the orchestrator) to run a job, to announce positions and to report
cancellations and restart failures.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from typing import Protocol

from core.models import Job, JobState
from core.store import jobs as store
from core.store.database import Database

__all__ = [
    "ANNOUNCE_EVERY",
    "ANNOUNCE_EVERY_MOVE_UP_TO",
    "MAX_ATTEMPTS",
    "RESTART_MESSAGE",
    "JobHooks",
    "JobQueue",
]

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 2  # the first run and one retry after a crash
ANNOUNCE_EVERY_MOVE_UP_TO = 10  # positions announced on every move
ANNOUNCE_EVERY = 10  # further back, only positions that are multiples of this
RESTART_MESSAGE = "The service restarted while your render was running; please try again."


class JobHooks(Protocol):
    async def run_job(self, job: Job) -> None:
        """Do the work and record the final state (done or failed)."""

    async def job_cancelled(self, job: Job, by: str) -> None: ...

    async def job_interrupted(self, job: Job) -> None:
        """A job was running when the service died, for the last allowed time."""

    def job_position(self, job: Job, position: int) -> None: ...


class JobQueue:
    def __init__(
        self,
        db: Database,
        hooks: JobHooks,
        *,
        concurrency: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._db = db
        self._hooks = hooks
        self._concurrency = concurrency
        self._clock = clock
        self._waiting: OrderedDict[str, deque[Job]] = OrderedDict()  # user -> FIFO, in serving order
        self._running: dict[str, asyncio.Task[None]] = {}
        self._cancel_reason: dict[str, str] = {}  # job id -> who cancelled, or "" for a shutdown
        self._positions: dict[str, int] = {}
        self._wake = asyncio.Event()
        self._dispatcher: asyncio.Task[None] | None = None

    # ------------------------------------------------------------------ lifecycle

    @property
    def running(self) -> bool:
        return self._dispatcher is not None and not self._dispatcher.done()

    async def start(self) -> None:
        """Recover from the table (see module docstring) and start dispatching."""
        for job in await store.with_state(self._db, JobState.RUNNING):
            if job.attempts < MAX_ATTEMPTS:
                log.warning("job %s was running at shutdown; retrying it", job.id)
                requeued = await store.requeue(self._db, job.id, refund_attempt=False)
                if requeued is not None:
                    self._add(requeued, front=True)
            else:
                log.warning("job %s was running at shutdown for the last allowed time; failing it", job.id)
                failed = await store.finish(
                    self._db, job.id, JobState.FAILED, self._clock(),
                    error_code="E_RESTART", error_message=RESTART_MESSAGE,
                )
                if failed is not None:
                    await self._hooks.job_interrupted(failed)
        for job in await store.with_state(self._db, JobState.QUEUED):
            if not self._contains(job.id):
                self._add(job)
        self._dispatcher = asyncio.create_task(self._dispatch(), name="framecast-queue")
        self._wake.set()

    async def stop(self, grace_s: float) -> None:
        """Stop dispatching; wait up to ``grace_s`` for running jobs, then requeue them."""
        if self._dispatcher is not None:
            self._dispatcher.cancel()
            await asyncio.gather(self._dispatcher, return_exceptions=True)
            self._dispatcher = None
        tasks = list(self._running.values())
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=grace_s)
            for job_id, task in list(self._running.items()):
                if task in pending:
                    self._cancel_reason[job_id] = ""
                    task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)

    # ------------------------------------------------------------------ queueing

    async def enqueue(self, job: Job, *, max_queued: int | None = None) -> int:
        """Persist a new job and return its position (1 = next to run).

        0 when ``max_queued`` is given and the user already has that many queued.
        """
        if not await store.insert(self._db, job, max_queued=max_queued):
            return 0
        self._add(job)
        self._wake.set()
        position = self.position(job.id)
        self._positions[job.id] = position
        return position

    def _add(self, job: Job, *, front: bool = False) -> None:
        fifo = self._waiting.get(job.user_id)
        if fifo is None:
            fifo = self._waiting[job.user_id] = deque()
            if front:
                self._waiting.move_to_end(job.user_id, last=False)
        if front:
            fifo.appendleft(job)
        else:
            fifo.append(job)

    def _contains(self, job_id: str) -> bool:
        return any(job.id == job_id for fifo in self._waiting.values() for job in fifo)

    def order(self) -> list[Job]:
        """Queued jobs in the order they will run: round robin across users."""
        fifos = [list(fifo) for fifo in self._waiting.values()]
        result: list[Job] = []
        depth = max((len(f) for f in fifos), default=0)
        for i in range(depth):
            result.extend(fifo[i] for fifo in fifos if i < len(fifo))
        return result

    def position(self, job_id: str) -> int:
        for index, job in enumerate(self.order(), start=1):
            if job.id == job_id:
                return index
        return 0

    def _announce_positions(self) -> None:
        """Tell jobs that moved where they are now: every move near the front, every tenth behind.

        Each dispatch moves every waiting job up by one, so announcing them all
        would cost O(queue length) events per job, O(n²) in all; nobody at
        position 150 needs 140 messages on the way.
        """
        current: dict[str, int] = {}
        for position, job in enumerate(self.order(), start=1):
            current[job.id] = position
            moved = self._positions.get(job.id) != position
            if moved and (position <= ANNOUNCE_EVERY_MOVE_UP_TO or position % ANNOUNCE_EVERY == 0):
                self._hooks.job_position(job, position)
        self._positions = current

    def _pop_next(self) -> Job | None:
        if not self._waiting:
            return None
        user_id, fifo = next(iter(self._waiting.items()))
        job = fifo.popleft()
        if fifo:
            self._waiting.move_to_end(user_id)
        else:
            del self._waiting[user_id]
        return job

    # ------------------------------------------------------------------ running

    async def _dispatch(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            moved = False
            while len(self._running) < self._concurrency:
                job = self._pop_next()
                if job is None:
                    break
                self._running[job.id] = asyncio.create_task(self._run(job), name=f"job-{job.id}")
                moved = True
            if moved:
                self._announce_positions()

    async def _run(self, queued: Job) -> None:
        job: Job | None = None
        try:
            job = await store.mark_running(self._db, queued.id, self._clock())
            if job is not None:
                await self._hooks.run_job(job)
        except asyncio.CancelledError:
            reason = self._cancel_reason.pop(queued.id, None)
            if reason is None:  # not ours: the loop is going down
                raise
            await self._after_cancel(queued, job, reason)
        except Exception:
            # run_job records failures itself; anything escaping is a bug, not a reason to stall.
            log.exception("job %s crashed in the orchestrator", queued.id)
            await store.finish(
                self._db, queued.id, JobState.FAILED, self._clock(),
                error_code="E_INTERNAL", error_message="Something went wrong inside framecast.",
            )
        finally:
            self._running.pop(queued.id, None)
            self._wake.set()

    async def _after_cancel(self, queued: Job, job: Job | None, reason: str) -> None:
        if reason == "":  # graceful shutdown: put it back for the next start, attempt refunded
            if job is not None:
                await store.requeue(self._db, queued.id, refund_attempt=True)
            return
        cancelled = await store.finish(self._db, queued.id, JobState.CANCELLED, self._clock())
        if cancelled is not None:
            await self._hooks.job_cancelled(cancelled, reason)

    async def cancel(self, job_id: str, by: str) -> bool:
        """Cancel a queued or running job; False when it is neither."""
        for user_id, fifo in list(self._waiting.items()):
            for job in fifo:
                if job.id == job_id:
                    fifo.remove(job)
                    if not fifo:
                        del self._waiting[user_id]
                    cancelled = await store.finish(self._db, job_id, JobState.CANCELLED, self._clock())
                    if cancelled is not None:
                        await self._hooks.job_cancelled(cancelled, by)
                    self._announce_positions()
                    self._wake.set()
                    return True
        task = self._running.get(job_id)
        if task is not None:
            self._cancel_reason[job_id] = by
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            return True
        # Not started yet (queue not running): the table is the truth.
        stored = await store.get(self._db, job_id)
        if stored is not None and stored.state is JobState.QUEUED:
            cancelled = await store.finish(self._db, job_id, JobState.CANCELLED, self._clock())
            if cancelled is not None:
                await self._hooks.job_cancelled(cancelled, by)
            return True
        return False
