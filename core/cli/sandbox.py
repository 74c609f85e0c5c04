"""``framecast sandbox exec``: any command in exactly the render sandbox.

Same runner, same limits as a render on the chosen tier; the environment is
only the runner's minimal one (PATH with the framecast virtualenv, HOME=/tmp,
LANG=C.UTF-8). The command's stdout and stderr tails are printed when it
ends (not streamed), artifacts are copied back to ``--artifacts`` if given,
and the exit status is the command's: 124 when it was killed at the wall
time, 137 when it was killed for memory, 125 when the sandbox itself failed.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
import tempfile
from pathlib import Path

import click

from core.config import load_settings
from core.errors import FramecastError
from core.policy import Tier
from core.sandbox import SandboxJob, SandboxResult, limits_for, make_runner

__all__ = ["EXIT_MEMORY", "EXIT_SANDBOX_FAILED", "EXIT_TIMEOUT", "exit_status", "sandbox"]

EXIT_TIMEOUT = 124         # as timeout(1)
EXIT_SANDBOX_FAILED = 125  # the sandbox could not run the command at all
EXIT_MEMORY = 128 + signal.SIGKILL


def exit_status(result: SandboxResult) -> int:
    """The shell-style status of a sandboxed command."""
    if result.timed_out:
        return EXIT_TIMEOUT
    if result.memory_exceeded:
        return EXIT_MEMORY
    if result.exit_code is not None:
        return result.exit_code
    return 128 + (result.signal or signal.SIGKILL)


@click.group()
def sandbox() -> None:
    """Run and inspect the render sandbox."""


@sandbox.command("exec", context_settings={"ignore_unknown_options": True})
@click.option(
    "--tier", type=click.Choice([t.value for t in Tier]), default=Tier.FREE.value,
    show_default=True, help="Whose limits (wall time) to apply.",
)
@click.option(
    "--project", "project", type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="Copied into the sandbox as /project (default: empty).",
)
@click.option(
    "--artifacts", "artifacts", type=click.Path(file_okay=False, path_type=Path),
    help="Where to copy /artifacts back to (default: discarded).",
)
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
def exec_(tier: str, project: Path | None, artifacts: Path | None, command: tuple[str, ...]) -> None:
    """Run COMMAND in the render sandbox: framecast sandbox exec -- CMD ARGS..."""
    settings = load_settings()
    logging.basicConfig(level=settings.log_level, format="%(levelname)s %(name)s: %(message)s")
    with tempfile.TemporaryDirectory(prefix="framecast-exec-") as scratch:
        job = SandboxJob(
            argv=command,
            project_dir=project or Path(scratch, "project"),
            artifacts_dir=artifacts or Path(scratch, "artifacts"),
            limits=limits_for(settings, settings.tiers.get(tier)),
        )
        try:
            result = asyncio.run(make_runner(settings).run(job))
        except FramecastError as exc:
            click.echo(f"framecast: {exc.message}", err=True)
            if exc.hint:
                click.echo(f"hint: {exc.hint}", err=True)
            if exc.detail:
                click.echo(f"detail: {exc.detail}", err=True)
            sys.exit(EXIT_SANDBOX_FAILED)
    sys.stdout.write(result.stdout_tail)
    sys.stdout.flush()
    sys.stderr.write(result.stderr_tail)
    if result.timed_out:
        click.echo(f"framecast: killed at the wall-time limit ({job.limits.wall_time_s:g}s)", err=True)
    elif result.memory_exceeded:
        click.echo("framecast: killed at the memory limit", err=True)
    sys.exit(exit_status(result))
