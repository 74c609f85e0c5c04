"""The internal CA: certificates, file modes, bootstrap secrets and enrollment bookkeeping."""

from __future__ import annotations

import datetime as dt
import ipaddress
import stat
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from core import pki
from core.adminapi.authority import BOOTSTRAP_TTL_S, Authority
from core.audit import Audit
from core.errors import AuthError, Conflict, InputError, NotFound, PermissionDenied
from core.models import Role
from tests.conftest import Clock
from core.store import identity as store
from core.store import users
from core.store.database import Database


@pytest.fixture
def authority(db: Database, data_dir: Path, clock: Clock) -> Authority:
    return Authority(db, Audit(db, clock=clock), pki.PkiPaths(data_dir / ".pki"), clock=clock)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_ca_signs_a_server_certificate_for_loopback_and_given_hosts() -> None:
    ca_key, ca_cert = pki.create_ca()
    assert isinstance(ca_cert.public_key(), ec.EllipticCurvePublicKey)
    assert ca_cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    lifetime = ca_cert.not_valid_after_utc - ca_cert.not_valid_before_utc
    assert dt.timedelta(days=5 * 365) <= lifetime <= dt.timedelta(days=5 * 365 + 1)

    _, server = pki.issue_server_cert(ca_key, ca_cert, ["admin.example.org", "10.0.0.7"])
    server.verify_directly_issued_by(ca_cert)
    san = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert set(san.get_values_for_type(x509.DNSName)) == {"localhost", "admin.example.org"}
    assert set(san.get_values_for_type(x509.IPAddress)) == {
        ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1"), ipaddress.ip_address("10.0.0.7"),
    }
    usage = server.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(usage) == [ExtendedKeyUsageOID.SERVER_AUTH]


def test_client_certificate_names_the_user_whatever_the_csr_says() -> None:
    ca_key, ca_cert = pki.create_ca()
    key = pki.generate_key()
    public = pki.load_csr(pki.make_csr(key, common_name="i am the overlord"))
    cert = pki.issue_client_cert(ca_key, ca_cert, public, "u-123")
    cert.verify_directly_issued_by(ca_cert)
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "u-123"
    assert list(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value) == [
        ExtendedKeyUsageOID.CLIENT_AUTH
    ]
    lifetime = cert.not_valid_after_utc - cert.not_valid_before_utc
    assert dt.timedelta(days=90) <= lifetime <= dt.timedelta(days=91)


def test_bad_csrs_are_refused() -> None:
    with pytest.raises(InputError):
        pki.load_csr(b"-----BEGIN CERTIFICATE REQUEST-----\nnope\n-----END CERTIFICATE REQUEST-----\n")
    wrong_curve = ec.generate_private_key(ec.SECP384R1())
    with pytest.raises(InputError, match="P-256"):
        pki.load_csr(pki.make_csr(wrong_curve))


async def test_init_writes_private_keys_0600_in_a_0700_folder(authority: Authority) -> None:
    await authority.init(["framecast.internal"])
    paths = authority.paths
    assert _mode(paths.root) == 0o700
    assert _mode(paths.ca_key) == 0o600
    assert _mode(paths.server_key) == 0o600
    assert _mode(paths.ca_cert) == 0o644
    server = pki.load_cert(paths.server_cert)
    server.verify_directly_issued_by(pki.load_cert(paths.ca_cert))
    assert "framecast.internal" in server.extensions.get_extension_for_class(
        x509.SubjectAlternativeName
    ).value.get_values_for_type(x509.DNSName)


async def test_init_refuses_to_run_twice_unless_forced(authority: Authority, db: Database) -> None:
    first = await authority.init([])
    with pytest.raises(Conflict, match="already exists"):
        await authority.init([])
    overlord = await users.get(db, "overlord")
    assert overlord is not None and overlord.role is Role.OVERLORD
    second = await authority.init([], force=True)
    assert second.ca_fingerprint != first.ca_fingerprint
    assert second.user_id == first.user_id == "overlord"  # the existing overlord is reused


async def test_bootstrap_secret_is_stored_hashed_and_works_once(authority: Authority, db: Database) -> None:
    enrollment = await authority.init([])
    raw = b"".join(p.read_bytes() for p in db.path.parent.glob(db.path.name + "*"))
    assert enrollment.secret.encode() not in raw

    csr = pki.make_csr(pki.generate_key())
    issued = await authority.enroll(enrollment.secret, csr)
    assert issued.user_id == "overlord"
    assert (await authority.authenticate(issued.serial)).id == "overlord"
    with pytest.raises(AuthError, match="already used"):
        await authority.enroll(enrollment.secret, pki.make_csr(pki.generate_key()))


async def test_a_bad_csr_does_not_spend_the_secret(authority: Authority) -> None:
    enrollment = await authority.init([])
    with pytest.raises(InputError):
        await authority.enroll(enrollment.secret, b"not a csr")
    issued = await authority.enroll(enrollment.secret, pki.make_csr(pki.generate_key()))
    assert issued.user_id == "overlord"


async def test_bootstrap_secret_expires_after_a_day(authority: Authority, clock: Clock) -> None:
    enrollment = await authority.init([])
    clock.now += BOOTSTRAP_TTL_S + 1
    with pytest.raises(AuthError):
        await authority.enroll(enrollment.secret, pki.make_csr(pki.generate_key()))


async def test_revocation_and_expiry_refuse_authentication(authority: Authority, db: Database, clock: Clock) -> None:
    enrollment = await authority.init([])
    issued = await authority.enroll(enrollment.secret, pki.make_csr(pki.generate_key()))
    await authority.revoke(issued.serial.upper(), actor=None)
    with pytest.raises(AuthError, match="revoked"):
        await authority.authenticate(issued.serial)
    with pytest.raises(Conflict):
        await authority.revoke(issued.serial, actor=None)
    with pytest.raises(AuthError, match="not known"):
        await authority.authenticate("abc123")

    overlord = await users.get(db, "overlord")
    assert overlord is not None
    second = await authority.enroll(
        (await authority.create_enrollment(overlord, "overlord")).secret, pki.make_csr(pki.generate_key())
    )
    clock.now = second.not_after + 1
    with pytest.raises(AuthError, match="expired"):
        await authority.authenticate(second.serial)


async def test_only_an_overlord_handles_certificates_of_admins(authority: Authority, db: Database) -> None:
    await authority.init([])
    now = 1_800_000_000.0
    admin, _ = await users.upsert_user_with_identity(
        db, connector="console", external_id="ada", display_name="Ada", now=now, role=Role.ADMIN, user_id="ada"
    )
    other, _ = await users.upsert_user_with_identity(
        db, connector="console", external_id="bob", display_name="Bob", now=now, role=Role.ADMIN, user_id="bob"
    )
    op, _ = await users.upsert_user_with_identity(
        db, connector="console", external_id="olga", display_name="Olga", now=now, role=Role.OPERATOR,
        user_id="olga",
    )
    assert (await authority.create_enrollment(admin, "olga")).user_id == "olga"
    with pytest.raises(PermissionDenied):
        await authority.create_enrollment(admin, "bob")
    with pytest.raises(PermissionDenied):
        await authority.create_enrollment(op, "olga")
    with pytest.raises(NotFound):
        await authority.create_enrollment(admin, "nobody")
    overlord = await users.get(db, "overlord")
    assert overlord is not None
    assert (await authority.create_enrollment(overlord, other.id)).user_id == "bob"


async def test_revoking_a_user_revokes_all_their_certificates(authority: Authority, db: Database) -> None:
    enrollment = await authority.init([])
    first = await authority.enroll(enrollment.secret, pki.make_csr(pki.generate_key()))
    overlord = await users.get(db, "overlord")
    assert overlord is not None
    again = await authority.create_enrollment(overlord, "overlord")
    second = await authority.enroll(again.secret, pki.make_csr(pki.generate_key()))
    assert sorted(await authority.revoke_user("overlord", actor=None)) == sorted([first.serial, second.serial])
    assert all(c.revoked_at is not None for c in await store.list_certificates(db))
