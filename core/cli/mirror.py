"""``framecast mirror``: the Markdown copy of the state.

``rebuild`` rewrites every projection (users, contexts, jobs, approvals,
memory, the audit copies) from SQLite. The mirror does not fsync those files,
so this is what restores them after a machine crash; ``framecast serve`` runs
it by itself on the first start after an unclean stop. Chat logs exist only
as Markdown and are left as they are.
"""

from __future__ import annotations

import asyncio

import click

from core.cli.audit import data_dir_state
from core.config import load_settings
from core.mirror import Mirror
from core.rebuild import RebuildReport, rebuild

__all__ = ["mirror"]


@click.group()
def mirror() -> None:
    """The Markdown mirror of the data dir (SQLite is authoritative)."""


@mirror.command(name="rebuild")
def rebuild_command() -> None:
    """Rewrite every Markdown projection from SQLite (chat logs are kept as they are)."""

    async def run() -> RebuildReport:
        async with data_dir_state() as (db, _log):
            return await rebuild(Mirror(load_settings().data_dir), db)

    report = asyncio.run(run())
    click.echo(
        f"mirror rebuilt: {report.users} users, {report.contexts} contexts, {report.jobs} jobs, "
        f"{report.approvals} approvals, {report.memory} memory files, {report.audit_days} audit days"
    )
