"""e-IWO XML: the schema and mapping as data, streaming validation, coded errors, checked rendering."""

from __future__ import annotations

import copy
import io
import itertools
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

import adapters
from adapters.canonical import Frequency, IncomeWithholdingOrder, from_json_dict
from adapters.employer.eiwo_xml import EiwoXmlAdapter, _Parser
from adapters.errors import RecordError
from adapters.layout import MAPPINGS_DIR, load_code_rows

from ..fixturekit import FIXTURES, run_parse

A = adapters.get("eiwo-xml")
assert isinstance(A, EiwoXmlAdapter)
HERE = FIXTURES / "employer" / "eiwo-xml"
XSD = MAPPINGS_DIR / "employer" / "eiwo_xml" / "eiwo.xsd"
NSMAP = {"x": A.mapping.ns, "xs": "http://www.w3.org/2001/XMLSchema"}


def parse_file(name: str) -> Any:
    return run_parse(A, (HERE / name).read_bytes())


def orders(out: Any) -> list[IncomeWithholdingOrder]:
    return [p.canonical for p in out.parsed if p.type == "order"]


def render(records: list[dict[str, Any]]) -> bytes:
    return b"".join(A.render(records))


def first_order() -> dict[str, Any]:
    out = parse_file("eiwo-single-order.xml")
    return copy.deepcopy(next(p.data for p in out.parsed if p.type == "order"))


def envelope_of(name: str) -> list[dict[str, Any]]:
    out = parse_file(name)
    return [{"type": p.type, "data": p.data} for p in out.parsed if p.type in ("file_header", "batch_header")]


# --------------------------------------------------------------------------- schema and mapping are data


def test_schema_header_records_that_names_are_our_choice() -> None:
    head = XSD.read_text(encoding="utf-8")[:3000]
    assert "not public" in head and "status: choice" in head
    assert A.source.status == "choice" and A.mapping.source["status"] == "choice"


def test_frequency_codes_in_schema_equal_the_shared_table() -> None:
    schema = etree.parse(str(XSD))
    enum = schema.xpath("//xs:simpleType[@name='FrequencyCode']//xs:enumeration/@value", namespaces=NSMAP)
    table = load_code_rows("eiwo_frequency")
    assert sorted(enum) == sorted(table)
    assert {Frequency(row["canonical"]) for row in table.values()} <= set(Frequency)


# The plain form of each text pattern, before it was rewritten for libxml2's matcher (see the schema).
PLAIN_TEXT_PATTERNS = {
    "Text": r"[!-~]([ -~]*[!-~])?",
    "CaseId": r"[!-)+-\[\]-~]([ -)+-\[\]-~]*[!-)+-\[\]-~])?",
}


@pytest.mark.parametrize("type_name", sorted(PLAIN_TEXT_PATTERNS))
def test_text_patterns_accept_what_their_plain_form_accepts(type_name: str) -> None:
    """Every string of up to five characters from an alphabet with the edge cases (space, tab, the DED
    delimiters, the ends of the printable range, a non-ASCII letter) is judged alike by both forms."""
    schema = etree.parse(str(XSD))
    (written,) = schema.xpath(f"//xs:simpleType[@name='{type_name}']//xs:pattern/@value", namespaces=NSMAP)
    plain, fast = re.compile(PLAIN_TEXT_PATTERNS[type_name]), re.compile(str(written))
    alphabet = " !A*\\~\tÄ"
    for size in range(6):
        for chars in itertools.product(alphabet, repeat=size):
            text = "".join(chars)
            assert bool(fast.fullmatch(text)) == bool(plain.fullmatch(text)), repr(text)


def test_every_mapped_element_is_declared_in_the_schema() -> None:
    declared = set(etree.parse(str(XSD)).xpath("//xs:element/@name", namespaces=NSMAP))
    for path in A.mapping.leaf_by_path:
        assert set(path.split("/")) <= declared, path


def test_every_mapped_element_is_exercised_by_a_valid_fixture() -> None:
    used: set[str] = set()
    for f in HERE.glob("eiwo-*.xml"):
        for iwo in etree.parse(str(f)).iterfind(".//x:IWO", namespaces=NSMAP):
            for e in iwo.iter(etree.Element):
                if len(e) == 0:
                    chain = [
                        e,
                        *(a for a in e.iterancestors() if a.getparent() is not None and iwo in a.iterancestors()),
                    ]
                    used.add("/".join(str(x.tag).rpartition("}")[2] for x in reversed(chain)))
    assert set(A.mapping.leaf_by_path) - {"Child"} <= used


def test_a_full_order_round_trips_through_its_element() -> None:
    out = parse_file("eiwo-all-optional-elements.xml")
    order = orders(out)[0]
    assert len(order.children) == 6 and order.employer_contact is not None and order.lump_sum_amount
    assert from_json_dict(A.reader.order(A.order_element(order))) == order
    assert from_json_dict(out.parsed[2].data) == order


def test_renaming_an_element_is_a_data_change(tmp_path: Path) -> None:
    """Copy the mappings, rename one element in the XSD and the table: the adapter follows."""
    root = tmp_path / "mappings"
    shutil.copytree(MAPPINGS_DIR / "codes", root / "codes")
    shutil.copytree(MAPPINGS_DIR / "employer" / "eiwo_xml", root / "employer" / "eiwo_xml")
    for name in ("eiwo.xsd", "_mapping.toml"):
        f = root / "employer" / "eiwo_xml" / name
        f.write_text(f.read_text(encoding="utf-8").replace('"CaseIdentifier"', '"CaseNumber"'), encoding="utf-8")
    other = EiwoXmlAdapter(mappings=root)
    data = render([*envelope_of("eiwo-single-order.xml"), {"type": "order", "data": first_order()}])
    renamed = b"".join(other.render([*envelope_of("eiwo-single-order.xml"), {"type": "order", "data": first_order()}]))
    assert b"<CaseNumber>CS0001234</CaseNumber>" in renamed and b"CaseIdentifier" not in renamed
    assert orders(run_parse(other, renamed)) == orders(run_parse(A, data))
    assert run_parse(A, renamed).codes == {"XSD_VIOLATION"}  # the shipped schema does not know the new name


# --------------------------------------------------------------------------- parsing


def test_parse_yields_envelope_records_and_one_order_per_iwo() -> None:
    out = parse_file("eiwo-two-batches.xml")
    assert [p.type for p in out.parsed] == [
        "file_header",
        "batch_header",
        "order",
        "order",
        "batch_trailer",
        "batch_header",
        "order",
        "order",
        "batch_trailer",
        "file_trailer",
    ]
    header = out.parsed[0].data
    assert header["document_code"] == "FHI" and header["creation_time"] == "093000"
    assert header["creation_date"].isoformat() == "2025-01-10"
    assert out.parsed[4].data["record_count"] == 2 and out.parsed[-1].data["batch_count"] == 2
    first = orders(out)[0]
    assert first.employee.ssn == "212345671" and first.order.total is not None
    assert first.order.total.frequency is Frequency.MONTHLY
    assert first.employer.addresses[0].address_type == "employer" and first.employee.role == "NCP"


def test_order_data_is_the_canonical_json_form() -> None:
    for p in parse_file("eiwo-thirty-orders-three-batches.xml").parsed:
        if p.type == "order":
            assert from_json_dict(p.data) == p.canonical


def test_a_bad_order_is_rejected_alone_with_its_element_and_no_value() -> None:
    out = parse_file("invalid-ssn-area-000.xml")
    assert len(orders(out)) == 3 and len(out.rejected) == 1
    r = out.rejected[0]
    assert (r.code, r.field, r.type) == ("SSN_INVALID", "IWO/Employee/SSN", "order")
    assert "000223344" not in r.message and r.line > 1


@pytest.mark.parametrize("blank", ["   ", "\n  ", "  <!-- note -->  "])
def test_a_blank_value_is_refused_though_indentation_is_dropped(blank: str) -> None:
    """The parser drops whitespace between elements; an element's own blank text still meets the schema."""
    doc = render([*envelope_of("eiwo-single-order.xml"), {"type": "order", "data": first_order()}])
    city = re.search(rb"<City>[^<]*</City>", doc)
    assert city is not None
    out = run_parse(A, doc.replace(city.group(0), f"<City>{blank}</City>".encode(), 1))
    assert not orders(out) and [(r.code, r.field) for r in out.rejected] == [
        ("XSD_VIOLATION", "IWO/Employer/Address/City")
    ]


def test_structure_errors_name_the_expected_elements() -> None:
    r = parse_file("invalid-missing-case-id.xml").rejected[0]
    assert r.code == "XSD_VIOLATION" and "expected CaseIdentifier" in r.message


def test_canonical_rules_after_the_schema() -> None:
    out = parse_file("invalid-lump-sum-without-amount.xml")
    assert out.rejected[0].code == "ORDER_INVALID" and "lump_sum_amount" in out.rejected[0].message


def test_document_faults_come_after_the_good_records() -> None:
    out = parse_file("invalid-batch-record-count.xml")
    assert len(orders(out)) == 4 and out.file_error is not None
    assert out.file_error.code == "BATCH_RECORD_COUNT"


def test_memory_stays_bounded_by_what_the_parser_reads_ahead() -> None:
    """Handled elements are freed as the stream goes: the tree holds only the orders lxml has read ahead
    of the one being handled (one input chunk), never the batch."""
    env = envelope_of("eiwo-single-order.xml")
    base = first_order()
    many = [{"type": "order", "data": {**base, "document_tracking_id": f"T{n:08d}"}} for n in range(400)]
    doc = render([*env, *many])
    parser = _Parser(A)
    widest = count = 0
    for result in parser.run(io.BytesIO(doc)):
        assert parser.root is not None
        widest = max(widest, len(parser.root), *(len(b) for b in parser.root))
        count += result.type == "order"
    assert count == 400
    assert widest <= 40  # a 64 KiB read-ahead holds about 25 orders of 2.2 KB


def test_entities_are_neither_resolved_nor_validated_around() -> None:
    doc = (HERE / "eiwo-single-order.xml").read_bytes()
    doc = doc.replace(b"<EIWOFile", b'<!DOCTYPE EIWOFile [<!ENTITY x SYSTEM "file:///etc/hostname">]>\n<EIWOFile', 1)
    doc = doc.replace(b"<Name>ACME TOOL WORKS</Name>", b"<Name>&x;</Name>")
    out = run_parse(A, doc)
    assert out.exit == 1 and [r.code for r in out.rejected] == ["XSD_VIOLATION"]


def test_detect_needs_our_root_and_namespace() -> None:
    doc = (HERE / "eiwo-single-order.xml").read_bytes()
    assert A.detect(doc[:4096])
    assert not A.detect(b'<?xml version="1.0"?><Other xmlns="urn:csgate:eiwo:xml:1"/>')
    assert not A.detect(b"FHI" + b" " * 200)
    assert not A.detect(doc.replace(b"urn:csgate:eiwo:xml:1", b"urn:other")[:4096])


# --------------------------------------------------------------------------- rendering


def test_render_computes_trailers_and_checks_given_counts() -> None:
    env = envelope_of("eiwo-single-order.xml")
    doc = render([*env, {"type": "order", "data": first_order()}])
    out = run_parse(A, doc)
    assert out.exit == 0 and [p.type for p in out.parsed][-2:] == ["batch_trailer", "file_trailer"]
    bad = {"type": "batch_trailer", "data": {"record_count": 5}}
    with pytest.raises(RecordError) as info:
        render([*env, {"type": "order", "data": first_order()}, bad])
    assert info.value.code == "CONTROL_MISMATCH"


def test_render_refuses_what_breaks_the_schema_naming_the_element() -> None:
    env = envelope_of("eiwo-single-order.xml")
    order = first_order()
    order["employee"]["name"]["last"] = "X" * 21  # DTL 16 is 20 characters
    with pytest.raises(RecordError) as info:
        render([*env, {"type": "order", "data": order}])
    assert info.value.code == "XSD_VIOLATION" and info.value.field == "IWO/Employee/LastName"
    order = first_order()
    order["order"]["total"]["frequency"] = "quarterly"  # no e-IWO letter for it
    with pytest.raises(RecordError) as info:
        render([*env, {"type": "order", "data": order}])
    assert info.value.code == "RENDER_VALUE"


def test_render_needs_an_envelope_around_orders() -> None:
    with pytest.raises(RecordError) as info:
        render([{"type": "order", "data": first_order()}])
    assert info.value.code == "RENDER_STRUCTURE"
    with pytest.raises(RecordError) as info:
        render([envelope_of("eiwo-single-order.xml")[0], {"type": "order", "data": first_order()}])
    assert info.value.code == "RENDER_STRUCTURE"


def test_render_accepts_canonical_orders_and_json_dates() -> None:
    env = envelope_of("eiwo-single-order.xml")
    env[0]["data"] = {**env[0]["data"], "creation_date": "2025-01-10"}  # as `csgate parse` prints it
    order = IncomeWithholdingOrder.model_validate(first_order())
    doc = render([*env, {"type": "detail", "data": {}, "canonical": order}])
    assert orders(run_parse(A, doc)) == [order]


def test_rendered_document_validates_as_a_whole() -> None:
    doc = (HERE / "eiwo-thirty-orders-three-batches.xml").read_bytes()
    assert A.mapping.schema.validate(etree.fromstring(doc))
    assert re.search(rb"<EIWOFile xmlns=\"urn:csgate:eiwo:xml:1\">", doc)
    assert doc.count(b"xmlns=") == 1  # declared once, on the root
