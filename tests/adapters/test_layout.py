"""The layout engine: every mapping file passes the load-time checks, and each rule bites."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from types import MappingProxyType
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.errors import LayoutError, RecordError
from adapters.layout import (
    MAPPINGS_DIR,
    all_layout_files,
    ascii_table,
    encode_text,
    latin1_table,
    layout_from_doc,
    load_code_rows,
    load_codes,
    load_layout,
)

SOURCE = {"document": "test", "version": "1", "status": "choice"}


def doc(fields: list[dict[str, Any]], length: int | None = None) -> dict[str, Any]:
    total = length if length is not None else sum(int(f.get("length", 1)) for f in fields)
    return {"source": SOURCE, "record": {"name": "t", "length": total, "fields": fields}}


SAMPLE = [
    {"name": "kind", "start": 1, "length": 1, "type": "constant", "value": "D"},
    {"name": "ssn", "start": 2, "length": 9, "type": "ssn", "required": True, "pii": True},
    {"name": "name", "start": 11, "length": 10, "type": "alnum", "pii": True},
    {"name": "amount", "start": 21, "length": 8, "type": "amount", "decimals": 2},
    {"name": "count", "start": 29, "length": 3, "type": "numeric", "required": True},
    {"name": "when", "start": 32, "length": 8, "type": "date", "format": "CCYYMMDD"},
    {"name": "code", "start": 40, "length": 2, "type": "code", "codes": ["A", "BB"], "required": True},
    {"name": "id", "start": 42, "length": 5, "type": "digits"},
    {"name": "pad", "start": 47, "length": 4, "type": "filler"},
]
LAYOUT = layout_from_doc(doc(SAMPLE), "sample")
GOOD = "D212345671JANE Q    0001234500720250131A 00042    "


@pytest.mark.parametrize("path", all_layout_files(), ids=lambda p: str(p.relative_to(MAPPINGS_DIR)))
def test_every_mapping_file_loads_and_checks(path: Any) -> None:
    layout = load_layout(str(path.relative_to(MAPPINGS_DIR)))
    assert layout.fields[0].start == 1
    assert sum(f.length for f in layout.fields) == layout.length
    assert layout.source["status"] in {"confirmed", "derived", "unconfirmed", "choice", "mixed"}
    # parse relies on this: a match of the record's regex is exactly one record long
    for rx in (layout.rx, layout._rx_printable or layout.rx):
        assert re._parser.parse(rx.pattern, rx.flags).getwidth() == (layout.length, layout.length)


@pytest.mark.parametrize("path", all_layout_files(), ids=lambda p: str(p.relative_to(MAPPINGS_DIR)))
def test_code_fields_match_exactly_their_codes(path: Any) -> None:
    """The factored code alternation admits each code of the table and nothing else of the width."""
    for f in load_layout(str(path.relative_to(MAPPINGS_DIR))).fields:
        if f.type != "code":
            continue
        rx = re.compile(f.regex(), re.DOTALL)
        padded = {c.ljust(f.length, f.pad) if f.justify == "left" else c.rjust(f.length, f.pad) for c in f.codes}
        assert all(rx.fullmatch(c) for c in padded), f.name
        near = {c[:-1] + x for c in padded for x in "0Z~ -"} - padded - ({" " * f.length} if not f.required else set())
        assert not any(rx.fullmatch(c) for c in near), f.name


def test_parse_converts_each_type() -> None:
    d = LAYOUT.parse_text(GOOD)
    assert d == {
        "ssn": "212345671",
        "name": "JANE Q",
        "amount": Decimal("123.45"),
        "count": 7,
        "when": dt.date(2025, 1, 31),
        "code": "A",
        "id": "00042",
    }


def test_render_is_exact_inverse() -> None:
    assert LAYOUT.render(LAYOUT.parse_text(GOOD)) == GOOD


@pytest.mark.parametrize(
    ("mutate", "code", "field"),
    [
        (lambda s: s[:1] + "000345671" + s[10:], "SSN_INVALID", "ssn"),
        (lambda s: s[:1] + "666345671" + s[10:], "SSN_INVALID", "ssn"),
        (lambda s: s[:1] + "912345671" + s[10:], "SSN_INVALID", "ssn"),
        (lambda s: s[:1] + "212005671" + s[10:], "SSN_INVALID", "ssn"),
        (lambda s: s[:1] + "212340000" + s[10:], "SSN_INVALID", "ssn"),
        (lambda s: s[:1] + "         " + s[10:], "REQUIRED", "ssn"),
        (lambda s: s[:20] + "0001X345" + s[28:], "NOT_NUMERIC", "amount"),
        (lambda s: s[:31] + "20250231" + s[39:], "DATE_INVALID", "when"),
        (lambda s: s[:39] + "ZZ" + s[41:], "CODE_UNKNOWN", "code"),
        (lambda s: "X" + s[1:], "CONSTANT", None),
        (lambda s: s[:-1], "RECORD_LENGTH", None),
    ],
)
def test_bad_field_is_named_with_positions(mutate: Any, code: str, field: str | None) -> None:
    with pytest.raises(RecordError) as info:
        LAYOUT.parse_text(mutate(GOOD))
    err = info.value
    assert err.code == code
    if field:
        f = next(x for x in LAYOUT.fields if x.name == field)
        assert (err.field, err.start, err.end) == (field, f.start, f.end)


def test_error_messages_never_carry_pii_values() -> None:
    with pytest.raises(RecordError) as info:
        LAYOUT.parse_text(GOOD[:1] + "000345671" + GOOD[10:])
    assert "000345671" not in str(info.value)


def test_non_ascii_byte_is_coded_with_position() -> None:
    raw = GOOD.encode()[:12] + b"\xc9" + GOOD.encode()[13:]
    with pytest.raises(RecordError) as info:
        LAYOUT.parse(raw)
    assert (info.value.code, info.value.start, info.value.field) == ("NON_ASCII", 13, "name")


TEXTY = layout_from_doc(
    doc(
        [
            {"name": "kind", "start": 1, "length": 1, "type": "constant", "value": "T"},
            {"name": "note", "start": 2, "length": 240, "type": "alnum"},
            {"name": "code", "start": 242, "length": 2, "type": "code", "codes": ["A", "BB"], "required": True},
            {"name": "pad", "start": 244, "length": 4, "type": "filler"},
        ]
    ),
    "texty",
)


@pytest.mark.parametrize("char", ["\x00", "\t", "\r", "\x1f", "\x7f"])
@pytest.mark.parametrize("pos", [2, 241, 242, 245])  # free text first and last character, code, filler
def test_control_characters_get_the_strict_verdict(char: str, pos: int) -> None:
    """Bytes parsing skips the per-character test of free text only when the record has no control
    character at all, so it must agree with the strict pattern wherever one sits."""
    assert TEXTY._rx_printable is not None  # enough free text for the fast path
    good = "T" + "FREE TEXT ".ljust(240, "X") + "A     "
    assert TEXTY.parse(good.encode("ascii"))["code"] == "A"
    text = good[: pos - 1] + char + good[pos:]
    try:
        expected: Any = TEXTY.parse_text(text)
    except RecordError as err:
        expected = (err.code, err.field, err.start)
    try:
        got: Any = TEXTY.parse(text.encode("ascii"))
    except RecordError as err:
        got = (err.code, err.field, err.start)
    assert got == expected
    assert got[1] == {2: "note", 241: "note", 242: "code"}[pos] if pos < 245 else isinstance(got, dict)


@pytest.mark.parametrize("char", ["\x00", "\t", "\n", "\x1f", "\x7f", "\xe9", "\u20ac"])
@pytest.mark.parametrize("at", [0, 120, 239])
def test_render_refuses_what_is_not_printable_ascii_in_free_text(char: str, at: int) -> None:
    """Rendering proves free text by the printable-text pattern only after the whole text passed the
    printable check, so a control or non-ASCII character anywhere in it is still refused and named."""
    note = ("FREE TEXT " * 24)[:239]
    assert TEXTY.render({"note": note, "code": "BB"}) == f"T{note} BB    "
    with pytest.raises(RecordError) as info:
        TEXTY.render({"note": note[:at] + char + note[at + 1 :], "code": "BB"})
    assert (info.value.code, info.value.field) == ("CHARSET", "note")


@pytest.mark.parametrize("encoding", ["cp037", "cp500", "cp1140", "latin-1", "utf-8"])
def test_parse_decodes_any_codec_exactly(encoding: str) -> None:
    # EBCDIC pages that map onto Latin-1 take the bytes.translate fast path; the others use the codec
    assert LAYOUT.parse(GOOD.encode(encoding), encoding) == LAYOUT.parse_text(GOOD)
    every_byte = bytes(range(256))
    assert encode_text(GOOD, encoding) == GOOD.encode(encoding)  # and back: ASCII text into the page
    assert latin1_table("cp037") is not None and latin1_table("cp1140") is None and latin1_table("ascii") is None
    assert every_byte.translate(latin1_table("cp037")).decode("latin-1") == every_byte.decode("cp037")
    assert ascii_table("cp037") is not None and ascii_table("ascii") is None and ascii_table("utf-16") is None
    ascii_text = bytes(range(128)).decode("ascii")
    assert encode_text(ascii_text, "cp037") == ascii_text.encode("cp037")
    with pytest.raises(UnicodeEncodeError):
        encode_text("é", "ascii")
    with pytest.raises(RecordError) as info:  # an EBCDIC lower-case letter in a digits field is still named
        LAYOUT.parse(GOOD[:41].encode(encoding) + "a".encode(encoding) + GOOD[42:].encode(encoding), encoding)
    assert (info.value.code, info.value.field) == ("NOT_NUMERIC", "id")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("name", "ELEVEN CHARS"),
        ("amount", Decimal("1000000.00")),
        ("count", 1000),
        ("count", -1),
        ("amount", Decimal("1.005")),
        ("code", "C"),
        ("ssn", "12345678"),
        ("id", "123456"),
    ],
)
def test_render_refuses_values_that_do_not_fit(field: str, value: Any) -> None:
    data = LAYOUT.parse_text(GOOD) | {field: value}
    with pytest.raises(RecordError) as info:
        LAYOUT.render(data)
    assert info.value.field == field
    with pytest.raises(RecordError) as info:  # the same verdict from the values in field order
        LAYOUT.render_row(tuple(data[f.name] for f in LAYOUT.data_fields))
    assert info.value.field == field


@pytest.mark.parametrize("value", [["A"], {"A": 1}, 1.5, True, dt.datetime(2024, 1, 2), "\x07"])
def test_render_row_refuses_wrong_types_as_render_does(value: Any) -> None:
    for name in ("name", "code", "count", "when", "amount"):
        data = LAYOUT.parse_text(GOOD) | {name: value}
        row = tuple(data[f.name] for f in LAYOUT.data_fields)
        try:
            expected: Any = LAYOUT.render(data)
        except RecordError as err:
            expected = (err.code, err.field)
        try:
            got: Any = LAYOUT.render_row(row)
        except RecordError as err:
            got = (err.code, err.field)
        assert got == expected
        assert isinstance(value, str) or name == "amount" or expected[1] == name  # refused, naming the field


def test_render_row_writes_what_render_writes() -> None:
    data = LAYOUT.parse_text(GOOD)
    assert LAYOUT.render_row(tuple(data[f.name] for f in LAYOUT.data_fields)) == LAYOUT.render(data) == GOOD


def test_render_never_truncates_or_shifts() -> None:
    """``"%09d"`` does not truncate: an over-wide number must not push later fields along."""
    with pytest.raises(RecordError):
        LAYOUT.render(LAYOUT.parse_text(GOOD) | {"count": 12345})


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Decimal("123.45"), "00012345"),  # the places of the field: written from the Decimal's own digits
        (Decimal("123.4"), "00012340"),
        (Decimal("123"), "00012300"),
        (Decimal("1.2E+2"), "00012000"),
        (Decimal("0E-7"), "00000000"),
        (Decimal("-0.00"), "00000000"),
        (Decimal("0.00"), "00000000"),  # zeros, the most common amount, take a shorter way: same text
        (Decimal("0E+3"), "00000000"),
        (0, "00000000"),
        (123, "00012300"),
        ("123.45", "00012345"),
    ],
)
def test_render_writes_every_form_of_an_amount_exactly(value: Any, text: str) -> None:
    assert LAYOUT.render(LAYOUT.parse_text(GOOD) | {"amount": value})[20:28] == text


@pytest.mark.parametrize(
    "value", [Decimal("-1.00"), Decimal("-0.01"), Decimal("1.001"), Decimal("NaN"), Decimal("sNaN"), "1.2.3"]
)
def test_render_refuses_a_negative_inexact_or_malformed_amount(value: Any) -> None:
    with pytest.raises(RecordError) as info:
        LAYOUT.render(LAYOUT.parse_text(GOOD) | {"amount": value})
    assert info.value.field == "amount"


def test_render_takes_a_missing_field_as_its_default() -> None:
    layout = layout_from_doc(
        doc(
            [
                {"name": "a", "start": 1, "length": 2, "type": "alnum", "default": "XY"},
                {"name": "b", "start": 3, "length": 3, "type": "numeric"},
                {"name": "c", "start": 6, "length": 8, "type": "date", "format": "CCYYMMDD"},
            ]
        ),
        "defaults",
    )
    assert layout.render({"b": 7}) == "XY007        "
    assert layout.render({"a": None, "b": 7, "c": "2025-01-31"}) == "  00720250131"
    # as many keys as fields, one of them not a field; and a mapping that is not a dict
    assert layout.render({"b": 7, "c": None, "note": "x"}) == "XY007        "
    assert layout.render(MappingProxyType({"b": 7})) == "XY007        "


@given(
    name=st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), max_size=10),
    cents=st.integers(min_value=0, max_value=99_999_999),
    count=st.integers(min_value=0, max_value=999),
    when=st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2099, 12, 31)),
)
def test_round_trip_property(name: str, cents: int, count: int, when: dt.date) -> None:
    data = LAYOUT.parse_text(GOOD) | {
        "name": name or None,
        "amount": Decimal(cents).scaleb(-2),
        "count": count,
        "when": when,
    }
    assert LAYOUT.parse_text(LAYOUT.render(data)) == data


BAD_LAYOUTS = {
    "gap": [
        {"name": "a", "start": 1, "length": 2, "type": "alnum"},
        {"name": "b", "start": 4, "length": 1, "type": "alnum"},
    ],
    "overlap": [
        {"name": "a", "start": 1, "length": 2, "type": "alnum"},
        {"name": "b", "start": 2, "length": 2, "type": "alnum"},
    ],
    "not from 1": [{"name": "a", "start": 2, "length": 2, "type": "alnum"}],
    "end mismatch": [{"name": "a", "start": 1, "length": 2, "end": 3, "type": "alnum"}],
    "unknown type": [{"name": "a", "start": 1, "length": 2, "type": "text"}],
    "default on required": [{"name": "a", "start": 1, "length": 2, "type": "alnum", "required": True, "default": "x"}],
    "left-justified number": [{"name": "a", "start": 1, "length": 2, "type": "numeric", "justify": "left"}],
    "space-filled number": [{"name": "a", "start": 1, "length": 2, "type": "numeric", "pad": " "}],
    "bad date format": [{"name": "a", "start": 1, "length": 6, "type": "date", "format": "DDMMYY"}],
    "code too long": [{"name": "a", "start": 1, "length": 1, "type": "code", "codes": ["AB"]}],
    "unknown table": [{"name": "a", "start": 1, "length": 1, "type": "code", "table": "no_such_table"}],
    "code without list": [{"name": "a", "start": 1, "length": 1, "type": "code"}],
    "constant width": [{"name": "a", "start": 1, "length": 2, "type": "constant", "value": "X"}],
    "unknown key": [{"name": "a", "start": 1, "length": 2, "type": "alnum", "colour": "red"}],
    "duplicate name": [
        {"name": "a", "start": 1, "length": 1, "type": "alnum"},
        {"name": "a", "start": 2, "length": 1, "type": "alnum"},
    ],
}


@pytest.mark.parametrize("fields", BAD_LAYOUTS.values(), ids=BAD_LAYOUTS.keys())
def test_bad_layouts_are_refused_on_load(fields: list[dict[str, Any]]) -> None:
    with pytest.raises(LayoutError):
        layout_from_doc(doc(fields), "bad")


def test_total_length_must_match() -> None:
    with pytest.raises(LayoutError, match="record length"):
        layout_from_doc(doc([{"name": "a", "start": 1, "length": 2, "type": "alnum"}], length=3), "bad")


def test_source_table_is_required() -> None:
    with pytest.raises(LayoutError, match="source"):
        layout_from_doc(
            {
                "record": {
                    "name": "t",
                    "length": 1,
                    "fields": [{"name": "a", "start": 1, "length": 1, "type": "alnum"}],
                }
            },
            "bad",
        )


SIGNED = layout_from_doc(
    doc(
        [
            {"name": "lenient", "start": 1, "length": 12, "type": "amount", "form": "signed", "accept_implied": True},
            {"name": "strict", "start": 13, "length": 12, "type": "amount", "form": "signed", "required": True},
        ]
    ),
    "signed",
)


@pytest.mark.parametrize(
    ("text", "lenient", "strict"),
    [
        ("+00001234.56-00000050.00", Decimal("1234.56"), Decimal("-50.00")),
        ("            +00000000.00", None, Decimal("0")),
        ("000000123456+00000000.01", Decimal("1234.56"), Decimal("0.01")),  # implied decimals
        ("-00000005000+99999999.99", Decimal("-50.00"), Decimal("99999999.99")),  # '-' + implied decimals
    ],
)
def test_signed_amount_reads_explicit_and_implied_forms(text: str, lenient: Any, strict: Decimal) -> None:
    assert SIGNED.parse_text(text) == {"lenient": lenient, "strict": strict}


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("000000123456000000000001", "strict"),  # implied form only where accept_implied is set
        ("+0000123456 +00000000.00", "lenient"),
        ("+1234.56    +00000000.00", "lenient"),
        ("            ++0000000.00", "strict"),
    ],
)
def test_signed_amount_bad_forms_are_coded(text: str, field: str) -> None:
    with pytest.raises(RecordError) as info:
        SIGNED.parse_text(text)
    assert (info.value.code, info.value.field) == ("AMOUNT_FORMAT", field)


def test_signed_amount_renders_sign_point_and_refuses_overflow() -> None:
    assert SIGNED.render({"lenient": Decimal("-12.5"), "strict": "3"}) == "-00000012.50+00000003.00"
    assert SIGNED.render({"lenient": None, "strict": 0}) == "            +00000000.00"
    for value in (Decimal("100000000"), Decimal("1.234")):
        with pytest.raises(RecordError) as info:
            SIGNED.render({"lenient": value, "strict": 0})
        assert info.value.field == "lenient"


@pytest.mark.parametrize(
    "field",
    [
        {"name": "a", "start": 1, "length": 12, "type": "numeric", "form": "signed"},
        {"name": "a", "start": 1, "length": 12, "type": "amount", "form": "packed"},
        {"name": "a", "start": 1, "length": 12, "type": "amount", "accept_implied": True},
        {"name": "a", "start": 1, "length": 3, "type": "amount", "form": "signed", "decimals": 2},
    ],
)
def test_signed_amount_options_are_checked_on_load(field: dict[str, Any]) -> None:
    with pytest.raises(LayoutError):
        layout_from_doc(doc([field]), "bad")


def test_ssn_rule_agrees_with_python_stdnum() -> None:
    """The layout's one-regex SSN check must say exactly what stdnum's us.ssn says."""
    import random

    from stdnum.us import ssn as stdnum_ssn

    from adapters.layout import is_valid_ssn

    rng = random.Random(7)
    samples = [f"{rng.randrange(10**9):09d}" for _ in range(20_000)]
    samples += [
        "078051120",
        "457555462",
        "219099999",
        "000123456",
        "666123456",
        "900123456",
        "123001234",
        "123450000",
        "001010001",
        "899999999",
        "665999999",
    ]
    for s in samples:
        assert bool(is_valid_ssn(s)) == stdnum_ssn.is_valid(s), s


def test_code_rows_keep_every_column_and_codes_keep_the_meaning(tmp_path: Any) -> None:
    (tmp_path / "codes").mkdir()
    (tmp_path / "codes" / "t.csv").write_text("# source: test\ncode,meaning,canonical\nW,Weekly,weekly\nX,Odd\n")
    rows = load_code_rows("t", tmp_path)
    assert rows == {
        "W": {"code": "W", "meaning": "Weekly", "canonical": "weekly"},
        "X": {"code": "X", "meaning": "Odd", "canonical": ""},
    }
    assert load_codes("t", tmp_path) == {"W": "Weekly", "X": "Odd"}
    (tmp_path / "codes" / "dup.csv").write_text("code,meaning\nA,a\nA,b\n")
    with pytest.raises(LayoutError, match="repeats"):
        load_code_rows("dup", tmp_path)


def test_field_error_names_the_field_and_its_positions() -> None:
    err = LAYOUT.field_error("amount", "RULE", "must be above zero")
    assert (err.code, err.field, err.start, err.end) == ("RULE", "amount", 21, 28)
    assert err.message == "amount (positions 21-28): must be above zero"
    assert LAYOUT.field_error("nowhere", "RULE", "x").start is None


def test_required_text_may_not_be_blank_either_way() -> None:
    layout = layout_from_doc(
        doc(
            [
                {"name": "who", "start": 1, "length": 4, "type": "alnum", "required": True},
                {"name": "n", "start": 5, "length": 2, "type": "numeric"},
            ]
        ),
        "required-text",
    )
    assert layout.parse_text("AB  07") == {"who": "AB", "n": 7}
    with pytest.raises(RecordError) as info:
        layout.parse_text("    07")
    assert (info.value.code, info.value.field) == ("REQUIRED", "who")
    for value in (None, "", "   "):
        with pytest.raises(RecordError) as info:
            layout.render({"who": value, "n": 7})
        assert (info.value.code, info.value.field) in {("REQUIRED", "who"), ("RENDER_VALUE", "who")}


def test_render_parsed_reads_back_what_parse_reads_from_the_same_match() -> None:
    values = LAYOUT.parse_text(GOOD)
    assert LAYOUT.render_parsed(values) == (GOOD, values)
    text, some = LAYOUT.render_parsed(values, frozenset({"amount"}))
    assert text == GOOD
    assert some == {"amount": Decimal("123.45")}
    with pytest.raises(LayoutError, match="no data fields"):
        LAYOUT.render_parsed(values, frozenset({"nowhere"}))
    with pytest.raises(RecordError) as info:
        LAYOUT.render_parsed(values | {"count": 1234}, frozenset())
    assert info.value.field == "count"


def test_render_parsed_refuses_a_text_that_does_not_read_back() -> None:
    clock = layout_from_doc(
        doc(
            [
                {"name": "at", "start": 1, "length": 6, "type": "time", "format": "HHMMSS"},
                {"name": "n", "start": 7, "length": 2, "type": "numeric"},
            ]
        ),
        "clock",
    )
    assert clock.render_parsed({"at": "235959", "n": 1}, frozenset({"n"})) == ("23595901", {"at": "235959", "n": 1})
    with pytest.raises(RecordError) as info:
        clock.render_parsed({"at": "256100", "n": 1}, frozenset({"n"}))  # the regex takes it, the clock does not
    assert (info.value.code, info.value.field) == ("TIME_INVALID", "at")


ENTRY = b"627231380104744-5678-99      0000001234location #23   Best Co. #23          S 1121042880000001"
ADDENDA = b"705This is an Addenda05                                                            00010000001"


def _parse_or_none(layout: Any, raw: bytes) -> dict[str, Any] | None:
    try:
        return layout.parse(raw)  # type: ignore[no-any-return]
    except RecordError:
        return None


def test_pair_reader_reads_exactly_what_parse_reads() -> None:
    """Read as a pair, two records give what ``parse`` gives for each, or None whenever either fails."""
    entry, addenda = load_layout("employer/nacha/entry_detail.toml"), load_layout("employer/nacha/addenda.toml")
    read, nested = entry.pair_reader(addenda), entry.pair_reader(addenda, nest="addenda")
    variants = [(ENTRY, ADDENDA), (ENTRY[:-1], ADDENDA), (ENTRY, ADDENDA + b" "), (ENTRY + b" ", ADDENDA[:-1])]
    for pos in range(94):
        for byte in (b"X", b" ", b"0", b"\x00", b"\xe9"):
            variants.append((ENTRY[:pos] + byte + ENTRY[pos + 1 :], ADDENDA))
            variants.append((ENTRY, ADDENDA[:pos] + byte + ADDENDA[pos + 1 :]))
    both = 0
    for a, b in variants:
        one, two = _parse_or_none(entry, a), _parse_or_none(addenda, b)
        expected = (one, two) if one is not None and two is not None else None
        assert read(a, b) == expected, (a, b)
        pair = nested(a, b)
        if expected is None:
            assert pair is None
        else:  # the first record holds the second, the very dict it gives beside it
            assert pair == ({**one, "addenda": [two]}, two) and pair[0]["addenda"][0] is pair[1]  # type: ignore[dict-item]
        both += expected is not None
    assert 0 < both < len(variants)


@given(st.binary(min_size=188, max_size=188))
def test_pair_reader_never_raises(raw: bytes) -> None:
    entry, addenda = load_layout("employer/nacha/entry_detail.toml"), load_layout("employer/nacha/addenda.toml")
    pair = entry.pair_reader(addenda)(raw[:94], raw[94:])
    assert pair is None or pair == (entry.parse(raw[:94]), addenda.parse(raw[94:]))


def test_pair_reader_refuses_field_patterns() -> None:
    """A field pattern asserts its end from the start of the text, which a pair would shift."""
    plain = load_layout("employer/nacha/addenda.toml")
    patterned = layout_from_doc(
        doc([{"name": "a", "start": 1, "length": 4, "type": "alnum", "pattern": "[A-Z]+ *"}]), "patterned"
    )
    with pytest.raises(LayoutError, match="pattern"):
        plain.pair_reader(patterned)


SUFFIX_SSN = layout_from_doc(
    doc(
        [
            {"name": "suffix", "start": 1, "length": 4, "type": "alnum"},
            {"name": "ssn", "start": 5, "length": 9, "type": "ssn"},
            {"name": "name", "start": 14, "length": 6, "type": "alnum", "required": True},
        ]
    ),
    "suffix_ssn",
)


def test_short_value_cannot_make_room_for_an_over_wide_neighbour() -> None:
    """Five characters in a four-character field followed by an eight-digit SSN add up to the record's
    length; the SSN must be refused, not read back shifted by one."""
    with pytest.raises(RecordError) as err:
        SUFFIX_SSN.render({"suffix": "JR  1", "ssn": "23456789", "name": "SMITH"})
    assert err.value.field in ("suffix", "ssn")
    with pytest.raises(RecordError):
        SUFFIX_SSN.render({"suffix": "JR", "ssn": "", "name": "SMITH"})
    assert SUFFIX_SSN.render({"suffix": "JR", "ssn": "123456789", "name": "SMITH"}) == "JR  123456789SMITH "


def test_number_in_a_required_text_field_is_written_as_render_field_writes_it() -> None:
    assert SUFFIX_SSN.render({"suffix": None, "ssn": 123456789, "name": 42}) == "    12345678942    "
    with pytest.raises(RecordError) as err:
        SUFFIX_SSN.render({"suffix": None, "ssn": None, "name": 1234567})
    assert err.value.field == "name"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("name", ["JANE"]),  # %s would write "['JANE']"
        ("name", {"first": "JANE"}),
        ("name", b"JANE"),
        ("name", True),
        ("code", ["A"]),
        ("count", 7.9),  # %d would write 007
        ("count", Decimal("7.9")),
        ("count", True),
        ("count", " 7"),
        ("amount", True),
        ("when", dt.datetime(2025, 1, 31, 12, 30)),  # the time would be dropped silently
        ("id", ["1"]),
        ("ssn", ["212345671"]),
    ],
)
def test_render_refuses_a_value_of_the_wrong_type_instead_of_writing_its_str(field: str, value: Any) -> None:
    with pytest.raises(RecordError) as info:
        LAYOUT.render(LAYOUT.parse_text(GOOD) | {field: value})
    assert info.value.field == field


def test_render_writes_whole_numbers_given_as_digits_or_ints() -> None:
    assert LAYOUT.render(LAYOUT.parse_text(GOOD) | {"count": "7", "name": 42})[10:31] == "42        00012345007"


@pytest.mark.parametrize(("field", "value"), [("when", "1985-13-45"), ("count", "JANE"), ("amount", "JANE")])
def test_render_errors_do_not_quote_the_value(field: str, value: str) -> None:
    """Python's own messages quote what they could not convert (``Invalid isoformat string: '1985-13-45'``)."""
    with pytest.raises(RecordError) as info:
        LAYOUT.render(LAYOUT.parse_text(GOOD) | {field: value})
    assert value not in str(info.value) and info.value.field == field


def test_unknown_code_is_not_quoted() -> None:
    """A shifted record can put a name or an SSN where a code belongs."""
    with pytest.raises(RecordError) as info:
        LAYOUT.parse_text(GOOD[:39] + "ZQ" + GOOD[41:])
    assert info.value.code == "CODE_UNKNOWN" and "ZQ" not in str(info.value)


def test_render_read_back_reads_what_parse_reads_field_by_field() -> None:
    data = LAYOUT.parse_text(GOOD)
    text, values = LAYOUT.render_read_back(data)
    assert text == GOOD and dict(values) == data
    assert values.get("no_such_field", "absent") == "absent" and "no_such_field" not in values
    _, fresh = LAYOUT.render_read_back(data)
    assert fresh.get("amount") == Decimal("123.45") and fresh["when"] == dt.date(2025, 1, 31)


def test_a_required_date_of_zeros_is_refused_not_read_as_no_date() -> None:
    layout = layout_from_doc(
        doc([{"name": "due", "start": 1, "length": 8, "type": "date", "format": "CCYYMMDD", "required": True}]), "due"
    )
    assert layout.parse_text("20250131") == {"due": dt.date(2025, 1, 31)}
    with pytest.raises(RecordError) as info:
        layout.parse_text("00000000")
    assert info.value.code == "REQUIRED" and info.value.field == "due"
    with pytest.raises(RecordError):
        layout.parse(b"00000000")
