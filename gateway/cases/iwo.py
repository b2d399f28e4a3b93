"""New hire → income withholding order, within the two business days federal law allows.

When the case feed matches a new-hire report (an employer's W-4, or one an FCR match returns) to a
case's noncustodial parent and the case has a support order with an amount due, the agency must send
the new employer an income withholding notice within two business days of the new hire's entry in
the State Directory of New Hires (42 U.S.C. 653a(g)(1)). Here:

1. ``create`` (called by the feed) builds the canonical ``IncomeWithholdingOrder`` from the case (its
   order, the custodial party as obligee, the children), the parent, the employer as the report gives
   it (its payroll address first), and the agency's issuer settings (``Settings.iwo``), and keeps it
   as a ``pending`` notice due two business days (in the issuer's time zone; weekends, federal holidays
   and the issuer's ``holidays`` do not count) after the file arrived.
   One notice per parent, employer and hire date: the tracking id is a keyed digest of the three, so
   a resent report issues nothing new. An order the model refuses (the case lacks what an e-IWO must
   carry) is kept as ``failed`` and alerted, so a caseworker can issue it by hand in time.
2. ``queue_due`` (the scheduler's housekeeping, or ``csgate cases iwos --queue``) renders the pending
   notices into one flat e-IWO file for the issuer's partner (the e-IWO Portal, batched per employer
   FEIN) and queues it: the partner's job sends it, and each employer's acknowledgment is matched back
   by tracking id like any outbound file. A notice the format refuses is ``failed`` with its code and
   alerted; the others go.
3. ``check_overdue`` alerts (``iwo_overdue``) for a notice not yet sent when it falls due.
4. ``record_answers`` (called by the feed) records the employer's acknowledgment on the notice it
   answers, found by tracking id and the employee's SSN: accepted (``A``) or rejected (``R``) with
   the reason code (mappings/codes/eiwo_ack_reason.csv). A rejection is alerted (``iwo_rejected``,
   with the reason: not an employee, no longer employed, wrong FEIN …) so the caseworker can act on
   it; a later acceptance closes that alert. A resent acknowledgment changes nothing, and an older
   one never overwrites a newer.

Without ``Settings.iwo`` no notice is made: the agency has not said who issues them and to whom.
An order without a total per period gets the sum of its amounts when they share one frequency, and
without ``arrears_over_12_weeks`` is written as "no" (the lower CCPA limit).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, NamedTuple

import orjson
from pydantic import ValidationError
from sqlalchemy import select, update
from sqlalchemy.orm import Session

import adapters
from adapters.base import render_checked
from adapters.canonical import IncomeWithholdingOrder
from adapters.errors import RecordError
from adapters.layout import load_codes
from gateway.audit import log as audit
from gateway.cases.columns import CASE_AAD, participant
from gateway.config import IwoIssuer
from gateway.db.models import Case, Exchange, ExchangeStatus, IwoNotice, Person
from gateway.db.session import session_scope
from gateway.errors import ConfigError
from gateway.exchanges import outbound
from gateway.exchanges.alerts import raise_alert, resolve_alert
from gateway.exchanges.partners import load_profile
from gateway.exchanges.runtime import Runtime
from gateway.partners.schedule import add_business_days

log = logging.getLogger(__name__)

NOTICE_AAD = "iwo_notices.data_enc"
BUSINESS_DAYS = 2  # 42 U.S.C. 653a(g)(1)
FORMAT = "eiwo"  # the e-IWO Portal's flat file
BATCH = 500  # notices per queued file
_REASONS = load_codes("eiwo_ack_reason")  # what an employer's rejection means, for the caseworker's alert


def create(
    rt: Runtime, session: Session, *, exchange_id: int, received_at: datetime, person_ids: Sequence[int], new_hire: Any
) -> int:
    """Pending notices for the noncustodial parents among ``person_ids`` whose case has an order due;
    returns how many were made (see the module docstring)."""
    issuer = rt.iwo
    if issuer is None or not isinstance(new_hire, Mapping):
        return 0
    employer = new_hire.get("employer") or {}
    fein, hired = employer.get("fein"), new_hire.get("hire_date")
    if not fein:
        return 0
    made = 0
    for parent in session.scalars(select(Person).where(Person.id.in_(person_ids), Person.role == "NCP")):
        case = session.get(Case, parent.case_id)
        if case is None or case.data_enc is None:
            continue
        order = _order_due(rt.cipher.decrypt_json(case.data_enc, CASE_AAD).get("orders") or [])
        if order is None:
            continue
        tracking = _tracking_id(rt, parent.id, fein, hired)
        if session.scalar(select(IwoNotice.id).where(IwoNotice.document_tracking_id == tracking)) is not None:
            continue
        family = list(session.scalars(select(Person).where(Person.case_id == case.id).order_by(Person.id)))
        data = _order(rt, issuer, case, order, parent, family, employer, tracking)
        try:
            IncomeWithholdingOrder.model_validate(data)
            status, code = "pending", None
        except ValidationError as exc:
            status, code = "failed", "IWO_INVALID:" + ".".join(str(p) for p in exc.errors()[0]["loc"])[:50]
        notice = IwoNotice(
            case_id=case.id,
            person_id=parent.id,
            document_tracking_id=tracking,
            employer_fein=fein,
            data_enc=rt.cipher.encrypt_json(data, NOTICE_AAD),
            key_id=rt.cipher.current_key_id,
            source_exchange_id=exchange_id,
            due_at=add_business_days(received_at, BUSINESS_DAYS, issuer.timezone, issuer.holidays),
            status=status,
            error_code=code,
        )
        session.add(notice)
        session.flush()
        if code is not None:
            _failed_alert(session, notice, case.state_case_id)
        made += 1
    return made


def queue_due(rt: Runtime) -> int | None:
    """Queue every pending notice to the issuer's partner in one file; the exchange id, or None when
    there was nothing to queue (see the module docstring)."""
    issuer = rt.iwo
    if issuer is None:
        return None
    with session_scope(rt.engine) as session:
        pending = list(
            session.scalars(select(IwoNotice).where(IwoNotice.status == "pending").order_by(IwoNotice.id).limit(BATCH))
        )
    if not pending:
        return None
    try:
        profile = load_profile(rt.engine, issuer.partner, key_dir=rt.key_dir)
        if profile.outbound_format != FORMAT:
            raise ConfigError(f"iwo.partner {issuer.partner} must send {FORMAT}, not {profile.outbound_format}")
    except ConfigError as exc:  # the notices wait; the operator is told, and other housekeeping goes on
        with session_scope(rt.engine, writes_after_reading=True) as session:
            raise_alert(session, kind="iwo_config", key=issuer.partner, message=exc.message)
        return None
    adapter = adapters.get(FORMAT)
    good: list[tuple[IwoNotice, IncomeWithholdingOrder]] = []
    refused: list[tuple[IwoNotice, str]] = []
    for notice in pending:
        order = IncomeWithholdingOrder.model_validate(rt.cipher.decrypt_json(notice.data_enc, NOTICE_AAD))
        try:
            b"".join(render_checked(adapter, [{"type": "order", "canonical": order}]))  # one order's verdict
            good.append((notice, order))
        except RecordError as err:  # the code and the field: what the caseworker must complete
            refused.append((notice, f"{err.code}:{err.field}" if err.field else err.code))
    exchange_id = None
    if good:
        records = [{"type": "order", "canonical": order} for _, order in good]
        exchange_id = outbound.queue(rt, profile, records=records)
    now = datetime.now(UTC)
    with session_scope(rt.engine) as session:
        if good:
            ids = [n.id for n, _ in good]
            session.execute(
                update(IwoNotice)
                .where(IwoNotice.id.in_(ids))
                .values(status="queued", exchange_id=exchange_id, queued_at=now)
            )
            detail = {"notice_ids": ids, "partner": issuer.partner}
            audit.append(session, actor=rt.actor, action="iwo.queued", subject=f"exchange:{exchange_id}", detail=detail)
        for notice, code in refused:
            session.execute(
                update(IwoNotice).where(IwoNotice.id == notice.id).values(status="failed", error_code=code[:64])
            )
            case_id = session.scalar(select(Case.state_case_id).where(Case.id == notice.case_id))
            _failed_alert(session, notice, str(case_id))
    return exchange_id


class Answer(NamedTuple):
    """An employer's answer to one income withholding notice (an e-IWO acknowledgment)."""

    tracking_id: str
    disposition: str  # A accepted, R rejected
    reason: str | None  # mappings/codes/eiwo_ack_reason.csv


def answer_of(ack: Mapping[str, Any]) -> Answer | None:
    """The answer a canonical ``EmployerAck`` gives to an order, or None for an employer's own notice
    (action ``EMP``: termination, lump sum, suspension), which answers no order."""
    tracking, disposition = ack.get("document_tracking_id"), ack.get("disposition")
    if ack.get("action") == "EMP" or not tracking or disposition not in ("A", "R"):
        return None
    return Answer(str(tracking), str(disposition), ack.get("reason"))


def record_answers(
    rt: Runtime, session: Session, *, exchange_id: int, answers: Sequence[tuple[Answer, Sequence[int]]]
) -> int:
    """Record each answer on the notice with its tracking id made for one of the participants its SSN
    is (see the module docstring); how many notices changed. An acknowledgment of an order we did not
    issue here (or of another person's) matches no notice and changes nothing."""
    now = datetime.now(UTC)
    recorded: list[list[Any]] = []
    for answer, person_ids in answers:
        notice = session.scalar(
            select(IwoNotice).where(
                IwoNotice.document_tracking_id == answer.tracking_id, IwoNotice.person_id.in_(person_ids)
            )
        )
        if notice is None or (notice.answer_exchange_id or 0) >= exchange_id:
            continue  # not ours, this very file fed again, or a newer answer already recorded
        notice.answer, notice.answer_reason = answer.disposition, answer.reason
        notice.answered_at, notice.answer_exchange_id = now, exchange_id
        key = f"iwo:{notice.id}"
        if answer.disposition == "R":
            state_case_id = session.scalar(select(Case.state_case_id).where(Case.id == notice.case_id))
            why = _REASONS.get(answer.reason or "", "no reason given")
            raise_alert(
                session,
                kind="iwo_rejected",
                key=key,
                message=f"employer {notice.employer_fein} rejected income withholding notice {notice.id} for case "
                f"{state_case_id}: {why} ({answer.reason or '-'})",
                exchange_id=exchange_id,
            )
        else:
            resolve_alert(session, kind="iwo_rejected", key=key)
        recorded.append([notice.id, answer.disposition, answer.reason])
    if recorded:
        session.flush()
        audit.append(
            session,
            actor=rt.actor,
            action="iwo.answered",
            subject=f"exchange:{exchange_id}",
            detail={"notices": recorded},
        )
    return len(recorded)


def check_overdue(rt: Runtime, *, now: datetime | None = None) -> list[int]:
    """Raise ``iwo_overdue`` for each notice past its due time that has not been sent; their ids."""
    now = now or datetime.now(UTC)
    sent = (ExchangeStatus.SENT, ExchangeStatus.ACKNOWLEDGED)
    with session_scope(rt.engine, writes_after_reading=True) as session:
        rows = session.execute(
            select(IwoNotice.id, IwoNotice.case_id, Exchange.status)
            .outerjoin(Exchange, Exchange.id == IwoNotice.exchange_id)
            .where(IwoNotice.due_at < now)
        ).all()
        late = [(nid, cid) for nid, cid, status in rows if status not in sent]
        for notice_id, case_id in late:
            state_case_id = session.scalar(select(Case.state_case_id).where(Case.id == case_id))
            raise_alert(
                session,
                kind="iwo_overdue",
                key=f"iwo:{notice_id}",
                message=f"income withholding notice {notice_id} for case {state_case_id} not sent within "
                f"{BUSINESS_DAYS} business days of the new hire",
            )
    return [nid for nid, _ in late]


def list_notices(rt: Runtime, *, status: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
    """Notices newest first, without personal data (the order itself stays encrypted)."""
    stmt = select(IwoNotice, Case.state_case_id).join(Case, Case.id == IwoNotice.case_id)
    if status is not None:
        stmt = stmt.where(IwoNotice.status == status)
    with session_scope(rt.engine) as session:
        return [
            {
                "id": n.id,
                "case_id": case_id,
                "document_tracking_id": n.document_tracking_id,
                "employer_fein": n.employer_fein,
                "status": n.status,
                "due_at": n.due_at.isoformat(timespec="seconds"),
                "exchange_id": n.exchange_id,
                "error_code": n.error_code,
                "answer": n.answer,
                "answer_reason": n.answer_reason,
            }
            for n, case_id in session.execute(stmt.order_by(IwoNotice.id.desc()).limit(limit))
        ]


# --------------------------------------------------------------------------- building the order


def _order_due(orders: Sequence[Mapping[str, Any]]) -> dict[str, Any] | None:
    """The case's first order with current or past-due support to withhold, completed as an e-IWO needs."""
    today = date.today().isoformat()
    for order in orders:
        amounts = [order.get(k) for k in ("current_support", "past_due_support", "current_medical", "past_due_medical")]
        due = [a for a in amounts if isinstance(a, Mapping) and Decimal(str(a.get("amount") or 0)) > 0]
        ended = order.get("cancel_date") or (order.get("end_date") and order["end_date"] <= today)
        if not due or ended:
            continue
        out = dict(order)
        out.setdefault("arrears_over_12_weeks", False)
        frequencies = {a.get("frequency") for a in due}
        if out.get("total") is None and len(frequencies) == 1:
            total = sum(Decimal(str(a["amount"])) for a in due)
            out["total"] = {"kind": "periodic_amount", "amount": str(total), "frequency": frequencies.pop()}
        return out
    return None


def _order(
    rt: Runtime,
    issuer: IwoIssuer,
    case: Case,
    order: dict[str, Any],
    parent: Person,
    family: list[Person],
    employer: Mapping[str, Any],
    tracking: str,
) -> dict[str, Any]:
    addresses = list(employer.get("addresses") or [])
    payroll = next((a for a in addresses if a.get("address_type") == "payroll"), addresses[0] if addresses else None)
    custodial = next((p for p in family if p.role == "CP"), None)
    children = [p for p in family if p.role == "CHILD"][:6]
    return {
        "document_tracking_id": tracking,
        "action": "ORG",
        "document_date": date.today().isoformat(),
        "issuing_state_name": issuer.issuing_state_name,
        "case_id": case.state_case_id,
        "employer": {
            **{k: employer[k] for k in ("fein", "state_ein", "name", "phone") if employer.get(k)},
            "addresses": [payroll] if payroll else [],
        },
        "employee": _person(rt, parent, with_ssn=True),
        "obligee": _person(rt, custodial)["name"] if custodial else {"last": issuer.payee_name},
        "children": [_person(rt, child) for child in children],
        "order": order,
        "governing_law_state_name": issuer.governing_law_state_name or issuer.issuing_state_name,
        "begin_withholding_within_days": issuer.begin_withholding_within_days,
        "send_payment_within_days": issuer.send_payment_within_days,
        "ccpa_limit_percent": issuer.ccpa_limit_percent,
        "payee_name": issuer.payee_name,
        "payee_address": issuer.payee_address,
        "payee_fips": issuer.payee_fips,
        "remittance_id": case.state_case_id,
        "government_official_name": issuer.government_official_name,
        "official_title": issuer.official_title,
        "send_copy_to_employee": issuer.send_copy_to_employee,
    }


def _person(rt: Runtime, row: Person, *, with_ssn: bool = False) -> dict[str, Any]:
    """A participant as the order names it: name parts, birth date, and the SSN only where asked."""
    known = participant(rt, row)
    parts = (("first", known.name.first), ("last", known.name.last)) if known.name else ()
    person: dict[str, Any] = {"name": {k: v for k, v in parts if v}}
    if known.dob:
        person["dob"] = known.dob.isoformat()
    if with_ssn and known.ssn:
        person["ssn"] = known.ssn
    return person


def _tracking_id(rt: Runtime, person_id: int, fein: str, hired: Any) -> str:
    """30 characters naming (parent, employer, hire date) without revealing any of them."""
    digest = rt.blind_index.finding(orjson.dumps(["iwo", person_id, fein, hired]))
    return "NH" + digest.hex().upper()[:28]


def _failed_alert(session: Session, notice: IwoNotice, state_case_id: str) -> None:
    raise_alert(
        session,
        kind="iwo_failed",
        key=f"iwo:{notice.id}",
        message=f"income withholding notice {notice.id} for case {state_case_id} cannot be issued "
        f"({notice.error_code}): issue it by hand within {BUSINESS_DAYS} business days",
    )
