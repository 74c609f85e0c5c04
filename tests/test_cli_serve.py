"""`framecast serve` as a real process: health endpoints, JSON logs, graceful SIGTERM."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

from core.app import App
from core.commands import Actor, Render
from core.config import load_settings
from core.models import JobState
from core.store import jobs as job_store
from core.store.database import Database

FRAMECAST = str(Path(sys.executable).parent / "framecast")
SLOW = "from manim import *\n\nclass S(Scene):\n    def construct(self):\n        self.play(FadeIn(Dot()), run_time=8)\n"


def _start(data_dir: Path, log: Path, **env: str) -> subprocess.Popen[bytes]:
    with open(log, "wb") as out:
        return subprocess.Popen(
            [FRAMECAST, "serve", "--health-port", "0"],
            env={**os.environ, "FRAMECAST_DATA_DIR": str(data_dir), **env},
            stdout=subprocess.DEVNULL, stderr=out,
        )


async def _health_port(log: Path, proc: subprocess.Popen[bytes]) -> int:
    for _ in range(300):
        for line in log.read_text().splitlines():
            entry = json.loads(line)  # every line is JSON
            if "health_port" in entry:
                return int(entry["health_port"])
        assert proc.poll() is None, log.read_text()
        await asyncio.sleep(0.1)
    raise AssertionError("serve never logged its health port")


def _get(port: int, path: str) -> tuple[int, dict[str, object]]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


async def test_health_json_logs_and_graceful_stop(settings, data_dir, tmp_path) -> None:
    log = tmp_path / "serve.log"
    proc = _start(data_dir, log)
    try:
        port = await _health_port(log, proc)
        assert await asyncio.to_thread(_get, port, "/healthz") == (200, {"ok": True})
        status, ready = await asyncio.to_thread(_get, port, "/readyz")
        assert status == 200 and ready["checks"] == {"db": True, "runner": True, "queue": True}
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    messages = [json.loads(line)["msg"] for line in log.read_text().splitlines()]
    assert "framecast stopped" in messages


async def test_sigterm_requeues_a_running_render_after_the_grace_period(settings, data_dir, tmp_path) -> None:
    app = await App.create(load_settings())
    job_id = (await app.orchestrator.execute(Render(Actor("console", "ada", "Ada", "c"), code=SLOW))).data["job_id"]
    await app.stop()
    log = tmp_path / "serve.log"
    proc = _start(data_dir, log, FRAMECAST_QUEUE__SHUTDOWN_GRACE_S="0.5")
    db = await Database.open(settings.db_path)
    try:
        for _ in range(600):
            job = await job_store.get(db, job_id)
            if job.state is JobState.RUNNING:
                break
            await asyncio.sleep(0.1)
        assert job.state is JobState.RUNNING, log.read_text()[-2000:]
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
        job = await job_store.get(db, job_id)
        assert (job.state, job.attempts) == (JobState.QUEUED, 0)  # back in line, attempt refunded
    finally:
        if proc.poll() is None:
            proc.kill()
        await db.close()
