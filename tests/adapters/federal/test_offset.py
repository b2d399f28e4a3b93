"""Federal offset files (submission and returns) and the program eligibility rules."""

from __future__ import annotations

import datetime as dt
import tomllib
from decimal import Decimal
from typing import Any

import pytest

import adapters
from adapters.base import Parsed
from adapters.canonical import OffsetCase, OffsetCollection, PersonName
from adapters.errors import LayoutError, RecordError
from adapters.federal.eligibility import RULES_PATH, eligibility, load_rules, rules_from
from adapters.federal.offset import OffsetAdapter, variant_layouts

from ..fixturekit import FIXTURES, run_parse
from .jsonkit import json_round_trip

SUB = adapters.get("offset")
RET = adapters.get("offset-return")
SUB_DIR = FIXTURES / "federal" / "offset"
RET_DIR = FIXTURES / "federal" / "offset-return"


def good(adapter: Any, path: Any) -> list[Parsed]:
    out = run_parse(adapter, path.read_bytes())
    assert out.exit == 0, sorted(out.codes)
    return out.parsed


# --------------------------------------------------------------------------- submission


def test_add_becomes_canonical_offset_case() -> None:
    case, control = good(SUB, SUB_DIR / "offset-add-with-exclusions.txt")
    model = case.canonical
    assert isinstance(model, OffsetCase)
    assert (model.transaction_type, model.case_type, model.arrears_amount) == ("A", "A", Decimal("1250.00"))
    assert model.exclusions == ["ADM", "RET", "TAX"] and case.data["exclusions"] == ["ADM", "RET", "TAX"]
    assert model.pre_offset_notice_date == dt.date(2025, 1, 6)
    assert (model.address.zip5, model.address.zip4) == ("66603", "1234")
    assert control.data == {
        "submitting_state": "KS",
        "tanf_count": 1,
        "non_tanf_count": 0,
        "tanf_amount": Decimal(1250),
        "non_tanf_amount": Decimal(0),
    }


def test_every_transaction_type_has_a_valid_fixture() -> None:
    seen = {
        p.data["transaction_type"]
        for f in SUB_DIR.glob("offset-*.txt")
        for p in good(SUB, f)
        if p.type == "case_submission"
    }
    assert seen == {"A", "D", "M", "L", "R", "S", "T", "B", "C", "Z", "U"}


def test_itin_is_accepted_where_an_ssn_is() -> None:
    (case, _) = good(SUB, SUB_DIR / "offset-add-itin.txt")
    assert case.canonical.ssn == "912781234"


def test_control_record_closes_each_state() -> None:
    records = good(SUB, SUB_DIR / "offset-two-states.txt")
    controls = [p.data for p in records if p.type == "case_control"]
    assert [(c["submitting_state"], c["tanf_count"], c["non_tanf_count"]) for c in controls] == [
        ("KS", 1, 1),
        ("MO", 2, 0),
    ]  # the MO delete carries case type A, so it counts
    assert controls[0]["non_tanf_amount"] == Decimal(900)


def test_render_from_canonical_computes_the_control() -> None:
    case = OffsetCase(
        submitting_state="KS",
        ssn="231456789",
        case_id="K1",
        ncp_name=PersonName(first="A", last="TESTER"),
        arrears_amount="600.00",
        transaction_type="A",
        case_type="N",
        exclusions=["PAS"],
    )
    text = b"".join(SUB.render([{"type": "offset_case", "canonical": case}]))
    out = run_parse(SUB, text)
    assert out.exit == 0 and out.parsed[0].canonical == case
    assert out.parsed[1].data["non_tanf_count"] == 1 and out.parsed[1].data["non_tanf_amount"] == Decimal(600)


def test_render_refuses_a_wrong_control_and_cents_in_whole_dollars() -> None:
    rec = {
        "type": "case_submission",
        "data": {
            "submitting_state": "KS",
            "ssn": "231456789",
            "last_name": "TESTER",
            "transaction_type": "D",
            "case_type": "A",
        },
    }
    with pytest.raises(RecordError) as info:
        b"".join(SUB.render([rec, {"type": "case_control", "data": {"tanf_count": 2}}]))
    assert info.value.code == "CONTROL_MISMATCH"
    cents = {**rec, "data": {**rec["data"], "arrearage_amount": "12.50"}}
    with pytest.raises(RecordError) as money:
        b"".join(SUB.render([cents]))
    assert money.value.field == "arrearage_amount"


def test_record_error_names_the_field_and_the_good_records_flow() -> None:
    out = run_parse(SUB, (SUB_DIR / "invalid-exclusions-on-modify.txt").read_bytes())
    (bad,) = out.rejected
    assert (bad.code, bad.field, bad.start, bad.end) == ("EXCLUSIONS_NOT_ALLOWED", "exclusions", 188, 227)
    assert [p.type for p in out.parsed] == ["case_control"]


def test_layout_edition_is_chosen_in_the_mapping() -> None:
    assert set(variant_layouts()) == {"", "1999", "current"}
    current = OffsetAdapter("current")
    text = (SUB_DIR / "offset-add-tanf.txt").read_bytes()
    (case, _) = run_parse(current, text).parsed
    assert case.data.get("pre_offset_notice_date") is None and "pre_offset_notice_date" not in case.data
    assert good(SUB, SUB_DIR / "offset-add-tanf.txt")[0].data["pre_offset_notice_date"] == dt.date(2025, 1, 6)
    with pytest.raises(LayoutError):
        OffsetAdapter("2031")


def test_detect_tells_submission_from_returns() -> None:
    sub = (SUB_DIR / "offset-weekly-batch.txt").read_bytes()
    files = [
        RET_DIR / n
        for n in (
            "return-reject-batch.txt",
            "return-collection-weekly.txt",
            "return-reconciliation.txt",
            "return-reject-control-only.txt",
        )
    ]
    assert SUB.detect(sub) and not RET.detect(sub)
    for f in files:
        head = f.read_bytes()
        assert RET.detect(head) and not SUB.detect(head), f.name
    assert SUB.detect((SUB_DIR / "offset-control-only.txt").read_bytes())


# --------------------------------------------------------------------------- returns


def test_collection_becomes_canonical_offset_collection() -> None:
    (col, control) = good(RET, RET_DIR / "return-collection-joint-injured-spouse.txt")
    model = col.canonical
    assert isinstance(model, OffsetCollection)
    assert (model.collection_amount, model.adjustment_amount, model.certified_arrears) == (
        Decimal("800.00"),
        Decimal("0.00"),
        Decimal("1250.00"),
    )
    assert (model.joint_return, model.injured_spouse, model.tax_year) == (True, True, 2024)
    assert control.data["collection_count"] == 1 and control.data["collection_total"] == Decimal("800.00")


def test_adjustment_and_weekly_totals() -> None:
    records = good(RET, RET_DIR / "return-collection-weekly.txt")
    control = records[-1].data
    assert (control["collection_count"], control["collection_total"]) == (3, Decimal("1582.55"))
    assert (control["adjustment_count"], control["adjustment_total"]) == (1, Decimal("50.00"))


def test_reject_codes_and_control_counts() -> None:
    records = good(RET, RET_DIR / "return-reject-batch.txt")
    codes = [[r.data[f"error_code_{i}"] for i in range(1, 7) if r.data[f"error_code_{i}"]] for r in records[:-1]]
    assert codes == [["02"], ["17"], ["47"], ["03", "04", "05"]]
    assert records[1].data["returned_last_name"] == "EXAM"
    control = records[-1].data
    # one TANF and one non-TANF rejected, one TANF with a warning (47) only
    assert (control["tanf_rejected"], control["non_tanf_rejected"], control["tanf_warnings"]) == (1, 2, 1)
    assert control["tanf_accepted"] == 120


def test_reconciliation_exclusions_and_hold() -> None:
    records = good(RET, RET_DIR / "return-reconciliation.txt")
    assert records[1].data["hold_indicator"] == "H" and records[1].data["exclusion_pas"] == "PAS"
    assert records[-1].data["case_count"] == 3 and records[-1].data["total_arrears"] == Decimal(7700)


@pytest.mark.parametrize(
    ("adapter", "path"),
    [
        (SUB, SUB_DIR / "offset-weekly-batch.txt"),
        (SUB, SUB_DIR / "offset-two-states.txt"),
        (RET, RET_DIR / "return-reject-batch.txt"),
        (RET, RET_DIR / "return-collection-weekly.txt"),
        (RET, RET_DIR / "return-reconciliation.txt"),
    ],
    ids=lambda v: getattr(v, "name", getattr(v, "key", "")),
)
def test_json_parse_render_gives_back_the_same_bytes(adapter: Any, path: Any) -> None:
    assert json_round_trip(adapter, path.read_bytes()) == path.read_bytes()


# --------------------------------------------------------------------------- eligibility

AS_OF = dt.date(2025, 6, 1)


def case(amount: str | None, case_type: str | None = "A", ssn: str = "231456789", **kw: Any) -> OffsetCase:
    base: dict[str, Any] = {
        "submitting_state": "KS",
        "ssn": ssn,
        "case_id": "K1",
        "ncp_name": PersonName(first="A", last="B"),
        "arrears_amount": amount,
        "transaction_type": "M" if amount is not None else "D",
        "case_type": case_type,
        "pre_offset_notice_date": dt.date(2025, 1, 6),
    }
    base.update(kw)
    return OffsetCase(**base)


@pytest.mark.parametrize(
    ("amount", "case_type", "eligible"),
    [
        ("150.00", "A", True),
        ("149.99", "A", False),
        ("500.00", "N", True),
        ("499.00", "N", False),
        ("150.00", "N", False),
    ],
)
def test_tax_refund_thresholds(amount: str, case_type: str, eligible: bool) -> None:
    result = eligibility(case(amount, case_type), as_of=AS_OF)
    assert ("tax_refund" in result.programs) is eligible
    if not eligible:
        assert [r.code for r in result.why_not("tax_refund")] == ["BELOW_THRESHOLD"]


@pytest.mark.parametrize(("amount", "eligible"), [("2500.00", False), ("2500.01", True)])
def test_passport_needs_more_than_2500(amount: str, eligible: bool) -> None:
    assert ("passport" in eligibility(case(amount), as_of=AS_OF).programs) is eligible


def test_passport_combines_tanf_and_non_tanf_of_the_same_ncp_and_state() -> None:
    tanf = case("1500.00", "A")
    others = [case("1200.00", "N"), case("9000.00", "N", ssn="412563478"), case("9000.00", "N", submitting_state="MO")]
    result = eligibility(tanf, as_of=AS_OF, related=others)
    assert "passport" in result.programs and result.decisions["passport"].arrears == Decimal("2700.00")
    assert result.decisions["tax_refund"].arrears == Decimal("1500.00")  # tax combines the same case type only


def test_non_tanf_cases_combine_for_the_500_threshold() -> None:
    result = eligibility(case("300.00", "N"), as_of=AS_OF, related=[case("250.00", "N")])
    assert "tax_refund" in result.programs


def test_passport_waits_30_days_after_the_pre_offset_notice() -> None:
    big = case("9000.00", pre_offset_notice_date=dt.date(2025, 5, 10))
    assert [r.code for r in eligibility(big, as_of=dt.date(2025, 6, 8)).why_not("passport")] == ["NOTICE_WAIT"]
    assert "passport" in eligibility(big, as_of=dt.date(2025, 6, 9)).programs
    unnoticed = case("9000.00", pre_offset_notice_date=None)
    assert [r.code for r in eligibility(unnoticed, as_of=AS_OF).why_not("passport")] == ["NO_NOTICE"]
    assert "tax_refund" in eligibility(unnoticed, as_of=AS_OF).programs


def test_exclusions_opt_out_of_their_program_only() -> None:
    result = eligibility(case("9000.00", transaction_type="A", exclusions=["PAS", "TAX"]), as_of=AS_OF)
    assert result.programs == {"administrative", "fidm", "insurance"}
    assert [r.code for r in result.why_not("passport")] == ["EXCLUDED"]


def test_uncertifiable_components_come_out_before_the_threshold() -> None:
    result = eligibility(case("170.00"), as_of=AS_OF, not_certifiable={"fees": Decimal("25.00")})
    assert "tax_refund" not in result.programs and result.decisions["tax_refund"].arrears == Decimal("145.00")
    with pytest.raises(ValueError, match="unknown debt components"):
        eligibility(case("170.00"), as_of=AS_OF, not_certifiable={"parking_tickets": Decimal(1)})


def test_a_delete_leaves_every_program_and_unknown_case_type_is_a_reason() -> None:
    assert eligibility(case(None), as_of=AS_OF).programs == frozenset()
    reasons = {r.code for d in eligibility(case(None), as_of=AS_OF).decisions.values() for r in d.reasons}
    assert {"LEAVING", "NO_ARREARS"} <= reasons
    untyped = eligibility(case("900.00", None), as_of=AS_OF)
    assert [r.code for r in untyped.why_not("tax_refund")] == ["CASE_TYPE_UNKNOWN"]


def test_thresholds_are_data() -> None:
    doc = tomllib.loads(RULES_PATH.read_text(encoding="utf-8"))
    doc["programs"]["tax_refund"]["thresholds"]["A"]["amount"] = "100.00"
    assert "tax_refund" in eligibility(case("120.00"), as_of=AS_OF, rules=rules_from(doc)).programs
    assert "tax_refund" not in eligibility(case("120.00"), as_of=AS_OF).programs
    assert load_rules().programs["passport"].notice_wait_days == 30
    doc["programs"]["passport"]["combine"] = "sometimes"
    with pytest.raises(LayoutError, match="passport"):
        rules_from(doc)
