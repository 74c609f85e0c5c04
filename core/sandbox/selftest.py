"""A short isolation self-test: start real sandboxes and probe their walls.

Used by ``framecast doctor`` (and usable by a readiness check): it runs
``true`` and then a tiny Python program inside the sandbox that tries what a
hostile scene would try first, and checks that manim imports there (the
virtualenv must be readable by the sandbox uid). Anything wrong is reported.
"""

from __future__ import annotations

import dataclasses
import sys
import tempfile
from pathlib import Path

from core.config import Settings
from core.policy import Tier
from core.sandbox.job import SandboxJob
from core.sandbox.limits import limits_for
from core.sandbox.runner import LocalRunner

__all__ = ["PROBE", "self_test"]

_WALL_TIME_S = 30.0

# Prints one line per wall that did not hold; exits 0 only when all held.
PROBE = """
import os, socket
problems = []
for family in (socket.AF_INET, socket.AF_INET6, socket.AF_NETLINK):
    try:
        socket.socket(family, socket.SOCK_DGRAM).close()
        problems.append(f"a {family.name} socket could be opened")
    except OSError:
        pass
try:
    open("/etc/shadow", "rb").close()
    problems.append("/etc/shadow is readable")
except OSError:
    pass
if os.getuid() == 0:
    problems.append("the job runs as root")
try:
    open("/usr/.framecast-probe", "w").close()
    problems.append("/usr is writable")
except OSError:
    pass
try:
    import manim  # the virtualenv must be readable by the sandbox uid
except Exception as exc:
    problems.append(f"manim cannot be imported inside the sandbox: {exc!r}")
print("\\n".join(problems))
raise SystemExit(1 if problems else 0)
"""


async def self_test(runner: LocalRunner, settings: Settings) -> list[str]:
    """Problems found (empty when the sandbox holds). Raises SandboxUnavailable."""
    limits = dataclasses.replace(
        limits_for(settings, settings.tiers.get(Tier.FREE)), wall_time_s=_WALL_TIME_S
    )
    problems: list[str] = []
    with tempfile.TemporaryDirectory(prefix="framecast-selftest-") as scratch:
        for argv in (("true",), (sys.executable, "-I", "-c", PROBE)):
            job = SandboxJob(
                argv=argv,
                project_dir=Path(scratch, "project"),
                artifacts_dir=Path(scratch, "artifacts"),
                limits=limits,
            )
            result = await runner.run(job)
            if not result.ok:
                found = result.stdout_tail.strip() or result.stderr_tail.strip()
                problems.append(f"{' '.join(argv[:1])}: {found or f'exit {result.exit_code}'}")
    return problems
