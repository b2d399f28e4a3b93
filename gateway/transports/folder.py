"""Local folder drop (``file:///path``): a directory on this machine or a mounted share.

An upload is written to a private temporary name in the same directory (``.csgate-tmp-…``, a dot
file that ``list`` and most partner tools skip), flushed to disk with ``fsync``, re-read and hashed,
and only then published under its real name with ``os.link`` (atomic, and refusing to overwrite),
so a reader sees either nothing or the whole verified file. Any failure removes the temporary file.
The folder must therefore support hard links (every POSIX file system and NFS do).

OS errors map to what happens next:

- ``ENOSPC``/``EDQUOT`` (disk or quota full) → retriable ``DISK_FULL``: space is usually freed by
  an operator or a cleanup job, and the temporary file has already been removed, so a later retry
  starts clean; the retry limit then dead-letters the exchange if it never clears.
- ``ENOENT`` → permanent ``NOT_FOUND`` (a file) or ``PATH_MISSING`` (the folder itself);
  ``EACCES``/``EPERM`` → permanent ``PERMISSION``; ``EROFS`` → permanent ``READ_ONLY``.
- anything else (``EIO``, a stale NFS handle, …) → retriable ``IO_ERROR``.
"""

from __future__ import annotations

import errno
import hashlib
import os
import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from gateway.errors import PermanentTransportError, RetriableTransportError, TransportError
from gateway.transports.base import (
    CHUNK,
    DEFAULT_TIMEOUT,
    TEMP_PREFIX,
    PutReceipt,
    Received,
    RemoteFile,
    Transport,
    check_folder,
    check_name,
    is_temporary,
    sha256_hex,
)

FILE_MODE = 0o640  # the partner's pickup job may read through its group; others may not

_PERMANENT = {
    errno.EACCES: "PERMISSION",
    errno.EPERM: "PERMISSION",
    errno.EROFS: "READ_ONLY",
    errno.ENAMETOOLONG: "BAD_NAME",
}
_RETRIABLE = {errno.ENOSPC: "DISK_FULL", errno.EDQUOT: "DISK_FULL"}


def os_error(exc: OSError, what: str, *, missing: str = "NOT_FOUND") -> TransportError:
    """The transport error for an OS error while doing ``what`` (a phrase without personal data)."""
    reason = exc.strerror or type(exc).__name__
    if exc.errno == errno.ENOENT:
        return PermanentTransportError(f"{what}: {reason}", code=missing)
    if exc.errno in _PERMANENT:
        return PermanentTransportError(f"{what}: {reason}", code=_PERMANENT[exc.errno])
    return RetriableTransportError(f"{what}: {reason}", code=_RETRIABLE.get(exc.errno or 0, "IO_ERROR"))


def _write_all(fd: int, data: bytes) -> None:
    """``os.write`` until every byte is written (a write may be short on some file systems)."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view[:CHUNK])
        view = view[written:]


def fsync_dir(path: Path) -> None:
    """Make a new, removed or renamed name in ``path`` survive a crash (the key stores use it too)."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _file_sha256(path: Path) -> tuple[int, str]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


class FolderTransport(Transport):
    """A ``Transport`` over the directory ``root``."""

    def __init__(self, root: Path, *, url: str | None = None, file_mode: int = FILE_MODE) -> None:
        self.root = Path(root)
        self.url = url or self.root.as_uri()
        self.timeout = DEFAULT_TIMEOUT  # local calls are not bounded; kept for the common interface
        self.file_mode = file_mode

    def _path(self, name: str) -> Path:
        return self.root / check_name(name)

    def list(self) -> list[RemoteFile]:
        try:
            with os.scandir(self.root) as entries:
                found = []
                for entry in entries:
                    if is_temporary(entry.name) or not entry.is_file(follow_symlinks=False):
                        continue
                    st = entry.stat(follow_symlinks=False)
                    found.append(RemoteFile(entry.name, st.st_size, datetime.fromtimestamp(st.st_mtime, UTC)))
        except OSError as exc:
            raise os_error(exc, f"{self.url}: cannot list", missing="PATH_MISSING") from None
        return sorted(found, key=lambda f: f.name)

    def fetch(self, name: str, dest: BinaryIO) -> Received:
        path = self._path(name)
        digest = hashlib.sha256()
        size = 0
        try:
            with path.open("rb") as fh:
                expected = os.fstat(fh.fileno()).st_size
                while chunk := fh.read(CHUNK):
                    digest.update(chunk)
                    dest.write(chunk)
                    size += len(chunk)
        except OSError as exc:
            raise os_error(exc, f"{self.url}: cannot read {name!r}") from None
        if size != expected:  # the partner is still writing it in place
            raise RetriableTransportError(
                f"{self.url}: {name!r} changed size while being read ({expected} → {size} bytes)",
                code="FILE_CHANGING",
            )
        return Received(name, size, digest.hexdigest())

    def put(self, name: str, data: bytes) -> PutReceipt:
        final = self._path(name)
        digest = sha256_hex(data)
        tmp = self.root / f"{TEMP_PREFIX}{secrets.token_hex(8)}"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, self.file_mode)
        except OSError as exc:
            raise os_error(exc, f"{self.url}: cannot create a file", missing="PATH_MISSING") from None
        try:
            try:
                _write_all(fd, data)
                os.fsync(fd)
            finally:
                os.close(fd)
            written = _file_sha256(tmp)
            if written != (len(data), digest):
                raise RetriableTransportError(
                    f"{self.url}: {name!r} reads back as {written[0]} bytes with another digest "
                    f"than the {len(data)} bytes written",
                    code="UPLOAD_VERIFY_FAILED",
                )
            self._publish(tmp, final, len(data), digest)
        except OSError as exc:
            raise os_error(exc, f"{self.url}: cannot write {name!r}") from None
        finally:
            tmp.unlink(missing_ok=True)
        return PutReceipt(name, len(data), digest, sha256_verified=True)

    def _publish(self, tmp: Path, final: Path, size: int, digest: str) -> None:
        """Give the verified temporary file its real name, never replacing another file."""
        try:
            os.link(tmp, final)
        except FileExistsError:
            if _file_sha256(final) != (size, digest):
                raise PermanentTransportError(
                    f"{self.url}: {final.name!r} already exists with other content", code="NAME_CONFLICT"
                ) from None
            return  # the same file is already there: an earlier attempt arrived
        fsync_dir(self.root)

    def delete(self, name: str) -> None:
        try:
            self._path(name).unlink()
            fsync_dir(self.root)
        except OSError as exc:
            raise os_error(exc, f"{self.url}: cannot delete {name!r}") from None

    def move_to(self, name: str, folder: str) -> None:
        source = self._path(name)
        target_dir = self.root / check_folder(folder)
        try:
            if not source.is_file():
                raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT))
            target_dir.mkdir(parents=True, exist_ok=True)
            os.replace(source, target_dir / name)
            fsync_dir(target_dir)
            fsync_dir(self.root)
        except OSError as exc:
            raise os_error(exc, f"{self.url}: cannot move {name!r} to {folder!r}") from None
