"""``framecast render``: a prompt or a scene file in, a verified MP4 out.

Exit status: 0 rendered, 1 refused or failed (an ``E_`` code says why),
2 usage (unknown flags, PROMPT and --code together, or neither).
"""

from __future__ import annotations

import asyncio
import json
import shutil
import sys
from pathlib import Path
from typing import Any

import click

from core.config import load_settings
from core.errors import FramecastError, InputError
from core.policy import TRIAL_NOTICE, TierSpec, check_duration
from core.render.pipeline import RenderOutcome, RenderRequest, render as run_pipeline
from core.render.preflight import MAX_CODE_BYTES, check_prompt
from core.sandbox import make_runner

__all__ = ["render"]

# Where each stage sits on the one progress bar people see.
_STAGE_SPAN = {"preflight": (0, 2), "execute": (2, 90), "postflight": (90, 99), "done": (100, 100)}


class _ProgressBar:
    """One line on stderr, redrawn in place on a terminal; plain stage lines otherwise."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.tty = sys.stderr.isatty()
        self.stage = ""
        self.drawn = False

    def __call__(self, event: dict[str, Any]) -> None:
        if not self.enabled:
            return
        stage = str(event.get("stage", self.stage))
        if event.get("type") == "stage" or stage == "render":
            stage = "execute" if stage == "render" else stage
        low, high = _STAGE_SPAN.get(stage, (0, 100))
        inner = float(event.get("percent", 0))
        percent = int(low + (high - low) * min(inner, 100) / 100)
        detail = f"animation {event['animation']}" if "animation" in event else str(event.get("step", ""))
        if self.tty:
            bar = "#" * (percent // 4) + "-" * (25 - percent // 4)
            sys.stderr.write(f"\r{stage:<10} [{bar}] {percent:3d}%  {detail:<14}")
            self.drawn = True
            if stage == "done":
                self.finish()
        elif stage != self.stage:
            sys.stderr.write(f"{stage}...\n")
        sys.stderr.flush()
        self.stage = stage

    def finish(self) -> None:
        if self.drawn:
            sys.stderr.write("\n")
            self.drawn = False


def _read_code(path: Path) -> bytes:
    if not path.exists():
        raise InputError(f"No such file: {path}.", hint="Give the path of a Python file with one Scene.")
    if not path.is_file():
        raise InputError(f"{path} is not a file.", hint="Give the path of a Python file with one Scene.")
    size = path.stat().st_size
    if size > MAX_CODE_BYTES:
        raise InputError(
            f"The code is {size} bytes; the limit is {MAX_CODE_BYTES} bytes.",
            hint="Split the animation into shorter scenes.",
        )
    return path.read_bytes()


def _compose(prompt: str, spec: TierSpec, duration: float | None, max_chars: int) -> tuple[str, float, list[str], str]:
    from core.codegen.builtin import compose

    text = check_prompt(prompt, max_chars=max_chars)
    tex = shutil.which("latex") is not None and shutil.which("dvisvgm") is not None
    comp = compose(text, max_duration_s=spec.max_duration_s, duration_s=duration, tex_available=tex)
    notes = [f"Not understood: {item}" for item in comp.not_understood]
    return comp.code, comp.duration_s, notes, comp.summary


def _refusal(err: FramecastError, spec: TierSpec) -> dict[str, Any]:
    """The JSON shape of a failure that happened before the pipeline ran."""
    return {
        "ok": False, "code": err.code, "message": err.message, "hint": err.hint,
        "job_id": None, "video": None, "record": None, "scene": None, "duration_s": None,
        "width": spec.width, "height": spec.height, "fps": spec.fps, "watermarked": False,
        "timings": {}, "max_rss_bytes": None,
    }


def _print_human(result: dict[str, Any], tier: str) -> None:
    if result["ok"]:
        mark = "with the trial watermark" if result["watermarked"] else "no watermark"
        click.echo(
            f"Rendered {result['duration_s']:g} s at {result['width']}x{result['height']} "
            f"@ {result['fps']} fps ({tier}, {mark}) in {sum(result['timings'].values()):.1f} s."
        )
        click.echo(f"  video:  {result['video']}")
        click.echo(f"  record: {result['record']}")
        return
    click.echo(f"{result['code']}: {result['message']}", err=True)
    if result.get("hint"):
        click.echo(f"  what to do: {result['hint']}", err=True)
    if result.get("record"):
        click.echo(f"  record: {result['record']}", err=True)


@click.command()
@click.argument("prompt", required=False)
@click.option("--code", "code_file", type=click.Path(path_type=Path), help="Render this scene file instead of a prompt.")
@click.option("--tier", type=click.Choice(["free", "premium"]), default="free", show_default=True)
@click.option("--trial", is_flag=True, help="The one-off 30s premium trial (watermarked).")
@click.option("--duration", type=float, help="Wanted length in seconds (refused over the tier's cap).")
@click.option("--out", type=click.Path(path_type=Path, file_okay=False),
              help="Job folder for video.mp4, scene.py and job.md (default: under the data dir).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of a progress bar.")
def render(
    prompt: str | None, code_file: Path | None, tier: str, trial: bool,
    duration: float | None, out: Path | None, as_json: bool,
) -> None:
    """Render PROMPT (with the built-in composer) or --code FILE in the sandbox."""
    if prompt is not None and code_file is not None:
        raise click.UsageError("Give either a PROMPT or --code FILE, not both.")
    if prompt is None and code_file is None:
        raise click.UsageError("Give a PROMPT or --code FILE.")
    if trial and tier != "free":
        raise click.UsageError("--trial is the free tier's one-off trial; do not combine it with --tier.")
    settings = load_settings()
    spec = settings.tiers.get("trial" if trial else tier)
    bar = _ProgressBar(enabled=not as_json)
    try:
        check_duration(spec, duration)
        notes: list[str] = []
        expected = duration
        code: str | bytes
        if prompt is not None:
            code, expected, notes, summary = _compose(prompt, spec, duration, settings.codegen.max_prompt_chars)
            if not as_json:
                click.echo(summary, err=True)
        else:
            assert code_file is not None
            code = _read_code(code_file)
        if trial:
            click.echo(TRIAL_NOTICE, err=as_json)
        request = RenderRequest(
            code=code, tier=spec, duration_s=duration, expected_duration_s=expected,
            prompt=prompt, job_dir=out, notes=tuple(notes),
        )
        outcome: RenderOutcome = asyncio.run(
            run_pipeline(request, settings=settings, runner=make_runner(settings), progress=bar)
        )
        result = outcome.to_dict()
    except FramecastError as err:
        result = _refusal(err, spec)
    finally:
        bar.finish()
    if as_json:
        click.echo(json.dumps(result))
    else:
        _print_human(result, spec.name.value)
    sys.exit(0 if result["ok"] else 1)
