"""SFTP (``sftp://user@host:port/path``) with asyncssh: key authentication, pinned host keys.

Authentication is by our private key only (``Credentials.key_file``; no agent, no password, no
``~/.ssh/config``), and the server must present a host key listed in the partner's
``known_hosts`` file (``Credentials.trust_file``); an unknown host key is a permanent error, never
a prompt.

**Uploads.** The data is written to a hidden temporary name (``.csgate-tmp-…``) in the target
folder, then verified, then renamed to its real name with the standard SFTP rename, which refuses
to overwrite. What is verified:

1. *size*, always: the server's ``stat`` of the temporary file must equal the bytes sent;
2. *SHA-256*, when the server lets us read the file back: the temporary file is downloaded and
   hashed. SFTP has no standard digest request (the ``check-file`` draft extension is rarely
   deployed) and partner servers are usually SFTP-only, so running ``sha256sum`` over SSH is not
   an option; reading back costs a second transfer and is the one check every server allows.
   Write-only drop boxes refuse the read; then the receipt says ``sha256_verified=False``.

On a mismatch the temporary file is removed and a retriable ``UPLOAD_VERIFY_FAILED`` raised. If
the connection drops mid-upload the temporary file may stay behind on the server, still hidden
under its dot name, never under the real one.

**Blocking API over asyncio.** The transport owns a private event loop (``asyncio.Runner``) and
one SSH connection, opened on first use and reused until ``close()`` or a retriable failure.
Every network step (connect, each read or write of one chunk, each request) is bounded by
``timeout``. Call it from a worker thread, not from inside a running event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import posixpath
import secrets
import stat
from collections.abc import AsyncGenerator, Awaitable, Callable, Coroutine
from datetime import UTC, datetime
from typing import Any, BinaryIO, TypeVar, cast

import asyncssh

from gateway.errors import PermanentTransportError, RetriableTransportError, TransportError
from gateway.transports.base import (
    DEFAULT_TIMEOUT,
    TEMP_PREFIX,
    Credentials,
    PutReceipt,
    Received,
    RemoteFile,
    Transport,
    check_folder,
    check_name,
    is_temporary,
    sha256_hex,
)

T = TypeVar("T")
# AES-GCM first: asyncssh runs it through one AESGCM call per packet (hardware AES), where
# ChaCha20-Poly1305, its default first choice, costs several Python-level steps per packet.
_CIPHERS = [
    "aes256-gcm@openssh.com",
    "aes128-gcm@openssh.com",
    "chacha20-poly1305@openssh.com",
    "aes256-ctr",
    "aes192-ctr",
    "aes128-ctr",
]
# asyncssh splits each read or write into parallel SFTP requests: a larger step keeps more of
# them in flight (the timeout bounds each step, so it must still finish within it on a slow link)
STEP = 4 << 20
Op = Callable[[asyncssh.SFTPClient], Coroutine[Any, Any, T]]

# SFTP status codes → (retriable?, our code). FX_FAILURE is SFTPv3's catch-all (OpenSSH uses it
# for a full disk, too), so it is retried; the retry limit dead-letters a lasting one.
_SFTP_CODES: dict[int, tuple[bool, str]] = {
    asyncssh.FX_NO_SUCH_FILE: (False, "NOT_FOUND"),
    asyncssh.FX_NO_SUCH_PATH: (False, "PATH_MISSING"),
    asyncssh.FX_PERMISSION_DENIED: (False, "PERMISSION"),
    asyncssh.FX_WRITE_PROTECT: (False, "READ_ONLY"),
    asyncssh.FX_FILE_ALREADY_EXISTS: (False, "NAME_CONFLICT"),
    asyncssh.FX_OP_UNSUPPORTED: (False, "UNSUPPORTED"),
    asyncssh.FX_INVALID_FILENAME: (False, "BAD_NAME"),
    asyncssh.FX_FAILURE: (True, "SFTP_FAILURE"),
    asyncssh.FX_NO_CONNECTION: (True, "DISCONNECTED"),
    asyncssh.FX_CONNECTION_LOST: (True, "DISCONNECTED"),
    asyncssh.FX_NO_SPACE_ON_FILESYSTEM: (True, "DISK_FULL"),
    asyncssh.FX_QUOTA_EXCEEDED: (True, "DISK_FULL"),
}


def map_error(exc: BaseException, what: str) -> TransportError | None:
    """The transport error for an asyncssh or network exception; None for anything else."""
    if isinstance(exc, TransportError):
        return exc
    if isinstance(exc, asyncssh.SFTPError):
        retriable, code = _SFTP_CODES.get(exc.code, (False, "SFTP_ERROR"))
        cls = RetriableTransportError if retriable else PermanentTransportError
        return cls(f"{what}: {exc.reason}", code=code)
    if isinstance(exc, asyncssh.PermissionDenied):
        return PermanentTransportError(f"{what}: the server refused our key", code="AUTH_FAILED")
    if isinstance(exc, asyncssh.HostKeyNotVerifiable):
        return PermanentTransportError(
            f"{what}: the server's host key is not in the partner's known_hosts", code="HOST_KEY_UNTRUSTED"
        )
    if isinstance(exc, asyncssh.KeyExchangeFailed | asyncssh.ProtocolNotSupported | asyncssh.IllegalUserName):
        return PermanentTransportError(f"{what}: SSH negotiation failed: {exc.reason}", code="SSH_NEGOTIATION")
    if isinstance(exc, asyncssh.DisconnectError | asyncssh.ConnectionLost):
        return RetriableTransportError(f"{what}: connection lost: {exc.reason}", code="DISCONNECTED")
    if isinstance(exc, TimeoutError):
        return RetriableTransportError(f"{what}: timed out", code="TIMEOUT")
    if isinstance(exc, ConnectionRefusedError):
        return RetriableTransportError(f"{what}: connection refused", code="CONNECTION_REFUSED")
    if isinstance(exc, OSError):
        return RetriableTransportError(f"{what}: {exc.strerror or type(exc).__name__}", code="NETWORK")
    return None


def _is_regular(attrs: asyncssh.SFTPAttrs) -> bool:
    """A plain file (not a folder or link), from the mode bits or, without them, the v4+ type."""
    if attrs.permissions is not None:
        return stat.S_ISREG(attrs.permissions)
    return bool(attrs.type == asyncssh.FILEXFER_TYPE_REGULAR)


def remote_dir(url_path: str) -> str:
    """The server-side folder for a URL path: ``/~/x`` and ``/~`` are under the login's home."""
    if url_path in ("/~", "/~/"):
        return "."
    if url_path.startswith("/~/"):
        return url_path[3:].rstrip("/") or "."
    return url_path.rstrip("/") or "/"


class SftpTransport(Transport):
    """A ``Transport`` over one folder of an SFTP server; see the module docstring."""

    def __init__(
        self,
        *,
        host: str,
        port: int,
        username: str,
        path: str,
        credentials: Credentials,
        timeout: float = DEFAULT_TIMEOUT,
        verify_readback: bool = True,
        url: str | None = None,
    ) -> None:
        if credentials.key_file is None or credentials.trust_file is None:
            raise PermanentTransportError(
                f"sftp://{host}: a client key and a known_hosts file are required", code="CREDENTIALS"
            )
        self.host, self.port, self.username = host, port, username
        self.dir = remote_dir(path)
        self.credentials = credentials
        self.timeout = timeout
        self.verify_readback = verify_readback
        self.url = url or f"sftp://{username}@{host}:{port}{path}"
        self._runner: asyncio.Runner | None = None
        self._conn: asyncssh.SSHClientConnection | None = None
        self._sftp: asyncssh.SFTPClient | None = None

    # ------------------------------------------------------------------ plumbing

    def _run(self, op: Op[T], what: str) -> T:
        """Run ``op(sftp)`` on our loop; map failures, and drop the connection after a retriable one."""
        if self._runner is None:
            self._runner = asyncio.Runner()
        try:
            return self._runner.run(self._with_client(op))
        except Exception as exc:
            mapped = map_error(exc, f"{self.url}: {what}")
            if mapped is None:
                raise
            if isinstance(mapped, RetriableTransportError):
                self._runner.run(self._disconnect())
            if mapped is exc:
                raise
            raise mapped from None

    async def _bounded(self, step: Awaitable[T]) -> T:
        return await asyncio.wait_for(step, self.timeout)

    async def _with_client(self, op: Op[T]) -> T:
        if self._sftp is None:
            await self._connect()
        assert self._sftp is not None
        return await op(self._sftp)

    async def _connect(self) -> None:
        key_file, trust_file = self.credentials.key_file, self.credentials.trust_file
        assert key_file is not None and trust_file is not None  # checked in __init__
        try:
            key = asyncssh.read_private_key(str(key_file))
            known_hosts = asyncssh.read_known_hosts(str(trust_file))
        except (OSError, asyncssh.KeyImportError, ValueError) as exc:
            raise PermanentTransportError(
                f"{self.url}: cannot load the client key or known_hosts ({type(exc).__name__})",
                code="CREDENTIALS",
            ) from None
        conn = await self._bounded(
            asyncssh.connect(
                self.host,
                self.port,
                username=self.username,
                client_keys=[key],
                known_hosts=known_hosts,
                config=None,
                agent_path=None,
                preferred_auth="publickey",
                encryption_algs=_CIPHERS,
                connect_timeout=self.timeout,
                login_timeout=self.timeout,
                keepalive_interval=max(self.timeout / 2, 1.0),
            )
        )
        try:
            self._sftp = await self._bounded(conn.start_sftp_client())
        except BaseException:
            conn.close()
            raise
        self._conn = conn

    async def _disconnect(self) -> None:
        sftp, conn, self._sftp, self._conn = self._sftp, self._conn, None, None
        if sftp is not None:
            sftp.exit()
        if conn is not None:
            conn.close()
            with contextlib.suppress(TimeoutError, OSError, asyncssh.Error):  # it may be broken already
                await asyncio.wait_for(conn.wait_closed(), self.timeout)

    def close(self) -> None:
        if self._runner is not None:
            self._runner.run(self._disconnect())
            self._runner.close()
            self._runner = None

    def _remote(self, name: str) -> str:
        return posixpath.join(self.dir, name)

    # ------------------------------------------------------------------ operations

    def list(self) -> list[RemoteFile]:
        async def op(sftp: asyncssh.SFTPClient) -> list[RemoteFile]:
            found = []
            for entry in await self._bounded(sftp.readdir(self.dir)):
                attrs, name = entry.attrs, str(entry.filename)
                if is_temporary(name) or not _is_regular(attrs):
                    continue
                mtime = datetime.fromtimestamp(attrs.mtime or 0, UTC)
                found.append(RemoteFile(name, attrs.size or 0, mtime))
            return sorted(found, key=lambda f: f.name)

        return self._run(op, "list")

    def fetch(self, name: str, dest: BinaryIO) -> Received:
        path = self._remote(check_name(name))

        async def op(sftp: asyncssh.SFTPClient) -> Received:
            digest = hashlib.sha256()
            size = 0
            expected = (await self._bounded(sftp.stat(path))).size
            async with contextlib.aclosing(self._chunks(sftp, path)) as chunks:
                async for chunk in chunks:
                    digest.update(chunk)
                    dest.write(chunk)
                    size += len(chunk)
            if expected is not None and size != expected:
                raise RetriableTransportError(
                    f"{self.url}: {name!r} changed size while being read ({expected} → {size} bytes)",
                    code="FILE_CHANGING",
                )
            return Received(name, size, digest.hexdigest())

        return self._run(op, f"fetch {name!r}")

    def put(self, name: str, data: bytes) -> PutReceipt:
        final = self._remote(check_name(name))
        tmp = self._remote(f"{TEMP_PREFIX}{secrets.token_hex(8)}")
        digest = sha256_hex(data)

        async def op(sftp: asyncssh.SFTPClient) -> PutReceipt:
            try:
                await self._upload(sftp, tmp, data)
                verified = await self._verify(sftp, tmp, len(data), digest)
                await self._rename(sftp, tmp, final, len(data), digest)
            except BaseException:
                await self._remove_quietly(sftp, tmp)
                raise
            return PutReceipt(name, len(data), digest, sha256_verified=verified)

        return self._run(op, f"put {name!r}")

    async def _upload(self, sftp: asyncssh.SFTPClient, tmp: str, data: bytes) -> None:
        view = memoryview(data)
        async with await self._bounded(sftp.open(tmp, "wb", encoding=None)) as remote:
            for start in range(0, len(data), STEP):
                await self._bounded(remote.write(bytes(view[start : start + STEP]), start))

    async def _verify(self, sftp: asyncssh.SFTPClient, path: str, size: int, digest: str) -> bool:
        """Check the server's copy; True when its SHA-256 was checked too (see the module docstring)."""
        stored = (await self._bounded(sftp.stat(path))).size
        if stored != size:
            raise RetriableTransportError(
                f"{self.url}: the server holds {stored} bytes of the {size} sent", code="UPLOAD_VERIFY_FAILED"
            )
        if not self.verify_readback:
            return False
        try:
            theirs = await self._hash(sftp, path)
        except asyncssh.SFTPPermissionDenied:
            return False  # a write-only drop box
        if theirs != digest:
            raise RetriableTransportError(
                f"{self.url}: the server's copy has another SHA-256 than the data sent",
                code="UPLOAD_VERIFY_FAILED",
            )
        return True

    async def _chunks(self, sftp: asyncssh.SFTPClient, path: str) -> AsyncGenerator[bytes]:
        """The file's content in chunks, each read bounded by the timeout."""
        async with await self._bounded(sftp.open(path, "rb", encoding=None)) as remote:
            while chunk := await self._bounded(remote.read(STEP)):
                yield cast(bytes, chunk)

    async def _hash(self, sftp: asyncssh.SFTPClient, path: str) -> str:
        digest = hashlib.sha256()
        async with contextlib.aclosing(self._chunks(sftp, path)) as chunks:
            async for chunk in chunks:
                digest.update(chunk)
        return digest.hexdigest()

    async def _rename(self, sftp: asyncssh.SFTPClient, tmp: str, final: str, size: int, digest: str) -> None:
        """Publish ``tmp`` as ``final``; an identical file already there (an earlier attempt) is fine."""
        try:
            await self._bounded(sftp.rename(tmp, final))
            return
        except asyncssh.SFTPError:
            try:
                existing = (await self._bounded(sftp.stat(final))).size
            except asyncssh.SFTPNoSuchFile:
                raise  # not a conflict: report the rename's own error
        same = existing == size and await self._readable_hash(sftp, final) == digest
        if not same:
            raise PermanentTransportError(
                f"{self.url}: {posixpath.basename(final)!r} already exists with other content",
                code="NAME_CONFLICT",
            )
        await self._remove_quietly(sftp, tmp)

    async def _readable_hash(self, sftp: asyncssh.SFTPClient, path: str) -> str | None:
        try:
            return await self._hash(sftp, path)
        except asyncssh.SFTPPermissionDenied:
            return None

    async def _remove_quietly(self, sftp: asyncssh.SFTPClient, path: str) -> None:
        with contextlib.suppress(asyncssh.Error, OSError, TimeoutError):  # best effort: if the server is
            await self._bounded(sftp.remove(path))  # gone, the temporary name at least stays hidden

    def delete(self, name: str) -> None:
        path = self._remote(check_name(name))

        async def op(sftp: asyncssh.SFTPClient) -> None:
            await self._bounded(sftp.remove(path))

        self._run(op, f"delete {name!r}")

    def move_to(self, name: str, folder: str) -> None:
        source = self._remote(check_name(name))
        target_dir = self._remote(check_folder(folder))

        async def op(sftp: asyncssh.SFTPClient) -> None:
            await self._bounded(sftp.stat(source))  # NOT_FOUND before creating any folder
            await self._bounded(sftp.makedirs(target_dir, exist_ok=True))
            await self._bounded(sftp.posix_rename(source, posixpath.join(target_dir, name)))

        self._run(op, f"move {name!r} to {folder!r}")
