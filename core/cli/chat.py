"""``framecast chat``: try the whole flow locally, no tokens, through the console connector.

Type ``/help`` for the commands. ``/as admin`` switches to the local admin
(an overlord of the local workspace, created on first use) to approve
trials; it exists only here, for whoever already owns the data dir.
"""

from __future__ import annotations

import asyncio
import getpass
import sys

import click

from bot.console import Console, stdin_lines
from core.app import App
from core.commands import Actor
from core.config import Settings, load_settings
from core.logging import configure

__all__ = ["chat"]


async def run_chat(settings: Settings, actor: Actor, as_admin: bool) -> None:
    app = await App.create(settings)
    console = Console(app, actor)
    try:
        # The console listens before the queue starts, so it hears about jobs
        # a previous run left behind.
        await app.start(admin_api=False)
        if sys.stdin.isatty():
            console.say("framecast chat: type /help for the commands, /quit to leave.")
        if as_admin:
            console.actor = await app.local_admin(actor.chat)
        await console.run(await stdin_lines(sys.stdin))
    finally:
        # At the end of input the console already waited for its renders; after
        # /quit, whatever still runs is requeued for the next start.
        await app.stop(grace_s=0)


@click.command()
@click.option("--user", "user", default=None, help="Your console user name (default: your login name).")
@click.option("--as-admin", is_flag=True, help="Start as the local admin (same as typing /as admin).")
def chat(user: str | None, as_admin: bool) -> None:
    """A local chat connector: /render, /code, /edit, /trial, /approve, ... (see /help)."""
    settings = load_settings()
    configure("WARNING")
    name = user or getpass.getuser() or "you"
    actor = Actor("console", name, name, "console")
    asyncio.run(run_chat(settings, actor, as_admin))
