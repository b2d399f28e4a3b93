"""Fault: the database goes away mid-file. On the real PostgreSQL every backend of the database is
terminated (``pg_terminate_backend``, what a restart does to clients) inside a chunk's transaction;
intake reconnects and resumes from the last committed chunk — nothing lost, nothing twice."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from exchange_kit import add_partner, big_ded_file, memory_profile, runtime
from sqlalchemy import Connection, select
from sqlalchemy.engine import make_url

from gateway.db.models import Exchange, ExchangeStatus, StagedRecord
from gateway.db.session import session_scope
from gateway.exchanges import intake, staging
from gateway.exchanges.runtime import Runtime

PAYMENTS = 300
RECORDS = PAYMENTS + 4


@pytest.fixture
def rt(pg_url: str, tmp_path: Path) -> Iterator[Runtime]:
    rt = runtime(pg_url, tmp_path, chunk_size=25)
    add_partner(rt, "acme")
    yield rt
    rt.engine.dispose()


def terminate_all_backends(pg_url: str) -> int:
    url = make_url(pg_url)
    conninfo = f"host={url.host} port={url.port} user={url.username} dbname={url.database}"
    with psycopg.connect(conninfo, autocommit=True) as admin:
        rows = admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            (url.database,),
        ).fetchall()
    return len(rows)


def test_database_restart_mid_file_resumes_without_loss_or_double(
    rt: Runtime, pg_url: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    profile, _ = memory_profile("acme")
    real_insert = staging.insert_staged
    chunks = {"n": 0, "terminated": 0}

    def insert_then_restart(conn: Connection, rows: list[staging.StagedRow]) -> int:
        inserted = real_insert(conn, rows)
        chunks["n"] += 1
        if chunks["n"] == 4:  # the fourth chunk is written but not committed when the server goes
            chunks["terminated"] = terminate_all_backends(pg_url)
        return inserted

    monkeypatch.setattr(staging, "insert_staged", insert_then_restart)
    with caplog.at_level(logging.WARNING, logger="gateway.exchanges.intake"):
        result = intake.receive(rt, profile, name="pay.ach", raw=big_ded_file(PAYMENTS))

    assert chunks["terminated"] >= 1
    assert any("resuming from committed progress" in r.getMessage() for r in caplog.records)
    assert result.status is ExchangeStatus.PROCESSED and result.good == RECORDS
    with session_scope(rt.engine) as session:
        numbers = list(session.scalars(select(StagedRecord.record_no).order_by(StagedRecord.record_no)))
        exchange = session.scalars(select(Exchange)).one()
    assert numbers == list(range(1, RECORDS + 1))  # the lost chunk was written again, once
    assert (exchange.progress, exchange.records_good, exchange.records_duplicate) == (RECORDS, RECORDS, 0)


def test_database_gone_for_good_leaves_a_resumable_exchange(
    rt: Runtime, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    profile, _ = memory_profile("acme")
    real_insert = staging.insert_staged
    chunks = {"n": 0}

    def always_restarting(conn: Connection, rows: list[staging.StagedRow]) -> int:
        inserted = real_insert(conn, rows)
        chunks["n"] += 1
        if chunks["n"] >= 3:
            terminate_all_backends(pg_url)
        return inserted

    monkeypatch.setattr(staging, "insert_staged", always_restarting)
    monkeypatch.setattr(intake.time, "sleep", lambda _: None)
    with pytest.raises(Exception, match="terminat"):
        intake.receive(rt, profile, name="pay.ach", raw=big_ded_file(PAYMENTS))
    with session_scope(rt.engine) as session:
        exchange = session.scalars(select(Exchange)).one()
    assert exchange.status is ExchangeStatus.PROCESSING and exchange.progress == 50  # two chunks committed

    monkeypatch.setattr(staging, "insert_staged", real_insert)
    result = intake.receive(rt, profile, name="pay.ach", raw=big_ded_file(PAYMENTS))
    assert result.status is ExchangeStatus.PROCESSED and not result.duplicate and result.good == RECORDS
