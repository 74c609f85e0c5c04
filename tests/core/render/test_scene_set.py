"""The scene set (tests/scenes/): every scene renders through framecast, some also through bare manim.

Each scene is a small, ordinary Manim scene of about one second exercising
one feature people use (shapes, TeX, tables, code blocks, updaters, 3-D,
camera moves, ...). Through framecast each must pass preflight, render in
the real sandbox on the Free preset and pass postflight. A fixed subset is
also rendered by bare ``manim render`` with the same preset: both must
succeed with the same number of frames.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from core.config import Settings
from core.render.pipeline import RenderOutcome, RenderRequest, render
from core.render.preflight import check_code
from core.sandbox import make_runner

SCENES_DIR = Path(__file__).resolve().parents[2] / "scenes"
SCENES = sorted(SCENES_DIR.glob("*.py"))
# Representative of the set, TeX-heavy ones included; rendered twice, so kept small.
COMPARED = [
    "mathtex_quadratic", "tex_sentence", "matrix", "axes_coordinates",
    "code_block", "three_d_surface", "moving_camera_zoom", "value_tracker_graph",
]


def frames(video: Path) -> tuple[int, float]:
    """(frame count, duration) as ffprobe reads them from the container."""
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "v:0", "-count_packets",
         "-show_entries", "stream=nb_read_packets:format=duration", "-of", "default=nw=1:nk=1", str(video)],
        check=True, capture_output=True, text=True, timeout=60,
    ).stdout.split()
    return int(out[0]), float(out[1])


async def render_free(settings: Settings, path: Path) -> RenderOutcome:
    request = RenderRequest(code=path.read_bytes(), tier=settings.tiers.get("free"), expected_duration_s=1.0)
    outcome = await render(request, settings=settings, runner=make_runner(settings))
    tail = outcome.sandbox.stderr_tail[-1500:] if outcome.sandbox else ""
    assert outcome.ok, f"{path.name}: {outcome.error and outcome.error.code} {outcome.error}\n{tail}"
    return outcome


def test_the_set_is_large_and_every_scene_passes_preflight() -> None:
    assert len(SCENES) >= 40
    names = [check_code(path.read_bytes()).scene for path in SCENES]
    assert len(set(names)) == len(names)
    assert set(COMPARED) <= {p.stem for p in SCENES}


@pytest.mark.slow
@pytest.mark.parametrize("path", SCENES, ids=[p.stem for p in SCENES])
async def test_scene_renders_through_framecast(settings: Settings, path: Path) -> None:
    outcome = await render_free(settings, path)
    assert outcome.video is not None and outcome.duration_s is not None
    count, duration = frames(outcome.video)
    assert abs(duration - outcome.duration_s) <= 0.25
    assert count == round(outcome.duration_s * 24)


@pytest.mark.slow
@pytest.mark.parametrize("stem", COMPARED)
async def test_framecast_matches_bare_manim(settings: Settings, tmp_path: Path, stem: str) -> None:
    path = SCENES_DIR / f"{stem}.py"
    scene = check_code(path.read_bytes()).scene
    media = tmp_path / "bare"
    bare = subprocess.run(
        [sys.executable, "-m", "manim", "render", "-r", "854,480", "--fps", "24", "--disable_caching",
         "--progress_bar", "none", "--media_dir", str(media), "-o", "bare", str(path), scene],
        cwd=tmp_path, capture_output=True, text=True, timeout=240,
    )
    assert bare.returncode == 0, bare.stderr[-2000:]
    (bare_video,) = media.glob("videos/*/480p24/bare.mp4")
    outcome = await render_free(settings, path)
    assert outcome.video is not None
    ours, theirs = frames(outcome.video), frames(bare_video)
    assert ours[0] == theirs[0]
    assert ours[1] == pytest.approx(theirs[1], abs=1 / 24)
