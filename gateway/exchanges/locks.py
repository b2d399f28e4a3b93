"""Cross-process locks: one worker per partner at a time, one scheduler per cluster.

PostgreSQL: session-level advisory locks on a dedicated connection — held as long as that
connection lives, so a process killed with SIGKILL releases them the moment its connection drops.
SQLite (one machine by definition): ``flock`` on a file under ``data_dir/locks``, which the kernel
releases when the process dies.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import zlib
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

LOCK_CLASS = 0x6373  # first key of the two-key advisory lock form: "cs"
LEADER = "scheduler-leader"


def _lock_id(name: str) -> int:
    """Second key: a signed 32-bit CRC of the lock name (partner id, or the leader lock)."""
    return int.from_bytes(zlib.crc32(name.encode()).to_bytes(4, "big"), "big", signed=True)


class NamedLock:
    """A non-blocking, cross-process lock; ``acquire()`` says whether it was taken."""

    def __init__(self, engine: Engine, data_dir: Path, name: str) -> None:
        self.engine, self.name = engine, name
        self._postgres = engine.dialect.name == "postgresql"
        self._path = data_dir / "locks" / f"{name}.lock"
        self._conn: Any = None
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._conn is not None or self._fd is not None

    def acquire(self) -> bool:
        if self.held:
            return True
        if self._postgres:
            conn = self.engine.raw_connection()  # outside any ORM transaction, lives with the lock
            try:
                cursor = conn.cursor()
                cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", (LOCK_CLASS, _lock_id(self.name)))
                row = cursor.fetchone()
                conn.commit()
            except Exception:
                conn.invalidate()
                raise
            if row and row[0]:
                self._conn = conn
                return True
            conn.close()
            return False
        self._path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def alive(self) -> bool:
        """Whether the lock is still ours: on PostgreSQL, whether its connection still answers."""
        if self._fd is not None:
            return True
        if self._conn is None:
            return False
        try:
            cursor = self._conn.cursor()
            cursor.execute("SELECT 1")
            cursor.fetchone()
            self._conn.commit()
        except Exception:
            self._drop()
            return False
        return True

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
        if self._conn is not None:
            try:
                cursor = self._conn.cursor()
                cursor.execute("SELECT pg_advisory_unlock(%s, %s)", (LOCK_CLASS, _lock_id(self.name)))
                self._conn.commit()
                self._conn.close()
            except Exception:
                self._drop()
            self._conn = None

    def _drop(self) -> None:
        with contextlib.suppress(Exception):
            self._conn.invalidate()  # never hand a broken connection back to the pool
        self._conn = None

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


def partner_lock(engine: Engine, data_dir: Path, partner_id: str) -> NamedLock:
    return NamedLock(engine, data_dir, f"partner-{partner_id}")


def leader_lock(engine: Engine, data_dir: Path) -> NamedLock:
    return NamedLock(engine, data_dir, LEADER)
