"""The render pipeline: preflight -> execute -> postflight, each timed and logged.

    request ──preflight──> duration, prompt and code checks (no work yet)
            ──execute────> harness.py runs the scene in a fresh sandbox
            ──postflight─> probe, watermark (trial), verify, fit, store

Every failure is a :mod:`core.errors` error; :func:`render` catches them,
writes the job record anyway and returns them in the outcome, so callers
(the CLI, the orchestrator) have one shape to handle. Anything else is a
bug and propagates.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import re
import secrets
import shutil
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from core.errors import Cancelled, FramecastError, InputError, OutputError
from core.policy import TierSpec, check_duration
from core.render import harness, postflight
from core.render.diagnosis import map_sandbox_result
from core.render.preflight import MAX_CODE_BYTES, PreflightReport, check_code, check_prompt
from core.render.record import JobRecord, write_atomic
from core.sandbox import limits_for
from core.sandbox.job import ProgressCallback, SandboxJob, SandboxResult, SandboxRunner

if TYPE_CHECKING:
    from core.config import Settings

__all__ = ["HARNESS_PATH", "RenderOutcome", "RenderRequest", "new_job_id", "render", "sandbox_env"]

log = logging.getLogger(__name__)

HARNESS_PATH = Path(harness.__file__).resolve()
# Inside the sandbox: manim's media (and so TeX's output) live in the private /tmp.
_MEDIA_DIR = "/tmp/media"
_JOB_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
_SLUG = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9_.-]*")


def new_job_id() -> str:
    """Sortable and unguessable: UTC timestamp + 6 random hex digits."""
    return f"{datetime.now(UTC):%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"


def sandbox_env() -> dict[str, str]:
    """The whole environment of a render: nothing of the host's leaks in."""
    tex = "/tmp/texmf"
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": "/tmp",
        "LANG": "C.UTF-8",
        "XDG_CACHE_HOME": "/tmp/.cache",
        "PYTHONDONTWRITEBYTECODE": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "MPLBACKEND": "Agg",
        # TeX hardening (kpathsea reads these from the environment): no \write18 at
        # all, and \input/\openout only inside the job's own TeX folder.
        "shell_escape": "f",
        "shell_escape_commands": "",
        "openin_any": "p",
        "openout_any": "p",
        "TEXMFOUTPUT": f"{_MEDIA_DIR}/Tex",
        "TEXMFVAR": f"{tex}-var",
        "TEXMFCONFIG": f"{tex}-config",
        "TEXMFCACHE": f"{tex}-cache",
        "TEXMFHOME": f"{tex}-home",
        # TeX wraps log lines at 79 characters; unwrapped, an error line survives whole.
        "max_print_line": "1000",
    }


@dataclass(frozen=True)
class RenderRequest:
    code: str | bytes
    tier: TierSpec
    job_id: str = field(default_factory=new_job_id)
    duration_s: float | None = None          # requested (refused before work when over the cap)
    expected_duration_s: float | None = None  # what the scene should last, for progress percentages
    prompt: str | None = None
    job_dir: Path | None = None               # default <data_dir>/<workspace>/jobs/<job_id>
    workspace: str = "local"
    upload_limit_bytes: int | None = None
    notes: tuple[str, ...] = ()               # e.g. what the composer did not understand


@dataclass
class RenderOutcome:
    job_id: str
    job_dir: Path
    record: Path
    tier: TierSpec
    error: FramecastError | None = None
    video: Path | None = None
    scene: str | None = None
    duration_s: float | None = None
    watermarked: bool = False
    timings: dict[str, float] = field(default_factory=dict)
    sandbox: SandboxResult | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_dict(self) -> dict[str, Any]:
        err = self.error
        return {
            "ok": self.ok,
            "code": err.code if err else "OK",
            "message": err.message if err else "Rendered.",
            "hint": err.hint if err else None,
            "job_id": self.job_id,
            "video": str(self.video) if self.video else None,
            "record": str(self.record),
            "scene": self.scene,
            "duration_s": self.duration_s,
            "width": self.tier.width,
            "height": self.tier.height,
            "fps": self.tier.fps,
            "watermarked": self.watermarked,
            "timings": {k: round(v, 3) for k, v in self.timings.items()},
            "max_rss_bytes": self.sandbox.max_rss_bytes if self.sandbox else None,
        }


def _workspace_dir(settings: Settings, workspace: str) -> Path:
    """The workspace's folder, named exactly as the Markdown mirror names it."""
    if not _SLUG.fullmatch(workspace):  # slugs are their own encoding; skip the import
        from core.mirror import safe_part

        workspace = safe_part(workspace)
    return settings.data_dir / workspace


class _Preload:
    """Imports a module in a thread once started, so a later stage finds it loaded.

    The render pipeline starts numpy and Pillow (the watermark checks) at the
    sandbox's first report: they then load while the scene renders instead of
    slowing the host's and the sandbox's start-up.
    """

    def __init__(self, module: str | None) -> None:
        self.module = module  # None: nothing to load
        self.task: asyncio.Future[ModuleType] | None = None

    def start(self) -> None:
        if self.task is None and self.module is not None:
            self.task = asyncio.ensure_future(asyncio.to_thread(importlib.import_module, self.module))

    async def wait(self) -> None:
        if self.task is not None:
            await self.task


@contextmanager
def _stage(name: str, outcome: RenderOutcome, notify: ProgressCallback) -> Iterator[None]:
    notify({"type": "stage", "stage": name})
    start = time.perf_counter()
    try:
        yield
    finally:
        outcome.timings[name] = time.perf_counter() - start
        log.info("job %s: %s took %.3fs", outcome.job_id, name, outcome.timings[name])


async def render(
    request: RenderRequest,
    *,
    settings: Settings,
    runner: SandboxRunner,
    progress: ProgressCallback | None = None,
) -> RenderOutcome:
    """Render one request; failures come back in ``outcome.error`` with the record written."""
    if not _JOB_ID.fullmatch(request.job_id):
        raise InputError(f"Invalid job id {request.job_id!r}.")
    spec = request.tier
    job_dir = request.job_dir or _workspace_dir(settings, request.workspace) / "jobs" / request.job_id
    outcome = RenderOutcome(request.job_id, job_dir, job_dir / "job.md", spec)
    notify: ProgressCallback = progress or (lambda event: None)
    report: PreflightReport | None = None
    # numpy and Pillow: only the watermark needs them (a tier without one is not
    # pixel-checked: nothing in this pipeline can put a logo on its videos).
    checks = _Preload("core.render.watermark" if spec.watermark else None)
    work = job_dir / ".work"
    try:
        with _stage("preflight", outcome, notify):
            check_duration(spec, request.duration_s)
            if request.prompt is not None:
                check_prompt(request.prompt, max_chars=settings.codegen.max_prompt_chars)
            report = check_code(request.code)
            outcome.scene = report.scene
        with _stage("execute", outcome, notify):
            scene_duration = await _execute(request, report, settings, runner, notify, work, outcome, checks)
        with _stage("postflight", outcome, notify):
            await checks.wait()
            await _postflight(request, report, work, scene_duration, outcome, notify)
        notify({"type": "stage", "stage": "done", "percent": 100})
    except FramecastError as exc:
        outcome.error = exc
        log.info("job %s failed: %s %s %s", request.job_id, exc.code, exc.message, exc.detail or "")
    except asyncio.CancelledError:
        outcome.error = Cancelled()
        raise
    except Exception as exc:  # a bug: recorded as one, then raised
        outcome.error = FramecastError(detail=repr(exc))
        raise
    finally:
        await checks.wait()  # an import; never left running behind the caller's back
        shutil.rmtree(work, ignore_errors=True)
        _record(request, report, outcome).write(outcome.record)
    return outcome


async def _execute(
    request: RenderRequest, report: PreflightReport, settings: Settings,
    runner: SandboxRunner, notify: ProgressCallback, work: Path, outcome: RenderOutcome,
    checks: _Preload,
) -> float:
    spec = request.tier
    project, artifacts = work / "project", work / "artifacts"
    shutil.rmtree(work, ignore_errors=True)
    project.mkdir(parents=True)
    artifacts.mkdir()
    (project / "scene.py").write_text(report.code, encoding="utf-8")
    expected = request.expected_duration_s or request.duration_s or spec.max_duration_s
    job = SandboxJob(
        argv=(
            sys.executable, "-I", "-B", str(HARNESS_PATH),
            "--scene-file", "/project/scene.py", "--scene", report.scene,
            "--width", str(spec.width), "--height", str(spec.height), "--fps", str(spec.fps),
            "--cap", f"{spec.max_duration_s:g}", "--expected", f"{expected:g}",
            "--out", "/artifacts/video.mp4", "--media-dir", _MEDIA_DIR,
        ),
        project_dir=project,
        artifacts_dir=artifacts,
        limits=limits_for(settings, spec),
        env=sandbox_env(),
        ro_binds=(HARNESS_PATH,),
    )
    final: dict[str, Any] = {}

    def on_event(event: dict[str, Any]) -> None:
        checks.start()  # the harness is up: its start-up no longer competes for the CPU
        if event.get("type") in ("done", "error"):
            final.update(event)
        else:
            notify(event)

    result = await runner.run(job, on_event)
    outcome.sandbox = result
    log.info("job %s: sandbox exit=%s wall=%.2fs cpu=%.2fs rss=%dMB", request.job_id,
             result.exit_code, result.wall_s, result.cpu_s, result.max_rss_bytes >> 20)
    map_sandbox_result(result, final, spec)
    if not (artifacts / "video.mp4").is_file():
        raise OutputError("The render finished but produced no video.", detail=result.stderr_tail)
    try:
        return float(final["scene_duration"])
    except (KeyError, TypeError, ValueError):
        raise OutputError("The render did not report its duration.", detail=repr(final)) from None


async def _postflight(
    request: RenderRequest, report: PreflightReport, work: Path, scene_duration: float,
    outcome: RenderOutcome, notify: ProgressCallback,
) -> None:
    spec = request.tier
    video = work / "artifacts" / "video.mp4"
    notify({"type": "progress", "stage": "postflight", "step": "probe"})
    info = await postflight.probe(video)
    postflight.verify_video(info, spec, scene_duration)
    final = video
    if spec.watermark:
        from core.render import watermark  # loaded during execute (see render)

        notify({"type": "progress", "stage": "postflight", "step": "watermark"})
        final = work / "watermarked.mp4"
        await watermark.burn(video, final, info)
        postflight.verify_video(await postflight.probe(final), spec, scene_duration)
        await watermark.verify_present(video, final, info)
    if request.upload_limit_bytes is not None:
        notify({"type": "progress", "stage": "postflight", "step": "fit"})
        before = await postflight.probe(final)
        fitted = await postflight.fit_upload_limit(final, before, request.upload_limit_bytes)
        if fitted != before:
            postflight.verify_video(fitted, spec, scene_duration)
            if spec.watermark:
                from core.render import watermark

                await watermark.verify_present(video, final, info, exact=False)
    notify({"type": "progress", "stage": "postflight", "step": "store"})
    outcome.job_dir.mkdir(parents=True, exist_ok=True)
    write_atomic(outcome.job_dir / "scene.py", report.code.encode("utf-8"))
    final.replace(outcome.job_dir / "video.mp4")  # same filesystem: an atomic rename
    outcome.video = outcome.job_dir / "video.mp4"
    outcome.duration_s = round(scene_duration, 3)
    outcome.watermarked = spec.watermark


def _record(request: RenderRequest, report: PreflightReport | None, outcome: RenderOutcome) -> JobRecord:
    spec, err = request.tier, outcome.error
    if report is not None:
        code: str | None = report.code
    else:  # refused before it decoded: keep a readable, bounded copy
        raw = request.code if isinstance(request.code, str) else request.code.decode("utf-8", "replace")
        code = raw[:MAX_CODE_BYTES]
    return JobRecord(
        job_id=request.job_id, tier=spec.name.value, preset=spec.label,
        width=spec.width, height=spec.height, fps=spec.fps,
        prompt=request.prompt, code=code, scene=outcome.scene,
        requested_duration_s=request.duration_s, duration_s=outcome.duration_s,
        timings=dict(outcome.timings), result=err.code if err else "OK",
        message=err.message if err else None, hint=err.hint if err else None,
        watermarked=outcome.watermarked,
        video=outcome.video.name if outcome.video else None, notes=list(request.notes),
    )
