"""Postflight and watermark checks on real clips made by ffmpeg (no renders)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from core.errors import OutputError, WatermarkError
from core.policy import TierTable
from core.render import postflight, watermark

FREE = TierTable().free


def clip(path: Path, *, size: str = "854x480", rate: int = 24, seconds: float = 1.0,
         source: str = "testsrc2", extra: tuple[str, ...] = ()) -> Path:
    """A real H.264 clip from one of ffmpeg's test sources."""
    joiner = ":" if "=" in source else "="
    subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi",
         "-i", f"{source}{joiner}s={size}:r={rate}:d={seconds}",
         "-c:v", "libx264", "-pix_fmt", "yuv420p", *extra, str(path)],
        check=True,
    )
    return path


async def test_probe_reads_the_real_figures(tmp_path: Path) -> None:
    info = await postflight.probe(clip(tmp_path / "a.mp4", seconds=1.5))
    assert (info.width, info.height, info.fps) == (854, 480, 24.0)
    assert info.duration_s == pytest.approx(1.5, abs=0.05)
    assert info.size_bytes == (tmp_path / "a.mp4").stat().st_size
    postflight.verify_video(info, FREE, 1.5)


@pytest.mark.parametrize(
    ("kwargs", "scene_s", "problem"),
    [
        ({"size": "640x360"}, 1.0, "resolution is 640x360, expected 854x480"),
        ({"rate": 30}, 1.0, "frame rate is 30 fps, expected 24"),
        ({"seconds": 2.0}, 1.0, "duration is 2.00s but the scene lasts 1.00s"),
        ({"seconds": 8.5}, 8.5, "duration 8.50s is over the 8s cap"),
    ],
)
async def test_wrong_files_are_rejected(tmp_path: Path, kwargs: dict[str, object], scene_s: float, problem: str) -> None:
    info = await postflight.probe(clip(tmp_path / "bad.mp4", **kwargs))  # type: ignore[arg-type]
    with pytest.raises(OutputError, match=problem):
        postflight.verify_video(info, FREE, scene_s)


async def test_duration_tolerance_is_a_quarter_second(tmp_path: Path) -> None:
    info = await postflight.probe(clip(tmp_path / "a.mp4", seconds=1.0))
    postflight.verify_video(info, FREE, 1.2)
    with pytest.raises(OutputError, match="but the scene lasts 1.30s"):
        postflight.verify_video(info, FREE, 1.3)


async def test_probe_of_garbage_is_an_output_error(tmp_path: Path) -> None:
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"not a video" * 100)
    with pytest.raises(OutputError):
        await postflight.probe(junk)


@pytest.mark.parametrize("source", ["testsrc2", "color=c=white", "color=c=black"])
async def test_watermark_burn_and_verify(tmp_path: Path, source: str) -> None:
    src = clip(tmp_path / "src.mp4", source=source)
    info = await postflight.probe(src)
    out = tmp_path / "out.mp4"
    await watermark.burn(src, out, info)
    postflight.verify_video(await postflight.probe(out), FREE, info.duration_s)
    await watermark.verify_present(src, out, info)
    await watermark.verify_absent(src, info)
    with pytest.raises(WatermarkError):
        await watermark.verify_absent(out, info)
    with pytest.raises(WatermarkError):  # an unmarked "output" is caught
        await watermark.verify_present(src, src, info)


async def test_a_misplaced_watermark_fails_verification(tmp_path: Path) -> None:
    src = clip(tmp_path / "src.mp4")
    info = await postflight.probe(src)
    logo = tmp_path / "logo.png"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(watermark.LOGO_PATH),
                    "-vf", "scale=86:-2", str(logo)], check=True)
    wrong = tmp_path / "top-left.mp4"
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(src), "-i", str(logo),
                    "-filter_complex", "overlay=10:10", "-c:v", "libx264", "-pix_fmt", "yuv420p",
                    str(wrong)], check=True)
    with pytest.raises(WatermarkError):
        await watermark.verify_present(src, wrong, info)


def test_placement_follows_the_spec() -> None:
    for width, height in ((854, 480), (1920, 1080)):
        box = watermark.placement(width, height)
        assert box.w == pytest.approx(0.10 * width, abs=2)
        assert width - box.x - box.w == pytest.approx(0.04 * width, abs=2)
        assert height - box.y - box.h == pytest.approx(0.04 * height, abs=2)
        assert box.w / box.h == pytest.approx(640 / 180, rel=0.1)


async def test_burnt_pixels_match_an_alpha_blend_at_88_percent(tmp_path: Path) -> None:
    """Checked here with plain numpy and ffmpeg, not with the module's own helpers."""
    src = clip(tmp_path / "src.mp4", source="color=c=white")
    info = await postflight.probe(src)
    out = tmp_path / "out.mp4"
    await watermark.burn(src, out, info)
    box = watermark.placement(info.width, info.height)
    raw = subprocess.run(
        ["ffmpeg", "-v", "error", "-ss", "0.5", "-i", str(out), "-frames:v", "1",
         "-vf", f"crop={box.w}:{box.h}:{box.x}:{box.y}", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
        check=True, capture_output=True,
    ).stdout
    frame = np.frombuffer(raw, np.uint8).reshape(box.h, box.w, 3).astype(float)
    centre = frame[box.h // 2 - 2: box.h // 2 + 2, 2:6]  # the dark badge, left of the mark
    # badge (24, 26, 38) at 88% over white: 0.88 * 26 + 0.12 * 255 ≈ 53
    assert centre.mean() == pytest.approx(0.88 * 29 + 0.12 * 255, abs=12)


async def test_fit_upload_limit(tmp_path: Path) -> None:
    src = clip(tmp_path / "big.mp4", seconds=2.0, extra=("-crf", "0"))
    info = await postflight.probe(src)
    assert await postflight.fit_upload_limit(src, info, info.size_bytes) == info  # fits: untouched
    limit = info.size_bytes // 4
    fitted = await postflight.fit_upload_limit(src, info, limit)
    assert fitted.size_bytes <= limit == limit
    assert src.stat().st_size == fitted.size_bytes
    postflight.verify_video(fitted, FREE, 2.0)
    with pytest.raises(OutputError, match="could not be made to fit"):
        await postflight.fit_upload_limit(src, fitted, 2_000)
