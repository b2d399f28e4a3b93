"""Shared fixtures.

- ``sqlite_url``: a fresh SQLite file per test.
- ``pg_url``: a fresh PostgreSQL database per test on the server at 127.0.0.1:5432 (trust auth;
  ``scripts/ensure-postgres.sh`` starts one), dropped afterwards.
- ``db_url``: runs the test once per backend (ids ``sqlite`` and ``postgres``).

Without a PostgreSQL server the postgres tests are skipped on a developer machine but fail when
``CI`` is set, so CI can never pass by silently testing one backend.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

PG_HOST = "127.0.0.1"
PG_PORT = 5432
PG_USERS = ("postgres", "root")  # the Debian superuser, or a root role where one was created


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Any test using ``pg_url`` directly is a postgres test, so ``-m "not postgres"`` leaves it out."""
    for item in items:
        if "pg_url" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.postgres)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """SQLAlchemy URL of an empty SQLite database file in the test's temp dir."""
    return f"sqlite:///{tmp_path / 'csgate.db'}"


@pytest.fixture(scope="session")
def pg_admin() -> str:
    """Conninfo for the server's ``test`` database, as the first user that can connect.

    Session-scoped, so an absent server costs one connection timeout, not one per test.
    """
    errors = []
    for user in PG_USERS:
        conninfo = f"host={PG_HOST} port={PG_PORT} user={user} dbname=test connect_timeout=3"
        try:
            with psycopg.connect(conninfo):
                return conninfo
        except psycopg.OperationalError as exc:
            errors.append(f"as {user}: {' '.join(str(exc).split())}")
    message = (
        f"PostgreSQL does not answer on {PG_HOST}:{PG_PORT} ({'; '.join(errors)}); "
        "run `bash scripts/ensure-postgres.sh` (or `make postgres`)"
    )
    if os.environ.get("CI", "").lower() not in ("", "0", "false"):
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


@pytest.fixture
def pg_url(pg_admin: str) -> Iterator[str]:
    """URL of a new, empty PostgreSQL database, dropped after the test even if still connected."""
    name = f"csgate_test_{secrets.token_hex(6)}"
    user = psycopg.conninfo.conninfo_to_dict(pg_admin)["user"]
    with psycopg.connect(pg_admin, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield f"postgresql+psycopg://{user}@{PG_HOST}:{PG_PORT}/{name}"
    finally:
        with psycopg.connect(pg_admin, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
    ]
)
def db_url(request: pytest.FixtureRequest) -> str:
    """The test runs on each backend; the URL points to an empty database."""
    url: str = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")
    return url
