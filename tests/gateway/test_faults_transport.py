"""Faults on the wire, against a real SFTP server: the partner offline (retried with backoff, then
dead-lettered and alerted; an operator retry delivers exactly one file), an upload the server
truncates (detected, retried, never published half-written), a file truncated at the partner
(quarantined, nothing staged) and a file still being written (left for the next run)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

import asyncssh
import pytest
from exchange_kit import (
    FAST,
    SftpWorld,
    add_partner,
    fixture,
    load_sftp_partner,
    memory_profile,
    parsed_records,
    sealed_by_partner,
    sftp_runtime,
    staged_count,
    world_fixture,
)
from transport_kit import closed_port, sftp_server, write_known_hosts

from gateway.db.models import ExchangeStatus, WorkStatus
from gateway.exchanges import jobs, outbound, service, workqueue
from gateway.exchanges.partners import load_profile
from gateway.exchanges.runtime import Runtime
from gateway.exchanges.scheduler import Scheduler
from gateway.security import envelope
from gateway.transports.memory import MemoryTransport

PAYMENTS = fixture("ded-five-cases.ach")


world = pytest.fixture(scope="module")(world_fixture)


rt = pytest.fixture(sftp_runtime)


def opened_by_partner(world: SftpWorld, data: bytes) -> bytes:
    return envelope.unseal(data, identities=[world.partner], sender=world.ours.certificate)


def visible(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def test_partner_offline_dead_letters_then_operator_retry_delivers_once(
    rt: Runtime, world: SftpWorld, tmp_path: Path
) -> None:
    root, port = tmp_path / "sdu", closed_port()
    write_known_hosts(world.ssh, port)
    load_sftp_partner(rt, world, root, port)
    profile = load_profile(rt.engine, "sdu", key_dir=rt.key_dir, retry=FAST)

    exchange_id = outbound.queue(rt, profile, records=parsed_records("nacha-ded", PAYMENTS))
    result = outbound.send(rt, profile, exchange_id)
    assert result.status is ExchangeStatus.DEAD_LETTER and result.error_code
    [row] = service.list_exchanges(rt, status=ExchangeStatus.DEAD_LETTER)
    assert row["attempts"] == 1 and "after 3 attempts" in row["error_message"]
    assert [a["kind"] for a in service.list_alerts(rt)] == ["dead_letter"]

    with sftp_server(root, world.ssh, port=port):  # the partner is back
        service.requeue_dead(rt, exchange_ids=[exchange_id])
        assert outbound.push(rt, profile)[0].status is ExchangeStatus.SENT
    [name] = visible(root / "inbox")
    assert opened_by_partner(world, (root / "inbox" / name).read_bytes()) == PAYMENTS


def test_partner_offline_during_a_scheduled_pull_dead_letters_the_run(
    rt: Runtime, world: SftpWorld, tmp_path: Path
) -> None:
    port = closed_port()
    write_known_hosts(world.ssh, port)
    load_sftp_partner(rt, world, tmp_path / "sdu", port)
    profile = load_profile(rt.engine, "sdu", key_dir=rt.key_dir, retry=FAST)
    workqueue.enqueue(rt.engine, partner_id="sdu", slot="2026-01-05T06:00:00+00:00")
    claim = workqueue.claim(rt.engine, rt.data_dir, "test")
    assert claim is not None
    Scheduler(rt, {"sdu": profile}).run(claim)
    [item] = service.list_work(rt, status=WorkStatus.DEAD_LETTER)
    assert item["error_code"] and item["partner"] == "sdu"
    assert [a["kind"] for a in service.list_alerts(rt)] == ["dead_letter"]


class TruncatesFirstUpload(asyncssh.SFTPServer):
    """Loses the last byte of the first upload only (a connection cut at the end of a write)."""

    damaged: ClassVar[int] = 0

    def write(self, file_obj: object, offset: int, data: bytes) -> object:
        if TruncatesFirstUpload.damaged == 0:
            TruncatesFirstUpload.damaged = 1
            data = data[:-1]
        return super().write(file_obj, offset, data)


def test_truncated_upload_is_detected_retried_and_never_published_half(
    rt: Runtime, world: SftpWorld, tmp_path: Path
) -> None:
    root = tmp_path / "sdu"
    with sftp_server(root, world.ssh, server_cls=TruncatesFirstUpload) as port:
        load_sftp_partner(rt, world, root, port)
        profile = load_profile(rt.engine, "sdu", key_dir=rt.key_dir, retry=FAST)
        exchange_id = outbound.queue(rt, profile, records=parsed_records("nacha-ded", PAYMENTS))
        assert outbound.send(rt, profile, exchange_id).status is ExchangeStatus.SENT
    assert TruncatesFirstUpload.damaged == 1
    [name] = visible(root / "inbox")  # no temporary or partial file left beside it
    assert opened_by_partner(world, (root / "inbox" / name).read_bytes()) == PAYMENTS


def test_file_truncated_at_the_partner_is_quarantined_with_nothing_staged(
    rt: Runtime, world: SftpWorld, tmp_path: Path
) -> None:
    root = tmp_path / "sdu"
    with sftp_server(root, world.ssh) as port:
        load_sftp_partner(rt, world, root, port)
        cut = fixture("invalid-truncated.ach")  # the partner's upload died, yet the file was published
        (root / "outbox" / "payments.p7m").write_bytes(sealed_by_partner(world, cut))
        report = jobs.JobReport("sdu")
        jobs.pull(rt, load_profile(rt.engine, "sdu", key_dir=rt.key_dir, retry=FAST), report)
    [result] = report.received
    assert (result.status, result.error_code) == (ExchangeStatus.QUARANTINED, "TRUNCATED")
    assert staged_count(rt) == 0
    assert [a["kind"] for a in service.list_alerts(rt)] == ["quarantine"]


def test_file_still_being_written_is_left_for_the_next_run(rt: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    add_partner(rt, "acme")
    profile, store = memory_profile("acme")
    store.folders["outbox"] = {"pay.ach": (PAYMENTS[:500], datetime.now(UTC))}
    real_fetch = MemoryTransport.fetch

    def grows_while_listed(self: MemoryTransport, name: str, dest: Any) -> Any:
        store.folders["outbox"][name] = (PAYMENTS, datetime.now(UTC))  # the writer appended meanwhile
        return real_fetch(self, name, dest)

    monkeypatch.setattr(MemoryTransport, "fetch", grows_while_listed)
    first = jobs.run_partner(rt, profile)
    assert first.received == [] and first.skipped == ["pay.ach"]
    monkeypatch.setattr(MemoryTransport, "fetch", real_fetch)
    second = jobs.run_partner(rt, profile)
    assert [r.status for r in second.received] == [ExchangeStatus.PROCESSED]
