"""mTLS: who gets in. Each refusal happens at the TLS handshake or as a 401 from the API."""

from __future__ import annotations

import datetime as dt
import ssl
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING

import aiohttp
import pytest
from cryptography.hazmat.primitives import serialization

from core import pki
from core.adminapi.client import AdminClient, Credentials
from core.errors import AuthError
from core.models import Role
from core.store import identity as store

if TYPE_CHECKING:
    from conftest import Api

REFUSED_AT_TLS = (aiohttp.ClientError, ssl.SSLError, ConnectionError)
Staff = Callable[[str, Role], Awaitable[AdminClient]]


def _context(api: Api, cert: Path | None = None, key: Path | None = None) -> ssl.SSLContext:
    return pki.client_ssl_context(api.authority.paths.ca_cert, cert, key)


async def _get(context: ssl.SSLContext, url: str) -> int:
    async with aiohttp.ClientSession() as session:
        async with session.get(url + "/admin/whoami", ssl=context) as response:
            return response.status


def _write_client(folder: Path, key: object, cert: object, ca_pem: bytes) -> Credentials:
    creds = Credentials(folder)
    pki.write_private_key(creds.key, key)  # type: ignore[arg-type]
    pki.write_cert(creds.cert, cert)  # type: ignore[arg-type]
    pki.write_bytes(creds.ca, ca_pem)
    return creds


async def test_a_peer_without_a_client_certificate_is_refused(api: Api) -> None:
    with pytest.raises(REFUSED_AT_TLS):
        await _get(_context(api), api.url)


async def test_a_certificate_from_another_ca_is_refused(api: Api, tmp_path: Path) -> None:
    other_key, other_ca = pki.create_ca("someone else's CA")
    key = pki.generate_key()
    cert = pki.issue_client_cert(other_key, other_ca, key.public_key(), "overlord")
    creds = _write_client(tmp_path / "other", key, cert, api.authority.paths.ca_cert.read_bytes())
    with pytest.raises(REFUSED_AT_TLS):
        await _get(creds.ssl_context(), api.url)


async def test_an_expired_certificate_is_refused_even_if_recorded(api: Api, tmp_path: Path) -> None:
    paths = api.authority.paths
    ca_key, ca_cert = pki.load_key(paths.ca_key), pki.load_cert(paths.ca_cert)
    key = pki.generate_key()
    now = dt.datetime.now(dt.UTC)
    cert = pki.issue_client_cert(
        ca_key, ca_cert, key.public_key(), "overlord",
        not_before=now - dt.timedelta(days=2), not_after=now - dt.timedelta(days=1),
    )
    serial = pki.serial_hex(cert.serial_number)

    async def record(conn: object) -> None:
        await store.insert_certificate(
            conn,  # type: ignore[arg-type]
            store.CertificateRecord(serial, "overlord", "CN=overlord", time.time() + 86400, time.time(), None),
        )

    await api.app.db.write(record)  # so only the TLS layer's expiry check can stop it
    creds = _write_client(tmp_path / "expired", key, cert, paths.ca_cert.read_bytes())
    with pytest.raises(REFUSED_AT_TLS):
        await _get(creds.ssl_context(), api.url)


async def test_a_certificate_the_database_does_not_know_gets_401(api: Api, tmp_path: Path) -> None:
    paths = api.authority.paths
    key = pki.generate_key()
    cert = pki.issue_client_cert(pki.load_key(paths.ca_key), pki.load_cert(paths.ca_cert), key.public_key(), "overlord")
    creds = _write_client(tmp_path / "unknown", key, cert, paths.ca_cert.read_bytes())
    async with AdminClient(api.url, creds) as client:
        with pytest.raises(AuthError, match="not known"):
            await client.whoami()


async def test_tls_below_1_3_is_refused(api: Api, tmp_path: Path) -> None:
    await api.user("ada", Role.ADMIN)
    creds = await api.credentials("ada", tmp_path)
    assert await _get(creds.ssl_context(), api.url) == 200
    old = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    old.maximum_version = ssl.TLSVersion.TLSv1_2
    old.load_verify_locations(creds.ca)
    old.load_cert_chain(creds.cert, creds.key)
    with pytest.raises(REFUSED_AT_TLS):
        await _get(old, api.url)


async def test_revocation_applies_on_an_open_keep_alive_connection(api: Api, staff: Staff) -> None:
    connections = 0

    async def opened(*_: object) -> None:
        nonlocal connections
        connections += 1

    trace = aiohttp.TraceConfig()
    trace.on_connection_create_end.append(opened)
    client = await staff("olga", Role.OPERATOR)
    async with client:
        client.session.trace_configs.append(trace)
        trace.freeze()
        me = await client.whoami()
        serial = (await api.authority.certificates("olga"))[0].serial
        await api.authority.revoke(serial, actor=None)
        with pytest.raises(AuthError, match="revoked"):
            await client.whoami()
    assert me.id == "olga"
    assert connections == 1  # the same TLS connection: revocation is checked per request


async def test_the_server_certificate_is_checked_by_name_and_ca(api: Api, tmp_path: Path) -> None:
    _, other_ca = pki.create_ca("impostor")
    stranger = tmp_path / "stranger.pem"
    stranger.write_bytes(other_ca.public_bytes(serialization.Encoding.PEM))
    with pytest.raises(REFUSED_AT_TLS):
        await _get(pki.client_ssl_context(stranger), api.url)
