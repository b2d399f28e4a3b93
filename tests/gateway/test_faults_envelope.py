"""Faults in the envelope, over a real SFTP server with CMS envelopes: a file encrypted with the
wrong key, signed by the wrong key, or tampered with in transit is quarantined (stored encrypted,
with its digest and reason), alerted, never retried, and nothing of it is staged. An operator
reprocesses it once the cause is fixed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from exchange_kit import (
    FAST,
    SftpWorld,
    fixture,
    load_sftp_partner,
    quarantined_bytes,
    runtime,
    sealed_by_partner,
    staged_count,
    world_fixture,
)
from sqlalchemy import select
from transport_kit import sftp_server

from gateway.db.models import Alert, ExchangeStatus
from gateway.db.session import session_scope
from gateway.exchanges import intake, jobs, quarantine, service
from gateway.exchanges.partners import load_profile
from gateway.exchanges.runtime import Runtime

PAYMENTS = fixture("ded-five-cases.ach")


world = pytest.fixture(scope="module")(world_fixture)


@pytest.fixture
def setup(sqlite_url: str, tmp_path: Path, world: SftpWorld) -> Iterator[tuple[Runtime, Path, int]]:
    rt = runtime(sqlite_url, tmp_path, key_dir=world.key_dir)
    root = tmp_path / "sdu"
    with sftp_server(root, world.ssh) as port:
        load_sftp_partner(rt, world, root, port)
        yield rt, root, port
    rt.engine.dispose()


def pull(rt: Runtime) -> jobs.JobReport:
    report = jobs.JobReport("sdu")
    jobs.pull(rt, load_profile(rt.engine, "sdu", key_dir=rt.key_dir, retry=FAST), report)
    return report


def drop(root: Path, name: str, data: bytes) -> None:
    (root / "outbox" / name).write_bytes(data)


def test_a_good_envelope_is_verified_and_taken_in(setup: tuple[Runtime, Path, int], world: SftpWorld) -> None:
    rt, root, _ = setup
    drop(root, "payments.p7m", sealed_by_partner(world, PAYMENTS))
    [result] = pull(rt).received
    assert result.status is ExchangeStatus.PROCESSED and result.format == "nacha-ded"
    assert staged_count(rt) == result.good > 0
    assert [p.name for p in (root / "outbox" / "done").iterdir()] == ["payments.p7m"]


def test_wrong_key_quarantines_alerts_and_is_never_retried(setup: tuple[Runtime, Path, int], world: SftpWorld) -> None:
    rt, root, _ = setup
    sealed = sealed_by_partner(world, PAYMENTS, recipient=world.stranger.certificate)  # not for us
    drop(root, "payments.p7m", sealed)
    [result] = pull(rt).received
    assert (result.status, result.error_code) == (ExchangeStatus.QUARANTINED, "DECRYPT_FAILED")
    assert staged_count(rt) == 0
    with session_scope(rt.engine) as session:
        assert [(a.kind, a.exchange_id) for a in session.scalars(select(Alert))] == [("envelope", result.exchange_id)]
    [held] = quarantine.list_quarantine(rt)
    assert held.sha256 == result.sha256 and quarantined_bytes(rt, held) == sealed
    # not retried: the file left the partner's outbox, and the same bytes again are a duplicate
    assert pull(rt).received == []
    drop(root, "again.p7m", sealed)
    assert pull(rt).received[0].duplicate
    assert service.list_exchanges(rt, status=ExchangeStatus.DEAD_LETTER) == []


def test_unknown_signer_is_quarantined_and_reprocessed_after_the_certificate_changes(
    setup: tuple[Runtime, Path, int], world: SftpWorld
) -> None:
    rt, root, port = setup
    drop(root, "payments.p7m", sealed_by_partner(world, PAYMENTS, signer=world.stranger))
    [result] = pull(rt).received
    assert (result.status, result.error_code) == (ExchangeStatus.QUARANTINED, "BAD_SIGNATURE")
    [held] = quarantine.list_quarantine(rt)

    # The partner had rotated its signing certificate: the operator loads the new one and reprocesses.
    load_sftp_partner(rt, world, root, port, certificate=world.stranger_cert)
    profile = load_profile(rt.engine, "sdu", key_dir=rt.key_dir)
    again = intake.reprocess(rt, profile, held.id)
    assert again.exchange_id == result.exchange_id and again.status is ExchangeStatus.PROCESSED
    assert staged_count(rt) == again.good > 0 and quarantine.list_quarantine(rt) == []


def test_tampered_file_is_quarantined_and_stays_so(setup: tuple[Runtime, Path, int], world: SftpWorld) -> None:
    rt, root, _ = setup
    sealed = bytearray(sealed_by_partner(world, PAYMENTS))
    sealed[len(sealed) // 2] ^= 0x01  # one bit flipped in transit
    drop(root, "payments.p7m", bytes(sealed))
    [result] = pull(rt).received
    # where the flip lands decides which check fails first; each one is an envelope failure
    assert result.status is ExchangeStatus.QUARANTINED
    assert result.error_code in ("DECRYPT_FAILED", "MALFORMED", "CONTENT_ALTERED", "BAD_SIGNATURE")
    [held] = quarantine.list_quarantine(rt)
    profile = load_profile(rt.engine, "sdu", key_dir=rt.key_dir)
    assert intake.reprocess(rt, profile, held.id).status is ExchangeStatus.QUARANTINED
    assert staged_count(rt) == 0
    # the partner sends the file again, intact: a new envelope, a new exchange, taken in
    drop(root, "payments-resent.p7m", sealed_by_partner(world, PAYMENTS))
    assert pull(rt).received[0].status is ExchangeStatus.PROCESSED
