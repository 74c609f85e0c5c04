"""What framecast's sandbox, checks and postflight cost over bare manim.

The same 6 s 480p/24fps scene is rendered by bare ``manim render`` and by
``framecast render --code ... --json`` (free tier: bubblewrap sandbox,
preflight, harness, ffprobe checks, atomic store),
alternating, RUNS times each after one untimed warm-up of each. Every run
starts in a fresh temporary directory, so neither side reuses manim's
partial-movie cache. Bare manim gets every advantage: no progress bar, no
version check, warnings only.

Prints each time, the medians, the median ratio (target <= 1.10), the
ratio of the fastest runs (the least disturbed by other work on a shared
machine; shown beside the median, never instead of it), where
framecast's time goes (its own stage timings), and the peak memory of a
free render (target < 600 MB): the sandbox's figure and, independently,
the harness process's VmHWM read from /proc while it runs.

    python benchmarks/pipeline_overhead.py [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

SCENE = '''\
from manim import *


class Bench(Scene):
    def construct(self):
        circle = Circle(radius=1.5, color=BLUE)
        square = Square(side_length=2.5, color=RED).shift(RIGHT * 2)
        title = Text("framecast", font_size=48).to_edge(UP)
        self.play(Create(circle), run_time=1.5)
        self.play(Transform(circle, square), run_time=1.5)
        self.play(FadeIn(title), circle.animate.rotate(PI / 2), run_time=1)
        dots = VGroup(*[Dot(LEFT * 3 + RIGHT * i * 0.75, color=YELLOW) for i in range(9)])
        self.play(LaggedStartMap(GrowFromCenter, dots), run_time=1)
        self.wait(1)
'''
BIN = Path(sys.executable).parent


class PeakWatcher:
    """Samples /proc for the harness process and keeps its VmHWM (peak RSS)."""

    def __init__(self) -> None:
        self.peak_kb = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self) -> PeakWatcher:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _watch(self) -> None:
        while not self._stop.wait(0.05):
            for pid in filter(str.isdigit, os.listdir("/proc")):
                try:
                    cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
                    if b"harness.py" not in cmdline:
                        continue
                    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                        if line.startswith("VmHWM:"):
                            self.peak_kb = max(self.peak_kb, int(line.split()[1]))
                except OSError:
                    continue


def bare(scene: Path) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        subprocess.run(
            [str(BIN / "manim"), "render", "-r", "854,480", "--fps", "24", "--progress_bar", "none",
             "-v", "WARNING", "--silent", str(scene), "Bench"],
            cwd=tmp, check=True, stdout=subprocess.DEVNULL,
        )
        return time.perf_counter() - start


def framecast(scene: Path) -> tuple[float, dict[str, Any], int]:
    with tempfile.TemporaryDirectory() as tmp:
        os.chmod(tmp, 0o755)
        env = {k: v for k, v in os.environ.items() if not k.startswith("FRAMECAST_")}
        env["FRAMECAST_DATA_DIR"] = tmp
        with PeakWatcher() as watcher:
            start = time.perf_counter()
            proc = subprocess.run(
                [str(BIN / "framecast"), "render", "--code", str(scene), "--json"],
                cwd=tmp, env=env, capture_output=True, text=True,
            )
            elapsed = time.perf_counter() - start
        result: dict[str, Any] = json.loads(proc.stdout)
        if not result["ok"]:
            raise SystemExit(f"framecast failed: {result['code']} {result['message']}\n{proc.stderr}")
        return elapsed, result, watcher.peak_kb


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as src:
        scene = Path(src) / "bench.py"
        scene.write_text(SCENE)
        os.chmod(src, 0o755)
        bare(scene), framecast(scene)  # warm-up: page cache, font cache, bytecode
        bare_times: list[float] = []
        fc_times: list[float] = []
        stages: list[dict[str, float]] = []
        rss: list[int] = []
        hwm: list[int] = []
        for i in range(args.runs):
            bare_times.append(bare(scene))
            elapsed, result, peak_kb = framecast(scene)
            fc_times.append(elapsed)
            stages.append(result["timings"])
            rss.append(result.get("max_rss_bytes") or 0)
            hwm.append(peak_kb)
            print(f"run {i + 1}: bare manim {bare_times[-1]:.2f}s  framecast {elapsed:.2f}s  "
                  f"(preflight {result['timings']['preflight']:.3f}s, execute {result['timings']['execute']:.2f}s, "
                  f"postflight {result['timings']['postflight']:.2f}s)", flush=True)
    bare_med, fc_med = statistics.median(bare_times), statistics.median(fc_times)
    ratio = statistics.median(f / b for f, b in zip(fc_times, bare_times, strict=True))
    print(f"median bare manim: {bare_med:.2f}s")
    print(f"median framecast:  {fc_med:.2f}s")
    for stage in ("preflight", "execute", "postflight"):
        print(f"  median {stage}: {statistics.median(s[stage] for s in stages):.3f}s")
    outside = statistics.median(t - sum(s.values()) for t, s in zip(fc_times, stages, strict=True))
    print(f"  median CLI start-up and exit (outside the stages): {outside:.3f}s")
    print(f"ratio of the medians: {fc_med / bare_med:.3f}")
    print(f"median ratio framecast/bare (per alternated pair): {ratio:.3f} (target <= 1.10) "
          f"{'OK' if ratio <= 1.10 else 'OVER TARGET'}")
    print(f"ratio of the fastest runs: {min(fc_times) / min(bare_times):.3f}")
    print(f"peak memory of a free render: sandbox max_rss {max(rss) / 2**20:.0f} MB, "
          f"harness VmHWM {max(hwm) / 1024:.0f} MB (target < 600 MB)")


if __name__ == "__main__":
    main()
