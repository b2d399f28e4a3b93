"""HTTPS with mutual TLS (``https://host:port/base``): the csgate-exchange/1 protocol, with httpx.

**Security.** The client presents our certificate and key (``Credentials.cert_file``/``key_file``)
and trusts only the CA bundle named by ``Credentials.trust_file`` (pinning: the system roots are
never consulted); TLS 1.2 is the minimum. Redirects are not followed and proxy settings from the
environment are ignored: partner endpoints are reached directly, or not at all.

**Protocol csgate-exchange/1.** A partner endpoint exposes one folder under a base URL. Names are
single, percent-encoded path segments (no ``/``, no leading dot). Digests follow RFC 9530:
``Content-Digest: sha-256=:<base64 of the SHA-256>:``.

==============================  ==========================================================
``GET  {base}/``                200, JSON ``{"files": [{"name", "size", "mtime"}]}``; complete
                                files only; ``mtime`` in RFC 3339, UTC
``GET  {base}/{name}``          200 with the bytes, ``Content-Length`` and ``Content-Digest``;
                                404 when absent
``PUT  {base}/{name}``          body with ``Content-Length`` (no chunked encoding) and
                                ``Content-Digest`` (both required). The server checks both before
                                publishing the file atomically, then answers 201 (or 200 when an
                                identical file was already there) with the receipt JSON
                                ``{"name", "size", "sha256"}`` (hex); 400 when the body does not
                                match the length or digest (nothing stored), 409 when the name
                                holds other content, 411/413 for a missing or excessive length
``DELETE {base}/{name}``        204; 404
``POST {base}/{name}?move-to=F``  204 once moved into sub-folder ``F`` (replacing a same-named
                                file there); 404
==============================  ==========================================================

The client verifies what it can: a download's length and ``Content-Digest`` (when sent); an
upload's receipt, which must repeat our size and SHA-256. A receipt that does not is treated as
a corrupted transfer: the file is deleted again (best effort) and a retriable
``UPLOAD_VERIFY_FAILED`` raised.

**Errors.** Connection refused, timeouts, dropped connections, 408/425/429 and 5xx are retriable;
an untrusted server certificate, a refused client certificate (a TLS alert), 401/403, 404, 409
and other 4xx are permanent. ``gateway.transports.reference_server`` implements the server side.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import re
import ssl
from collections.abc import Callable
from datetime import datetime
from typing import Any, BinaryIO, NoReturn, TypeVar
from urllib.parse import quote

import httpx

from gateway.errors import PermanentTransportError, RetriableTransportError, TransportError
from gateway.transports.base import (
    DEFAULT_TIMEOUT,
    Credentials,
    PutReceipt,
    Received,
    RemoteFile,
    Transport,
    check_folder,
    check_name,
    sha256_hex,
)

PROTOCOL = "csgate-exchange/1"
_DIGEST = re.compile(r"(?:^|,)\s*sha-256\s*=\s*:([A-Za-z0-9+/=]+):")
_RETRIABLE_STATUS = frozenset({408, 425, 429})
_STATUS_CODES = {401: "AUTH_FAILED", 403: "AUTH_FAILED", 404: "NOT_FOUND", 409: "NAME_CONFLICT"}
T = TypeVar("T")


def content_digest(data: bytes) -> str:
    """The RFC 9530 ``Content-Digest`` value for ``data``."""
    return f"sha-256=:{base64.b64encode(hashlib.sha256(data).digest()).decode()}:"


def parse_content_digest(value: str | None) -> str | None:
    """The SHA-256 (hex) from a ``Content-Digest`` header; None when absent or another algorithm."""
    match = _DIGEST.search(value or "")
    if match is None:
        return None
    try:
        raw = base64.b64decode(match[1], validate=True)
    except ValueError:
        return None
    return raw.hex() if len(raw) == 32 else None


def client_ssl_context(credentials: Credentials) -> ssl.SSLContext:
    """TLS ≥ 1.2 trusting only ``trust_file``, presenting our client certificate."""
    if credentials.trust_file is None or credentials.cert_file is None or credentials.key_file is None:
        raise PermanentTransportError(
            "https needs a client certificate, its key and the partner's CA file", code="CREDENTIALS"
        )
    try:
        ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(credentials.trust_file))
        ctx.load_cert_chain(str(credentials.cert_file), str(credentials.key_file))
    except (OSError, ssl.SSLError) as exc:
        raise PermanentTransportError(
            f"cannot load the TLS client certificate, key or partner CA ({type(exc).__name__})",
            code="CREDENTIALS",
        ) from None
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    return ctx


def _ssl_cause(exc: BaseException) -> ssl.SSLError | None:
    """The ``ssl.SSLError`` that httpx/httpcore wrapped, if any (bounded walk of the cause chain)."""
    seen: BaseException | None = exc
    for _ in range(8):
        if seen is None:
            return None
        if isinstance(seen, ssl.SSLError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def _refused(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    for _ in range(8):
        if seen is None:
            return False
        if isinstance(seen, ConnectionRefusedError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def map_error(exc: httpx.HTTPError, what: str) -> TransportError:
    """The transport error for an httpx exception (network or TLS level, not an HTTP status)."""
    if isinstance(exc, httpx.TimeoutException):
        return RetriableTransportError(f"{what}: timed out", code="TIMEOUT")
    tls = _ssl_cause(exc)
    if isinstance(tls, ssl.SSLCertVerificationError):
        return PermanentTransportError(
            f"{what}: the server certificate is not issued by the partner's CA ({tls.verify_message})",
            code="TLS_UNTRUSTED",
        )
    if tls is not None and not isinstance(tls, ssl.SSLEOFError | ssl.SSLZeroReturnError):
        # a TLS alert from the server: our certificate was refused, or no common protocol
        return PermanentTransportError(f"{what}: TLS refused ({tls.reason})", code="TLS_REFUSED")
    if _refused(exc):
        return RetriableTransportError(f"{what}: connection refused", code="CONNECTION_REFUSED")
    return RetriableTransportError(f"{what}: {type(exc).__name__}", code="NETWORK")


def raise_for_status(response: httpx.Response, what: str) -> None:
    """Map a non-2xx answer: 5xx and 408/425/429 retriable, any other status permanent."""
    status = response.status_code
    if status < 300:
        return
    message = f"{what}: HTTP {status}"
    if status >= 500 or status in _RETRIABLE_STATUS:
        raise RetriableTransportError(message, code=f"HTTP_{status}")
    raise PermanentTransportError(message, code=_STATUS_CODES.get(status, f"HTTP_{status}"))


class HttpsTransport(Transport):
    """A ``Transport`` over a csgate-exchange/1 endpoint; see the module docstring."""

    def __init__(
        self,
        base_url: str,
        credentials: Credentials,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.url = base_url.rstrip("/")
        self.timeout = timeout
        self._client = httpx.Client(
            verify=ssl_context or client_ssl_context(credentials),
            timeout=httpx.Timeout(timeout),
            follow_redirects=False,
            trust_env=False,
            # identity encoding: Content-Digest then covers exactly the bytes we store
            headers={"User-Agent": f"csgate ({PROTOCOL})", "Accept-Encoding": "identity"},
        )

    def close(self) -> None:
        self._client.close()

    def _href(self, name: str) -> str:
        return f"{self.url}/{quote(check_name(name), safe='')}"

    def _call(self, what: str, send: Callable[[], T]) -> T:
        try:
            return send()
        except httpx.HTTPError as exc:
            raise map_error(exc, f"{self.url}: {what}") from None

    def _request(self, what: str, method: str, url: str, **kwargs: Any) -> httpx.Response:
        response = self._call(what, lambda: self._client.request(method, url, **kwargs))
        raise_for_status(response, f"{self.url}: {what}")
        return response

    def list(self) -> list[RemoteFile]:
        response = self._request("list", "GET", f"{self.url}/")
        try:
            entries = response.json()["files"]
            files = [
                RemoteFile(check_name(e["name"]), int(e["size"]), datetime.fromisoformat(e["mtime"])) for e in entries
            ]
        except (ValueError, KeyError, TypeError, PermanentTransportError):
            self._protocol_error("list", "the file listing is not csgate-exchange/1 JSON")
        return sorted(files, key=lambda f: f.name)

    def fetch(self, name: str, dest: BinaryIO) -> Received:
        url = self._href(name)
        what = f"fetch {name!r}"

        def download() -> Received:
            with self._client.stream("GET", url) as response:
                raise_for_status(response, f"{self.url}: {what}")
                expected = parse_content_digest(response.headers.get("content-digest"))
                digest = hashlib.sha256()
                size = 0
                for chunk in response.iter_raw():
                    digest.update(chunk)
                    dest.write(chunk)
                    size += len(chunk)
            if expected is not None and digest.hexdigest() != expected:
                raise RetriableTransportError(
                    f"{self.url}: {what}: the body does not match its Content-Digest",
                    code="DOWNLOAD_VERIFY_FAILED",
                )
            return Received(name, size, digest.hexdigest())

        return self._call(what, download)

    def put(self, name: str, data: bytes) -> PutReceipt:
        url = self._href(name)
        digest = sha256_hex(data)
        headers = {"Content-Digest": content_digest(data), "Content-Type": "application/octet-stream"}
        response = self._request(f"put {name!r}", "PUT", url, content=data, headers=headers)
        try:
            receipt = response.json()
            size, theirs = int(receipt["size"]), str(receipt["sha256"])
        except (ValueError, KeyError, TypeError):
            self._protocol_error(f"put {name!r}", "the upload receipt is not csgate-exchange/1 JSON")
        if (size, theirs) != (len(data), digest):
            with contextlib.suppress(TransportError):  # best effort; the error below is what matters
                self.delete(name)
            raise RetriableTransportError(
                f"{self.url}: put {name!r}: the receipt ({size} bytes) does not match the {len(data)} "
                "bytes sent or their SHA-256",
                code="UPLOAD_VERIFY_FAILED",
            )
        return PutReceipt(name, size, digest, sha256_verified=True)

    def delete(self, name: str) -> None:
        self._request(f"delete {name!r}", "DELETE", self._href(name))

    def move_to(self, name: str, folder: str) -> None:
        self._request(
            f"move {name!r} to {folder!r}", "POST", self._href(name), params={"move-to": check_folder(folder)}
        )

    def _protocol_error(self, what: str, why: str) -> NoReturn:
        raise PermanentTransportError(f"{self.url}: {what}: {why}", code="PROTOCOL")
