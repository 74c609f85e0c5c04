"""The CA's bookkeeping: bootstrap secrets, enrollment, per-request certificate checks, revocation.

core.pki makes keys and certificates; this module decides who gets one and
remembers it. Every issued client certificate has a row in ``certificates``
(serial -> user); the admin API looks the serial up on every request, so
revoking a row locks its holder out at once, even on an open connection.

Bootstrap secrets are 256-bit random strings shown once and stored as
SHA-256 (they are long enough that a plain hash resists guessing). Each is
bound to one user, single use, and expires after 24 hours.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass

import aiosqlite
from cryptography.hazmat.primitives import serialization

from core import pki
from core.audit import Audit
from core.errors import AuthError, Conflict, NotFound
from core.models import Role, User
from core.rbac import Action, require
from core.store import identity as store
from core.store import users
from core.store.database import Database

__all__ = ["BOOTSTRAP_TTL_S", "Authority", "Enrollment", "Issued"]

BOOTSTRAP_TTL_S = 24 * 3600.0
OVERLORD_ID = "overlord"
CLI_ACTOR = "system:cli"  # someone on the server host, holding the CA key
_BAD_SECRET = AuthError(
    "That enrollment secret is unknown, already used or expired.",
    hint="Ask an admin for a new one (or run `framecast admin init --force` on the server).",
)


@dataclass(frozen=True)
class Enrollment:
    """A one-time secret for ``user_id``; ``ca_fingerprint`` lets the client pin the CA."""

    secret: str
    user_id: str
    expires_at: float
    ca_fingerprint: str


@dataclass(frozen=True)
class Issued:
    serial: str
    user_id: str
    certificate_pem: str
    ca_pem: str
    not_after: float


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


class Authority:
    """One installation's CA plus its database records."""

    def __init__(
        self, db: Database, audit: Audit, paths: pki.PkiPaths, *, clock: Callable[[], float] = time.time
    ) -> None:
        self.db = db
        self.audit = audit
        self.paths = paths
        self.clock = clock

    async def init(self, hosts: list[str], *, force: bool = False) -> Enrollment:
        """Create CA, server certificate and the overlord's bootstrap secret (``framecast admin init``)."""
        if self.paths.has_ca() and not force:
            raise Conflict(
                f"A CA already exists in {self.paths.root}.",
                hint="Use --force to replace it; every certificate it issued stops working.",
            )
        ca_key, ca_cert = pki.create_ca()
        server_key, server_cert = pki.issue_server_cert(ca_key, ca_cert, hosts)
        self.paths.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.paths.root.chmod(0o700)
        pki.write_private_key(self.paths.ca_key, ca_key)
        pki.write_cert(self.paths.ca_cert, ca_cert)
        pki.write_private_key(self.paths.server_key, server_key)
        pki.write_cert(self.paths.server_cert, server_cert)
        now = self.clock()
        overlord = await store.user_with_role(self.db, Role.OVERLORD)
        uid = overlord.id if overlord is not None else OVERLORD_ID

        async def bootstrap(conn: aiosqlite.Connection) -> None:
            if overlord is None:
                await users.insert(conn, uid, OVERLORD_ID, Role.OVERLORD, now)
            # Certificates of a replaced CA can no longer connect; say so in the records too.
            await store.revoke_all_certificates(conn, now)

        await self.db.write(bootstrap)
        await self.audit.record(
            CLI_ACTOR, "pki.init", self.paths.root.name,
            detail={"hosts": hosts, "ca_fingerprint": pki.fingerprint(ca_cert), "force": force},
        )
        return await self._new_secret(uid, CLI_ACTOR)

    async def create_enrollment(self, actor: User, user_id: str) -> Enrollment:
        """An enrollment secret for another staff member (admin+; overlord for admin+ subjects)."""
        subject = await self._subject(actor, user_id, Action.ISSUE_ENROLLMENT)
        return await self._new_secret(subject.id, f"admin:{actor.id}")

    async def _subject(self, actor: User | None, user_id: str, action: Action) -> User:
        """The user a certificate operation is about, after the RBAC check (None: the host's CLI)."""
        subject = await users.get(self.db, user_id)
        if subject is None:
            raise NotFound(f"There is no user {user_id}.")
        if actor is not None:
            require(actor.role, action)
            if subject.role.at_least(Role.ADMIN):
                require(actor.role, Action.MANAGE_CERTIFICATES)
        return subject

    async def _new_secret(self, user_id: str, by: str) -> Enrollment:
        secret = pki.new_secret()
        now = self.clock()

        async def insert(conn: aiosqlite.Connection) -> None:
            await store.insert_secret(conn, hash_secret(secret), user_id, now)

        await self.db.write(insert)
        await self.audit.record(by, "enrollment.created", user_id, detail={"expires_at": now + BOOTSTRAP_TTL_S})
        ca_cert = pki.load_cert(self.paths.ca_cert)
        return Enrollment(secret, user_id, now + BOOTSTRAP_TTL_S, pki.fingerprint(ca_cert))

    async def enroll(self, secret: str, csr_pem: bytes) -> Issued:
        """Spend ``secret`` and sign the CSR for the secret's user. The secret is spent only on success."""
        ca_key = pki.load_key(self.paths.ca_key)
        ca_cert = pki.load_cert(self.paths.ca_cert)
        public = pki.load_csr(csr_pem)  # a bad CSR is refused before the secret is spent
        now = self.clock()

        async def issue(conn: aiosqlite.Connection) -> Issued:
            user_id = await store.redeem_secret(conn, hash_secret(secret), now, now - BOOTSTRAP_TTL_S)
            if user_id is None:
                raise _BAD_SECRET
            cert = pki.issue_client_cert(ca_key, ca_cert, public, user_id)
            serial = pki.serial_hex(cert.serial_number)
            not_after = cert.not_valid_after_utc.timestamp()
            subject = cert.subject.rfc4514_string()
            await store.insert_certificate(
                conn, store.CertificateRecord(serial, user_id, subject, not_after, now, None)
            )
            pem = cert.public_bytes(serialization.Encoding.PEM).decode("ascii")
            ca_pem = ca_cert.public_bytes(serialization.Encoding.PEM).decode("ascii")
            return Issued(serial, user_id, pem, ca_pem, not_after)

        issued = await self.db.write(issue)
        await self.audit.record(
            f"admin:{issued.user_id}", "cert.issued", issued.serial, detail={"not_after": issued.not_after}
        )
        return issued

    async def authenticate(self, serial: str) -> User:
        """The user behind a client certificate serial; refuses unknown, revoked and expired ones."""
        found = await store.cert_owner(self.db, serial)
        if found is None:
            raise AuthError("This client certificate is not known here.", hint="Enroll again.")
        record, user = found
        if record.revoked_at is not None:
            raise AuthError("This client certificate has been revoked.", hint="Ask an admin for a new one.")
        if record.not_after <= self.clock():
            raise AuthError("This client certificate has expired.", hint="Ask an admin for a new one.")
        return user

    async def revoke(self, serial: str, *, actor: User | None) -> None:
        """Revoke one certificate (``actor`` None: the host's CLI, which already holds the CA key)."""
        record = await store.get_certificate(self.db, serial.lower())
        if record is None:
            raise NotFound(f"There is no certificate with serial {serial}.")
        await self._subject(actor, record.user_id, Action.REVOKE_CERTIFICATE)
        now = self.clock()

        async def run(conn: aiosqlite.Connection) -> bool:
            return await store.revoke_certificate(conn, record.serial, now)

        if not await self.db.write(run):
            raise Conflict(f"Certificate {serial} is already revoked.")
        await self.audit.record(f"admin:{actor.id}" if actor else CLI_ACTOR, "cert.revoked", record.serial,
                                detail={"user_id": record.user_id})

    async def revoke_user(self, user_id: str, *, actor: User | None) -> list[str]:
        """Revoke every live certificate of a user; the serials revoked."""
        await self._subject(actor, user_id, Action.REVOKE_CERTIFICATE)
        now = self.clock()

        async def run(conn: aiosqlite.Connection) -> list[str]:
            return await store.revoke_user_certificates(conn, user_id, now)

        serials = await self.db.write(run)
        for serial in serials:
            await self.audit.record(f"admin:{actor.id}" if actor else CLI_ACTOR, "cert.revoked", serial,
                                    detail={"user_id": user_id})
        return serials

    async def certificates(self, user_id: str | None = None) -> list[store.CertificateRecord]:
        return await store.list_certificates(self.db, user_id)
