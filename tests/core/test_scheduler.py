"""The scheduler: stored schedules survive restarts, fire, and housekeeping runs."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from click.testing import CliRunner

from core.cli import cli
from core.config import Settings
from core.errors import InputError, NotFound
from core.models import Schedule
from core.scheduler import (
    EXPIRE_PAIRINGS_EVERY_S,
    PURGE_MEMORY_EVERY_S,
    Scheduler,
    add_schedule,
)
from core.store import schedules as store
from core.store.database import Database

WAIT_S = 5.0


class Calls:
    """Real callables for the scheduler to drive; they count and hand over what they got."""

    def __init__(self) -> None:
        self.purges = 0
        self.expiries = 0
        self.fired: asyncio.Queue[Schedule] = asyncio.Queue()

    async def purge(self) -> int:
        self.purges += 1
        return 0

    async def expire(self) -> int:
        self.expiries += 1
        return 2

    async def run_schedule(self, schedule: Schedule) -> None:
        await self.fired.put(schedule)


def _scheduler(db: Database, calls: Calls, **options: object) -> Scheduler:
    return Scheduler(db, purge_memory=calls.purge, expire_pairings=calls.expire,
                     run_schedule=calls.run_schedule, **options)  # type: ignore[arg-type]


def _every_second(cron: str) -> BaseTrigger:
    """Test-only trigger: crontab cannot say "every second", APScheduler's CronTrigger can."""
    return CronTrigger(second="*", timezone=UTC)


async def test_schedules_are_registered_again_after_a_restart(db: Database) -> None:
    calls = Calls()
    first = _scheduler(db, calls)
    await first.start()
    added = await first.add("0 9 * * MON", "a blue circle", "console:local", "admin:u1")
    assert set(first.next_runs()) == {added.id}
    await first.shutdown()

    second = _scheduler(db, calls)
    await second.start()
    try:
        expected = CronTrigger.from_crontab("0 9 * * MON", timezone=UTC).get_next_fire_time(
            None, datetime.now(UTC)
        )
        assert second.next_runs() == {added.id: expected}
        assert expected is not None and expected.weekday() == 0 and expected.hour == 9
        assert await second.list() == [added]
    finally:
        await second.shutdown()


async def test_a_due_schedule_calls_run_schedule(db: Database) -> None:
    calls = Calls()
    scheduler = _scheduler(db, calls, trigger=_every_second)
    await scheduler.start()
    try:
        added = await scheduler.add("every second", "a square", "telegram:-100", "admin:u1")
        fired = await asyncio.wait_for(calls.fired.get(), WAIT_S)
        assert fired == added
    finally:
        await scheduler.shutdown()


async def test_shutdown_lets_a_running_job_finish(db: Database) -> None:
    started, finished = asyncio.Event(), asyncio.Event()

    async def slow_render(schedule: Schedule) -> None:
        started.set()
        await asyncio.sleep(0.3)
        finished.set()

    calls = Calls()
    scheduler = Scheduler(db, purge_memory=calls.purge, expire_pairings=calls.expire,
                          run_schedule=slow_render, trigger=_every_second)
    await scheduler.start()
    await scheduler.add("every second", "a square", "telegram:-100", "admin:u1")
    await asyncio.wait_for(started.wait(), WAIT_S)
    await asyncio.wait_for(scheduler.shutdown(grace_s=WAIT_S), WAIT_S)
    assert finished.is_set() and not scheduler.running


async def test_housekeeping_runs_at_start_and_on_its_intervals(db: Database) -> None:
    calls = Calls()
    scheduler = _scheduler(db, calls)
    await scheduler.start()
    try:
        async def both_ran() -> None:
            while not (calls.purges and calls.expiries):
                await asyncio.sleep(0.02)

        await asyncio.wait_for(both_ran(), WAIT_S)
        intervals = {
            job.id: job.trigger.interval.total_seconds()
            for job in scheduler.jobs()
            if isinstance(job.trigger, IntervalTrigger)
        }
        assert intervals["purge-memory"] == PURGE_MEMORY_EVERY_S == 600
        assert intervals["expire-pairings"] == EXPIRE_PAIRINGS_EVERY_S == 60
    finally:
        await scheduler.shutdown()


async def test_bad_input_is_rejected_and_nothing_is_stored(db: Database) -> None:
    scheduler = _scheduler(db, Calls())
    with pytest.raises(InputError, match="not a valid cron expression") as caught:
        await scheduler.add("61 9 * * MON", "a circle", "console:local", "admin:u1")
    assert caught.value.hint is not None and "five fields" in caught.value.hint
    with pytest.raises(InputError, match="not a valid cron"):
        await scheduler.add("* * * * * *", "a circle", "console:local", "admin:u1")
    with pytest.raises(InputError, match="not a context"):
        await scheduler.add("0 9 * * MON", "a circle", "local", "admin:u1")
    with pytest.raises(InputError, match="needs a prompt"):
        await scheduler.add("0 9 * * MON", "  ", "console:local", "admin:u1")
    assert await scheduler.list() == []


async def test_remove_and_sync_follow_the_table(db: Database) -> None:
    calls = Calls()
    scheduler = _scheduler(db, calls, sync_every_s=0.2)
    await scheduler.start()
    try:
        kept = await scheduler.add("0 9 * * MON", "kept", "console:local", "admin:u1")
        gone = await scheduler.add("0 10 * * MON", "gone", "console:local", "admin:u1")
        await scheduler.remove(gone.id)
        assert set(scheduler.next_runs()) == {kept.id}
        with pytest.raises(NotFound):
            await scheduler.remove(gone.id)

        # Added and removed behind its back (as `framecast schedule` does): the sync job notices.
        other = await add_schedule(db, "30 8 * * *", "from the cli", "console:local", "cli:root")
        await store.delete(db, kept.id)

        async def synced() -> None:
            while set(scheduler.next_runs()) != {other.id}:
                await asyncio.sleep(0.05)

        await asyncio.wait_for(synced(), WAIT_S)
    finally:
        await scheduler.shutdown()


def test_cli_add_list_remove(settings: Settings) -> None:
    runner = CliRunner()
    added = runner.invoke(cli, ["schedule", "add", "0 9 * * MON", "a blue circle", "--to", "console:local"])
    assert added.exit_code == 0, added.output
    schedule_id = added.output.split()[1].rstrip(":")
    assert schedule_id.startswith("sch_")

    bad = runner.invoke(cli, ["schedule", "add", "0 25 * * *", "x", "--to", "console:local"])
    assert bad.exit_code == 1 and "not a valid cron expression" in bad.output

    listed = runner.invoke(cli, ["schedule", "list"])
    assert listed.exit_code == 0
    lines = listed.output.splitlines()
    assert len(lines) == 1 and lines[0].startswith(schedule_id) and "'a blue circle'" in lines[0]

    shown = runner.invoke(cli, ["audit", "show"])
    assert "schedule.added" in shown.output and schedule_id in shown.output

    removed = runner.invoke(cli, ["schedule", "remove", schedule_id])
    assert removed.exit_code == 0
    assert runner.invoke(cli, ["schedule", "list"]).output == ""
    missing = runner.invoke(cli, ["schedule", "remove", schedule_id])
    assert missing.exit_code == 1 and "no schedule" in missing.output


async def test_a_schedule_added_from_the_cli_is_registered_by_the_app(make_app: Any, settings: Settings) -> None:
    def add_from_cli() -> str:
        result = CliRunner().invoke(cli, ["schedule", "add", "0 9 * * MON", "a circle", "--to", "console:local"])
        assert result.exit_code == 0, result.output
        return result.output.split()[1].rstrip(":")

    # The CLI runs its own event loop, as it does from a shell.
    schedule_id = await asyncio.to_thread(add_from_cli)
    app = await make_app()
    await app.start(admin_api=False, watch=False)
    assert set(app.scheduler.next_runs()) == {schedule_id}
