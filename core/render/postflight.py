"""Postflight: prove the MP4 is what the tier promised, and make it fit.

Every check reads the real file with ffprobe/ffmpeg; nothing trusts what the
scene or the harness claims about the video itself. The harness's scene
duration is only the reference the container's duration must match.
"""

from __future__ import annotations

import asyncio
import json
import os
from dataclasses import dataclass
from pathlib import Path

from core.errors import OutputError
from core.policy import TierSpec

__all__ = [
    "DURATION_TOLERANCE_S",
    "VideoInfo",
    "X264_ARGS",
    "fit_upload_limit",
    "probe",
    "run_tool",
    "verify_video",
]

DURATION_TOLERANCE_S = 0.25
# Close to manim's own encoder (libx264, yuv420p), so a re-encode looks the same.
X264_ARGS = ("-c:v", "libx264", "-pix_fmt", "yuv420p", "-preset", "veryfast", "-movflags", "+faststart")


@dataclass(frozen=True)
class VideoInfo:
    width: int
    height: int
    fps: float
    duration_s: float
    size_bytes: int


async def run_tool(*argv: str) -> bytes:
    """Run ffmpeg/ffprobe; return stdout, or raise OutputError with stderr's tail."""
    proc = await asyncio.create_subprocess_exec(
        *argv, stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    if proc.returncode != 0:
        tail = err.decode("utf-8", "replace").strip().splitlines()[-3:]
        raise OutputError(
            f"{Path(argv[0]).name} could not read or write the video.",
            detail=f"{' '.join(argv)}\n" + "\n".join(tail),
        )
    return out


def _size(n: int) -> str:
    if n >= 1_000_000:
        return f"{n / 1e6:.1f} MB"
    return f"{n / 1e3:.0f} KB" if n >= 1_000 else f"{n} bytes"


def _rate(text: str) -> float:
    num, _, den = text.partition("/")
    return float(num) / float(den or 1) if float(den or 1) else 0.0


async def probe(path: Path) -> VideoInfo:
    """ffprobe the first video stream (JSON)."""
    raw = await run_tool(
        "ffprobe", "-v", "error", "-select_streams", "v:0",
        "-show_entries", "stream=width,height,r_frame_rate,avg_frame_rate,duration:format=duration",
        "-of", "json", str(path),
    )
    data = json.loads(raw)
    streams = data.get("streams") or []
    if not streams:
        raise OutputError("The render produced no video stream.")
    stream = streams[0]
    duration = stream.get("duration") or data.get("format", {}).get("duration") or 0
    return VideoInfo(
        width=int(stream["width"]),
        height=int(stream["height"]),
        fps=_rate(stream.get("avg_frame_rate") or stream.get("r_frame_rate") or "0/1"),
        duration_s=float(duration),
        size_bytes=path.stat().st_size,
    )


def verify_video(info: VideoInfo, spec: TierSpec, scene_duration_s: float) -> None:
    """Duration = scene's ±0.25 s and within the cap; resolution and fps = preset."""
    problems = []
    if (info.width, info.height) != (spec.width, spec.height):
        problems.append(f"resolution is {info.width}x{info.height}, expected {spec.width}x{spec.height}")
    if abs(info.fps - spec.fps) > 0.01:
        problems.append(f"frame rate is {info.fps:g} fps, expected {spec.fps}")
    if abs(info.duration_s - scene_duration_s) > DURATION_TOLERANCE_S:
        problems.append(
            f"duration is {info.duration_s:.2f}s but the scene lasts {scene_duration_s:.2f}s"
        )
    if info.duration_s > spec.max_duration_s + DURATION_TOLERANCE_S:
        problems.append(f"duration {info.duration_s:.2f}s is over the {spec.max_duration_s:g}s cap")
    if problems:
        raise OutputError(
            "The rendered video did not pass its checks: " + "; ".join(problems) + ".",
            hint="This is a bug on our side, not in your scene; please report it.",
        )


async def fit_upload_limit(path: Path, info: VideoInfo, limit_bytes: int) -> VideoInfo:
    """Re-encode at a bitrate computed from the duration until the file fits (two tries)."""
    if info.size_bytes <= limit_bytes:
        return info
    for share in (0.90, 0.70):  # of the limit; the second try leaves room for container overhead
        bitrate = max(50_000, int(limit_bytes * 8 * share / max(info.duration_s, 0.1)))
        tmp = path.with_name(f".fit-{os.getpid()}-{path.name}")
        await run_tool(
            "ffmpeg", "-nostdin", "-y", "-v", "error", "-i", str(path), "-map", "0:v:0", "-map", "0:a?",
            *X264_ARGS, "-b:v", str(bitrate), "-maxrate", str(bitrate), "-bufsize", str(bitrate * 2),
            "-c:a", "aac", "-b:a", "64k", str(tmp),
        )
        if tmp.stat().st_size <= limit_bytes:
            tmp.replace(path)
            return await probe(path)
        tmp.unlink()
    raise OutputError(
        f"The video is {_size(info.size_bytes)} and could not be made to fit the "
        f"{_size(limit_bytes)} upload limit of this destination.",
        hint="Make the animation shorter or simpler.",
    )
