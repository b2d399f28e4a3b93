"""In-memory transport: the test double for everything built on transports.

``memory://NAME/folder`` opens folder ``folder`` of the process-wide store ``NAME``; two transports
on the same name see the same files, so a test can play the partner on one and the gateway on the
other. The store can be told to fail the next N operations with a given error
(``store.fail_next(2, RetriableTransportError("down", code="CONNECTION_REFUSED"))``), which is how
retry and dead-letter logic is tested without a network. The clock is injected for ``mtime``.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import BinaryIO

from gateway.errors import PermanentTransportError, TransportError
from gateway.transports.base import (
    CHUNK,
    DEFAULT_TIMEOUT,
    PutReceipt,
    Received,
    RemoteFile,
    Transport,
    check_folder,
    check_name,
    sha256_hex,
)

Clock = Callable[[], datetime]
OPERATIONS = frozenset({"list", "fetch", "put", "delete", "move_to"})


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(slots=True)
class _Fault:
    remaining: int
    error: TransportError
    operations: frozenset[str]


class MemoryStore:
    """The files of one in-memory partner: ``{folder: {name: (data, mtime)}}``, behind a lock."""

    def __init__(self, clock: Clock = _utcnow) -> None:
        self.clock = clock
        self.folders: dict[str, dict[str, tuple[bytes, datetime]]] = {}
        self.calls: list[tuple[str, str]] = []  # (operation, name) in call order, for assertions
        self._faults: list[_Fault] = []
        self._lock = threading.Lock()

    def fail_next(self, times: int, error: TransportError, *, operations: Collection[str] = OPERATIONS) -> None:
        """Make the next ``times`` calls of ``operations`` raise ``error`` (then behave again)."""
        unknown = set(operations) - OPERATIONS
        if unknown or times < 1:
            raise ValueError(f"bad fault: times={times}, unknown operations {sorted(unknown)}")
        with self._lock:
            self._faults.append(_Fault(times, error, frozenset(operations)))

    def files(self, folder: str = "") -> dict[str, bytes]:
        """A copy of the files in ``folder`` (``""`` is the root), for test assertions."""
        with self._lock:
            return {name: data for name, (data, _) in self.folders.get(folder, {}).items()}

    @contextmanager
    def operation(self, operation: str, name: str) -> Iterator[None]:
        """Hold the store's lock for one call: record it, and raise an injected fault if one is due."""
        with self._lock:
            self.calls.append((operation, name))
            for fault in self._faults:
                if operation in fault.operations:
                    fault.remaining -= 1
                    if fault.remaining == 0:
                        self._faults.remove(fault)
                    raise copy.copy(fault.error)  # a fresh traceback per raise
            yield


_stores: dict[str, MemoryStore] = {}
_stores_lock = threading.Lock()


def memory_store(name: str) -> MemoryStore:
    """The process-wide store called ``name``, created empty on first use."""
    with _stores_lock:
        return _stores.setdefault(name, MemoryStore())


def reset_memory_stores() -> None:
    """Forget every store (test isolation)."""
    with _stores_lock:
        _stores.clear()


class MemoryTransport(Transport):
    """A ``Transport`` over one folder of a ``MemoryStore``."""

    def __init__(self, store: MemoryStore, folder: str = "", *, url: str = "memory://") -> None:
        self.store = store
        self.folder = check_folder(folder) if folder.strip("/") else ""
        self.url = url
        self.timeout = DEFAULT_TIMEOUT

    def _files(self, folder: str | None = None) -> dict[str, tuple[bytes, datetime]]:
        return self.store.folders.setdefault(self.folder if folder is None else folder, {})

    def _existing(self, name: str) -> tuple[bytes, datetime]:
        try:
            return self._files()[name]
        except KeyError:
            raise PermanentTransportError(f"{self.url}: no file {name!r}", code="NOT_FOUND") from None

    def list(self) -> list[RemoteFile]:
        with self.store.operation("list", ""):
            return [RemoteFile(n, len(d), t) for n, (d, t) in sorted(self._files().items())]

    def fetch(self, name: str, dest: BinaryIO) -> Received:
        check_name(name)
        with self.store.operation("fetch", name):
            data, _ = self._existing(name)
        view = memoryview(data)
        for start in range(0, len(data), CHUNK):
            dest.write(view[start : start + CHUNK])
        return Received(name, len(data), sha256_hex(data))

    def put(self, name: str, data: bytes) -> PutReceipt:
        check_name(name)
        digest = sha256_hex(data)
        with self.store.operation("put", name):
            files = self._files()
            if name in files and files[name][0] != data:
                raise PermanentTransportError(f"{self.url}: {name!r} exists with other content", code="NAME_CONFLICT")
            files[name] = (bytes(data), self.store.clock())
        return PutReceipt(name, len(data), digest, sha256_verified=True)

    def delete(self, name: str) -> None:
        check_name(name)
        with self.store.operation("delete", name):
            self._existing(name)
            del self._files()[name]

    def move_to(self, name: str, folder: str) -> None:
        check_name(name)
        target = "/".join(p for p in (self.folder, check_folder(folder)) if p)
        with self.store.operation("move_to", name):
            entry = self._existing(name)
            self._files(target)[name] = entry
            del self._files()[name]
