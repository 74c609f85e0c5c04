"""unsafe-local: the job as a plain child process, for machines without bubblewrap.

There is NO isolation here: the job can read what the sandbox uid (or you)
can read, open network connections and see the host's processes. It still
gets rlimits, the job's cgroups when running as root, a cleared environment
and staging copies of its directories. Because ``/project`` and
``/artifacts`` do not exist on the host, those path prefixes are rewritten
to the staging directories in the job's argv, environment and workdir.
Every run logs a loud warning.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from core.sandbox.job import SandboxJob
from core.sandbox.runner import Command, LocalRunner, base_env
from core.sandbox.staging import Staging

__all__ = ["UnsafeLocalRunner", "WARNING"]

log = logging.getLogger(__name__)

WARNING = (
    "UNSAFE-LOCAL SANDBOX: running a job WITHOUT isolation (no namespaces, no seccomp, "
    "network and host files reachable). Use only for local development; set "
    "FRAMECAST_SANDBOX__MODE=bubblewrap in production."
)

# "/project" or "/artifacts" at the start of a value or after "=" or ":",
# followed by the end, "/" or ":" (so "/projects" is left alone).
_JOB_PATH = re.compile(r"(^|[=:])/(project|artifacts)(?=$|[/:])")


class UnsafeLocalRunner(LocalRunner):
    name = "unsafe-local"

    async def check(self) -> None:
        log.warning(WARNING)

    @contextmanager
    def command(self, job: SandboxJob, staging: Staging) -> Iterator[Command]:
        places = {"project": str(staging.project), "artifacts": str(staging.artifacts)}

        def local(value: str) -> str:
            return _JOB_PATH.sub(lambda m: m.group(1) + places[m.group(2)], value)

        env = {**base_env(os.path.join(sys.prefix, "bin")), **job.env}
        yield Command(
            argv=tuple(local(arg) for arg in job.argv),
            env={key: local(value) for key, value in env.items()},
            cwd=local(job.workdir),
        )
