"""``framecast doctor``: is this machine able to render safely?

Each check prints ``ok``, ``MISSING`` (required: framecast cannot render)
or ``WARN`` (optional or degraded) with the exact command that fixes it.
``--quiet`` prints only the problems. The exit status is 1 when something
required is missing: ffmpeg/ffprobe, manim, the seccomp filter, and
bubblewrap with a passing isolation self-test (unless the operator chose
unsafe-local). Fonts, TeX and cgroups only warn: renders still work without
them, with less (no ``Text`` glyphs, no ``MathTex``, coarser limits).
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import click

from core.config import SandboxMode, Settings, load_settings
from core.errors import FramecastError
from core.sandbox import BubblewrapRunner
from core.sandbox.bubblewrap import bwrap_version
from core.sandbox.cgroup import available as cgroups_available
from core.sandbox.selftest import self_test
from core.sandbox.seccomp import build_filter

__all__ = ["Check", "doctor", "run_checks"]


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""
    required: bool = True

    @property
    def label(self) -> str:
        if self.ok:
            return "ok"
        return "MISSING" if self.required else "WARN"


def _apt(*packages: str) -> str:
    sudo = "" if os.geteuid() == 0 else "sudo "
    return f"{sudo}apt-get install -y --no-install-recommends {' '.join(packages)}"


def _first_line(argv: Sequence[str]) -> str | None:
    """First output line of ``argv``, or None when it cannot run."""
    if shutil.which(argv[0]) is None:
        return None
    try:
        done = subprocess.run(list(argv), capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return None
    lines = (done.stdout or done.stderr).strip().splitlines()
    return lines[0] if done.returncode == 0 and lines else None


def _tool(name: str, argv: Sequence[str], fix: str, *, required: bool = True) -> Check:
    line = _first_line(argv)
    return Check(name, line is not None, line or "not found or not working", fix, required)


def _manim() -> Check:
    fix = f"{sys.executable} -m pip install manim"
    try:
        version = importlib.metadata.version("manim")
        done = subprocess.run(
            [sys.executable, "-c", "import manim"], capture_output=True, text=True, timeout=60
        )
    except (importlib.metadata.PackageNotFoundError, OSError, subprocess.TimeoutExpired) as exc:
        return Check("manim", False, f"not importable: {exc}", fix)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["import failed"])[-1]
        return Check("manim", False, last, fix)
    return Check("manim", True, f"manim {version}")


def _fonts() -> Check:
    fix = _apt("fontconfig", "fonts-dejavu-core")
    if shutil.which("fc-list") is None:
        return Check("fonts", False, "fc-list not found", fix, required=False)
    done = subprocess.run(["fc-list"], capture_output=True, text=True, timeout=30)
    count = len(done.stdout.splitlines())
    return Check("fonts", count > 0, f"{count} fonts" if count else "no fonts installed", fix,
                 required=False)


def _bubblewrap(settings: Settings) -> Check:
    required = settings.sandbox.mode != SandboxMode.UNSAFE_LOCAL
    version = bwrap_version(settings.sandbox.bwrap)
    if version is None:
        return Check("bubblewrap", False, f"{settings.sandbox.bwrap!r} not found", _apt("bubblewrap"), required)
    try:
        problems = asyncio.run(self_test(BubblewrapRunner(settings), settings))
    except FramecastError as exc:
        fix = "sysctl -w user.max_user_namespaces=15000  # unprivileged user namespaces must work"
        return Check("bubblewrap", False, f"{version}, cannot start a sandbox: {exc.detail or exc.message}", fix, required)
    if problems:
        return Check("bubblewrap", False, f"{version}, isolation self-test failed: {'; '.join(problems)}",
                     "see docs/sandbox.md", required)
    return Check("bubblewrap", True, f"{version}, isolation self-test passed")


def _seccomp() -> Check:
    fix = f"{_apt('libseccomp2')} && {sys.executable} -m pip install pyseccomp"
    try:
        size = len(build_filter())
    except (ImportError, OSError) as exc:
        return Check("seccomp", False, f"filter cannot be built: {exc}", fix)
    return Check("seccomp", True, f"filter built ({size // 8} BPF instructions)")


def _cgroups() -> Check:
    found = cgroups_available()
    missing = [c for c, ok in found.items() if not ok]
    if not missing:
        return Check("cgroups", True, "v1 " + ", ".join(found) + " writable: per-job limits")
    return Check(
        "cgroups", False,
        f"cannot create job groups in {', '.join(missing)}: rlimits only "
        "(memory per process, processes per uid, no exact CPU/RSS figures)",
        "run framecast as root on a host with cgroup v1 memory, pids and cpuacct controllers",
        required=False,
    )


def _unsafe(settings: Settings) -> list[Check]:
    if settings.sandbox.mode != SandboxMode.UNSAFE_LOCAL:
        return []
    return [Check("sandbox mode", False, "unsafe-local: renders run WITHOUT isolation",
                  "unset FRAMECAST_SANDBOX__MODE (bubblewrap is the default)", required=False)]


def run_checks(settings: Settings) -> list[Check]:
    checks: list[Callable[[], Check]] = [
        lambda: _tool("ffmpeg", ["ffmpeg", "-hide_banner", "-version"], _apt("ffmpeg")),
        lambda: _tool("ffprobe", ["ffprobe", "-hide_banner", "-version"], _apt("ffmpeg")),
        _manim,
        _fonts,
        lambda: _tool("latex", ["latex", "--version"],
                      _apt("texlive-latex-base", "texlive-latex-recommended", "texlive-latex-extra",
                           "texlive-fonts-recommended"), required=False),
        lambda: _tool("dvisvgm", ["dvisvgm", "--version"], _apt("dvisvgm"), required=False),
        _seccomp,
        _cgroups,
        lambda: _bubblewrap(settings),
    ]
    return [check() for check in checks] + _unsafe(settings)


@click.command()
@click.option("--quiet", "-q", is_flag=True, help="Print only problems.")
def doctor(quiet: bool) -> None:
    """Check what framecast needs to render safely, and how to fix what is missing."""
    results = run_checks(load_settings())
    for check in results:
        if quiet and check.ok:
            continue
        click.echo(f"{check.label:<8} {check.name}: {check.detail}")
        if not check.ok and check.fix:
            click.echo(f"{'':<8} fix: {check.fix}")
    sys.exit(1 if any(c.required and not c.ok for c in results) else 0)
