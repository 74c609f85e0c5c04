"""A real App with a real CA and the admin API on ephemeral loopback ports.

Staff certificates are made the way production makes them: an enrollment
secret from the Authority, then :func:`core.adminapi.client.enroll` over the
enrollment listener.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from core.adminapi.authority import Authority, Enrollment
from core.adminapi.client import AdminClient, Credentials, enroll
from core.adminapi.server import AdminServer, start_admin_api
from core.app import App
from core.config import Settings
from core.models import Role, User
from core.pki import PkiPaths
from core.store import users


class Clock:
    """Real time plus an offset a test can move forward (for expiry)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


@dataclass
class Api:
    app: App
    authority: Authority
    server: AdminServer
    bootstrap: Enrollment
    clock: Clock

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.server.port}"

    @property
    def enroll_url(self) -> str:
        return f"https://127.0.0.1:{self.server.enroll_port}"

    async def overlord(self) -> User:
        user = await users.get(self.app.db, "overlord")
        assert user is not None
        return user

    async def user(self, name: str, role: Role) -> User:
        user, _ = await users.upsert_user_with_identity(
            self.app.db, connector="console", external_id=name, display_name=name.title(),
            now=time.time(), role=role, user_id=name,
        )
        return user

    async def credentials(self, user_id: str, folder: Path) -> Credentials:
        """Enroll ``user_id`` for real and return its credential folder."""
        secret = await self.authority.create_enrollment(await self.overlord(), user_id)
        creds = Credentials(folder / user_id)
        await enroll(self.enroll_url, secret.secret, creds, ca_pem=self.authority.paths.ca_cert.read_bytes())
        return creds

    def client(self, creds: Credentials) -> AdminClient:
        return AdminClient(self.url, creds)


@pytest.fixture
async def api(settings: Settings, make_app: Callable[..., Awaitable[App]]) -> AsyncIterator[Api]:
    clock = Clock()
    app = await make_app(clock=clock)  # tests/core/conftest.py: a real App with a quick stub renderer
    authority = Authority(app.db, app.audit, PkiPaths(settings.pki_dir))
    bootstrap = await authority.init([])
    server = await start_admin_api(app, port=0, enroll_port=0, heartbeat_s=0.2)
    try:
        yield Api(app, authority, server, bootstrap, clock)
    finally:
        await server.stop()


@pytest.fixture
def staff(api: Api, tmp_path: Path) -> Callable[[str, Role], Awaitable[AdminClient]]:
    """``await staff("olga", Role.OPERATOR)``: an enrolled client for a new user with that role."""

    async def make(name: str, role: Role) -> AdminClient:
        await api.user(name, role)
        return api.client(await api.credentials(name, tmp_path / "clients"))

    return make
