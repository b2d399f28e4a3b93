"""The shared handles every exchange operation needs, built once per process (or per test)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from sqlalchemy import Engine

from gateway.config import IwoIssuer, Settings, get_settings
from gateway.db.session import make_engine
from gateway.security.fieldcrypt import BlindIndex, FieldCipher
from gateway.security.keystore import KeyStore

# Records per transaction: progress is committed with each chunk, so a crash redoes at most one chunk
# (idempotently). A chunk's random-keyed index entries (natural key, subject) land on as many index pages,
# each rewritten through the WAL once per transaction, so larger chunks write fewer pages per record as
# an index grows: a 1,024,768-record QW file on SQLite took 26.5 k records/s with 5,000, 35.4 k with 20,000
# and 39.6 k with 50,000 (bench/bench_intake_memory.py; peak RSS 192, 209 and 242 MB). 20,000 holds
# SQLite's write lock ~0.6 s a chunk, well inside the 5 s other writers wait.
DEFAULT_CHUNK = 20_000


@dataclass(frozen=True, slots=True)
class Runtime:
    """Database, data directory and keys. ``actor`` names who acts in audit entries
    (``scheduler``, ``cli:<user>``, ``api:<role>``)."""

    engine: Engine
    data_dir: Path
    key_dir: Path
    cipher: FieldCipher
    blind_index: BlindIndex
    chunk_size: int = DEFAULT_CHUNK
    actor: str = "gateway"
    iwo: IwoIssuer | None = None  # income withholding after new-hire matches (``gateway.cases.iwo``)

    @classmethod
    def from_settings(
        cls, settings: Settings | None = None, *, engine: Engine | None = None, actor: str = "gateway"
    ) -> Runtime:
        """The runtime for ``settings``, keys read from the key store. Keys are never created here
        (``csgate keys init`` does): a mistyped key directory must fail, not start a new key ring."""
        settings = settings or get_settings()
        store = KeyStore(settings.key_dir)
        return cls(
            engine=engine or make_engine(settings.database_url),
            data_dir=Path(settings.data_dir),
            key_dir=Path(settings.key_dir),
            cipher=store.cipher(),
            blind_index=store.blind_index(),
            actor=actor,
            iwo=settings.iwo,
        )

    def acting_as(self, actor: str) -> Runtime:
        return replace(self, actor=actor)
