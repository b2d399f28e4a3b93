"""CSENet transaction semantics: kinds, request/answer pairing, 45 CFR 303.7 timeframes, server errors
and the replies the gateway composes itself."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import pytest

import adapters
from adapters.canonical import CsenetAction, InterstateTransaction
from adapters.interstate import csenet_semantics as S
from adapters.interstate.csenet import CsenetAdapter

from ..fixturekit import FIXTURES, run_parse

_REGISTERED = adapters.get("csenet")
assert isinstance(_REGISTERED, CsenetAdapter)
A: CsenetAdapter = _REGISTERED
HERE = FIXTURES / "interstate" / "csenet"


def txn(name: str, i: int = 0) -> InterstateTransaction:
    out = run_parse(A, (HERE / name).read_bytes())
    assert not out.rejected and out.file_error is None
    result: InterstateTransaction = out.parsed[i].canonical
    return result


def changed(t: InterstateTransaction, **values: Any) -> InterstateTransaction:
    return t.model_copy(update=values)


ENF_R = txn("enf-request-wage-withholding-attachments-outbound.txt")
ENF_A = txn("enf-acknowledgment-inbound.txt")
ENF_P = txn("enf-response-wage-withholding-inbound.txt")
REJCT = txn("msc-reject-unknown-case-inbound.txt")
LO1_R = txn("lo1-request-outbound.txt")
LO1_P = txn("lo1-response-address-inbound.txt")
# The partner's copy of our ENF request, as it would reach us: their case is the sender's.
INBOUND_ENF_R = changed(ENF_R, other_case_id="MO-778899", extra={**ENF_R.extra, "direction": "inbound"})


# --------------------------------------------------------------------------- kinds


@pytest.mark.parametrize(
    ("t", "kind", "family"),
    [
        (ENF_R, S.Kind.REQUEST, S.Family.ENFORCEMENT),
        (ENF_A, S.Kind.ACKNOWLEDGMENT, S.Family.ENFORCEMENT),
        (ENF_P, S.Kind.RESPONSE, S.Family.ENFORCEMENT),
        (LO1_P, S.Kind.RESPONSE, S.Family.QUICK_LOCATE),
        (txn("col-tax-offset-three-collections-inbound.txt"), S.Kind.NOTICE, S.Family.COLLECTION),
        (txn("msc-case-closure-inbound.txt"), S.Kind.NOTICE, S.Family.CASE_MANAGEMENT),
        (REJCT, S.Kind.RESPONSE, S.Family.CASE_MANAGEMENT),
        (txn("csi-request-outbound.txt"), S.Kind.REQUEST, S.Family.CASE_STATUS),
    ],
)
def test_kind_and_family(t: InterstateTransaction, kind: S.Kind, family: S.Family) -> None:
    assert (S.kind(t), S.family(t)) == (kind, family)


@pytest.mark.parametrize(
    ("reason", "outcome"), [("LSADR", "found"), ("LICAD", "unconfirmed"), ("LUALL", "not_found"), ("LUAPD", "deceased")]
)
def test_locate_outcome(reason: str, outcome: str) -> None:
    assert S.locate_outcome(changed(LO1_P, reason=reason)) == outcome
    assert S.locate_outcome(LO1_R) is None and S.is_quick_locate_request(LO1_R)


# --------------------------------------------------------------------------- pairing


def test_acknowledgment_and_response_answer_the_request() -> None:
    assert S.answers(ENF_A, ENF_R) and S.answers(ENF_P, ENF_R)
    assert not S.answers(ENF_R, ENF_A)  # a request answers nothing


@pytest.mark.parametrize(
    "reply",
    [
        changed(ENF_P, case_id="KS9999999999"),  # another of our cases
        changed(ENF_P, other_fips="0603701"),  # another partner state
        changed(ENF_P, transaction_date=dt.date(2025, 3, 1)),  # before the request was sent
        changed(ENF_P, function="EST", reason="SSEST"),  # another function
    ],
    ids=["case", "partner", "date", "function"],
)
def test_pairing_refuses_a_reply_that_does_not_fit(reply: InterstateTransaction) -> None:
    assert not S.answers(reply, ENF_R)


def test_quick_locate_response_pairs_by_our_case_id() -> None:
    assert LO1_P.other_case_id is None and LO1_P.case_id == LO1_R.case_id
    assert S.answers(LO1_P, LO1_R)


def test_rejct_pairs_by_the_echoed_serial_number() -> None:
    echo = S.rejct_echo(REJCT)
    assert echo == S.RejectEcho(1003, "R", "ENF", dt.date(2025, 3, 3), "ERWAG")
    assert S.answers(REJCT, ENF_R)
    assert not S.answers(REJCT, changed(ENF_R, serial_number=1004))


def test_pair_closes_a_request_on_its_response_not_on_its_acknowledgment() -> None:
    older = changed(ENF_R, serial_number=903, transaction_date=dt.date(2025, 3, 1))
    late_p = changed(ENF_P, serial_number=5599, transaction_date=dt.date(2025, 3, 20))
    stray = changed(ENF_P, serial_number=5600, transaction_date=dt.date(2025, 3, 21))
    pairs = S.pair([ENF_A, ENF_P, late_p, stray], [ENF_R, older])
    assert [(p.reply.serial_number, p.request.serial_number if p.request else None) for p in pairs] == [
        (5505, 1003),
        (5506, 1003),
        (5599, 903),
        (5600, None),
    ]


# --------------------------------------------------------------------------- timeframes


def test_acknowledgment_due_in_ten_working_days() -> None:
    friday = dt.date(2025, 3, 7)
    assert S.due_date(ENF_R, friday) == dt.date(2025, 3, 21)
    assert S.due_date(ENF_R, friday, holidays={dt.date(2025, 3, 10)}) == dt.date(2025, 3, 24)
    ((answer, (_, rule)),) = S.due_dates(ENF_R, friday).items()
    assert answer == "acknowledgment" and "303.7" in rule.citation and rule.status == "confirmed"


@pytest.mark.parametrize(
    ("t", "due"),
    [
        (txn("csi-request-outbound.txt"), dt.date(2025, 3, 14)),  # 5 working days
        (LO1_R, dt.date(2025, 5, 21)),  # 75 calendar days (unconfirmed row)
        (txn("col-tax-offset-three-collections-inbound.txt"), None),  # a notice asks for nothing
        (ENF_A, None),
    ],
)
def test_due_date_by_function(t: InterstateTransaction, due: dt.date | None) -> None:
    assert S.due_date(t, dt.date(2025, 3, 7)) == due


def test_is_overdue() -> None:
    received = dt.date(2025, 3, 7)
    assert not S.is_overdue(ENF_R, received, dt.date(2025, 3, 21))
    assert S.is_overdue(ENF_R, received, dt.date(2025, 3, 22))
    assert not S.is_overdue(ENF_R, received, dt.date(2025, 4, 30), answered_on=dt.date(2025, 3, 20))
    assert S.is_overdue(ENF_R, received, dt.date(2025, 4, 30), answered_on=dt.date(2025, 3, 24))
    assert not S.is_overdue(ENF_A, received, dt.date(2026, 1, 1))


def test_event_duty_and_working_day_arithmetic() -> None:
    assert S.duty_due("refer-initiating", dt.date(2025, 3, 7)) == dt.date(2025, 3, 27)
    assert S.add_days(dt.date(2025, 3, 8), 1, working=True) == dt.date(2025, 3, 10)  # Saturday → Monday
    with pytest.raises(KeyError):
        S.duty_due("no-such-duty", dt.date(2025, 3, 7))


# --------------------------------------------------------------------------- server errors


def test_server_errors_are_classified_and_tied_to_the_erred_transaction(caplog: pytest.LogCaptureFixture) -> None:
    records = run_parse(A, (HERE / "server-error-file.txt").read_bytes()).parsed
    fatal, warning = (S.server_error(r.data) for r in records)
    assert (fatal.severity, fatal.code, fatal.erred_serial) == ("fatal", "E569", 1003) and fatal.meaning
    assert (warning.severity, warning.meaning) == ("warning", None)
    assert S.erred_transaction(fatal, [LO1_R, ENF_R]) is ENF_R
    assert S.erred_transaction(warning, [LO1_R, ENF_R]) is None
    with caplog.at_level(logging.WARNING, logger="adapters.interstate.csenet_semantics"):
        odd = S.server_error({**records[0].data, "error_code": "X1"})
    assert odd.severity == "unknown" and "unknown shape" in caplog.text


# --------------------------------------------------------------------------- replies the gateway writes


def roundtrip(t: InterstateTransaction) -> InterstateTransaction:
    out = run_parse(A, b"".join(A.render([{"type": "transaction", "canonical": t}])))
    assert not out.rejected, [r.code for r in out.rejected]
    result: InterstateTransaction = out.parsed[0].canonical
    return result


def test_our_acknowledgment_renders_and_answers_their_request() -> None:
    ack = roundtrip(S.acknowledgment(INBOUND_ENF_R, serial_number=77, on=dt.date(2025, 3, 5)))
    assert (ack.action, ack.reason, ack.other_case_id) == (CsenetAction.ACKNOWLEDGMENT, "ANOAD", "MO-778899")
    assert S.answers(ack, INBOUND_ENF_R)
    with pytest.raises(ValueError, match="acknowledged"):
        S.acknowledgment(LO1_R, serial_number=78, on=dt.date(2025, 3, 5))


def test_reject_of_an_unknown_case_echoes_the_request() -> None:
    reply = roundtrip(S.reject_unknown_case(INBOUND_ENF_R, serial_number=79, on=dt.date(2025, 3, 5)))
    assert reply.reason == "REJCT" and reply.case_id is None
    assert S.rejct_echo(reply) == S.RejectEcho(1003, "R", "ENF", dt.date(2025, 3, 3), "ERWAG")
    assert S.answers(reply, INBOUND_ENF_R)
