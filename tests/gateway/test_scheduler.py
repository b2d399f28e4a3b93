"""The scheduler and the work queue: slots, double fires, claims, partner locks, an in-process
scheduler end to end, and dead-lettered runs. The two-instance PostgreSQL test is in
test_scheduler_cluster.py."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from exchange_kit import FAST, acme_sqlite, add_partner, fixture, memory_profile, runtime
from sqlalchemy import select

from gateway.db.models import Exchange, ExchangeStatus, WorkItem, WorkStatus
from gateway.db.session import session_scope
from gateway.errors import RetriableTransportError
from gateway.exchanges import service, workqueue
from gateway.exchanges.locks import partner_lock
from gateway.exchanges.runtime import Runtime
from gateway.exchanges.scheduler import Scheduler, fired_slot
from gateway.partners.schedule import crontab_trigger

WAIT = 20.0  # seconds: every wait in these tests is bounded


def wait_for(condition: Callable[[], bool], timeout: float = WAIT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(0.1)


@pytest.fixture
def rt(db_url: str, tmp_path: Path) -> Iterator[Runtime]:
    rt = runtime(db_url, tmp_path)
    add_partner(rt, "acme")
    add_partner(rt, "sdu", kind="sdu")
    yield rt
    rt.engine.dispose()


lite = pytest.fixture(acme_sqlite)


def test_fired_slot_is_the_scheduled_time_not_the_clock() -> None:
    trigger = crontab_trigger("*/5 * * * * *")
    now = datetime(2026, 1, 5, 10, 0, 7, 420_000, tzinfo=UTC)
    assert fired_slot(trigger, now) == datetime(2026, 1, 5, 10, 0, 5, tzinfo=UTC)
    assert fired_slot(trigger, now.replace(second=5, microsecond=0)) == datetime(2026, 1, 5, 10, 0, 5, tzinfo=UTC)
    assert fired_slot(crontab_trigger("0 6 * * mon-fri"), now) is None  # nothing fired in the grace window


def test_a_slot_fired_twice_is_queued_once(rt: Runtime) -> None:
    assert workqueue.enqueue(rt.engine, partner_id="acme", slot="2026-01-05T10:00:05+00:00")
    assert not workqueue.enqueue(rt.engine, partner_id="acme", slot="2026-01-05T10:00:05+00:00")
    assert workqueue.enqueue(rt.engine, partner_id="sdu", slot="2026-01-05T10:00:05+00:00")
    with session_scope(rt.engine) as session:
        assert len(session.scalars(select(WorkItem)).all()) == 2


def test_one_worker_per_partner_and_skip_locked_claims(rt: Runtime) -> None:
    for slot in ("s1", "s2"):
        workqueue.enqueue(rt.engine, partner_id="acme", slot=slot)
    workqueue.enqueue(rt.engine, partner_id="sdu", slot="s1")
    first = workqueue.claim(rt.engine, rt.data_dir, "w1")
    second = workqueue.claim(rt.engine, rt.data_dir, "w2")
    assert first is not None and second is not None
    assert (first.partner_id, second.partner_id) == ("acme", "sdu")  # acme's second slot waits for acme
    assert workqueue.claim(rt.engine, rt.data_dir, "w3") is None
    workqueue.finish(rt.engine, first, WorkStatus.DONE)
    third = workqueue.claim(rt.engine, rt.data_dir, "w3")
    assert third is not None and (third.partner_id, third.slot) == ("acme", "s2")
    workqueue.abandon(rt.engine, third)  # a worker that dies gives its item back
    again = workqueue.claim(rt.engine, rt.data_dir, "w4")
    assert again is not None and again.id == third.id
    for claim in (second, again):
        workqueue.finish(rt.engine, claim, WorkStatus.DONE)
    rows = service.list_work(rt)
    assert sorted((w["slot"], w["status"], w["claimed_by"]) for w in rows) == [
        ("s1", "done", "w1"),
        ("s1", "done", "w2"),
        ("s2", "done", "w4"),
    ]


def test_partner_lock_is_exclusive_across_holders(rt: Runtime) -> None:
    a = partner_lock(rt.engine, rt.data_dir, "acme")
    b = partner_lock(rt.engine, rt.data_dir, "acme")
    assert a.acquire() and not b.acquire()
    a.release()
    assert b.acquire()
    b.release()


def test_scheduler_fires_queues_and_runs_the_partner_job(lite: Runtime) -> None:
    profile, store = memory_profile("acme", schedule=crontab_trigger("* * * * * *"))
    store.folders["outbox"] = {"pay.ach": (fixture("ded-five-cases.ach"), datetime.now(UTC))}
    scheduler = Scheduler(lite, {"acme": profile}, poll_interval=0.1, leader_interval=0.2)
    scheduler.start()
    try:
        wait_for(lambda: scheduler.is_leader)
        wait_for(lambda: bool(service.list_exchanges(lite, status=ExchangeStatus.PROCESSED)))
        wait_for(lambda: any(w["status"] == "done" for w in service.list_work(lite)))
    finally:
        scheduler.stop()
    assert store.files("outbox") == {} and list(store.files("outbox/processed")) == ["pay.ach"]
    with session_scope(lite.engine) as session:
        assert len(session.scalars(select(Exchange)).all()) == 1
    slots = [w["slot"] for w in service.list_work(lite)]
    assert len(slots) == len(set(slots))
    assert all(datetime.fromisoformat(s).microsecond == 0 for s in slots)


def test_unreachable_partner_dead_letters_the_run_and_alerts(lite: Runtime) -> None:
    profile, store = memory_profile("acme")
    store.fail_next(FAST.attempts, RetriableTransportError("connection refused", code="CONNECTION_REFUSED"))
    scheduler = Scheduler(lite, {"acme": profile})
    workqueue.enqueue(lite.engine, partner_id="acme", slot="2026-01-05T10:00:00+00:00")
    claim = workqueue.claim(lite.engine, lite.data_dir, "test")
    assert claim is not None
    scheduler.run(claim)
    [item] = service.list_work(lite, status=WorkStatus.DEAD_LETTER)
    assert item["error_code"] == "CONNECTION_REFUSED"
    assert [a["kind"] for a in service.list_alerts(lite)] == ["dead_letter"]
    assert [op for op, _ in store.calls] == ["list"] * 3  # the partner's retry policy, then gave up

    done = service.requeue_dead(lite, work_ids=[item["id"]])
    assert done.work == [item["id"]] and service.list_alerts(lite) == []
    claim = workqueue.claim(lite.engine, lite.data_dir, "test")
    assert claim is not None
    scheduler.run(claim)
    assert service.list_work(lite)[0]["status"] == "done"


def test_sqlite_recovers_items_a_crash_left_running(lite: Runtime) -> None:
    workqueue.enqueue(lite.engine, partner_id="acme", slot="s")
    claim = workqueue.claim(lite.engine, lite.data_dir, "crashed")
    assert claim is not None
    claim.lock.release()  # the process died: the kernel dropped its file lock
    assert workqueue.claim(lite.engine, lite.data_dir, "other") is None  # still marked running
    assert workqueue.recover(lite.engine) == 1
    assert workqueue.claim(lite.engine, lite.data_dir, "other") is not None
