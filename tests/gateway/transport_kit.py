"""Real servers on 127.0.0.1 for the transport tests, and the keys they need.

- ``make_tls_pki``: a CA, a server certificate for IP 127.0.0.1, a client certificate, and a second
  CA with its own client certificate (the "stranger"), all generated with ``cryptography``
  (EC P-256, so generation costs nothing).
- ``make_ssh_keys``: Ed25519 host and client keys (plus a stranger's client key), an
  ``authorized_keys`` file, and ``write_known_hosts`` once the server's port is known.
- ``sftp_server``: an asyncssh SFTP server (key auth only) on its own event loop in a thread,
  serving a folder; ``server_cls`` swaps in a faulty ``SFTPServer`` for fault tests.
- ``https_server``: the csgate-exchange/1 reference server with mutual TLS.

Every start and stop is bounded by a timeout, so a broken server fails a test instead of hanging it.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncssh
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from gateway.transports.base import Credentials
from gateway.transports.reference_server import ReferenceServer

START_TIMEOUT = 10.0


# ---------------------------------------------------------------------------- TLS


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> Path:
    path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    path.chmod(0o600)
    return path


def _write_cert(path: Path, cert: x509.Certificate) -> Path:
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path


def _ca(cn: str) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(_name(cn))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def _leaf(
    ca_key: ec.EllipticCurvePrivateKey, ca: x509.Certificate, cn: str, *, server: bool
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    usage = ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
    )
    if server:
        san = x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])
        builder = builder.add_extension(san, critical=False)
    return key, builder.sign(ca_key, hashes.SHA256())


@dataclass(frozen=True)
class TlsPki:
    """Files of a test PKI (see the module docstring)."""

    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    stranger_ca: Path
    stranger_cert: Path
    stranger_key: Path

    def client(self) -> Credentials:
        """Our credentials as a partner's HTTPS server expects them."""
        return Credentials(key_file=self.client_key, cert_file=self.client_cert, trust_file=self.ca)


def make_tls_pki(directory: Path) -> TlsPki:
    directory.mkdir(parents=True, exist_ok=True)
    ca_key, ca = _ca("csgate test CA")
    server_key, server = _leaf(ca_key, ca, "127.0.0.1", server=True)
    client_key, client = _leaf(ca_key, ca, "csgate test client", server=False)
    other_key, other_ca = _ca("stranger CA")
    stranger_key, stranger = _leaf(other_key, other_ca, "stranger client", server=False)
    return TlsPki(
        ca=_write_cert(directory / "ca.pem", ca),
        server_cert=_write_cert(directory / "server.pem", server),
        server_key=_write_key(directory / "server.key", server_key),
        client_cert=_write_cert(directory / "client.pem", client),
        client_key=_write_key(directory / "client.key", client_key),
        stranger_ca=_write_cert(directory / "stranger-ca.pem", other_ca),
        stranger_cert=_write_cert(directory / "stranger.pem", stranger),
        stranger_key=_write_key(directory / "stranger.key", stranger_key),
    )


@contextmanager
def https_server(root: Path, pki: TlsPki, **options: Any) -> Iterator[ReferenceServer]:
    """The reference server over ``root`` with the test PKI (client certificates from ``pki.ca``)."""
    for folder in ("", *options.get("folders", ())):
        (root / folder).mkdir(parents=True, exist_ok=True)
    with ReferenceServer(
        root, cert_file=pki.server_cert, key_file=pki.server_key, client_ca_file=pki.ca, **options
    ) as server:
        yield server


# ---------------------------------------------------------------------------- SSH


@dataclass(frozen=True)
class SshKeys:
    host_key: Path
    stranger_host_key: Path
    client_key: Path
    stranger_key: Path
    authorized_keys: Path
    known_hosts: Path

    def client(self, key: Path | None = None) -> Credentials:
        return Credentials(key_file=key or self.client_key, trust_file=self.known_hosts)


def make_ssh_keys(directory: Path) -> SshKeys:
    directory.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name in ("host_key", "stranger_host_key", "client_key", "stranger_key"):
        key = asyncssh.generate_private_key("ssh-ed25519")
        path = directory / name
        key.write_private_key(str(path))
        path.chmod(0o600)
        paths[name] = path
    authorized = directory / "authorized_keys"
    authorized.write_bytes(asyncssh.read_private_key(str(paths["client_key"])).export_public_key())
    return SshKeys(**paths, authorized_keys=authorized, known_hosts=directory / "known_hosts")


def write_known_hosts(keys: SshKeys, port: int, host_key: Path | None = None) -> None:
    """Pin ``host_key`` (default: the server's real one) for 127.0.0.1:``port``."""
    public = asyncssh.read_private_key(str(host_key or keys.host_key)).export_public_key().decode().strip()
    keys.known_hosts.write_text(f"[127.0.0.1]:{port} {public}\n")


class _Recorder(asyncssh.SSHServer):
    """Tracks server-side connections so stopping the server can close them cleanly."""

    def __init__(self, live: set[asyncssh.SSHServerConnection]) -> None:
        self._live = live
        self._conn: asyncssh.SSHServerConnection | None = None

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self._conn = conn
        self._live.add(conn)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._conn is not None:
            self._live.discard(self._conn)


@contextmanager
def sftp_server(
    root: Path, keys: SshKeys, *, server_cls: type[asyncssh.SFTPServer] = asyncssh.SFTPServer, port: int = 0
) -> Iterator[int]:
    """An SFTP server chrooted to ``root`` on 127.0.0.1; yields its port (known_hosts written)."""
    root.mkdir(parents=True, exist_ok=True)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    live: set[asyncssh.SSHServerConnection] = set()

    async def start() -> asyncssh.SSHAcceptor:
        return await asyncssh.listen(
            "127.0.0.1",
            port,
            reuse_address=True,
            server_factory=lambda: _Recorder(live),
            server_host_keys=[str(keys.host_key)],
            authorized_client_keys=str(keys.authorized_keys),
            sftp_factory=lambda chan: server_cls(chan, chroot=str(root).encode()),
            allow_scp=False,
        )

    async def stop(acceptor: asyncssh.SSHAcceptor) -> None:
        acceptor.close()
        await acceptor.wait_closed()
        for conn in list(live):
            conn.close()
            await conn.wait_closed()

    acceptor = asyncio.run_coroutine_threadsafe(start(), loop).result(START_TIMEOUT)
    try:
        bound = acceptor.sockets[0].getsockname()[1]
        write_known_hosts(keys, bound)
        yield bound
    finally:
        asyncio.run_coroutine_threadsafe(stop(acceptor), loop).result(START_TIMEOUT)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(START_TIMEOUT)
        loop.close()


# ---------------------------------------------------------------------------- network faults


def closed_port() -> int:
    """A port on 127.0.0.1 nobody listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def silent_listener() -> Iterator[int]:
    """A port that accepts TCP connections and never says a word (a hung partner)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield int(sock.getsockname()[1])
