"""``framecast audit``: check and read the hash-chained audit log of the data dir."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import click

from core.audit import Audit, VerifyReport
from core.config import load_settings
from core.mirror import Mirror, iso
from core.models import AuditEntry
from core.store.database import Database

__all__ = ["audit", "data_dir_state"]


@asynccontextmanager
async def data_dir_state(*, create: bool = False) -> AsyncIterator[tuple[Database, Audit]]:
    """The database and audit log of the configured data dir, closed on exit.

    Without ``create`` a missing database is an error rather than a new empty one,
    so a mistyped FRAMECAST_DATA_DIR is noticed instead of verified as "ok".
    """
    settings = load_settings()
    if not create and not settings.db_path.is_file():
        raise click.ClickException(
            f"No framecast database at {settings.db_path}; is FRAMECAST_DATA_DIR right?"
        )
    db = await Database.open(settings.db_path)
    try:
        yield db, Audit(db, Mirror(settings.data_dir))
    finally:
        await db.close()


async def _verify() -> VerifyReport:
    async with data_dir_state() as (_db, log):
        return await log.verify()


async def _page(limit: int) -> list[AuditEntry]:
    async with data_dir_state() as (_db, log):
        return await log.page(limit=limit)


@click.group()
def audit() -> None:
    """Check and read the audit log (the SQLite table is authoritative)."""


@audit.command()
def verify() -> None:
    """Recompute the hash chain; exit 1 at the first edited, removed or reordered entry."""
    report = asyncio.run(_verify())
    if report.ok:
        click.echo(f"audit chain ok: {report.entries} entries")
        return
    click.echo(f"audit chain BROKEN at entry {report.first_bad_seq}: {report.problem}", err=True)
    click.echo(f"({report.entries} entries before it check out)", err=True)
    raise SystemExit(1)


@audit.command()
@click.option("--limit", default=20, show_default=True, type=click.IntRange(min=1), help="Entries to show.")
def show(limit: int) -> None:
    """Print the newest entries, oldest of them first."""
    for entry in reversed(asyncio.run(_page(limit))):
        detail = f" {json.dumps(entry.detail, sort_keys=True)}" if entry.detail else ""
        click.echo(
            f"#{entry.seq} {iso(entry.ts)} [{entry.workspace}] {entry.actor} "
            f"{entry.action} {entry.target}{detail}"
        )
