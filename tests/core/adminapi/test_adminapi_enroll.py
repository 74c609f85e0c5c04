"""`framecast admin init/enroll/certs/revoke` as real subprocesses against a live server."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import stat
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from core.adminapi.client import AdminClient, Credentials, enroll
from core.adminapi.server import AdminServer, start_admin_api
from core.app import App
from core.config import Settings
from core.errors import AuthError, PermissionDenied
from core.models import Role
from core.store import users

FRAMECAST = str(Path(sys.executable).with_name("framecast"))


async def framecast(*args: str) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        FRAMECAST, *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, env=os.environ.copy()
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 60)
    return proc.returncode or 0, out.decode()


@pytest.fixture
async def served(settings: Settings, make_app: Callable[..., Awaitable[App]]) -> AsyncIterator[tuple[App, AdminServer, str]]:
    """`admin init` run by the CLI first, then the App with its admin API; yields the init output."""
    code, out = await framecast("admin", "init", "--host", "admin.example.test")
    assert code == 0, out
    app = await make_app()
    server = await start_admin_api(app, port=0, enroll_port=0)
    yield app, server, out
    await server.stop()


def _field(out: str, pattern: str) -> str:
    found = re.search(pattern, out)
    assert found, out
    return found.group(1)


async def test_init_enroll_certs_revoke_through_the_cli(
    served: tuple[App, AdminServer, str], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    app, server, out = served
    secret = _field(out, r"shown once.*:\n\s+(\S+)")
    fingerprint = _field(out, r"fingerprint \(SHA-256\): ([0-9a-f]{64})")
    enroll_url = f"https://127.0.0.1:{server.enroll_port}"
    code, again = await framecast("admin", "init")
    assert code != 0 and "already exists" in again

    code, wrong = await framecast("admin", "enroll", "--server", enroll_url, "--secret", secret,
                                  "--ca-fingerprint", "0" * 64, "--out", str(tmp_path / "mitm"))
    assert code != 0 and "does not match" in wrong
    code, enrolled = await framecast("admin", "enroll", "--server", enroll_url, "--secret", secret,
                                     "--ca-fingerprint", fingerprint, "--out", str(tmp_path / "me"))
    assert code == 0, enrolled
    assert "Enrolled as overlord" in enrolled and secret not in enrolled
    creds = Credentials(tmp_path / "me")
    assert stat.S_IMODE(creds.key.stat().st_mode) == 0o600
    assert stat.S_IMODE(creds.root.stat().st_mode) == 0o700

    code, reused = await framecast("admin", "enroll", "--server", enroll_url, "--secret", secret,
                                   "--ca-fingerprint", fingerprint, "--out", str(tmp_path / "again"))
    assert code != 0 and "already used" in reused  # the bootstrap secret works once
    assert not (tmp_path / "again").exists() and not (tmp_path / "mitm").exists()

    async with AdminClient(f"https://127.0.0.1:{server.port}", creds) as client:
        assert (await client.whoami()).role is Role.OVERLORD
        code, listed = await framecast("admin", "certs")
        serial = _field(listed, r"^([0-9a-f]+)\s+overlord\s+valid")
        code, revoked = await framecast("admin", "revoke", serial)
        assert code == 0 and f"revoked {serial}" in revoked
        with pytest.raises(AuthError, match="revoked"):
            await client.whoami()
    assert secret not in caplog.text


async def test_admins_enroll_staff_below_them_through_the_api(
    served: tuple[App, AdminServer, str], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    app, server, out = served
    ca_pem = (app.settings.pki_dir / "ca.pem").read_bytes()
    enroll_url = f"https://127.0.0.1:{server.enroll_port}"
    api_url = f"https://127.0.0.1:{server.port}"
    for name, role in (("ada", Role.ADMIN), ("olga", Role.OPERATOR), ("bob", Role.ADMIN)):
        await users.upsert_user_with_identity(app.db, connector="console", external_id=name,
                                               display_name=name.title(), now=1.0, role=role, user_id=name)
    root = Credentials(tmp_path / "root")
    await enroll(enroll_url, _field(out, r"shown once.*:\n\s+(\S+)"), root, ca_pem=ca_pem)
    async with AdminClient(api_url, root) as overlord:
        ticket = await overlord.create_enrollment("ada")  # only an overlord enrolls admins
    ada = Credentials(tmp_path / "ada")
    await enroll(enroll_url, ticket.secret, ada, ca_pem=ca_pem)
    async with AdminClient(api_url, ada) as admin:
        olga_ticket = await admin.create_enrollment("olga")
        with pytest.raises(PermissionDenied):
            await admin.create_enrollment("bob")
    olga = Credentials(tmp_path / "olga")
    await enroll(enroll_url, olga_ticket.secret, olga, ca_pem=ca_pem)
    async with AdminClient(api_url, olga) as operator:
        assert (await operator.whoami()).id == "olga"
        with pytest.raises(PermissionDenied):
            await operator.create_enrollment("olga")
    assert ticket.secret not in caplog.text and olga_ticket.secret not in caplog.text
    assert all(ticket.secret not in str(e.detail) for e in await app.audit.page(limit=200))
