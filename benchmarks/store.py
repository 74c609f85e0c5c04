"""Store benchmark: 10,000 hash-chained audit appends into a real SQLite file, then a full verify.

Run: ``python benchmarks/store.py [--entries N] [--mirror]``. Each append is its
own ``BEGIN IMMEDIATE`` transaction (read the head, insert, commit) through the
single writer, exactly as the app records audit entries; ``--mirror`` also
appends every entry to the Markdown copy (an fsync'd append per entry).
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from core.audit import Audit
from core.mirror import Mirror
from core.store.database import Database


async def run(entries: int, mirror: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        db = await Database.open(data_dir / "framecast.sqlite3")
        try:
            log = Audit(db, Mirror(data_dir) if mirror else None)
            started = time.perf_counter()
            for i in range(entries):
                await log.record(f"telegram:{i % 50}", "render.queued", f"job{i}",
                                 workspace="bench", detail={"position": i % 7, "chars": 42})
            appended = time.perf_counter() - started

            started = time.perf_counter()
            report = await log.verify()
            verified = time.perf_counter() - started
        finally:
            await db.close()
    if not report.ok or report.entries != entries:
        raise SystemExit(f"verify failed: {report}")
    print(f"entries:          {entries}{' (with Markdown mirror)' if mirror else ''}")
    print(f"append total:     {appended:.2f} s")
    print(f"append per entry: {appended / entries * 1e6:.0f} us")
    print(f"verify total:     {verified:.3f} s")
    print(f"verify per entry: {verified / entries * 1e6:.1f} us")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--entries", type=int, default=10_000)
    parser.add_argument("--mirror", action="store_true", help="also append each entry to Markdown")
    args = parser.parse_args()
    asyncio.run(run(args.entries, args.mirror))


if __name__ == "__main__":
    main()
