"""``framecast schedule``: scheduled renders, stored in the data dir's database.

A running ``framecast serve`` on the same data dir re-reads the schedules
table every 30 seconds, so changes made here reach it without a restart.
"""

from __future__ import annotations

import asyncio
import getpass
from datetime import UTC, datetime

import click

from core.cli import fail
from core.cli.audit import data_dir_state
from core.errors import FramecastError
from core.models import Schedule
from core.scheduler import add_schedule, cron_trigger, remove_schedule
from core.store import schedules as store

__all__ = ["schedule"]


def _actor() -> str:
    return f"cli:{getpass.getuser()}"



@click.group()
def schedule() -> None:
    """Add, list and remove scheduled renders (cron times are UTC)."""


@schedule.command()
@click.argument("cron")
@click.argument("prompt")
@click.option("--to", "context_id", required=True, help="Context to post to, e.g. console:local.")
def add(cron: str, prompt: str, context_id: str) -> None:
    """Render PROMPT on the five-field CRON schedule, e.g. "0 9 * * MON"."""

    async def run() -> Schedule:
        async with data_dir_state(create=True) as (db, log):
            return await add_schedule(db, cron, prompt, context_id, _actor(), audit=log)

    try:
        added = asyncio.run(run())
    except FramecastError as exc:
        raise fail(exc) from exc
    click.echo(f"added {added.id}: {added.cron} -> {added.context_id}")


@schedule.command(name="list")
def list_() -> None:
    """Show every stored schedule with its next run time (UTC)."""

    async def run() -> list[Schedule]:
        async with data_dir_state() as (db, _log):
            return await store.all_schedules(db)

    for item in asyncio.run(run()):
        upcoming = cron_trigger(item.cron).get_next_fire_time(None, datetime.now(UTC))
        when = f"{upcoming:%Y-%m-%d %H:%M}" if upcoming and item.enabled else "never"
        click.echo(f"{item.id}  {item.cron:<16} next {when}  {item.context_id}  {item.prompt!r}")


@schedule.command()
@click.argument("schedule_id")
def remove(schedule_id: str) -> None:
    """Delete a schedule by its id."""

    async def run() -> None:
        async with data_dir_state() as (db, log):
            await remove_schedule(db, schedule_id, actor=_actor(), audit=log)

    try:
        asyncio.run(run())
    except FramecastError as exc:
        raise fail(exc) from exc
    click.echo(f"removed {schedule_id}")
