"""The one narrow job API every sandbox runner implements.

A runner takes a :class:`SandboxJob` (a command, the two writable
directories and the limits) and returns a :class:`SandboxResult`. The local
bubblewrap runner, the unsafe-local development runner and, later, the
tool-runner container and distributed workers all have exactly this shape,
so the render pipeline never knows which one it talks to.

Inside the sandbox the job sees ``/project`` (its input, writable) and
``/artifacts`` (its output, writable, size-capped), a private ``/tmp``, and
read-only system paths. Progress reports are JSON lines the job writes to
file descriptor ``PROGRESS_FD``; the runner parses them and hands each one
to the ``progress`` callback as it arrives.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

__all__ = [
    "PROGRESS_FD",
    "ProgressCallback",
    "SandboxJob",
    "SandboxLimits",
    "SandboxResult",
    "SandboxRunner",
]

# The descriptor a job writes its progress JSON lines to (inherited by the sandbox).
PROGRESS_FD = 3

ProgressCallback = Callable[[dict[str, Any]], None]


@dataclass(frozen=True)
class SandboxLimits:
    wall_time_s: float
    memory_bytes: int
    pids: int
    cpu_s: int
    file_size_bytes: int
    open_files: int
    tmp_bytes: int
    artifacts_bytes: int


@dataclass(frozen=True)
class SandboxJob:
    """One command to run in a fresh sandbox.

    ``argv`` is resolved inside the sandbox, where paths are the same as on the
    host for read-only binds (the venv, the system) and ``/project``,
    ``/artifacts`` for the two job directories. ``env`` is the complete
    environment: nothing of the host's leaks in. ``ro_binds`` are extra host
    paths (files or directories) bound read-only at the same path.
    """

    argv: tuple[str, ...]
    project_dir: Path
    artifacts_dir: Path
    limits: SandboxLimits
    env: Mapping[str, str] = field(default_factory=dict)
    ro_binds: tuple[Path, ...] = ()
    workdir: str = "/project"


@dataclass(frozen=True)
class SandboxResult:
    exit_code: int | None          # None when killed by a signal
    signal: int | None             # the signal that ended the job, if any
    timed_out: bool                # killed at the wall-time limit
    memory_exceeded: bool          # killed by the memory limit (cgroup OOM or MemoryError)
    wall_s: float
    cpu_s: float
    max_rss_bytes: int
    stdout_tail: str               # last few KiB, for errors and logs
    stderr_tail: str

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.timed_out and not self.memory_exceeded


class SandboxRunner(Protocol):
    """Anything that can run a job in isolation."""

    name: str

    async def run(
        self, job: SandboxJob, progress: ProgressCallback | None = None
    ) -> SandboxResult: ...
