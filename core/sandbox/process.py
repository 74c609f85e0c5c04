"""Start one sandbox process and watch it until it ends or its time is up.

This is the part both runners share: the child (bubblewrap, or the job
itself in unsafe-local mode) is forked with its own session, joins the job's
cgroups, gets the progress pipe as descriptor ``PROGRESS_FD``, sets its
rlimits and drops to the sandbox uid before it executes. The parent reads
stdout and stderr into bounded tails and the progress pipe line by line,
waits on a pidfd, and reaps the child with ``wait4`` so CPU time and peak
RSS are exactly this job's (bubblewrap's pid 1 reaps everything inside, so
the figures cover the whole tree).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from core.errors import SandboxUnavailable
from core.sandbox.job import PROGRESS_FD, ProgressCallback
from core.sandbox.limits import RlimitPlan, apply_rlimits

__all__ = ["Identity", "Outcome", "TAIL_BYTES", "supervise"]

log = logging.getLogger(__name__)

TAIL_BYTES = 8 * 1024          # kept of stdout and of stderr
MAX_PROGRESS_LINE = 16 * 1024  # longer progress lines are dropped
_DRAIN_AFTER_EXIT_S = 1.0      # how long to wait for pipes to close once the child is gone


@dataclass(frozen=True)
class Identity:
    """Who the child runs as; None keeps the caller's own ids."""

    uid: int | None
    gid: int | None


@dataclass(frozen=True)
class Outcome:
    status: int          # raw wait status of the child
    timed_out: bool
    wall_s: float
    cpu_s: float
    max_rss_bytes: int
    stdout_tail: bytes
    stderr_tail: bytes


class _Tail:
    """Keeps only the last ``limit`` bytes of a stream."""

    def __init__(self, limit: int = TAIL_BYTES) -> None:
        self.limit = limit
        self.data = bytearray()

    def feed(self, chunk: bytes) -> None:
        self.data += chunk
        if len(self.data) > self.limit:
            del self.data[: len(self.data) - self.limit]


class _Lines:
    """Splits the progress stream into JSON objects; garbage is ignored."""

    def __init__(self, callback: ProgressCallback | None) -> None:
        self.callback = callback
        self.buffer = bytearray()
        self.skipping = False  # inside an over-long line: drop until its newline

    def feed(self, chunk: bytes) -> None:
        self.buffer += chunk
        while (end := self.buffer.find(b"\n")) >= 0:
            line = bytes(self.buffer[:end])
            del self.buffer[: end + 1]
            if self.skipping:
                self.skipping = False
            else:
                self._emit(line)
        if len(self.buffer) > MAX_PROGRESS_LINE:
            self.buffer.clear()
            self.skipping = True

    def _emit(self, line: bytes) -> None:
        if self.callback is None or len(line) > MAX_PROGRESS_LINE:
            return
        try:
            obj = json.loads(line)
        except ValueError:
            return
        if isinstance(obj, dict):
            try:
                self.callback(obj)
            except Exception:  # a broken observer must not break the job
                log.exception("progress callback failed")


def _preexec(
    progress_w: int,
    keep_fds: Sequence[int],
    procs_files: Sequence[str],
    plan: RlimitPlan,
    identity: Identity,
) -> Callable[[], None]:
    """What the forked child does before exec: only plain system calls."""

    def setup() -> None:
        pid = str(os.getpid()).encode()
        for path in procs_files:  # join the job's cgroups while still privileged
            fd = os.open(path, os.O_WRONLY)
            try:
                os.write(fd, pid)
            finally:
                os.close(fd)
        os.dup2(progress_w, PROGRESS_FD)
        os.set_inheritable(PROGRESS_FD, True)  # dup2 onto itself would keep CLOEXEC
        keep = {0, 1, 2, PROGRESS_FD, *keep_fds}
        for name in os.listdir("/proc/self/fd"):
            fd = int(name)
            if fd not in keep:
                with contextlib.suppress(OSError):  # the listdir's own fd is gone
                    os.set_inheritable(fd, False)
        for fd in keep_fds:
            os.set_inheritable(fd, True)
        apply_rlimits(plan)
        if identity.uid is not None and identity.gid is not None:
            os.setgroups([])
            os.setresgid(identity.gid, identity.gid, identity.gid)
            os.setresuid(identity.uid, identity.uid, identity.uid)

    return setup


async def supervise(
    argv: Sequence[str],
    *,
    env: Mapping[str, str],
    cwd: str,
    wall_time_s: float,
    plan: RlimitPlan,
    identity: Identity,
    keep_fds: Sequence[int] = (),
    procs_files: Sequence[str] = (),
    progress: ProgressCallback | None = None,
    on_timeout: Callable[[], Any] | None = None,
) -> Outcome:
    """Run ``argv`` to completion or to ``wall_time_s``, then SIGKILL its group.

    ``on_timeout`` is called (in a thread) after the group is killed, so the
    caller can also kill whatever escaped the group (the job's cgroup).
    """
    loop = asyncio.get_running_loop()
    progress_r, progress_w = os.pipe2(os.O_CLOEXEC | os.O_NONBLOCK)
    os.set_blocking(progress_w, True)
    started = time.monotonic()
    try:
        proc = subprocess.Popen(  # noqa: S603 - argv is built by the runner
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=dict(env),
            cwd=cwd,
            close_fds=False,  # the preexec hook marks every other fd close-on-exec
            start_new_session=True,
            preexec_fn=_preexec(progress_w, keep_fds, procs_files, plan, identity),
        )
    except (OSError, subprocess.SubprocessError) as exc:
        os.close(progress_r)
        # EAGAIN here usually means the sandbox uid is at its process limit.
        raise SandboxUnavailable(
            "The render sandbox could not be started.",
            hint="Try again in a moment; if it persists, run `framecast doctor`.",
            detail=f"{argv[0]}: {exc}",
        ) from exc
    except BaseException:
        os.close(progress_r)
        raise
    finally:
        os.close(progress_w)
    assert proc.stdout is not None and proc.stderr is not None
    pidfd = os.pidfd_open(proc.pid)
    out, err, lines = _Tail(), _Tail(), _Lines(progress)
    readers: dict[int, _Tail | _Lines] = {
        proc.stdout.fileno(): out, proc.stderr.fileno(): err, progress_r: lines,
    }
    open_streams: dict[int, asyncio.Future[None]] = {}
    for fd, sink in readers.items():
        os.set_blocking(fd, False)
        open_streams[fd] = _read_into(loop, fd, sink)
    exited: asyncio.Future[None] = loop.create_future()

    def on_exit() -> None:
        if not exited.done():
            exited.set_result(None)

    loop.add_reader(pidfd, on_exit)
    timed_out = False
    try:
        try:
            await asyncio.wait_for(asyncio.shield(exited), wall_time_s)
        except TimeoutError:
            timed_out = True
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            if on_timeout is not None:
                await asyncio.to_thread(on_timeout)
            await exited
        _pid, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
        wall_s = time.monotonic() - started
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.gather(*open_streams.values()), _DRAIN_AFTER_EXIT_S)
    finally:
        loop.remove_reader(pidfd)
        os.close(pidfd)
        for fd in readers:
            loop.remove_reader(fd)
        if proc.returncode is None:  # cancelled: do not leave the job running
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(proc.pid, 0)
            proc.returncode = -signal.SIGKILL
        proc.stdout.close()
        proc.stderr.close()
        os.close(progress_r)
    return Outcome(
        status=status,
        timed_out=timed_out,
        wall_s=wall_s,
        cpu_s=usage.ru_utime + usage.ru_stime,
        max_rss_bytes=usage.ru_maxrss * 1024,  # Linux reports KiB
        stdout_tail=bytes(out.data),
        stderr_tail=bytes(err.data),
    )


def _read_into(
    loop: asyncio.AbstractEventLoop, fd: int, sink: _Tail | _Lines
) -> asyncio.Future[None]:
    """Feed ``sink`` from ``fd`` whenever it is readable; resolves at EOF."""
    done: asyncio.Future[None] = loop.create_future()

    def on_readable() -> None:
        try:
            chunk = os.read(fd, 65536)
        except BlockingIOError:
            return
        except OSError:
            chunk = b""
        if chunk:
            sink.feed(chunk)
            return
        loop.remove_reader(fd)
        if not done.done():
            done.set_result(None)

    loop.add_reader(fd, on_readable)
    return done
