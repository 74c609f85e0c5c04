"""Resource limits of one sandboxed job: from settings to rlimits.

Wall time comes from the tier (it is part of the product contract); every
other figure comes from ``settings.sandbox``. The rlimits are set in the
child just before it executes bubblewrap, so bubblewrap and everything the
job starts inherit them. They are the floor that always applies; the
per-job memory and process cgroups (``core.sandbox.cgroup``) are stricter
where the host lets us create them.
"""

from __future__ import annotations

import os
import resource
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from core.sandbox.job import SandboxLimits

if TYPE_CHECKING:
    from core.config import Settings
    from core.policy import TierSpec

__all__ = ["RlimitPlan", "apply_rlimits", "limits_for", "plan_rlimits", "tasks_of_uid"]

_MIB = 1024 * 1024

# With a memory cgroup counting real memory, RLIMIT_AS only has to stop absurd
# single allocations; address space is much larger than resident memory for
# numpy, cairo and the video encoder, so it gets this much headroom.
_AS_HEADROOM_WITH_CGROUP = 2


def limits_for(settings: Settings, spec: TierSpec) -> SandboxLimits:
    """The limits of a render on ``spec``'s tier."""
    box = settings.sandbox
    return SandboxLimits(
        wall_time_s=spec.wall_time_s,
        memory_bytes=box.memory_mb * _MIB,
        pids=box.pids,
        cpu_s=box.cpu_s,
        file_size_bytes=box.file_size_mb * _MIB,
        open_files=box.open_files,
        tmp_bytes=box.tmp_mb * _MIB,
        artifacts_bytes=box.artifacts_mb * _MIB,
    )


@dataclass(frozen=True)
class RlimitPlan:
    """The rlimits one job's child process sets before it executes."""

    values: tuple[tuple[int, int], ...]  # (resource.RLIMIT_*, soft = hard)

    def describe(self) -> dict[str, int]:
        names = {getattr(resource, n): n for n in dir(resource) if n.startswith("RLIMIT_")}
        return {names[res]: value for res, value in self.values}


def tasks_of_uid(uid: int) -> int:
    """How many tasks (threads count: RLIMIT_NPROC counts them) ``uid`` runs now."""
    count = 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            status = Path(entry.path, "status").read_text()
        except OSError:
            continue  # exited while we looked
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        if int(fields.get("Uid", "-1").split()[0]) == uid:
            count += int(fields.get("Threads", "1").strip())
    return count


def plan_rlimits(
    limits: SandboxLimits,
    *,
    run_uid: int,
    dedicated_uid: bool,
    memory_cgroup: bool,
    pids_cgroup: bool,
    concurrency: int,
) -> RlimitPlan:
    """Choose the rlimits for one job.

    RLIMIT_NPROC counts every task of the *real uid* on the host, not of one
    job. When framecast runs as root the jobs run as a dedicated sandbox uid,
    so the limit is shared by the jobs running at once: with a pids cgroup
    enforcing the per-job figure, the rlimit is only a backstop sized for
    ``concurrency`` jobs plus one operator/doctor run. Without the cgroup it
    is the per-job figure itself. As a non-root user the job runs as you, so
    the tasks you already run are added on top (measured now, from /proc).
    """
    if pids_cgroup:
        nproc = limits.pids * (concurrency + 1)
    else:
        nproc = limits.pids
    if not dedicated_uid:
        nproc += tasks_of_uid(run_uid)
    address_space = limits.memory_bytes * (_AS_HEADROOM_WITH_CGROUP if memory_cgroup else 1)
    return RlimitPlan(
        values=(
            (resource.RLIMIT_AS, address_space),
            (resource.RLIMIT_NPROC, nproc),
            (resource.RLIMIT_CPU, limits.cpu_s),
            (resource.RLIMIT_FSIZE, limits.file_size_bytes),
            (resource.RLIMIT_NOFILE, limits.open_files),
            (resource.RLIMIT_CORE, 0),
        )
    )


def apply_rlimits(plan: RlimitPlan) -> None:
    """Set every limit (soft = hard, so the job cannot raise it back).

    Runs in the forked child before exec: only plain system calls here. A
    limit above the current hard limit cannot be set by a non-root user, so
    it is clamped to what the hard limit allows.
    """
    for res, value in plan.values:
        _soft, hard = resource.getrlimit(res)
        if hard != resource.RLIM_INFINITY and value > hard and os.geteuid() != 0:
            value = hard
        resource.setrlimit(res, (value, value))
