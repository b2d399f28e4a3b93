"""Inbound files in transit are spooled to disk, not held in memory: a quarterly wage file may be
gigabytes, and intake reads it several times (digest, detect, parse, a resume).

A spool file is an unnamed temporary file under ``data_dir/incoming`` (``O_TMPFILE`` where the file
system offers it, else created mode 0600 and unlinked at once): no other process can open it by name,
and the kernel frees it when it is closed or when the process dies, so not even a crash leaves a
partner's file behind in plaintext.

A transport writes a fetched file into the spool through ``guarded``: a full disk on our side is then a
``SpoolWriteError`` (``STORAGE_WRITE_FAILED``, the run fails and the next slot tries again, as for any
storage failure of ours), not an I/O error the transport would take for a network failure and retry
until the run is dead-lettered.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import BinaryIO, cast

from gateway.errors import GatewayError

INCOMING = "incoming"


class SpoolWriteError(GatewayError):
    """A fetched file could not be written to the spool (e.g. ENOSPC): nothing was taken in, the file
    stays at the partner."""

    code = "STORAGE_WRITE_FAILED"


def spool_file(data_dir: Path) -> BinaryIO:
    """A new empty, readable and writable spool file; close it (``with``) when done."""
    folder = data_dir / INCOMING
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    return cast(BinaryIO, tempfile.TemporaryFile(dir=folder))


class _Guarded:
    """The spool file as a transport writes into it (``write`` only, which is all a fetch uses)."""

    def __init__(self, spool: BinaryIO) -> None:
        self._spool = spool

    def write(self, data: bytes) -> int:
        try:
            return self._spool.write(data)
        except OSError as exc:
            raise SpoolWriteError(f"cannot spool the fetched file: {exc.strerror or exc}") from None


def guarded(spool: BinaryIO) -> BinaryIO:
    """``spool`` for a transport's ``fetch`` to write into, with our own disk's failures told apart
    from the transport's (see the module docstring)."""
    return cast(BinaryIO, _Guarded(spool))
