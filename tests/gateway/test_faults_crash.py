"""Fault: the process taking in a file is killed with SIGKILL mid-file (a real subprocess,
``csgate exchange intake``). On restart the file resumes from the last committed chunk: every
record staged exactly once, none lost."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from exchange_kit import ROOT, big_ded_file, load_folder_partner, runtime
from sqlalchemy import func, select

from gateway.db.models import Exchange, ExchangeStatus, StagedRecord
from gateway.db.session import session_scope
from gateway.exchanges import intake
from gateway.exchanges.partners import load_profile
from gateway.exchanges.runtime import Runtime

PAYMENTS = 1500
RECORDS = PAYMENTS + 4  # file header, batch header, batch control, file control
WAIT = 60.0


@pytest.fixture
def rt(sqlite_url: str, tmp_path: Path) -> Iterator[Runtime]:
    """The embedded default; PostgreSQL's mid-file resume is in test_faults_database.py."""
    rt = runtime(sqlite_url, tmp_path)
    load_folder_partner(rt, "acme", tmp_path / "acme")
    yield rt
    rt.engine.dispose()


def intake_command(rt: Runtime, tmp_path: Path, file: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "CSGATE_DATABASE_URL": str(rt.engine.url.render_as_string(hide_password=False)),
        "CSGATE_DATA_DIR": str(tmp_path),
        "CSGATE_KEY_DIR": str(rt.key_dir),
    }
    env.pop("CSGATE_CONFIG", None)
    return subprocess.Popen(
        [sys.executable, "-m", "gateway.cli", "exchange", "intake", "acme", str(file), "--chunk-size", "20", "--json"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def state(rt: Runtime) -> tuple[ExchangeStatus | None, int, int]:
    with session_scope(rt.engine) as session:
        row = session.execute(select(Exchange.status, Exchange.progress)).first()
        staged = int(session.scalar(select(func.count()).select_from(StagedRecord)) or 0)
    return (row[0], row[1], staged) if row else (None, 0, staged)


def test_kill_9_mid_file_resumes_without_loss_or_double(rt: Runtime, tmp_path: Path) -> None:
    file = tmp_path / "payments.ach"
    file.write_bytes(big_ded_file(PAYMENTS))

    victim = intake_command(rt, tmp_path, file)
    deadline = time.monotonic() + WAIT
    while state(rt)[1] == 0:
        assert victim.poll() is None, victim.stderr.read() if victim.stderr else b""
        assert time.monotonic() < deadline, "intake never committed a chunk"
        time.sleep(0.02)
    victim.send_signal(signal.SIGKILL)
    victim.communicate(timeout=10)
    status, progress, staged = state(rt)
    assert status is ExchangeStatus.PROCESSING, "killed too late to test a resume"
    assert 0 < progress < RECORDS and staged == progress  # whole chunks only: records and progress together

    survivor = intake_command(rt, tmp_path, file)
    out, err = survivor.communicate(timeout=WAIT)
    assert survivor.returncode == 0, err.decode()
    assert b'"status":"processed"' in out and b'"duplicate":false' in out
    with session_scope(rt.engine) as session:
        numbers = list(session.scalars(select(StagedRecord.record_no).order_by(StagedRecord.record_no)))
        exchange = session.scalars(select(Exchange)).one()
    assert numbers == list(range(1, RECORDS + 1))
    assert (exchange.status, exchange.progress, exchange.records_good) == (ExchangeStatus.PROCESSED, RECORDS, RECORDS)

    profile = load_profile(rt.engine, "acme", key_dir=rt.key_dir)
    assert intake.receive(rt, profile, name=file.name, raw=file.read_bytes()).duplicate
    assert state(rt)[2] == RECORDS
