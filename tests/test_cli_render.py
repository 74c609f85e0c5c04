"""`framecast render` through the real console script: exit codes, JSON and messages."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

FRAMECAST = str(Path(sys.executable).with_name("framecast"))
SCENE = (
    "from manim import *\n\nclass Hello(Scene):\n    def construct(self):\n"
    "        self.play(Create(Circle()), run_time=1)\n"
)
KEYS = {"ok", "code", "message", "hint", "video", "record", "duration_s", "width", "height",
        "fps", "watermarked", "timings"}


def cli(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FRAMECAST_")}
    env["FRAMECAST_DATA_DIR"] = str(data_dir)
    return subprocess.run([FRAMECAST, "render", *args], capture_output=True, text=True,
                          env=env, timeout=120, cwd=data_dir)


def as_json(proc: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 1, proc.stdout + proc.stderr
    result: dict[str, Any] = json.loads(lines[0])
    assert KEYS <= set(result)
    return result


@pytest.fixture
def scene_file(tmp_path: Path) -> Path:
    path = tmp_path / "hello.py"
    path.write_text(SCENE)
    return path


def test_render_code_json(data_dir: Path, scene_file: Path) -> None:
    proc = cli(data_dir, "--code", str(scene_file), "--json")
    assert proc.returncode == 0, proc.stderr
    result = as_json(proc)
    assert result["ok"] is True and result["code"] == "OK"
    assert (result["width"], result["height"], result["fps"]) == (854, 480, 24)
    assert result["duration_s"] == 1.0 and result["watermarked"] is False
    assert Path(result["video"]).is_file() and Path(result["record"]).is_file()
    assert set(result["timings"]) == {"preflight", "execute", "postflight"}


def test_render_prompt_human_output_into_out_dir(data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "job"
    proc = cli(data_dir, "a red square, in 1 second", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert f"video:  {out / 'video.mp4'}" in proc.stdout
    assert f"record: {out / 'job.md'}" in proc.stdout
    assert "Rendered 1 s at 854x480 @ 24 fps (free, no watermark)" in proc.stdout
    assert "execute" in proc.stderr  # the progress display
    assert "a red square" in (out / "job.md").read_text()


def test_trial_announces_the_watermark(data_dir: Path, scene_file: Path) -> None:
    proc = cli(data_dir, "--code", str(scene_file), "--trial")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[0] == "Your 30s trial will include a watermark."
    assert "1920x1080 @ 24 fps (trial, with the trial watermark)" in proc.stdout


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (("--duration", "9"), "E_DURATION", "Free previews limited to 8s at 480p/24fps."),
        (("--duration", "31", "--tier", "premium"), "E_DURATION", "Premium previews limited to 30s at 1080p/24fps."),
        (("--duration", "1e9"), "E_DURATION", "Free previews limited to 8s at 480p/24fps."),
        (("--duration", "-3"), "E_INPUT", "A duration must be a positive number of seconds, not -3."),
        (("--duration", "0"), "E_INPUT", "A duration must be a positive number of seconds, not 0."),
        (("--duration", "nan"), "E_INPUT", "A duration must be a positive number of seconds, not nan."),
    ],
)
def test_bad_durations(data_dir: Path, scene_file: Path, args: tuple[str, ...], code: str, message: str) -> None:
    proc = cli(data_dir, "--code", str(scene_file), "--json", *args)
    assert proc.returncode == 1
    result = as_json(proc)
    assert (result["ok"], result["code"], result["message"]) == (False, code, message)
    assert not list(data_dir.rglob("video.mp4"))


@pytest.mark.parametrize(
    ("content", "code", "message"),
    [
        (b"from manim import *\nimport os\n", "E_UNSAFE_CODE", "line 2: import of 'os' is not allowed"),
        (b"from manim import *\n# caf\xe9\n", "E_INPUT", "line 2: the code is not valid UTF-8 (byte 0xe9)."),
        (b"from manim import *\nclass A(Scene)\n    pass\n", "E_INPUT", "line 2: syntax error: expected ':'."),
        (b"from manim import *\nclass A(Scene): pass\nclass B(Scene): pass\n", "E_INPUT",
         "The code has 2 scenes (A, B); exactly one is rendered."),
        (b"x = 1\n", "E_INPUT", "The code has no Scene subclass to render."),
        (b"", "E_INPUT", "The code is empty."),
    ],
)
def test_bad_code_files(data_dir: Path, tmp_path: Path, content: bytes, code: str, message: str) -> None:
    path = tmp_path / "scene.py"
    path.write_bytes(content)
    proc = cli(data_dir, "--code", str(path), "--json")
    assert proc.returncode == 1
    result = as_json(proc)
    assert (result["code"], result["message"]) == (code, message)
    assert Path(result["record"]).is_file()  # refusals are recorded too


def test_bad_prompts_and_files(data_dir: Path, tmp_path: Path) -> None:
    empty = as_json(cli(data_dir, "   ", "--json"))
    assert (empty["code"], empty["message"]) == ("E_INPUT", "The prompt is empty.")
    huge = as_json(cli(data_dir, "circle " * 1000, "--json"))
    assert huge["code"] == "E_INPUT" and "the limit is 2000" in huge["message"]
    big = tmp_path / "big.py"
    big.write_text(SCENE + "#" * 200_000)
    too_big = as_json(cli(data_dir, "--code", str(big), "--json"))
    assert too_big["message"] == f"The code is {big.stat().st_size} bytes; the limit is 100000 bytes."
    missing = cli(data_dir, "--code", str(tmp_path / "nope.py"))
    assert missing.returncode == 1
    assert f"E_INPUT: No such file: {tmp_path / 'nope.py'}." in missing.stderr


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("a circle", "--code", "x.py"), "not both"),
        ((), "Give a PROMPT or --code FILE."),
        (("a circle", "--trial", "--tier", "premium"), "do not combine it with --tier"),
        (("a circle", "--duration", "abc"), "'abc' is not a valid float"),
        (("a circle", "--tier", "gold"), "'gold' is not one of"),
    ],
)
def test_usage_errors_exit_2(data_dir: Path, args: tuple[str, ...], needle: str) -> None:
    proc = cli(data_dir, *args)
    assert proc.returncode == 2
    assert needle in proc.stderr
