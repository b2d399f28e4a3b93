"""The case feed: what partners report about people, matched to the case participants it is about.

When a record is staged, the blind index of the SSN it is about is stored with it
(``staged_records.subject_bidx``, see ``subject``). After an inbound file is taken in, the records
whose index is a case participant's are read back (a join: the others are never decrypted), and each
gives every participant with that SSN what it reports about where the person lives or works:

=================  ==============================================================================
record             what a matched participant gets
=================  ==============================================================================
``new_hire``       the employer (as of the hire date) and the employee's addresses (W-4)
``wage_record``    the employer, with the quarter's wages (income verification, NDNH/SWA QW)
``ui_claim``       the claimant's address and the quarter's benefit (UI)
``employer_ack``   the employee's last known address and new employer (termination notices);
                   an answer to one of our income withholding notices is recorded on the notice
``locate_result``  the addresses, employers and income a locate source reported (FCR);
                   a result blocked by the Family Violence Indicator sets the participant's FVI
CSENet ``LO1 P``   another state's answer to a quick locate (``interstate_transaction``): the
                   addresses and employers of its NCP Locate block, source ``csenet:<the answering
                   state's FIPS>``; a nondisclosure finding on its Case block (UIFSA) sets the
                   participant's FVI. No other CSENet transaction is read here: those are about a
                   case both states already work, not answers to a locate request
=================  ==============================================================================

A new hire matched to a case's noncustodial parent also makes the income withholding notice the
case's order calls for, and the employer's acknowledgment of that notice (accepted, or rejected with
its reason) is recorded on it (``gateway.cases.iwo``).

Each finding keeps its source (the format, and the reporting agency where there is one) and its
date: sources are weighed against each other, not overwritten. A finding already on the person (same
content, by keyed fingerprint) is not stored again, so a resent file or the same employer reported
again adds nothing. ``exchanges.fed_at`` marks a fed exchange; an exchange whose feed did not run or
did not finish (a crash after intake) is fed again from its start by ``feed_pending``, which the
scheduler's housekeeping calls: findings, FVI flags and withholding notices are each stored once
however often they are fed.

Nothing here discloses anything: findings are stored encrypted; reading them is
``gateway.cases.disclosure``, which applies the FVI and audits.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, cast

import orjson
from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import Session

from adapters.base import Parsed
from adapters.canonical import EmployerAck, InterstateTransaction, LocateResult, NewHire, UIClaim, WageRecord
from gateway.audit import log as audit
from gateway.cases import iwo
from gateway.db.models import Exchange, ExchangeDirection, ExchangeStatus, Person, StagedRecord
from gateway.db.session import session_scope
from gateway.exchanges.runtime import Runtime
from gateway.exchanges.staging import decode_record, executemany, insert_sql
from gateway.security.fieldcrypt import BlindIndex

log = logging.getLogger(__name__)

FINDING_AAD = "addresses.data_enc"
CHUNK = 1000  # staged records read and matched per transaction
FEEDABLE = (ExchangeStatus.PROCESSED, ExchangeStatus.PARTIAL)
# Formats whose records can say where a person lives or works (the kinds of the table above). Any other
# exchange (payments, receipts, orders we sent) is marked fed without reading back its records, which
# would cost intake a decryption per record for nothing.
FORMATS = frozenset(
    {
        "new-hire",
        "ndnh-w4",
        "ndnh-qw",
        "ndnh-qw-ebcdic",
        "ndnh-ui",
        "ndnh-ui-ebcdic",
        "fcr-response",
        "eiwo-ack",
        "csenet",
    }
)
# CSENet function and action of an answer to a quick locate (agency-formats.md §1.7, LO1 P)
QUICK_LOCATE_ANSWER = ("LO1", "P")
_COLUMNS = ("person_id", "data_enc", "key_id", "source", "as_of", "kind", "fingerprint", "exchange_id")

Finding = tuple[str, str | None, Mapping[str, Any]]  # kind, as-of date (ISO), canonical JSON


@dataclass(slots=True)
class FeedReport:
    exchange_id: int | None  # None: a backfill, over every exchange fed before
    matched: int = 0  # records about a case participant (by SSN)
    findings: int = 0  # findings stored (new to the person)
    fvi_set: int = 0  # participants whose FVI a locate result set
    iwos: int = 0  # income withholding notices a new hire called for (``gateway.cases.iwo``)
    answers: int = 0  # employers' answers recorded on those notices

    @property
    def changed(self) -> bool:
        """Whether the cases changed (and the feed goes on record, with what changed)."""
        return bool(self.findings or self.fvi_set or self.iwos or self.answers)

    def as_dict(self) -> dict[str, int | None]:
        return {
            "exchange_id": self.exchange_id,
            "matched": self.matched,
            "findings": self.findings,
            "fvi_set": self.fvi_set,
            "iwos": self.iwos,
            "answers": self.answers,
        }


def feed(rt: Runtime, exchange_id: int) -> FeedReport | None:
    """Match one inbound exchange's staged records to participants; None if it is not (or no longer)
    to be fed: outbound, not processed, purged, or fed already."""
    report = FeedReport(exchange_id)
    with session_scope(rt.engine) as session:
        exchange = session.get(Exchange, exchange_id)
        if (
            exchange is None
            or exchange.direction is not ExchangeDirection.INBOUND
            or exchange.status not in FEEDABLE
            or exchange.fed_at is not None
            or exchange.purged_at is not None
        ):
            return None
        source_format, received_at = exchange.format, exchange.created_at
    after = 0
    participants = select(Person.ssn_bidx).where(Person.ssn_bidx.is_not(None))
    while source_format in FORMATS:
        with session_scope(rt.engine, writes_after_reading=True) as session:
            ids = list(
                session.scalars(
                    select(StagedRecord.id)
                    .where(
                        StagedRecord.exchange_id == exchange_id,
                        StagedRecord.id > after,
                        StagedRecord.subject_bidx.in_(participants),
                    )
                    .order_by(StagedRecord.id)
                    .limit(CHUNK)
                )
            )
            if not ids:
                break
            after = ids[-1]
            matched: dict[int, tuple[bytes, list[int]]] = {}
            for staged_id, blob, person_id in session.execute(
                select(StagedRecord.id, StagedRecord.data, Person.id)
                .join(Person, Person.ssn_bidx == StagedRecord.subject_bidx)
                .where(StagedRecord.id.in_(ids))
            ):
                matched.setdefault(staged_id, (blob, []))[1].append(person_id)
            _apply(rt, session, (exchange_id, source_format, received_at), _records(rt, matched), report)
    with session_scope(rt.engine) as session:
        session.execute(update(Exchange).where(Exchange.id == exchange_id).values(fed_at=datetime.now(UTC)))
        if report.changed:
            subject = f"exchange:{exchange_id}"
            audit.append(session, actor=rt.actor, action="case_feed.applied", subject=subject, detail=report.as_dict())
    if report.matched:
        log.info("case feed", extra=report.as_dict())
    return report


def feed_pending(rt: Runtime, *, limit: int = 100) -> list[FeedReport]:
    """Feed inbound exchanges taken in but not fed (oldest first): what a crash left behind."""
    with session_scope(rt.engine) as session:
        ids = list(
            session.scalars(
                select(Exchange.id)
                .where(
                    Exchange.direction == ExchangeDirection.INBOUND,
                    Exchange.status.in_(FEEDABLE),
                    Exchange.fed_at.is_(None),
                    Exchange.purged_at.is_(None),
                )
                .order_by(Exchange.id)
                .limit(limit)
            )
        )
    return [r for r in (feed(rt, i) for i in ids) if r is not None]


def backfill(rt: Runtime, person_ids: Sequence[int]) -> FeedReport:
    """Give participants new to the registry what files fed before reported about them: the staged
    records, of exchanges fed and not purged, whose subject is their SSN. A new hire found this way
    makes its withholding notice due two business days from now, the day of the match."""
    total, now = FeedReport(None), datetime.now(UTC)
    for start in range(0, len(person_ids), CHUNK):
        chunk = list(person_ids[start : start + CHUNK])
        report = FeedReport(None)
        with session_scope(rt.engine, writes_after_reading=True) as session:
            found: dict[tuple[int, str], dict[int, tuple[bytes, list[int]]]] = {}
            for exchange_id, fmt, staged_id, blob, person_id in session.execute(
                select(Exchange.id, Exchange.format, StagedRecord.id, StagedRecord.data, Person.id)
                .join(Exchange, Exchange.id == StagedRecord.exchange_id)
                .join(Person, Person.ssn_bidx == StagedRecord.subject_bidx)
                .where(
                    Person.id.in_(chunk),
                    Exchange.fed_at.is_not(None),
                    Exchange.purged_at.is_(None),
                    Exchange.format.in_(FORMATS),
                )
                .order_by(StagedRecord.id)
            ):
                found.setdefault((exchange_id, fmt), {}).setdefault(staged_id, (blob, []))[1].append(person_id)
            for (exchange_id, fmt), matched in found.items():
                _apply(rt, session, (exchange_id, fmt, now), _records(rt, matched), report)
            if report.changed:
                detail = {**report.as_dict(), "person_ids": chunk}
                action = "case_feed.backfilled"
                audit.append(session, actor=rt.actor, action=action, subject="case_registry", detail=detail)
        for name in ("matched", "findings", "fvi_set", "iwos", "answers"):
            setattr(total, name, getattr(total, name) + getattr(report, name))
    return total


# --------------------------------------------------------------------------- matching


def _records(rt: Runtime, matched: Mapping[int, tuple[bytes, list[int]]]) -> list[tuple[Extracted, list[int]]]:
    """Staged record → (what it reports, the participants it is about), for those reporting anything."""
    return [
        (extracted, people)
        for blob, people in matched.values()
        if (extracted := _extract(decode_record(rt.cipher, blob).get("canonical"))) is not None
    ]


# agency code, findings, FVI-blocked, the new-hire report it is or carries (an e-IWO is due), and the
# answer to an e-IWO it is (tracking id, disposition, reason); whom it is about was settled by the join
# on ``subject_bidx`` that chose the record
Extracted = tuple[str | None, list[Finding], bool, Mapping[str, Any] | None, iwo.Answer | None]


def _apply(
    rt: Runtime,
    session: Session,
    exchange: tuple[int, str, datetime],
    records: list[tuple[Extracted, list[int]]],
    report: FeedReport,
) -> None:
    """Store what ``records`` (each with the participants its SSN is) report; set FVIs; make e-IWOs."""
    exchange_id, fmt, received_at = exchange
    bidx = rt.blind_index
    rows: list[tuple[Any, ...]] = []
    blocked_people: set[int] = set()
    hires: list[tuple[list[int], Mapping[str, Any]]] = []
    answers: list[tuple[iwo.Answer, list[int]]] = []
    for (agency, findings, blocked, hire, answer), matched in records:
        report.matched += 1
        if blocked:
            blocked_people.update(matched)
        if hire is not None:
            hires.append((matched, hire))
        if answer is not None:
            answers.append((answer, matched))
        source = f"{fmt}:{agency}"[:32] if agency else fmt[:32]
        for kind, as_of, content in findings:
            plain = orjson.dumps(content, option=orjson.OPT_SORT_KEYS)
            mark = bidx.finding(kind.encode() + b"\x00" + source.encode() + b"\x00" + plain)
            day = date.fromisoformat(as_of) if as_of else None
            for person_id in matched:
                blob = rt.cipher.encrypt(plain, FINDING_AAD)
                rows.append((person_id, blob, rt.cipher.current_key_id, source, day, kind[:16], mark, exchange_id))
    if rows:
        conn = session.connection()
        report.findings += executemany(conn, insert_sql(conn, "addresses", _COLUMNS, skip_existing=True), rows)
    for matched, hire in hires:
        report.iwos += iwo.create(
            rt, session, exchange_id=exchange_id, received_at=received_at, person_ids=matched, new_hire=hire
        )
    if answers:
        report.answers += iwo.record_answers(rt, session, exchange_id=exchange_id, answers=answers)
    if blocked_people:
        newly = session.execute(
            update(Person).where(Person.id.in_(blocked_people), Person.fvi.is_(False)).values(fvi=True)
        )
        report.fvi_set += int(cast("CursorResult[Any]", newly).rowcount or 0)
        audit.append(
            session,
            actor=rt.actor,
            action="person.fvi_set",
            subject=f"exchange:{exchange_id}",
            detail={"person_ids": sorted(blocked_people), "source": fmt},
        )


# --------------------------------------------------------------------------- what each record reports


def subject(fmt: str, parsed: Parsed, bidx: BlindIndex) -> bytes | None:
    """Blind index of the SSN a record of a fed format is about, stored with it when it is staged
    (``staged_records.subject_bidx``) so the feed reads back only the records of case participants."""
    if fmt not in FORMATS:
        return None
    c = parsed.canonical
    if isinstance(c, NewHire | EmployerAck):
        ssn = c.employee.ssn
    elif isinstance(c, WageRecord):
        ssn = c.employee_ssn
    elif isinstance(c, UIClaim):
        ssn = c.claimant_ssn
    elif isinstance(c, LocateResult):
        ssn = c.person.ssn if c.person is not None else None
    elif isinstance(c, InterstateTransaction):
        ssn = c.ncp.ssn if (c.function, c.action) == QUICK_LOCATE_ANSWER and c.ncp is not None else None
    else:
        return None
    return bidx.ssn(ssn) if ssn else None


def _extract(canonical: Any) -> Extracted | None:
    """What a record says about where the person it is about lives or works."""
    if not isinstance(canonical, Mapping):
        return None
    kind = canonical.get("kind")
    if kind == "new_hire":
        employee, when = canonical["employee"], canonical.get("hire_date")
        findings = [*_addresses(employee, when), ("employer", when, canonical["employer"])]
        return _about(findings, canonical)
    if kind == "wage_record":
        return _about([_wage_employer(canonical)])
    if kind == "ui_claim":
        when = canonical.get("claim_date") or canonical.get("processed_date")
        findings = [("ui_benefit", when, _ui_benefit(canonical))]
        if canonical.get("claimant_address"):
            findings.append(_address(canonical["claimant_address"], when))
        return _about(findings)
    if kind == "employer_ack":
        employee = canonical["employee"]
        when = canonical.get("termination_date")
        findings = list(_addresses(employee, when))
        if canonical.get("new_employer"):
            findings.append(("employer", when, canonical["new_employer"]))
        answer = iwo.answer_of(canonical)
        return (None, findings, False, None, answer) if findings or answer else None
    if kind == "locate_result":
        return _locate(canonical)
    if kind == "interstate_transaction":
        return _quick_locate(canonical)
    return None


def _locate(result: Mapping[str, Any]) -> Extracted | None:
    person = result.get("person") or {}
    when = result.get("date_reported")
    findings = [_address(a, when) for a in result.get("addresses", [])]
    findings += [("employer", e.get("as_of") or when, e) for e in result.get("employers", [])]
    findings += _addresses(person, when)
    findings += [("employer", e.get("as_of") or when, e) for e in person.get("employers", [])]
    income = result.get("income")
    if isinstance(income, Mapping):
        nested = _extract(income)
        if nested is not None:
            findings += nested[1]
    blocked = result.get("fvi") == "blocked"
    if not (findings or blocked):
        return None
    hire = income if isinstance(income, Mapping) and income.get("kind") == "new_hire" else None
    return result.get("source_agency_code"), findings, blocked, hire, None


def _quick_locate(txn: Mapping[str, Any]) -> Extracted | None:
    """Another state's answer to a quick locate, read as the locate result its NCP Locate block is, from
    the state that answers (the sender: Other-FIPS once the CSENet server has delivered it, chart C-4)."""
    if (txn.get("function"), txn.get("action")) != QUICK_LOCATE_ANSWER:
        return None
    sender = txn["local_fips"] if (txn.get("extra") or {}).get("direction") == "outbound" else txn["other_fips"]
    # the answering state's FIPS stands where an FCR result names its source agency: the finding's source
    result = {**(txn.get("ncp_locate") or {}), "source_agency_code": sender[:2]}
    # Chart C-5 Nondisclosure-Finding Y: the answering state holds a UIFSA finding that disclosing
    # identifying information would put a party at risk; withheld here as a blocked FCR result is.
    if (txn.get("case") or {}).get("nondisclosure_finding"):
        result["fvi"] = "blocked"
    return _locate(result)


def _about(findings: list[Finding], hire: Mapping[str, Any] | None = None) -> Extracted | None:
    return (None, findings, False, hire, None) if findings else None


def _addresses(person: Mapping[str, Any], when: str | None) -> list[Finding]:
    return [_address(a, when) for a in person.get("addresses", [])]


def _address(address: Mapping[str, Any], when: str | None) -> Finding:
    return (address.get("address_type") or "residential", address.get("as_of") or when, address)


def _wage_employer(w: Mapping[str, Any]) -> Finding:
    employer: dict[str, Any] = {"kind": "employer"}
    for key, to in (("employer_fein", "fein"), ("employer_state_ein", "state_ein"), ("employer_name", "name")):
        if w.get(key):
            employer[to] = w[key]
    if w.get("employer_address"):
        employer["addresses"] = [w["employer_address"]]
    employer["reported_wages"] = [
        {"kind": "quarter_wage", "year": w["year"], "quarter": w["quarter"], "amount": w["wage_amount"]}
    ]
    return "employer", w.get("processed_date") or _quarter_end(w["year"], w["quarter"]), employer


def _ui_benefit(c: Mapping[str, Any]) -> dict[str, Any]:
    keep = ("year", "quarter", "benefit_amount", "claim_date", "swa_state_fips")
    return {"kind": "ui_benefit", **{k: c[k] for k in keep if c.get(k) is not None}}


def _quarter_end(year: int, quarter: int) -> str:
    return date(int(year), int(quarter) * 3, 31 if int(quarter) in (1, 4) else 30).isoformat()
