"""The two forms of the e-IWO carry the same orders: flat file → XML → flat file loses nothing.

Every valid flat fixture of the ``eiwo`` adapter is converted to XML by ``eiwo-xml`` (through the
canonical orders, as ``csgate convert`` does) and back; the orders and the envelope must come out as
they went in, and the XML must hold exactly the flat file's orders.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import adapters
from adapters.base import Parsed
from gateway.cli import main

from ..fixturekit import Fixture, fixtures_for, run_parse

FLAT, XML = adapters.get("eiwo"), adapters.get("eiwo-xml")
FLAT_VALID = [f for f in fixtures_for("eiwo") if f.valid]
# IWO (I) files; the Portal's result (S) files are checked separately below
IWO_FILES = [f for f in FLAT_VALID if not f.path.name.startswith("result-")]


def records(parsed: list[Parsed]) -> list[dict[str, Any]]:
    return [{"type": p.type, "data": p.data, "canonical": p.canonical} for p in parsed]


def orders(parsed: list[Parsed]) -> list[Any]:
    return [p.canonical for p in parsed if p.canonical is not None]


def envelope(parsed: list[Parsed]) -> list[tuple[str, dict[str, Any]]]:
    return [(p.type, p.data) for p in parsed if p.canonical is None]


def test_there_is_something_to_convert() -> None:
    assert len(IWO_FILES) >= 10


@pytest.mark.parametrize("fx", IWO_FILES, ids=str)
def test_flat_to_xml_to_flat_gives_the_same_orders(fx: Fixture) -> None:
    flat = run_parse(FLAT, fx.path.read_bytes())
    assert flat.exit == 0 and orders(flat.parsed)
    xml_bytes = b"".join(XML.render(records(flat.parsed)))
    xml = run_parse(XML, xml_bytes)
    assert xml.exit == 0, sorted(xml.codes)
    assert XML.detect(xml_bytes[:4096]) and not FLAT.detect(xml_bytes[:4096])
    assert orders(xml.parsed) == orders(flat.parsed)
    assert envelope(xml.parsed) == envelope(flat.parsed)

    back = run_parse(FLAT, b"".join(FLAT.render(records(xml.parsed))))
    assert back.exit == 0, sorted(back.codes)
    assert orders(back.parsed) == orders(flat.parsed)
    assert envelope(back.parsed) == envelope(flat.parsed)


@pytest.mark.parametrize("fx", [f for f in FLAT_VALID if f.path.name.startswith("result-")], ids=str)
def test_portal_verdicts_of_a_result_file_survive_in_xml(fx: Fixture) -> None:
    flat = run_parse(FLAT, fx.path.read_bytes())
    convertible = [p for p in flat.parsed if p.canonical is not None or p.type != "result_detail"]
    xml = run_parse(XML, b"".join(XML.render(records(convertible))))
    assert xml.exit == 0, sorted(xml.codes)
    assert orders(xml.parsed) == orders(flat.parsed)
    assert [o.portal_errors for o in orders(xml.parsed)] == [o.portal_errors for o in orders(flat.parsed)]


def test_csgate_convert_both_ways(tmp_path: Path) -> None:
    source = next(f.path for f in IWO_FILES if f.path.name == "iwo-two-employers-two-batches.txt")
    as_xml, as_flat = tmp_path / "orders.xml", tmp_path / "orders.txt"
    for argv in (
        ["convert", "--from", "eiwo", "--to", "eiwo-xml", str(source), "-o", str(as_xml)],
        ["convert", "--from", "eiwo-xml", "--to", "eiwo", str(as_xml), "-o", str(as_flat)],
    ):
        with pytest.raises(SystemExit) as done:
            main(argv)
        assert done.value.code == 0
    assert as_xml.read_bytes().startswith(b"<?xml")
    assert as_flat.read_bytes() == source.read_bytes()
