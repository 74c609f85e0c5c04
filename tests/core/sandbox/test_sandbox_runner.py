"""The sandbox's Python API: progress, results, unsafe-local, refusal, read-back."""

from __future__ import annotations

import logging
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from core.cli.doctor import doctor
from core.config import Settings, load_settings
from core.errors import OutputError, SandboxUnavailable
from core.sandbox import (
    BubblewrapRunner,
    SandboxJob,
    UnsafeLocalRunner,
    limits_for,
    make_runner,
)
from core.sandbox.staging import copy_artifacts_out


def job_for(settings: Settings, tmp_path: Path, *argv: str, **kwargs: Any) -> SandboxJob:
    project, artifacts = tmp_path / "project", tmp_path / "artifacts"
    project.mkdir(exist_ok=True)
    return SandboxJob(
        argv=argv, project_dir=project, artifacts_dir=artifacts,
        limits=limits_for(settings, settings.tiers.get("free")), **kwargs,
    )


def test_limits_come_from_the_tier_and_the_sandbox_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FRAMECAST_SANDBOX__MEMORY_MB", "300")
    monkeypatch.setenv("FRAMECAST_TIERS__PREMIUM__WALL_TIME_S", "42")
    settings = load_settings()
    limits = limits_for(settings, settings.tiers.get("premium"))
    assert limits.wall_time_s == 42
    assert limits.memory_bytes == 300 * 1024 * 1024
    assert limits_for(settings, settings.tiers.get("free")).wall_time_s == 60


async def test_progress_lines_arrive_in_order_and_garbage_is_ignored(
    settings: Settings, tmp_path: Path
) -> None:
    (tmp_path / "project").mkdir()
    (tmp_path / "project" / "emit.py").write_text(
        "import json, os, time\n"
        "os.write(3, b'not json\\n[1, 2]\\n' + b'x' * 100000 + b'\\n')\n"
        "for i in range(5):\n"
        "    line = json.dumps({'i': i}).encode() + b'\\n'\n"
        "    os.write(3, line[:4]); time.sleep(0.01); os.write(3, line[4:])\n"
        "print('done')\n"
    )
    seen: list[dict[str, Any]] = []
    result = await make_runner(settings).run(
        job_for(settings, tmp_path, "python", "emit.py"), progress=seen.append
    )
    assert result.ok, result.stderr_tail
    assert result.stdout_tail == "done\n"
    assert seen == [{"i": i} for i in range(5)]
    assert result.cpu_s > 0 and result.max_rss_bytes > 0 and result.wall_s > 0


async def test_output_tails_are_bounded(settings: Settings, tmp_path: Path) -> None:
    job = job_for(
        settings, tmp_path, "python", "-c",
        "import sys\nfor i in range(200000): print(i)\nprint('end', file=sys.stderr)",
    )
    result = await make_runner(settings).run(job)
    assert result.ok
    assert len(result.stdout_tail.encode()) <= 8 * 1024
    assert result.stdout_tail.endswith("199999\n")
    assert result.stderr_tail == "end\n"


async def test_manim_imports_inside_the_sandbox(settings: Settings, tmp_path: Path) -> None:
    job = job_for(settings, tmp_path, sys.executable, "-c", "import manim; print(manim.__version__)")
    result = await make_runner(settings).run(job)
    assert result.ok, result.stderr_tail
    assert result.stdout_tail.strip() == "0.22.0"


async def test_a_read_only_bind_under_the_hosts_tmp_stays_visible(settings: Settings, tmp_path: Path) -> None:
    # A checkout under /tmp binds its venv and harness there; the sandbox's own
    # /tmp must not hide them.
    shared = Path(tempfile.mkdtemp(prefix="framecast-test-bind-", dir="/tmp"))
    try:
        shared.chmod(0o755)
        script = shared / "hello.py"
        script.write_text("print('bound under /tmp')\n")
        script.chmod(0o644)
        job = job_for(settings, tmp_path, sys.executable, str(script), ro_binds=(script,))
        result = await make_runner(settings).run(job)
    finally:
        shutil.rmtree(shared)
    assert result.ok, result.stderr_tail
    assert result.stdout_tail.strip() == "bound under /tmp"


@pytest.mark.skipif(shutil.which("latex") is None, reason="TeX is optional (doctor warns)")
async def test_latex_compiles_inside_the_sandbox(settings: Settings, tmp_path: Path) -> None:
    (tmp_path / "project").mkdir()
    (tmp_path / "project" / "doc.tex").write_text(
        "\\documentclass[preview]{standalone}\\usepackage{amsmath}\n"
        "\\begin{document}$\\frac{a}{b}$\\end{document}\n"
    )
    job = job_for(
        settings, tmp_path, "sh", "-c",
        "latex -interaction=nonstopmode -halt-on-error -output-directory=/tmp doc.tex"
        " && dvisvgm --no-fonts /tmp/doc.dvi -o /artifacts/doc.svg",
        env={"openin_any": "p", "openout_any": "p", "shell_escape": "f", "TEXMFVAR": "/tmp/texmf-var"},
    )
    result = await make_runner(settings).run(job)
    assert result.ok, result.stdout_tail + result.stderr_tail
    assert (tmp_path / "artifacts" / "doc.svg").read_text().lstrip().startswith("<?xml")


async def test_missing_bubblewrap_is_refused_with_a_hint(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("FRAMECAST_SANDBOX__BWRAP", str(tmp_path / "no-such-bwrap"))
    settings = load_settings()
    runner = make_runner(settings)
    assert isinstance(runner, BubblewrapRunner)
    with pytest.raises(SandboxUnavailable) as caught:
        await runner.run(job_for(settings, tmp_path, "true"))
    assert caught.value.code == "E_SANDBOX_UNAVAILABLE"
    assert "apt-get install bubblewrap" in (caught.value.hint or "")
    assert "no-such-bwrap" in (caught.value.detail or "")


async def test_unsafe_local_runs_with_a_loud_warning(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("FRAMECAST_SANDBOX__MODE", "unsafe-local")
    monkeypatch.setenv("FRAMECAST_SANDBOX__BWRAP", str(tmp_path / "no-such-bwrap"))
    settings = load_settings()
    runner = make_runner(settings)
    assert isinstance(runner, UnsafeLocalRunner)
    (tmp_path / "project").mkdir()
    (tmp_path / "project" / "in.txt").write_text("input")
    job = job_for(
        settings, tmp_path, "sh", "-c", 'cat in.txt > "$OUT"; echo "$PWD"',
        env={"OUT": "/artifacts/out.txt"},
    )
    with caplog.at_level(logging.WARNING):
        result = await runner.run(job)
    assert result.ok, result.stderr_tail
    assert (tmp_path / "artifacts" / "out.txt").read_text() == "input"
    assert result.stdout_tail.strip() != "/project"  # a staging copy stood in for it
    assert any("UNSAFE-LOCAL" in r.getMessage() and r.levelno == logging.WARNING for r in caplog.records)


def test_read_back_refuses_a_symlink_in_the_destination(tmp_path: Path) -> None:
    source, dest, host = tmp_path / "src", tmp_path / "dest", tmp_path / "host.txt"
    source.mkdir()
    dest.mkdir()
    host.write_text("do not overwrite")
    (source / "video.mp4").write_bytes(b"data")
    (dest / "video.mp4").symlink_to(host)
    with pytest.raises(OutputError):
        copy_artifacts_out(source, dest, per_file_bytes=1 << 20, total_bytes=1 << 20)
    assert host.read_text() == "do not overwrite"


def test_read_back_enforces_the_size_caps(tmp_path: Path) -> None:
    source, dest = tmp_path / "src", tmp_path / "dest"
    source.mkdir()
    (source / "a").write_bytes(b"x" * 600)
    (source / "b").write_bytes(b"x" * 600)
    with pytest.raises(OutputError):
        copy_artifacts_out(source, dest, per_file_bytes=500, total_bytes=10_000)
    with pytest.raises(OutputError):
        copy_artifacts_out(source, tmp_path / "dest2", per_file_bytes=1000, total_bytes=1000)
    written = copy_artifacts_out(source, tmp_path / "dest3", per_file_bytes=1000, total_bytes=1200)
    assert sorted(p.name for p in written) == ["a", "b"]


def test_doctor_reports_missing_bubblewrap(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("FRAMECAST_SANDBOX__BWRAP", str(tmp_path / "no-such-bwrap"))
    result = CliRunner().invoke(doctor, ["--quiet"])
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert any(line.startswith("MISSING") and "bubblewrap" in line for line in lines)
    assert any("apt-get install" in line and "bubblewrap" in line for line in lines)
    assert not any(line.startswith("ok") for line in lines)  # --quiet: problems only


def test_doctor_passes_its_isolation_self_test(settings: Settings) -> None:
    result = CliRunner().invoke(doctor, [])
    bubblewrap = [line for line in result.output.splitlines() if "bubblewrap:" in line]
    assert bubblewrap and bubblewrap[0].startswith("ok"), result.output
    assert "self-test passed" in bubblewrap[0]
