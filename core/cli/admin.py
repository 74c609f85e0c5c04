"""``framecast admin``: the internal CA from the command line.

``init``, ``revoke`` and ``certs`` run on the server host against its data
dir (whoever runs them can read the CA key anyway, so they act as the
overlord, audited as ``system:cli``). ``enroll`` runs on a staff member's
machine and talks to the server's enrollment listener.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import click

from core.adminapi.authority import Authority
from core.adminapi.client import Credentials, default_credentials, fetch_pinned_ca
from core.adminapi.client import enroll as enroll_client
from core.audit import Audit
from core.cli import fail
from core.config import Settings, load_settings
from core.errors import FramecastError, InputError
from core.mirror import Mirror
from core.pki import PkiPaths
from core.store.database import Database

__all__ = ["admin"]


@asynccontextmanager
async def _authority(settings: Settings) -> AsyncIterator[Authority]:
    db = await Database.open(settings.db_path)
    try:
        yield Authority(db, Audit(db, Mirror(settings.data_dir)), PkiPaths(settings.pki_dir))
    finally:
        await db.close()



@click.group()
def admin() -> None:
    """The internal CA: init, enroll, revoke, list certificates."""


@admin.command()
@click.option("--host", "hosts", multiple=True, help="Extra DNS name or IP for the server certificate (repeatable).")
@click.option("--force", is_flag=True, help="Replace an existing CA (every issued certificate stops working).")
def init(hosts: tuple[str, ...], force: bool) -> None:
    """Create the CA, the server certificate and the overlord's one-time bootstrap secret."""
    settings = load_settings()

    async def run() -> None:
        async with _authority(settings) as authority:
            enrollment = await authority.init(list(hosts), force=force)
        admin_settings = settings.admin
        click.echo(f"CA created in {settings.pki_dir}")
        click.echo(f"CA fingerprint (SHA-256): {enrollment.ca_fingerprint}")
        click.echo(f"Bootstrap secret for {enrollment.user_id} (shown once, valid 24 h, single use):")
        click.echo(f"  {enrollment.secret}")
        click.echo("Enroll from the admin's machine with:")
        click.echo(
            f"  framecast admin enroll --server https://{admin_settings.host}:{admin_settings.enroll_port} "
            f"--ca-fingerprint {enrollment.ca_fingerprint} --secret <the secret>"
        )

    try:
        asyncio.run(run())
    except FramecastError as exc:
        raise fail(exc) from exc


@admin.command()
@click.option("--server", required=True, help="The enrollment listener, e.g. https://127.0.0.1:8444.")
@click.option("--secret", required=True, help="The one-time enrollment secret.")
@click.option("--ca", "ca_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="The server's CA certificate, copied out of band.")
@click.option("--ca-fingerprint", help="SHA-256 fingerprint of the CA (from `admin init`); the CA is fetched and checked.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              help="Folder for key, certificate and CA (default: ~/.config/framecast/admin or $XDG_CONFIG_HOME).")
@click.option("--force", is_flag=True, help="Replace an existing key in --out.")
def enroll(server: str, secret: str, ca_file: Path | None, ca_fingerprint: str | None, out: Path | None,
           force: bool) -> None:
    """Make a key here, send a CSR with the secret, save the client certificate."""
    if (ca_file is None) == (ca_fingerprint is None):
        raise click.UsageError("Give exactly one of --ca FILE or --ca-fingerprint HEX: the server must be verified.")
    credentials = Credentials(out) if out is not None else default_credentials()

    async def run() -> None:
        ca_pem = ca_file.read_bytes() if ca_file is not None else await fetch_pinned_ca(server, ca_fingerprint or "")
        issued = await enroll_client(server, secret, credentials, ca_pem=ca_pem, force=force)
        until = time.strftime("%Y-%m-%d", time.gmtime(issued.not_after))
        click.echo(f"Enrolled as {issued.user_id}: certificate {issued.serial}, valid until {until}.")
        click.echo(f"Key, certificate and CA are in {credentials.root}")

    try:
        asyncio.run(run())
    except FramecastError as exc:
        raise fail(exc) from exc
    except OSError as exc:
        raise click.ClickException(f"Could not reach {server}: {exc}") from exc


@admin.command()
@click.argument("serial", required=False)
@click.option("--user", "user_id", help="Revoke every certificate of this user instead.")
def revoke(serial: str | None, user_id: str | None) -> None:
    """Revoke a certificate by SERIAL, or all of a user's; the API refuses it on the next request."""
    if (serial is None) == (user_id is None):
        raise click.UsageError("Give a SERIAL or --user ID (one of them).")
    settings = load_settings()

    async def run() -> list[str]:
        async with _authority(settings) as authority:
            if serial is not None:
                await authority.revoke(serial, actor=None)
                return [serial.lower()]
            assert user_id is not None
            return await authority.revoke_user(user_id, actor=None)

    try:
        revoked = asyncio.run(run())
    except FramecastError as exc:
        raise fail(exc) from exc
    if not revoked:
        raise fail(InputError(f"{user_id} has no live certificates."))
    for item in revoked:
        click.echo(f"revoked {item}")


@admin.command()
@click.option("--user", "user_id", help="Only this user's certificates.")
def certs(user_id: str | None) -> None:
    """List issued client certificates."""
    settings = load_settings()

    async def run() -> None:
        async with _authority(settings) as authority:
            records = await authority.certificates(user_id)
        now = time.time()
        for record in records:
            state = "revoked" if record.revoked_at else ("expired" if record.not_after <= now else "valid")
            until = time.strftime("%Y-%m-%d", time.gmtime(record.not_after))
            click.echo(f"{record.serial}  {record.user_id:<16} {state:<8} until {until}")
        if not records:
            click.echo("No certificates issued yet.")

    asyncio.run(run())
