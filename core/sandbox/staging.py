"""Private per-job copies of /project and /artifacts.

The caller's directories may be unreadable to the sandbox uid (a 0700
temporary directory, a data dir owned by root), and the job must never be
able to reach anything next to them. So each job gets a fresh staging
directory under a runner root that the sandbox uid can traverse but not
list; the project is copied in (owned by the sandbox uid) and, afterwards,
the artifacts are copied out.

Reading the artifacts back is the dangerous direction: the job controls
that tree. Every entry is opened relative to its parent directory's
descriptor with ``O_NOFOLLOW``, only regular files and directories are
taken, and the copy stops at a per-file and a total size cap. A symlink the
job plants (``/artifacts/x -> /etc/shadow``) is skipped, never followed.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path

from core.errors import OutputError, SandboxUnavailable

__all__ = ["Staging", "copy_artifacts_out", "runner_root"]

log = logging.getLogger(__name__)

_ROOT_NAME = "framecast-sandbox"
_MAX_DEPTH = 16
_CHUNK = 1024 * 1024


def runner_root() -> Path:
    """The shared parent of all staging dirs: ours, a real directory, mode 0711."""
    root = Path(tempfile.gettempdir()) / f"{_ROOT_NAME}-{os.geteuid()}"
    with contextlib.suppress(FileExistsError):
        root.mkdir(mode=0o711)
    st = os.lstat(root)
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.geteuid():
        raise SandboxUnavailable(
            "The sandbox staging directory is not safe to use.",
            detail=f"{root} is not a directory owned by uid {os.geteuid()}",
        )
    os.chmod(root, 0o711)
    return root


@dataclass
class Staging:
    """One job's staging directory: ``project/``, ``artifacts/`` and ``etc/``."""

    path: Path
    uid: int
    gid: int

    @classmethod
    def create(cls, project_dir: Path, *, uid: int, gid: int) -> Staging:
        path = Path(tempfile.mkdtemp(prefix="job-", dir=runner_root()))
        os.chmod(path, 0o711)  # the sandbox uid traverses it to reach its binds
        staging = cls(path=path, uid=uid, gid=gid)
        try:
            for name in ("project", "artifacts", "etc"):
                (path / name).mkdir(mode=0o700 if name != "etc" else 0o755)
            staging._copy_project(project_dir)
            for name in ("project", "artifacts"):
                staging._chown(path / name)
        except BaseException:
            staging.remove()
            raise
        return staging

    @property
    def project(self) -> Path:
        return self.path / "project"

    @property
    def artifacts(self) -> Path:
        return self.path / "artifacts"

    @property
    def etc(self) -> Path:
        return self.path / "etc"

    def _chown(self, path: Path) -> None:
        if os.geteuid() == 0:
            os.chown(path, self.uid, self.gid, follow_symlinks=False)

    def _copy_project(self, source: Path) -> None:
        """Copy regular files and directories; anything else is left behind."""
        if not source.is_dir():
            return
        for dirpath, dirnames, filenames in os.walk(source):
            rel = Path(dirpath).relative_to(source)
            target_dir = self.project / rel
            for name in dirnames:
                if os.path.islink(os.path.join(dirpath, name)):
                    continue  # os.walk does not descend into links either
                (target_dir / name).mkdir(mode=0o700)
                self._chown(target_dir / name)
            for name in filenames:
                src = Path(dirpath, name)
                if not stat.S_ISREG(os.lstat(src).st_mode):
                    log.debug("not staging %s: not a regular file", src)
                    continue
                shutil.copyfile(src, target_dir / name, follow_symlinks=False)
                self._chown(target_dir / name)

    def remove(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)


def copy_artifacts_out(
    source: Path, dest: Path, *, per_file_bytes: int, total_bytes: int
) -> list[Path]:
    """Copy the job's artifacts into ``dest``; returns the files written.

    Raises OutputError when the job wrote more than the caps allow.
    """
    flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW
    copier = _Copier(per_file_bytes, total_bytes)
    try:
        dest.mkdir(parents=True, exist_ok=True)
        src_fd = os.open(source, flags)
        try:
            dst_fd = os.open(dest, flags)
            try:
                copier.copy_dir(src_fd, dst_fd, Path(), 0)
            finally:
                os.close(dst_fd)
        finally:
            os.close(src_fd)
    except OSError as exc:  # e.g. ELOOP: a symlink where an artifact was to be written
        raise OutputError(
            "The render's output could not be copied back.", detail=f"{dest}: {exc}"
        ) from exc
    return [dest / rel for rel in copier.written]


class _Copier:
    def __init__(self, per_file_bytes: int, total_bytes: int) -> None:
        self.per_file = per_file_bytes
        self.left = total_bytes
        self.total = total_bytes
        self.written: list[Path] = []

    def copy_dir(self, src_fd: int, dst_fd: int, rel: Path, depth: int) -> None:
        if depth > _MAX_DEPTH:
            log.warning("artifacts nested deeper than %d levels were not copied", _MAX_DEPTH)
            return
        for name in sorted(os.listdir(src_fd)):
            st = os.lstat(name, dir_fd=src_fd)
            if stat.S_ISDIR(st.st_mode):
                self._copy_subdir(src_fd, dst_fd, name, rel, depth)
            elif stat.S_ISREG(st.st_mode):
                self._copy_file(src_fd, dst_fd, name, rel / name)
            else:
                log.warning("artifact %s skipped: not a regular file", rel / name)

    def _copy_subdir(self, src_fd: int, dst_fd: int, name: str, rel: Path, depth: int) -> None:
        flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW
        with contextlib.suppress(FileExistsError):
            os.mkdir(name, 0o755, dir_fd=dst_fd)
        sub_src = os.open(name, flags, dir_fd=src_fd)
        try:
            sub_dst = os.open(name, flags, dir_fd=dst_fd)  # ELOOP if dest holds a link
        except BaseException:
            os.close(sub_src)
            raise
        try:
            self.copy_dir(sub_src, sub_dst, rel / name, depth + 1)
        finally:
            os.close(sub_src)
            os.close(sub_dst)

    def _copy_file(self, src_fd: int, dst_fd: int, name: str, rel: Path) -> None:
        # O_NONBLOCK: a fifo swapped in after the lstat must not hang us.
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=src_fd)
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                log.warning("artifact %s skipped: not a regular file", rel)
                return
            if st.st_size > self.per_file or st.st_size > self.left:
                raise OutputError(
                    "The render wrote more output than allowed.",
                    detail=f"{rel}: {st.st_size} bytes; per-file cap {self.per_file}, "
                    f"total cap {self.total}",
                )
            out = os.open(
                name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o644, dir_fd=dst_fd
            )
            try:
                copied = 0
                while chunk := os.read(fd, _CHUNK):
                    copied += len(chunk)
                    if copied > st.st_size:  # grew after fstat: refuse, do not trust it
                        raise OutputError("An artifact changed while it was read back.")
                    _write_all(out, chunk)
            finally:
                os.close(out)
            self.left -= copied
            self.written.append(rel)
        finally:
            os.close(fd)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]
