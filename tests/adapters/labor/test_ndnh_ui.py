"""NDNH unemployment insurance (UI) adapter: canonical claims, EBCDIC, the header rules, trailer totals,
a replaced layout, and bounded memory. Fixture outcomes are in the conformance suite."""

from __future__ import annotations

import datetime as dt
import io
import tracemalloc
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from adapters.base import Parsed
from adapters.canonical import AddressType, UIClaim
from adapters.labor.ndnh_ui import NdnhUiAdapter, NdnhUiEbcdicAdapter

from ..fixturekit import as_render_input
from .kit import FIXTURES, drain, flipped, kinds, parsed, rejected, swapped_mappings, with_field

UI, UIE = NdnhUiAdapter(), NdnhUiEbcdicAdapter()
THREE = (FIXTURES / "ndnh-ui" / "ui-three-claims.txt").read_bytes()


def test_claims_become_canonical_ui_claims() -> None:
    results, err = drain(UI, THREE)
    assert err is None and kinds(results) == ["header", "claim", "claim", "claim", "trailer"]
    c = results[2].canonical
    assert isinstance(c, UIClaim) and c.claimant_name is not None and c.claimant_address is not None
    assert (c.claimant_ssn, c.claimant_name.first, c.claimant_name.middle, c.claimant_name.last) == (
        "401223344",
        "JANELLE",
        "A",
        "TESTERSON",
    )
    assert (c.benefit_amount, c.year, c.quarter, c.swa_state_fips) == (Decimal("1200.00"), 2025, 1, "27")
    a = c.claimant_address
    assert (a.line1, a.city, a.state, a.zip5, a.address_type, a.source) == (
        "700 FICTION LANE",
        "SAINT PAUL",
        "MN",
        "55101",
        AddressType.MAILING,
        "ndnh-ui",
    )
    assert results[0].data["transmitter_agency_code"] == "MNDEED001"
    results, _ = drain(UI, (FIXTURES / "ndnh-ui" / "ui-user-field-lower-case.txt").read_bytes())
    assert results[1].canonical.extra == {"user_field": "Office 12 / wk 3"}


def test_ebcdic_round_trip_is_the_cp037_image_of_the_ascii_file() -> None:
    ascii_records = parsed(drain(UI, THREE)[0])
    ebcdic = b"".join(UIE.render(as_render_input(ascii_records)))
    assert ebcdic == THREE.replace(b"\n", b"").decode("ascii").encode("cp037")
    results, err = drain(UIE, ebcdic)
    assert err is None and [(p.type, p.data) for p in parsed(results)] == [(p.type, p.data) for p in ascii_records]
    assert results[1].canonical == ascii_records[1].canonical
    assert b"".join(UI.render(as_render_input(parsed(results)))) == THREE


@pytest.mark.parametrize(
    "field", ["transmitter_state_code", "transmitter_agency_code", "date_stamp", "batch_number", "state_or_agency_name"]
)
def test_every_header_field_must_be_completed(field: str) -> None:
    f = UI.spec.field("header", field)
    assert f is not None
    results, err = drain(UI, with_field(UI, THREE, 1, "header", field, " " * f.length))
    assert kinds(results) == ["!REQUIRED", "claim", "claim", "claim", "trailer"]  # the records still flow
    assert rejected(results)[0].field == field
    assert err is not None and err.code == "HEADER_INVALID"


def test_records_before_the_header_are_rejected_until_it_is_found() -> None:
    lines = THREE.split(b"\n")
    results, err = drain(UI, b"\n".join([lines[1], *lines]))
    assert kinds(results) == ["!NO_TRANSMISSION_HEADER", "header", "claim", "claim", "claim", "trailer"]
    assert rejected(results)[0].type == "claim"
    assert err is not None and err.code == "HEADER_NOT_FIRST" and "1 record(s)" in err.message
    results, err = drain(UI, b"\n".join(lines[1:]))
    assert kinds(results) == ["!NO_TRANSMISSION_HEADER"] * 4
    assert err is not None and err.code == "MISSING_HEADER"


def test_trailer_count_and_benefit_total_are_checked() -> None:
    bad = with_field(UI, THREE, 5, "trailer", "claim_count", "00000000004")
    bad = with_field(UI, bad, 5, "trailer", "total_benefits", "000000000576100")
    results, err = drain(UI, bad)
    assert kinds(results)[-1] == "trailer"
    assert err is not None and [c for c, _ in err.problems] == ["TRAILER_COUNT", "TRAILER_TOTAL"]
    assert "claim_count is 4, the transmission gives 3" in err.problems[0][1]
    assert "total_benefits is 5761.00, the transmission gives 5760.99" in err.problems[1][1]
    # a rejected claim still counts, and its readable amount still adds up: the trailer agrees
    results, err = drain(UI, with_field(UI, THREE, 3, "claim", "city", "Saint Paul".ljust(25)))
    assert err is None and kinds(results) == ["header", "claim", "!LOWER_CASE", "claim", "trailer"]


def test_the_benefit_total_is_the_sum_of_the_claims() -> None:
    results, err = drain(UI, THREE)
    assert err is None
    total = sum((r.data["benefit_amount"] for r in results if r.type == "claim"), Decimal(0))
    assert total == Decimal("5760.99") == results[-1].data["total_benefits"]


ALT_LINES = [
    "1" + "UC" + "27" + "20250430",
    "2" + "212345671" + "000456000" + "2025" + "2" + "SAMPLEWOOD".ljust(30) + "BARTHOLOMEW".ljust(20) + "55101" + "06",
    "2" + "401223344" + "000010050" + "2025" + "2" + "TESTERSON".ljust(30) + " " * 20 + "     " + "  ",
    "9" + "0000000466050",
]
ALT_FILE = "".join(line.ljust(200) + "\n" for line in ALT_LINES).encode("ascii")


def test_a_second_layout_parses_without_code_changes(tmp_path: Path) -> None:
    alt = NdnhUiAdapter(mappings=swapped_mappings(tmp_path, "ndnh-ui"))
    assert alt.spec.length == 200 and alt.detect(ALT_FILE) and not UI.detect(ALT_FILE)
    results, err = drain(alt, ALT_FILE)
    assert err is None and kinds(results) == ["header", "claim", "claim", "trailer"]
    first, second = results[1].canonical, results[2].canonical
    assert (first.claimant_ssn, first.benefit_amount, first.quarter, first.swa_state_fips) == (
        "212345671",
        Decimal("4560.00"),
        2,
        "27",
    )
    assert first.claimant_address is not None and first.claimant_address.zip5 == "55101"
    assert first.extra == {"weeks_claimed": 6}
    assert second.claimant_name is not None and second.claimant_name.first is None
    assert second.claimant_address is None and second.extra == {}
    assert results[0].data["date_stamp"] == dt.date(2025, 4, 30)
    _, err = drain(alt, ALT_FILE.replace(b"90000000466050", b"90000000466051"))
    assert err is not None and err.code == "TRAILER_TOTAL"
    assert b"".join(alt.render(as_render_input(parsed(results)))) == ALT_FILE


def test_every_record_that_parses_builds_its_canonical_record() -> None:
    for adapter, name in ((UI, "ndnh-ui/ui-several-claims.txt"), (UIE, "ndnh-ui-ebcdic/ui-territories.ebc")):
        for data in flipped((FIXTURES / name).read_bytes(), name):
            for r in parsed(drain(adapter, data)[0]):
                assert r.type != "claim" or isinstance(r.canonical, UIClaim)


def claims(n: int) -> Iterator[dict[str, Any]]:
    yield {"type": "header", "data": parsed(drain(UI, THREE)[0])[0].data}
    for i in range(n):
        yield {
            "type": "claim",
            "data": {
                "claimant_ssn": f"{100 + i % 500:03d}{1 + i % 99:02d}{1 + i % 9999:04d}",
                "first_name": "BARTHOLOMEW",
                "last_name": "SAMPLEWOOD",
                "address_line1": f"{i} FICTION LANE",
                "city": "SAINT PAUL",
                "state": "MN",
                "zip5": "55101",
                "benefit_amount": Decimal(i % 900_000).scaleb(-2),
                "reporting_year": 2025,
                "reporting_quarter": "1",
            },
        }


def traced_peak(adapter: NdnhUiAdapter, n: int) -> int:
    data = b"".join(adapter.render(claims(n)))
    tracemalloc.start()
    try:
        good = sum(1 for r in adapter.parse(io.BytesIO(data)) if isinstance(r, Parsed))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert good == n + 2
    return peak


@pytest.mark.parametrize("adapter", [UI, UIE], ids=["ascii", "cp037"])
def test_a_large_file_streams_in_bounded_memory(adapter: NdnhUiAdapter) -> None:
    """Three times the claims, the same peak: memory is bounded by a read chunk, not by the file."""
    small, large = traced_peak(adapter, 4_000), traced_peak(adapter, 12_000)
    assert large < small * 1.25 + (64 << 10) and large < 4 << 20, (small, large)
