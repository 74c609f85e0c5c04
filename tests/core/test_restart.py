"""Restart: `framecast serve` killed with SIGKILL mid-render loses nothing.

Jobs are queued into a data dir, a real `framecast serve` process starts
rendering them (one at a time, real sandbox), and is killed while the slow
job runs. The next start retries that job once; killed again during the
retry, the start after that fails it with the restart message, while every
queued job completes.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

from core.app import App
from core.commands import Actor, Render
from core.config import load_settings
from core.models import JobState
from core.queue import RESTART_MESSAGE
from core.store import jobs as job_store
from core.store.database import Database

ADA = Actor("telegram", "4001", "Ada", "chat-4")
BOB = Actor("telegram", "4002", "Bob", "chat-4")
SCENE = "from manim import *\n\nclass S(Scene):\n    def construct(self):\n        self.play(FadeIn(Dot()), run_time={t})\n"


def _serve(data_dir: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "FRAMECAST_DATA_DIR": str(data_dir),
        "FRAMECAST_QUEUE__CONCURRENCY": "1",
        "FRAMECAST_ADMIN__HEALTH_PORT": "0",
    }
    framecast = Path(sys.executable).parent / "framecast"
    with open(data_dir.parent / "serve.log", "ab") as log:  # JSON lines, for the failure report
        return subprocess.Popen([str(framecast), "serve"], env=env, stdout=subprocess.DEVNULL, stderr=log)


async def _wait_for(db: Database, job_id: str, check, timeout: float = 120):
    for _ in range(int(timeout * 10)):
        job = await job_store.get(db, job_id)
        if check(job):
            return job
        await asyncio.sleep(0.1)
    log = (db.path.parent.parent / "serve.log").read_text()[-3000:]  # data_dir/../serve.log
    raise AssertionError(f"job {job_id} never reached the expected state: {job}\n{log}")


def _kill(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)


async def test_nothing_is_lost_across_kills(settings, data_dir, monkeypatch) -> None:
    monkeypatch.setenv("FRAMECAST_QUEUE__PER_USER_QUEUED", "5")
    settings = load_settings()  # the data dir from the settings fixture's environment
    assert settings.data_dir == data_dir
    app = await App.create(settings)  # queue only: not started, nothing runs here
    slow = (await app.orchestrator.execute(Render(ADA, code=SCENE.format(t=8)))).data["job_id"]
    quick = [(await app.orchestrator.execute(Render(actor, code=SCENE.format(t=1)))).data["job_id"]
             for actor in (BOB, ADA)]
    await app.stop()

    db = await Database.open(settings.db_path)
    try:
        first = _serve(data_dir)
        try:
            await _wait_for(db, slow, lambda j: j.state is JobState.RUNNING)
        finally:
            _kill(first)
        second = _serve(data_dir)
        try:
            retried = await _wait_for(db, slow, lambda j: j.state is JobState.RUNNING and j.attempts == 2)
            assert retried.attempts == 2
        finally:
            _kill(second)
        third = _serve(data_dir)
        try:
            for job_id in quick:
                await _wait_for(db, job_id, lambda j: j.state in (JobState.DONE, JobState.FAILED))
            third.send_signal(signal.SIGTERM)
            assert third.wait(timeout=60) == 0
        finally:
            if third.poll() is None:
                _kill(third)
        failed = await job_store.get(db, slow)
        assert (failed.state, failed.error_message) == (JobState.FAILED, RESTART_MESSAGE)
        for job_id in quick:
            job = await job_store.get(db, job_id)
            assert job.state is JobState.DONE, job
            assert Path(job.result["video"]).is_file()
    finally:
        await db.close()
    log = (data_dir / "local" / "logs" / "telegram" / "chat-4.md").read_text()
    assert RESTART_MESSAGE in log  # the user's chat gets the notice
