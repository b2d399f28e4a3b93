"""e-IWO flat file: action-code rules, trailer counts, batching per FEIN, the canonical mapping, and the
Portal's result files attached to the orders they answer. Fixture outcomes are in the conformance suite."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import adapters
from adapters.base import Parsed
from adapters.canonical import Frequency, IncomeWithholdingOrder
from adapters.employer.eiwo import (
    EiwoAdapter,
    EiwoOptions,
    attach_results,
    check_detail,
    dtl_from_order,
    order_from_dtl,
    to_order,
)
from adapters.errors import LayoutError, RecordError

from ..fixturekit import FIXTURES, Outcome, run_parse

HERE = FIXTURES / "employer" / "eiwo"
A = EiwoAdapter()


def parse(name: str, adapter: EiwoAdapter = A) -> Outcome:
    return run_parse(adapter, (HERE / name).read_bytes())


def details(name: str) -> list[Parsed]:
    return [p for p in parse(name).parsed if p.type == "detail"]


def render(records: list[dict[str, Any]]) -> bytes:
    return b"".join(A.render(records))


def lines(data: bytes) -> list[bytes]:
    return data.split(b"\n")[:-1]


ALL_ACTIONS = details("iwo-all-actions-one-employer.txt")
ORG, AMD, TRM, LUM = (p.data for p in ALL_ACTIONS)
HEADER = {
    "control_number": "200002501100930000000",
    "state_fips": "20000",
    "creation_date": "2025-01-10",
    "creation_time": "093000",
}


def fails(data: dict[str, Any], **changes: Any) -> RecordError:
    with pytest.raises(RecordError) as info:
        check_detail({**data, **changes})
    return info.value


# --------------------------------------------------------------------------- action-code rules


@pytest.mark.parametrize("base", [ORG, AMD, TRM], ids=["ORG", "AMD", "TRM"])
def test_lump_sum_amount_only_on_lum(base: dict[str, Any]) -> None:
    err = fails(base, lump_sum_amount=Decimal("10.00"))
    assert (err.code, err.field, err.start, err.end) == ("ACTION_FIELD_FORBIDDEN", "lump_sum_amount", 2188, 2198)
    check_detail({**base, "lump_sum_amount": Decimal(0)})  # zeros are how Kansas writes "none"


def test_lum_needs_its_lump_sum_amount() -> None:
    assert LUM["lump_sum_amount"] == Decimal("1500.00")
    for empty in (None, Decimal(0)):
        assert fails(LUM, lump_sum_amount=empty).code == "ACTION_FIELD_REQUIRED"


@pytest.mark.parametrize(
    "field", ["current_child_support_amount", "total_obligation_amount", "withhold_monthly_amount"]
)
def test_termination_withholds_nothing(field: str) -> None:
    assert TRM[field] == 0
    err = fails(TRM, **{field: Decimal("1.00")})
    assert (err.code, err.field) == ("ACTION_FIELD_FORBIDDEN", field)
    check_detail({**ORG, field: Decimal("1.00")})  # the same amount is fine on an original order


def test_original_and_amended_orders_need_a_total_with_frequency() -> None:
    for base in (ORG, AMD):
        assert fails(base, total_obligation_amount=Decimal(0)).code == "ACTION_FIELD_REQUIRED"
        assert fails(base, total_obligation_frequency=None).field == "total_obligation_frequency"


def test_amount_above_zero_needs_its_frequency() -> None:
    err = fails(ORG, past_due_child_support_frequency=None)
    assert (err.code, err.field, err.start) == ("FREQUENCY_REQUIRED", "past_due_child_support_frequency", 472)
    check_detail({**ORG, "past_due_child_support_amount": Decimal(0), "past_due_child_support_frequency": None})


def test_birth_dates_cannot_follow_the_document() -> None:
    err = fails(ORG, child1_birth_date=dt.date(2025, 1, 11))
    assert (err.code, err.field) == ("DATE_ORDER", "child1_birth_date")
    check_detail({**ORG, "child1_birth_date": ORG["document_date"]})


def test_rules_read_the_json_form_and_partial_details_alike() -> None:
    """Amounts and dates as text (``csgate render`` input) and a detail without some fields (read as
    None) are checked as the typed detail is: the same rule, field and code."""
    as_json = {k: str(v) if isinstance(v, (Decimal, dt.date)) else v for k, v in ORG.items()}
    check_detail(as_json)
    for changes in (
        {"child1_birth_date": "2025-01-11"},
        {"past_due_child_support_frequency": None},
        {"total_obligation_amount": "0.00"},
    ):
        typed = {k: (Decimal(v) if "amount" in k else dt.date.fromisoformat(v)) if v else v for k, v in changes.items()}
        assert (fails(as_json, **changes).code, fails(as_json, **changes).field) == (
            fails(ORG, **typed).code,
            fails(ORG, **typed).field,
        )
    partial = {k: v for k, v in ORG.items() if k != "past_due_child_support_frequency"}
    assert fails(partial).field == "past_due_child_support_frequency"


def test_a_rejected_order_does_not_stop_the_others() -> None:
    out = parse("invalid-lump-sum-on-org.txt")
    assert [r.line for r in out.rejected] == [3] and out.file_error is None
    assert [p.type for p in out.parsed] == ["file_header", "batch_header", "batch_trailer", "file_trailer"]


# --------------------------------------------------------------------------- trailers and batches


def test_trailer_counts_are_checked_after_every_record() -> None:
    out = parse("invalid-bad-control-count.txt")
    assert len([p for p in out.parsed if p.type == "detail"]) == 4 and out.parsed[-1].type == "file_trailer"
    assert out.file_error is not None and out.file_error.code == "BATCH_RECORD_COUNT"
    assert "is 3, the batch holds 4" in out.file_error.message


def test_render_counts_records_and_batches_itself() -> None:
    data = (HERE / "iwo-two-employers-two-batches.txt").read_bytes()
    trailers = [r for r in lines(data) if r[:2] in (b"BT", b"FT")]
    assert [(t[:3], t[25:30], t[30:35]) for t in trailers] == [
        (b"BTI", b"00000", b"00002"),
        (b"BTI", b"00000", b"00001"),
        (b"FTI", b"00002", b"00000"),
    ]


def test_render_refuses_a_supplied_count_that_disagrees() -> None:
    records = [{"type": p.type, "data": p.data} for p in parse("iwo-org-single.txt").parsed]
    trailer = next(r for r in records if r["type"] == "batch_trailer")
    trailer["data"] = {**trailer["data"], "record_count": 2}
    with pytest.raises(RecordError) as info:
        render(records)
    assert (info.value.code, info.value.field) == ("CONTROL_MISMATCH", "record_count")


def test_orders_are_batched_one_batch_per_employer_fein() -> None:
    a1, a2, b1 = (p.canonical for p in details("iwo-two-employers-two-batches.txt"))  # file order: by batch
    b2 = b1.model_copy(update={"document_tracking_id": "KS0000000000000000000000000099"})
    out = render(
        [{"type": "file_header", "data": HEADER}, *({"type": "order", "canonical": o} for o in (a1, b1, a2, b2))]
    )
    recs = lines(out)
    assert [r[:3] for r in recs] == [b"FHI", b"BHI", b"DTL", b"DTL", b"BTI", b"BHI", b"DTL", b"DTL", b"BTI", b"FTI"]
    assert [r[30:39] for r in recs if r[:3] == b"BHI"] == [b"123456789", b"481234567"]  # batch EIN = FEIN
    assert [r[242:251] for r in recs if r[:3] == b"DTL"] == [b"123456789"] * 2 + [b"481234567"] * 2
    assert [r[3:25].rstrip() for r in recs if r[:2] == b"BH"] == [b"200002501100930000001", b"200002501100930000002"]
    reparsed = run_parse(A, out)
    assert reparsed.exit == 0
    assert [p.canonical for p in reparsed.parsed if p.type == "detail"] == [a1, a2, b1, b2]


def test_an_order_inside_a_given_batch_must_be_for_its_employer() -> None:
    a1, _, b1 = (p.canonical for p in details("iwo-two-employers-two-batches.txt"))
    batch = {**HEADER, "control_number": "200002501100930000001", "ein": a1.employer.fein}
    good = [
        {"type": "file_header", "data": HEADER},
        {"type": "batch_header", "data": batch},
        {"type": "order", "canonical": a1},
    ]
    assert run_parse(A, render(good)).exit == 0
    with pytest.raises(RecordError) as info:
        render([*good, {"type": "order", "canonical": b1}])
    assert info.value.code == "FEIN_NOT_BATCH_EIN"


def test_without_a_file_header_the_header_comes_from_the_orders() -> None:
    header = run_parse(A, (HERE / "iwo-header-from-orders.txt").read_bytes()).parsed[0]
    assert header.data["control_number"] == "200002501100000000000"  # FIPS 20 + 000, 250110, 000000, 0000
    assert (header.data["state_fips"], header.data["creation_date"]) == ("20000", dt.date(2025, 1, 10))


@pytest.mark.parametrize(
    ("records", "code"),
    [
        ([{"type": "detail", "data": ORG}], "RENDER_ORDER"),
        ([{"type": "file_header", "data": HEADER}, {"type": "payment", "data": {}}], "RENDER_TYPE"),
        ([{"type": "order", "data": {"action": "ORG"}}], "RENDER_VALUE"),
    ],
    ids=["detail-outside-batch", "foreign-record", "incomplete-order"],
)
def test_render_refuses_what_cannot_be_written(records: list[dict[str, Any]], code: str) -> None:
    with pytest.raises(RecordError) as info:
        render(records)
    assert info.value.code == code


def test_render_refuses_a_repeated_tracking_id() -> None:
    order = ALL_ACTIONS[0].canonical
    with pytest.raises(RecordError) as info:
        render(
            [
                {"type": "file_header", "data": HEADER},
                {"type": "order", "canonical": order},
                {"type": "order", "canonical": order},
            ]
        )
    assert info.value.code == "DUPLICATE_TRACKING_ID"


def test_a_document_date_of_zeros_is_rejected_even_beside_a_birth_date() -> None:
    raw = (HERE / "iwo-org-single.txt").read_bytes()
    at = raw.index(b"\nDTL") + 1 + 9  # DTL 10-17
    outcome = run_parse(A, raw[:at] + b"00000000" + raw[at + 8 :])
    (bad,) = outcome.rejected
    assert (bad.code, bad.field, bad.start) == ("REQUIRED", "document_date", 10)  # the layout: a required date of zeros


# --------------------------------------------------------------------------- DTL ⇄ canonical order


def valid_details() -> list[Parsed]:
    return [p for f in sorted(HERE.glob("iwo-*.txt")) for p in details(f.name)]


def test_every_detail_maps_to_an_order_and_back() -> None:
    found = valid_details()
    assert len(found) >= 15
    for p in found:
        order = order_from_dtl(p.data)
        assert order == p.canonical
        assert order_from_dtl(dtl_from_order(order)) == order
        back = dtl_from_order(order)
        # blank unused amounts come back as Kansas's zeros; every other field is identical
        changed = {k for k in back if back[k] != p.data[k]}
        assert all(p.data[k] is None and back[k] == 0 for k in changed), sorted(changed)


def test_mapping_places_values_where_the_canonical_model_expects_them() -> None:
    o = next(p.canonical for p in details("iwo-every-frequency.txt"))
    assert o.order.current_support is not None and o.order.current_support.frequency is Frequency.WEEKLY
    assert o.order.current_spousal is not None and o.order.current_spousal.frequency is Frequency.ANNUAL
    assert o.order.other is not None and o.order.other.frequency is Frequency.OTHER
    assert o.order.past_due_spousal is not None and o.order.past_due_spousal.amount == 0  # zero with a letter kept
    assert o.order.per_period_amounts == {Frequency.WEEKLY: Decimal("170.00")}
    assert o.order.arrears_over_12_weeks is True and o.send_copy_to_employee is True
    kids = next(p.canonical for p in details("iwo-six-children.txt")).children
    assert [c.name.first for c in kids if c.name] == [f"CHILD{n}" for n in range(1, 7)]
    c = next(p.canonical for p in details("iwo-contacts-and-notice-texts.txt"))
    assert c.employer_contact is not None and c.employer_contact.address is not None
    assert (c.employer_contact.address.address_type, c.employer_contact.address.zip4) == ("contact", "1234")
    assert c.payee_address is not None and c.payee_address.address_type == "payment"


def test_canonical_failures_name_the_dtl_field_and_its_positions() -> None:
    err = _to_order_error({**ORG, "employer_fein": "070000001"})
    assert (err.code, err.field, err.start, err.end) == ("FEIN_INVALID", "employer_fein", 243, 251)
    err = _to_order_error({**ORG, "payee_state": "ZZ"})
    assert (err.code, err.field) == ("STATE_CODE", "payee_state")
    err = _to_order_error({**ORG, "employee_contact_email": "NOT AN ADDRESS"})
    assert (err.code, err.field) == ("EMAIL_FORMAT", "employee_contact_email")


def test_a_child_error_names_the_slot_not_the_list_position() -> None:
    # slot 1 filled, slot 2 empty, slot 3 has a birth date but no name: the error is about child 3
    data = {**ORG, "child3_birth_date": dt.date(2016, 1, 1)}
    err = _to_order_error(data)
    assert (err.field, err.start) == ("child3_last_name", 1940)


def _to_order_error(data: dict[str, Any]) -> RecordError:
    with pytest.raises(RecordError) as info:
        to_order(data)
    return info.value


# --------------------------------------------------------------------------- Portal result (S) files


def sent_orders() -> list[IncomeWithholdingOrder]:
    return [p.canonical for p in ALL_ACTIONS]


def test_result_errors_attach_to_their_orders_by_tracking_id() -> None:
    out = parse("result-errors-at-2253.txt")
    assert out.exit == 0
    results = [p for p in out.parsed if p.type == "result_detail"]
    assert {p.data["error_layout"] for p in results} == {"result_detail"}
    verdict = {
        o.document_tracking_id: (o.portal_errors, o.portal_more_errors)
        for o in attach_results(sent_orders(), out.parsed)
    }
    assert verdict == {
        "KS0000000000000000000000000011": (["EMPLOYEE SSN"], False),
        "KS0000000000000000000000000012": ([], False),
        "KS0000000000000000000000000013": (["CASE IDENTIFIER", "ORDER IDENTIFIER"], True),
        "KS0000000000000000000000000014": ([], False),
    }
    # each echo is also the order itself, with its own errors
    assert results[0].canonical == sent_orders()[0].model_copy(update={"portal_errors": ["EMPLOYEE SSN"]})


def test_batch_and_file_error_codes_reach_every_order_they_cover() -> None:
    two = [p.canonical for p in details("iwo-two-employers-two-batches.txt")]
    verdict = {
        o.document_tracking_id[-2:]: o.portal_errors
        for o in attach_results(two, parse("result-batch-rejected-record-count.txt").parsed)
    }
    assert verdict == {"21": ["batch_trailer:RCT"], "23": ["batch_trailer:RCT"], "22": []}
    org = [p.canonical for p in details("iwo-org-single.txt")]
    assert attach_results(org, parse("result-file-duplicate.txt").parsed)[0].portal_errors == ["file_header:DUP"]


def test_error_offset_is_a_mapping_setting() -> None:
    data = (HERE / "result-errors-after-start-date.txt").read_bytes()
    auto = [p for p in run_parse(A, data).parsed if p.type == "result_detail"]
    assert auto[0].data["error_layout"] == "result_detail_after_start_date"
    assert auto[0].data["first_error_field_name"] == "REMITTANCE IDENTIFIER"
    assert auto[0].canonical.start_date == dt.date(2025, 2, 1)
    early = EiwoAdapter(dataclasses.replace(A.options, error_layout="result_detail"))
    forced = [p for p in run_parse(early, data).parsed if p.type == "result_detail"]
    assert forced[0].data["first_error_field_name"].startswith("20250201")  # the start date read as an error
    assert EiwoOptions.load().error_layout == "auto"
    with pytest.raises(LayoutError):
        EiwoOptions(error_layout="somewhere")


def test_a_result_echoed_in_the_original_envelope_is_still_a_result() -> None:
    out = parse("result-in-iwo-envelope.txt")
    result = next(p for p in out.parsed if p.type == "result_detail")
    assert result.canonical.portal_errors == ["EMPLOYER FEIN"]
    assert out.parsed[0].data["document_code"] == "FHI"


def test_an_echo_the_portal_refused_still_carries_its_join_key() -> None:
    raw = bytearray((HERE / "result-errors-at-2253.txt").read_bytes())
    line3 = 2 * (2406 + 1)
    raw[line3 + 305 : line3 + 314] = b"000000000"  # the refused SSN, echoed as sent
    result = next(p for p in run_parse(A, bytes(raw)).parsed if p.type == "result_detail")
    assert result.canonical is None and result.data["document_tracking_id"].endswith("11")
    assert attach_results(sent_orders(), [result])[0].portal_errors == ["EMPLOYEE SSN"]


# --------------------------------------------------------------------------- detection and other formats


def test_detects_iwo_and_result_files_only() -> None:
    assert A.detect((HERE / "iwo-org-single.txt").read_bytes()[:4096])
    assert A.detect((HERE / "iwo-fixed-length-no-line-breaks.txt").read_bytes()[:8192])
    assert A.detect((HERE / "result-no-errors.txt").read_bytes()[:4096])
    assert not A.detect((FIXTURES / "employer" / "eiwo-ack" / "ack-accepted.txt").read_bytes())
    assert not A.detect(b"FHI" + b"X" * 100)


@pytest.mark.skipif("eiwo-xml" not in [a.key for a in adapters.available()], reason="e-IWO XML adapter not installed")
@pytest.mark.parametrize("path", sorted(HERE.glob("iwo-*.txt")), ids=lambda p: p.name)
def test_flat_to_xml_and_back_keeps_every_order(path: Path) -> None:
    xml = adapters.get("eiwo-xml")
    first = run_parse(A, path.read_bytes())
    as_xml = b"".join(xml.render({"type": p.type, "data": p.data, "canonical": p.canonical} for p in first.parsed))
    via = run_parse(xml, as_xml)
    assert via.exit == 0, sorted(via.codes)
    back = b"".join(A.render({"type": p.type, "data": p.data, "canonical": p.canonical} for p in via.parsed))
    again = run_parse(A, back)
    assert [p.canonical for p in again.parsed if p.type == "detail"] == [
        p.canonical for p in first.parsed if p.type == "detail"
    ]


def test_result_detail_with_an_unknown_error_layout_is_a_field_error() -> None:
    records = [{"type": p.type, "data": dict(p.data)} for p in parse("result-errors-at-2253.txt").parsed]
    result = next(r for r in records if r["type"] == "result_detail")
    result["data"]["error_layout"] = "no_such_layout"
    with pytest.raises(RecordError) as info:
        b"".join(A.render(records))
    assert info.value.code == "RENDER_VALUE" and info.value.field == "error_layout"
