"""Transports: moving files between the gateway and partner directories (design.md §5).

``open_transport(url, credentials)`` returns the ``Transport`` for a URL (schemes in ``urls``);
the protocol, its result types and its error rules are in ``base``. Implementations: ``folder``
(local drop, atomic rename), ``sftp`` (asyncssh), ``https`` (httpx, mutual TLS,
csgate-exchange/1) and ``memory`` (the test double). ``reference_server`` is a csgate-exchange/1
server for tests and the demo. Implementations are imported when first opened: asyncssh and httpx
take a noticeable time to import, and most commands need neither.
"""

from __future__ import annotations

from pathlib import Path

from gateway.transports.base import (
    DEFAULT_TIMEOUT,
    Credentials,
    PutReceipt,
    Received,
    RemoteFile,
    Transport,
)
from gateway.transports.urls import TransportURL, join_url, parse_url


def open_transport(url: str, credentials: Credentials | None = None, *, timeout: float = DEFAULT_TIMEOUT) -> Transport:
    """The transport for ``url``. Nothing connects yet: SFTP connects on first use.

    Raises ``ConfigError`` (``BAD_URL``) for a malformed URL and ``PermanentTransportError``
    (``CREDENTIALS``) when the credentials the scheme needs are missing or unreadable.
    """
    target = parse_url(url)
    creds = credentials or Credentials()
    shown = str(target)
    if target.scheme == "file":
        from gateway.transports.folder import FolderTransport

        return FolderTransport(Path(target.path), url=shown)
    if target.scheme == "memory":
        from gateway.transports.memory import MemoryTransport, memory_store

        return MemoryTransport(memory_store(target.host), target.path, url=shown)
    assert target.port is not None  # parse_url fills in the scheme's default port
    if target.scheme == "sftp":
        from gateway.transports.sftp import SftpTransport

        assert target.user is not None
        return SftpTransport(
            host=target.host,
            port=target.port,
            username=target.user,
            path=target.path,
            credentials=creds,
            timeout=timeout,
            url=shown,
        )
    from gateway.transports.https import HttpsTransport

    return HttpsTransport(shown, creds, timeout=timeout)


__all__ = [
    "DEFAULT_TIMEOUT",
    "Credentials",
    "PutReceipt",
    "Received",
    "RemoteFile",
    "Transport",
    "TransportURL",
    "join_url",
    "open_transport",
    "parse_url",
]
