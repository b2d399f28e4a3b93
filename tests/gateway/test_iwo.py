"""New hire → income withholding order within two business days: a notice per matched noncustodial
parent whose case has an order due, queued to the e-IWO partner as a flat e-IWO file, alerts when
it cannot be issued or is late. Synthetic fixtures only."""

from __future__ import annotations

import dataclasses
import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from exchange_kit import ROOT, add_partner, cli_settings, load_folder_partner, memory_profile, runtime
from sqlalchemy import select, update

import adapters
from adapters.base import Parsed
from adapters.canonical import EmployerAck
from gateway.cases import feed, iwo, registry
from gateway.config import IwoIssuer
from gateway.db.models import Alert, Exchange, ExchangeStatus, IwoNotice
from gateway.db.session import session_scope
from gateway.exchanges import intake, outbound
from gateway.exchanges.partners import load_profile
from gateway.exchanges.runtime import Runtime
from gateway.exchanges.scheduler import Scheduler
from gateway.partners.schedule import add_business_days

NEW_HIRES = ROOT / "fixtures" / "employer" / "new-hire" / "nh-five-employees.txt"
NCP_SSN, CP_SSN, OTHER_SSN = "212345671", "401223344", "523456789"  # new hires 1-3 of the file
ISSUER = {
    "partner": "portal",
    "issuing_state_name": "Alaska",
    "government_official_name": "PAT OFFICIAL",
    "official_title": "DIRECTOR",
    "payee_name": "ALASKA CSSD",
    "payee_address": {"line1": "PO BOX 102760", "city": "ANCHORAGE", "state": "AK", "zip5": "99510"},
    "payee_fips": "0200000",
}


def case(case_id: str, ncp_ssn: str, order: dict[str, Any] | None) -> tuple[int, dict[str, Any]]:
    people = [
        {"role": "NCP", "ssn": ncp_ssn, "name": {"first": "ALEX", "last": "TESTER"}, "dob": "1988-04-02"},
        {"role": "CP", "ssn": CP_SSN, "name": {"first": "BLAIR", "last": "TESTER"}},
        {"role": "CHILD", "name": {"first": "CASEY", "last": "TESTER"}, "dob": "2017-09-30"},
    ]
    body = {"case_id": case_id, "fips": "0200000", "case_type": "IV-D", "participants": people}
    if order is not None:
        body["orders"] = [order]
    return 1, {"caseworker": "cw-1", "case": body}


ORDER = {
    "order_id": "ORD-100",
    "current_support": {"amount": "250.00", "frequency": "monthly"},
    "past_due_support": {"amount": "50.00", "frequency": "monthly"},
}


@pytest.fixture
def rt(db_url: str, tmp_path: Path) -> Iterator[Runtime]:
    rt = dataclasses.replace(runtime(db_url, tmp_path, chunk_size=50), iwo=IwoIssuer.model_validate(ISSUER))
    add_partner(rt, "sdnh")
    load_folder_partner(rt, "portal", tmp_path / "portal", inbound=("eiwo-ack",), outbound=("eiwo",))
    registry.import_cases(rt, [case("C-100", NCP_SSN, ORDER)])
    yield rt
    rt.engine.dispose()


def _take_in(rt: Runtime) -> Exchange:
    profile, _ = memory_profile("sdnh", inbound=("new-hire",))
    result = intake.receive(rt, profile, name="nh.txt", raw=NEW_HIRES.read_bytes())
    with session_scope(rt.engine) as session:
        return session.get_one(Exchange, result.exchange_id)


def _notices(rt: Runtime) -> list[IwoNotice]:
    with session_scope(rt.engine) as session:
        return list(session.scalars(select(IwoNotice).order_by(IwoNotice.id)))


def _alerts(rt: Runtime, kind: str) -> list[Alert]:
    with session_scope(rt.engine) as session:
        return list(session.scalars(select(Alert).where(Alert.kind == kind, Alert.resolved_at.is_(None))))


def test_a_new_hire_of_a_parent_with_an_order_becomes_one_e_iwo_due_in_two_business_days(rt: Runtime) -> None:
    received = _take_in(rt)
    [notice] = _notices(rt)  # the CP is matched too, but owes nothing
    assert notice.status == "pending" and notice.employer_fein and len(notice.document_tracking_id) == 30
    assert notice.due_at == add_business_days(received.created_at, 2)
    assert NCP_SSN not in notice.document_tracking_id

    with session_scope(rt.engine) as session:  # the same report fed again issues nothing new
        session.execute(update(Exchange).where(Exchange.id == received.id).values(fed_at=None))
    again = feed.feed(rt, received.id)
    assert again is not None and again.iwos == 0 and len(_notices(rt)) == 1

    exchange_id = iwo.queue_due(rt)
    assert exchange_id is not None and iwo.queue_due(rt) is None  # nothing pending any more
    [queued] = _notices(rt)
    assert (queued.status, queued.exchange_id) == ("queued", exchange_id)

    profile = load_profile(rt.engine, "portal", key_dir=rt.key_dir)
    assert outbound.send(rt, profile, exchange_id).status is ExchangeStatus.SENT
    [sent] = (Path(rt.data_dir).parent / "portal" / "inbox").iterdir()
    [order] = [
        r.canonical
        for r in adapters.get("eiwo").parse(io.BytesIO(sent.read_bytes()))
        if isinstance(r, Parsed) and r.type == "detail"
    ]
    assert order is not None
    assert (order.document_tracking_id, order.case_id, order.employee.ssn) == (
        notice.document_tracking_id,
        "C-100",
        NCP_SSN,
    )
    assert order.employer.fein == notice.employer_fein and order.action.value == "ORG"
    assert order.order.total is not None and str(order.order.total.amount) == "300.00"
    assert order.obligee is not None and order.obligee.last == "TESTER" and len(order.children) == 1
    assert iwo.check_overdue(rt, now=notice.due_at + timedelta(seconds=1)) == []  # sent in time


def test_the_issuers_closures_do_not_count_as_business_days(rt: Runtime) -> None:
    today = datetime.now(UTC).date()
    closed = frozenset(today + timedelta(days=n) for n in range(1, 8))  # the agency's next week off
    rt = dataclasses.replace(rt, iwo=IwoIssuer.model_validate({**ISSUER, "holidays": sorted(closed)}))
    received = _take_in(rt)
    [notice] = _notices(rt)
    assert notice.due_at == add_business_days(received.created_at, 2, holidays=closed)
    assert notice.due_at.date() > max(closed)


def test_a_notice_the_format_refuses_fails_with_an_alert_and_the_others_go(rt: Runtime) -> None:
    no_order_id = {k: v for k, v in ORDER.items() if k != "order_id"}
    registry.import_cases(rt, [case("C-200", OTHER_SSN, no_order_id)])
    _take_in(rt)
    assert [n.status for n in _notices(rt)] == ["pending", "pending"]
    exchange_id = iwo.queue_due(rt)
    by_case = {n.case_id: n for n in _notices(rt)}
    assert [(n.status, n.exchange_id) for n in by_case.values()] == [("queued", exchange_id), ("failed", None)]
    failed = by_case[max(by_case)]
    assert failed.error_code == "RENDER_VALUE:order_id"
    [alert] = _alerts(rt, "iwo_failed")
    assert "C-200" in alert.message and OTHER_SSN not in alert.message


def test_a_case_without_an_order_due_or_without_issuer_settings_gets_no_notice(db_url: str, tmp_path: Path) -> None:
    rt = runtime(db_url, tmp_path, chunk_size=50)  # no iwo settings
    add_partner(rt, "sdnh")
    registry.import_cases(rt, [case("C-100", NCP_SSN, ORDER)])
    _take_in(rt)
    assert _notices(rt) == [] and iwo.queue_due(rt) is None
    rt = dataclasses.replace(rt, iwo=IwoIssuer.model_validate(ISSUER))
    ended = {**ORDER, "current_support": {"amount": "0.00"}, "past_due_support": None}
    registry.import_cases(rt, [case("C-300", OTHER_SSN, ended)])
    profile, _ = memory_profile("sdnh", inbound=("new-hire",))
    raw = (ROOT / "fixtures" / "employer" / "new-hire" / "nh-crlf-line-endings.txt").read_bytes()
    intake.receive(rt, profile, name="nh2.txt", raw=raw)
    assert all(n.case_id != 2 for n in _notices(rt))
    rt.engine.dispose()


def _ack_file(notice: IwoNotice, disposition: str, reason: str | None, *, ssn: str = NCP_SSN, n: int = 1) -> bytes:
    ack = EmployerAck(
        action="ORG",
        case_id="C-100",
        employer_fein=notice.employer_fein,
        employee={"ssn": ssn, "name": {"last": "TESTER", "first": "ALEX"}},
        document_tracking_id=notice.document_tracking_id,
        disposition=disposition,
        reason=reason,
    )
    header = {"control_number": f"ACME{n:04d}250115093000", "creation_date": "2025-01-15", "creation_time": "093000"}
    records = [{"type": "file_header", "data": header}, {"type": "employer_ack", "canonical": ack}]
    return b"".join(adapters.get("eiwo-ack").render(records))


def test_the_employers_answer_is_recorded_on_its_notice_and_a_rejection_alerted(rt: Runtime) -> None:
    _take_in(rt)
    [notice] = _notices(rt)
    assert iwo.queue_due(rt) is not None
    portal, _ = memory_profile("portal", inbound=("eiwo-ack",))

    rejected = intake.receive(rt, portal, name="ack1.txt", raw=_ack_file(notice, "R", "N"))
    [answered] = _notices(rt)
    assert (answered.answer, answered.answer_reason, answered.answer_exchange_id) == ("R", "N", rejected.exchange_id)
    [alert] = _alerts(rt, "iwo_rejected")
    assert "C-100" in alert.message and "no longer employed" in alert.message and NCP_SSN not in alert.message

    with session_scope(rt.engine) as session:  # the same file fed again changes nothing
        session.execute(update(Exchange).where(Exchange.id == rejected.exchange_id).values(fed_at=None))
    again = feed.feed(rt, rejected.exchange_id)
    assert again is not None and again.answers == 0

    # another person's SSN with our tracking id answers nothing: the notice is the parent's
    intake.receive(rt, portal, name="ack2.txt", raw=_ack_file(notice, "A", None, ssn=CP_SSN, n=2))
    assert _notices(rt)[0].answer == "R" and len(_alerts(rt, "iwo_rejected")) == 1

    accepted = intake.receive(rt, portal, name="ack3.txt", raw=_ack_file(notice, "A", None, n=3))
    [answered] = _notices(rt)
    assert (answered.answer, answered.answer_reason, answered.answer_exchange_id) == ("A", None, accepted.exchange_id)
    assert _alerts(rt, "iwo_rejected") == []  # the later acceptance closed the rejection's alert
    with session_scope(rt.engine) as session:  # an older answer fed late does not overwrite the newer one
        session.execute(update(Exchange).where(Exchange.id == rejected.exchange_id).values(fed_at=None))
    assert feed.feed(rt, rejected.exchange_id) is not None and _notices(rt)[0].answer == "A"
    rows = {r["id"]: r for r in iwo.list_notices(rt)}
    assert (rows[notice.id]["answer"], rows[notice.id]["answer_reason"]) == ("A", None)


def test_late_or_unqueueable_notices_are_alerted_by_housekeeping(rt: Runtime) -> None:
    _take_in(rt)
    [notice] = _notices(rt)
    assert iwo.check_overdue(rt, now=notice.due_at + timedelta(seconds=1)) == [notice.id]
    [late] = _alerts(rt, "iwo_overdue")
    assert "C-100" in late.message

    broken = dataclasses.replace(rt, iwo=IwoIssuer.model_validate({**ISSUER, "partner": "nobody"}))
    Scheduler(broken, {}).housekeeping()  # a misconfigured partner is alerted; housekeeping goes on
    [config] = _alerts(rt, "iwo_config")
    assert "nobody" in config.message and _notices(rt)[0].status == "pending"
    Scheduler(rt, {}).housekeeping()
    assert _notices(rt)[0].status == "queued"


def test_the_cli_lists_and_queues_notices(sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    from typer.testing import CliRunner

    from gateway.cli import app

    rt = dataclasses.replace(
        runtime(sqlite_url, tmp_path, key_dir=tmp_path / "data" / "keys"), iwo=IwoIssuer.model_validate(ISSUER)
    )
    add_partner(rt, "sdnh")
    load_folder_partner(rt, "portal", tmp_path / "portal", inbound=("eiwo-ack",), outbound=("eiwo",))
    registry.import_cases(rt, [case("C-100", NCP_SSN, ORDER)])
    _take_in(rt)
    try:
        with cli_settings(monkeypatch, tmp_path / "data", sqlite_url, iwo=json.dumps(ISSUER)):
            runner = CliRunner()
            listed = runner.invoke(app, ["cases", "iwos", "--status", "pending", "--json"])
            assert listed.exit_code == 0 and json.loads(listed.stdout)["case_id"] == "C-100"
            queued = runner.invoke(app, ["cases", "iwos", "--queue", "--json"])
            assert queued.exit_code == 0 and json.loads(queued.stdout)["status"] == "queued"
            assert NCP_SSN not in listed.output + queued.output
    finally:
        rt.engine.dispose()


def test_a_case_loaded_after_the_new_hire_gets_its_notice_due_from_the_match(rt: Runtime) -> None:
    from datetime import UTC, datetime

    _take_in(rt)
    before = datetime.now(UTC)
    report = registry.import_cases(rt, [case("C-200", OTHER_SSN, ORDER)])
    assert report.iwos == 1
    late = max(_notices(rt), key=lambda n: n.id)
    assert late.status == "pending" and late.due_at >= add_business_days(before, 2)
