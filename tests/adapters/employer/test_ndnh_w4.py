"""NDNH W-4 transmission: EBCDIC and ASCII, the transmission rules, the W4 record as a NewHire."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

import adapters
from adapters.canonical import AddressType, NewHire
from adapters.employer.ndnh_w4 import NdnhW4Adapter
from adapters.errors import RecordError

from ..fixturekit import FIXTURES, run_parse

HERE = FIXTURES / "employer" / "ndnh-w4"
A = adapters.get("ndnh-w4")
ASCII = NdnhW4Adapter(encoding="ascii")


def parse(name: str) -> Any:
    return run_parse(A, (HERE / name).read_bytes())


def test_ebcdic_and_ascii_transmissions_hold_the_same_records() -> None:
    ebcdic, ascii_ = parse("w4-ebcdic-five-new-hires.dat"), parse("w4-ascii-five-new-hires.txt")
    assert ebcdic.exit == 0 and ascii_.exit == 0
    assert [(p.type, p.data) for p in ebcdic.parsed] == [(p.type, p.data) for p in ascii_.parsed]
    assert [p.canonical for p in ebcdic.parsed] == [p.canonical for p in ascii_.parsed]


def test_the_ebcdic_file_is_cp037_without_line_breaks() -> None:
    raw = (HERE / "w4-ebcdic-five-new-hires.dat").read_bytes()
    text = raw.decode("cp037")
    assert len(raw) == 7 * 801 and b"\n" not in raw and b"\x00" not in raw
    assert text[:2] == "H4" and text[13:15] == "W4" and text[801:803] == "W4" and text[-801:-799] == "T4"
    assert text.encode("ascii") == (HERE / "w4-ascii-five-new-hires.txt").read_bytes().replace(b"\n", b"")


def test_records_header_new_hires_trailer() -> None:
    out = parse("w4-ebcdic-five-new-hires.dat")
    assert [p.type for p in out.parsed] == ["header", *["new_hire"] * 5, "trailer"]
    header = out.parsed[0].data
    assert (header["transmitter_state_code"], header["date_stamp"], header["batch_number"]) == (
        "02",
        dt.date(2025, 1, 10),
        17,
    )
    assert out.parsed[-1].data == {"record_count": 5}
    hire = out.parsed[1].canonical
    assert isinstance(hire, NewHire) and hire.employee.ssn == "212345671" and hire.employer.source == "ndnh-w4"


def test_payroll_address_block_becomes_the_employers_payroll_address() -> None:
    hire = parse("w4-payroll-address-block.dat").parsed[1].canonical
    kinds = {a.address_type: a for a in hire.employer.addresses}
    assert kinds[AddressType.PAYROLL].city == "ANCHORAGE" and kinds[AddressType.EMPLOYER].zip4 == "0042"


def test_render_writes_ebcdic_by_default_and_ascii_on_request() -> None:
    out = parse("w4-ascii-five-new-hires.txt")
    records = [{"type": p.type, "data": p.data} for p in out.parsed]
    assert b"".join(A.render(records)) == (HERE / "w4-ebcdic-five-new-hires.dat").read_bytes()
    assert b"".join(ASCII.render(records)) == (HERE / "w4-ascii-five-new-hires.txt").read_bytes()


def test_render_computes_the_trailer_and_checks_a_given_count() -> None:
    out = parse("w4-ebcdic-five-new-hires.dat")
    records = [{"type": p.type, "data": p.data} for p in out.parsed[:-1]]
    rendered = run_parse(A, b"".join(A.render(records)))
    assert rendered.exit == 0 and rendered.parsed[-1].data == {"record_count": 5}
    with pytest.raises(RecordError) as info:
        b"".join(A.render([*records, {"type": "trailer", "data": {"record_count": 4}}]))
    assert info.value.code == "CONTROL_MISMATCH"


def test_new_hires_from_an_employer_file_become_a_transmission() -> None:
    """An SDNH forwards what employers reported: canonical new hires behind its own header."""
    employer_file = run_parse(
        adapters.get("new-hire"), (FIXTURES / "employer" / "new-hire" / "nh-five-employees.txt").read_bytes()
    )
    header = {"type": "header", "data": {"transmitter_state_code": "02", "date_stamp": "2025-01-10", "batch_number": 3}}
    records = [header, *({"type": p.type, "data": p.data, "canonical": p.canonical} for p in employer_file.parsed)]
    out = run_parse(A, b"".join(A.render(records)))
    assert out.exit == 0, sorted(out.codes)
    assert [p.canonical.employee.ssn for p in out.parsed[1:-1]] == [
        p.canonical.employee.ssn for p in employer_file.parsed
    ]
    assert out.parsed[-1].data == {"record_count": 5}


def test_render_refuses_what_the_ndnh_refuses() -> None:
    out = parse("w4-ebcdic-single-new-hire.dat")
    header, w4 = out.parsed[0].data, dict(out.parsed[1].data)
    w4["employee_last_name"] = "DOE III"
    with pytest.raises(RecordError) as info:
        b"".join(A.render([{"type": "header", "data": header}, {"type": "new_hire", "data": w4}]))
    assert info.value.code == "NAME_SUFFIX" and info.value.field == "employee_last_name"
    with pytest.raises(RecordError) as info:
        b"".join(A.render([{"type": "new_hire", "data": dict(out.parsed[1].data)}]))
    assert info.value.code == "RENDER_ORDER"


def test_a_bad_new_hire_is_rejected_and_still_counted() -> None:
    out = parse("invalid-ssn-area-000.dat")
    assert out.exit == 1 and [r.code for r in out.rejected] == ["SSN_INVALID"]
    assert out.rejected[0].start == 3 and out.rejected[0].line == 3
    assert out.parsed[-1].data == {"record_count": 5}  # the trailer agrees: the sender counted it


def test_records_before_the_header_are_rejected_as_the_ndnh_does() -> None:
    out = parse("invalid-record-before-header.dat")
    assert out.rejected[0].code == "NO_TRANSMISSION_HEADER" and out.file_error is not None
    assert out.file_error.code == "HEADER_NOT_FIRST" and len(out.parsed) == 7


def test_detect_in_both_encodings_only_for_w4_transmissions() -> None:
    ebcdic = (HERE / "w4-ebcdic-five-new-hires.dat").read_bytes()
    assert A.detect(ebcdic[:4096]) and A.detect(ebcdic.decode("cp037").encode("ascii")[:4096])
    text = ebcdic.decode("cp037")
    qw_like = (text[:13] + "QW" + text[15:]).encode("cp037")  # an NDNH quarterly-wage transmission header
    assert not A.detect(qw_like[:4096])
