"""A small csgate-exchange/1 server (see ``gateway.transports.https``) over one folder.

It is the reference a partner's implementation can be compared with, the peer of the HTTPS
transport in tests, and a local partner for the demo. A two-way partner is configured with
distinct ``inbound_dir`` and ``outbound_dir`` under one URL, so ``folders`` serves those
sub-folders of the root as endpoints of their own (``{base}/outbox``, ``{base}/inbox``).

It requires a client certificate issued by
``client_ca_file`` (mutual TLS, TLS ≥ 1.2), checks every upload's length and ``Content-Digest``
before storing it, and stores through ``FolderTransport``, so a published file is always complete.
Uploads are held in memory and limited to ``max_bytes``.

Built on the standard library (``http.server`` in a thread) so tests start it in milliseconds and
it needs nothing beyond Python. Each connection's TLS handshake runs in its own thread, bounded by
``timeout``; a client that fails the handshake (no certificate, or one from another CA) receives
the TLS alert and a clean close, never an HTTP answer.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import socket
import ssl
import threading
from collections.abc import Sequence
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qs, quote, unquote, urlsplit

import orjson

from gateway.errors import PermanentTransportError, TransportError
from gateway.transports.base import check_folder, check_name
from gateway.transports.folder import FolderTransport
from gateway.transports.https import PROTOCOL, content_digest, parse_content_digest

log = logging.getLogger(__name__)
MAX_BYTES = 256 << 20
_DRAIN_READS = 64  # a refused client gets this many reads (each bounded by the timeout) to hang up


def server_ssl_context(cert_file: Path, key_file: Path, client_ca_file: Path) -> ssl.SSLContext:
    """TLS ≥ 1.2 server context requiring a client certificate from ``client_ca_file``."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(str(cert_file), str(key_file))
    ctx.load_verify_locations(cafile=str(client_ca_file))
    ctx.verify_mode = ssl.CERT_REQUIRED
    return ctx


def _hang_up(sock: ssl.SSLSocket) -> None:
    """Close after a failed handshake without a TCP reset, so the client reads our TLS alert.

    Closing with unread request bytes in the buffer would send a reset that can overtake the alert
    and turn a permanent refusal into a "connection reset" the client would retry.
    """
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_WR)  # also drops the failed TLS state: reads below are plain TCP
        for _ in range(_DRAIN_READS):
            if not sock.recv(65536):
                break


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(
        self,
        address: tuple[str, int],
        *,
        ssl_context: ssl.SSLContext,
        stores: dict[str, FolderTransport],
        max_bytes: int,
        timeout: float,
    ) -> None:
        self.ssl_context = ssl_context
        self.stores = stores  # base path -> the folder served there
        self.max_bytes = max_bytes
        self.timeout = timeout
        super().__init__(address, _Handler)

    def get_request(self) -> tuple[socket.socket, Any]:
        sock, address = super().get_request()
        # the handshake itself runs in the connection's thread (finish_request), never in the accept loop
        return self.ssl_context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), address

    def finish_request(self, request: Any, client_address: Any) -> None:
        request.settimeout(self.timeout)
        try:
            request.do_handshake()
        except (ssl.SSLError, OSError) as exc:
            log.info("TLS handshake refused", extra={"reason": getattr(exc, "reason", type(exc).__name__)})
            _hang_up(request)
            return
        super().finish_request(request, client_address)

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.debug("connection ended with an error", exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = f"csgate-reference ({PROTOCOL})"
    server: _Server
    store: FolderTransport  # the folder addressed by the current request (set by ``_target``)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug(format, *args)

    # ---------------------------------------------------------------- helpers

    def _send(self, status: int, body: Any = None, headers: dict[str, str] | None = None) -> None:
        payload = b"" if body is None else body if isinstance(body, bytes) else orjson.dumps(body)
        self.send_response(status)
        if body is not None and not isinstance(body, bytes):
            self.send_header("Content-Type", "application/json")
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if payload:
            self.wfile.write(payload)

    def _error(self, status: int, why: str) -> None:
        self._send(status, {"error": why})

    def _target(self) -> str | None:
        """The file name addressed (``""`` for the listing), or None after answering 404/400."""
        path = unquote(urlsplit(self.path).path)  # an encoded "/" in a name is refused below
        bases = [b for b in self.server.stores if path == b or path.startswith(f"{b}/")]
        if not bases:
            self._error(HTTPStatus.NOT_FOUND, "unknown path")
            return None
        base = max(bases, key=len)  # a served sub-folder wins over a file of that name
        self.store = self.server.stores[base]
        rest = path[len(base) + 1 :]
        if not rest:
            return ""
        try:
            return check_name(rest)
        except PermanentTransportError:
            self._error(HTTPStatus.BAD_REQUEST, "invalid file name")
            return None

    def _file_target(self) -> str | None:
        """The file name addressed by a method that needs one; None after answering an error."""
        name = self._target()
        if name == "":
            self._error(HTTPStatus.METHOD_NOT_ALLOWED, f"{self.command.lower()} needs a file name")
        return name or None

    def _store_error(self, exc: TransportError) -> None:
        status = {
            "NOT_FOUND": HTTPStatus.NOT_FOUND,
            "NAME_CONFLICT": HTTPStatus.CONFLICT,
            "BAD_NAME": HTTPStatus.BAD_REQUEST,
        }.get(exc.code, HTTPStatus.SERVICE_UNAVAILABLE)
        self._error(status, exc.code.lower().replace("_", "-"))

    # ---------------------------------------------------------------- methods

    def do_GET(self) -> None:
        name = self._target()
        if name is None:
            return
        try:
            if not name:
                files = [{"name": f.name, "size": f.size, "mtime": f.mtime.isoformat()} for f in self.store.list()]
                self._send(HTTPStatus.OK, {"files": files})
                return
            data = self.store.get(name)
        except TransportError as exc:
            self._store_error(exc)
            return
        self._send(HTTPStatus.OK, data, {"Content-Digest": content_digest(data)})

    def do_PUT(self) -> None:
        name = self._file_target()
        if name is None:
            return
        body = self._read_body()
        if body is None:
            return
        existed = (self.store.root / name).is_file()
        try:
            receipt = self.store.put(name, body)
        except TransportError as exc:
            self._store_error(exc)
            return
        status = HTTPStatus.OK if existed else HTTPStatus.CREATED
        self._send(status, {"name": receipt.name, "size": receipt.size, "sha256": receipt.sha256})

    def _read_body(self) -> bytes | None:
        """The complete upload, checked against its length and digest; None after an error answer."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            self.close_connection = True
            self._error(HTTPStatus.LENGTH_REQUIRED, "chunked uploads are not accepted")
            return None
        try:
            length = int(self.headers["Content-Length"])
        except (TypeError, ValueError):
            self.close_connection = True
            self._error(HTTPStatus.LENGTH_REQUIRED, "content-length required")
            return None
        if not 0 <= length <= self.server.max_bytes:
            self.close_connection = True
            self._error(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "upload too large")
            return None
        expected = parse_content_digest(self.headers.get("Content-Digest"))
        if expected is None:
            self.close_connection = True
            self._error(HTTPStatus.BAD_REQUEST, "content-digest sha-256 required")
            return None
        body = self.rfile.read(length)
        if len(body) != length:  # the client went away mid-upload: store nothing
            self.close_connection = True
            return None
        if hashlib.sha256(body).hexdigest() != expected:
            self._error(HTTPStatus.BAD_REQUEST, "digest-mismatch")
            return None
        return body

    def do_DELETE(self) -> None:
        name = self._file_target()
        if name is None:
            return
        try:
            self.store.delete(name)
        except TransportError as exc:
            self._store_error(exc)
            return
        self._send(HTTPStatus.NO_CONTENT)

    def do_POST(self) -> None:
        name = self._file_target()
        if name is None:
            return
        folders = parse_qs(urlsplit(self.path).query).get("move-to", [])
        try:
            if len(folders) != 1:
                raise PermanentTransportError("move-to required", code="BAD_NAME")
            self.store.move_to(name, check_folder(folders[0]))
        except TransportError as exc:
            self._store_error(exc)
            return
        self._send(HTTPStatus.NO_CONTENT)


class ReferenceServer:
    """Serve ``root`` at ``https://host:port{base_path}`` until ``stop()`` (or the ``with`` block ends)."""

    def __init__(
        self,
        root: Path,
        *,
        cert_file: Path,
        key_file: Path,
        client_ca_file: Path,
        host: str = "127.0.0.1",
        port: int = 0,
        base_path: str = "/exchange",
        folders: Sequence[str] = (),
        max_bytes: int = MAX_BYTES,
        timeout: float = 10.0,
    ) -> None:
        base = "/" + base_path.strip("/")
        stores = {base: FolderTransport(Path(root))}
        stores |= {f"{base.rstrip('/')}/{check_folder(f)}": FolderTransport(Path(root) / f) for f in folders}
        self._server = _Server(
            (host, port),
            ssl_context=server_ssl_context(cert_file, key_file, client_ca_file),
            stores=stores,
            max_bytes=max_bytes,
            timeout=timeout,
        )
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"https://{host!s}:{port}{quote(next(iter(self._server.stores)))}"

    def start(self) -> None:
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
