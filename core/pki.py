"""framecast's internal certificate authority: keys, certificates, TLS contexts. No database.

The CA (EC P-256, 5 years) signs one server certificate (1 year, SANs for
the loopback names plus any host given to ``framecast admin init``) and one
client certificate per enrolled staff member (90 days, CN = internal user
id, extended key usage clientAuth). The database side (which serial belongs
to whom, revocation, bootstrap secrets) is in core.adminapi.authority.

Private keys are written 0600 and their folders 0700, atomically (temp file
+ rename), so a crash never leaves a half-written or world-readable key.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import os
import secrets
import ssl
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from core.errors import AuthError, InputError

__all__ = [
    "CA_VALIDITY",
    "CLIENT_VALIDITY",
    "SERVER_VALIDITY",
    "PkiPaths",
    "client_ssl_context",
    "create_ca",
    "fingerprint",
    "generate_key",
    "issue_client_cert",
    "issue_server_cert",
    "load_cert",
    "load_key",
    "load_csr",
    "make_csr",
    "new_secret",
    "serial_hex",
    "server_ssl_context",
    "write_bytes",
    "write_cert",
    "write_private_key",
    "write_secret",
]

CA_VALIDITY = dt.timedelta(days=5 * 365)
SERVER_VALIDITY = dt.timedelta(days=365)
CLIENT_VALIDITY = dt.timedelta(days=90)
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")
# Certificates start a little in the past so a client whose clock is slightly behind accepts them.
_BACKDATE = dt.timedelta(minutes=5)


@dataclass(frozen=True)
class PkiPaths:
    """Where the files of one installation's CA live."""

    root: Path

    @property
    def ca_key(self) -> Path:
        return self.root / "ca.key"

    @property
    def ca_cert(self) -> Path:
        return self.root / "ca.pem"

    @property
    def server_key(self) -> Path:
        return self.root / "server.key"

    @property
    def server_cert(self) -> Path:
        return self.root / "server.pem"

    def has_ca(self) -> bool:
        return self.ca_key.is_file() and self.ca_cert.is_file()


def generate_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def serial_hex(serial: int) -> str:
    """The one spelling of a serial number in the database, the CLI and the API."""
    return f"{serial:x}"


def fingerprint(cert: x509.Certificate) -> str:
    """SHA-256 over the DER encoding, lowercase hex: what people compare and pin."""
    return hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "framecast"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def create_ca(
    common_name: str = "framecast internal CA", *, validity: dt.timedelta = CA_VALIDITY
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    """A self-signed CA that may sign leaf certificates only (path length 0)."""
    key = generate_key()
    now = _now()
    public = key.public_key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(_name(common_name))
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _BACKDATE)
        .not_valid_after(now + validity)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True,
                crl_sign=True, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def _leaf(
    ca_key: ec.EllipticCurvePrivateKey,
    ca_cert: x509.Certificate,
    public: ec.EllipticCurvePublicKey,
    common_name: str,
    usage: x509.ObjectIdentifier,
    not_before: dt.datetime,
    not_after: dt.datetime,
) -> x509.CertificateBuilder:
    ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    return (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(ca_cert.subject)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=True, key_cert_sign=False,
                crl_sign=False, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False)
    )


def _san(host: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)


def issue_server_cert(
    ca_key: ec.EllipticCurvePrivateKey,
    ca_cert: x509.Certificate,
    hosts: tuple[str, ...] | list[str] = (),
    *,
    validity: dt.timedelta = SERVER_VALIDITY,
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    """The admin API's certificate: loopback names plus ``hosts`` as subject alternative names."""
    names = list(dict.fromkeys([*LOOPBACK_HOSTS, *hosts]))
    key = generate_key()
    now = _now()
    builder = _leaf(
        ca_key, ca_cert, key.public_key(), names[0], ExtendedKeyUsageOID.SERVER_AUTH,
        now - _BACKDATE, now + validity,
    ).add_extension(x509.SubjectAlternativeName([_san(h) for h in names]), critical=False)
    return key, builder.sign(ca_key, hashes.SHA256())


def issue_client_cert(
    ca_key: ec.EllipticCurvePrivateKey,
    ca_cert: x509.Certificate,
    public: ec.EllipticCurvePublicKey,
    user_id: str,
    *,
    not_before: dt.datetime | None = None,
    not_after: dt.datetime | None = None,
) -> x509.Certificate:
    """A staff client certificate; explicit validity bounds exist for tests of expiry."""
    start = not_before or _now() - _BACKDATE
    end = not_after or start + _BACKDATE + CLIENT_VALIDITY
    builder = _leaf(ca_key, ca_cert, public, user_id, ExtendedKeyUsageOID.CLIENT_AUTH, start, end)
    return builder.sign(ca_key, hashes.SHA256())


def make_csr(key: ec.EllipticCurvePrivateKey, common_name: str = "framecast admin") -> bytes:
    """A PEM CSR; the CA ignores its subject and names the certificate after the user."""
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(_name(common_name))
        .sign(key, hashes.SHA256())
    )
    return csr.public_bytes(serialization.Encoding.PEM)


def load_csr(csr_pem: bytes) -> ec.EllipticCurvePublicKey:
    """The public key of a valid CSR (parses, self-signature checks out, EC P-256)."""
    try:
        csr = x509.load_pem_x509_csr(csr_pem)
    except ValueError as exc:
        raise InputError("The certificate request is not a PEM CSR.") from exc
    if not csr.is_signature_valid:
        raise AuthError("The certificate request's signature is invalid.")
    public = csr.public_key()
    if not isinstance(public, ec.EllipticCurvePublicKey) or not isinstance(public.curve, ec.SECP256R1):
        raise InputError("The certificate request must carry an EC P-256 key.")
    return public


def _atomic_write(path: Path, data: bytes, mode: int) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_secret(path: Path, data: bytes) -> None:
    """Key material: the file 0600 (its folder is created 0700 if missing)."""
    _atomic_write(path, data, 0o600)


def write_private_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    write_secret(
        path,
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )


def write_bytes(path: Path, data: bytes) -> None:
    """Public material (certificates): 0644, written atomically."""
    _atomic_write(path, data, 0o644)


def write_cert(path: Path, *certs: x509.Certificate) -> None:
    write_bytes(path, b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs))


def load_cert(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def load_key(path: Path) -> ec.EllipticCurvePrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise InputError(f"{path} does not hold an EC private key.")
    return key


def _tls13(protocol: ssl._SSLMethod) -> ssl.SSLContext:
    # Built from scratch, not create_default_context: that would also trust the system's CAs.
    context = ssl.SSLContext(protocol)
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    return context


def server_ssl_context(paths: PkiPaths, *, require_client_cert: bool = True) -> ssl.SSLContext:
    """TLS 1.3 only; with ``require_client_cert`` every peer must show a certificate from our CA."""
    context = _tls13(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(paths.server_cert, paths.server_key)
    if require_client_cert:
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(cafile=str(paths.ca_cert))
    else:
        context.verify_mode = ssl.CERT_NONE
    return context


def client_ssl_context(ca: Path | bytes, cert_file: Path | None = None, key_file: Path | None = None) -> ssl.SSLContext:
    """Trust only our CA (a file or its PEM bytes), check the host name, present our certificate."""
    context = _tls13(ssl.PROTOCOL_TLS_CLIENT)  # check_hostname and CERT_REQUIRED
    if isinstance(ca, bytes):
        context.load_verify_locations(cadata=ca.decode("ascii"))
    else:
        context.load_verify_locations(cafile=str(ca))
    if cert_file is not None:
        context.load_cert_chain(cert_file, key_file)
    return context


def new_secret() -> str:
    """A bearer secret for enrollment: 256 bits, URL-safe."""
    return secrets.token_urlsafe(32)
