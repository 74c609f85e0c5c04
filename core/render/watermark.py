"""The trial watermark: burn it in with ffmpeg, then prove it from the pixels.

Spec (SPEC §2): bottom-right, 10% of the video width (aspect kept), 4%
margins from the right and bottom edges, 88% opacity, burnt into the
pixels. The logo is a dark badge with a white wordmark, so it shows on
light and dark scenes alike and can be told apart from any scene content.

Verification decodes a few frames of the logo's box from the source and the
output (rawvideo through a pipe, compared with numpy):

* present: every sampled output frame equals the expected alpha blend of
  the source frame and the logo (within codec noise), differs from the
  source, and the logo detector fires;
* absent: the logo detector does not fire on the middle frame.
"""

from __future__ import annotations

import asyncio
import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from core.errors import WatermarkError
from core.render.postflight import X264_ARGS, VideoInfo, run_tool

__all__ = [
    "LOGO_PATH",
    "OPACITY",
    "Placement",
    "burn",
    "placement",
    "verify_absent",
    "verify_present",
]

LOGO_PATH = Path(__file__).parent / "assets" / "watermark.png"
OPACITY = 0.88
WIDTH_SHARE = 0.10
MARGIN_SHARE = 0.04
SAMPLES = (0.2, 0.5, 0.8)          # where in the video frames are compared (trial)
# A logo would be on every frame, so one frame shows its absence; each extra
# sample costs a demuxer and decoder start-up (~35 ms), on every free render.
ABSENT_SAMPLES = (0.5,)
BLEND_TOLERANCE = 10.0             # mean |output - expected blend|, 0..255 scale
MIN_CHANGE = 15.0                  # mean |output - source| under the logo
DETECT_THRESHOLD = 30.0            # mean |frame - logo| where the logo is opaque

Pixels = NDArray[np.float32]


@dataclass(frozen=True)
class Placement:
    x: int
    y: int
    w: int
    h: int


def _even(value: float) -> int:
    return max(2, int(round(value / 2)) * 2)


@functools.cache
def placement(width: int, height: int) -> Placement:
    """Even-aligned box (yuv420p chroma) for the logo in a width x height video."""
    with Image.open(LOGO_PATH) as logo:
        lw, lh = logo.size
    w = _even(width * WIDTH_SHARE)
    h = _even(w * lh / lw)
    x = (width - round(width * MARGIN_SHARE) - w) // 2 * 2
    y = (height - round(height * MARGIN_SHARE) - h) // 2 * 2
    return Placement(x, y, w, h)


@functools.cache
def _logo(box: Placement) -> tuple[Pixels, Pixels]:
    """The logo scaled to the box: RGB (h, w, 3) and effective alpha (h, w, 1)."""
    with Image.open(LOGO_PATH) as logo:
        rgba = np.asarray(logo.convert("RGBA").resize((box.w, box.h), Image.Resampling.LANCZOS),
                          dtype=np.float32)
    rgb, alpha = rgba[..., :3], rgba[..., 3:] / 255.0 * OPACITY
    rgb.flags.writeable = alpha.flags.writeable = False  # cached: shared by every caller
    return rgb, alpha


async def burn(src: Path, dst: Path, info: VideoInfo) -> None:
    """Write dst = src with the logo overlaid, re-encoded like manim does."""
    box = placement(info.width, info.height)
    rgb, alpha = _logo(box)
    scaled = dst.with_name(f".logo-{dst.stem}.png")
    Image.fromarray(np.dstack([rgb, alpha * 255.0]).round().astype(np.uint8)).save(scaled)
    try:
        await run_tool(
            "ffmpeg", "-nostdin", "-y", "-v", "error", "-i", str(src), "-i", str(scaled),
            "-filter_complex", f"[0:v][1:v]overlay={box.x}:{box.y}:format=auto[v]",
            "-map", "[v]", "-map", "0:a?", *X264_ARGS, "-crf", "20", "-c:a", "copy", str(dst),
        )
    finally:
        scaled.unlink(missing_ok=True)


async def _frames(path: Path, info: VideoInfo, box: Placement, samples: tuple[float, ...] = SAMPLES) -> Pixels:
    """The logo box of the sampled frames, as float RGB (n, h, w, 3)."""
    total = max(1, round(info.duration_s * info.fps))
    indices = sorted({min(total - 1, int(s * total)) for s in samples})
    crop = f"crop={box.w}:{box.h}:{box.x}:{box.y},format=rgb24"
    if len(indices) == 1:
        # One frame: seek to it; cheap, as manim starts a keyframe with every animation.
        args = ["-threads", "1", "-ss", f"{(indices[0] + 0.5) / info.fps:.4f}", "-i", str(path), "-vf", crop]
    else:
        # Several: one sequential decode picking frames by number (the same frames in any file).
        pick = "+".join(f"eq(n\\,{i})" for i in indices)
        args = ["-i", str(path), "-vf", f"select='{pick}',{crop}", "-fps_mode", "passthrough"]
    raw = await run_tool(
        "ffmpeg", "-nostdin", "-v", "error", *args,
        "-frames:v", str(len(indices)), "-f", "rawvideo", "-",
    )
    expected = len(indices) * box.h * box.w * 3
    if len(raw) != expected:
        raise WatermarkError(detail=f"decoded {len(raw)} bytes of {expected} from {path.name}")
    return np.frombuffer(raw, np.uint8).reshape(len(indices), box.h, box.w, 3).astype(np.float32)


def _logo_score(frames: Pixels, rgb: Pixels, alpha: Pixels) -> list[float]:
    """Per frame: how far the opaque part of the box is from the logo (low = logo there)."""
    mask = alpha[..., 0] >= 0.8 * OPACITY
    return [float(np.abs(frame[mask] - rgb[mask]).mean()) for frame in frames]


async def verify_present(src: Path, out: Path, info: VideoInfo, *, exact: bool = True) -> None:
    """The output must be the source with the logo blended in, on every sampled frame.

    ``exact=False`` (after a low-bitrate re-encode) skips the blend comparison
    and keeps the change and detector checks.
    """
    box = placement(info.width, info.height)
    rgb, alpha = _logo(box)
    before, after = await asyncio.gather(_frames(src, info, box), _frames(out, info, box))
    blend = before * (1.0 - alpha) + rgb * alpha
    under = alpha[..., 0] > 0.5
    for i, (b, a, e) in enumerate(zip(before, after, blend, strict=True)):
        error = float(np.abs(a - e).mean())
        change = float(np.abs(a[under] - b[under]).mean())
        score = _logo_score(a[None], rgb, alpha)[0]
        if (exact and error > BLEND_TOLERANCE) or change < MIN_CHANGE or score > DETECT_THRESHOLD:
            raise WatermarkError(
                detail=f"frame sample {i}: blend error {error:.1f}, change {change:.1f}, logo score {score:.1f}",
            )


async def verify_absent(path: Path, info: VideoInfo) -> None:
    """No sampled frame may carry the logo (tiers without a watermark)."""
    box = placement(info.width, info.height)
    rgb, alpha = _logo(box)
    scores = _logo_score(await _frames(path, info, box, ABSENT_SAMPLES), rgb, alpha)
    if min(scores) <= DETECT_THRESHOLD:
        raise WatermarkError(
            "This tier's videos carry no watermark, but one was found in the video.",
            detail=f"logo scores {', '.join(f'{s:.1f}' for s in scores)}",
        )
