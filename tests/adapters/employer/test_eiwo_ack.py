"""e-IWO employer acknowledgments: the disposition matrix, the data each disposition needs or forbids,
lenient status/reason positions, the canonical mapping, and linking each acknowledgment to its order."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from adapters.base import Parsed
from adapters.canonical import EmployerAck, IncomeWithholdingOrder
from adapters.employer.eiwo import EiwoAdapter
from adapters.employer.eiwo_ack import EiwoAckAdapter, OrderIndex, ack_from_record, ack_json, check_ack, record_from_ack
from adapters.errors import RecordError

from ..fixturekit import FIXTURES, run_parse

HERE = FIXTURES / "employer" / "eiwo-ack"
A = EiwoAckAdapter()


def acks(name: str) -> list[Parsed]:
    return [p for p in run_parse(A, (HERE / name).read_bytes()).parsed if p.type == "ack"]


ACCEPTED = dict(acks("ack-accepted.txt")[0].data)
NOTICE = dict(acks("emp-suspended.txt")[0].data)

# The matrix as the digest states it (employer-formats.md §1.7.2), written out here independently of
# mappings/codes/eiwo_ack_disposition.csv: for every answer A allows reason blank/B/S/W and R allows
# B/S/W/M/N/O/U/X/D; R/Z answers only TRM; employer-initiated notices (EMP) carry T, L or S and no reason.
ANSWERS = ("ORG", "AMD", "TRM", "LUM")
VALID = {(a, "A", r) for a in ANSWERS for r in (None, "B", "S", "W")}
VALID |= {(a, "R", r) for a in ANSWERS for r in "BSWMNOUXD"}
VALID |= {("TRM", "R", "Z")} | {("EMP", s, None) for s in "TLS"}
COMBOS = list(itertools.product((*ANSWERS, "EMP"), "ARTLS", (None, *"BDMNOSUWXZ")))


def record(action: str, status: str, reason: str | None) -> dict[str, Any]:
    """An acknowledgment carrying the data its disposition requires (W: corrected FEIN, M: the other
    state, EMP T: termination date, EMP L: lump-sum amount) and nothing else."""
    d = {
        **(NOTICE if action == "EMP" else ACCEPTED),
        "action_code": action,
        "disposition_status": status,
        "disposition_reason": reason,
    }
    if reason == "W":
        d["corrected_fein"] = "481234567"
    if reason == "M":
        d["multi_iwo_state"] = "MO"
    if action == "EMP" and status == "T":
        d["termination_date"] = dt.date(2025, 1, 3)
    if action == "EMP" and status == "L":
        d["lump_sum_amount"] = Decimal("900.00")
    return d


@pytest.mark.parametrize(("action", "status", "reason"), COMBOS, ids=lambda v: v or "blank")
def test_disposition_matrix(action: str, status: str, reason: str | None) -> None:
    d = record(action, status, reason)
    if (action, status, reason) in VALID:
        check_ack(d)
        assert ack_from_record(d).disposition == status
        return
    with pytest.raises(RecordError) as info:
        check_ack(d)
    assert (info.value.code, info.value.field) == ("DISPOSITION_COMBINATION", "disposition_reason")
    with pytest.raises(ValidationError):  # the canonical model refuses the same pair
        EmployerAck.model_validate(ack_json(d))


def test_matrix_covers_every_pair_the_digest_allows() -> None:
    assert len(VALID) == 4 * 4 + 4 * 9 + 1 + 3
    assert {(a, s, r) for a, s, r in COMBOS if (a, s, r) in VALID} == VALID


@pytest.mark.parametrize(
    ("action", "status", "reason", "missing"),
    [
        ("ORG", "A", "W", "corrected_fein"),
        ("AMD", "R", "W", "corrected_fein"),
        ("ORG", "R", "M", "multi_iwo_state"),
        ("EMP", "T", None, "termination_date"),
        ("EMP", "L", None, "lump_sum_amount"),
    ],
)
def test_disposition_needs_its_data(action: str, status: str, reason: str | None, missing: str) -> None:
    d = {**record(action, status, reason), missing: None}
    with pytest.raises(RecordError) as info:
        check_ack(d)
    assert (info.value.code, info.value.field) == ("DISPOSITION_FIELD_REQUIRED", missing)


@pytest.mark.parametrize(
    ("action", "status", "reason", "field", "value"),
    [
        ("ORG", "A", None, "lump_sum_amount", Decimal("5.00")),
        ("ORG", "R", "U", "termination_date", dt.date(2025, 1, 3)),
        ("ORG", "R", "B", "corrected_fein", "481234567"),
        ("ORG", "A", "W", "multi_iwo_state", "MO"),
        ("EMP", "L", None, "new_employer_name", "OTHER CO"),
        ("EMP", "S", None, "lump_sum_date", dt.date(2025, 3, 1)),
    ],
)
def test_data_of_another_disposition_is_refused(
    action: str, status: str, reason: str | None, field: str, value: Any
) -> None:
    d = {**record(action, status, reason), field: value}
    with pytest.raises(RecordError) as info:
        check_ack(d)
    assert (info.value.code, info.value.field) == ("DISPOSITION_FIELD_FORBIDDEN", field)


def test_termination_data_is_allowed_where_it_belongs() -> None:
    for name in ("ack-rejected-not-employed.txt", "emp-terminated.txt"):
        ack = acks(name)[0].canonical
        assert ack.termination_date == dt.date(2025, 1, 3) and ack.final_payment_amount == Decimal("106.73")
        assert ack.new_employer is not None and ack.new_employer.name == "BLUE RIVER HEALTH SYSTEM"
    ncp = acks("ack-rejected-not-employed.txt")[0].canonical.employee
    assert ncp.home_phone == "7855551212" and ncp.addresses[0].source == "eiwo-ack"


@pytest.mark.parametrize(
    ("change", "code", "field"),
    [
        ({"disposition_reason": "Q"}, "REASON_UNKNOWN", "disposition_reason"),
        ({"disposition_status": "Q"}, "DISPOSITION_UNKNOWN", "disposition_status"),
        ({"disposition_status": None}, "REQUIRED", "disposition_status"),
        ({"document_tracking_id": None}, "ACTION_FIELD_REQUIRED", "document_tracking_id"),
    ],
)
def test_codes_and_join_key_are_checked(change: dict[str, Any], code: str, field: str) -> None:
    with pytest.raises(RecordError) as info:
        check_ack({**ACCEPTED, **change})
    assert (info.value.code, info.value.field) == (code, field)


def test_a_notice_needs_the_ssn_it_is_matched_on() -> None:
    with pytest.raises(RecordError) as info:
        check_ack({**NOTICE, "employee_ssn": None})
    assert (info.value.code, info.value.field) == ("ACTION_FIELD_REQUIRED", "employee_ssn")


def test_status_and_reason_read_by_their_first_non_blank_character() -> None:
    lenient = acks("ack-status-reason-right-aligned.txt")[0]
    plain = acks("ack-rejected-duplicate.txt")[0]
    assert (lenient.data["disposition_status"], lenient.data["disposition_reason"]) == ("R", "D")
    assert lenient.data == plain.data and lenient.canonical == plain.canonical


def test_zero_filled_unused_dates_read_as_absent() -> None:
    zeros = acks("ack-unused-dates-zero-filled.txt")[0]
    assert zeros.canonical == acks("ack-accepted.txt")[0].canonical and zeros.canonical.termination_date is None


def test_portal_result_echo_carries_its_errors() -> None:
    ack = acks("ack-result-k-file.txt")[0].canonical
    assert ack.portal_errors == ["EMPLOYEE SSN", "CASE ID"] and ack.portal_more_errors


def test_every_fixture_maps_to_the_canonical_ack_and_back() -> None:
    found = [p for f in sorted(HERE.glob("*.txt")) if not f.name.startswith("invalid") for p in acks(f.name)]
    assert len(found) >= 25
    for p in found:
        back = record_from_ack(p.canonical)
        # unused amounts come back as zeros; every other field is identical
        changed = {k for k in back if back[k] != p.data[k]}
        assert all(p.data[k] is None and back[k] == 0 for k in changed), sorted(changed)
        assert ack_from_record(back) == p.canonical


def test_canonical_acks_render_one_batch_per_employer_after_a_file_header() -> None:
    canon = [p.canonical for p in acks("ack-two-employers-mixed.txt")]
    header = {"control_number": "ACME0001250115093000", "creation_date": "2025-01-15", "creation_time": "093000"}
    out = b"".join(
        A.render(
            [
                {"type": "file_header", "data": header},
                *({"type": "employer_ack", "data": a.model_dump(mode="json")} for a in canon),
            ]
        )
    )
    assert [r[:3] for r in out.split(b"\n")[:-1]] == [
        b"FHA",
        b"BHA",
        b"ACK",
        b"ACK",
        b"BTA",
        b"BHA",
        b"ACK",
        b"ACK",
        b"BTA",
        b"FTA",
    ]
    assert [p.canonical for p in run_parse(A, out).parsed if p.type == "ack"] == canon
    with pytest.raises(RecordError) as info:  # an acknowledgment carries nothing a header could come from
        b"".join(A.render([{"type": "employer_ack", "canonical": canon[0]}]))
    assert info.value.code == "RENDER_ORDER"


# --------------------------------------------------------------------------- acknowledgment → order


def sent_orders() -> list[IncomeWithholdingOrder]:
    iwo, folder = EiwoAdapter(), FIXTURES / "employer" / "eiwo"
    return [
        p.canonical
        for f in sorted(folder.glob("iwo-*.txt"))
        for p in run_parse(iwo, f.read_bytes()).parsed
        if p.type == "detail"
    ]


INDEX = OrderIndex(sent_orders())


def test_each_answer_links_to_the_order_with_its_tracking_id() -> None:
    answers = [p.canonical for p in acks("ack-two-employers-mixed.txt") if p.canonical.action != "EMP"]
    assert answers
    for ack in answers:
        found = INDEX.answered_by(ack)
        assert [o.document_tracking_id for o in found] == [ack.document_tracking_id]
        assert found[0].case_id == ack.case_id and found[0].employer.fein == ack.employer_fein


def test_without_a_tracking_id_case_fein_and_ssn_find_the_order() -> None:
    order = INDEX.by_tracking["KS0000000000000000000000000021"]
    ack = EmployerAck(
        action="ORG",
        case_id=order.case_id,
        employer_fein=order.employer.fein,
        employee={"ssn": order.employee.ssn},
        disposition="A",
    )
    assert INDEX.answered_by(ack) == [order]
    stranger = ack.model_copy(update={"employer_fein": "911234567"})
    assert INDEX.answered_by(stranger) == []


def test_an_employer_notice_reaches_every_order_for_that_employee_there() -> None:
    notice = acks("emp-lump-sum.txt")[0].canonical
    found = INDEX.answered_by(notice)
    assert found and {o.employee.ssn for o in found} == {notice.employee.ssn}
    assert {o.employer.fein for o in found} == {notice.employer_fein}
    elsewhere = notice.model_copy(update={"employer_fein": "911234567"})
    assert INDEX.answered_by(elsewhere) == []
