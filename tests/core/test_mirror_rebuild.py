"""Rebuilding the Markdown from SQLite, the batched fsync of appends, and the unclean-stop check.

Projections are written without fsync; these tests show what makes that
honest: every projection comes back from SQLite, by hand (``framecast mirror
rebuild``) or by itself on the first start after a process died.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import threading
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from core.cli import cli
from core.commands import Actor, AddNote, JobDone, Render, RequestTrial
from core.mirror import Mirror

SCENE = "from manim import *\n\nclass Dot1(Scene):\n    def construct(self):\n        self.play(FadeIn(Dot()), run_time=1)\n"
ADA = Actor("telegram", "1", "Ada", "group-7", "tg-7")
BOB = Actor("console", "bob", "Bob", "console")
PROJECTIONS = ("users/*.md", "contexts/*/*.md", "jobs/*.md", "approvals/*.md", "memory/*.md", "audit/*.md")


def _projection_files(data_dir: Path) -> list[Path]:
    """The mirror's projection files (jobs/<id>/ folders are the renders' own, not projections)."""
    return sorted(path for pattern in PROJECTIONS for path in data_dir.glob(f"*/{pattern}"))


def _snapshot(data_dir: Path) -> dict[str, str]:
    return {path.relative_to(data_dir).as_posix(): path.read_text() for path in _projection_files(data_dir)}


async def _some_state(app: Any, collect: Any) -> None:
    async with app.orchestrator.subscribe(context_id=ADA.context_id) as events:
        await app.start(admin_api=False, watch=False)
        await app.orchestrator.execute(Render(ADA, code=SCENE))
        await collect(events, until=lambda e: isinstance(e, JobDone))
    await app.orchestrator.execute(RequestTrial(BOB, prompt="a blue circle"))
    await app.orchestrator.execute(AddNote(BOB, text="likes blue"))
    app.mirror.flush()  # jobs, approvals and memory are written off the event loop


def _wipe(data_dir: Path) -> None:
    for path in _projection_files(data_dir):
        path.unlink()


async def test_rebuild_restores_every_projection(make_app: Any, collect: Any, data_dir: Path) -> None:
    from core.rebuild import rebuild

    app = await make_app()
    await _some_state(app, collect)
    before = _snapshot(data_dir)
    kinds = {path.split("/")[1] for path in before}
    assert len(kinds) == len(PROJECTIONS), kinds  # the state above touches every kind
    _wipe(data_dir)
    log = data_dir / "tg-7" / "logs" / "telegram" / "group-7.md"
    kept = log.read_text()

    report = await rebuild(Mirror(data_dir), app.db)
    assert _snapshot(data_dir) == before
    assert log.read_text() == kept  # chat logs are not projections: untouched
    assert (report.jobs, report.approvals, report.memory) == (1, 1, 1)


async def test_appends_are_fsynced_in_batches(data_dir: Path) -> None:
    mirror = Mirror(data_dir)
    for n in range(3):
        mirror.append_log("tg-7", "telegram", "group-7", f"line {n}")
    mirror.append_log("tg-7", "telegram", "group-8", "other chat")
    assert mirror.sync() == 2  # one fsync per file, however many lines
    assert mirror.sync() == 0


async def test_a_start_after_a_dead_process_rebuilds(make_app: Any, collect: Any, data_dir: Path) -> None:
    first = await make_app()
    await _some_state(first, collect)
    await first.stop(grace_s=0)
    before = _snapshot(data_dir)
    assert not list(data_dir.glob(".running-*"))  # a clean stop leaves no marker

    _wipe(data_dir)  # as after a power cut: files the kernel had not written yet are gone
    gone = subprocess.Popen(["true"])  # its pid stands for the process that died
    gone.wait()
    (data_dir / f".running-{gone.pid}").write_text(f"{gone.pid}\n")
    second = await make_app()
    await second.start(admin_api=False, watch=False)
    assert _snapshot(data_dir) == before
    assert [p.name for p in data_dir.glob(".running-*")] == [f".running-{os.getpid()}"]


def test_cli_rebuild(settings: Any, stub: Any, collect: Any, data_dir: Path) -> None:
    from core.app import App

    async def fill() -> None:
        app = await App.create(settings, renderer=stub)
        try:
            await _some_state(app, collect)
        finally:
            await app.stop(grace_s=0)

    asyncio.run(fill())
    before = _snapshot(data_dir)
    _wipe(data_dir)
    result = CliRunner().invoke(cli, ["mirror", "rebuild"])
    assert result.exit_code == 0, result.output
    assert "mirror rebuilt:" in result.output and "1 jobs" in result.output
    assert _snapshot(data_dir) == before


def test_deferred_writes_keep_the_latest_content_and_order(data_dir: Path) -> None:
    from core.models import JobState, Project
    from tests.core.test_mirror import _job

    mirror = Mirror(data_dir, deferred=True)
    try:
        queued = mirror.write_job("tg-1", _job(state=JobState.QUEUED))
        mirror.write_job("tg-1", _job(state=JobState.DONE))
        project = Project("p_1", "u_ada", "tg-1", "default", 1.0, 2.0)
        memory = mirror.write_memory("tg-1", project, [])
        mirror.remove_memory("tg-1", "p_1")  # queued after the write: the file must not survive
        mirror.flush()
        assert "state: done" in queued.read_text()
        assert not memory.exists()
    finally:
        mirror.close()
    assert not [t.name for t in threading.enumerate() if t.name == "framecast-mirror"]
