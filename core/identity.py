"""Pairing: linking a chat identity to an internal user and role, approved by an admin.

A chat user sends ``pair``; :meth:`Pairing.request` answers with a one-time
code (8 characters from an alphabet without look-alikes: no I, L, O, 0 or 1),
valid for 10 minutes, at most 3 pending per identity and a few requests per
hour. An admin types the code into the TUI; the admin API calls
:meth:`Pairing.lookup` (shows who asked) and then :meth:`Pairing.approve`
or :meth:`Pairing.deny`. Approval links the identity to a new or existing
user with a role, in one transaction, so the identity's next chat command
already resolves to that user and role; the user is told in chat.

Codes are stored only as HMAC-SHA256 under a per-install key. A plain hash
would not do: a code has about 40 bits, so anyone holding a copy of the
database could try every code in minutes. With the key kept outside the
database (``pairing.key`` in the PKI folder, see :func:`load_pairing_key`)
the stored hashes are useless on their own. Guessing online is bounded by
the wrong-code limit: after 5 wrong codes in 10 minutes an admin's lookups
are refused for 10 minutes.
"""

from __future__ import annotations

import hmac
import secrets
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from hashlib import sha256
from pathlib import Path

import aiosqlite

from core.audit import Audit
from core.commands import Event, Notice, UserChanged
from core.errors import Conflict, InputError, NotFound, RateLimited
from core.models import Identity, Role, User
from core.pki import write_secret
from core.rbac import Action, require, require_grant
from core.store import identity as store
from core.store import users
from core.store.database import Database

__all__ = [
    "CODE_ALPHABET",
    "CODE_LENGTH",
    "CODE_TTL_S",
    "MAX_PENDING",
    "Pairing",
    "PairingInfo",
    "load_pairing_key",
]

CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 8
CODE_TTL_S = 600.0
MAX_PENDING = 3
REQUESTS_PER_HOUR = 10
WRONG_LIMIT = 5
WRONG_WINDOW_S = 600.0
FORGET_AFTER_S = 86400.0  # expired rows are kept a day so the hourly request limit can count them
NOT_PAIRABLE = ("admin", "system")  # staff through the API and internal actors are users already

EXPIRED = "That pairing code has expired; send pair again for a new one."
USED = "That pairing code was already used; send pair again if you need a new one."
DENIED = "That pairing code was denied; ask an admin, then send pair again."
UNKNOWN = "That pairing code is not valid."


@dataclass(frozen=True)
class PairingInfo:
    """What an admin sees before approving: who asked, from where."""

    connector: str
    external_id: str
    display_name: str
    chat: str
    expires_at: float


def load_pairing_key(path: Path) -> bytes:
    """The per-install HMAC key, created (32 random bytes, 0600) on first use."""
    if not path.is_file():
        write_secret(path, secrets.token_bytes(32))
    return path.read_bytes()


def normalize(code: str) -> str:
    """Upper-case, without the spaces or dashes people type between groups."""
    return "".join(ch for ch in code.upper() if ch.isalnum())


class Pairing:
    """Issues, looks up and decides pairing codes. See the module docstring."""

    def __init__(
        self,
        db: Database,
        audit: Audit,
        *,
        clock: Callable[[], float] = time.time,
        publish: Callable[[Event], None] | None = None,
        key: bytes | None = None,
        on_linked: Callable[[str, tuple[str, ...]], Awaitable[None]] | None = None,
    ) -> None:
        self.db = db
        self.audit = audit
        self.clock = clock
        self.publish = publish
        # Told (chat context id, ids of the users whose identities changed) after an approval,
        # so the App can rewrite their Markdown files.
        self.on_linked = on_linked
        # Without a key from load_pairing_key, pending codes simply do not survive a restart.
        self._key = key if key is not None else secrets.token_bytes(32)
        self._wrong: defaultdict[str, deque[float]] = defaultdict(deque)

    def _hash(self, code: str) -> str:
        return hmac.new(self._key, normalize(code).encode("ascii", "replace"), sha256).hexdigest()

    async def request(self, connector: str, external_id: str, display_name: str, chat: str) -> str:
        """A new code for this identity; refused past the pending and hourly limits."""
        if connector in NOT_PAIRABLE:
            raise InputError("Only chat accounts can be paired.", hint="Send pair to the bot in a direct message.")
        now = self.clock()
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
        record = store.PairingRecord(
            self._hash(code), connector, external_id, display_name, chat, "pending", now, now + CODE_TTL_S
        )

        async def insert(conn: aiosqlite.Connection) -> None:
            if await store.count_pending_codes(conn, connector, external_id, now) >= MAX_PENDING:
                raise Conflict(
                    f"You already have {MAX_PENDING} pairing codes waiting.",
                    hint="Give one of them to an admin, or wait 10 minutes for them to expire.",
                )
            if await store.count_codes_since(conn, connector, external_id, now - 3600) >= REQUESTS_PER_HOUR:
                raise RateLimited(
                    "Too many pairing requests this hour.", hint="Try again in an hour."
                )
            await store.insert_code(conn, record)

        await self.db.write(insert)
        await self.audit.record(
            f"{connector}:{external_id}", "pairing.requested", f"{connector}:{external_id}",
            detail={"chat": chat, "expires_at": record.expires_at},
        )
        return code

    def _check_lockout(self, who: str, now: float) -> None:
        wrong = self._wrong[who]
        while wrong and wrong[0] <= now - WRONG_WINDOW_S:
            wrong.popleft()
        if len(wrong) >= WRONG_LIMIT:
            wait = int(wrong[0] + WRONG_WINDOW_S - now) // 60 + 1
            raise RateLimited(
                "Too many wrong pairing codes.", hint=f"Wait {wait} minute(s), then check the code and try again."
            )

    async def _find(self, code: str, who: str) -> store.PairingRecord:
        """The pending record for ``code``; wrong codes count towards ``who``'s lockout."""
        now = self.clock()
        self._check_lockout(who, now)
        wanted = self._hash(code)
        record = await store.get_code(self.db, wanted) if len(normalize(code)) == CODE_LENGTH else None
        if record is None or not hmac.compare_digest(record.code_hash, wanted):
            self._wrong[who].append(now)
            raise NotFound(UNKNOWN, hint="Check the code the bot sent: 8 letters and digits.")
        if record.state == "approved":
            raise Conflict(USED)
        if record.state == "denied":
            raise Conflict(DENIED)
        if record.state == "expired" or record.expires_at <= now:
            raise Conflict(EXPIRED)
        return record

    async def lookup(self, code: str, *, approver: User | None = None) -> PairingInfo:
        """Who asked for ``code``. Pass the approver so wrong guesses are limited per admin."""
        if approver is not None:
            require(approver.role, Action.LOOKUP_PAIRING)
        record = await self._find(code, approver.id if approver else "")
        return PairingInfo(record.connector, record.external_id, record.display_name, record.chat, record.expires_at)

    async def approve(self, code: str, *, approver: User, user_id: str | None, role: Role) -> Identity:
        """Link the identity to ``user_id`` (or a new user named after it) with ``role``, at once."""
        require(approver.role, Action.DECIDE_PAIRING)
        record = await self._find(code, approver.id)
        target = await self._target(approver, user_id, role)
        uid = target.id if target is not None else users.new_user_id()
        previous = await store.linked_user(self.db, record.connector, record.external_id)
        now = self.clock()

        async def link(conn: aiosqlite.Connection) -> None:
            if not await store.decide_code(conn, record.code_hash, "approved", approver.id, now):
                raise Conflict(USED)
            if target is None:
                await users.insert(conn, uid, record.display_name, role, now)
            elif target.role is not role:
                await users.update_role(conn, uid, role, now)
            await users.link_identity(conn, record.connector, record.external_id, uid, record.display_name, now)

        await self.db.write(link)
        who = f"{record.connector}:{record.external_id}"
        await self.audit.record(
            f"admin:{approver.id}", "pairing.approved", who,
            detail={"user_id": uid, "role": role.value, "new_user": target is None},
        )
        if self.on_linked is not None:
            changed = (uid,) if previous is None or previous.id == uid else (uid, previous.id)
            await self.on_linked(f"{record.connector}:{record.chat}", changed)
        self._tell(record, uid, f"Pairing approved: you are linked to {uid} with the {role.value} role.")
        linked = await users.get(self.db, uid)
        if self.publish is not None and linked is not None:
            self.publish(UserChanged(user=linked))  # staff views (the TUI) refresh the user
        return Identity(record.connector, record.external_id, uid, record.display_name, now)

    async def _target(self, approver: User, user_id: str | None, role: Role) -> User | None:
        """The existing user to link to (None: a new one), after checking ``role`` may be granted."""
        if user_id is None:
            require_grant(approver.role, Role.MEMBER, role)
            return None
        target = await users.get(self.db, user_id)
        if target is None:
            raise NotFound(f"There is no user {user_id}.", hint="Leave the user out to create a new one.")
        # Linking your own chat account to yourself grants nothing new; anything else is a grant.
        if not (target.id == approver.id and role is approver.role):
            require_grant(approver.role, target.role, role)
        return target

    async def deny(self, code: str, *, approver: User) -> None:
        require(approver.role, Action.DECIDE_PAIRING)
        record = await self._find(code, approver.id)

        async def decide(conn: aiosqlite.Connection) -> None:
            if not await store.decide_code(conn, record.code_hash, "denied", approver.id, self.clock()):
                raise Conflict(USED)

        await self.db.write(decide)
        await self.audit.record(f"admin:{approver.id}", "pairing.denied", f"{record.connector}:{record.external_id}")
        self._tell(record, None, "Your pairing request was denied. Ask an admin if you think this is wrong.")

    async def expire(self) -> int:
        """Mark lapsed codes expired (the scheduler calls this every minute)."""
        now = self.clock()

        async def run(conn: aiosqlite.Connection) -> int:
            return await store.expire_codes(conn, now, now - FORGET_AFTER_S)

        return await self.db.write(run)

    def _tell(self, record: store.PairingRecord, user_id: str | None, text: str) -> None:
        if self.publish is not None:
            self.publish(Notice(text=text, user_id=user_id, context_id=f"{record.connector}:{record.chat}"))
