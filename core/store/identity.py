"""SQL for pairing codes, identity links, client certificates and bootstrap secrets.

Secrets never reach this module in clear: pairing codes arrive as keyed
hashes, bootstrap secrets as SHA-256 digests. State changes that must happen
once (deciding a code, redeeming a secret) are single guarded UPDATEs, so two
concurrent requests cannot both succeed.
"""

from __future__ import annotations

from dataclasses import dataclass

import aiosqlite

from core.models import Role, User
from core.store import users
from core.store.database import Database, Row

__all__ = [
    "CertificateRecord",
    "PairingRecord",
    "cert_owner",
    "count_codes_since",
    "count_pending_codes",
    "decide_code",
    "expire_codes",
    "get_certificate",
    "get_code",
    "insert_certificate",
    "insert_code",
    "insert_secret",
    "linked_user",
    "list_certificates",
    "redeem_secret",
    "revoke_all_certificates",
    "revoke_certificate",
    "revoke_user_certificates",
    "user_with_role",
]


@dataclass(frozen=True)
class PairingRecord:
    code_hash: str
    connector: str
    external_id: str
    display_name: str
    chat: str
    state: str  # pending | approved | denied | expired
    created_at: float
    expires_at: float


@dataclass(frozen=True)
class CertificateRecord:
    serial: str
    user_id: str
    subject: str
    not_after: float
    issued_at: float
    revoked_at: float | None


# --------------------------------------------------------------------------- pairing codes

_CODE_COLUMNS = "code_hash, connector, external_id, display_name, chat, state, created_at, expires_at"


def _code(row: Row) -> PairingRecord:
    return PairingRecord(
        code_hash=row["code_hash"],
        connector=row["connector"],
        external_id=row["external_id"],
        display_name=row["display_name"],
        chat=row["chat"],
        state=row["state"],
        created_at=float(row["created_at"]),
        expires_at=float(row["expires_at"]),
    )


async def insert_code(conn: aiosqlite.Connection, record: PairingRecord) -> None:
    await conn.execute(
        f"INSERT INTO pairing_codes ({_CODE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            record.code_hash, record.connector, record.external_id, record.display_name,
            record.chat, record.state, record.created_at, record.expires_at,
        ),
    )


async def count_pending_codes(conn: aiosqlite.Connection, connector: str, external_id: str, now: float) -> int:
    cursor = await conn.execute(
        "SELECT COUNT(*) FROM pairing_codes WHERE connector = ? AND external_id = ? "
        "AND state = 'pending' AND expires_at > ?",
        (connector, external_id, now),
    )
    row = await cursor.fetchone()
    return int(row[0]) if row else 0


async def count_codes_since(conn: aiosqlite.Connection, connector: str, external_id: str, since: float) -> int:
    cursor = await conn.execute(
        "SELECT COUNT(*) FROM pairing_codes WHERE connector = ? AND external_id = ? AND created_at > ?",
        (connector, external_id, since),
    )
    row = await cursor.fetchone()
    return int(row[0]) if row else 0


async def get_code(db: Database, code_hash: str) -> PairingRecord | None:
    row = await db.fetchone(f"SELECT {_CODE_COLUMNS} FROM pairing_codes WHERE code_hash = ?", (code_hash,))
    return _code(row) if row else None


async def decide_code(conn: aiosqlite.Connection, code_hash: str, state: str, by: str, now: float) -> bool:
    """Move a still-pending, unexpired code to ``state``; False when someone else got there first."""
    cursor = await conn.execute(
        "UPDATE pairing_codes SET state = ?, decided_by = ?, decided_at = ? "
        "WHERE code_hash = ? AND state = 'pending' AND expires_at > ?",
        (state, by, now, code_hash, now),
    )
    return cursor.rowcount == 1


async def expire_codes(conn: aiosqlite.Connection, now: float, forget_before: float) -> int:
    """Mark lapsed codes expired; drop rows older than ``forget_before`` (kept that long for rate limits)."""
    cursor = await conn.execute(
        "UPDATE pairing_codes SET state = 'expired' WHERE state = 'pending' AND expires_at <= ?", (now,)
    )
    await conn.execute("DELETE FROM pairing_codes WHERE created_at < ?", (forget_before,))
    return cursor.rowcount


# --------------------------------------------------------------------------- users and identities


async def linked_user(db: Database, connector: str, external_id: str) -> User | None:
    """The internal user an identity is linked to, if any."""
    row = await db.fetchone(
        "SELECT user_id FROM identities WHERE connector = ? AND external_id = ?", (connector, external_id)
    )
    return await users.get(db, row["user_id"]) if row else None


async def user_with_role(db: Database, role: Role) -> User | None:
    """The oldest user holding ``role`` (``admin init`` reuses an existing overlord)."""
    row = await db.fetchone("SELECT id FROM users WHERE role = ? ORDER BY created_at LIMIT 1", (role.value,))
    return await users.get(db, row["id"]) if row else None


# --------------------------------------------------------------------------- certificates

_CERT_COLUMNS = "serial, user_id, subject, not_after, issued_at, revoked_at"


def _cert(row: Row) -> CertificateRecord:
    revoked = row["revoked_at"]
    return CertificateRecord(
        serial=row["serial"],
        user_id=row["user_id"],
        subject=row["subject"],
        not_after=float(row["not_after"]),
        issued_at=float(row["issued_at"]),
        revoked_at=float(revoked) if revoked is not None else None,
    )


async def insert_certificate(conn: aiosqlite.Connection, record: CertificateRecord) -> None:
    await conn.execute(
        f"INSERT INTO certificates ({_CERT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)",
        (record.serial, record.user_id, record.subject, record.not_after, record.issued_at, record.revoked_at),
    )


async def cert_owner(db: Database, serial: str) -> tuple[CertificateRecord, User] | None:
    """The certificate and its user: the per-request authentication lookup."""
    record = await get_certificate(db, serial)
    if record is None:
        return None
    user = await users.get(db, record.user_id)
    return (record, user) if user is not None else None


async def get_certificate(db: Database, serial: str) -> CertificateRecord | None:
    row = await db.fetchone(f"SELECT {_CERT_COLUMNS} FROM certificates WHERE serial = ?", (serial,))
    return _cert(row) if row else None


async def list_certificates(db: Database, user_id: str | None = None) -> list[CertificateRecord]:
    if user_id is None:
        rows = await db.fetchall(f"SELECT {_CERT_COLUMNS} FROM certificates ORDER BY issued_at")
    else:
        rows = await db.fetchall(
            f"SELECT {_CERT_COLUMNS} FROM certificates WHERE user_id = ? ORDER BY issued_at", (user_id,)
        )
    return [_cert(row) for row in rows]


async def revoke_certificate(conn: aiosqlite.Connection, serial: str, now: float) -> bool:
    cursor = await conn.execute(
        "UPDATE certificates SET revoked_at = ? WHERE serial = ? AND revoked_at IS NULL", (now, serial)
    )
    return cursor.rowcount == 1


async def revoke_all_certificates(conn: aiosqlite.Connection, now: float) -> None:
    await conn.execute("UPDATE certificates SET revoked_at = ? WHERE revoked_at IS NULL", (now,))


async def revoke_user_certificates(conn: aiosqlite.Connection, user_id: str, now: float) -> list[str]:
    cursor = await conn.execute(
        "UPDATE certificates SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL RETURNING serial",
        (now, user_id),
    )
    return [str(row[0]) for row in await cursor.fetchall()]


# --------------------------------------------------------------------------- bootstrap secrets


async def insert_secret(conn: aiosqlite.Connection, secret_hash: str, user_id: str, now: float) -> None:
    await conn.execute(
        "INSERT INTO bootstrap_secrets (secret_hash, user_id, created_at) VALUES (?, ?, ?)",
        (secret_hash, user_id, now),
    )


async def redeem_secret(conn: aiosqlite.Connection, secret_hash: str, now: float, issued_after: float) -> str | None:
    """Spend an unused secret issued after ``issued_after``; its user id, or None (unknown, used, expired)."""
    cursor = await conn.execute(
        "UPDATE bootstrap_secrets SET used_at = ? "
        "WHERE secret_hash = ? AND used_at IS NULL AND created_at > ? RETURNING user_id",
        (now, secret_hash, issued_after),
    )
    row = await cursor.fetchone()
    return str(row[0]) if row else None
