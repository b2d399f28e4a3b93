"""NACHA files and the child support DED application, against public and our own fixtures."""

from __future__ import annotations

import datetime as dt
import gzip
import io
from decimal import Decimal
from pathlib import Path

import pytest

import adapters
from adapters.canonical import Payment
from adapters.employer.ded import DedOptions, ncp_name_element, parse_ded, render_ded
from adapters.employer.nacha_ded import NachaDedAdapter, aba_check_digit
from adapters.errors import RecordError

from ..fixturekit import FIXTURES, ROOT, run_parse

TESTDATA = ROOT.parent / "shared" / "testdata" / "nacha"
A = adapters.get("nacha-ded")
needs_testdata = pytest.mark.skipif(not TESTDATA.is_dir(), reason="shared/testdata is beside the clone in CI")


def parse_file(path: Path) -> object:
    data = path.read_bytes()
    return run_parse(A, gzip.decompress(data) if path.suffix == ".gz" else data)


# --- the public moov-io/ach files: each outcome as shared/testdata/README.md names it
PUBLIC = {
    "ccd-debit.ach": (0, set()),
    "ppd-debit.ach": (0, set()),
    "20110805A.ach": (2, {"FILE_BATCH_COUNT"}),
    "cor-example.ach": (0, set()),
    "bh-ed-ad-bh-ed-ad-ed-ad.ach": (2, {"MISSING_FILE_HEADER", "MISSING_BATCH_CONTROL", "MISSING_FILE_CONTROL"}),
    "extended-ascii.ach": (2, {"NON_ASCII"}),
    "ppd-debit-fixedLength.ach": (0, set()),
    "ppd-debit-fixedLengthInvalid.ach": (2, {"TRUNCATED"}),
    "adv-noFileControl.ach": (2, {"MISSING_FILE_CONTROL"}),
}


@needs_testdata
@pytest.mark.parametrize(("name", "expected"), PUBLIC.items(), ids=PUBLIC.keys())
def test_public_files(name: str, expected: tuple[int, set[str]]) -> None:
    out = parse_file(TESTDATA / name)
    exit_code, codes = expected
    assert out.exit == exit_code, sorted(out.codes)  # type: ignore[attr-defined]
    assert codes <= out.codes  # type: ignore[attr-defined]


@needs_testdata
def test_batch_count_error_comes_after_every_record() -> None:
    out = parse_file(TESTDATA / "20110805A.ach")
    assert not out.rejected  # type: ignore[attr-defined]
    types = [p.type for p in out.parsed]  # type: ignore[attr-defined]
    assert types.count("batch_header") == 4 and types[-1] == "file_control"
    assert out.file_error.code == "FILE_BATCH_COUNT"  # type: ignore[attr-defined]


@needs_testdata
def test_truncation_is_reported_first_and_clearly() -> None:
    out = parse_file(TESTDATA / "ppd-debit-fixedLengthInvalid.ach")
    assert out.file_error.code == "TRUNCATED" and "partial record" in out.file_error.message  # type: ignore[attr-defined]


@needs_testdata
@pytest.mark.parametrize(
    "path", sorted((TESTDATA / "crashers").glob("*.ach")) if TESTDATA.is_dir() else [], ids=lambda p: p.name
)
def test_go_crashers_give_clear_errors(path: Path) -> None:
    out = parse_file(path)
    assert out.exit == 2 and out.file_error.code  # type: ignore[attr-defined]


@needs_testdata
def test_large_ccd_file_streams_every_entry() -> None:
    out = parse_file(TESTDATA / "large" / "CCD+addenda05-200-batches-100000-entries.ach.gz")
    assert out.exit == 0  # type: ignore[attr-defined]
    entries = [p for p in out.parsed if p.type == "entry"]  # type: ignore[attr-defined]
    assert len(entries) == 100_000 and all(len(e.data["addenda"]) == 1 for e in entries[:100])


# --- the child support application
def ded_results(name: str) -> list[object]:
    return run_parse(A, (FIXTURES / "employer" / "nacha-ded" / name).read_bytes()).parsed


def test_ded_entry_becomes_a_canonical_payment() -> None:
    entries = [p for p in ded_results("ded-five-cases.ach") if p.type == "entry"]  # type: ignore[attr-defined]
    payments = [e.canonical for e in entries]  # type: ignore[attr-defined]
    assert all(isinstance(p, Payment) for p in payments)
    first = payments[0]
    assert (first.case_id, first.pay_date, first.amount, first.ssn, first.medical_support) == (
        "CS00000001",
        dt.date(2025, 1, 10),
        Decimal("250.00"),
        "212345671",
        "N",
    )
    assert first.company_identification == "1234567890" and first.trace_number == "076401250000001"
    assert [p.ncp_name for p in payments[:2]] == ["SAMPLEJAN", "DOE,JOH"]
    assert sum(p.amount for p in payments) == Decimal("1474.51")


def test_termination_report_with_zero_amount() -> None:
    entry = next(p for p in ded_results("ded-termination-zero-amount.ach") if p.type == "entry")  # type: ignore[attr-defined]
    assert entry.canonical.employment_termination and entry.canonical.amount == 0  # type: ignore[attr-defined]
    assert entry.canonical.ncp_name is None and entry.canonical.fips is None  # type: ignore[attr-defined]


def test_rejected_entry_does_not_stop_the_others() -> None:
    out = run_parse(A, (FIXTURES / "employer" / "nacha-ded" / "invalid-ded-ssn-area-000.ach").read_bytes())
    assert [r.code for r in out.rejected] == ["DED_SSN"]
    assert out.rejected[0].field == "payment_related_information" and out.rejected[0].line == 6
    assert sum(1 for p in out.parsed if p.type == "entry") == 4 and out.file_error is None


def test_framings_give_the_same_records() -> None:
    base = [(p.type, p.data) for p in ded_results("ded-five-cases.ach")]  # type: ignore[attr-defined]
    for name in ("ded-crlf-line-endings.ach", "ded-fixed-length-no-line-breaks.ach"):
        assert [(p.type, p.data) for p in ded_results(name)] == base  # type: ignore[attr-defined]


ORIGINATOR = {
    "immediate_destination": "231380104",
    "immediate_origin": "1234567890",
    "file_creation_date": "2025-02-03",
    "company_name": "EXAMPLE CO",
    "company_identification": "9988776655",
    "odfi_identification": "07640125",
    "receiving_routing_number": "231380104",
    "receiving_account_number": "12345",
}


def test_render_from_payments_builds_a_valid_file() -> None:
    pays = [
        {
            "type": "payment",
            "data": {
                "case_id": f"K{i}",
                "pay_date": "2025-01-31",
                "amount": f"{i}.25",
                "ssn": "212345671",
                "medical_support": "Y",
                "last_name": "DOE",
                "first_name": "JOHN",
            },
        }
        for i in range(1, 13)
    ]
    data = b"".join(A.render([{"type": "originator", "data": ORIGINATOR}, *pays]))
    lines = data.splitlines()
    assert len(lines) % 10 == 0 and all(len(line) == 94 for line in lines)
    out = run_parse(A, data)
    assert out.exit == 0, sorted(out.codes)
    payments = [p.canonical for p in out.parsed if p.canonical is not None]
    assert len(payments) == 12 and payments[0].ncp_name == "DOE,JOH"
    control = out.parsed[-1].data
    assert control["entry_addenda_count"] == 24 and control["total_credit_amount"] == Decimal("81.00")


def test_render_refuses_stale_control_totals() -> None:
    first = run_parse(A, (FIXTURES / "employer" / "nacha-ded" / "ded-five-cases.ach").read_bytes())
    records = [{"type": p.type, "data": dict(p.data)} for p in first.parsed]
    records[-2]["data"]["total_credit_amount"] = Decimal("1.00")
    with pytest.raises(RecordError, match="total_credit_amount"):
        b"".join(A.render(records))


# --- DED segment rules
@pytest.mark.parametrize(
    ("segment", "code"),
    [
        ("DED*CS*C1*250110*100*212345671\\", "DED_SYNTAX"),  # DED06 missing
        ("DED*CS*C1*250110*100*212345671*N", "DED_SYNTAX"),  # no terminator
        ("DED*CS* C1*250110*100*212345671*N\\", "DED_CASE_ID"),  # leading space
        ("DED*CS*C1*250110*1.00*212345671*N\\", "DED_AMOUNT"),  # decimal point
        ("DED*CS*C1*250110*100*21234567*N\\", "DED_SSN_FORMAT"),
        ("DED*CS*C1*250110*100*212345671*N*ELEVENCHARS\\", "DED_NAME"),
        ("DED*CS*C1*250110*100*212345671*N***N\\", "DED_TERMINATION"),
        ("DED*CS*C1*250110*100*212345671*N*A*B*Y*EXTRA\\", "DED_SYNTAX"),
    ],
)
def test_ded_rules(segment: str, code: str) -> None:
    with pytest.raises(RecordError) as info:
        parse_ded(segment)
    assert info.value.code == code and "212345671" not in info.value.message


def test_ded_ctx_dates_and_zero_padding_are_options() -> None:
    opts = DedOptions(zero_pad_amount=True, ctx_dates=True)
    seg = render_ded(
        {
            "application_id": "CS",
            "case_id": "C1",
            "pay_date": dt.date(2025, 1, 10),
            "amount": Decimal("5.00"),
            "ssn": "212345671",
            "medical_support": "N",
        },
        opts,
    )
    assert seg == "DED*CS*C1*20250110*0000000500*212345671*N\\"
    assert parse_ded(seg, opts)["pay_date"] == dt.date(2025, 1, 10)
    with pytest.raises(RecordError):
        parse_ded(seg)  # a CCD+ reader expects YYMMDD


def test_ncp_name_element_rule() -> None:
    assert ncp_name_element("Doe", "John") == "DOE,JOH"
    assert ncp_name_element("Smithson", "John") == "SMITHSOJOH"


def test_aba_check_digit() -> None:
    assert aba_check_digit("23138010") == 4 and aba_check_digit("07640125") == 1


def test_adapter_is_reusable_and_streams_from_any_reader() -> None:
    data = (FIXTURES / "employer" / "nacha-ded" / "ded-single-payment.ach").read_bytes()
    adapter = NachaDedAdapter()
    first = [r.record_no for r in adapter.parse(io.BytesIO(data))]
    again = [r.record_no for r in adapter.parse(io.BufferedReader(io.BytesIO(data), 16))]
    assert first == again == [1, 2, 3, 4, 5]


def test_payments_beyond_one_batch_start_a_new_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    """The batch count field is 6 digits: a large remittance is split into batches, never overflowed."""
    from adapters.employer import nacha_ded

    monkeypatch.setattr(nacha_ded, "MAX_BATCH_ENTRIES", 3)
    pays = [
        {
            "type": "payment",
            "data": {
                "case_id": f"K{i}",
                "pay_date": "2025-01-31",
                "amount": "10.00",
                "ssn": "212345671",
                "medical_support": "N",
            },
        }
        for i in range(7)
    ]
    out = run_parse(A, b"".join(A.render([{"type": "originator", "data": ORIGINATOR}, *pays])))
    assert out.exit == 0, sorted(out.codes)
    headers = [p.data["batch_number"] for p in out.parsed if p.type == "batch_header"]
    assert headers == [1, 2, 3]
    assert [p.data["entry_addenda_count"] for p in out.parsed if p.type == "batch_control"] == [6, 6, 2]
    assert out.parsed[-1].data["batch_count"] == 3 and out.parsed[-1].data["entry_addenda_count"] == 14
