"""UIFSA intergovernmental forms: definitions, PDF content, JSON sidecar round trip, EDE packages, the CLI.

The conformance suite (tests/adapters/test_conformance.py) runs the five form adapters through their
fixtures; these tests check what it cannot: that the PDF a caseworker reads carries every label and
value, that the sidecar reads back to the same data, and that an EDE package proves its contents.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import os
import re
import shutil
import subprocess
import sys
import zipfile
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pypdf
import pytest

from adapters.base import Parsed, Rejected
from adapters.canonical import AddressType, AssistanceType, IvdCaseType, UifsaForm, UifsaFormType
from adapters.errors import FileStructureError, LayoutError, RecordError
from adapters.interstate.uifsa_definition import (
    HEADING_FILE,
    Element,
    FormDef,
    definitions_by_id,
    forms_dir,
    load_form,
)
from adapters.interstate.uifsa_forms import (
    FORM_ADAPTERS,
    UifsaFormAdapter,
    ede_package,
    from_canonical,
    to_canonical,
    verify_ede_package,
)
from adapters.interstate.uifsa_values import check_form
from gateway.cli import UsageProblem, _read_jsonl
from tests.adapters.fixturekit import FIXTURES, fixtures_for, run_parse

ADAPTERS: list[UifsaFormAdapter] = [cls() for cls in FORM_ADAPTERS]
BY_KEY = {a.key: a for a in ADAPTERS}
CASE_JSON = FIXTURES / "interstate" / "uifsa-transmittal-1" / "case.json"
VALID = [f for a in ADAPTERS for f in fixtures_for(a.key) if f.valid]
# The richest valid fixture of each form: the PDF test checks every label and every value in it.
RICHEST = {
    "uifsa-transmittal-1": "t1-register-for-enforcement.json",
    "uifsa-transmittal-2": "t2-other-request-and-information.json",
    "uifsa-transmittal-3": "t3-hearing-assistance.json",
    "uifsa-general-testimony": "gt-full-testimony.json",
    "uifsa-controlling-order": "co-order-2-controls.json",
}


def parsed(adapter: UifsaFormAdapter, data: bytes) -> list[Parsed]:
    out = run_parse(adapter, data)
    assert out.exit == 0, sorted(out.codes)
    return out.parsed


def fixture_data(key: str, name: str) -> list[dict[str, Any]]:
    path = FIXTURES / "interstate" / key / name
    return [p.data for p in parsed(BY_KEY[key], path.read_bytes())]


def pdf_text(pdf: bytes) -> str:
    """Every page's text with runs of whitespace (line wraps, column gaps) made one space."""
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    return " ".join(" ".join(page.extract_text().split()) for page in reader.pages)


def shown(el: Element, value: Any) -> str:
    """How the form must print a value, written out here independently of the renderer."""
    if isinstance(value, dt.date):
        return f"{value.month:02d}/{value.day:02d}/{value.year}"
    if isinstance(value, Decimal):
        return "$" + f"{value:,.2f}"
    if el.type == "ssn":
        return f"{value[:3]}-{value[3:5]}-{value[5:]}"
    if el.type == "choice":
        return next(c.label for c in el.choices if c.code == value)
    return " ".join(str(value).split())


# --------------------------------------------------------------------------- definitions


def test_five_forms_are_defined_with_omb_number() -> None:
    forms = definitions_by_id()
    assert set(forms) == {
        "transmittal-1",
        "transmittal-2",
        "transmittal-3",
        "general-testimony",
        "notice-controlling-order",
    }
    assert {f.key for f in forms.values()} == set(BY_KEY)
    assert all(f.omb_number == "0970-0085" and f.form_version and f.legend for f in forms.values())


# agency-formats.md §2.2: every element of the common heading block, as canonical paths.
HEADING_CANONICAL = {
    "petitioner.first",
    "petitioner.middle",
    "petitioner.last",
    "petitioner.suffix",
    "petitioner_tribe",
    "respondent.first",
    "respondent.middle",
    "respondent.last",
    "respondent.suffix",
    "respondent_tribe",
    "responding.name",
    "responding.address.line1",
    "responding.locator_code",
    "responding.state",
    "responding.case_id",
    "responding.tribunal_number",
    "initiating.name",
    "initiating.address.line1",
    "initiating.locator_code",
    "initiating.state",
    "initiating.case_id",
    "initiating.tribunal_number",
    "payment_name",
    "payment_address.line1",
    "payment_locator_code",
    "payment_state",
    "nondisclosure_attached",
    "sent_via_ede",
    "sent_via_csenet",
    "confidential_info_attached",
}


@pytest.mark.parametrize("key", ["uifsa-transmittal-1", "uifsa-transmittal-2"])
def test_transmittals_carry_the_whole_common_heading(key: str) -> None:
    form = BY_KEY[key].form
    paths = {e.canonical for s in form.sections for e in s.elements if e.canonical}
    assert paths >= HEADING_CANONICAL
    case_type = form.element("case_type.ivd_case")
    assert case_type is not None
    assert [c.label for c in case_type.choices][:5] == [
        "TANF",
        "IV-E Foster Care",
        "Medicaid Only",
        "Former Assistance",
        "Never Assistance",
    ]


def test_controlling_order_names_obligor_and_obligee_instead_of_parties() -> None:
    form = BY_KEY["uifsa-controlling-order"].form
    assert form.element("petitioner.last") is None and form.element("payment.state") is None
    assert form.element("parties.obligor_last") is not None and form.element("parties.obligee_last") is not None
    date = form.element("document.date")
    assert date is not None and date.label == "Date of notice"


def _definition_dir(tmp_path: Path, text: str) -> Path:
    target = forms_dir(tmp_path)
    target.mkdir(parents=True)
    shutil.copy(forms_dir() / HEADING_FILE, target / HEADING_FILE)
    (target / "bad.form.toml").write_text(text, encoding="utf-8")
    return tmp_path


GOOD_DEFINITION = """
[source]
document = "test form"
version = "1"
status = "choice"
[form]
id = "transmittal-3"
key = "uifsa-test"
title = "Test"
omb_number = "0970-0085"
form_version = "1"
heading = ["document", "petitioner"]
[[sections]]
id = "items"
title = "Items"
elements = [
  { name = "flag", label = "Flag", type = "checkbox" },
  { name = "what", label = "What", type = "text", required_if = ["items.flag"] },
  { name = "rows", label = "Rows", type = "table", columns = [{ name = "a", label = "A", type = "text" }] },
  { name = "row", label = "Row", type = "integer", row_of = "items.rows" },
]
"""


def test_a_good_definition_loads(tmp_path: Path) -> None:
    form = load_form("bad.form.toml", _definition_dir(tmp_path, GOOD_DEFINITION))
    assert [s.id for s in form.sections] == ["document", "petitioner", "items"]
    assert form.sections[0].heading and not form.sections[2].heading


@pytest.mark.parametrize(
    ("old", "new", "match"),
    [
        ('type = "checkbox"', 'type = "checkbox", colour = "red"', "unknown key"),
        ('type = "checkbox"', 'type = "tickbox"', "unknown type"),
        ('label = "Flag"', 'label = "Fl\u00e2g \u2014 x"', "Latin-1"),
        ('required_if = ["items.flag"]', 'required_if = ["items.nothing"]', "required_if names no element"),
        ('row_of = "items.rows"', 'row_of = "items.flag"', "row_of"),
        ('type = "text" }]', 'type = "text", canonical = "petitioner.first" }]', "body"),
        (
            '{ name = "what", label = "What", type = "text"',
            '{ name = "what", label = "What", type = "text", canonical = "petitioner.nickname"',
            "no field 'nickname'",
        ),
        ('heading = ["document", "petitioner"]', 'heading = ["document", "plaintiff"]', "plaintiff"),
        ('id = "transmittal-3"', 'id = "transmittal-9"', "UifsaFormType"),
        ('status = "choice"', 'status = "guess"', "status"),
        (
            '{ name = "flag", label = "Flag", type = "checkbox" },',
            '{ name = "flag", label = "Flag", type = "choice" },',
            "lists choices",
        ),
    ],
)
def test_bad_definitions_are_refused_on_load(tmp_path: Path, old: str, new: str, match: str) -> None:
    assert old in GOOD_DEFINITION
    base = _definition_dir(tmp_path, GOOD_DEFINITION.replace(old, new, 1))
    with pytest.raises(LayoutError, match=match):
        load_form("bad.form.toml", base)


# --------------------------------------------------------------------------- the PDF


@pytest.mark.parametrize("key", sorted(RICHEST))
def test_pdf_shows_every_label_and_every_value(key: str) -> None:
    adapter = BY_KEY[key]
    forms = fixture_data(key, RICHEST[key])
    pdf = b"".join(adapter.render([{"type": "form", "data": d} for d in forms]))
    assert pdf.startswith(b"%PDF-")
    text = pdf_text(pdf)
    form: FormDef = adapter.form
    for expected in (form.title.upper(), f"OMB No. {form.omb_number}", *form.legend):
        assert " ".join(expected.split()) in text
    values = forms[0]
    for section in form.sections:
        assert section.title in text
        for el in section.elements:
            value = values.get(section.id, {}).get(el.name)
            if el.type == "checkbox":
                assert f"[{'X' if value else ''}] {el.label}".replace("[]", "[ ]") in text, el.label
            elif el.type == "choice":
                assert el.label in text and all(c.label in text for c in el.choices)
                if value is not None:
                    assert f"[X] {shown(el, value)}" in text, (section.id, el.name)
            elif el.type == "table":
                assert el.label in text and all(c.label in text for c in el.columns)
                for row in value or []:
                    for col in el.columns:
                        if row.get(col.name) is not None:
                            assert shown(col, row[col.name]) in text, (section.id, el.name, col.name)
            else:
                assert el.label in text, el.label
                if value is not None:
                    assert shown(el, value) in text, (section.id, el.name)


def test_pdf_prints_unchecked_boxes_and_empty_elements_too() -> None:
    minimum = fixture_data("uifsa-transmittal-1", "t1-required-elements-only.json")[0]
    text = pdf_text(b"".join(BY_KEY["uifsa-transmittal-1"].render([minimum])))
    assert "[ ] 1. Establish parentage" in text and "[X] 5. Collect arrears" in text
    assert "Send payments to (if different from above)" in text and "Payment Locator Code" in text
    assert "Acknowledgment (completed and returned by the responding agency)" in text


def test_pdf_is_deterministic_and_one_per_form_set() -> None:
    adapter = BY_KEY["uifsa-transmittal-1"]
    two = fixture_data("uifsa-transmittal-1", "t1-two-forms-one-sidecar.json")
    first, second = b"".join(adapter.render(two)), b"".join(adapter.render(two))
    assert first == second
    one = b"".join(adapter.render(two[:1]))
    assert len(pypdf.PdfReader(io.BytesIO(first)).pages) > len(pypdf.PdfReader(io.BytesIO(one)).pages)


# --------------------------------------------------------------------------- sidecar and canonical


@pytest.mark.parametrize("fx", VALID, ids=str)
def test_sidecar_round_trip(fx: Any) -> None:
    adapter = BY_KEY[fx.key]
    source = fx.path.read_bytes()
    first = parsed(adapter, source)
    sidecar = adapter.render_sidecar([{"type": "form", "data": p.data} for p in first])
    assert adapter.detect(sidecar[:4096])
    second = parsed(adapter, sidecar)
    assert [p.data for p in second] == [p.data for p in first]
    assert [p.canonical for p in second] == [p.canonical for p in first]
    if fx.detect:  # the adapter wrote these fixtures: reading and writing again gives the same bytes
        assert sidecar == source


@pytest.mark.parametrize("fx", VALID, ids=str)
def test_canonical_round_trip(fx: Any) -> None:
    adapter = BY_KEY[fx.key]
    for p in parsed(adapter, fx.path.read_bytes()):
        record = p.canonical
        assert isinstance(record, UifsaForm) and record.form.value == adapter.form.id
        again, problems = check_form(adapter.form, from_canonical(adapter.form, record))
        assert not problems
        assert to_canonical(adapter.form, again) == record


def test_case_json_maps_the_heading_to_canonical_fields() -> None:
    [p] = parsed(BY_KEY["uifsa-transmittal-1"], CASE_JSON.read_bytes())
    form = p.canonical
    assert form.form is UifsaFormType.TRANSMITTAL_1 and form.form_date == dt.date(2025, 3, 14)
    assert form.case_type is IvdCaseType.IV_D and form.assistance_type is AssistanceType.FORMER_ASSISTANCE
    assert form.petitioner is not None and form.petitioner.last == "SAMPLE"
    assert form.respondent is not None and form.respondent.suffix == "JR"
    assert form.responding is not None and (form.responding.locator_code, form.responding.state) == ("0603700", "CA")
    assert form.initiating is not None and form.initiating.case_id == "KS-2025-000123"
    assert form.initiating.address is not None and form.initiating.address.address_type is AddressType.CONTACT
    assert form.payment_name == "KANSAS PAYMENT CENTER" and form.payment_locator_code == "2000000"
    assert form.payment_address is not None and form.payment_address.address_type is AddressType.PAYMENT
    assert form.sent_via_ede and form.confidential_info_attached and not form.sent_via_csenet
    assert form.body["actions"] == {
        "register_for_enforcement": True,
        "register_requested_by": "state_agency",
        "collect_arrears": True,
        "income_withholding": True,
    }
    assert form.body["case_summary"]["support_amount"] == "425.00"
    assert "SAMPLE" not in repr(form)  # personal data stays out of logs


def test_render_accepts_record_bare_data_canonical_and_sidecar_alike() -> None:
    adapter = BY_KEY["uifsa-transmittal-1"]
    record = orjson.loads(CASE_JSON.read_bytes())
    [p] = parsed(adapter, CASE_JSON.read_bytes())
    sidecar = orjson.loads(adapter.render_sidecar([record]))
    pdfs = {b"".join(adapter.render([item])) for item in (record, record["data"], p.canonical, sidecar)}
    assert len(pdfs) == 1


# --------------------------------------------------------------------------- bad input


def _one_error(adapter: UifsaFormAdapter, data: Any) -> set[str]:
    out = run_parse(adapter, orjson.dumps(data))
    assert out.exit == 1 and not out.parsed
    return out.codes


@pytest.mark.parametrize(
    ("mutate", "code"),
    [
        (lambda d: d.update(note="yes"), "NOT_AN_OBJECT"),
        (lambda d: d["note"].update(sent_via_ede="true"), "NOT_BOOLEAN"),
        (lambda d: d["document"].update(csenet_serial=True), "NOT_INTEGER"),
        (lambda d: d["document"].update(csenet_serial=0), "OUT_OF_RANGE"),
        (lambda d: d["children"].update(children={"first": "AVA"}), "NOT_A_TABLE"),
        (lambda d: d["children"].update(children=["AVA"]), "NOT_AN_OBJECT"),
        (lambda d: d["case_summary"].update(support_amount="12.345"), "AMOUNT_FORMAT"),
        (lambda d: d["case_summary"].update(support_amount="1000000000.00"), "AMOUNT_RANGE"),
        (lambda d: d["case_summary"].update(support_frequency="fortnightly"), "CODE_UNKNOWN"),
        (lambda d: d["respondent"].update(first=7), "NOT_TEXT"),
        (lambda d: d["respondent"].update(first="J" * 41), "TOO_LONG"),
        (lambda d: d["respondent"].update(first="JO\nHN"), "CHARSET"),
        (lambda d: d["contact"].update(phone="785-555-0100"), "PATTERN"),
        (lambda d: d["responding"].update(state="Calif."), "STATE_CODE"),
        (lambda d: d["responding"].update(address_line1=None, city=None, zip=None), "INCOMPLETE"),
        (lambda d: d["petitioner"].update(first=None, last=None, middle="Q"), "REQUIRED"),
    ],
)
def test_bad_values_give_coded_errors(mutate: Any, code: str) -> None:
    data = orjson.loads(CASE_JSON.read_bytes())["data"]
    mutate(data)
    codes = _one_error(BY_KEY["uifsa-transmittal-1"], data)
    assert code in codes


def test_every_fault_of_a_form_is_reported_with_its_path_and_without_its_value() -> None:
    data = orjson.loads(CASE_JSON.read_bytes())["data"]
    data["respondent"]["last"] = "\u0141EXAMPLE"
    data["initiating"]["locator_code"] = "9917700"
    del data["document"]["date"]
    out = run_parse(BY_KEY["uifsa-transmittal-1"], orjson.dumps(data))
    assert {(r.code, r.field) for r in out.rejected} == {
        ("CHARSET", "respondent.last"),
        ("FIPS_STATE", "initiating.locator_code"),
        ("REQUIRED", "document.date"),
    }
    assert all(r.record_no == 1 and "EXAMPLE" not in r.message and "9917700" not in r.message for r in out.rejected)


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"[1, 2]", "NOT_A_FORM"),
        (b"\xff\xfe{", "NOT_JSON"),
        (b"", "NOT_JSON"),
        (b'{"format": "csgate-uifsa-form", "form": "transmittal-1", "records": {"type": "form"}}', "NO_FORMS"),
    ],
)
def test_file_level_faults_are_file_structure_errors(data: bytes, code: str) -> None:
    out = run_parse(BY_KEY["uifsa-transmittal-1"], data)
    assert out.exit == 2 and out.file_error is not None and out.file_error.code == code


def test_a_record_of_another_type_is_rejected() -> None:
    results = list(BY_KEY["uifsa-transmittal-1"].parse(io.BytesIO(b'{"type": "entry", "data": {}}')))
    assert [(type(r), r.code) for r in results if isinstance(r, Rejected)] == [(Rejected, "NOT_A_FORM_RECORD")]


def test_render_refuses_an_incomplete_form_with_a_record_error() -> None:
    adapter = BY_KEY["uifsa-controlling-order"]
    [data] = fixture_data("uifsa-controlling-order", "co-order-2-controls.json")
    data["controlling"]["order_number"] = 9
    with pytest.raises(RecordError) as info:
        b"".join(adapter.render([data]))
    assert info.value.code == "ROW_REFERENCE" and info.value.field == "controlling.order_number"
    with pytest.raises(RecordError, match="nothing to render"):
        b"".join(adapter.render([]))
    with pytest.raises(RecordError) as wrong:
        adapter.render_sidecar([UifsaForm(form=UifsaFormType.TRANSMITTAL_2)])
    assert wrong.value.code == "WRONG_FORM"


# --------------------------------------------------------------------------- EDE package


def _package() -> tuple[bytes, list[dict[str, Any]]]:
    t1 = orjson.loads(CASE_JSON.read_bytes())
    [gt] = fixture_data("uifsa-general-testimony", "gt-full-testimony.json")
    [t1_form] = [p.canonical for p in parsed(BY_KEY["uifsa-transmittal-1"], CASE_JSON.read_bytes())]
    items = [{"form": "transmittal-1", "data": t1["data"]}, t1_form, {"form": "uifsa-general-testimony", "data": gt}]
    return ede_package(items, created=dt.datetime(2025, 3, 14, 9, 30, tzinfo=dt.UTC)), [t1["data"], gt]


def test_ede_package_manifest_lists_every_document_with_its_digest() -> None:
    package, _ = _package()
    with zipfile.ZipFile(io.BytesIO(package)) as z:
        manifest = orjson.loads(z.read("manifest.json"))
        assert sorted(z.namelist()) == sorted([*(d["name"] for d in manifest["documents"]), "manifest.json"])
        for doc in manifest["documents"]:
            content = z.read(doc["name"])
            assert doc["sha256"] == hashlib.sha256(content).hexdigest() and doc["bytes"] == len(content)
            assert content.startswith(b"%PDF-") == (doc["media_type"] == "application/pdf")
    assert [d["name"] for d in manifest["documents"]] == [
        "01-transmittal-1.pdf",
        "01-transmittal-1.json",
        "02-transmittal-1.pdf",
        "02-transmittal-1.json",
        "03-general-testimony.pdf",
        "03-general-testimony.json",
    ]
    assert manifest["created"] == "2025-03-14T09:30:00+00:00"
    assert manifest["documents"][0]["initiating"] == {
        "locator_code": "2017700",
        "state": "KS",
        "case_id": "KS-2025-000123",
    }
    assert b"SAMPLE" not in orjson.dumps(manifest)  # identifiers only: no names in the routing data
    assert verify_ede_package(package) == manifest
    assert package == _package()[0]  # deterministic: same forms, same bytes, same digests


def _rezip(package: bytes, change: Any) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(package)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            content = change(info.filename, src.read(info.filename))
            if content is not None:
                dst.writestr(info.filename, content)
        if change("extra.txt", None) is not None:
            dst.writestr("extra.txt", b"not in the manifest")
    return out.getvalue()


@pytest.mark.parametrize(
    ("change", "code"),
    [
        (lambda name, c: c[:-1] + b"!" if name == "01-transmittal-1.json" else c, "EDE_DIGEST"),
        (lambda name, c: None if name == "03-general-testimony.pdf" else c, "EDE_MISSING"),
        (lambda name, c: b"x" if name == "extra.txt" else c, "EDE_UNLISTED"),
        (lambda name, c: b"{}" if name == "manifest.json" else c, "EDE_MANIFEST"),
    ],
)
def test_tampered_ede_package_is_detected(change: Any, code: str) -> None:
    package, _ = _package()
    with pytest.raises(FileStructureError) as info:
        verify_ede_package(_rezip(package, change))
    assert info.value.code == code


def test_ede_package_refuses_junk_and_incomplete_forms() -> None:
    with pytest.raises(FileStructureError) as info:
        verify_ede_package(os.urandom(300))
    assert info.value.code == "EDE_NOT_ZIP"
    with pytest.raises(RecordError) as bad:
        ede_package([{"form": "transmittal-1", "data": {"document": {"date": "2025-03-14"}}}])
    assert bad.value.code == "REQUIRED"
    with pytest.raises(RecordError) as unknown:
        ede_package([{"form": "locate-request", "data": {}}])
    assert unknown.value.code == "UNKNOWN_FORM"
    with pytest.raises(RecordError) as empty:
        ede_package([])
    assert empty.value.code == "NO_FORMS"


# --------------------------------------------------------------------------- CLI


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (b'{"type": "form",\n "data": {"a": 1}\n}\n', [{"type": "form", "data": {"a": 1}}]),
        (b'[\n {"a": 1},\n {"b": 2}\n]', [{"a": 1}, {"b": 2}]),
        (b'{"a": 1}\n\n{"error": {"code": "X"}}\n{"b": 2}\n', [{"a": 1}, {"b": 2}]),
        (b'[{"a": 1}, {"b": 2}]\n', [{"a": 1}, {"b": 2}]),
    ],
)
def test_render_input_is_json_lines_or_one_json_document(text: bytes, expected: list[dict[str, Any]]) -> None:
    assert list(_read_jsonl(io.BytesIO(text))) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (b'{"a": 1}\n{"b": \n', "line 2 is not JSON"),
        (b'{"a": \n 1,\n', "neither JSON Lines"),
        (b"[1, 2]\n", "not a JSON object"),
    ],
)
def test_render_input_that_is_neither_is_a_usage_problem(text: bytes, message: str) -> None:
    with pytest.raises(UsageProblem, match=message):
        list(_read_jsonl(io.BytesIO(text)))


def test_csgate_render_writes_the_pdf_of_a_pretty_printed_case_json() -> None:
    assert CASE_JSON.read_bytes().count(b"\n") > 20
    r = subprocess.run(
        [sys.executable, "-m", "gateway.cli", "render", "--format", "uifsa-transmittal-1", str(CASE_JSON)],
        capture_output=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    text = pdf_text(r.stdout)
    assert "TRANSMITTAL #1 - INITIAL REQUEST" in text and "KS-2025-000123" in text
    assert re.search(r"Responding Locator Code 0603700", text)


def test_an_unknown_key_is_named_only_when_it_looks_like_an_element_name() -> None:
    data = orjson.loads(CASE_JSON.read_bytes())["data"]
    data["petitioner"]["JANE SAMPLE"] = "x"
    data["respondent"]["frist"] = "JOHN"
    data["212345671"] = {}
    out = run_parse(BY_KEY["uifsa-transmittal-1"], orjson.dumps(data))
    assert {(r.code, r.field) for r in out.rejected} == {
        ("UNKNOWN_ELEMENT", "petitioner.(unrecognised key)"),
        ("UNKNOWN_ELEMENT", "respondent.frist"),
        ("UNKNOWN_SECTION", "(unrecognised key)"),
    }
    assert not any("SAMPLE" in r.message or "212345671" in r.message for r in out.rejected)
