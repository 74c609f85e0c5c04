"""The console connector through its real entry point, with piped stdin (not a TTY)."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from pathlib import Path

from bot.console import describe, parse
from core.commands import Actor, ClearMemory, EditCode, JobQueued, Render, SetTier
from core.errors import InputError

FRAMECAST = str(Path(sys.executable).parent / "framecast")
ME = Actor("console", "ada", "ada", "console")


def _env(data_dir: Path) -> dict[str, str]:
    return {**os.environ, "FRAMECAST_DATA_DIR": str(data_dir)}


def test_a_piped_render_prints_the_video_and_record_paths(settings, data_dir) -> None:
    script = "/render a blue circle in 1 second\n/code\n"
    done = subprocess.run(
        [FRAMECAST, "chat", "--user", "ada"], input=script, capture_output=True, text=True,
        env=_env(data_dir), timeout=240,
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert re.search(r"queued, position 1", out)
    assert "class ComposedScene(Scene)" in out  # /code showed the session's code
    video = Path(re.search(r"video:\s+(\S+)", out).group(1))
    record = Path(re.search(r"record:\s+(\S+)", out).group(1))
    assert video.is_file() and video.stat().st_size > 0 and record.is_file()
    assert video.is_relative_to(data_dir)


async def test_trial_request_and_approval_as_the_local_admin(settings, data_dir) -> None:
    proc = await asyncio.create_subprocess_exec(
        FRAMECAST, "chat", "--user", "ada", stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, env=_env(data_dir),
    )
    assert proc.stdin is not None and proc.stdout is not None

    async def until(pattern: str) -> re.Match[str]:
        while True:
            line = (await asyncio.wait_for(proc.stdout.readline(), 240)).decode()
            assert line, "the console ended early"
            if match := re.search(pattern, line):
                return match

    async def send(line: str) -> None:
        proc.stdin.write(line.encode() + b"\n")
        await proc.stdin.drain()

    await send("/trial a green square in 1 second")
    approval = (await until(r"trial request (a-\w+) is waiting"))[1]
    await send("/approve " + approval)
    await until("not allowed")  # ada is a member
    await send("/as admin")
    await until("You are now Local admin")
    await send("/approve " + approval)
    await until("Your 30s trial will include a watermark.")
    marked = await until(r"done \(.*watermarked\)")
    video = Path((await until(r"video:\s+(\S+)"))[1])
    proc.stdin.close()
    assert await asyncio.wait_for(proc.wait(), 60) == 0
    assert marked and video.is_file()


def test_parse_and_describe_are_thin() -> None:
    assert parse("/render a red dot", ME) == Render(ME, prompt="a red dot")
    assert parse("/memory clear", ME) == ClearMemory(ME)
    assert parse("/tier u-1 premium", ME) == SetTier(ME, "u-1", "premium")
    try:
        parse("/frobnicate", ME)
    except InputError as exc:
        assert "/help" in (exc.hint or "")
    else:
        raise AssertionError("unknown commands are refused")
    assert describe(JobQueued(position=3, job_id="j-1")) == "[job j-1] queued, position 3"


def test_edit_from_a_code_file(tmp_path) -> None:
    scene = tmp_path / "scene.py"
    scene.write_text("print('hi')\n")
    assert parse(f"/edit --code-file {scene}", ME) == EditCode(ME, "print('hi')\n")
