"""SQL for users, their chat identities, scoped role grants and chat contexts.

The orchestrator resolves every actor here: an identity
(connector, external id) maps to one internal user; unknown chat users are
created on first contact as Free members, in one transaction with their
identity so two concurrent first messages cannot create two users.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass

import aiosqlite

from core.models import Context, Identity, Role, TrialState, User
from core.store.database import Database, Row

__all__ = [
    "Snapshot",
    "all_contexts",
    "all_identities",
    "ensure_context",
    "get",
    "get_context",
    "grants",
    "identities",
    "insert",
    "link_identity",
    "list_all",
    "new_user_id",
    "set_grant",
    "set_context_policy",
    "set_role",
    "set_tier",
    "set_trial_state",
    "snapshot",
    "update_role",
    "upsert_user_with_identity",
    "workspaces_of_users",
]

_USER_COLUMNS = "id, display_name, role, tier, trial_state, created_at, updated_at"
_CONTEXT_COLUMNS = "id, workspace, connector, chat, admin_hub, policy_json"


def new_user_id() -> str:
    return f"u-{secrets.token_hex(5)}"


def _user(row: Row) -> User:
    return User(
        id=row["id"],
        display_name=row["display_name"],
        role=Role(row["role"]),
        tier=row["tier"],
        trial_state=TrialState(row["trial_state"]),
        created_at=float(row["created_at"]),
        updated_at=float(row["updated_at"]),
    )


async def get(db: Database, user_id: str) -> User | None:
    row = await db.fetchone(f"SELECT {_USER_COLUMNS} FROM users WHERE id = ?", (user_id,))
    return _user(row) if row else None


async def list_all(db: Database) -> list[User]:
    rows = await db.fetchall(f"SELECT {_USER_COLUMNS} FROM users ORDER BY created_at, id")
    return [_user(row) for row in rows]


def _identity(row: Row) -> Identity:
    return Identity(
        connector=row["connector"],
        external_id=row["external_id"],
        user_id=row["user_id"],
        display_name=row["display_name"],
        linked_at=float(row["linked_at"]),
    )


_IDENTITY_COLUMNS = "connector, external_id, user_id, display_name, linked_at"


async def identities(db: Database, user_id: str) -> list[Identity]:
    rows = await db.fetchall(
        f"SELECT {_IDENTITY_COLUMNS} FROM identities WHERE user_id = ? ORDER BY linked_at", (user_id,)
    )
    return [_identity(row) for row in rows]


async def all_identities(db: Database) -> dict[str, list[Identity]]:
    """Every identity, by user id, oldest link first."""
    rows = await db.fetchall(f"SELECT {_IDENTITY_COLUMNS} FROM identities ORDER BY linked_at")
    found: dict[str, list[Identity]] = {}
    for row in rows:
        found.setdefault(row["user_id"], []).append(_identity(row))
    return found


async def workspaces_of_users(db: Database) -> dict[str, set[str]]:
    """The workspaces each user has been seen in: projects, jobs, sessions' and approvals' chats."""
    rows = await db.fetchall(
        "SELECT user_id, workspace FROM projects UNION SELECT user_id, workspace FROM jobs "
        "UNION SELECT s.user_id, c.workspace FROM sessions s JOIN contexts c ON c.id = s.context_id "
        "UNION SELECT a.user_id, c.workspace FROM approvals a JOIN contexts c ON c.id = a.context_id"
    )
    found: dict[str, set[str]] = {}
    for row in rows:
        found.setdefault(row["user_id"], set()).add(row["workspace"])
    return found


async def insert(
    conn: aiosqlite.Connection, user_id: str, display_name: str, role: Role, now: float, *, if_absent: bool = False
) -> None:
    """A new user on the Free tier with the trial available; ``if_absent`` keeps an existing one."""
    verb = "INSERT OR IGNORE" if if_absent else "INSERT"
    await conn.execute(
        f"{verb} INTO users (id, display_name, role, tier, trial_state, created_at, updated_at) "
        "VALUES (?, ?, ?, 'free', 'available', ?, ?)",
        (user_id, display_name, role.value, now, now),
    )


async def update_role(conn: aiosqlite.Connection, user_id: str, role: Role, now: float) -> None:
    """A role change inside a caller's transaction (:func:`set_role` is the standalone one)."""
    await conn.execute("UPDATE users SET role = ?, updated_at = ? WHERE id = ?", (role.value, now, user_id))


async def link_identity(
    conn: aiosqlite.Connection, connector: str, external_id: str, user_id: str, display_name: str, now: float
) -> None:
    """Point the identity at ``user_id``, creating the link or moving an existing one."""
    await conn.execute(
        "INSERT INTO identities (connector, external_id, user_id, display_name, linked_at) "
        "VALUES (?, ?, ?, ?, ?) ON CONFLICT(connector, external_id) DO UPDATE SET "
        "user_id = excluded.user_id, display_name = excluded.display_name, linked_at = excluded.linked_at",
        (connector, external_id, user_id, display_name, now),
    )


async def upsert_user_with_identity(
    db: Database,
    *,
    connector: str,
    external_id: str,
    display_name: str,
    now: float,
    role: Role = Role.MEMBER,
    user_id: str | None = None,
) -> tuple[User, bool]:
    """The identity's user, created (member, free) if the identity is new; (user, created)."""
    row = await db.fetchone(
        "SELECT u.id, u.display_name, u.role, u.tier, u.trial_state, u.created_at, u.updated_at "
        "FROM identities i JOIN users u ON u.id = i.user_id WHERE i.connector = ? AND i.external_id = ?",
        (connector, external_id),
    )
    if row is not None:  # the common case: one read, no write transaction
        return _user(row), False

    async def run(conn: aiosqlite.Connection) -> tuple[str, bool]:
        cursor = await conn.execute(
            "SELECT user_id FROM identities WHERE connector = ? AND external_id = ?",
            (connector, external_id),
        )
        row = await cursor.fetchone()
        if row is not None:
            return str(row[0]), False
        uid = user_id or new_user_id()
        await insert(conn, uid, display_name, role, now, if_absent=True)
        await link_identity(conn, connector, external_id, uid, display_name, now)
        return uid, True

    uid, created = await db.write(run)
    user = await get(db, uid)
    assert user is not None
    return user, created


async def grants(db: Database, user_id: str) -> dict[str, Role]:
    rows = await db.fetchall("SELECT scope, role FROM role_grants WHERE user_id = ?", (user_id,))
    return {row["scope"]: Role(row["role"]) for row in rows}


async def set_grant(db: Database, user_id: str, scope: str, role: Role) -> None:
    await db.execute_write(
        "INSERT INTO role_grants (user_id, scope, role) VALUES (?, ?, ?) "
        "ON CONFLICT(user_id, scope) DO UPDATE SET role = excluded.role",
        (user_id, scope, role.value),
    )


async def _update(db: Database, user_id: str, column: str, value: str, now: float) -> User | None:
    # ``column`` is one of a fixed set chosen by the callers below, never user input.
    rows = await db.write_returning(
        f"UPDATE users SET {column} = ?, updated_at = ? WHERE id = ? RETURNING {_USER_COLUMNS}",
        (value, now, user_id),
    )
    return _user(rows[0]) if rows else None


async def set_tier(db: Database, user_id: str, tier: str, now: float) -> User | None:
    return await _update(db, user_id, "tier", tier, now)


async def set_role(db: Database, user_id: str, role: Role, now: float) -> User | None:
    return await _update(db, user_id, "role", role.value, now)


async def set_trial_state(db: Database, user_id: str, state: TrialState, now: float) -> User | None:
    return await _update(db, user_id, "trial_state", state.value, now)


@dataclass(frozen=True)
class Snapshot:
    """What resolving a known actor needs, read in one round trip."""

    user: User
    grants: dict[str, Role]
    context: Context | None  # None: the chat is new


async def snapshot(
    db: Database, *, context_id: str, identity: tuple[str, str] | None = None, user_id: str | None = None
) -> Snapshot | None:
    """The user of ``identity`` (connector, external id) or ``user_id``, its grants and the context.

    None when there is no such user: the caller takes the slow path that creates one.
    The resolve of every command runs this, so it is one query rather than three.
    """
    params: tuple[str, ...]
    if identity is not None:
        source, where, params = (
            "identities i JOIN users u ON u.id = i.user_id", "i.connector = ? AND i.external_id = ?", identity
        )
    elif user_id is not None:
        source, where, params = "users u", "u.id = ?", (user_id,)
    else:
        raise ValueError("snapshot needs an identity or a user id")
    user_columns = ", ".join(f"u.{column}" for column in _USER_COLUMNS.split(", "))
    context_columns = ", ".join(f"c.{column} AS c_{column}" for column in _CONTEXT_COLUMNS.split(", "))
    row = await db.fetchone(
        f"SELECT {user_columns}, {context_columns}, "
        "(SELECT json_group_object(scope, role) FROM role_grants g WHERE g.user_id = u.id) AS grants_json "
        f"FROM {source} LEFT JOIN contexts c ON c.id = ? WHERE {where}",
        (context_id, *params),
    )
    if row is None:
        return None
    context = None
    if row["c_id"] is not None:
        context = Context(
            id=row["c_id"], workspace=row["c_workspace"], connector=row["c_connector"], chat=row["c_chat"],
            admin_hub=bool(row["c_admin_hub"]), policy=json.loads(row["c_policy_json"]),
        )
    grants = {scope: Role(role) for scope, role in json.loads(row["grants_json"] or "{}").items()}
    return Snapshot(_user(row), grants, context)


def _context(row: Row) -> Context:
    return Context(
        id=row["id"],
        workspace=row["workspace"],
        connector=row["connector"],
        chat=row["chat"],
        admin_hub=bool(row["admin_hub"]),
        policy=json.loads(row["policy_json"]),
    )


async def all_contexts(db: Database) -> list[Context]:
    rows = await db.fetchall(f"SELECT {_CONTEXT_COLUMNS} FROM contexts ORDER BY id")
    return [_context(row) for row in rows]


async def get_context(db: Database, context_id: str) -> Context | None:
    row = await db.fetchone(
        f"SELECT {_CONTEXT_COLUMNS} FROM contexts WHERE id = ?",
        (context_id,),
    )
    return _context(row) if row else None


async def ensure_context(db: Database, *, connector: str, chat: str, workspace: str) -> tuple[Context, bool]:
    """The chat's context, created on first contact; (context, created)."""
    context_id = f"{connector}:{chat}"
    existing = await get_context(db, context_id)
    if existing is not None:
        return existing, False
    await db.execute_write(
        "INSERT OR IGNORE INTO contexts (id, workspace, connector, chat) VALUES (?, ?, ?, ?)",
        (context_id, workspace, connector, chat),
    )
    created = await get_context(db, context_id)
    assert created is not None
    return created, True


async def set_context_policy(db: Database, context_id: str, policy: dict[str, object]) -> Context | None:
    rows = await db.write_returning(
        f"UPDATE contexts SET policy_json = ? WHERE id = ? RETURNING {_CONTEXT_COLUMNS}",
        (json.dumps(policy, sort_keys=True), context_id),
    )
    return _context(rows[0]) if rows else None
