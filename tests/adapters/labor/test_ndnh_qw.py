"""NDNH quarterly wage (QW) adapter: employer linkage, EBCDIC, the header rule, trailer totals, a
replaced layout, and bounded memory on a large file. Fixture outcomes are in the conformance suite."""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import os
import subprocess
import sys
import tracemalloc
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from adapters.base import DeferredParsed, Parsed
from adapters.canonical import USPS_STATE_CODES, Employer, WageRecord
from adapters.errors import LayoutError, RecordError
from adapters.labor import ndnh_qw
from adapters.labor.ndnh_qw import NdnhQwAdapter, NdnhQwEbcdicAdapter
from adapters.labor.ndnh_ui import NdnhUiEbcdicAdapter
from adapters.layout import load_codes
from gateway.cli import main

from ..fixturekit import as_render_input
from .kit import FIXTURES, ROOT, drain, flipped, kinds, parsed, rejected, swapped_mappings, with_field

QW, QWE = NdnhQwAdapter(), NdnhQwEbcdicAdapter()
ONE = (FIXTURES / "ndnh-qw" / "qw-single-employer.txt").read_bytes()
SEVERAL = (FIXTURES / "ndnh-qw" / "qw-several-employers.txt").read_bytes()

# ---------------------------------------------------------------- canonical records and linkage


def test_wage_records_carry_their_employer() -> None:
    results, err = drain(QW, SEVERAL)
    assert err is None
    assert kinds(results) == [
        "header",
        "employer",
        "wage",
        "employer",
        *["wage"] * 4,
        "employer",
        "wage",
        "wage",
        "trailer",
    ]
    wages = [r.canonical for r in results if r.type == "wage"]
    assert all(isinstance(w, WageRecord) for w in wages)
    assert [w.employer_fein for w in wages] == ["123456789", *["201234567"] * 4, *["451234567"] * 2]
    w = wages[1]
    assert w.employee_ssn == "401223344" and w.employee_name is not None
    assert (w.employee_name.first, w.employee_name.last) == ("JANELLE", "TESTERSON")
    assert (w.wage_amount, w.year, w.quarter) == (Decimal("1000.00"), 2025, 1)
    assert w.employer_name == "BLUE RIVER HEALTH SYSTEM" and w.employer_address is not None
    assert (w.employer_address.city, w.employer_address.zip5, w.employer_address.state) == ("FRESNO", "93721", "CA")
    assert wages[-1].employer_state_ein == "CA-0042-17"
    employer = results[1].canonical
    assert isinstance(employer, Employer) and employer.fein == "123456789" and employer.source == "ndnh-qw"


def test_canonical_wage_record_is_built_on_first_read(monkeypatch: pytest.MonkeyPatch) -> None:
    built: list[str] = []
    real = ndnh_qw.wage_record

    def counting(data: dict[str, Any], link: Any) -> WageRecord:
        built.append(data["employee_ssn"])
        return real(data, link)

    monkeypatch.setattr(ndnh_qw, "wage_record", counting)
    wages = [r for r in drain(QW, ONE)[0] if r.type == "wage"]
    assert len(wages) == 3 and all(isinstance(w, DeferredParsed) for w in wages) and built == []
    first = wages[0].canonical
    assert wages[0].canonical is first and built == ["212345671"]


def test_foreign_address_and_extra_fields_reach_the_canonical_records() -> None:
    results, _ = drain(QW, (FIXTURES / "ndnh-qw" / "qw-foreign-employer-address.txt").read_bytes())
    address = results[1].canonical.addresses[0]
    assert (address.country, address.state, address.zip5, address.foreign_postal_code) == ("CA", None, None, "K1A 0B1")
    results, _ = drain(QW, (FIXTURES / "ndnh-qw" / "qw-optional-employer-fields.txt").read_bytes())
    assert results[2].canonical.extra == {"employer": {"employer_fips_code": "06067"}}
    results, _ = drain(QW, (FIXTURES / "ndnh-qw" / "qw-user-field-lower-case.txt").read_bytes())
    assert results[2].canonical.extra == {"user_field": "batch a-17 ok"}


def test_wages_of_a_rejected_or_missing_employer_are_rejected() -> None:
    bad_employer = with_field(QW, ONE, 2, "employer", "employer_fein", "071234567")  # IRS never assigns prefix 07
    results, err = drain(QW, bad_employer)
    assert err is None
    assert kinds(results) == ["header", "!FEIN_INVALID", *["!EMPLOYER_REJECTED"] * 3, "trailer"]
    assert "line 2" in rejected(results)[1].message
    lines = ONE.split(b"\n")
    no_employer = b"\n".join([lines[0], *lines[2:]]).replace(b"T400000000001", b"T400000000000")
    assert kinds(drain(QW, no_employer)[0]) == ["header", *["!WAGE_WITHOUT_EMPLOYER"] * 3, "trailer"]


# ---------------------------------------------------------------- ASCII and EBCDIC


def test_ebcdic_round_trip_is_the_cp037_image_of_the_ascii_file() -> None:
    ascii_records = parsed(drain(QW, SEVERAL)[0])
    ebcdic = b"".join(QWE.render(as_render_input(ascii_records)))
    # the NDNH's form: the same characters in cp037, fixed-length records with no line breaks
    assert ebcdic == SEVERAL.replace(b"\n", b"").decode("ascii").encode("cp037")
    assert len(ebcdic) % 375 == 0 and b"\n" not in ebcdic
    results, err = drain(QWE, ebcdic)
    assert err is None
    assert [(p.type, p.data) for p in parsed(results)] == [(p.type, p.data) for p in ascii_records]
    assert results[2].canonical == ascii_records[2].canonical
    assert b"".join(QW.render(as_render_input(parsed(results)))) == SEVERAL


def test_detect_tells_the_encodings_and_formats_apart() -> None:
    ebcdic = (FIXTURES / "ndnh-qw-ebcdic" / "qw-single-employer.ebc").read_bytes()
    assert QWE.detect(ebcdic) and not QW.detect(ebcdic) and not NdnhUiEbcdicAdapter().detect(ebcdic)
    assert QW.detect(ONE) and not QWE.detect(ONE)
    assert NdnhQwAdapter(encoding="cp500").detect(ONE.decode("ascii").encode("cp500"))


def run_cli(*args: str) -> int:
    with pytest.raises(SystemExit) as info:
        main(list(args))
    return int(info.value.code or 0)


def test_csgate_convert_between_ascii_and_ebcdic(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = FIXTURES / "ndnh-qw" / "qw-several-employers.txt"
    ebc, back = tmp_path / "qw.ebc", tmp_path / "qw.txt"
    assert run_cli("convert", "--from", "ndnh-qw", "--to", "ndnh-qw-ebcdic", str(src), "-o", str(ebc)) == 0
    assert ebc.read_bytes() == SEVERAL.replace(b"\n", b"").decode("ascii").encode("cp037")
    assert run_cli("detect", str(ebc)) == 0
    assert capsys.readouterr().out.strip() == "ndnh-qw-ebcdic"
    assert run_cli("convert", "--from", "ndnh-qw-ebcdic", "--to", "ndnh-qw", str(ebc), "-o", str(back)) == 0
    assert back.read_bytes() == SEVERAL


# ---------------------------------------------------------------- transmission rules


def test_records_before_the_header_are_rejected_until_it_is_found() -> None:
    lines = ONE.split(b"\n")
    stray = lines[1] + b"\n" + lines[2] + b"\n"  # an employer and a wage record before the header
    results, err = drain(QW, stray + ONE)
    assert kinds(results) == [
        "!NO_TRANSMISSION_HEADER",
        "!NO_TRANSMISSION_HEADER",
        "header",
        "employer",
        "wage",
        "wage",
        "wage",
        "trailer",
    ]
    assert err is not None and [c for c, _ in err.problems] == ["HEADER_NOT_FIRST"]
    assert "line 3" in err.message and "2 record(s)" in err.message
    assert rejected(results)[0].type == "employer" and rejected(results)[1].type == "wage"
    results, err = drain(QW, b"\n".join(lines[1:]))  # no header at all: nothing is accepted
    assert kinds(results) == ["!NO_TRANSMISSION_HEADER"] * 5
    assert err is not None and err.code == "MISSING_HEADER" and "all 5 records" in err.message


def test_records_between_a_trailer_and_the_next_header_are_rejected() -> None:
    lines = ONE.split(b"\n")
    results, err = drain(QW, ONE + lines[2] + b"\n" + ONE)
    assert kinds(results)[6:8] == ["!NO_TRANSMISSION_HEADER", "header"]
    assert err is not None and err.code == "RECORD_AFTER_TRAILER" and "line 7" in err.message


def test_trailer_counts_and_totals_are_file_errors_after_the_records() -> None:
    bad = with_field(QW, ONE, 6, "trailer", "employee_count", "00000000004")
    bad = with_field(QW, bad, 6, "trailer", "total_wages", "000000000000100")
    results, err = drain(QW, bad)
    assert kinds(results) == ["header", "employer", "wage", "wage", "wage", "trailer"]  # every record first
    assert err is not None and [c for c, _ in err.problems] == ["TRAILER_COUNT", "TRAILER_TOTAL"]
    assert "employee_count is 4, the transmission gives 3" in err.problems[0][1]
    assert "total_wages is 1.00, the transmission gives 13330.67" in err.problems[1][1]


def test_rejected_records_still_count_toward_the_trailer() -> None:
    lower = with_field(QW, ONE, 3, "wage", "last_name", "Testerson".ljust(30))
    results, err = drain(QW, lower)
    assert err is None and kinds(results) == ["header", "employer", "!LOWER_CASE", "wage", "wage", "trailer"]
    unreadable = with_field(QW, ONE, 3, "wage", "wage_amount", "0000012345X")
    _, err = drain(QW, unreadable)
    assert err is not None and err.code == "TRAILER_TOTAL" and "1 rejected record(s) had no readable" in err.message


def test_render_writes_the_trailer_and_refuses_a_wrong_one() -> None:
    records = as_render_input(parsed(drain(QW, ONE)[0]))
    assert b"".join(QW.render(records[:-1])) == ONE  # trailer computed when it is left out
    wrong = [*records[:-1], {"type": "trailer", "data": {**records[-1]["data"], "employee_count": 2}}]
    with pytest.raises(RecordError) as info:
        b"".join(QW.render(wrong))
    assert info.value.code == "CONTROL_MISMATCH" and info.value.field == "employee_count"


@pytest.mark.parametrize(
    ("change", "code"),
    [
        (lambda r: [r[0], r[2]], "RENDER_ORDER"),  # a wage with no employer before it
        (lambda r: r[1:], "RENDER_ORDER"),  # no header
        (lambda r: [*r[:2], {"type": "bonus", "data": {}}], "RENDER_TYPE"),
        (lambda r: [*r[:2], {"type": "wage", "data": {**r[2]["data"], "last_name": "TESTERSON SR"}}], "NAME_SUFFIX"),
        (lambda r: [*r[:2], {"type": "wage", "data": {**r[2]["data"], "last_name": "Testerson"}}], "CHARSET"),
        (lambda r: [*r[:2], {"type": "wage", "data": {**r[2]["data"], "reporting_year": 1850}}], "REPORTING_PERIOD"),
        (lambda r: [r[0], {"type": "employer", "data": {**r[1]["data"], "country_code": "MX"}}], "FOREIGN_ADDRESS"),
        (lambda r: [{"type": "header", "data": {**r[0]["data"], "transmitter_state_code": None}}], "TRANSMITTER_ID"),
    ],
)
def test_render_refuses_what_the_ndnh_would_reject(change: Any, code: str) -> None:
    records = as_render_input(parsed(drain(QW, ONE)[0]))
    with pytest.raises(RecordError) as info:
        b"".join(QW.render(change(records)))
    assert info.value.code == code


def test_render_accepts_parse_json_values() -> None:
    """``csgate render`` feeds ISO dates and decimal strings: they render like the typed values."""
    records = as_render_input(parsed(drain(QW, ONE)[0]))
    as_json = json.loads(json.dumps(records, default=str))
    assert b"".join(QW.render(as_json)) == ONE


# ---------------------------------------------------------------- a replaced layout, no code change

ALT_LINES = [
    "A" + "NDNHQW" + "06" + "20250430" + "000042",
    "B"
    + "SUMMIT PAYROLL SERVICES".ljust(50)
    + "SACRAMENTO".ljust(30)
    + "CA"
    + "95814"
    + "9 CAPITOL MALL".ljust(60)
    + "271234567"
    + "541211",
    "C" + "TESTERSON".ljust(35) + "JANELLE".ljust(20) + "212345671" + "3" + "2025" + "0000000250050" + "0480",
    "C" + "EXAMPLEBERG".ljust(35) + "WEI".ljust(20) + "401223344" + "3" + "2025" + "0000000100000" + "    ",
    "Z" + "000000002",
]
ALT_FILE = "".join(line.ljust(400) + "\n" for line in ALT_LINES).encode("ascii")


def test_a_second_layout_parses_without_code_changes(tmp_path: Path) -> None:
    alt = NdnhQwAdapter(mappings=swapped_mappings(tmp_path, "ndnh-qw"))
    assert alt.spec.length == 400 and alt.detect(ALT_FILE) and not QW.detect(ALT_FILE)
    results, err = drain(alt, ALT_FILE)
    assert err is None and kinds(results) == ["header", "employer", "wage", "wage", "trailer"]
    w = results[2].canonical
    assert (w.employee_ssn, w.employer_fein, w.employer_name) == ("212345671", "271234567", "SUMMIT PAYROLL SERVICES")
    assert (w.wage_amount, w.year, w.quarter) == (Decimal("2500.50"), 2025, 3)
    assert w.employer_address is not None and w.employer_address.line1 == "9 CAPITOL MALL"
    assert w.extra == {"hours_worked": 480, "employer": {"naics_code": "541211"}}
    assert results[0].data["date_stamp"] == dt.date(2025, 4, 30)
    # the alternative trailer's own total is checked; its EBCDIC form works the same way
    _, err = drain(alt, ALT_FILE.replace(b"Z000000002", b"Z000000003"))
    assert err is not None and err.code == "TRAILER_COUNT"
    alt_ebcdic = NdnhQwEbcdicAdapter(mappings=swapped_mappings(tmp_path / "e", "ndnh-qw"))
    ebcdic = b"".join(alt_ebcdic.render(as_render_input(parsed(results))))
    assert ebcdic == ALT_FILE.replace(b"\n", b"").decode("ascii").encode("cp037")
    assert b"".join(alt.render(as_render_input(parsed(drain(alt_ebcdic, ebcdic)[0])))) == ALT_FILE
    assert drain(QW, ALT_FILE)[1] is not None  # the shipped layout does not read it


def test_csgate_reads_a_replaced_layout_through_csgate_mappings(tmp_path: Path) -> None:
    path = tmp_path / "alt.txt"
    path.write_bytes(ALT_FILE)
    env = {**os.environ, "CSGATE_MAPPINGS": str(swapped_mappings(tmp_path, "ndnh-qw"))}
    proc = subprocess.run(
        [sys.executable, "-m", "gateway.cli", "parse", "--format", "ndnh-qw", str(path)],
        capture_output=True,
        env=env,
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    lines = [json.loads(x) for x in proc.stdout.splitlines()]
    assert [x["type"] for x in lines] == ["header", "employer", "wage", "wage", "trailer"]
    assert lines[2]["data"]["hours_worked"] == 480 and lines[3]["data"]["wage_amount"] == "1000.00"


def alt_copy(tmp_path: Path, edits: list[tuple[str, str, str]]) -> Path:
    root = swapped_mappings(tmp_path, "ndnh-qw")
    for name, old, new in edits:
        path = root / "labor" / "ndnh-qw" / name
        text = path.read_text()
        assert old in text, (name, old)
        path.write_text(text.replace(old, new))
    return root


@pytest.mark.parametrize(
    ("edits", "message"),
    [
        ([("_file.toml", 'wage = "pay.toml"\n', "")], "must name exactly the roles"),
        ([("pay.toml", 'type = "amount", decimals = 2', 'type = "digits"')], "must be of type amount"),
        ([("pay.toml", 'name = "employee_ssn"', 'name = "ssn"')], "needs field 'employee_ssn'"),
        ([("firm.toml", 'table = "usps_state"', 'table = "fips_state"')], "codes the canonical model refuses"),
        ([("tail.toml", "length = 400", "length = 401"), ("tail.toml", "length = 390", "length = 391")], "same length"),
        ([("_file.toml", '"count wage"', '"sum wage.first_name"')], "not a numeric field"),
        ([("head.toml", 'type = "constant", value = "A"', 'type = "alnum"')], "record identifier"),
        ([("head.toml", 'value = "A"', 'value = "C"')], "share identifier"),
    ],
)
def test_a_layout_the_adapter_cannot_read_fails_at_load(tmp_path: Path, edits: Any, message: str) -> None:
    with pytest.raises(LayoutError, match=message):
        NdnhQwAdapter(mappings=alt_copy(tmp_path, edits))


# ---------------------------------------------------------------- robustness and scale


def test_every_record_that_parses_builds_its_canonical_record() -> None:
    """Canonical records are built late, so parsing must already enforce every rule the model has."""
    for adapter, name in (
        (QW, "ndnh-qw/qw-several-employers.txt"),
        (QWE, "ndnh-qw-ebcdic/qw-territories.ebc"),
        (QW, "ndnh-qw/qw-foreign-employer-address.txt"),
    ):
        for data in flipped((FIXTURES / name).read_bytes(), name):
            for r in parsed(drain(adapter, data)[0]):
                assert r.type not in ("employer", "wage") or r.canonical is not None


def test_usps_code_table_is_the_canonical_set() -> None:
    assert set(load_codes("usps_state")) == USPS_STATE_CODES


def load_generator() -> Any:
    spec = importlib.util.spec_from_file_location("gen_qw", ROOT / "bench" / "gen_qw.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def large_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A generated 50k-wage QW file, in ASCII lines and as its cp037 fixed-length image."""
    folder = tmp_path_factory.mktemp("qw")
    ascii_path, ebcdic_path = folder / "qw.txt", folder / "qw.ebc"
    load_generator().write(ascii_path, 50_000, seed=7)
    with ascii_path.open("rb") as src, ebcdic_path.open("wb") as dst:
        for line in src:
            dst.write(line.rstrip(b"\n").decode("ascii").encode("cp037"))
    return {"ascii": ascii_path, "cp037": ebcdic_path}


@pytest.mark.parametrize("encoding", ["ascii", "cp037"])
def test_a_large_file_streams_in_bounded_memory(large_files: dict[str, Path], encoding: str) -> None:
    path = large_files[encoding]
    adapter = NdnhQwAdapter(encoding=encoding)
    counts: dict[str, int] = {}
    tracemalloc.start()
    try:
        with path.open("rb") as fh:
            for r in adapter.parse(fh):
                key = r.type if isinstance(r, Parsed) else f"!{r.code}"
                counts[key] = counts.get(key, 0) + 1
                if isinstance(r, Parsed) and r.type == "wage" and counts["wage"] % 10_000 == 0:
                    assert r.canonical.wage_amount >= 0  # built mid-stream, then dropped with the record
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert counts == {"header": 1, "employer": counts.get("employer", 0), "wage": 50_000, "trailer": 1}
    assert counts["employer"] > 500
    # holding the records would take hundreds of MB; streaming keeps a few chunks of the file
    size = path.stat().st_size
    assert peak < 8 << 20 and peak < size / 4, (peak, size)
