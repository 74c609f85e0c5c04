"""The ``framecast`` command line: a thin layer over core.

Subcommands live in their own modules and are imported only when invoked,
so ``framecast render`` does not pay for the admin API's imports.
"""

from __future__ import annotations

import importlib
import logging
import os
import sys

import click

from core.errors import FramecastError

__all__ = ["fail", "main"]

# name -> "module:attribute" of a click command or group
SUBCOMMANDS = {
    "render": "core.cli.render:render",
    "sandbox": "core.cli.sandbox:sandbox",
    "doctor": "core.cli.doctor:doctor",
    "serve": "core.cli.serve:serve",
    "chat": "core.cli.chat:chat",
    "audit": "core.cli.audit:audit",
    "schedule": "core.cli.schedule:schedule",
    "admin": "core.cli.admin:admin",
    "mirror": "core.cli.mirror:mirror",
}


def fail(exc: FramecastError) -> click.ClickException:
    """A refusal from core as click's error: ``Error: <message>`` and the hint below it, exit 1."""
    return click.ClickException(exc.message + (f"\n{exc.hint}" if exc.hint else ""))


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(SUBCOMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = SUBCOMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attr = target.split(":")
        command: click.Command = getattr(importlib.import_module(module_name), attr)
        return command


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="framecast")
def cli() -> None:
    """framecast: a sentence in, a short Manim animation out, rendered in a sandbox."""


def main() -> None:
    """The console script. Leaves without tearing the interpreter down.

    A render has numpy, Pillow and asyncio loaded by the time it finishes;
    unwinding them costs a tenth of a second on every call, and nothing is left
    to clean up once the command has returned, its output flushed and its
    logging shut down.
    """
    try:
        cli.main(prog_name="framecast")
    except SystemExit as exc:
        status = exc.code
    else:
        status = 0
    if isinstance(status, str):
        print(status, file=sys.stderr)
        status = 1
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status or 0)
