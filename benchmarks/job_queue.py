"""Queue and orchestrator cost: 200 tiny jobs from 20 users through the real queue.

Everything is real (App, SQLite in WAL mode, audit chain, Markdown mirror,
events) except the renderer, replaced at its seam by a stub that sleeps
``--render-ms`` and returns a finished outcome. Users submit in bursts, one
user's 10 jobs after another's (the worst case for a FIFO queue).

Printed:
- orchestrator overhead per job, median ms (target < 5): the Render command
  path (actor, RBAC, preflight, audit, enqueue, mirror) plus the run path
  around the renderer (dispatch, state changes, audit, mirror, events);
- wait spread: the worst user's mean wait over the mean wait of everyone
  (the fair share); round robin keeps it near 1 (target within 2x).

    python benchmarks/job_queue.py [--jobs 200] [--users 20] [--render-ms 20] [--concurrency 4]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from core.app import App
from core.commands import Actor, JobDone, JobStarted, Render
from core.config import load_settings
from core.render.pipeline import RenderOutcome, RenderRequest
from core.sandbox.job import ProgressCallback

SCENE = "from manim import *\n\nclass S(Scene):\n    def construct(self):\n        self.play(FadeIn(Dot()), run_time=1)\n"


async def run(jobs: int, users: int, render_s: float, concurrency: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        settings = load_settings(
            data_dir=data_dir,
            queue={"concurrency": concurrency, "per_user_queued": jobs, "user_rate_per_min": jobs * 10,
                   "chat_rate_per_min": jobs * 10},
        )
        video = data_dir / "stub.mp4"
        video.write_bytes(b"\0")
        render_time: dict[str, float] = {}

        async def stub(request: RenderRequest, progress: ProgressCallback | None) -> RenderOutcome:
            started = time.perf_counter()
            await asyncio.sleep(render_s)
            render_time[request.job_id] = time.perf_counter() - started
            return RenderOutcome(request.job_id, data_dir, video, request.tier, video=video,
                                 duration_s=1.0)

        app = await App.create(settings, renderer=stub)
        actors = [Actor("bench", f"user{i}", f"User {i}", f"chat{i}") for i in range(users)]
        owner: dict[str, int] = {}
        command_s: dict[str, float] = {}
        started: dict[str, float] = {}
        finished: dict[str, float] = {}
        # Phase 1: every user submits (the queue holds the jobs; nothing runs yet).
        for index in range(jobs):
            user = index * users // jobs  # bursts: user 0's jobs, then user 1's, ...
            t0 = time.perf_counter()
            reply = await app.orchestrator.execute(Render(actors[user], code=SCENE))
            job_id = reply.data["job_id"]  # type: ignore[index]
            command_s[job_id], owner[job_id] = time.perf_counter() - t0, user
        # Phase 2: the queue runs them all.
        async with app.orchestrator.subscribe(staff=True) as events:
            opened = time.perf_counter()
            await app.start(admin_api=False, watch=False)
            async for event in events:
                if isinstance(event, JobStarted):
                    started[str(event.job_id)] = time.perf_counter()
                elif isinstance(event, JobDone):
                    finished[str(event.job_id)] = time.perf_counter()
                    if len(finished) == jobs:
                        break
            total = time.perf_counter() - opened
        await app.stop()

    command = [command_s[j] for j in owner]
    run_path = [(finished[j] - started[j]) - render_time[j] for j in owner]
    waits: dict[int, list[float]] = defaultdict(list)
    for job_id, user in owner.items():
        waits[user].append(started[job_id] - opened)
    fair = statistics.mean(w for ws in waits.values() for w in ws)
    worst = max(statistics.mean(ws) for ws in waits.values())
    overhead = [c + r for c, r in zip(command, run_path)]
    print(f"jobs={jobs} users={users} render={render_s * 1000:.0f}ms concurrency={concurrency}")
    print(f"orchestrator overhead per job: median {statistics.median(overhead) * 1000:.2f} ms "
          f"(command {statistics.median(command) * 1000:.2f} + run {statistics.median(run_path) * 1000:.2f}; "
          f"target < 5 ms)")
    print(f"throughput: {jobs / total:.1f} jobs/s ({total:.2f}s for {jobs} jobs)")
    print(f"wait spread: worst user's mean wait / fair share = {worst / fair:.2f}x "
          f"(fair share {fair:.2f}s; target <= 2x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--render-ms", type=float, default=20)
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()
    asyncio.run(run(args.jobs, args.users, args.render_ms / 1000, args.concurrency))


if __name__ == "__main__":
    main()
