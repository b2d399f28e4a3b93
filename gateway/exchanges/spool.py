"""Inbound files in transit are spooled to disk, not held in memory: a quarterly wage file may be
gigabytes, and intake reads it several times (digest, detect, parse, a resume).

A spool file is an unnamed temporary file under ``data_dir/incoming`` (``O_TMPFILE`` where the file
system offers it, else created mode 0600 and unlinked at once): no other process can open it by name,
and the kernel frees it when it is closed or when the process dies, so not even a crash leaves a
partner's file behind in plaintext.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import BinaryIO, cast

INCOMING = "incoming"


def spool_file(data_dir: Path) -> BinaryIO:
    """A new empty, readable and writable spool file; close it (``with``) when done."""
    folder = data_dir / INCOMING
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    return cast(BinaryIO, tempfile.TemporaryFile(dir=folder))
