"""Containment of the render sandbox, probed through ``framecast sandbox exec``.

Every test starts the real CLI, which starts real bubblewrap with the real
seccomp filter, rlimits and cgroups; the sandboxed program reports what it
could do as JSON and the test judges it from the outside.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

FRAMECAST = str(Path(sys.executable).parent / "framecast")
REPO = Path(__file__).resolve().parents[3]
SHORT_WALL_S = 5


def sandbox_exec(
    *cmd: str,
    env: dict[str, str] | None = None,
    project: Path | None = None,
    artifacts: Path | None = None,
    timeout: float = 60,
) -> subprocess.CompletedProcess[str]:
    args = [FRAMECAST, "sandbox", "exec"]
    if project is not None:
        args += ["--project", str(project)]
    if artifacts is not None:
        args += ["--artifacts", str(artifacts)]
    return subprocess.run(
        [*args, "--", *cmd], capture_output=True, text=True, timeout=timeout,
        env={**os.environ, **(env or {})},
    )


def sandbox_python(code: str, **kwargs: Any) -> dict[str, Any]:
    """Run ``code`` in the sandbox; it must print one JSON object last."""
    done = sandbox_exec("python", "-c", textwrap.dedent(code), **kwargs)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def processes_with(marker: str, *, besides: bytes | None = None) -> list[tuple[int, int]]:
    """(pid, real uid) of every host process whose command line holds ``marker``.

    ``besides`` leaves out command lines that also hold it (e.g. the CLI itself,
    and its children between fork and exec, which still carry its command line).
    """
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            status = (entry / "status").read_text()
        except OSError:
            continue
        if besides is not None and besides in cmdline:
            continue
        if marker.encode() in cmdline and int(entry.name) != os.getpid():
            uid = next(line.split()[1] for line in status.splitlines() if line.startswith("Uid:"))
            found.append((int(entry.name), int(uid)))
    return found


def test_host_secrets_are_not_there(settings: Any) -> None:
    # The venv is a positive control: it must be visible, or the probe proves nothing.
    report = sandbox_python(
        f"""
        import json, os, sys
        def readable(path):
            try:
                with open(path, "rb") as f:
                    f.read(1)
                return True
            except OSError:
                return False
        print(json.dumps({{
            "shadow": readable("/etc/shadow"),
            "root_home": os.path.exists("/root"),
            "home": os.path.exists("/home"),
            "data_dir": os.path.exists({str(settings.data_dir)!r}),
            "git": os.path.exists({str(REPO / ".git")!r}),
            "source": os.path.exists({str(REPO / "core")!r}),
            "venv": os.path.isdir(sys.prefix),
            "passwd": open("/etc/passwd").read(),
        }}))
        """
    )
    assert report["venv"] is True
    assert not any(report[k] for k in ("shadow", "root_home", "home", "data_dir", "git", "source"))
    host_users = {line.split(":")[0] for line in Path("/etc/passwd").read_text().splitlines()}
    sandbox_users = {line.split(":")[0] for line in report["passwd"].splitlines()}
    assert sandbox_users <= {"root", "sandbox"} and sandbox_users != host_users


def test_writes_only_to_project_artifacts_and_tmp(tmp_path: Path) -> None:
    out = tmp_path / "out"
    report = sandbox_python(
        f"""
        import json, sys
        def writable(path):
            try:
                with open(path, "w") as f:
                    f.write("x")
                return True
            except OSError:
                return False
        targets = ["/usr/x", "/etc/x", "/x", "/proc/x", {sys.prefix + "/x"!r},
                   "/project/ok", "/artifacts/ok", "/tmp/ok"]
        print(json.dumps({{t: writable(t) for t in targets}}))
        """,
        artifacts=out,
    )
    assert {t for t, ok in report.items() if ok} == {"/project/ok", "/artifacts/ok", "/tmp/ok"}
    assert (out / "ok").read_text() == "x"
    assert not Path(sys.prefix, "x").exists()


def test_no_network_and_only_unix_sockets() -> None:
    tcp = socket.create_server(("127.0.0.1", 0))
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", 0))
    tcp.settimeout(0.5)
    udp.settimeout(0.5)
    tcp_port, udp_port = tcp.getsockname()[1], udp.getsockname()[1]
    try:
        report = sandbox_python(
            f"""
            import json, socket
            def attempt(fn):
                try:
                    fn()
                    return "allowed"
                except OSError as exc:
                    return exc.errno
            def tcp():
                socket.create_connection(("127.0.0.1", {tcp_port}), timeout=2).sendall(b"leak")
            def udp():
                socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"leak", ("127.0.0.1", {udp_port}))
            def unix():
                a, b = socket.socketpair(socket.AF_UNIX)
                a.sendall(b"ok")
                assert b.recv(2) == b"ok"
                s = socket.socket(socket.AF_UNIX)
                s.bind("/tmp/sock")
            print(json.dumps({{
                "tcp": attempt(tcp), "udp": attempt(udp),
                "inet6": attempt(lambda: socket.socket(socket.AF_INET6)),
                "netlink": attempt(lambda: socket.socket(socket.AF_NETLINK, socket.SOCK_RAW)),
                "packet": attempt(lambda: socket.socket(socket.AF_PACKET, socket.SOCK_RAW)),
                "inet_pair": attempt(lambda: socket.socketpair(socket.AF_INET)),
                "unix": attempt(unix),
            }}))
            """
        )
        with pytest.raises(TimeoutError):
            tcp.accept()
        with pytest.raises(TimeoutError):
            udp.recvfrom(16)
    finally:
        tcp.close()
        udp.close()
    assert report["unix"] == "allowed"
    eperm = 1  # seccomp refuses every family but AF_UNIX with EPERM
    assert {k: v for k, v in report.items() if k != "unix"} == {
        k: eperm for k in ("tcp", "udp", "inet6", "netlink", "packet", "inet_pair")
    }


def test_environment_does_not_leak() -> None:
    secret = f"hunter2-{uuid.uuid4().hex}"
    done = sandbox_exec("env", env={"FRAMECAST_SECRET": secret, "AWS_SECRET_ACCESS_KEY": secret})
    assert done.returncode == 0, done.stderr
    names = {line.split("=", 1)[0] for line in done.stdout.splitlines()}
    assert secret not in done.stdout
    assert "FRAMECAST_SECRET" not in names and "AWS_SECRET_ACCESS_KEY" not in names
    assert {"PATH", "HOME", "LANG"} <= names


def test_dangerous_syscalls_are_refused() -> None:
    report = sandbox_python(
        """
        import ctypes, errno, json, os
        libc = ctypes.CDLL(None, use_errno=True)
        def call(fn):
            ctypes.set_errno(0)
            result = fn()
            return errno.errorcode.get(ctypes.get_errno()) if result == -1 else "allowed"
        print(json.dumps({
            "ptrace": call(lambda: libc.ptrace(16, os.getppid(), 0, 0)),  # PTRACE_ATTACH
            "unshare_user": call(lambda: libc.unshare(0x10000000)),
            "unshare_net": call(lambda: libc.unshare(0x40000000)),
            "mount": call(lambda: libc.mount(b"none", b"/tmp", b"tmpfs", 0, None)),
            "keyctl": call(lambda: libc.syscall(250, 0, 0, 0, 0, 0)),
            "bpf": call(lambda: libc.syscall(321, 0, 0, 0)),
            "io_uring_setup": call(lambda: libc.syscall(425, 1, 0)),
            "clone3": call(lambda: libc.syscall(435, 0, 0)),
        }))
        """
    )
    assert report.pop("clone3") == "ENOSYS"  # so libc falls back to clone, which is filtered
    assert report == dict.fromkeys(report, "EPERM")


def test_runs_unprivileged_inside_and_outside() -> None:
    marker = f"fc-uid-{uuid.uuid4().hex}"
    proc = subprocess.Popen(
        [FRAMECAST, "sandbox", "exec", "--", "python", "-c",
         "import os, time; print(os.getuid(), os.geteuid(), flush=True); time.sleep(3)", marker],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        deadline = time.monotonic() + 20
        outside: set[int] = set()  # uids of the sandboxed processes (not the CLI's own)
        while not outside and time.monotonic() < deadline:
            outside = {uid for _, uid in processes_with(marker, besides=b"sandbox\0exec")}
            time.sleep(0.05)
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert outside, "the sandboxed process was never seen on the host"
    assert 0 not in outside
    assert "0" not in out.split()


def test_infinite_loop_is_killed_at_the_wall_and_nothing_survives() -> None:
    marker = f"fc-loop-{uuid.uuid4().hex}"
    started = time.monotonic()
    done = sandbox_exec(
        "sh", "-c", f"python -c 'while True: pass' {marker} & sleep 1000 {marker}; wait",
        env={"FRAMECAST_TIERS__FREE__WALL_TIME_S": str(SHORT_WALL_S)},
    )
    elapsed = time.monotonic() - started
    assert done.returncode == 124, done.stderr
    assert "wall-time limit" in done.stderr
    assert SHORT_WALL_S <= elapsed < SHORT_WALL_S + 10
    assert processes_with(marker) == []


def test_fork_bomb_is_contained() -> None:
    marker = f"fc-bomb-{uuid.uuid4().hex}"
    started = time.monotonic()
    done = sandbox_exec(
        "python", "-c",
        "import os, time\nwhile True:\n    try:\n        os.fork()\n"
        "    except OSError:\n        time.sleep(0.01)\n",
        marker,
        env={"FRAMECAST_TIERS__FREE__WALL_TIME_S": str(SHORT_WALL_S)},
    )
    assert done.returncode == 124, done.stderr
    assert time.monotonic() - started < SHORT_WALL_S + 10
    assert processes_with(marker) == []
    assert subprocess.run(["true"]).returncode == 0  # the host can still fork


@pytest.mark.parametrize(
    "bomb",
    [
        "b = bytearray(1 << 30)",                        # one huge allocation
        "x = []\nwhile True: x.append(b'a' * 10**6)",    # creeping growth until the OOM killer
    ],
    ids=["huge-allocation", "creeping-growth"],
)
def test_memory_bomb_is_killed(bomb: str) -> None:
    done = sandbox_exec("python", "-c", bomb, env={"FRAMECAST_SANDBOX__MEMORY_MB": "192"})
    assert done.returncode == 137, done.stderr
    assert "memory limit" in done.stderr


def test_file_size_limit_is_enforced() -> None:
    report = sandbox_python(
        """
        import json
        try:
            with open("/tmp/big", "wb") as f:
                f.write(b"x" * (3 << 20))
            result = "written"
        except OSError as exc:
            result = exc.errno
        print(json.dumps({"result": result}))
        """,
        env={"FRAMECAST_SANDBOX__FILE_SIZE_MB": "1"},
    )
    assert report["result"] == 27  # EFBIG


def test_symlinked_artifacts_are_not_followed(tmp_path: Path) -> None:
    secret = tmp_path / "host-secret.txt"
    secret.write_text("host secret")
    project, out = tmp_path / "project", tmp_path / "out"
    project.mkdir()
    (project / "planted").symlink_to(secret)
    done = sandbox_exec(
        "sh", "-c",
        f"ln -s /etc/shadow /artifacts/shadow; ln -s {secret} /artifacts/leak; "
        "cp -P /project/planted /artifacts/planted 2>/dev/null; mkdir /artifacts/d; "
        "ln -s / /artifacts/d/root; mkfifo /artifacts/fifo; echo fine > /artifacts/real.txt; "
        "ls -A /project",
        project=project, artifacts=out,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ""  # the planted link was not staged into /project
    copied = sorted(str(p.relative_to(out)) for p in out.rglob("*"))
    assert copied == ["d", "real.txt"]
    assert (out / "real.txt").read_text() == "fine\n"
    assert not any(p.is_symlink() for p in out.rglob("*"))
