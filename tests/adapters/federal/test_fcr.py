"""FCR input and response files: canonical mapping, record rules, file rules, rendering."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal
from typing import Any

import pytest

import adapters
from adapters.base import Parsed, Rejected
from adapters.canonical import (
    AuthorizedPurpose,
    Case,
    FviStatus,
    LocateMatchType,
    LocateRequest,
    LocateResult,
    NewHire,
    Person,
    PersonName,
    UIClaim,
    WageRecord,
)
from adapters.errors import FileStructureError, RecordError
from adapters.federal.common import code_rows

from ..fixturekit import FIXTURES, run_parse
from .jsonkit import json_round_trip

IN = adapters.get("fcr-input")
OUT = adapters.get("fcr-response")
IN_DIR = FIXTURES / "federal" / "fcr-input"
OUT_DIR = FIXTURES / "federal" / "fcr-response"


def parsed(key_dir: Any, name: str) -> list[Parsed]:
    adapter = IN if key_dir is IN_DIR else OUT
    out = run_parse(adapter, (key_dir / name).read_bytes())
    assert out.exit == 0, sorted(out.codes)
    return out.parsed


def details(records: list[Parsed]) -> list[Parsed]:
    return [p for p in records if p.canonical is not None]


# --------------------------------------------------------------------------- input


def test_locate_request_becomes_canonical_with_purpose_and_sources() -> None:
    (req,) = details(parsed(IN_DIR, "input-locate-named-sources.txt"))
    model = req.canonical
    assert isinstance(model, LocateRequest)
    assert model.request_type == "CS" and model.purpose is AuthorizedPurpose.CHILD_SUPPORT
    assert model.sources == ["A01", "C01", "E01", "F01", "H97", "H98", "H99", "E05"]
    assert model.person.member_id == "M700" and model.case_id == "CS0007"


@pytest.mark.parametrize(
    ("name", "purpose"),
    [
        ("input-locate-parental-kidnapping-irs1099.txt", AuthorizedPurpose.PARENTAL_KIDNAPPING),
        ("input-locate-custody-visitation.txt", AuthorizedPurpose.CUSTODY_VISITATION),
    ],
)
def test_purpose_follows_the_request_type_table(name: str, purpose: AuthorizedPurpose) -> None:
    (req,) = details(parsed(IN_DIR, name))
    assert req.canonical.purpose is purpose


def test_fvi_set_and_clear_travel_on_a_person_change() -> None:
    (on,) = details(parsed(IN_DIR, "input-fvi-set.txt"))
    (off,) = details(parsed(IN_DIR, "input-fvi-clear.txt"))
    assert on.data["family_violence"] == "FV" and on.canonical.family_violence is True
    assert off.data["family_violence"] is None and off.canonical.family_violence is False
    assert on.data["action_type"] == off.data["action_type"] == "C"


def test_case_record_becomes_canonical_case() -> None:
    case = details(parsed(IN_DIR, "input-case-add-non-ivd-no-order.txt"))[0].canonical
    assert isinstance(case, Case)
    assert (case.case_id, case.case_type, case.has_order, case.fips) == ("NV0002", "NON-IV-D", False, "20173")


def test_canonical_models_render_as_input_records_and_read_back() -> None:
    """A locate request built by the case feed (no byte positions) goes out and reads back equal."""
    originals = [p.canonical for p in details(parsed(IN_DIR, "input-mixed-batch.txt"))]
    header = parsed(IN_DIR, "input-mixed-batch.txt")[0]
    records = [{"type": header.type, "data": header.data}] + [{"type": m.kind, "canonical": m} for m in originals]
    again = run_parse(IN, b"".join(IN.render(records)))
    assert again.exit == 0, sorted(again.codes)
    assert [p.canonical for p in details(again.parsed)] == originals


def test_render_from_a_fresh_locate_request() -> None:
    person = Person(role="NCP", ssn="231456789", name=PersonName(first="SAMPLE", last="TESTER"), member_id="P1")
    req = LocateRequest(
        person=person, case_id="C1", request_type="PK", purpose="parental_kidnapping", sources=["A01", "C01"]
    )
    header = {
        "type": "input_header",
        "data": {
            "state_code": "20",
            "version_control_number": "15.00",
            "batch_number": "1",
            "date_stamp": "2025-03-03",
        },
    }
    text = b"".join(IN.render([header, {"type": "locate_request", "canonical": req}]))
    lines = text.splitlines()
    assert [line[:2] for line in lines] == [b"FA", b"FP", b"FZ"]
    assert lines[1][2:3] == b"L" and lines[1][38:40] == b"PK" and lines[1][526:532] == b"A01C01"
    assert lines[2][2:10] == b"00000001"


def test_render_refuses_what_does_not_fit() -> None:
    header = {
        "type": "input_header",
        "data": {
            "state_code": "20",
            "version_control_number": "15.00",
            "batch_number": "1",
            "date_stamp": dt.date(2025, 3, 3),
        },
    }
    too_long = {
        "type": "input_case",
        "data": {"action_type": "A", "case_id": "C" * 16, "state_code": "20", "case_type": "F", "order_indicator": "Y"},
    }
    with pytest.raises(RecordError) as info:
        b"".join(IN.render([header, too_long]))
    assert info.value.field == "case_id"
    with pytest.raises(RecordError) as order:
        b"".join(IN.render([too_long]))
    assert order.value.code == "RENDER_ORDER"
    with pytest.raises(RecordError) as wrong:
        b"".join(IN.render([header, {"type": "input_trailer", "data": {"record_count": 5}}]))
    assert wrong.value.code == "CONTROL_MISMATCH"


def test_bad_record_is_rejected_with_positions_and_the_rest_flows() -> None:
    data = (IN_DIR / "invalid-locate-cs-on-non-ivd-case.txt").read_bytes()
    out = run_parse(IN, data)
    (bad,) = out.rejected
    assert (bad.code, bad.field, bad.start, bad.end, bad.line) == (
        "LOCATE_TYPE_CASE_TYPE",
        "locate_request_type",
        39,
        40,
        3,
    )
    assert [p.type for p in out.parsed] == ["input_header", "input_case", "input_trailer"]


def test_file_error_comes_after_every_record() -> None:
    results = list(_drain(IN, (IN_DIR / "invalid-trailer-count.txt").read_bytes()))
    assert isinstance(results[-1], FileStructureError) and results[-1].code == "TRAILER_COUNT"
    assert [r.type for r in results[:-1] if isinstance(r, Parsed)][-1] == "input_trailer"


def _drain(adapter: Any, data: bytes) -> list[Parsed | Rejected | FileStructureError]:
    out: list[Parsed | Rejected | FileStructureError] = []
    try:
        out.extend(adapter.parse(io.BytesIO(data)))
    except FileStructureError as exc:
        out.append(exc)
    return out


def test_detect_tells_the_directions_apart() -> None:
    i = (IN_DIR / "input-mixed-batch.txt").read_bytes()
    o = (OUT_DIR / "response-mixed-locate-batch.txt").read_bytes()
    assert (IN.detect(i), IN.detect(o), OUT.detect(o), OUT.detect(i)) == (True, False, True, False)
    assert IN.detect(i.replace(b"\n", b"")[:4096]) and OUT.detect(o.replace(b"\n", b"\r\n")[:4096])
    assert not IN.detect(i[:100])  # a header cut short is not a header of this record length


# --------------------------------------------------------------------------- responses


def test_ndnh_quarterly_wage_match_carries_a_wage_record() -> None:
    (fn,) = details(parsed(OUT_DIR, "response-fn-qw-ndnh-proactive.txt"))
    result = fn.canonical
    assert isinstance(result, LocateResult) and isinstance(result.income, WageRecord)
    assert (result.source_agency_code, result.match_type, result.date_reported) == (
        "H98",
        LocateMatchType.NDNH_PROACTIVE,
        dt.date(2025, 3, 10),
    )
    wage = result.income
    assert (wage.year, wage.quarter, wage.wage_amount, wage.employer_fein) == (2024, 4, Decimal("8123.45"), "481234567")
    assert result.employers[0].addresses[0].city == "WICHITA"


def test_ndnh_ui_and_w4_matches() -> None:
    (ui,) = details(parsed(OUT_DIR, "response-fn-ui-locate.txt"))
    (w4,) = details(parsed(OUT_DIR, "response-fn-w4-fcr-proactive.txt"))
    assert isinstance(ui.canonical.income, UIClaim) and ui.canonical.match_type is LocateMatchType.LOCATE_RESPONSE
    assert (ui.canonical.income.benefit_amount, ui.canonical.income.quarter) == (Decimal("2400.00"), 1)
    assert ui.canonical.addresses[0].line1 == "100 MAIN ST"  # the claimant's address on UI
    assert isinstance(w4.canonical.income, NewHire) and w4.canonical.income.hire_date == dt.date(2025, 2, 17)
    assert w4.canonical.match_type is LocateMatchType.FCR_PROACTIVE


def test_foreign_qw_address_keeps_its_fips_country() -> None:
    (fn,) = details(parsed(OUT_DIR, "response-fn-qw-foreign-address.txt"))
    address = fn.canonical.employers[0].addresses[0]
    assert (address.country, address.foreign_postal_code, address.state) == ("CA", "H2X 1Y4", None)


@pytest.mark.parametrize(
    "name",
    [
        "response-ff-family-violence-blocked.txt",
        "response-fn-family-violence-blocked.txt",
        "response-ft-family-violence-withheld.txt",
    ],
)
def test_family_violence_blocks_every_location(name: str) -> None:
    (rec,) = details(parsed(OUT_DIR, name))
    result = rec.canonical
    assert result.fvi is FviStatus.BLOCKED
    assert not result.addresses and not result.employers and result.income is None


def test_the_model_refuses_income_on_a_blocked_result() -> None:
    wage = WageRecord(employee_ssn="231456789", employer_name="X", year=2024, quarter=1, wage_amount="1.00")
    with pytest.raises(ValueError, match="family violence"):
        LocateResult(fvi=FviStatus.BLOCKED, income=wage)


def test_every_external_source_is_named_by_its_agency_code() -> None:
    codes = {}
    for path in sorted(OUT_DIR.glob("response-f[fkn]-*.txt")):
        for p in details(parsed(OUT_DIR, path.name)):
            codes[p.canonical.source_agency_code] = p.type
    table = {c: r["record"] for c, r in code_rows("fcr_locate_agency").items()}
    assert {
        "A01",
        "A02",
        "A03",
        "C01",
        "E01",
        "E03",
        "F01",
        "E05",
        "E06",
        "E07",
        "E10",
        "H01",
        "H97",
        "H98",
        "H99",
    } <= set(codes)
    record_of_type = {"locate_response": "FF", "sves_response": "FK", "ndnh_response": "FN"}
    assert all(table[code] == record_of_type[rtype] for code, rtype in codes.items())


def test_proactive_match_names_the_other_states_case() -> None:
    (ft,) = details(parsed(OUT_DIR, "response-ft-proactive-person.txt"))
    result = ft.canonical
    assert result.match_type is LocateMatchType.FCR_PROACTIVE and result.response_code == "MA"
    assert (result.extra["matched_state"], result.extra["matched_case_id"], result.extra["associated_persons"]) == (
        "29",
        "MO778899",
        1,
    )
    assert result.person.role == "NCP"


def test_rejected_ack_echoes_bad_values_and_still_reads() -> None:
    (ack,) = [p for p in parsed(OUT_DIR, "response-person-ack-rejected-echoes-bad-ssn.txt") if p.type == "person_ack"]
    assert ack.data["acknowledgement_code"] == "REJCT" and ack.data["error_code_1"] == "PE002"
    assert ack.data["ssn"] == "000123456"  # echoed as sent: the FCR rejected it, we must still read why


def test_reconciliation_gives_the_person_as_the_fcr_holds_them() -> None:
    people = [p.canonical for p in details(parsed(OUT_DIR, "response-reconciliation.txt"))]
    assert [(p.role, p.family_violence) for p in people] == [("NCP", False), ("CP", True), ("CHILD", False)]
    assert people[0].dob == dt.date(1985, 3, 14)


def test_no_personal_data_in_a_canonical_error() -> None:
    out = run_parse(OUT, (OUT_DIR / "invalid-ff-address-state-not-usps.txt").read_bytes())
    (bad,) = out.rejected
    assert bad.code == "CANONICAL_INVALID" and "231456789" not in bad.message and "TOPEKA" not in bad.message


@pytest.mark.parametrize(
    ("key", "path"),
    [
        ("fcr-input", IN_DIR / "input-mixed-batch.txt"),
        ("fcr-response", OUT_DIR / "response-mixed-locate-batch.txt"),
        ("fcr-response", OUT_DIR / "response-person-ack-corrected-ssn.txt"),
    ],
)
def test_json_parse_render_gives_back_the_same_bytes(key: str, path: Any) -> None:
    """What ``csgate parse`` prints (dates as ISO text, amounts as decimal text) renders the identical file."""
    assert json_round_trip(adapters.get(key), path.read_bytes()) == path.read_bytes()
