"""Per-job cgroups (v1 memory, pids and cpuacct) where the host allows them.

A job's group is created under the cgroup framecast itself runs in
(``<mount>/<our path>/framecast/<job>``), so any limit the host puts on
framecast still covers its jobs. The child process writes its own pid into
``cgroup.procs`` before it executes bubblewrap, so nothing the job starts can
escape the group. At the end every task still in the group is killed and the
group removed.

When the controllers are missing or not writable (not root, cgroups v2 only,
a read-only /sys/fs/cgroup) the job runs with rlimits alone; ``available()``
says which controllers work so ``framecast doctor`` can report it.
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = ["CgroupUsage", "JobCgroup", "available"]

# memory and pids enforce limits; cpuacct only measures (CPU time of the whole tree).
_CONTROLLERS = ("memory", "pids", "cpuacct")
_PARENT = "framecast"


@dataclass(frozen=True)
class CgroupUsage:
    memory_peak_bytes: int | None  # None: no memory group, not measured
    memory_failcnt: int
    oom_kills: int
    cpu_s: float | None             # None: no cpuacct group, not measured


def _mounts() -> dict[str, Path]:
    """cgroup v1 mount point of each controller we use."""
    found: dict[str, Path] = {}
    try:
        lines = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return found
    for line in lines:
        pre, _, post = line.partition(" - ")
        fstype, _source, *opts = post.split()
        if fstype != "cgroup":
            continue
        mount_point = Path(pre.split()[4])
        options = set(",".join(opts).split(","))
        for controller in _CONTROLLERS:
            if controller in options:
                found[controller] = mount_point
    return found


def _own_paths() -> dict[str, str]:
    """Our cgroup path inside each v1 hierarchy (from /proc/self/cgroup)."""
    paths: dict[str, str] = {}
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            _id, controllers, path = line.split(":", 2)
            for controller in controllers.split(","):
                paths[controller] = path
    return paths


def _parents() -> dict[str, Path]:
    mounts, own = _mounts(), _own_paths()
    return {
        c: mounts[c] / own.get(c, "/").lstrip("/") / _PARENT for c in _CONTROLLERS if c in mounts
    }


def available() -> dict[str, bool]:
    """Which controllers framecast can create job groups in, right now."""
    result = {c: False for c in _CONTROLLERS}
    for controller, parent in _parents().items():
        probe = parent / f"probe-{os.getpid()}"
        try:
            parent.mkdir(exist_ok=True)
            probe.mkdir()
            probe.rmdir()
        except OSError:
            continue
        result[controller] = True
    return result


class JobCgroup:
    """The memory and pids groups of one job (either may be absent)."""

    def __init__(self, dirs: dict[str, Path]) -> None:
        self.dirs = dirs

    @classmethod
    def create(cls, name: str, *, memory_bytes: int, pids: int) -> JobCgroup:
        """Make the groups and set their limits; controllers that fail are skipped."""
        dirs: dict[str, Path] = {}
        for controller, parent in _parents().items():
            path = parent / name
            try:
                _mkdir_child(parent, path)
                if controller == "memory":
                    (path / "memory.limit_in_bytes").write_text(str(memory_bytes))
                    swap = path / "memory.memsw.limit_in_bytes"
                    if swap.exists():  # no swap: memory+swap = memory
                        swap.write_text(str(memory_bytes))
                elif controller == "pids":
                    (path / "pids.max").write_text(str(pids))
            except OSError:
                with contextlib.suppress(OSError):
                    path.rmdir()
                continue
            dirs[controller] = path
        return cls(dirs)

    @property
    def memory(self) -> bool:
        return "memory" in self.dirs

    @property
    def pids(self) -> bool:
        return "pids" in self.dirs

    def procs_files(self) -> tuple[str, ...]:
        """The files the child writes its pid into before it executes."""
        return tuple(str(d / "cgroup.procs") for d in self.dirs.values())

    def usage(self) -> CgroupUsage:
        cpu = self.dirs.get("cpuacct")
        cpu_s = int((cpu / "cpuacct.usage").read_text()) / 1e9 if cpu else None
        path = self.dirs.get("memory")
        if path is None:
            return CgroupUsage(None, 0, 0, cpu_s)
        oom = dict(
            line.split() for line in (path / "memory.oom_control").read_text().splitlines()
        )
        return CgroupUsage(
            memory_peak_bytes=int((path / "memory.max_usage_in_bytes").read_text()),
            memory_failcnt=int((path / "memory.failcnt").read_text()),
            oom_kills=int(oom.get("oom_kill", 0)),
            cpu_s=cpu_s,
        )

    def _tasks(self) -> set[int]:
        tasks: set[int] = set()
        for path in self.dirs.values():
            with contextlib.suppress(OSError):
                tasks.update(int(p) for p in (path / "cgroup.procs").read_text().split())
        return tasks

    def kill_all(self, timeout_s: float = 5.0) -> bool:
        """SIGKILL every task in the groups until none is left; True when empty."""
        deadline = time.monotonic() + timeout_s
        while tasks := self._tasks():
            for pid in tasks:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)
        return True

    def remove(self, timeout_s: float = 2.0) -> None:
        """Kill what is left, then remove the groups (retrying while tasks exit)."""
        self.kill_all()
        deadline = time.monotonic() + timeout_s
        for path in self.dirs.values():
            while True:
                try:
                    path.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError as exc:
                    if exc.errno != errno.EBUSY or time.monotonic() > deadline:
                        break
                    time.sleep(0.02)
            with contextlib.suppress(OSError):  # still in use by another job: EBUSY
                path.parent.rmdir()
        self.dirs = {}


def _mkdir_child(parent: Path, path: Path) -> None:
    """Create ``parent/<job>``; the shared parent may vanish under us (another
    job removing it as it finishes), so try again once."""
    for attempt in (1, 2):
        parent.mkdir(exist_ok=True)
        try:
            path.mkdir()
            return
        except FileNotFoundError:
            if attempt == 2:
                raise
