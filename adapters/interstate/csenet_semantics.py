"""What a CSENet transaction means to the gateway: pure functions over canonical transactions.

* **Kind and family** — request, acknowledgment, response, notice, reminder, update or cancel; and the
  function family (quick locate, case status, enforcement, ...), agency-formats.md §1.7.
* **Pairing** — whether an inbound acknowledgment/response answers an outbound request (or ours answers
  theirs). CSENet does not echo the request's serial number on an answer, so an answer is tied to its
  request by function, partner state and case ids: Case-ID is the holder's own case in every header,
  Other-Case-ID the partner's (the server swaps them, §1.1). ``MSC P REJCT`` is the exception: it echoes
  the rejected transaction's serial, action, function and date in Information line 1 (§1.6a).
* **Timeframes** — when an answer is due under 45 CFR 303.7, from ``mappings/interstate/csenet/
  timeframes.csv``: ``due_date``, ``is_overdue``, ``duty_due``. Holidays are passed in; no clock is read.
* **Network errors** — the server error file (§1.9): severity from the code shape (``E`` fatal, ``W``
  warning), the erred transaction found by sender FIPS and serial number.
* **Replies the gateway sends itself** — ``acknowledgment`` and ``reject_unknown_case``.
"""

from __future__ import annotations

import datetime as dt
import enum
import logging
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from adapters.canonical import CsenetAction, CsenetFunction, InterstateTransaction
from adapters.interstate.csenet_rules import read_table, reason_matches

log = logging.getLogger(__name__)
A, R, P, U = CsenetAction.ACKNOWLEDGMENT, CsenetAction.REQUEST, CsenetAction.PROVIDE, CsenetAction.UPDATE


class Kind(enum.StrEnum):
    REQUEST = "request"
    UPDATE = "update"
    ACKNOWLEDGMENT = "acknowledgment"
    RESPONSE = "response"
    NOTICE = "notice"  # unsolicited provision of information (COL P, most MSC P)
    REMINDER = "reminder"
    CANCEL = "cancel"


class Family(enum.StrEnum):
    QUICK_LOCATE = "quick_locate"
    CASE_STATUS = "case_status"
    ENFORCEMENT = "enforcement"
    ESTABLISHMENT = "establishment"
    PATERNITY = "paternity"
    COLLECTION = "collection"
    CASE_MANAGEMENT = "case_management"


FAMILY = {
    CsenetFunction.LO1: Family.QUICK_LOCATE,
    CsenetFunction.CSI: Family.CASE_STATUS,
    CsenetFunction.ENF: Family.ENFORCEMENT,
    CsenetFunction.EST: Family.ESTABLISHMENT,
    CsenetFunction.PAT: Family.PATERNITY,
    CsenetFunction.COL: Family.COLLECTION,
    CsenetFunction.MSC: Family.CASE_MANAGEMENT,
}
# MSC requests whose answer has its own reason code (DERIVED from the code meanings, §1.7); other MSC
# requests are answered by MSC P with the reason explained in the Information block or GSPUD.
MSC_ANSWERS = {"GRUPD": frozenset({"GSPUD"}), "GRINT": frozenset({"GSTAI"}), "GRPAY": frozenset({"GSPAY"})}
MSC_DEFAULT_ANSWERS = frozenset({None, "GSPUD"})


def family(txn: InterstateTransaction) -> Family:
    return FAMILY[txn.function]


def kind(txn: InterstateTransaction) -> Kind:
    """An MSC P answers only when its reason is one an MSC request asks for (or a REJCT); COL P is a notice."""
    simple = {
        R: Kind.REQUEST,
        U: Kind.UPDATE,
        A: Kind.ACKNOWLEDGMENT,
        CsenetAction.REMINDER: Kind.REMINDER,
        CsenetAction.CANCEL: Kind.CANCEL,
    }
    if txn.action in simple:
        return simple[txn.action]
    if txn.function is CsenetFunction.COL:
        return Kind.NOTICE
    if txn.function is CsenetFunction.MSC:
        answering = {r for answers in MSC_ANSWERS.values() for r in answers} | MSC_DEFAULT_ANSWERS | {"REJCT"}
        return Kind.RESPONSE if txn.reason in answering else Kind.NOTICE
    return Kind.RESPONSE


def is_quick_locate_request(txn: InterstateTransaction) -> bool:
    return txn.function is CsenetFunction.LO1 and txn.action is R


def locate_outcome(txn: InterstateTransaction) -> str | None:
    """LO1/MSC locate news: ``found`` (reason position 2 ``S``), ``unconfirmed`` (``I``), ``not_found``
    (``LUALL``) or ``deceased`` (``LUAPD``); None for anything else."""
    r = txn.reason
    if txn.action is not P or r is None or r[0] != "L":
        return None
    if r == "LUAPD":
        return "deceased"
    return {"S": "found", "I": "unconfirmed", "U": "not_found"}.get(r[1])


# --------------------------------------------------------------------------- REJCT echo


@dataclass(frozen=True, slots=True)
class RejectEcho:
    """What MSC P REJCT repeats of the transaction it rejects (Information line 1, §1.6a)."""

    serial_number: int
    action: str
    function: str
    transaction_date: dt.date
    reason: str | None


def rejct_echo(txn: InterstateTransaction) -> RejectEcho | None:
    if (txn.function, txn.action, txn.reason) != (CsenetFunction.MSC, P, "REJCT") or not txn.information_text:
        return None
    line = _line_one(txn)
    try:
        when = dt.datetime.strptime(line[16:24], "%Y%m%d").date()
        serial = int(line[:12])
    except ValueError:
        return None
    return RejectEcho(serial, line[12:13], line[13:16], when, line[24:29].strip() or None)


def _line_one(txn: InterstateTransaction) -> str:
    kept = txn.extra.get("information_lines")
    return str(kept[0]) if isinstance(kept, list) and kept else txn.information_text[0]


# --------------------------------------------------------------------------- pairing


def answers(reply: InterstateTransaction, request: InterstateTransaction) -> bool:
    """True when ``reply`` (an acknowledgment or response) answers ``request`` (a request or update)."""
    if kind(request) not in (Kind.REQUEST, Kind.UPDATE) or kind(reply) not in (Kind.ACKNOWLEDGMENT, Kind.RESPONSE):
        return False
    if reply.local_fips[:2] != request.local_fips[:2] or reply.other_fips[:2] != request.other_fips[:2]:
        return False
    echo = rejct_echo(reply)
    if echo is not None:
        return echo.serial_number == request.serial_number and echo.function == request.function.value
    if reply.function is not request.function or reply.transaction_date < request.transaction_date:
        return False
    if request.function is CsenetFunction.MSC and reply.action is P:
        allowed = MSC_ANSWERS.get(request.reason or "", MSC_DEFAULT_ANSWERS)
        if reply.reason not in allowed:
            return False
    matched = False
    for ours, theirs in ((request.case_id, reply.case_id), (request.other_case_id, reply.other_case_id)):
        if ours is not None and theirs is not None:
            if ours != theirs:
                return False
            matched = True
    return matched


@dataclass(frozen=True, slots=True)
class Pairing:
    """A reply and the request it answers (None when no open request fits)."""

    reply: InterstateTransaction
    request: InterstateTransaction | None


def pair(replies: Iterable[InterstateTransaction], requests: Iterable[InterstateTransaction]) -> list[Pairing]:
    """Match each reply to the most recent open request it answers. A response closes its request; an
    acknowledgment does not (the response is still owed), so several acknowledgments may pair with one."""
    by_partner: dict[tuple[str, str], list[InterstateTransaction]] = {}
    for req in sorted(requests, key=lambda t: (t.transaction_date, t.serial_number)):
        by_partner.setdefault((req.other_fips[:2], req.function.value), []).append(req)
    closed: set[int] = set()
    out = []
    for reply in sorted(replies, key=lambda t: (t.transaction_date, t.serial_number)):
        echo = rejct_echo(reply)
        function = echo.function if echo else reply.function.value
        found = None
        for req in reversed(by_partner.get((reply.other_fips[:2], function), [])):
            if id(req) not in closed and answers(reply, req):
                found = req
                break
        if found is not None and kind(reply) is Kind.RESPONSE:
            closed.add(id(found))
        out.append(Pairing(reply, found))
    return out


# --------------------------------------------------------------------------- timeframes


@dataclass(frozen=True, slots=True)
class Timeframe:
    code: str
    function: str
    action: str
    reason: str
    answer: str
    days: int
    working: bool
    citation: str
    status: str

    def applies(self, txn: InterstateTransaction) -> bool:
        return (
            self.function in ("*", txn.function.value)
            and self.action == txn.action.value
            and reason_matches(self.reason, txn.reason)
        )


@cache
def timeframes() -> tuple[Timeframe, ...]:
    return tuple(
        Timeframe(
            r["code"],
            r["function"],
            r["action"],
            r["reason"],
            r["answer"],
            int(r["days"]),
            r["day_kind"] == "working",
            r["citation"],
            r["status"],
        )
        for r in read_table("interstate/csenet/timeframes.csv")
    )


def add_days(start: dt.date, days: int, *, working: bool, holidays: Collection[dt.date] = ()) -> dt.date:
    """``start`` plus ``days`` calendar days, or plus ``days`` working days (Monday-Friday, not holidays)."""
    if not working:
        return start + dt.timedelta(days=days)
    day, left = start, days
    while left:
        day += dt.timedelta(days=1)
        if day.weekday() < 5 and day not in holidays:
            left -= 1
    return day


def due_dates(
    txn: InterstateTransaction, received_on: dt.date, holidays: Collection[dt.date] = ()
) -> dict[str, tuple[dt.date, Timeframe]]:
    """Every answer ``txn`` calls for, keyed by answer kind, with its due date and the rule behind it."""
    out: dict[str, tuple[dt.date, Timeframe]] = {}
    for tf in timeframes():
        if tf.applies(txn) and tf.answer not in out:
            out[tf.answer] = (add_days(received_on, tf.days, working=tf.working, holidays=holidays), tf)
    return out


def due_date(txn: InterstateTransaction, received_on: dt.date, holidays: Collection[dt.date] = ()) -> dt.date | None:
    """The earliest date by which the receiving agency owes an answer to ``txn``; None when no timeframe applies."""
    dates = [d for d, _ in due_dates(txn, received_on, holidays).values()]
    return min(dates) if dates else None


def is_overdue(
    txn: InterstateTransaction,
    received_on: dt.date,
    today: dt.date,
    *,
    answered_on: dt.date | None = None,
    holidays: Collection[dt.date] = (),
) -> bool:
    """True when the answer came (``answered_on``), or has still not come by ``today``, after its due date."""
    due = due_date(txn, received_on, holidays)
    if due is None:
        return False
    return (answered_on if answered_on is not None else today) > due


def duty_due(code: str, event_on: dt.date, holidays: Collection[dt.date] = ()) -> dt.date:
    """Due date of an event-triggered duty (``refer-initiating``: refer within 20 days of learning the NCP
    lives in another state)."""
    tf = next((t for t in timeframes() if t.code == code), None)
    if tf is None:
        raise KeyError(f"no timeframe {code!r} in timeframes.csv")
    return add_days(event_on, tf.days, working=tf.working, holidays=holidays)


# --------------------------------------------------------------------------- server error file (§1.9)


@dataclass(frozen=True, slots=True)
class ServerError:
    """One record of the CSENet server's error file, classified."""

    counter: int
    code: str
    severity: str  # fatal (not routed) | warning (delivered anyway) | unknown (code of another shape)
    meaning: str | None  # from codes/csenet_error_code.csv when the agency has listed the code
    erred_serial: int | None
    sender_fips: str
    receiver_fips: str
    function: str | None
    action: str | None
    reason: str | None
    transaction_date: dt.date | None


@cache
def _error_codes() -> dict[str, str]:
    return {r["code"]: r["meaning"] for r in read_table("codes/csenet_error_code.csv")}


def server_error(data: Mapping[str, Any]) -> ServerError:
    """Classify a parsed ``server_error`` record. A code that is not ``E``/``W`` + 3 digits is kept and
    logged, never dropped (§1.9)."""
    code = str(data["error_code"])
    shape_ok = len(code) == 4 and code[0] in "EW" and code[1:].isdigit()
    severity = ("fatal" if code[0] == "E" else "warning") if shape_ok else "unknown"
    if not shape_ok:
        log.warning("CSENet server error %s has code %r of an unknown shape", data.get("txn_counter"), code)
    serial = data.get("erred_serial_number")
    return ServerError(
        counter=int(data["txn_counter"]),
        code=code,
        severity=severity,
        meaning=_error_codes().get(code),
        erred_serial=int(serial) if isinstance(serial, str) and serial.isdigit() else None,
        sender_fips=str(data["local_fips_code"]),
        receiver_fips=str(data["other_fips_code"]),
        function=data.get("functional_type_code"),
        action=data.get("action_code"),
        reason=data.get("action_reason"),
        transaction_date=data.get("transaction_date"),
    )


def erred_transaction(err: ServerError, sent: Iterable[InterstateTransaction]) -> InterstateTransaction | None:
    """The outbound transaction an error is about: same sender FIPS (state + county) and serial number."""
    for txn in sent:
        if txn.serial_number == err.erred_serial and txn.local_fips[:5] == err.sender_fips[:5]:
            return txn
    return None


# --------------------------------------------------------------------------- replies the gateway writes


def acknowledgment(
    request: InterstateTransaction, *, serial_number: int, on: dt.date, reason: str | None = "ANOAD"
) -> InterstateTransaction:
    """Our acknowledgment (ENF/EST/PAT A, §1.9) of an inbound request: same partner and case ids."""
    if request.function not in (CsenetFunction.ENF, CsenetFunction.EST, CsenetFunction.PAT) or kind(request) not in (
        Kind.REQUEST,
        Kind.UPDATE,
    ):
        raise ValueError("only ENF, EST and PAT requests are acknowledged with action A")
    return _reply(request, serial_number, on, A, reason, [])


def reject_unknown_case(request: InterstateTransaction, *, serial_number: int, on: dt.date) -> InterstateTransaction:
    """MSC P REJCT for an inbound transaction naming a case id we do not hold; line 1 echoes the rejected
    transaction's serial (12), action, function, date and reason (§1.6a)."""
    echo = (
        f"{request.serial_number:012d}{request.action.value}{request.function.value}"
        f"{request.transaction_date:%Y%m%d}{request.reason or ''}"
    )
    return _reply(
        request,
        serial_number,
        on,
        P,
        "REJCT",
        [f"{echo} CASE ID NOT RECOGNISED"],
        case_id=None,
        function=CsenetFunction.MSC,
    )


def _reply(
    request: InterstateTransaction,
    serial: int,
    on: dt.date,
    action: CsenetAction,
    reason: str | None,
    text: list[str],
    **changes: Any,
) -> InterstateTransaction:
    values: dict[str, Any] = {
        "serial_number": serial,
        "function": request.function,
        "action": action,
        "reason": reason,
        "local_fips": request.local_fips,
        "other_fips": request.other_fips,
        "case_id": request.case_id,
        "other_case_id": request.other_case_id,
        "transaction_date": on,
        "sent_date": on,
        "information_text": text,
        "extra": {"direction": "outbound", "information": True} if text else {"direction": "outbound"},
    }
    values.update(changes)
    return InterstateTransaction(**values)
