"""The life of one job, shared by every local runner.

stage the project -> create the job's cgroups -> start and supervise the
child -> read the cgroup figures -> kill anything left and remove the groups
-> copy the artifacts back -> delete the staging dir -> SandboxResult.

Subclasses only say how to start the child (:meth:`LocalRunner.command`):
bubblewrap around the job, or the job itself in unsafe-local mode.
"""

from __future__ import annotations

import asyncio
import os
import signal
from abc import ABC, abstractmethod
from collections.abc import Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from core.sandbox.cgroup import CgroupUsage, JobCgroup
from core.sandbox.job import ProgressCallback, SandboxJob, SandboxResult
from core.sandbox.limits import plan_rlimits
from core.sandbox.process import Identity, Outcome, supervise
from core.sandbox.staging import Staging, copy_artifacts_out

if TYPE_CHECKING:
    from core.config import Settings

__all__ = ["Command", "LocalRunner", "base_env"]

# Threaded BLAS/OpenMP pools would multiply memory and tasks per job for no
# gain at preview sizes, so every job runs them single-threaded.
_THREAD_ENV = {
    "OPENBLAS_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "NUMEXPR_NUM_THREADS": "1",
}


def base_env(venv_bin: str) -> dict[str, str]:
    """The environment every job starts from; ``job.env`` overrides it."""
    return {
        "PATH": f"{venv_bin}:/usr/local/bin:/usr/bin:/bin",
        "HOME": "/tmp",
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        **_THREAD_ENV,
    }


@dataclass(frozen=True)
class Command:
    """How to start the child: argv, its own environment, cwd, fds it inherits."""

    argv: tuple[str, ...]
    env: Mapping[str, str]
    cwd: str
    keep_fds: tuple[int, ...] = field(default=())


class LocalRunner(ABC):
    """Runs jobs on this machine; subclasses build the command."""

    name = "local"
    # Whether wait4's rusage of the child covers the whole job. bubblewrap's
    # monitor exits without reaping its pid 1, so there only the cgroup counts.
    rusage_covers_job = True

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    # -- what subclasses provide -------------------------------------------------
    async def check(self) -> None:
        """Raise SandboxUnavailable when this runner cannot run here."""

    async def ready(self) -> None:
        """What every job needs before it starts (by default the full :meth:`check`)."""
        await self.check()

    async def diagnose(self, result: SandboxResult) -> None:
        """After a job failed: raise SandboxUnavailable if the runner, not the job, is to blame."""

    @abstractmethod
    def command(self, job: SandboxJob, staging: Staging) -> AbstractContextManager[Command]:
        """The child to start for ``job``; resources it opens live until the exit."""

    def decode_status(self, status: int) -> tuple[int | None, int | None]:
        """(exit_code, signal) from a wait status."""
        if os.WIFSIGNALED(status):
            return None, os.WTERMSIG(status)
        return os.WEXITSTATUS(status), None

    # -- the shared life of a job ------------------------------------------------
    def identity(self) -> tuple[int, int, bool]:
        """(uid, gid, dedicated): as root, the sandbox uid; otherwise ourselves."""
        if os.geteuid() == 0:
            uid = self.settings.sandbox.uid
            return uid, uid, True
        return os.getuid(), os.getgid(), False

    async def run(self, job: SandboxJob, progress: ProgressCallback | None = None) -> SandboxResult:
        uid, gid, dedicated = self.identity()
        limits = job.limits
        # The runner's own preparation overlaps the copy of the project.
        ready = asyncio.ensure_future(self.ready())
        try:
            staging = await asyncio.to_thread(Staging.create, job.project_dir, uid=uid, gid=gid)
        except BaseException:
            await asyncio.gather(ready, return_exceptions=True)
            raise
        cgroup = JobCgroup({})
        try:
            if os.geteuid() == 0:
                cgroup = await asyncio.to_thread(
                    JobCgroup.create, staging.path.name,
                    memory_bytes=limits.memory_bytes, pids=limits.pids,
                )
            await ready
            plan = plan_rlimits(
                limits,
                run_uid=uid,
                dedicated_uid=dedicated,
                memory_cgroup=cgroup.memory,
                pids_cgroup=cgroup.pids,
                concurrency=self.settings.queue.concurrency,
            )
            with self.command(job, staging) as cmd:
                outcome = await supervise(
                    cmd.argv,
                    env=cmd.env,
                    cwd=cmd.cwd,
                    wall_time_s=limits.wall_time_s,
                    plan=plan,
                    identity=Identity(uid, gid) if dedicated else Identity(None, None),
                    keep_fds=cmd.keep_fds,
                    procs_files=cgroup.procs_files(),
                    progress=progress,
                    on_timeout=cgroup.kill_all,
                )
            usage = cgroup.usage()
            await asyncio.to_thread(cgroup.remove)
            await asyncio.to_thread(
                copy_artifacts_out, staging.artifacts, job.artifacts_dir,
                per_file_bytes=limits.file_size_bytes, total_bytes=limits.artifacts_bytes,
            )
        finally:
            await asyncio.gather(ready, return_exceptions=True)  # settled even when the cgroup failed first
            await asyncio.to_thread(cgroup.remove)
            await asyncio.to_thread(staging.remove)
        result = self._result(outcome, usage)
        if result.exit_code != 0:
            await self.diagnose(result)
        return result

    def _result(self, outcome: Outcome, usage: CgroupUsage) -> SandboxResult:
        exit_code: int | None
        sig: int | None
        if outcome.timed_out:
            exit_code, sig = None, signal.SIGKILL.value
        else:
            exit_code, sig = self.decode_status(outcome.status)
        stderr = outcome.stderr_tail.decode("utf-8", "replace")
        memory_exceeded = not outcome.timed_out and (
            usage.oom_kills > 0
            or (sig == signal.SIGKILL and usage.memory_failcnt > 0)
            or (exit_code not in (0, None) and "MemoryError" in stderr)
        )
        measured = self.rusage_covers_job
        return SandboxResult(
            exit_code=exit_code,
            signal=sig,
            timed_out=outcome.timed_out,
            memory_exceeded=memory_exceeded,
            wall_s=outcome.wall_s,
            cpu_s=usage.cpu_s if usage.cpu_s is not None else (outcome.cpu_s if measured else 0.0),
            max_rss_bytes=(
                usage.memory_peak_bytes if usage.memory_peak_bytes is not None
                else (outcome.max_rss_bytes if measured else 0)
            ),
            stdout_tail=outcome.stdout_tail.decode("utf-8", "replace"),
            stderr_tail=stderr,
        )
