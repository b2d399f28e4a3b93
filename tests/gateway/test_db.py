"""Storage foundation on both backends: migrations match the models, constraints hold, personal
data is stored only as ciphertext. All values are synthetic."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, select, text
from sqlalchemy.exc import IntegrityError, StatementError

from gateway.config import Settings
from gateway.db import migrate
from gateway.db.models import (
    Base,
    Case,
    Exchange,
    ExchangeDirection,
    ExchangeStatus,
    Partner,
    Person,
    StagedRecord,
)
from gateway.db.session import make_engine, normalise_url, session_scope
from gateway.security.fieldcrypt import BlindIndex, FieldCipher

TABLES = {
    "partners",
    "exchanges",
    "staged_records",
    "rejects",
    "quarantine",
    "cases",
    "persons",
    "addresses",
    "audit_entries",
    "audit_checkpoints",
    "work_items",
    "alerts",
    "iwo_notices",
    "ack_expectations",
    "counters",
    "console_signouts",
}
SHA = "ab" * 32


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """An engine on a database migrated to head."""
    migrate.upgrade(db_url)
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


def _schema_diff(engine: Engine) -> list[object]:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_server_default": True})
        return list(compare_metadata(context, Base.metadata))


def _tables(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names())


def test_upgrade_from_empty_creates_every_table(db_url: str) -> None:
    assert migrate.current(db_url) is None
    migrate.upgrade(db_url)
    assert migrate.current(db_url) == migrate.head() == "0007"
    engine = make_engine(db_url)
    try:
        assert _tables(engine) == TABLES | {"alembic_version"}
    finally:
        engine.dispose()


def test_migrations_match_models(engine: Engine) -> None:
    assert _schema_diff(engine) == []


def test_downgrade_and_upgrade_again(db_url: str, engine: Engine) -> None:
    migrate.upgrade(db_url)  # already at head: nothing to do, no error
    migrate.downgrade(db_url, "base")
    assert migrate.current(db_url) is None
    assert _tables(engine) == {"alembic_version"}
    migrate.upgrade(db_url)
    assert migrate.current(db_url) == migrate.head()
    assert _schema_diff(engine) == []


def test_a_failing_migration_leaves_the_database_untouched(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    real_upgrade = migrate.command.upgrade

    def upgrade_then_fail(config: Config, revision: str) -> None:
        real_upgrade(config, revision)
        raise RuntimeError("simulated failure after the last migration step")

    monkeypatch.setattr(migrate.command, "upgrade", upgrade_then_fail)
    with pytest.raises(RuntimeError, match="simulated failure"):
        migrate.upgrade(db_url)
    assert migrate.current(db_url) is None
    engine = make_engine(db_url)
    try:
        assert _tables(engine) == set()
    finally:
        engine.dispose()


def _exchange(partner_id: str, direction: ExchangeDirection, sha256: str = SHA) -> Exchange:
    return Exchange(
        partner_id=partner_id,
        direction=direction,
        format="nacha-ded",
        filename="f.ach",
        sha256=sha256,
        size=10,
    )


def test_same_file_twice_from_a_partner_is_refused(engine: Engine) -> None:
    with session_scope(engine) as session:
        session.add_all(
            [
                Partner(id="acme", kind="employer", name="Acme"),
                Partner(id="globex", kind="employer", name="G"),
            ]
        )
        session.flush()
        session.add_all(
            [
                _exchange("acme", ExchangeDirection.INBOUND),
                _exchange("acme", ExchangeDirection.OUTBOUND),  # same digest, other direction: allowed
                _exchange("globex", ExchangeDirection.INBOUND),  # same digest, other partner: allowed
            ]
        )
    with pytest.raises(IntegrityError), session_scope(engine) as session:
        session.add(_exchange("acme", ExchangeDirection.INBOUND))
    with session_scope(engine) as session:
        first = session.scalars(select(Exchange).order_by(Exchange.id)).first()
        assert first is not None
        assert first.status is ExchangeStatus.RECEIVED
        assert first.records_good == first.records_rejected == first.progress == 0
        assert first.created_at.tzinfo is not None
        assert first.created_at.utcoffset() == UTC.utcoffset(None)


def test_staged_record_numbers_are_unique_per_exchange(engine: Engine) -> None:
    with session_scope(engine) as session:
        session.add(Partner(id="acme", kind="employer", name="Acme"))
        session.flush()  # no relationship() between the models, so the ORM does not order inserts
        exchange = _exchange("acme", ExchangeDirection.INBOUND)
        session.add(exchange)
        session.flush()
        session.add(StagedRecord(exchange_id=exchange.id, record_no=1, type="entry", data=b"x", key_id=1))
    with pytest.raises(IntegrityError), session_scope(engine) as session:
        session.add(StagedRecord(exchange_id=exchange.id, record_no=1, type="entry", data=b"y", key_id=1))


def test_foreign_keys_are_enforced(engine: Engine) -> None:
    with pytest.raises(IntegrityError), session_scope(engine) as session:
        session.add(_exchange("no-such-partner", ExchangeDirection.INBOUND))


def test_naive_datetimes_are_refused(engine: Engine) -> None:
    with session_scope(engine) as session:
        session.add(Partner(id="acme", kind="employer", name="Acme"))
    with pytest.raises(StatementError, match="naive datetime"), session_scope(engine) as session:
        exchange = _exchange("acme", ExchangeDirection.INBOUND)
        exchange.started_at = datetime(2026, 1, 2, 3, 4, 5)  # naive on purpose
        session.add(exchange)


def test_personal_data_is_stored_encrypted_and_found_by_blind_index(engine: Engine) -> None:
    cipher = FieldCipher({1: bytes(range(32))}, current=1)
    bidx = BlindIndex(bytes(range(32, 64)))
    with session_scope(engine) as session:
        case = Case(state_case_id="TST0000001", fips="0600000", case_type="IV-D")
        session.add(case)
        session.flush()
        session.add(
            Person(
                case_id=case.id,
                role="NCP",
                ssn_enc=cipher.encrypt_str("900-12-3456", "persons.ssn_enc"),
                ssn_bidx=bidx.ssn("900-12-3456"),
                last_name_enc=cipher.encrypt_str("TESTPERSON", "persons.last_name_enc"),
                key_id=cipher.current_key_id,
            )
        )

    with session_scope(engine) as session:
        person = session.scalars(select(Person).where(Person.ssn_bidx == bidx.ssn("900123456"))).one()
        assert person.ssn_enc is not None and person.last_name_enc is not None
        assert cipher.decrypt_str(person.ssn_enc, "persons.ssn_enc") == "900-12-3456"
        assert cipher.decrypt_str(person.last_name_enc, "persons.last_name_enc") == "TESTPERSON"
        assert person.fvi is False

    with engine.connect() as connection:
        raw = connection.execute(text("SELECT ssn_enc, last_name_enc FROM persons")).one()
    stored = b"".join(bytes(column) for column in raw)
    for clear in (b"900-12-3456", b"900123456", b"TESTPERSON"):
        assert clear not in stored


def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path: Path) -> None:
    db_file = tmp_path / "nested" / "dir" / "csgate.db"  # parent dirs are created on use
    engine = make_engine(f"sqlite:///{db_file}")
    try:
        with engine.connect() as connection:
            pragma = {
                name: connection.exec_driver_sql(f"PRAGMA {name}").scalar()
                for name in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")
            }
    finally:
        engine.dispose()
    assert db_file.exists()
    assert pragma == {"journal_mode": "wal", "synchronous": 1, "foreign_keys": 1, "busy_timeout": 5000}


def test_a_unit_that_writes_after_reading_holds_the_sqlite_write_lock_from_its_start(tmp_path: Path) -> None:
    """A deferred transaction that has read cannot write once another connection committed since:
    SQLite refuses at once. ``writes_after_reading`` takes the write lock first, so it never is."""
    import sqlite3

    db_file = tmp_path / "csgate.db"
    engine = make_engine(f"sqlite:///{db_file}")
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE t (x INTEGER)")

    def read_let_another_write_then_write(writes_after_reading: bool) -> str:
        with session_scope(engine, writes_after_reading=writes_after_reading) as session:
            session.execute(text("SELECT count(*) FROM t")).scalar()
            other = sqlite3.connect(db_file, timeout=0.05)
            try:
                other.execute("INSERT INTO t VALUES (1)")
                other.commit()
                outcome = "other wrote"
            except sqlite3.OperationalError:
                outcome = "other waited"
            finally:
                other.close()
            session.execute(text("INSERT INTO t VALUES (2)"))
        return outcome

    try:
        assert read_let_another_write_then_write(True) == "other waited"
        with pytest.raises(StatementError, match="database is locked"):
            read_let_another_write_then_write(False)  # the deferred default: what the option avoids
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://u@db.example/csgate",
        "postgres://u@db.example/csgate",
        "postgresql+psycopg://u@db.example/csgate",
    ],
)
def test_postgres_urls_use_psycopg3(url: str) -> None:
    assert normalise_url(url).drivername == "postgresql+psycopg"


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No CSGATE_* variables from the developer's shell leak into settings tests."""
    for name in [n for n in os.environ if n.startswith("CSGATE_")]:
        monkeypatch.delenv(name)
    return monkeypatch


def test_settings_paths_follow_data_dir(tmp_path: Path, clean_env: pytest.MonkeyPatch) -> None:
    defaults = Settings()
    assert (defaults.data_dir, defaults.key_dir, defaults.database_url) == (
        Path("var"),
        Path("var/keys"),
        "sqlite:///var/csgate.db",
    )
    moved = Settings(data_dir=tmp_path)
    assert moved.key_dir == tmp_path / "keys"
    assert moved.database_url == f"sqlite:///{tmp_path}/csgate.db"


def test_settings_read_toml_file_and_env_wins(tmp_path: Path, clean_env: pytest.MonkeyPatch) -> None:
    monkeypatch = clean_env
    config = tmp_path / "csgate.toml"
    config.write_text('database_url = "postgresql://u@db.example/csgate"\nlog_level = "debug"\n')
    monkeypatch.setenv("CSGATE_CONFIG", str(config))
    monkeypatch.setenv("CSGATE_LOG_LEVEL", "warning")
    settings = Settings()
    assert settings.database_url == "postgresql://u@db.example/csgate"
    assert settings.log_level == "WARNING"

    config.write_text('key_dri = "/typo"\n')
    with pytest.raises(ValueError, match="key_dri"):
        Settings()
    monkeypatch.setenv("CSGATE_CONFIG", str(tmp_path / "missing.toml"))
    with pytest.raises(FileNotFoundError):
        Settings()
