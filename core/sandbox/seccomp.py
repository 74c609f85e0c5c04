"""The seccomp filter bubblewrap installs just before it runs the job.

The policy is "allow by default, refuse what a render never needs and an
escape usually does": sockets other than AF_UNIX (no network even if a
namespace were shared by mistake), tracing other processes, kernel keyrings,
eBPF, io_uring (it bypasses the syscall filter for the work it queues),
mounting, and creating or joining namespaces. Refused calls fail with EPERM,
so well-behaved programs get a Python ``PermissionError`` instead of being
killed; ``clone3`` fails with ENOSYS, which makes glibc fall back to
``clone``, whose flags a classic BPF filter can inspect (it cannot look
inside ``clone3``'s struct). Syscalls of a foreign ABI (i386 ``int 0x80``,
x32) kill the thread, because libseccomp's default bad-arch action is kill.

bubblewrap creates the sandbox's namespaces before it applies this filter,
so refusing ``unshare``/``clone(CLONE_NEW*)`` does not stop bubblewrap itself.
"""

from __future__ import annotations

import errno
import os
import socket
from functools import lru_cache

__all__ = ["DENIED_SYSCALLS", "build_filter", "filter_fd"]

# Refused outright (EPERM), whatever the arguments.
DENIED_SYSCALLS: tuple[str, ...] = (
    "ptrace", "process_vm_readv", "process_vm_writev",
    "keyctl", "add_key", "request_key",
    "bpf", "perf_event_open", "userfaultfd",
    "io_uring_setup", "io_uring_enter", "io_uring_register",
    "mount", "umount2", "pivot_root", "chroot",
    "move_mount", "open_tree", "fsopen", "fsconfig", "fsmount", "fspick", "mount_setattr",
    "unshare", "setns",
    "kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module",
    "swapon", "swapoff", "reboot", "acct", "quotactl",
    "syslog", "lookup_dcookie", "name_to_handle_at", "open_by_handle_at",
)

# Every clone flag that would create a new namespace.
_CLONE_NEW_FLAGS = (
    0x00020000,  # CLONE_NEWNS
    0x02000000,  # CLONE_NEWCGROUP
    0x04000000,  # CLONE_NEWUTS
    0x08000000,  # CLONE_NEWIPC
    0x10000000,  # CLONE_NEWUSER
    0x20000000,  # CLONE_NEWPID
    0x40000000,  # CLONE_NEWNET
)

# personality(): only the query is allowed; setting a persona can switch off
# ASLR or make data executable, and no render needs to change it.
_PERSONALITY_QUERY = 0xFFFFFFFF


@lru_cache(maxsize=1)
def build_filter() -> bytes:
    """The compiled BPF program (raw ``struct sock_filter`` array)."""
    import pyseccomp as sc  # imported lazily: it loads libseccomp through ctypes

    eperm = sc.ERRNO(errno.EPERM)
    flt = sc.SyscallFilter(defaction=sc.ALLOW)
    for name in DENIED_SYSCALLS:
        flt.add_rule(eperm, name)
    for name in ("socket", "socketpair"):
        flt.add_rule(eperm, name, sc.Arg(0, sc.NE, socket.AF_UNIX))
    for flag in _CLONE_NEW_FLAGS:
        flt.add_rule(eperm, "clone", sc.Arg(0, sc.MASKED_EQ, flag, flag))
    flt.add_rule(sc.ERRNO(errno.ENOSYS), "clone3")
    flt.add_rule(eperm, "personality", sc.Arg(0, sc.NE, _PERSONALITY_QUERY))
    return _export(flt)


def _export(flt: object) -> bytes:
    fd = os.memfd_create("framecast-seccomp-build", os.MFD_CLOEXEC)
    try:
        with os.fdopen(os.dup(fd), "wb") as out:
            flt.export_bpf(out)  # type: ignore[attr-defined]
        os.lseek(fd, 0, os.SEEK_SET)
        chunks = []
        while chunk := os.read(fd, 65536):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def filter_fd() -> int:
    """A fresh CLOEXEC memfd holding the filter, positioned at the start.

    bubblewrap reads ``--seccomp FD`` to its end, so each run needs its own
    descriptor; the caller passes it to the child and closes its copy.
    """
    program = build_filter()
    fd = os.memfd_create("framecast-seccomp", os.MFD_CLOEXEC)
    os.write(fd, program)
    os.lseek(fd, 0, os.SEEK_SET)
    return fd
