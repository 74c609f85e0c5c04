"""The append-only, hash-chained audit log.

Each entry's ``hash`` is the SHA-256 of a canonical JSON object holding the
entry's fields and the previous entry's hash (64 zeros for the first entry).
Appends go through :meth:`Database.write`, so reading the head and inserting
the next entry happen in one ``BEGIN IMMEDIATE`` transaction and concurrent
callers cannot fork the chain. :meth:`Audit.verify` recomputes the chain in
``seq`` order, which exposes an edited entry (its hash no longer matches),
a removed one (a gap in ``seq`` or a broken link) and a reordered one (``seq``
is hashed, so moving an entry breaks its hash and its neighbour's link).

The SQLite table is authoritative; the Markdown under ``audit/`` is a copy
for people. ``detail`` carries metadata only (ids, sizes, states, error
codes), never pairing codes, bootstrap secrets, tokens or passwords; keys
that name a secret (``*_secret``, ``api_token``, ``password``, ``pairing_code``,
...) are redacted here as a last line of defence.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiosqlite

from core.mirror import Mirror
from core.models import AuditEntry
from core.store import audit as store
from core.store.database import Database

__all__ = ["GENESIS_HASH", "Audit", "VerifyReport", "entry_hash"]

log = logging.getLogger(__name__)

GENESIS_HASH = "0" * 64
# A detail key is redacted when one of its words (split on _ - . and spaces) is one of
# these, or when it is one of the named secrets; "tokens" (a usage count) is kept.
_SECRET_WORDS = frozenset({"secret", "password", "passwd", "token"})
_SECRET_KEYS = frozenset({"pairing_code", "api_key", "private_key", "key_pem"})
_VERIFY_CHUNK = 2000


def entry_hash(
    seq: int,
    ts: float,
    actor: str,
    action: str,
    target: str,
    workspace: str,
    detail: dict[str, Any],
    prev_hash: str,
) -> str:
    """SHA-256 hex of the canonical JSON of one entry plus the previous hash."""
    body = {
        "seq": seq,
        "ts": ts,
        "actor": actor,
        "action": action,
        "target": target,
        "workspace": workspace,
        "detail": detail,
        "prev_hash": prev_hash,
    }
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()


def _is_secret(key: object) -> bool:
    name = str(key).lower()
    return name in _SECRET_KEYS or not _SECRET_WORDS.isdisjoint(re.split(r"[_\-. ]+", name))


def _redact(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: "[redacted]" if _is_secret(key) else _redact(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_redact(item) for item in value]
    return value


@dataclass(frozen=True)
class VerifyReport:
    ok: bool
    entries: int
    first_bad_seq: int | None
    problem: str | None


class Audit:
    """Record and verify audit entries of one data dir."""

    def __init__(
        self,
        db: Database,
        mirror: Mirror | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._db = db
        self._mirror = mirror
        self._clock = clock

    async def record(
        self,
        actor: str,
        action: str,
        target: str,
        *,
        workspace: str = "local",
        detail: dict[str, Any] | None = None,
    ) -> AuditEntry:
        """Append one entry to the chain (and to the Markdown copy) and return it."""
        # Round-trip through JSON so the hashed form is exactly what is stored and read back.
        detail_json = json.dumps(
            _redact(detail or {}), sort_keys=True, separators=(",", ":"), default=str
        )
        clean: dict[str, Any] = json.loads(detail_json)

        async def append(conn: aiosqlite.Connection) -> AuditEntry:
            last = await store.head(conn)
            seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS_HASH)
            ts = float(self._clock())
            digest = entry_hash(seq, ts, actor, action, target, workspace, clean, prev)
            entry = AuditEntry(seq, ts, actor, action, target, workspace, clean, prev, digest)
            await store.insert(conn, entry, detail_json)
            return entry

        entry = await self._db.write(append)
        if self._mirror is not None:
            # Runs before this task yields, so Markdown lines keep commit order.
            try:
                self._mirror.append_audit(entry)
            except OSError:
                log.exception("audit entry %d committed but not mirrored to Markdown", entry.seq)
        return entry

    async def verify(self) -> VerifyReport:
        """Recompute the whole chain, oldest first; report the first entry that breaks it."""
        expected_seq, expected_prev, checked = 1, GENESIS_HASH, 0
        after: int | None = None
        while True:
            chunk = await store.ascending(self._db, after, _VERIFY_CHUNK)
            if not chunk:
                return VerifyReport(True, checked, None, None)
            for entry in chunk:
                broken = _check(entry, expected_seq, expected_prev)
                if broken is not None:
                    return VerifyReport(False, checked, *broken)
                checked += 1
                expected_seq, expected_prev = entry.seq + 1, entry.hash
            after = chunk[-1].seq

    async def page(self, before_seq: int | None = None, limit: int = 50) -> list[AuditEntry]:
        """Newest entries first; pass the last seq seen as ``before_seq`` for the next page."""
        return await store.page(self._db, before_seq, max(1, limit))


def _check(entry: AuditEntry, expected_seq: int, expected_prev: str) -> tuple[int, str] | None:
    """(first bad seq, what is wrong) or None when ``entry`` continues the chain."""
    # Rows come back ordered by their unique seq, so a mismatch can only be a gap.
    if entry.seq != expected_seq:
        missing = f"{expected_seq}" if entry.seq == expected_seq + 1 else f"{expected_seq}..{entry.seq - 1}"
        return expected_seq, f"entry {missing} is missing (removed)"
    if entry.prev_hash != expected_prev:
        return entry.seq, f"entry {entry.seq} does not link to the entry before it"
    recomputed = entry_hash(
        entry.seq,
        entry.ts,
        entry.actor,
        entry.action,
        entry.target,
        entry.workspace,
        entry.detail,
        entry.prev_hash,
    )
    if recomputed != entry.hash:
        return entry.seq, f"entry {entry.seq} was altered (its hash does not match its content)"
    return None
