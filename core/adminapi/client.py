"""The async admin API client the TUI and the CLI use: mTLS, typed methods, an event stream.

``AdminClient(url, Credentials(folder))`` presents the enrolled key and
certificate and trusts only the CA saved beside them. Errors come back as the
same FramecastError subclasses the server raised (by their stable code).

:func:`enroll` is the other half of ``framecast admin enroll``: it makes a
key locally (the private key never leaves this machine), trusts the server
either through a CA file handed over out of band or by fetching the CA and
checking it against a pinned SHA-256 fingerprint, and sends a CSR with the
one-time secret.
"""

from __future__ import annotations

import hmac
import json
import ssl
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import aiohttp
import click
from cryptography import x509

from core import errors, pki
from core.adminapi.authority import Enrollment, Issued
from core.adminapi.wire import from_jsonable
from core.audit import VerifyReport
from core.commands import Reply
from core.errors import AuthError, FramecastError, InputError
from core.identity import PairingInfo
from core.models import Approval, AuditEntry, Identity, Job, Role, User

__all__ = ["AdminClient", "Credentials", "ServerEvent", "default_credentials", "enroll", "fetch_pinned_ca"]

_ERRORS: dict[str, type[FramecastError]] = {
    cls.code: cls
    for cls in (getattr(errors, name) for name in errors.__all__)
    if isinstance(cls, type) and issubclass(cls, FramecastError)
}
_TIMEOUT = aiohttp.ClientTimeout(total=30, connect=10)


@dataclass(frozen=True)
class Credentials:
    """An enrolled client's folder: ``client.key`` (0600), ``client.pem`` and ``ca.pem``."""

    root: Path

    @property
    def key(self) -> Path:
        return self.root / "client.key"

    @property
    def cert(self) -> Path:
        return self.root / "client.pem"

    @property
    def ca(self) -> Path:
        return self.root / "ca.pem"

    def ssl_context(self) -> ssl.SSLContext:
        return pki.client_ssl_context(self.ca, self.cert, self.key)


def default_credentials() -> Credentials:
    """Where ``framecast admin enroll`` saves and the TUI looks: the user's config dir (XDG on Linux)."""
    return Credentials(Path(click.get_app_dir("framecast")) / "admin")


@dataclass(frozen=True)
class ServerEvent:
    """One server-sent event: the core event's class name and its fields."""

    type: str
    data: dict[str, Any]


def _raise_for(status: int, payload: Any) -> None:
    error = payload.get("error") if isinstance(payload, dict) else None
    if not isinstance(error, dict):
        raise FramecastError(f"The admin API answered {status} without an error body.")
    cls = _ERRORS.get(str(error.get("code")), FramecastError)
    raise cls(str(error.get("message")), hint=error.get("hint"))


async def _json(response: aiohttp.ClientResponse) -> Any:
    try:
        payload = await response.json(content_type=None)
    except (json.JSONDecodeError, aiohttp.ContentTypeError) as exc:
        raise FramecastError(f"The admin API answered {response.status} with something that is not JSON.") from exc
    if response.status >= 400:
        _raise_for(response.status, payload)
    return payload


class AdminClient:
    """One keep-alive mTLS session to the admin API. Use as ``async with``."""

    def __init__(self, base_url: str, credentials: Credentials, *, timeout: aiohttp.ClientTimeout = _TIMEOUT) -> None:
        self.base_url = base_url.rstrip("/")
        self._ssl = credentials.ssl_context()
        self._timeout = timeout
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> AdminClient:
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(ssl=self._ssl, limit=4), timeout=self._timeout
        )
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            raise RuntimeError("use AdminClient inside `async with`")
        return self._session

    async def request(self, method: str, path: str, body: dict[str, Any] | None = None, **query: Any) -> Any:
        params = {k: str(v) for k, v in query.items() if v is not None}
        async with self.session.request(method, self.base_url + path, json=body, params=params) as response:
            return await _json(response)

    async def _reply(self, method: str, path: str, body: dict[str, Any] | None = None, **query: Any) -> Reply:
        payload = await self.request(method, path, body, **query)
        return Reply(text=payload["text"], data=payload.get("data"))

    # ------------------------------------------------------------------ who am I, pairing

    async def whoami(self) -> User:
        return from_jsonable(User, (await self.request("GET", "/admin/whoami"))["user"])

    async def pairing_lookup(self, code: str) -> PairingInfo:
        payload = await self.request("POST", "/admin/pairing/lookup", {"code": code})
        return from_jsonable(PairingInfo, payload["pairing"])

    async def pairing_approve(self, code: str, role: Role, user_id: str | None = None) -> Identity:
        body = {"code": code, "role": role.value, "user_id": user_id}
        return from_jsonable(Identity, (await self.request("POST", "/admin/pairing/approve", body))["identity"])

    async def pairing_deny(self, code: str) -> None:
        await self.request("POST", "/admin/pairing/deny", {"code": code})

    # ------------------------------------------------------------------ approvals, jobs, users

    async def approvals(self, state: str = "pending") -> list[Approval]:
        """Approvals in ``state`` (pending, approved, denied or all)."""
        reply = await self._reply("GET", "/admin/approvals", state=state)
        return [from_jsonable(Approval, item) for item in (reply.data or {}).get("approvals", [])]

    async def approve(self, approval_id: str) -> Reply:
        return await self._reply("POST", f"/admin/approvals/{approval_id}/approve")

    async def deny(self, approval_id: str, reason: str = "") -> Reply:
        return await self._reply("POST", f"/admin/approvals/{approval_id}/deny", {"reason": reason or None})

    async def jobs(self, state: str | None = None) -> list[Job]:
        reply = await self._reply("GET", "/admin/jobs", state=state)
        return [from_jsonable(Job, item) for item in (reply.data or {}).get("jobs", [])]

    async def cancel_job(self, job_id: str) -> Reply:
        return await self._reply("POST", f"/admin/jobs/{job_id}/cancel")

    async def users(self) -> list[User]:
        reply = await self._reply("GET", "/admin/users")
        return [from_jsonable(User, item) for item in (reply.data or {}).get("users", [])]

    async def set_role(self, user_id: str, role: Role) -> Reply:
        return await self._reply("POST", f"/admin/users/{user_id}/role", {"role": role.value})

    async def set_tier(self, user_id: str, tier: str) -> Reply:
        return await self._reply("POST", f"/admin/users/{user_id}/tier", {"tier": tier})

    # ------------------------------------------------------------------ audit, certificates

    async def audit(self, before: int | None = None, limit: int = 50) -> list[AuditEntry]:
        payload = await self.request("GET", "/admin/audit", before=before, limit=limit)
        return [from_jsonable(AuditEntry, entry) for entry in payload["entries"]]

    async def verify_audit(self) -> VerifyReport:
        return from_jsonable(VerifyReport, (await self.request("GET", "/admin/audit/verify"))["report"])

    async def create_enrollment(self, user_id: str) -> Enrollment:
        payload = await self.request("POST", "/admin/enrollments", {"user_id": user_id})
        return from_jsonable(Enrollment, payload["enrollment"])

    async def revoke(self, serial: str) -> None:
        await self.request("POST", f"/admin/certs/{serial}/revoke")

    # ------------------------------------------------------------------ events

    async def events(self) -> AsyncGenerator[ServerEvent, None]:
        """Server-sent events until the server ends the stream; an ``error`` event raises."""
        timeout = aiohttp.ClientTimeout(total=None, connect=10)
        async with self.session.get(self.base_url + "/admin/events", timeout=timeout) as response:
            if response.status >= 400:
                await _json(response)
            kind, data = "message", ""
            async for raw in response.content:
                line = raw.decode("utf-8").rstrip("\r\n")
                if line.startswith("event:"):
                    kind = line[6:].strip()
                elif line.startswith("data:"):
                    data += line[5:].strip()
                elif not line and data:
                    payload = json.loads(data)
                    if kind == "error":
                        _raise_for(401, {"error": payload})
                    yield ServerEvent(kind, payload)
                    kind, data = "message", ""


# --------------------------------------------------------------------------- enrollment


def _unverified_context() -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # only to fetch the CA, which is then checked against the pin
    return context


async def fetch_pinned_ca(enroll_url: str, pin: str) -> bytes:
    """The server's CA certificate, accepted only if its SHA-256 fingerprint equals ``pin``."""
    wanted = pin.replace(":", "").strip().lower()
    async with aiohttp.ClientSession(timeout=_TIMEOUT) as session:
        async with session.get(enroll_url.rstrip("/") + "/ca.pem", ssl=_unverified_context()) as response:
            pem = await response.read()
    try:
        got = pki.fingerprint(x509.load_pem_x509_certificate(pem))
    except ValueError as exc:
        raise AuthError("The server did not send a CA certificate.") from exc
    if not hmac.compare_digest(got, wanted):
        raise AuthError(
            "The server's CA does not match the fingerprint you gave.",
            hint="Check the fingerprint printed by `framecast admin init`; someone may be in the way.",
        )
    return pem


async def enroll(
    enroll_url: str, secret: str, out: Credentials, *, ca_pem: bytes, force: bool = False
) -> Issued:
    """Trade ``secret`` for a client certificate; writes key (0600), certificate and CA to ``out``."""
    if out.key.exists() and not force:
        raise InputError(f"{out.key} already exists.", hint="Pass --force to replace it, or choose --out.")
    key = pki.generate_key()
    context = pki.client_ssl_context(ca_pem)
    body = {"secret": secret, "csr": pki.make_csr(key).decode("ascii")}
    async with aiohttp.ClientSession(timeout=_TIMEOUT) as session:
        async with session.post(enroll_url.rstrip("/") + "/enroll", json=body, ssl=context) as response:
            payload = await _json(response)
    issued = from_jsonable(Issued, payload)
    # Files only once the certificate is in hand, so a refused enrollment leaves nothing behind.
    out.root.mkdir(mode=0o700, parents=True, exist_ok=True)  # an existing folder keeps its mode
    pki.write_private_key(out.key, key)
    pki.write_bytes(out.cert, issued.certificate_pem.encode("ascii"))
    pki.write_bytes(out.ca, ca_pem)
    return issued
