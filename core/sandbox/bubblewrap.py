"""The default runner: every job in a fresh bubblewrap sandbox.

Inside, the job sees a read-only system (only the paths Python, manim,
ffmpeg, fonts and TeX need), the framecast virtualenv read-only, its own
``/project`` and ``/artifacts`` (staging copies, writable), a size-capped
private ``/tmp``, a minimal ``/dev`` and a ``/proc`` of its own pid
namespace. Every namespace is new (no network: only the sandbox's own
loopback, connected to nothing), the root is read-only, no capability is
kept, nested user namespaces are disabled, the environment is exactly the
job's, and the seccomp filter of ``core.sandbox.seccomp`` is applied just
before the job executes. ``/etc/passwd`` and ``/etc/group`` are synthesised
with the sandbox user only (so ``getpwuid`` works and no host account name
leaks); ``/etc/shadow``, ``/home``, ``/root``, the data dir and the source
tree are simply not there.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from core.errors import SandboxUnavailable
from core.sandbox.job import SandboxJob, SandboxResult
from core.sandbox.runner import Command, LocalRunner, base_env
from core.sandbox.seccomp import build_filter, filter_fd
from core.sandbox.staging import Staging

__all__ = ["BubblewrapRunner", "SYSTEM_RO_PATHS", "TOP_LEVEL_LINKS", "bwrap_version", "python_paths"]

# Read-only system paths. /usr holds Python, the shared libraries, ffmpeg,
# TeX and the fonts; the /etc and /var entries are the configuration those
# read at run time. Missing entries are skipped (--ro-bind-try).
SYSTEM_RO_PATHS: tuple[str, ...] = (
    "/usr",
    "/etc/ld.so.cache",          # the dynamic linker's library index
    "/etc/alternatives",         # Debian's tool symlinks (/usr/bin/* -> here -> real binary)
    "/etc/fonts",                # fontconfig configuration
    "/var/cache/fontconfig",     # prebuilt font cache: no rescan of every font per job
    "/etc/texmf",                # TeX Live configuration (texmf.cnf)
    "/var/lib/texmf",            # TeX formats and file database (latex.fmt, ls-R)
    "/etc/localtime",
)
# On merged-/usr systems these are symlinks into /usr and are recreated as
# such; on older layouts they are real directories and bound read-only.
TOP_LEVEL_LINKS: tuple[str, ...] = ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")

_PROBE_TIMEOUT_S = 15
_version_cache: dict[str, _Probe] = {}                 # bwrap setting -> its version, or why not usable
_trial_cache: dict[tuple[str, int], str | None] = {}  # (bwrap, uid) -> why the trial sandbox failed


def python_paths() -> tuple[str, ...]:
    """The virtualenv (and its base interpreter if it lives outside /usr)."""
    paths = {sys.prefix, sys.exec_prefix, sys.base_prefix, sys.base_exec_prefix}
    return tuple(sorted(p for p in paths if not _under(p, "/usr")))


def _under(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


def _system_args() -> list[str]:
    args: list[str] = []
    for path in SYSTEM_RO_PATHS:
        args += ["--ro-bind-try", path, path]
    for path in TOP_LEVEL_LINKS:
        if os.path.islink(path):
            args += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            args += ["--ro-bind", path, path]
    return args


_ISOLATION = (
    "--unshare-all", "--unshare-user",
    "--die-with-parent", "--new-session", "--clearenv", "--cap-drop", "ALL",
)
_MIN_VERSION = (0, 5, 0)             # --size for the /tmp tmpfs
_DISABLE_USERNS_VERSION = (0, 8, 0)  # --disable-userns (seccomp refuses new user namespaces anyway)


def _isolation(version: tuple[int, ...]) -> list[str]:
    extra = ["--disable-userns"] if version >= _DISABLE_USERNS_VERSION else []
    return [*_ISOLATION, *extra]


def _parse_version(text: str | None) -> tuple[int, ...]:
    match = re.search(r"(\d+)\.(\d+)(?:\.(\d+))?", text or "")
    return tuple(int(part or 0) for part in match.groups()) if match else ()


def bwrap_version(bwrap: str) -> str | None:
    """``bwrap --version``'s answer, or None when it cannot be run."""
    path = shutil.which(bwrap)
    if path is None:
        return None
    try:
        done = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=10)
    except OSError:
        return None
    return done.stdout.strip() or None


@dataclass(frozen=True)
class _Probe:
    """What ``bwrap --version`` told: the version, or why this bubblewrap cannot be used."""

    error: str | None
    version: tuple[int, ...] = ()


class BubblewrapRunner(LocalRunner):
    """Runs each job in a fresh bubblewrap sandbox as an unprivileged uid."""

    name = "bubblewrap"
    rusage_covers_job = False
    _version: tuple[int, ...] = ()  # set by check(): which flags this bubblewrap knows

    @property
    def bwrap(self) -> str:
        return shutil.which(self.settings.sandbox.bwrap) or self.settings.sandbox.bwrap

    async def check(self) -> None:
        """The full self-check: bubblewrap is usable and a trial sandbox starts as the job's uid."""
        await self.ready()
        uid = self.identity()[0]
        key = (self.bwrap, uid)
        if key not in _trial_cache:
            _trial_cache[key] = await asyncio.to_thread(self._trial, uid)
        if _trial_cache[key] is not None:
            raise SandboxUnavailable(detail=_trial_cache[key])

    async def ready(self) -> None:
        """Before every job: bubblewrap runs and is new enough, and the seccomp filter is built.

        Both are cached per process. The trial sandbox of :meth:`check` is not
        needed here: a sandbox that cannot be set up stops the job's own
        bubblewrap the same way, before anything of the job runs, and
        :meth:`diagnose` then runs the trial to say why.
        """
        probe = await asyncio.to_thread(self._prepare)
        if probe.error is not None:
            raise SandboxUnavailable(detail=probe.error)
        self._version = probe.version

    async def diagnose(self, result: SandboxResult) -> None:
        # bubblewrap reports its own failures as "bwrap: ..." with exit status 1.
        if result.exit_code == 1 and "bwrap: " in result.stderr_tail:
            await self.check()

    def _prepare(self) -> _Probe:
        build_filter()  # cached; loading libseccomp costs tens of milliseconds once
        bwrap = self.settings.sandbox.bwrap
        if bwrap not in _version_cache:
            version_text = bwrap_version(bwrap)
            if version_text is None:
                _version_cache[bwrap] = _Probe(f"bubblewrap not found or not working: {bwrap!r}")
            elif (version := _parse_version(version_text)) < _MIN_VERSION:
                too_old = f"{version_text} is too old: 0.5 or later is needed (--size for /tmp)"
                _version_cache[bwrap] = _Probe(too_old)
            else:
                _version_cache[bwrap] = _Probe(None, version)
        return _version_cache[bwrap]

    def _trial(self, uid: int) -> str | None:
        """Start a trivial sandbox with the real isolation flags, as the job's uid; None if it ran."""
        argv = [*self._base_args(tmp_bytes=1 << 20), "--", "/usr/bin/true"]
        ids = {"user": uid, "group": uid, "extra_groups": []} if os.geteuid() == 0 else {}
        try:
            done = subprocess.run(
                argv, capture_output=True, text=True, timeout=_PROBE_TIMEOUT_S,
                stdin=subprocess.DEVNULL, **ids,  # type: ignore[call-overload]
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"bubblewrap could not start: {exc}"
        if done.returncode != 0:
            return f"bubblewrap failed (exit {done.returncode}): {done.stderr.strip()[-500:]}"
        return None

    def decode_status(self, status: int) -> tuple[int | None, int | None]:
        # bubblewrap exits with 128+N when the job died of signal N.
        exit_code, sig = super().decode_status(status)
        if exit_code is not None and 128 < exit_code <= 128 + 64:
            return None, exit_code - 128
        return exit_code, sig

    @contextmanager
    def command(self, job: SandboxJob, staging: Staging) -> Iterator[Command]:
        self._write_identity_files(staging)
        seccomp = filter_fd()
        # Moved above the low descriptors so the child's dup2 onto PROGRESS_FD cannot clobber it.
        high = fcntl.fcntl(seccomp, fcntl.F_DUPFD_CLOEXEC, 10)
        os.close(seccomp)
        try:
            yield Command(
                argv=tuple(self.argv(job, staging, seccomp_fd=high)),
                env={},
                cwd=str(staging.path),
                keep_fds=(high,),
            )
        finally:
            os.close(high)

    def _base_args(self, *, tmp_bytes: int) -> list[str]:
        """Isolation, the read-only system and the private /tmp: what every sandbox starts with.

        The private /tmp comes before any bind: a venv or harness that lives under
        the host's /tmp (a checkout there) is then bound on top of it, instead of
        being hidden by it.
        """
        return [
            self.bwrap, *_isolation(self._version), *_system_args(),
            "--size", str(tmp_bytes), "--tmpfs", "/tmp",
        ]

    def argv(self, job: SandboxJob, staging: Staging, *, seccomp_fd: int) -> list[str]:
        """The full bubblewrap command line for ``job``."""
        args = self._base_args(tmp_bytes=job.limits.tmp_bytes)
        for path in (*python_paths(), *(str(p) for p in job.ro_binds)):
            args += ["--ro-bind", path, path]
        args += [
            "--ro-bind", str(staging.etc / "passwd"), "/etc/passwd",
            "--ro-bind", str(staging.etc / "group"), "/etc/group",
            "--proc", "/proc",
            "--dev", "/dev",
            "--bind", str(staging.project), "/project",
            "--bind", str(staging.artifacts), "/artifacts",
            "--remount-ro", "/dev",  # device nodes still work; no files in /dev's tmpfs
            "--remount-ro", "/",
            "--chdir", job.workdir,
            "--seccomp", str(seccomp_fd),
        ]
        env = {**base_env(os.path.join(sys.prefix, "bin")), **job.env}
        for key, value in env.items():
            args += ["--setenv", key, value]
        return [*args, "--", *job.argv]

    @staticmethod
    def _write_identity_files(staging: Staging) -> None:
        uid, gid = staging.uid, staging.gid
        (staging.etc / "passwd").write_text(
            "root:x:0:0:root:/nonexistent:/usr/sbin/nologin\n"
            f"sandbox:x:{uid}:{gid}:framecast sandbox:/tmp:/usr/sbin/nologin\n"
        )
        (staging.etc / "group").write_text(f"root:x:0:\nsandbox:x:{gid}:\n")
        for name in ("passwd", "group"):
            os.chmod(staging.etc / name, 0o644)
