"""Whole files kept at rest under ``Settings.data_dir``: quarantined inbound files and outbound
payloads waiting to be (re)sent. They hold personal data, so each is one AES-GCM ciphertext from
the field cipher, with associated data naming the blob's kind and digest (``quarantine:<sha256>``):
a blob renamed or swapped on disk fails to decrypt instead of being served as another file.

Writes are atomic: a private temporary file in the same directory, flushed and fsynced, then
renamed over the final name. A failed write (disk full) leaves no partial file and raises
``BlobWriteError``, so the caller keeps the file at the partner and tries again later.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from gateway.errors import GatewayError
from gateway.security.fieldcrypt import FieldCipher


class BlobWriteError(GatewayError):
    """A blob could not be written (e.g. ENOSPC). Nothing was kept; the caller may retry later."""

    code = "STORAGE_WRITE_FAILED"


def blob_path(data_dir: Path, kind: str, sha256: str) -> Path:
    """Where the blob of ``kind`` (``quarantine`` | ``outbound``) for a file digest lives."""
    return data_dir / kind / f"{sha256}.bin"


def write_blob(cipher: FieldCipher, path: Path, data: bytes, aad: str) -> None:
    """Encrypt ``data`` and publish it at ``path`` atomically (see the module docstring)."""
    blob = cipher.encrypt(data, aad)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".bin")  # mode 0600
    except OSError as exc:
        raise BlobWriteError(f"cannot store {path.name}: {exc.strerror or exc}") from exc
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(blob)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise BlobWriteError(f"cannot store {path.name}: {exc.strerror or exc}") from exc


def read_blob(cipher: FieldCipher, path: Path, aad: str) -> bytes:
    """The plaintext of a blob written by ``write_blob`` with the same ``aad``."""
    return cipher.decrypt(path.read_bytes(), aad)
