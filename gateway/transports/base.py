"""The transport protocol: how files move between the gateway and one partner directory.

A transport is opened on one URL whose path is a directory (``open_transport`` in this package's
``__init__``) and offers a handful of blocking operations, in the style of httpx's transport
plug point:

- ``list()`` the complete files waiting there (never temporary or partial uploads),
- ``fetch(name, dest)`` / ``get(name)`` one file, with its size and SHA-256,
- ``put(name, data)`` a file atomically: it is written under a temporary name, verified (size, and
  SHA-256 where the peer allows), and only then given its real name, so a reader never sees it
  half-written; an existing file of that name with the same content counts as success (a retried
  upload whose first attempt did arrive), with other content as a ``NAME_CONFLICT``,
- ``delete(name)`` and ``move_to(name, folder)`` (e.g. into a ``done`` folder; a same-named file
  already there is replaced).

Every failure is a ``RetriableTransportError`` (the partner may answer later: network down,
timeout, refused connection, 5xx, disk full) or a ``PermanentTransportError`` (retrying cannot
help: authentication, 4xx, permission, missing path, name conflict), each with a stable ``code``.
Every network operation is bounded by the transport's ``timeout``.

A transport instance is not thread-safe: use one per worker, and close it (or use ``with``).
"""

from __future__ import annotations

import hashlib
import io
import re
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import BinaryIO, Self

from gateway.errors import PermanentTransportError

DEFAULT_TIMEOUT = 30.0  # seconds, per network operation
CHUNK = 256 << 10
TEMP_PREFIX = ".csgate-tmp-"
# What other tools use while a file is still being written: dot files (rsync, ours), WinSCP's
# ".filepart", and the common ".part"/".tmp" suffixes. ``list`` never returns these.
_TEMP_NAME = re.compile(r"^\.|\.(?:filepart|part|tmp)$", re.IGNORECASE)
_BAD_NAME = re.compile(r"[/\\\x00-\x1f]")
MAX_NAME = 255


@dataclass(frozen=True, slots=True)
class Credentials:
    """Where a transport finds its secrets and trust anchors: file paths, never the secrets.

    - ``key_file``: our SSH private key (sftp) or TLS client key (https), under the key dir;
    - ``cert_file``: our TLS client certificate (https);
    - ``trust_file``: the partner's public trust anchor, an OpenSSH ``known_hosts`` file (sftp) or
      the CA bundle that issued the partner's server certificate (https). Only this anchor is
      trusted: the system roots are not consulted.
    """

    key_file: Path | None = None
    cert_file: Path | None = None
    trust_file: Path | None = None


@dataclass(frozen=True, slots=True)
class RemoteFile:
    """One complete file in the partner directory. ``mtime`` is timezone-aware (UTC)."""

    name: str
    size: int
    mtime: datetime


@dataclass(frozen=True, slots=True)
class Received:
    """What ``fetch`` read: the byte count and the SHA-256 (hex) of exactly those bytes."""

    name: str
    size: int
    sha256: str


@dataclass(frozen=True, slots=True)
class PutReceipt:
    """Proof of an upload. ``size`` was always checked at the peer; ``sha256_verified`` says whether
    the peer's copy was hashed too (false when, e.g., an SFTP drop box is write-only)."""

    name: str
    size: int
    sha256: str
    sha256_verified: bool


def is_temporary(name: str) -> bool:
    """True for names that mark a file still being written (ours or another tool's)."""
    return bool(_TEMP_NAME.search(name))


def check_name(name: str) -> str:
    """Refuse names that could escape the directory or hide as temporary files.

    A plain file name only: no separators, control characters, ``.``/``..`` or leading dot.
    """
    if not name or len(name) > MAX_NAME or _BAD_NAME.search(name) or is_temporary(name):
        raise PermanentTransportError(f"invalid remote file name {name!r}", code="BAD_NAME")
    return name


def check_folder(folder: str) -> str:
    """A relative folder for ``move_to``: one or more plain names joined by ``/``."""
    parts = folder.strip("/").split("/")
    for part in parts:
        check_name(part)
    return "/".join(parts)


def sha256_hex(data: bytes) -> str:
    """The SHA-256 of ``data`` as ``sha256sum`` prints it."""
    return hashlib.sha256(data).hexdigest()


class Transport(ABC):
    """One partner directory. Subclasses implement the abstract operations; see the module docstring."""

    url: str  # the URL without credentials, safe to log
    timeout: float

    @abstractmethod
    def list(self) -> list[RemoteFile]:
        """The complete files in the directory (temporary names and sub-folders left out), by name."""

    @abstractmethod
    def fetch(self, name: str, dest: BinaryIO) -> Received:
        """Copy file ``name`` into ``dest`` in chunks (bounded memory); return its size and digest."""

    @abstractmethod
    def put(self, name: str, data: bytes) -> PutReceipt:
        """Upload ``data`` as ``name`` atomically and verified (see the module docstring)."""

    @abstractmethod
    def delete(self, name: str) -> None:
        """Remove file ``name``; a missing file is a ``NOT_FOUND`` permanent error."""

    @abstractmethod
    def move_to(self, name: str, folder: str) -> None:
        """Move file ``name`` into the sub-folder ``folder`` (created when missing)."""

    def get(self, name: str) -> bytes:
        """The whole content of file ``name``; prefer ``fetch`` for files that may be large."""
        buf = io.BytesIO()
        self.fetch(name, buf)
        return buf.getvalue()

    def close(self) -> None:  # noqa: B027 - transports without a connection have nothing to close
        """Release the connection, if any. Idempotent."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.url!r})"
