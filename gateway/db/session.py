"""Engines and sessions for the two supported backends.

SQLite (the embedded default) runs in WAL mode with ``synchronous=NORMAL``: readers never block
the writer, and one-row commits run at ~27 k/s instead of ~5 k/s with FULL (performance ceilings
§6a); a power failure may lose the last commits but never corrupts the file.
PostgreSQL goes through psycopg 3, whatever spelling of the URL the operator used.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import URL, Connection, Engine, create_engine, event, make_url
from sqlalchemy.orm import Session

from gateway.config import get_settings

SQLITE_BUSY_TIMEOUT_MS = 5_000
SQLITE_CACHE_MIB = 64  # per connection; bulk loaders raise it on their own connection (perf ceilings §6a)
# Execution option: the unit of work reads and then writes. On SQLite (WAL) a transaction that began
# by reading cannot start writing once another connection has committed since its first read: SQLite
# refuses at once ("database is locked", without waiting out busy_timeout). Such a unit begins with
# BEGIN IMMEDIATE instead, taking the write lock first (waiting for it as any writer does); readers
# are not held up. PostgreSQL needs nothing of the kind and ignores the option.
WRITES_AFTER_READING = "csgate_writes_after_reading"


def normalise_url(url: str | URL) -> URL:
    """``postgresql://`` and ``postgres://`` mean psycopg 3 here: it is the one driver we ship."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def make_engine(url: str | URL, *, sqlite_cache_mib: int = SQLITE_CACHE_MIB, echo: bool = False) -> Engine:
    """An engine configured for csgate's use of the backend named by ``url``.

    For a SQLite file the parent directory is created, so the default ``sqlite:///var/csgate.db``
    works in a fresh checkout.
    """
    parsed = normalise_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(parsed, pool_pre_ping=True, echo=echo)

    database = parsed.database
    if database and database != ":memory:" and not parsed.query.get("uri"):
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(parsed, echo=echo)
    pragmas = (
        "PRAGMA journal_mode=WAL",
        "PRAGMA synchronous=NORMAL",
        "PRAGMA foreign_keys=ON",
        f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}",
        f"PRAGMA cache_size=-{sqlite_cache_mib * 1024}",  # negative: KiB, not pages
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
        # The sqlite3 module begins a transaction only before INSERT/UPDATE/DELETE, never before
        # SELECT or DDL, which breaks SAVEPOINTs and transactional migrations; switch that off and
        # let "begin" below emit BEGIN (the recipe in SQLAlchemy's SQLite dialect documentation).
        dbapi_connection.isolation_level = None
        for pragma in pragmas:
            dbapi_connection.execute(pragma)

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        immediate = connection.get_execution_options().get(WRITES_AFTER_READING)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


@cache
def default_engine() -> Engine:
    """The process-wide engine for ``Settings.database_url``."""
    return make_engine(get_settings().database_url)


@contextmanager
def session_scope(engine: Engine | None = None, *, writes_after_reading: bool = False) -> Iterator[Session]:
    """One unit of work: commits when the block ends, rolls back if it raises.

    Objects stay usable after the commit (``expire_on_commit=False``) so a caller can return them.
    ``writes_after_reading``: the block reads before its first write, so on SQLite it must hold the
    write lock from its start (see ``WRITES_AFTER_READING``).
    """
    bind = engine or default_engine()
    if writes_after_reading:
        bind = bind.execution_options(**{WRITES_AFTER_READING: True})
    with Session(bind, expire_on_commit=False) as session, session.begin():
        yield session
