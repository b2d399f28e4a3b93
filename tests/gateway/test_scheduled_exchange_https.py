"""Issue 7 end to end, in process: two partners declared in one partners file and fired by the real
scheduler on a six-field cron. ``sdu`` is reached over SFTP (asyncssh on 127.0.0.1), ``hub`` over
HTTPS with mutual TLS (the reference server on 127.0.0.1); both use CMS envelopes both ways.

The SDU's sealed payments file is pulled, verified, decrypted and staged exactly once; the staged
payments are forwarded to the hub (rendered, signed, encrypted, uploaded on its slot); the hub's
signed receipt is pulled over HTTPS and matched, so the outbound exchange becomes acknowledged.
Every step is in the exchange log and the audit log verifies against a signed checkpoint."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from exchange_kit import (
    SftpWorld,
    ded_entries,
    fixture,
    sealed_by_partner,
    sftp_partner_toml,
    sftp_runtime,
    staged_count,
    staged_records,
    world_fixture,
)
from sqlalchemy import select
from transport_kit import TlsPki, https_server, make_tls_pki, sftp_server

from gateway.audit import log as audit
from gateway.audit.signing import CheckpointSigner
from gateway.db.models import AuditEntry, ExchangeDirection, WorkStatus
from gateway.db.session import session_scope
from gateway.demo import SduDesk
from gateway.exchanges import outbound, service
from gateway.exchanges.partners import load_profiles
from gateway.exchanges.runtime import Runtime
from gateway.exchanges.scheduler import Scheduler
from gateway.partners.registry import load_partners
from gateway.security.envelope import IdentityStore

CRON = "* * * * * *"  # every second (seconds first)
WAIT = 15.0  # seconds: every wait is bounded
PAYMENTS = "ded-five-cases.ach"
INBOUND, OUTBOUND = ExchangeDirection.INBOUND, ExchangeDirection.OUTBOUND

HTTPS_PARTNER = """
[[partner]]
id = "hub"
name = "State payment hub"
kind = "state"
retention_days = 30
schedule = "{cron}"

[partner.formats]
inbound = ["receipt"]
outbound = ["nacha-ded"]

[partner.transport]
url = "{url}"
credential = "hub-https"
trust = "{ca}"
inbound_dir = "outbox"
outbound_dir = "inbox"
done_dir = "done"

[partner.keys]
envelope = true
certificate = "{certificate}"

[partner.ack]
format = "receipt"
deadline_hours = 4
"""

world = pytest.fixture(scope="module")(world_fixture)
rt = pytest.fixture(sftp_runtime)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> TlsPki:
    return make_tls_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> IdentityStore:
    """The hub's own envelope identity (its certificate is pinned in the partners file)."""
    store = IdentityStore(tmp_path_factory.mktemp("hub-keys"))
    store.ensure("state payment hub")
    return store


def wait_for(what: str, condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {WAIT:.0f}s")
        time.sleep(0.1)


def rows(rt: Runtime, partner: str, direction: ExchangeDirection, status: str | None = None) -> list[dict[str, Any]]:
    found = service.list_exchanges(rt, partner=partner, direction=direction)
    return [r for r in found if status is None or r["status"] == status]


def done_runs(rt: Runtime) -> int:
    return len(service.list_work(rt, status=WorkStatus.DONE, limit=1000))


def actions(rt: Runtime, exchange_id: int) -> list[str]:
    with session_scope(rt.engine) as session:
        stmt = select(AuditEntry.action).where(AuditEntry.subject == f"exchange:{exchange_id}")
        return list(session.scalars(stmt.order_by(AuditEntry.seq)))


def test_two_partners_exchange_on_schedule_over_sftp_and_https(
    rt: Runtime, world: SftpWorld, pki: TlsPki, hub: IdentityStore, tmp_path: Path
) -> None:
    for suffix, source in ((".key", pki.client_key), (".crt", pki.client_cert)):
        shutil.copy(source, rt.key_dir / f"hub-https{suffix}")
    (rt.key_dir / "hub-https.key").chmod(0o600)
    signer = CheckpointSigner.load(rt.key_dir, create=True)
    sdu_root, hub_root = tmp_path / "sdu", tmp_path / "hub"
    payments = sealed_by_partner(world, fixture(PAYMENTS))

    with (
        sftp_server(sdu_root, world.ssh) as port,
        https_server(hub_root, pki, folders=("outbox", "inbox"), timeout=5) as server,
    ):
        partners = tmp_path / "partners.toml"
        hub_block = HTTPS_PARTNER.format(
            cron=CRON, url=server.url, ca=pki.ca, certificate=hub.root / "00001" / "cert.pem"
        )
        partners.write_text(sftp_partner_toml(world, sdu_root, port, schedule=CRON) + hub_block)
        with session_scope(rt.engine) as session:
            assert sorted(load_partners(session, partners, key_dir=rt.key_dir).added) == ["hub", "sdu"]
        (sdu_root / "outbox" / ".payments.ach.p7m.part").write_bytes(payments)
        (sdu_root / "outbox" / ".payments.ach.p7m.part").rename(sdu_root / "outbox" / "payments.ach.p7m")

        scheduler = Scheduler(
            rt,
            load_profiles(rt.engine, key_dir=rt.key_dir),
            signer=signer,
            poll_interval=0.2,
            leader_interval=0.5,
            housekeeping_interval=5,
        )
        desk = SduDesk(hub_root, hub.identity(), world.ours.certificate)

        def answered() -> bool:
            desk.answer_new_files()
            return bool(desk.answered)

        def acknowledged() -> bool:
            return bool(rows(rt, "hub", OUTBOUND, "acknowledged"))

        scheduler.start()
        try:
            wait_for("pickup of the SDU's file over SFTP", lambda: bool(rows(rt, "sdu", INBOUND, "processed")))
            [received] = rows(rt, "sdu", INBOUND)
            exchange_id = outbound.queue(rt, scheduler.profiles["hub"], records=staged_records(rt, received["id"]))
            wait_for("the upload to the hub and its receipt", answered)
            wait_for("the acknowledgment over HTTPS", acknowledged)
            runs = done_runs(rt)
            wait_for("two more slots of each partner", lambda: done_runs(rt) >= runs + 4)
        finally:
            scheduler.stop()
        with session_scope(rt.engine) as session:
            audit.checkpoint(session, signer)

    # the SDU's file: pulled once, envelope opened, every payment staged, moved to its done folder
    assert [r["sha256"] for r in rows(rt, "sdu", INBOUND)] == [received["sha256"]]
    assert received["records"] == staged_count(rt, received["id"]) >= ded_entries(PAYMENTS) > 0
    assert received["rejected"] == 0
    assert sorted(p.name for p in (sdu_root / "outbox" / "done").iterdir()) == ["payments.ach.p7m"]
    assert not (sdu_root / "outbox" / "payments.ach.p7m").exists()

    # the hub opened our envelope (signature checked, decrypted with its key: the desk raises if
    # not), accepted the payments without a reject and acknowledged exactly the file it received
    [(name, digest)] = desk.answered.items()
    assert (hub_root / "inbox" / name).is_file()
    [delivered] = rows(rt, "hub", OUTBOUND)
    assert (delivered["id"], delivered["status"], delivered["sha256"]) == (exchange_id, "acknowledged", digest)
    detail = service.exchange_detail(rt, exchange_id)
    assert detail is not None and detail["acknowledgment"] == {"accepted": 1} and detail["acked_at"]
    [receipt] = rows(rt, "hub", INBOUND)
    assert (receipt["format"], receipt["status"]) == ("receipt", "processed")
    assert sorted(p.name for p in (hub_root / "outbox" / "done").iterdir()) == [f"{Path(name).stem}.receipt.p7m"]

    # every step in the exchange log; the audit log verifies (what `csgate audit verify` runs)
    assert actions(rt, received["id"]) == ["exchange.inbound"]
    assert actions(rt, exchange_id) == ["exchange.queued", "exchange.outbound"]
    assert actions(rt, receipt["id"]) == ["exchange.inbound"]
    assert service.list_alerts(rt) == []
    with session_scope(rt.engine) as session:
        verified = audit.verify(session, signer.public_key, entry=0)
    assert verified.ok, verified.lines()
