"""What TeX costs, framecast against bare manim, and how much of the scene set renders.

    .venv/bin/python benchmarks/tex.py [--runs N] [--skip-scene-set]

1. A scene with three formulas (MathTex) at the Free preset, timed end to
   end (process start to MP4) with bare ``manim render`` and with
   ``framecast render --code --json``:
   - cold: a fresh media folder, so every formula goes through latex + dvisvgm;
   - warm: bare manim reuses its TeX cache (media/Tex) from the cold run.
     framecast cannot: every job gets a fresh sandbox with a private /tmp,
     so its "warm" run is a cold one again, by design (nothing is shared
     between jobs or users). The ratio says what that isolation costs.
   The same scene with Text instead of MathTex (bare manim) shows what the
   three formulas themselves cost.
2. The scene set (tests/scenes/): the share that renders through framecast,
   and every scene that does not, with the reason.

Figures are printed, not asserted. Runs alternate between the contenders.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

FORMULAS = [
    r"x = \frac{-b \pm \sqrt{b^2 - 4ac}}{2a}",
    r"e^{i\pi} + 1 = 0",
    r"\sum_{k=1}^{n} k = \frac{n(n+1)}{2}",
]
FORMULA_SCENE = f'''from manim import *


class ThreeFormulas(Scene):
    def construct(self):
        formulas = VGroup(*[MathTex(t) for t in {FORMULAS!r}]).arrange(DOWN, buff=0.6)
        self.play(Write(formulas), run_time=1)
'''
TEXT_SCENE = FORMULA_SCENE.replace("MathTex(t)", "Text(t, font_size=28)").replace("ThreeFormulas", "ThreeTexts")


def bare_manim(scene: Path, name: str, media: Path) -> float:
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "manim", "render", "-r", "854,480", "--fps", "24", "--disable_caching",
         "--progress_bar", "none", "--media_dir", str(media), str(scene), name],
        check=True, capture_output=True, cwd=media.parent,
    )
    return time.perf_counter() - start


def framecast_cli(scene: Path, data_dir: Path) -> float:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FRAMECAST_")}
    env["FRAMECAST_DATA_DIR"] = str(data_dir)
    start = time.perf_counter()
    proc = subprocess.run([str(Path(sys.executable).with_name("framecast")), "render", "--code", str(scene), "--json"],
                          capture_output=True, text=True, env=env)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"framecast failed: {proc.stdout[-500:]} {proc.stderr[-1500:]}")
    return elapsed


def formula_costs(runs: int, work: Path) -> None:
    formula, text = work / "formulas.py", work / "texts.py"
    formula.write_text(FORMULA_SCENE)
    text.write_text(TEXT_SCENE)
    data_dir = work / "data"
    data_dir.mkdir()
    times: dict[str, list[float]] = {k: [] for k in ("bare cold", "bare warm", "framecast cold",
                                                      "framecast warm", "bare text-only")}
    for i in range(runs):
        media = work / f"media-{i}"
        media.mkdir()
        times["bare cold"].append(bare_manim(formula, "ThreeFormulas", media))
        times["framecast cold"].append(framecast_cli(formula, data_dir))
        times["bare warm"].append(bare_manim(formula, "ThreeFormulas", media))   # media/Tex reused
        times["framecast warm"].append(framecast_cli(formula, data_dir))          # fresh sandbox again
        text_media = work / f"text-{i}"
        text_media.mkdir()
        times["bare text-only"].append(bare_manim(text, "ThreeTexts", text_media))
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"Three-formula scene, 1 s at 854x480@24, median of {runs} run(s), seconds end to end:")
    for key, value in med.items():
        print(f"  {key:<16} {value:6.2f}   ({', '.join(f'{t:.2f}' for t in times[key])})")
    print(f"  cold TeX cost of three formulas (bare cold - bare text-only): {med['bare cold'] - med['bare text-only']:.2f} s")
    print(f"  ratio framecast/bare, cold: {med['framecast cold'] / med['bare cold']:.2f}")
    print(f"  ratio framecast/bare, warm: {med['framecast warm'] / med['bare warm']:.2f}"
          "  (framecast's warm run is cold by design: a fresh sandbox per job shares no TeX cache)")


async def scene_set_share(work: Path) -> None:
    from core.config import load_settings
    from core.render.pipeline import RenderRequest, render
    from core.sandbox import make_runner

    data_dir = work / "scene-data"
    data_dir.mkdir()
    settings = load_settings(data_dir=data_dir)
    runner = make_runner(settings)
    scenes = sorted((ROOT / "tests" / "scenes").glob("*.py"))
    failures: list[tuple[str, str]] = []
    start = time.perf_counter()
    for path in scenes:
        outcome = await render(RenderRequest(code=path.read_bytes(), tier=settings.tiers.get("free")),
                               settings=settings, runner=runner)
        if not outcome.ok:
            assert outcome.error is not None
            lines = (outcome.sandbox.stderr_tail.strip().splitlines() if outcome.sandbox else []) or [""]
            failures.append((path.stem, f"{outcome.error.code}: {outcome.error.message} | {lines[-1][:200]}"))
    elapsed = time.perf_counter() - start
    ok = len(scenes) - len(failures)
    print(f"Scene set through framecast (free preset): {ok}/{len(scenes)} render "
          f"({100 * ok / len(scenes):.0f}%), {elapsed:.0f} s in all, {elapsed / len(scenes):.1f} s per scene.")
    for stem, reason in failures:
        print(f"  does not render: {stem}: {reason}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="repetitions of each formula timing")
    parser.add_argument("--skip-scene-set", action="store_true", help="only time the formula scene")
    args = parser.parse_args()
    if shutil.which("latex") is None or shutil.which("dvisvgm") is None:
        raise SystemExit("TeX is not installed: run `make setup` first.")
    with tempfile.TemporaryDirectory(prefix="framecast-bench-tex-") as tmp:
        work = Path(tmp)
        work.chmod(0o755)  # the sandbox uid reads the scene and writes job folders under here
        formula_costs(args.runs, work)
        if not args.skip_scene_set:
            asyncio.run(scene_set_share(work))


if __name__ == "__main__":
    main()
