"""Fault: disk full during a write. At the partner (a real SFTP server whose writes fail with
ENOSPC): retried, dead-lettered, nothing partial published, delivered once space is back. In our
own data directory (ENOSPC while storing a quarantined file): the run fails cleanly, the file
stays at the partner, nothing half-written remains, and the next run completes the quarantine; the
same when the disk fills while a pulled file is spooled."""

from __future__ import annotations

import errno
import io
import os
from pathlib import Path
from typing import Any

import asyncssh
import pytest
from exchange_kit import (
    FAST,
    SftpWorld,
    fixture,
    load_sftp_partner,
    parsed_records,
    quarantined_bytes,
    sealed_by_partner,
    sftp_runtime,
    world_fixture,
)
from transport_kit import sftp_server

from gateway.db.models import ExchangeStatus, WorkStatus
from gateway.exchanges import blobstore, jobs, outbound, quarantine, service, workqueue
from gateway.exchanges.partners import load_profile
from gateway.exchanges.runtime import Runtime
from gateway.exchanges.scheduler import Scheduler

PAYMENTS = fixture("ded-five-cases.ach")


world = pytest.fixture(scope="module")(world_fixture)


rt = pytest.fixture(sftp_runtime)


class FullDisk(asyncssh.SFTPServer):
    def write(self, file_obj: object, offset: int, data: bytes) -> object:
        raise OSError(errno.ENOSPC, "No space left on device")


def test_partner_disk_full_dead_letters_then_delivers_when_space_returns(
    rt: Runtime, world: SftpWorld, tmp_path: Path
) -> None:
    root = tmp_path / "sdu"
    with sftp_server(root, world.ssh, server_cls=FullDisk) as port:
        load_sftp_partner(rt, world, root, port)
        profile = load_profile(rt.engine, "sdu", key_dir=rt.key_dir, retry=FAST)
        exchange_id = outbound.queue(rt, profile, records=parsed_records("nacha-ded", PAYMENTS))
        result = outbound.send(rt, profile, exchange_id)
    assert result.status is ExchangeStatus.DEAD_LETTER
    assert sorted(p.name for p in (root / "inbox").iterdir()) == []  # no partial upload anywhere

    with sftp_server(root, world.ssh, port=port):  # space freed
        service.requeue_dead(rt, all_dead=True)
        assert outbound.push(rt, profile)[0].status is ExchangeStatus.SENT
    assert len(list((root / "inbox").iterdir())) == 1


def test_our_disk_full_while_quarantining_fails_the_run_and_loses_nothing(
    rt: Runtime, world: SftpWorld, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "sdu"
    bad = sealed_by_partner(world, fixture("invalid-credit-total.ach"))
    real_fsync = os.fsync

    def no_space(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    with sftp_server(root, world.ssh) as port:
        load_sftp_partner(rt, world, root, port)
        profile = load_profile(rt.engine, "sdu", key_dir=rt.key_dir, retry=FAST)
        (root / "outbox" / "payments.p7m").write_bytes(bad)
        scheduler = Scheduler(rt, {"sdu": profile})

        monkeypatch.setattr(blobstore.os, "fsync", no_space)
        workqueue.enqueue(rt.engine, partner_id="sdu", slot="slot-1")
        scheduler.run(workqueue.claim(rt.engine, rt.data_dir, "test"))  # type: ignore[arg-type]
        [failed] = service.list_work(rt)
        assert (failed["status"], failed["error_code"]) == (WorkStatus.FAILED.value, "STORAGE_WRITE_FAILED")
        assert (root / "outbox" / "payments.p7m").exists()  # still at the partner
        assert list((rt.data_dir / "quarantine").iterdir()) == []  # no half-written blob
        assert quarantine.list_quarantine(rt) == []

        monkeypatch.setattr(blobstore.os, "fsync", real_fsync)  # space is back; the next slot runs
        workqueue.enqueue(rt.engine, partner_id="sdu", slot="slot-2")
        scheduler.run(workqueue.claim(rt.engine, rt.data_dir, "test"))  # type: ignore[arg-type]
    [held] = quarantine.list_quarantine(rt)
    assert held.reason_code == "BATCH_CREDIT_TOTAL" and quarantined_bytes(rt, held) == bad
    assert not (root / "outbox" / "payments.p7m").exists()
    rows = service.list_exchanges(rt)
    assert [(r["status"], r["rejected"]) for r in rows] == [("quarantined", 0)]


class _FullDisk(io.BytesIO):
    """A spool file on a disk that has just filled up."""

    def write(self, data: Any) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")


def test_our_disk_full_while_spooling_a_pulled_file_fails_the_run_and_loses_nothing(
    rt: Runtime, world: SftpWorld, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "sdu"
    good = sealed_by_partner(world, PAYMENTS)
    real_spool = jobs.spool_file
    with sftp_server(root, world.ssh) as port:
        load_sftp_partner(rt, world, root, port)
        profile = load_profile(rt.engine, "sdu", key_dir=rt.key_dir, retry=FAST)
        (root / "outbox" / "payments.p7m").write_bytes(good)
        scheduler = Scheduler(rt, {"sdu": profile})

        monkeypatch.setattr(jobs, "spool_file", lambda data_dir: _FullDisk())
        workqueue.enqueue(rt.engine, partner_id="sdu", slot="slot-1")
        scheduler.run(workqueue.claim(rt.engine, rt.data_dir, "test"))  # type: ignore[arg-type]
        [failed] = service.list_work(rt)
        assert (failed["status"], failed["error_code"]) == (WorkStatus.FAILED.value, "STORAGE_WRITE_FAILED")
        assert (root / "outbox" / "payments.p7m").exists()  # still at the partner
        assert service.list_exchanges(rt) == []  # nothing recorded from a file never read whole

        monkeypatch.setattr(jobs, "spool_file", real_spool)  # space is back; the next slot runs
        workqueue.enqueue(rt.engine, partner_id="sdu", slot="slot-2")
        scheduler.run(workqueue.claim(rt.engine, rt.data_dir, "test"))  # type: ignore[arg-type]
    assert [(r["status"], r["records"]) for r in service.list_exchanges(rt)] == [("processed", 9)]
    assert not (root / "outbox" / "payments.p7m").exists()
