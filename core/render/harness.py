"""The render harness: runs ONE scene inside the sandbox and reports on fd 3.

This file is bound read-only into the sandbox and run by the venv's Python:

    python harness.py --scene-file /project/scene.py --scene Name \\
        --width 854 --height 480 --fps 24 --cap 8 --expected 5 \\
        --out /artifacts/video.mp4

It imports only the standard library and manim, never framecast, so the
sandbox needs nothing of ours but this one file.

Protocol: one JSON object per line on file descriptor 3 (when it is open):

    {"type":"progress","stage":"render","animation":i,"scene_time":t,"percent":p}
    {"type":"done","scene_duration":t,"animations":n}
    {"type":"error","kind":"scene"|"tex"|"duration"|"output","message":...,...}

A progress line comes when each animation starts and every half second
within long ones. ``percent`` is measured against ``--expected`` and capped
at 99 (the host says 100 once postflight passes). Scene time is counted before each
animation starts: when the animation would end more than one frame past
``--cap``, the harness stops at once, before rendering a frame of it.

Exit codes (the host maps them to errors):

     0  EXIT_OK        the video is at --out
     2  EXIT_USAGE     bad arguments (argparse's own code)
    10  EXIT_SCENE     the scene raised, or has no such class
    11  EXIT_TEX       LaTeX failed on a snippet of the scene
    12  EXIT_DURATION  the animations ran past --cap
    13  EXIT_OUTPUT    manim finished but wrote no video
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import shutil
import sys
import time
import traceback
from pathlib import Path
from typing import Any

EXIT_OK = 0
EXIT_USAGE = 2
EXIT_SCENE = 10
EXIT_TEX = 11
EXIT_DURATION = 12
EXIT_OUTPUT = 13

_TAIL_LINES = 8
_REPORT_EVERY_S = 0.5


class _Progress:
    """Writes JSON lines to fd 3 if the host opened it; silent otherwise."""

    def __init__(self) -> None:
        try:
            self._stream: Any = os.fdopen(3, "w", buffering=1, encoding="utf-8")
        except OSError:
            self._stream = None

    def send(self, **event: Any) -> None:
        if self._stream is not None:
            self._stream.write(json.dumps(event, separators=(",", ":")) + "\n")


class TexFailure(Exception):
    """LaTeX failed; carries what the host needs for a short, useful error."""

    def __init__(self, error: str, context: str, snippet: str) -> None:
        super().__init__(error)
        self.error, self.context, self.snippet = error, context, snippet


def _parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scene-file", required=True, type=Path)
    parser.add_argument("--scene", required=True)
    parser.add_argument("--width", required=True, type=int)
    parser.add_argument("--height", required=True, type=int)
    parser.add_argument("--fps", required=True, type=int)
    parser.add_argument("--cap", required=True, type=float, help="longest scene time in seconds")
    parser.add_argument("--expected", type=float, help="expected scene time, for percentages")
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--media-dir", type=Path, default=Path("/tmp/media"))
    return parser.parse_args(argv)


def _tex_details(tex_file: Path) -> TexFailure:
    """First '! ' error of the log, the lines up to its 'l.N' line, and the user's snippet."""
    log = tex_file.with_suffix(".log")
    lines = log.read_text(encoding="utf-8", errors="replace").splitlines() if log.exists() else []
    error, context = "LaTeX failed without a log.", ""
    for i, line in enumerate(lines):
        if line.startswith("! "):
            error = line[2:].strip()
            after = lines[i + 1:i + 7]
            end = next((j for j, ln in enumerate(after) if re.match(r"l\.\d+", ln)), len(after) - 1)
            context = "\n".join(ln.rstrip() for ln in after[:end + 1])
            break
    source = tex_file.read_text(encoding="utf-8", errors="replace") if tex_file.exists() else ""
    body = source.split(r"\begin{document}", 1)[-1].split(r"\end{document}", 1)[0]
    body = re.sub(r"\\special\{dvisvgm:raw[^}]*\}", "", body).strip()
    # manim wraps MathTex in align* and Tex in center: show the user's own TeX.
    body = re.sub(r"^\\begin\{(align\*|center)\}(.*)\\end\{\1\}$", r"\2", body, flags=re.S).strip()
    return TexFailure(error, context, body[:500])


def _install_hooks(args: argparse.Namespace, progress: _Progress) -> dict[str, Any]:
    """Patch manim so scene time is checked before each animation and TeX errors are caught."""
    from manim import Scene
    from manim.utils import tex_file_writing

    state: dict[str, Any] = {"animations": 0, "reported": time.monotonic()}
    one_frame = 1.0 / args.fps
    expected = args.expected or args.cap
    compile_animation_data = Scene.compile_animation_data
    update_to_time = Scene.update_to_time

    def report(scene_time: float) -> None:
        state["reported"] = time.monotonic()
        progress.send(
            type="progress", stage="render", animation=state["animations"],
            scene_time=round(scene_time, 3), percent=min(99, int(100 * scene_time / expected)),
        )

    def checked_compile(self: Any, *anims: Any, **kwargs: Any) -> Any:
        result = compile_animation_data(self, *anims, **kwargs)
        now = float(self.renderer.time)
        if now + float(self.duration) > args.cap + one_frame:
            # Exit right here: an exception could be swallowed by the scene's own try/except.
            progress.send(
                type="error", kind="duration", cap=args.cap,
                message=f"animation {state['animations'] + 1} would end at "
                f"{now + float(self.duration):.2f}s, past the {args.cap:g}s cap",
            )
            _exit(EXIT_DURATION)
        state["animations"] += 1
        report(now)
        return result

    def reporting_update(self: Any, t: float) -> None:
        # Called once per frame: long animations report progress every half second too.
        update_to_time(self, t)
        if time.monotonic() - state["reported"] >= _REPORT_EVERY_S:
            report(float(self.renderer.time))

    compile_tex = tex_file_writing.compile_tex

    def checked_compile_tex(tex_file: Path, *a: Any, **kw: Any) -> Path:
        try:
            return compile_tex(tex_file, *a, **kw)
        except (ValueError, RuntimeError):
            raise _tex_details(Path(tex_file)) from None

    Scene.compile_animation_data = checked_compile  # type: ignore[method-assign]
    Scene.update_to_time = reporting_update  # type: ignore[method-assign]
    tex_file_writing.compile_tex = checked_compile_tex
    return state


def _scene_line(exc: BaseException, scene_file: Path) -> int | None:
    target = scene_file.resolve()
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if Path(f.filename).resolve() == target]
    return frames[-1].lineno if frames else None


def _render(args: argparse.Namespace, progress: _Progress) -> int:
    from manim import config, tempconfig
    from manim.manager import Manager

    state = _install_hooks(args, progress)
    config.pixel_width, config.pixel_height, config.frame_rate = args.width, args.height, args.fps
    config.media_dir = str(args.media_dir)
    config.progress_bar = "none"
    config.verbosity = "WARNING"
    config.preview = False
    # Every job starts in a fresh sandbox, so manim's partial-movie cache can never be
    # reused; hashing every animation for it would be pure cost.
    config.disable_caching = True
    config.input_file = str(args.scene_file)

    spec = importlib.util.spec_from_file_location("scene", args.scene_file)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    scene_class = getattr(module, args.scene, None)
    if scene_class is None:
        raise LookupError(f"the scene file defines no class {args.scene!r}")

    with tempconfig({}):
        scene = scene_class()
        manager = Manager(scene)
        scene.render()
        movie = Path(manager.file_writer.movie_file_path)
    if not movie.is_file():
        progress.send(type="error", kind="output", message="manim wrote no video (did the scene play anything?)")
        return EXIT_OUTPUT
    args.out.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(str(movie), str(args.out))
    progress.send(type="done", scene_duration=round(float(scene.renderer.time), 4),
                  animations=state["animations"])
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(sys.argv[1:] if argv is None else argv)
    progress = _Progress()
    try:
        return _render(args, progress)
    except TexFailure as exc:
        progress.send(type="error", kind="tex", message=exc.error, context=exc.context,
                      snippet=exc.snippet, line=_scene_line(exc, args.scene_file))
        return EXIT_TEX
    except Exception as exc:  # the scene's own failure: report it, short
        tail = traceback.format_exception(exc)[-_TAIL_LINES:]
        sys.stderr.write("".join(tail))
        message = f"{type(exc).__name__}: {exc}"[:500]
        progress.send(type="error", kind="scene", message=message,
                      line=_scene_line(exc, args.scene_file))
        return EXIT_SCENE


def _exit(status: int) -> None:
    """Leave now, skipping interpreter teardown (atexit hooks, GC of big arrays)."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)


if __name__ == "__main__":
    _exit(main())
