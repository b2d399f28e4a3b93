"""New-hire (employer → SDNH W4) records: state variants as data, per-record rules, canonical NewHire."""

from __future__ import annotations

import datetime as dt
import shutil
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import adapters
from adapters.canonical import AddressType, NewHire, to_json_dict
from adapters.employer.new_hire import NewHireAdapter, load_variants
from adapters.errors import LayoutError, RecordError
from adapters.layout import MAPPINGS_DIR

from ..fixturekit import FIXTURES, run_parse

HERE = FIXTURES / "employer" / "new-hire"
A = adapters.get("new-hire")
FULL = NewHireAdapter("full-address")


def parse(adapter: Any, name: str) -> Any:
    return run_parse(adapter, (HERE / name).read_bytes())


def hires(out: Any) -> list[NewHire]:
    return [p.canonical for p in out.parsed]


# --------------------------------------------------------------------------- variants are data


def test_variant_table_names_two_801_byte_layouts_and_a_default() -> None:
    default, variants = load_variants()
    assert default == "ocse" and set(variants) == {"ocse", "full-address"}
    assert {v.layout.length for v in variants.values()} == {801}
    assert isinstance(A, NewHireAdapter) and A.variant.name == "ocse"


def test_the_second_layout_is_the_one_used_when_named() -> None:
    """The same bytes: the full-address variant reads the payroll/IWO address block, the OCSE layout
    (filler from 508 on) does not — the difference is the layout file alone."""
    data = (HERE / "full-address" / "nh-full-address-payroll-block.txt").read_bytes()
    full, ocse = run_parse(FULL, data), run_parse(A, data)
    assert full.exit == 0 and ocse.exit == 0
    employer = hires(full)[0].employer
    payroll = [a for a in employer.addresses if a.address_type is AddressType.PAYROLL]
    assert payroll and payroll[0].city == "ANCHORAGE" and payroll[0].zip4 == "0009"
    assert employer.addresses[0].zip4 == "0042"
    assert full.parsed[0].data["optional_address_line1"] == "PAYROLL DEPT"
    assert "optional_address_line1" not in ocse.parsed[0].data
    assert [a.address_type for a in hires(ocse)[0].employer.addresses] == [AddressType.EMPLOYER]


def test_a_foreign_employer_address_in_the_second_layout() -> None:
    out = run_parse(FULL, (HERE / "full-address" / "nh-full-address-foreign-employer.txt").read_bytes())
    employer = hires(out)[0].employer
    assert employer.addresses[0].country == "CA" and employer.addresses[0].state is None
    assert hires(out)[0].extra["employer_country_name"] == "CANADA"


SALARY_LAYOUT_TAIL = """
  { name = "salary", start = 752, length = 11, type = "amount", decimals = 2 },
  { name = "medical_insurance_available", start = 763, length = 1, type = "code", codes = ["Y", "N"] },
  { name = "state_notes", start = 764, length = 10, type = "alnum" },
  { name = "filler", start = 774, length = 28, type = "filler" },
]
"""


def salary_variant(tmp_path: Path) -> Path:
    """A state variant added by data only: the full-address layout with salary and medical-insurance
    fields (and a field of the state's own) in 752-801, and a line in the variant table."""
    root = tmp_path / "mappings"
    shutil.copytree(MAPPINGS_DIR, root)
    folder = root / "employer" / "new_hire"
    full = (folder / "w4_full_address.toml").read_text(encoding="utf-8")
    head = full[: full.index('  { name = "filler", start = 752')]
    (folder / "w4_salary.toml").write_text(
        head.replace('name = "w4_full_address"', 'name = "w4_salary"') + SALARY_LAYOUT_TAIL, encoding="utf-8"
    )
    with (folder / "new_hire.variants.toml").open("a", encoding="utf-8") as fh:
        fh.write('\n[variant.salary]\nlayout = "w4_salary.toml"\ntitle = "with salary"\n')
    return root


def test_a_new_state_variant_needs_no_code(tmp_path: Path) -> None:
    adapter = NewHireAdapter("salary", mappings=salary_variant(tmp_path))
    line = (HERE / "full-address" / "nh-full-address-payroll-block.txt").read_bytes().split(b"\n")[0]
    line = line[:751] + b"00004250000Y" + b"NE-04     " + line[773:]
    out = run_parse(adapter, line + b"\n")
    assert out.exit == 0, sorted(out.codes)
    hire = hires(out)[0]
    assert hire.salary == Decimal("42500.00") and hire.medical_insurance_available is True
    assert hire.extra == {"state_notes": "NE-04"}
    assert b"".join(adapter.render([{"type": "new_hire", "data": {}, "canonical": hire}])) == line + b"\n"


def test_a_variant_layout_is_checked_when_it_loads(tmp_path: Path) -> None:
    root = salary_variant(tmp_path)
    path = root / "employer" / "new_hire" / "w4_salary.toml"
    path.write_text(
        path.read_text(encoding="utf-8").replace(
            '{ name = "salary", start = 752, length = 11, type = "amount", decimals = 2 }',
            '{ name = "salary", start = 752, length = 11, type = "alnum" }',
        ),
        encoding="utf-8",
    )
    with pytest.raises(LayoutError, match="salary"):
        load_variants(root)
    with pytest.raises(LayoutError, match="unknown new-hire variant"):
        NewHireAdapter("no-such-state")


# --------------------------------------------------------------------------- records


def test_canonical_new_hire_from_a_w4_record() -> None:
    hire = hires(parse(A, "nh-single-employee.txt"))[0]
    assert hire.employee.ssn == "212345671" and hire.employee.name is not None
    assert (hire.employee.name.first, hire.employee.name.middle, hire.employee.name.last) == ("JANE", "Q", "SAMPLE")
    assert hire.employee.dob == dt.date(1990, 5, 6) and hire.hire_date == dt.date(2025, 1, 6)
    home = hire.employee.addresses[0]
    assert (home.address_type, home.city, home.state, home.zip5, home.zip4) == (
        AddressType.RESIDENTIAL,
        "JUNEAU",
        "AK",
        "99801",
        "1234",
    )
    assert hire.employer.fein == "921234567" and hire.employer.as_of == hire.hire_date
    assert hire.employer.state_ein == "AK-000123" and hire.state_of_hire == "AK"


def test_a_foreign_employee_address() -> None:
    hire = hires(parse(A, "nh-foreign-address-canada.txt"))[0]
    home = hire.employee.addresses[0]
    assert home.country == "CA" and home.foreign_postal_code == "H2X 1Y4" and home.line3 == "QUEBEC"
    assert hire.extra == {"employee_country_name": "CANADA"}


def test_ascii_and_ebcdic_files_hold_the_same_records() -> None:
    ascii_, ebcdic = parse(A, "nh-five-employees.txt"), parse(A, "nh-ebcdic-cp037-fixed-length.dat")
    assert ebcdic.exit == 0
    assert [p.data for p in ascii_.parsed] == [p.data for p in ebcdic.parsed]
    assert hires(ascii_) == hires(ebcdic)


def test_render_from_canonical_and_from_its_json_form() -> None:
    original = (HERE / "nh-five-employees.txt").read_bytes()
    models = hires(run_parse(A, original))
    assert b"".join(A.render([{"type": "x", "data": {}, "canonical": m} for m in models])) == original
    assert b"".join(A.render([{"type": "new_hire", "data": to_json_dict(m)} for m in models])) == original


def test_render_writes_ebcdic_fixed_length_when_asked() -> None:
    models = hires(parse(A, "nh-five-employees.txt"))
    out = b"".join(
        NewHireAdapter(encoding="cp037").render([{"type": "new_hire", "data": {}, "canonical": m} for m in models])
    )
    assert out == (HERE / "nh-ebcdic-cp037-fixed-length.dat").read_bytes()
    assert len(out) == 5 * 801 and b"\n" not in out


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("employee_ssn", "078051120", "SSN_INVALID"),  # SSA never issued it (python-stdnum us.ssn)
        ("employer_fein", "071234567", "FEIN_INVALID"),  # no such IRS prefix (python-stdnum us.ein)
        ("employee_birth_date", dt.date(2025, 2, 1), "DATE_ORDER"),
        ("employee_last_name", "X" * 31, "RENDER_VALUE"),
    ],
)
def test_render_applies_the_rules_parsing_applies(field: str, value: Any, code: str) -> None:
    data = dict(parse(A, "nh-single-employee.txt").parsed[0].data)
    data[field] = value
    with pytest.raises(RecordError) as info:
        b"".join(A.render([{"type": "new_hire", "data": data}]))
    assert info.value.code == code and info.value.field == field


def test_rejected_record_names_field_and_positions_and_parsing_goes_on() -> None:
    out = parse(A, "invalid-fein-prefix.txt")
    assert len(out.parsed) == 4 and len(out.rejected) == 1
    r = out.rejected[0]
    assert (r.code, r.field, r.start, r.end, r.line) == ("FEIN_INVALID", "employer_fein", 290, 298, 2)


def test_records_of_a_transmission_envelope_are_not_new_hires() -> None:
    with pytest.raises(RecordError) as info:
        b"".join(A.render([{"type": "entry", "data": {}}]))
    assert info.value.code == "RENDER_TYPE"
    assert b"".join(A.render([{"type": "header", "data": {}}, {"type": "trailer", "data": {}}])) == b""
