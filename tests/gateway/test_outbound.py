"""Outbound exchanges: render → (envelope) → send → acknowledged, the matchers per acknowledgment
format, overdue alerts, retries and dead letters. Memory transport; synthetic fixtures."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest
from exchange_kit import FAST, ROOT, add_partner, fixture, memory_profile, parsed_records, receipt_rule, runtime
from sqlalchemy import select

from adapters.errors import RecordError
from gateway.db.models import AckExpectation, Alert, Exchange, ExchangeStatus
from gateway.db.session import session_scope
from gateway.errors import PermanentTransportError, RetriableTransportError
from gateway.exchanges import acks, jobs, outbound, service
from gateway.exchanges.profile import AckRule
from gateway.exchanges.runtime import Runtime
from gateway.transports.memory import MemoryStore

EIWO = ROOT / "fixtures" / "employer" / "eiwo"
EIWO_ACK = ROOT / "fixtures" / "employer" / "eiwo-ack"


@pytest.fixture
def rt(sqlite_url: str, tmp_path: Path) -> Iterator[Runtime]:
    rt = runtime(sqlite_url, tmp_path)
    add_partner(rt, "sdu", kind="sdu")
    yield rt
    rt.engine.dispose()


def status_of(rt: Runtime, exchange_id: int) -> ExchangeStatus:
    with session_scope(rt.engine) as session:
        return session.get_one(Exchange, exchange_id).status


def receipt_for(sent: bytes, status: str = "accepted") -> bytes:
    line = {"acknowledges": hashlib.sha256(sent).hexdigest(), "status": status, "records": 9}
    return orjson.dumps(line) + b"\n"


def test_send_then_receipt_acknowledges(rt: Runtime) -> None:
    profile, store = memory_profile("sdu", inbound=("receipt",), outbound="nacha-ded", ack=receipt_rule())
    exchange_id = outbound.queue(rt, profile, records=parsed_records("nacha-ded", fixture("ded-five-cases.ach")))
    assert status_of(rt, exchange_id) is ExchangeStatus.QUEUED

    report = jobs.run_partner(rt, profile)
    assert [s.status for s in report.sent] == [ExchangeStatus.SENT]
    [(name, sent)] = store.files("inbox").items()
    assert sent == fixture("ded-five-cases.ach")  # rendered from the parsed records, byte for byte
    with session_scope(rt.engine) as session:
        row = session.get_one(Exchange, exchange_id)
        assert row.filename == name and row.ack_due_at is not None and row.acked_at is None

    store.folders.setdefault("outbox", {})["ack-1.jsonl"] = (receipt_for(sent), datetime.now(UTC))
    report = jobs.run_partner(rt, profile)
    [ack] = report.received
    assert ack.format == "receipt" and ack.acknowledged == [exchange_id]
    assert status_of(rt, exchange_id) is ExchangeStatus.ACKNOWLEDGED
    assert service.exchange_detail(rt, exchange_id)["acknowledgment"] == {"accepted": 1}  # type: ignore[index]
    assert store.files("outbox") == {} and "ack-1.jsonl" in store.files("outbox/processed")


def test_eiwo_acknowledgment_matches_by_document_tracking_id(rt: Runtime) -> None:
    add_partner(rt, "acme")
    rule = AckRule.within("eiwo-ack", timedelta(days=2))
    profile, store = memory_profile("acme", inbound=("eiwo-ack",), outbound="eiwo", ack=rule)
    records = parsed_records("eiwo", (EIWO / "iwo-org-single.txt").read_bytes())
    exchange_id = outbound.queue(rt, profile, records=records)
    with session_scope(rt.engine) as session:
        references = list(session.scalars(select(AckExpectation.reference)))
    assert references == ["eiwo:KS0000000000000000000000000001"]
    outbound.send(rt, profile, exchange_id)

    # an ACK for another document answers nothing
    store.folders.setdefault("outbox", {})["other.txt"] = (
        (EIWO_ACK / "ack-rejected-not-employed.txt").read_bytes(),
        datetime.now(UTC),
    )
    jobs.pull(rt, profile, jobs.JobReport("acme"))
    assert status_of(rt, exchange_id) is ExchangeStatus.SENT

    store.folders["outbox"]["ack.txt"] = ((EIWO_ACK / "ack-accepted.txt").read_bytes(), datetime.now(UTC))
    report = jobs.JobReport("acme")
    jobs.pull(rt, profile, report)
    assert report.received[0].acknowledged == [exchange_id]
    assert service.exchange_detail(rt, exchange_id)["acknowledgment"] == {"A": 1}  # type: ignore[index]


def test_acknowledgment_without_reference_answers_the_oldest_waiting_file(rt: Runtime) -> None:
    rule = AckRule.within("nacha-ded", timedelta(hours=1))  # a format with no matcher: file order
    profile, store = memory_profile("sdu", inbound=("nacha-ded",), outbound="nacha-ded", ack=rule)
    records = parsed_records("nacha-ded", fixture("ded-five-cases.ach"))
    first = outbound.queue(rt, profile, records=records)
    second = outbound.queue(rt, profile, records=parsed_records("nacha-ded", fixture("ded-single-payment.ach")))
    outbound.push(rt, profile)
    store.folders.setdefault("outbox", {})["answer.ach"] = (fixture("ded-savings-account.ach"), datetime.now(UTC))
    jobs.pull(rt, profile, jobs.JobReport("sdu"))
    assert status_of(rt, first) is ExchangeStatus.ACKNOWLEDGED
    assert status_of(rt, second) is ExchangeStatus.SENT


def test_overdue_acknowledgment_raises_one_alert_until_it_arrives(rt: Runtime) -> None:
    profile, store = memory_profile("sdu", inbound=("receipt",), outbound="nacha-ded", ack=receipt_rule(hours=1))
    exchange_id = outbound.queue(rt, profile, records=parsed_records("nacha-ded", fixture("ded-five-cases.ach")))
    outbound.send(rt, profile, exchange_id)
    assert outbound.check_overdue(rt) == []
    later = datetime.now(UTC) + timedelta(hours=2)
    assert outbound.check_overdue(rt, now=later) == [exchange_id]
    assert outbound.check_overdue(rt, now=later) == [exchange_id]
    open_alerts = service.list_alerts(rt, kind="ack_overdue")
    assert [a["exchange_id"] for a in open_alerts] == [exchange_id]  # raised once, not per check

    [sent] = store.files("inbox").values()
    store.folders.setdefault("outbox", {})["late.jsonl"] = (receipt_for(sent), datetime.now(UTC))
    jobs.pull(rt, profile, jobs.JobReport("sdu"))
    assert service.list_alerts(rt, kind="ack_overdue") == []
    assert outbound.check_overdue(rt, now=later) == []


def test_retriable_errors_are_retried_then_succeed(rt: Runtime) -> None:
    profile, store = memory_profile("sdu", outbound="nacha-ded", inbound=())
    exchange_id = outbound.queue(rt, profile, records=parsed_records("nacha-ded", fixture("ded-five-cases.ach")))
    store.fail_next(FAST.attempts - 1, RetriableTransportError("connection reset", code="CONNECTION_RESET"))
    assert outbound.send(rt, profile, exchange_id).status is ExchangeStatus.SENT
    assert [op for op, _ in store.calls].count("put") == FAST.attempts


def test_exhausted_retries_dead_letter_then_operator_retry_sends(rt: Runtime) -> None:
    profile, store = memory_profile("sdu", outbound="nacha-ded", inbound=())
    exchange_id = outbound.queue(rt, profile, records=parsed_records("nacha-ded", fixture("ded-five-cases.ach")))
    store.fail_next(FAST.attempts, RetriableTransportError("partner down", code="CONNECTION_REFUSED"))
    result = outbound.send(rt, profile, exchange_id)
    assert (result.status, result.error_code) == (ExchangeStatus.DEAD_LETTER, "CONNECTION_REFUSED")
    assert store.files("inbox") == {}
    assert [r["id"] for r in service.list_exchanges(rt, status=ExchangeStatus.DEAD_LETTER)] == [exchange_id]
    assert [a["kind"] for a in service.list_alerts(rt)] == ["dead_letter"]

    done = service.requeue_dead(rt, all_dead=True)
    assert done.exchanges == [exchange_id] and service.list_alerts(rt) == []
    assert outbound.push(rt, profile)[0].status is ExchangeStatus.SENT
    assert len(store.files("inbox")) == 1
    with pytest.raises(outbound.NotRetryable):
        outbound.requeue(rt, exchange_id)


def test_permanent_error_dead_letters_without_retrying(rt: Runtime) -> None:
    profile, store = memory_profile("sdu", outbound="nacha-ded", inbound=())
    exchange_id = outbound.queue(rt, profile, records=parsed_records("nacha-ded", fixture("ded-five-cases.ach")))
    store.fail_next(1, PermanentTransportError("authentication refused", code="AUTH_FAILED"))
    assert outbound.send(rt, profile, exchange_id).error_code == "AUTH_FAILED"
    assert [op for op, _ in store.calls].count("put") == 1


def test_a_record_that_does_not_render_queues_nothing(rt: Runtime) -> None:
    profile, _ = memory_profile("sdu", outbound="nacha-ded", inbound=())
    records = parsed_records("nacha-ded", fixture("ded-five-cases.ach"))
    records[2]["data"] = {**records[2]["data"], "amount": "99999999999.99"}  # wider than the field
    records[2]["canonical"] = None
    with pytest.raises(RecordError):
        outbound.queue(rt, profile, records=records)
    with session_scope(rt.engine) as session:
        assert session.scalars(select(Exchange)).all() == []


def test_matchers_read_references_from_records() -> None:
    assert acks.expected_references(
        "eiwo", [{"type": "detail", "data": {"document_tracking_id": " DT-9 "}}], "ab" * 32
    ) == ["eiwo:DT-9"]
    assert acks.expected_references("receipt", [{"data": {}}], "cd" * 32) == ["sha256:" + "cd" * 32]
    assert acks.expected_references("offset-return", [], "ef" * 32) == ["sha256:" + "ef" * 32]


def test_alert_rows_name_no_personal_data(rt: Runtime) -> None:
    profile, store = memory_profile("sdu", outbound="nacha-ded", inbound=())
    exchange_id = outbound.queue(rt, profile, records=parsed_records("nacha-ded", fixture("ded-five-cases.ach")))
    store.fail_next(FAST.attempts, RetriableTransportError("down", code="CONNECTION_REFUSED"))
    outbound.send(rt, profile, exchange_id)
    with session_scope(rt.engine) as session:
        messages = [a.message for a in session.scalars(select(Alert))]
    assert messages and not any(ssn in m for m in messages for ssn in ("212345671", "401223344"))


def test_store_calls_use_the_partner_inbox(rt: Runtime) -> None:
    store = MemoryStore()
    profile, _ = memory_profile("sdu", store, outbound="nacha-ded", inbound=())
    exchange_id = outbound.queue(
        rt, profile, records=parsed_records("nacha-ded", fixture("ded-five-cases.ach")), filename="payments.ach"
    )
    outbound.send(rt, profile, exchange_id)
    assert list(store.files("inbox")) == ["payments.ach"]
