"""The render sandbox: one ``run(job)`` API, local runners behind it.

    runner = make_runner(settings)
    limits = limits_for(settings, settings.tiers.get("free"))
    result = await runner.run(SandboxJob(argv=..., project_dir=..., artifacts_dir=...,
                                         limits=limits, env=...), progress=callback)

``make_runner`` gives the bubblewrap runner unless the operator chose
``sandbox.mode = "unsafe-local"``. See docs/sandbox.md for what the sandbox
allows and denies.
"""

from __future__ import annotations

from core.config import SandboxMode, Settings
from core.sandbox.bubblewrap import BubblewrapRunner
from core.sandbox.job import (
    PROGRESS_FD,
    ProgressCallback,
    SandboxJob,
    SandboxLimits,
    SandboxResult,
    SandboxRunner,
)
from core.sandbox.limits import limits_for
from core.sandbox.runner import LocalRunner, base_env
from core.sandbox.unsafe import UnsafeLocalRunner

__all__ = [
    "PROGRESS_FD",
    "BubblewrapRunner",
    "LocalRunner",
    "ProgressCallback",
    "SandboxJob",
    "SandboxLimits",
    "SandboxResult",
    "SandboxRunner",
    "UnsafeLocalRunner",
    "base_env",
    "limits_for",
    "make_runner",
]


def make_runner(settings: Settings) -> LocalRunner:
    """The runner the settings ask for (bubblewrap unless unsafe-local is chosen)."""
    if settings.sandbox.mode == SandboxMode.UNSAFE_LOCAL:
        return UnsafeLocalRunner(settings)
    return BubblewrapRunner(settings)
