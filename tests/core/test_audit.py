"""The hash-chained audit log, its tamper detection and `framecast audit`."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from core.audit import GENESIS_HASH, Audit, entry_hash
from core.cli import cli
from core.config import Settings
from core.mirror import Mirror
from core.store.database import Database


class Clock:
    def __init__(self, start: float = 1_795_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        self.now += 1.5
        return self.now


@pytest.fixture
async def db(data_dir: Path) -> AsyncIterator[Database]:
    database = await Database.open(data_dir / "db.sqlite3")
    yield database
    await database.close()  # a no-op for tests that closed it to tamper


async def _filled(db: Database, count: int, mirror: Mirror | None = None) -> Audit:
    log = Audit(db, mirror, clock=Clock())
    for i in range(count):
        await log.record(f"telegram:{i % 3}", "render.queued", f"job{i}", detail={"n": i, "size": [i, i]})
    return log


def _tamper(path: Path, *statements: str) -> None:
    """Edit the database behind framecast's back, like someone with file access would."""
    with sqlite3.connect(path) as conn:
        for statement in statements:
            conn.execute(statement)


async def _verify(path: Path) -> tuple[bool, int | None, str | None]:
    db = await Database.open(path)
    try:
        report = await Audit(db).verify()
    finally:
        await db.close()
    return report.ok, report.first_bad_seq, report.problem


async def test_entries_chain_from_genesis_and_verify(db: Database) -> None:
    log = await _filled(db, 5)
    entries = list(reversed(await log.page()))
    assert [e.seq for e in entries] == [1, 2, 3, 4, 5]
    assert entries[0].prev_hash == GENESIS_HASH
    for before, after in zip(entries, entries[1:]):
        assert after.prev_hash == before.hash
    last = entries[-1]
    assert last.hash == entry_hash(
        last.seq, last.ts, last.actor, last.action, last.target, last.workspace, last.detail, last.prev_hash
    )
    report = await log.verify()
    assert (report.ok, report.entries, report.first_bad_seq) == (True, 5, None)


async def test_concurrent_records_keep_one_unbroken_chain(db: Database) -> None:
    log = Audit(db)
    await asyncio.gather(*(log.record("u", "ingest", f"t{i}") for i in range(60)))
    report = await log.verify()
    assert report.ok and report.entries == 60
    assert sorted(e.target for e in await log.page(limit=100)) == sorted(f"t{i}" for i in range(60))


@pytest.mark.parametrize(
    ("statements", "bad_seq", "words"),
    [
        (["UPDATE audit SET detail_json = '{\"n\":99,\"size\":[3,3]}' WHERE seq = 4"], 4, "altered"),
        (["UPDATE audit SET actor = 'someone:else' WHERE seq = 1"], 1, "altered"),
        (["DELETE FROM audit WHERE seq = 3"], 3, "missing"),
        (["DELETE FROM audit WHERE seq = 1"], 1, "missing"),
        # Move entry 6 into the gap left by 3: a reorder that keeps seq contiguous at 3.
        (["DELETE FROM audit WHERE seq = 3", "UPDATE audit SET seq = 3 WHERE seq = 6"], 3, "link"),
        # Swap two entries' positions.
        (["UPDATE audit SET seq = -1 WHERE seq = 2", "UPDATE audit SET seq = 2 WHERE seq = 5",
          "UPDATE audit SET seq = 5 WHERE seq = -1"], 2, "link"),
    ],
    ids=["edited-detail", "edited-actor", "removed-middle", "removed-first", "moved", "swapped"],
)
async def test_verify_finds_the_first_tampered_entry(
    db: Database, statements: list[str], bad_seq: int, words: str
) -> None:
    path = db.path
    await _filled(db, 8)
    await db.close()
    assert (await _verify(path))[0]

    _tamper(path, *statements)
    ok, first_bad, problem = await _verify(path)
    assert not ok
    assert first_bad == bad_seq
    assert problem is not None and words in problem


async def test_a_rehashed_edit_still_breaks_the_next_link(db: Database) -> None:
    """Recomputing the edited entry's own hash is not enough to hide an edit."""
    path = db.path
    log = await _filled(db, 4)
    second = [e for e in await log.page() if e.seq == 2][0]
    await db.close()
    forged = entry_hash(2, second.ts, "intruder", second.action, second.target, second.workspace,
                        second.detail, second.prev_hash)
    _tamper(path, f"UPDATE audit SET actor = 'intruder', hash = '{forged}' WHERE seq = 2")
    assert await _verify(path) == (False, 3, "entry 3 does not link to the entry before it")


async def test_secret_looking_detail_is_redacted(db: Database) -> None:
    entry = await Audit(db).record(
        "admin:u1", "cert.issued", "u1",
        detail={"serial": "ab12", "bootstrap_secret": "s3cr3t", "nested": {"api-token": "t0k"},
                "pairing_code": "K7QX2M", "tokens": 420},
    )
    assert entry.detail == {"serial": "ab12", "bootstrap_secret": "[redacted]",
                            "nested": {"api-token": "[redacted]"}, "pairing_code": "[redacted]",
                            "tokens": 420}
    assert "s3cr3t" not in Path(db.path).read_bytes().decode("latin-1")
    assert (await Audit(db).verify()).ok


async def test_pages_walk_backwards(db: Database) -> None:
    log = await _filled(db, 7)
    first = await log.page(limit=3)
    second = await log.page(before_seq=first[-1].seq, limit=3)
    third = await log.page(before_seq=second[-1].seq, limit=3)
    assert [e.seq for e in first + second + third] == [7, 6, 5, 4, 3, 2, 1]


async def test_entries_are_mirrored_to_markdown_per_workspace_and_day(data_dir: Path, db: Database) -> None:
    log = Audit(db, Mirror(data_dir), clock=lambda: 1_795_000_000.0)  # 2026-11-18 11:06:40 UTC
    await log.record("telegram:42", "approval.approved", "apr_1", workspace="tg-100", detail={"job": "j1"})
    text = (data_dir / "tg-100" / "audit" / "2026-11-18.md").read_text()
    assert "authoritative" in text
    assert "- #1 2026-11-18T11:06:40Z" in text and "`approval.approved` apr_1" in text and '"job": "j1"' in text


def test_cli_verify_reports_ok_then_the_broken_entry(settings: Settings) -> None:
    async def fill() -> None:
        db = await Database.open(settings.db_path)
        try:
            await _filled(db, 6, Mirror(settings.data_dir))
        finally:
            await db.close()

    asyncio.run(fill())
    runner = CliRunner()
    result = runner.invoke(cli, ["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert "audit chain ok: 6 entries" in result.output

    shown = runner.invoke(cli, ["audit", "show", "--limit", "2"])
    assert shown.exit_code == 0
    assert [line.split()[0] for line in shown.output.splitlines()] == ["#5", "#6"]

    _tamper(settings.db_path, "UPDATE audit SET target = 'job-x' WHERE seq = 5")
    broken = runner.invoke(cli, ["audit", "verify"])
    assert broken.exit_code == 1
    assert "BROKEN at entry 5" in broken.output


def test_cli_verify_refuses_a_missing_database(settings: Settings) -> None:
    result = CliRunner().invoke(cli, ["audit", "verify"])
    assert result.exit_code == 1
    assert "No framecast database" in result.output
    assert not settings.db_path.exists()
