"""Run the Alembic migrations without an ini file (``csgate db upgrade`` calls ``upgrade``).

Each command runs in one transaction on one connection from ``make_engine``: on PostgreSQL and on
SQLite (whose DDL is transactional too) a failing migration leaves the schema as it was.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import cast

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text

from gateway.db.session import make_engine

MIGRATIONS_DIR = Path(__file__).resolve().with_name("migrations")


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database at ``url`` up to ``revision`` (default: the newest)."""
    _run(url, lambda config: command.upgrade(config, revision))


def downgrade(url: str, revision: str) -> None:
    """Take the database at ``url`` down to ``revision`` (``"base"`` drops every table)."""
    _run(url, lambda config: command.downgrade(config, revision))


def current(url: str) -> str | None:
    """The revision the database at ``url`` is at, or None when it was never migrated."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


def head() -> str | None:
    """The newest revision shipped with this code; ``current(url) == head()`` means up to date."""
    return ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()


def _run(url: str, action: Callable[[Config], None]) -> None:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            sqlite = connection.dialect.name == "sqlite"
            if sqlite:
                # A batch migration rebuilds a table by DROP + rename; with foreign keys on, the DROP
                # would cascade into child rows. The pragma is ignored inside a transaction, so it
                # goes straight to the driver before BEGIN, and integrity is checked before COMMIT.
                cast(sqlite3.Connection, connection.connection.driver_connection).execute("PRAGMA foreign_keys=OFF")
            with connection.begin():
                action(_config(connection))
                if sqlite and connection.execute(text("PRAGMA foreign_key_check")).first() is not None:
                    raise RuntimeError("migration left rows violating foreign keys; rolled back")
    finally:
        engine.dispose()  # the pooled connection had foreign keys off; never reuse it


def _config(connection: Connection) -> Config:
    config = Config()
    # Config values go through configparser interpolation, where "%" is special.
    config.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    config.attributes["connection"] = connection
    return config
