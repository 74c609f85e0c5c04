"""The contract's acceptance tests, through the real pipeline: bubblewrap, manim, ffmpeg."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from core.config import Settings, load_settings
from core.errors import (
    DurationError,
    InputError,
    MemoryError_,
    OutputError,
    RenderError,
    TimeoutError_,
    UnsafeCodeError,
)
from core.render import watermark
from core.render.pipeline import RenderOutcome, RenderRequest, render
from core.render.postflight import probe
from core.render.record import parse_front_matter
from core.sandbox import make_runner


def scene(body: str, name: str = "Demo") -> str:
    lines = "".join(f"        {line}\n" for line in body.splitlines())
    return f"from manim import *\n\nclass {name}(Scene):\n    def construct(self):\n{lines}"


ONE_AND_A_HALF = scene("self.play(Create(Circle(color=BLUE)), run_time=1)\nself.wait(0.5)")


async def run(settings: Settings, code: str, tier: str = "free", **kw: Any) -> tuple[RenderOutcome, list[dict[str, Any]]]:
    events: list[dict[str, Any]] = []
    request = RenderRequest(code=code, tier=settings.tiers.get(tier), **kw)
    outcome = await render(request, settings=settings, runner=make_runner(settings), progress=events.append)
    return outcome, events


def logo_box(video: Path, at: float = 0.5) -> np.ndarray:
    """The watermark's box of one frame, decoded by ffmpeg, as floats."""
    width, height = (int(v) for v in subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "stream=width,height",
         "-of", "csv=p=0", str(video)], check=True, capture_output=True, text=True).stdout.split(","))
    box = watermark.placement(width, height)
    raw = subprocess.run(
        ["ffmpeg", "-v", "error", "-ss", str(at), "-i", str(video), "-frames:v", "1",
         "-vf", f"crop={box.w}:{box.h}:{box.x}:{box.y}", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
        check=True, capture_output=True).stdout
    return np.frombuffer(raw, np.uint8).reshape(box.h, box.w, 3).astype(float)


async def test_free_render_is_verified_and_stored(settings: Settings) -> None:
    outcome, events = await run(settings, ONE_AND_A_HALF, expected_duration_s=1.5)
    assert outcome.ok, outcome.error
    job = outcome.job_dir
    assert job == settings.data_dir / "local" / "jobs" / outcome.job_id
    assert sorted(p.name for p in job.iterdir()) == ["job.md", "scene.py", "video.mp4"]
    info = await probe(job / "video.mp4")
    assert (info.width, info.height, info.fps) == (854, 480, 24.0)
    assert abs(info.duration_s - 1.5) <= 0.25 and outcome.duration_s == pytest.approx(1.5)
    assert (job / "scene.py").read_text() == ONE_AND_A_HALF
    assert not outcome.watermarked
    # No watermark: the logo's box is the scene's black background.
    assert logo_box(job / "video.mp4").mean() < 3
    front = parse_front_matter((job / "job.md").read_text())
    assert front["result"] == "OK" and front["watermarked"] is False and front["scene"] == "Demo"
    assert set(outcome.timings) == {"preflight", "execute", "postflight"}
    renders = [e for e in events if e.get("stage") == "render"]
    starts = {e["animation"]: e for e in reversed(renders)}  # first event of each animation
    assert sorted(starts) == [1, 2]
    assert starts[2]["scene_time"] == pytest.approx(1.0) and starts[2]["percent"] == 66
    assert [e["scene_time"] for e in renders] == sorted(e["scene_time"] for e in renders)
    assert events[-1] == {"type": "stage", "stage": "done", "percent": 100}


async def test_trial_render_carries_the_watermark(settings: Settings) -> None:
    code = scene("self.play(FadeIn(Square(color=RED)), run_time=1)")
    outcome, _ = await run(settings, code, tier="trial")
    assert outcome.ok, outcome.error
    assert outcome.watermarked
    video = outcome.job_dir / "video.mp4"
    info = await probe(video)
    assert (info.width, info.height) == (1920, 1080)
    box = logo_box(video)
    # White wordmark pixels and the dark badge, blended at 88% over black.
    assert box.max() > 200
    assert 10 < box[box.shape[0] // 2, 4].mean() < 60
    assert parse_front_matter((outcome.job_dir / "job.md").read_text())["watermarked"] is True


async def test_over_duration_request_is_refused_before_any_work(settings: Settings) -> None:
    outcome, events = await run(settings, ONE_AND_A_HALF, duration_s=9)
    assert isinstance(outcome.error, DurationError)
    assert outcome.error.message == "Free previews limited to 8s at 480p/24fps."
    assert "execute" not in outcome.timings
    assert not (outcome.job_dir / "video.mp4").exists()
    assert [e["stage"] for e in events] == ["preflight"]
    assert parse_front_matter(outcome.record.read_text())["result"] == "E_DURATION"


@pytest.mark.parametrize(
    "play",
    ["self.play(Create(Circle()), run_time=1)",
     # a scene that swallows every exception is stopped all the same
     "try:\n    self.play(Create(Circle()), run_time=1)\nexcept BaseException:\n    pass"],
)
async def test_scene_running_past_the_cap_is_stopped(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch, play: str
) -> None:
    monkeypatch.setenv("FRAMECAST_DATA_DIR", str(data_dir))
    monkeypatch.setenv("FRAMECAST_TIERS__FREE__MAX_DURATION_S", "2")
    settings = load_settings()
    code = scene("\n".join([play] * 4))
    outcome, events = await run(settings, code)
    assert isinstance(outcome.error, DurationError)
    assert outcome.error.message == "Free previews limited to 2s at 480p/24fps."
    # Stopped before the third animation started: nothing past the cap was rendered.
    assert max(e["animation"] for e in events if e.get("stage") == "render") == 2
    assert not (outcome.job_dir / "video.mp4").exists()


async def test_endless_loop_is_killed_at_the_wall_time(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FRAMECAST_DATA_DIR", str(data_dir))
    monkeypatch.setenv("FRAMECAST_TIERS__FREE__WALL_TIME_S", "5")
    settings = load_settings()
    outcome, _ = await run(settings, scene("while True:\n    pass"))
    assert isinstance(outcome.error, TimeoutError_)
    assert outcome.error.message == "Render exceeded time limit."
    assert outcome.sandbox is not None and outcome.sandbox.wall_s < 15
    assert not (outcome.job_dir / "video.mp4").exists()


async def test_memory_hog_is_stopped(settings: Settings) -> None:
    code = "import numpy as np\n" + scene("big = np.ones(500_000_000)\nself.wait(0.5)")
    outcome, _ = await run(settings, code)
    assert isinstance(outcome.error, MemoryError_)
    assert outcome.error.message == "Render exceeded the memory limit."


@pytest.mark.parametrize(
    ("code", "line"),
    [
        ("from manim import *\nimport os\n", 2),
        ("from manim import *\nimport subprocess\n", 2),
        ("import socket\n", 1),
        (scene("__import__('os').system('id')"), 5),
        (scene("eval('1')"), 5),
        (scene("open('/etc/shadow')"), 5),
        (scene("x = ().__class__.__base__.__subclasses__()"), 5),
    ],
)
async def test_unsafe_code_is_refused_with_its_line(settings: Settings, code: str, line: int) -> None:
    outcome, _ = await run(settings, code)
    assert isinstance(outcome.error, UnsafeCodeError)
    assert outcome.error.message.startswith(f"line {line}: ")
    assert "execute" not in outcome.timings


async def test_scene_error_names_its_line(settings: Settings) -> None:
    outcome, _ = await run(settings, scene("self.play(Create(Circle()), run_time=0.5)\nx = 1 / 0"))
    assert type(outcome.error) is RenderError
    assert outcome.error.message == "line 6: ZeroDivisionError: division by zero"


async def test_a_scene_that_plays_nothing(settings: Settings) -> None:
    outcome, _ = await run(settings, scene("self.add(Circle())"))
    assert isinstance(outcome.error, OutputError)
    assert outcome.error.message == "The scene rendered no video."


async def test_tex_error_is_short_and_hinted(settings: Settings) -> None:
    outcome, _ = await run(settings, scene(r"self.add(MathTex(r'x^2 + \foo{y}'))" "\nself.wait(0.5)"))
    assert type(outcome.error) is RenderError
    assert outcome.error.message.startswith(r"line 5: LaTeX could not typeset 'x^2 + \foo{y}': ")
    assert "Undefined control sequence" in outcome.error.message
    assert outcome.error.hint is not None and outcome.error.hint.startswith(r"unknown command \foo")
    assert len(outcome.error.message) < 300


async def test_upload_limit_that_cannot_be_met(settings: Settings) -> None:
    outcome, _ = await run(settings, ONE_AND_A_HALF, upload_limit_bytes=500)
    assert isinstance(outcome.error, OutputError)
    assert "could not be made to fit the 500 bytes upload limit" in outcome.error.message
    assert not (outcome.job_dir / "video.mp4").exists()


async def test_invalid_job_id_is_refused(settings: Settings) -> None:
    with pytest.raises(InputError):
        await run(settings, ONE_AND_A_HALF, job_id="../escape")


async def test_workspace_names_cannot_escape_the_data_dir(settings: Settings) -> None:
    outcome, _ = await run(settings, ONE_AND_A_HALF, duration_s=99, workspace="../../tg:-100/x")
    assert outcome.job_dir.parent.parent.parent == settings.data_dir
    assert outcome.record.is_file()
