"""Retention: a partner's ``retention_days`` destroys the records and stored files of its old
exchanges, keeps their log rows, leaves exchanges in flight and files others need, and is audited.
Synthetic NACHA DED fixtures only, memory transport."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from exchange_kit import (
    FAST,
    add_partner,
    cli_settings,
    fixture,
    load_folder_partner,
    memory_profile,
    parsed_records,
    quarantined_bytes,
    runtime,
    staged_count,
)
from sqlalchemy import func, select, update
from typer.testing import CliRunner

from gateway.db.models import AuditEntry, Exchange, ExchangeStatus, Partner, Quarantine, Reject
from gateway.db.session import session_scope
from gateway.errors import RetriableTransportError
from gateway.exchanges import intake, outbound, quarantine, retention, service
from gateway.exchanges.runtime import Runtime
from gateway.exchanges.scheduler import Scheduler

LATER = datetime.now(UTC) + timedelta(days=31)  # past a 30-day retention for everything made now


@pytest.fixture
def rt(db_url: str, tmp_path: Path) -> Iterator[Runtime]:
    rt = runtime(db_url, tmp_path)
    add_partner(rt, "acme")
    add_partner(rt, "beta")
    yield rt
    rt.engine.dispose()


def _exchange(rt: Runtime, exchange_id: int) -> Exchange:
    with session_scope(rt.engine) as session:
        return session.get_one(Exchange, exchange_id)


def _count(rt: Runtime, table: type[Any], exchange_id: int) -> int:
    with session_scope(rt.engine) as session:
        return int(session.scalar(select(func.count()).select_from(table).where(table.exchange_id == exchange_id)) or 0)


def _audit(rt: Runtime, action: str) -> list[AuditEntry]:
    with session_scope(rt.engine) as session:
        return list(session.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq)))


def test_old_exchanges_lose_their_contents_and_keep_their_log_rows(rt: Runtime) -> None:
    profile, _ = memory_profile("acme", outbound="nacha-ded")
    good = intake.receive(rt, profile, name="pay.ach", raw=fixture("ded-five-cases.ach"))
    partial = intake.receive(rt, profile, name="x.ach", raw=fixture("invalid-check-digit.ach"))
    held = intake.receive(rt, profile, name="bad.ach", raw=fixture("invalid-credit-total.ach"))
    sent = outbound.queue(rt, profile, records=parsed_records("nacha-ded", fixture("ded-five-cases.ach")))
    assert outbound.send(rt, profile, sent).status is ExchangeStatus.SENT
    waiting = outbound.queue(rt, profile, records=parsed_records("nacha-ded", fixture("ded-single-payment.ach")))
    assert staged_count(rt, good.exchange_id) > 0 and _count(rt, Reject, partial.exchange_id) == 1
    quarantined_file = rt.data_dir / "quarantine" / f"{held.sha256}.bin"
    sent_file, waiting_file = (rt.data_dir / "outbound" / f"{_exchange(rt, i).sha256}.bin" for i in (sent, waiting))
    assert quarantined_file.is_file() and sent_file.is_file() and waiting_file.is_file()

    assert retention.purge(rt, policies={"acme": 30}).exchanges == 0  # nothing is 30 days old yet
    report = retention.purge(rt, policies={"acme": 30}, now=LATER)

    [acme] = report.partners
    assert acme.exchanges == 4 and acme.rejects == 1 and acme.quarantine_entries == 1
    assert acme.staged_records == good.good + partial.good
    assert report.files == 2  # the quarantined file and the sent payload; the queued one is still needed
    for exchange_id in (good.exchange_id, partial.exchange_id, held.exchange_id, sent):
        row = _exchange(rt, exchange_id)
        assert row.purged_at is not None and row.payload_path is None and len(row.sha256) == 64
        assert staged_count(rt, exchange_id) == _count(rt, Reject, exchange_id) == 0
    assert _count(rt, Quarantine, held.exchange_id) == 0 and quarantine.list_quarantine(rt) == []
    assert not quarantined_file.exists() and not sent_file.exists()
    queued = _exchange(rt, waiting)  # in flight: untouched whatever its age
    assert queued.purged_at is None and queued.status is ExchangeStatus.QUEUED and waiting_file.is_file()
    assert service.exchange_detail(rt, sent)["purged_at"] is not None  # type: ignore[index]

    [entry] = _audit(rt, "exchange.purged")
    assert entry.subject == "partner:acme" and sorted(entry.detail["exchange_ids"]) == sorted(
        [good.exchange_id, partial.exchange_id, held.exchange_id, sent]
    )
    assert entry.detail["staged_records"] == acme.staged_records and entry.detail["retention_days"] == 30
    [files] = _audit(rt, "stored_files.deleted")
    assert sorted(files.detail["files"]) == sorted([f"quarantine/{held.sha256}.bin", f"outbound/{sent_file.name}"])

    again = retention.purge(rt, policies={"acme": 30}, now=LATER)
    assert again.exchanges == 0 and again.files == 0  # idempotent
    # the digest is kept: the same file sent again is still known, and not staged a second time
    assert intake.receive(rt, profile, name="pay-again.ach", raw=fixture("ded-five-cases.ach")).duplicate


def test_a_dry_run_counts_what_a_run_then_does_and_changes_nothing(rt: Runtime) -> None:
    profile, _ = memory_profile("acme")
    good = intake.receive(rt, profile, name="pay.ach", raw=fixture("ded-five-cases.ach"))
    intake.receive(rt, profile, name="bad.ach", raw=fixture("invalid-credit-total.ach"))
    before = staged_count(rt)

    dry = retention.purge(rt, policies={"acme": 30}, now=LATER, dry_run=True)
    assert dry.dry_run and dry.files == 1 and staged_count(rt) == before
    assert _exchange(rt, good.exchange_id).purged_at is None and len(quarantine.list_quarantine(rt)) == 1
    assert _audit(rt, "exchange.purged") == []

    real = retention.purge(rt, policies={"acme": 30}, now=LATER)
    assert [p.as_dict() for p in real.partners] == [p.as_dict() for p in dry.partners] and real.files == dry.files


def test_each_partner_is_held_to_its_own_retention_and_a_shared_file_stays_while_needed(rt: Runtime) -> None:
    acme, _ = memory_profile("acme")
    beta, _ = memory_profile("beta")
    raw = fixture("invalid-credit-total.ach")  # the same damaged file reaches us from both partners
    from_acme = intake.receive(rt, acme, name="bad.ach", raw=raw)
    from_beta = intake.receive(rt, beta, name="bad.ach", raw=raw)
    assert from_acme.sha256 == from_beta.sha256
    stored = rt.data_dir / "quarantine" / f"{from_acme.sha256}.bin"

    report = retention.purge(rt, policies={"acme": 30, "beta": 3650}, now=LATER)
    assert [(p.partner_id, p.exchanges) for p in report.partners] == [("acme", 1), ("beta", 0)]
    assert report.files == 0 and stored.is_file()  # beta's quarantine entry still needs it
    [view] = quarantine.list_quarantine(rt)
    assert view.partner_id == "beta" and quarantined_bytes(rt, view) == raw

    only_beta = retention.purge(rt, policies={"acme": 30, "beta": 30}, partner="beta", now=LATER)
    assert [p.partner_id for p in only_beta.partners] == ["beta"] and only_beta.files == 1
    assert not stored.exists()


def test_a_purged_dead_letter_cannot_be_retried_and_its_alert_closes(rt: Runtime) -> None:
    profile, store = memory_profile("acme", outbound="nacha-ded", inbound=())
    exchange_id = outbound.queue(rt, profile, records=parsed_records("nacha-ded", fixture("ded-five-cases.ach")))
    store.fail_next(FAST.attempts, RetriableTransportError("partner down", code="CONNECTION_REFUSED"))
    assert outbound.send(rt, profile, exchange_id).status is ExchangeStatus.DEAD_LETTER
    assert [a["kind"] for a in service.list_alerts(rt)] == ["dead_letter"]

    assert retention.purge(rt, policies={"acme": 30}, now=LATER).exchanges == 1
    assert service.list_alerts(rt) == []
    assert service.requeue_dead(rt, all_dead=True).exchanges == []
    with pytest.raises(outbound.NotRetryable, match="purged"):
        outbound.requeue(rt, exchange_id)


def test_retention_comes_from_the_partners_file_and_outlives_a_removed_partner(sqlite_url: str, tmp_path: Path) -> None:
    rt = runtime(sqlite_url, tmp_path)
    load_folder_partner(rt, "folder", tmp_path / "folder")  # retention_days = 30
    add_partner(rt, "no-policy")  # a row without a retention: never purged
    with session_scope(rt.engine) as session:
        assert retention.retention_policies(session) == {"folder": 30}
        row = session.get_one(Partner, "folder")
        row.config = {**row.config, "enabled": False}  # gone from the partners file
    profile, _ = memory_profile("folder")
    intake.receive(rt, profile, name="pay.ach", raw=fixture("ded-five-cases.ach"))
    assert retention.purge(rt, now=LATER).exchanges == 1
    rt.engine.dispose()


def test_age_counts_from_when_the_exchange_was_recorded(rt: Runtime) -> None:
    profile, _ = memory_profile("acme")
    old = intake.receive(rt, profile, name="old.ach", raw=fixture("ded-five-cases.ach"))
    new = intake.receive(rt, profile, name="new.ach", raw=fixture("ded-single-payment.ach"))
    now = datetime.now(UTC)
    with session_scope(rt.engine) as session:
        session.execute(
            update(Exchange).where(Exchange.id == old.exchange_id).values(created_at=now - timedelta(days=31))
        )
    assert retention.purge(rt, policies={"acme": 30}, now=now).exchanges == 1
    assert _exchange(rt, old.exchange_id).purged_at is not None and _exchange(rt, new.exchange_id).purged_at is None


def test_the_scheduler_applies_retention_once_per_interval(rt: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    runs: list[Runtime] = []
    monkeypatch.setattr(retention, "purge", lambda rt, **kw: runs.append(rt))
    scheduler = Scheduler(rt, {}, retention_interval=3600)
    scheduler.housekeeping()
    scheduler.housekeeping()
    assert len(runs) == 1 and runs[0].actor == "scheduler"


def test_the_cli_previews_and_applies_retention(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gateway.cli import app

    rt = runtime(sqlite_url, tmp_path, key_dir=tmp_path / "data" / "keys")
    load_folder_partner(rt, "folder", tmp_path / "folder")
    profile, _ = memory_profile("folder")
    result = intake.receive(rt, profile, name="pay.ach", raw=fixture("ded-five-cases.ach"))
    with session_scope(rt.engine) as session:  # 31 days old
        session.execute(
            update(Exchange)
            .where(Exchange.id == result.exchange_id)
            .values(created_at=datetime.now(UTC) - timedelta(days=31))
        )
    try:
        with cli_settings(monkeypatch, tmp_path / "data", sqlite_url):
            runner = CliRunner()
            preview = runner.invoke(app, ["exchange", "purge", "--dry-run", "--json"])
            assert preview.exit_code == 0, preview.output
            assert '"exchanges":1' in preview.stdout and _exchange(rt, result.exchange_id).purged_at is None
            done = runner.invoke(app, ["exchange", "purge", "--partner", "folder", "--json"])
            assert done.exit_code == 0 and '"exchanges":1' in done.stdout
            assert _exchange(rt, result.exchange_id).purged_at is not None
            unknown = runner.invoke(app, ["exchange", "purge", "--partner", "nobody"])
            assert unknown.exit_code == 2
    finally:
        rt.engine.dispose()
