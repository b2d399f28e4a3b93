"""Fixed-width record layouts as data: load, check, compile once, parse and render from one spec.

A layout is a TOML file under ``mappings/`` (vocabulary in ``mappings/README.md``). Loading checks
it completely (contiguous from position 1, ``end = start + length - 1``, total = record length,
known types, legal padding, no default on a required field, codes from a known table) and raises
``LayoutError`` on any fault, so a bad mapping never reaches a file.

Why code generation: per-field Python work is the bottleneck of fixed-width parsing
(shared/specs/performance-ceilings.md). Each layout is compiled to one regular expression that checks
the whole record's shape in C (digits, code lists, SSN rules, charsets) and to one generated Python
function that converts the captured groups into a dict. Only a record that fails the fast path is
diagnosed field by field, to name the exact field, positions and code. Rendering is the mirror:
one ``%``-format for the whole record, then the same regular expression proves the output is valid
(in its printable-text form for a record mostly of free text whose text is printable ASCII), and only a
failing record is diagnosed field by field. Over-wide values are refused, never truncated.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
import re
import tomllib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from operator import itemgetter
from pathlib import Path
from typing import Any

from adapters.errors import LayoutError, RecordError

MAPPINGS_DIR = Path(os.environ.get("CSGATE_MAPPINGS", Path(__file__).resolve().parent.parent / "mappings"))

STATUSES = frozenset({"confirmed", "derived", "unconfirmed", "choice"})
DATE_FORMATS: dict[str, str] = {"YYMMDD": "%y%m%d", "CCYYMMDD": "%Y%m%d", "MMDDCCYY": "%m%d%Y", "MMDDYY": "%m%d%y"}
TIME_FORMATS = frozenset({"HHMM", "HHMMSS"})
TYPES = frozenset(
    {"alnum", "alpha", "numeric", "digits", "amount", "date", "time", "code", "ssn", "filler", "constant"}
)
# SSA rules, exactly as python-stdnum's us.ssn checks them: no 000/666/9xx area, no 00 group, no 0000
# serial, and not one of the numbers SSA lists as never valid. One C-level regex instead of a Python
# call per record; tests/adapters/test_layout.py proves it agrees with stdnum.
SSN_RE = r"(?!000|666|9|078051120|457555462|219099999)\d{3}(?!00)\d{2}(?!0000)\d{4}"
is_valid_ssn = re.compile(SSN_RE).fullmatch
PRINTABLE = r" -~"
# Control characters (what 7-bit ASCII holds beyond PRINTABLE) map to NUL, everything else to a space.
_CONTROL_TABLE = bytes(0 if c < 0x20 or c == 0x7F else 0x20 for c in range(256))


def _no_control(ascii_bytes: bytes) -> bool:
    """Whether ASCII bytes hold no control character, i.e. are printable: one translate pass and a memchr.

    The needle is the int 0, not ``b"\\0"``: a bytes needle goes through the buffer protocol first, which
    costs several times the search itself on a record."""
    return 0 not in ascii_bytes.translate(_CONTROL_TABLE)


# Free-text characters from which the printable pre-check pays for itself (measured in instructions: the
# check costs about as much as testing 100 free-text characters in the regex, plus a little per byte).
PRINTABLE_CHECK_MIN_TEXT = 200
# Rendering must first encode its text, and the check then costs about 11 instructions a byte of the whole
# record against about 21 saved per free-text character: it pays from this share of free text on.
RENDER_PRINTABLE_MIN_SHARE = 0.55


# --------------------------------------------------------------------------- code tables


@cache
def load_code_rows(table: str, base: Path | None = None) -> dict[str, dict[str, str]]:
    """Load ``mappings/codes/<table>.csv`` with every column, keyed by ``code`` (``#`` lines are comments).

    Tables that carry a rule per code beside its meaning (a canonical value, fields a code requires)
    read their extra columns from here; a missing column reads as ``""``."""
    path = (base or MAPPINGS_DIR) / "codes" / f"{table}.csv"
    if not path.is_file():
        raise LayoutError(f"code table {table!r} not found at {path}")
    with path.open(encoding="utf-8", newline="") as fh:
        rows = csv.DictReader(line for line in fh if not line.startswith("#"))
        if rows.fieldnames is None or "code" not in rows.fieldnames:
            raise LayoutError(f"code table {table!r} needs a 'code' column")
        found: dict[str, dict[str, str]] = {}
        for row in rows:
            code = row["code"]
            if code in found:
                raise LayoutError(f"code table {table!r} repeats code {code!r}")
            found[code] = {k: v or "" for k, v in row.items() if k is not None}
    if not found:
        raise LayoutError(f"code table {table!r} is empty")
    return found


@cache
def load_codes(table: str, base: Path | None = None) -> dict[str, str]:
    """Load ``mappings/codes/<table>.csv`` as code → meaning (columns ``code,meaning``)."""
    return {code: row.get("meaning", "") for code, row in load_code_rows(table, base).items()}


# --------------------------------------------------------------------------- field spec


@dataclass(frozen=True, slots=True)
class Field:
    """One field of a fixed-width record, checked when the layout loads."""

    name: str
    start: int  # 1-based, inclusive
    length: int
    type: str
    required: bool = False
    justify: str = "left"
    pad: str = " "
    decimals: int = 0
    form: str = ""  # amount: "" implied decimals, "signed" explicit sign and decimal point
    accept_implied: bool = False  # signed amount: also read the implied-decimal variants
    format: str = ""
    codes: tuple[str, ...] = ()
    table: str = ""
    value: str = ""
    default: Any = None
    charset: str = ""
    pattern: str = ""
    pii: bool = False
    status: str = ""
    description: str = ""

    @property
    def end(self) -> int:
        return self.start + self.length - 1

    @property
    def in_data(self) -> bool:
        """Fillers and constants are structure, not data."""
        return self.type not in ("filler", "constant")

    def regex(self, printable: bool = False) -> str:
        """The regular-expression fragment for this field's raw text (one capture group if data).

        ``printable``: the text is already known to be printable ASCII, so a free-text field (``alnum``
        with the default character set) needs no per-character test: ``.{n}`` under DOTALL costs the
        regex engine nothing, while ``[ -~]{n}`` tests every character, most of a long record's match."""
        n = self.length
        blank = f"| {{{n}}}" if not self.required else ""
        t = self.type
        if t == "constant":
            return re.escape(self.value)
        if t == "filler":
            return f"[{re.escape(self.pad)}]{{{n}}}" if self.pattern == "strict" else f".{{{n}}}"
        if t in ("alnum", "alpha"):
            if self.pattern:
                # The pattern must cover exactly this field: assert it from here to the field's end.
                alt = f"| {{{n}}}" if not self.required else ""
                return f"(?=(?:{self.pattern})(?<=^.{{{self.end}}}){alt})(.{{{n}}})"
            if printable and t == "alnum" and not self.charset:
                return f"(.{{{n}}})"
            chars = self.charset or (PRINTABLE if t == "alnum" else "A-Za-z ")
            # "required, so not all blank" is checked by the generated converter and renderer (a
            # negative lookahead here would cost more than the rest of the record's match)
            return f"([{chars} ]{{{n}}})"
        if t == "amount" and self.form == "signed":
            return f"({signed_amount_regex(n, self.decimals, self.accept_implied)}{blank})"
        if t in ("numeric", "digits", "amount", "date", "time"):
            return f"(\\d{{{n}}}{blank})"
        if t == "ssn":
            return f"({SSN_RE}{blank})"
        if t == "code":
            padded = {c.ljust(n, self.pad) if self.justify == "left" else c.rjust(n, self.pad) for c in self.codes}
            return f"({_trie_regex(sorted(padded))}{blank})"
        raise LayoutError(f"field {self.name!r}: unknown type {t!r}")  # pragma: no cover - checked on load


def _trie_regex(words: list[str]) -> str:
    """An alternation of equal-length words, factored on common prefixes (``2[1-46-9]|3[1-4]`` rather
    than ``21|22|…|34``): the regex engine tries alternatives one by one, so a flat list of fifty codes
    costs up to fifty attempts per record, the factored form one per character."""
    if len(words) == 1:
        return re.escape(words[0])
    if len(words[0]) == 1:
        return "[" + "".join(re.escape(w) if w in "\\]^-" else w for w in words) + "]"
    groups: dict[str, list[str]] = {}
    for w in words:
        groups.setdefault(w[0], []).append(w[1:])
    alts = [re.escape(first) + _trie_regex(rest) for first, rest in groups.items()]
    return alts[0] if len(alts) == 1 else "(?:" + "|".join(alts) + ")"


def _as_field(raw: Mapping[str, Any], where: str, base: Path) -> Field:
    known = set(Field.__dataclass_fields__) | {"end"}
    extra = set(raw) - known
    if extra:
        raise LayoutError(f"{where}: unknown keys {sorted(extra)}")
    try:
        name, start, ftype = str(raw["name"]), int(raw["start"]), str(raw["type"])
    except KeyError as exc:
        raise LayoutError(f"{where}: missing {exc.args[0]!r}") from None
    if ftype not in TYPES:
        raise LayoutError(f"{where}: unknown type {ftype!r} (known: {', '.join(sorted(TYPES))})")
    if "length" in raw:
        length = int(raw["length"])
        if "end" in raw and int(raw["end"]) != start + length - 1:
            raise LayoutError(f"{where}: end {raw['end']} != start {start} + length {length} - 1")
    elif "end" in raw:
        length = int(raw["end"]) - start + 1
    else:
        raise LayoutError(f"{where}: needs 'length' (or 'end')")
    if length < 1:
        raise LayoutError(f"{where}: length must be at least 1")
    numeric_like = ftype in ("numeric", "digits", "amount", "date", "time", "ssn")
    justify = str(raw.get("justify", "right" if numeric_like else "left"))
    pad = str(raw.get("pad", "0" if numeric_like else " "))
    if justify not in ("left", "right") or len(pad) != 1:
        raise LayoutError(f"{where}: justify must be left/right and pad one character")
    if ftype in ("numeric", "digits", "amount") and not (justify == "right" and pad == "0"):
        raise LayoutError(f"{where}: numbers are right-justified and zero-filled")
    if ftype in ("alnum", "alpha") and not (justify == "left" and pad == " "):
        raise LayoutError(f"{where}: text is left-justified and space-filled")
    required = bool(raw.get("required", False))
    if required and "default" in raw:
        raise LayoutError(f"{where}: a required field cannot have a default")
    fmt = str(raw.get("format", ""))
    if ftype == "date":
        if fmt not in DATE_FORMATS or len(fmt) != length:
            raise LayoutError(f"{where}: date format must be one of {sorted(DATE_FORMATS)} matching the length")
    elif ftype == "time" and (fmt not in TIME_FORMATS or len(fmt) != length):
        raise LayoutError(f"{where}: time format must be HHMM or HHMMSS matching the length")
    if ftype == "ssn" and length != 9:
        raise LayoutError(f"{where}: an SSN is 9 digits")
    codes: tuple[str, ...] = tuple(str(c) for c in raw.get("codes", ()))
    table = str(raw.get("table", ""))
    if ftype == "code":
        if bool(codes) == bool(table):
            raise LayoutError(f"{where}: a code field needs exactly one of 'codes' or 'table'")
        if table:
            codes = tuple(load_codes(table, base))
        too_long = [c for c in codes if len(c) > length or not c]
        if too_long:
            raise LayoutError(f"{where}: codes longer than the field: {too_long}")
    value = str(raw.get("value", ""))
    if ftype == "constant" and len(value) != length:
        raise LayoutError(f"{where}: constant value must be exactly {length} characters")
    status = str(raw.get("status", ""))
    if status and status not in STATUSES:
        raise LayoutError(f"{where}: status must be one of {sorted(STATUSES)}")
    decimals = int(raw.get("decimals", 2 if ftype == "amount" else 0))
    if ftype == "amount" and not 0 <= decimals < length:
        raise LayoutError(f"{where}: decimals out of range")
    form, accept_implied = str(raw.get("form", "")), bool(raw.get("accept_implied", False))
    if form not in ("", "implied", "signed") or (form and ftype != "amount"):
        raise LayoutError(f"{where}: 'form' is 'implied' or 'signed', on amounts only")
    if accept_implied and form != "signed":
        raise LayoutError(f"{where}: 'accept_implied' applies to signed amounts only")
    if form == "signed" and length < decimals + (3 if decimals else 2):
        raise LayoutError(f"{where}: a signed amount needs room for the sign, a digit and the decimals")
    pattern = str(raw.get("pattern", ""))
    if pattern and ftype not in ("alnum", "alpha", "filler"):
        raise LayoutError(f"{where}: 'pattern' applies to text fields and fillers only")
    if pattern and ftype != "filler":
        try:
            re.compile(pattern)
        except re.error as exc:
            raise LayoutError(f"{where}: bad pattern: {exc}") from None
    if ftype == "filler" and pattern not in ("", "strict"):
        raise LayoutError(f"{where}: a filler's pattern can only be 'strict'")
    return Field(
        name=name,
        start=start,
        length=length,
        type=ftype,
        required=required,
        justify=justify,
        pad=pad,
        decimals=decimals,
        form="" if form == "implied" else form,
        accept_implied=accept_implied,
        format=fmt,
        codes=codes,
        table=table,
        value=value,
        default=raw.get("default"),
        charset=str(raw.get("charset", "")),
        pattern=pattern,
        pii=bool(raw.get("pii", False)),
        status=status,
        description=str(raw.get("description", "")),
    )


# --------------------------------------------------------------------------- conversions (shared by both paths)


@cache
def latin1_table(encoding: str) -> bytes | None:
    """For a single-byte code page whose 256 bytes map one-to-one onto Latin-1 (the EBCDIC pages cp037,
    cp500, cp1047 ...), a ``bytes.translate`` table into Latin-1: translating and decoding Latin-1 gives
    exactly the codec's text at C speed, 2-3x faster than the charmap codec. None when the codec must be
    used (ASCII refuses bytes above 127, multi-byte codecs, pages reaching beyond Latin-1)."""
    try:
        table = bytes(range(256)).decode(encoding).encode("latin-1")
    except (UnicodeError, LookupError):
        return None
    return None if len(table) != 256 or table == bytes(range(256)) else table


@cache
def ascii_table(encoding: str) -> bytes | None:
    """The way back for rendering: for a single-byte code page that is not ASCII-compatible (the EBCDIC
    pages), a ``bytes.translate`` table from ASCII into the page, so ASCII text encodes at C speed, about
    four times faster than the charmap codec. None when the codec is as fast (ASCII-compatible pages) or
    must be used (multi-byte codecs). Only the table's ASCII half is ever used."""
    try:
        table = bytes(range(128)).decode("ascii").encode(encoding)
    except (UnicodeError, LookupError):
        return None
    return None if len(table) != 128 or table == bytes(range(128)) else table + bytes(range(128, 256))


def encode_text(text: str, encoding: str) -> bytes:
    """``text.encode(encoding)`` (raising ``UnicodeEncodeError`` alike), through ``ascii_table`` when it can."""
    table = ascii_table(encoding) if text.isascii() else None
    return text.encode(encoding) if table is None else text.encode("ascii").translate(table)


_DATE_CACHE: dict[tuple[str, str], dt.date] = {}


def to_date(text: str, fmt: str) -> dt.date | None:
    """Cached: a file holds few distinct dates, and strptime is slow. Blank/zero means 'no date'."""
    key = (text, fmt)
    hit = _DATE_CACHE.get(key)
    if hit is not None:
        return hit
    if not text.strip(" 0"):
        return None
    value = dt.datetime.strptime(text, DATE_FORMATS[fmt]).date()
    if len(_DATE_CACHE) < 100_000:
        _DATE_CACHE[key] = value
    return value


def _blank() -> Any:
    """Called by generated code when a required text field is blank: sends it to the diagnosis."""
    raise ValueError("required value is blank")


def _refuse() -> Any:
    """Called by a generated renderer for a value of a type it does not write itself (text that is not a
    ``str``, a number that is not an ``int``): the record is then written field by field by
    ``render_field``, which writes what it can and refuses the rest. ``%s`` would write ``str()`` of a
    list or dict into a text field, and ``%d`` cuts the fraction off a float."""
    raise TypeError("not written by the generated renderer")


def _to_time(text: str) -> str | None:
    if not text.strip():
        return None
    hh, mm, ss = int(text[:2]), int(text[2:4]), int(text[4:6] or 0)
    if hh > 23 or mm > 59 or ss > 59:
        raise ValueError("time out of range")
    return text


# date → text, one table per format: generated renderers look a date up here directly (one dict probe)
# and call ``_date_text`` only on a miss.
_DATE_TEXT: dict[str, dict[dt.date, str]] = {fmt: {} for fmt in DATE_FORMATS}


def _date_text(value: Any, fmt: str) -> str:
    """Cached for ``date`` values, like ``to_date`` and for the same reason: few distinct dates, slow formatting."""
    if type(value) is dt.date:
        cached = _DATE_TEXT[fmt]
        text = cached.get(value)
        if text is None:
            text = _format_date(value, fmt)
            if len(cached) < 100_000:
                cached[value] = text
        return text
    if isinstance(value, str):
        try:
            value = dt.date.fromisoformat(value)
        except ValueError:  # its message quotes the text, which may be a birth date
            raise ValueError("not a date: give a date or ISO 'YYYY-MM-DD' text") from None
    if not isinstance(value, dt.date) or isinstance(value, dt.datetime):
        raise TypeError("not a date")
    return _format_date(value, fmt)


def _format_date(value: dt.date, fmt: str) -> str:
    y, m, d = value.year, value.month, value.day
    if fmt == "CCYYMMDD":
        return "%04d%02d%02d" % (y, m, d)
    if fmt == "YYMMDD":
        return "%02d%02d%02d" % (y % 100, m, d)
    if fmt == "MMDDCCYY":
        return "%02d%02d%04d" % (m, d, y)
    return "%02d%02d%02d" % (m, d, y % 100)


def _scaled(value: Any, decimals: int) -> int:
    """Decimal/int/str amount → integer in the smallest unit, refusing lost precision."""
    if isinstance(value, int) and not isinstance(value, bool) and decimals == 0:
        return value
    if isinstance(value, bool) or not isinstance(value, Decimal | int | str | float):
        raise TypeError("an amount must be a Decimal, a number or decimal text")
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value))
    except ArithmeticError:  # decimal.InvalidOperation: not a number
        raise ValueError("not a decimal amount") from None
    if not amount.is_finite():
        raise ValueError("not a finite amount")
    scaled = amount.scaleb(decimals)
    if scaled != scaled.to_integral_value():
        raise ValueError("more decimal places than the field holds")
    return int(scaled)


def signed_amount_regex(length: int, decimals: int, accept_implied: bool) -> str:
    """``±`` + whole units + ``.`` + decimals (``+00001234.56``); with ``accept_implied`` also the two
    implied-decimal variants older senders use: all digits, or ``-`` followed by digits."""
    whole = length - 1 - (decimals + 1 if decimals else 0)
    point = f"\\.\\d{{{decimals}}}" if decimals else ""
    rx = f"[+-]\\d{{{whole}}}{point}"
    return f"{rx}|\\d{{{length}}}|-\\d{{{length - 1}}}" if accept_implied else rx


def parse_signed_amount(text: str, decimals: int) -> Decimal:
    """Read a signed amount in any form ``signed_amount_regex`` admits."""
    if decimals and text[-decimals - 1] == ".":
        return Decimal(text)
    return Decimal(text).scaleb(-decimals)


def _signed_text(value: Any, length: int, decimals: int) -> str:
    """Write a signed amount as ``±`` + zero-filled units + ``.`` + decimals, refusing what does not fit."""
    scaled = _scaled(value, decimals)
    whole, frac = divmod(abs(scaled), 10**decimals)
    sign = "-" if scaled < 0 else "+"
    text = (
        f"{sign}{whole:0{length - 2 - decimals}d}.{frac:0{decimals}d}" if decimals else f"{sign}{whole:0{length - 1}d}"
    )
    if len(text) != length:
        raise ValueError(f"value is wider than {length} characters")
    return text


# --------------------------------------------------------------------------- layout


@dataclass(slots=True)
class Layout:
    """A compiled fixed-width record layout. Build with ``load_layout``; immutable after that."""

    name: str
    length: int
    fields: tuple[Field, ...]
    source: dict[str, str]
    path: str = ""
    rx: re.Pattern[str] = field(init=False, repr=False)
    # ``rx`` for text known to be printable, on layouts with enough free text for the check to pay
    _rx_printable: re.Pattern[str] | None = field(init=False, repr=False)
    _rx_render: re.Pattern[str] | None = field(init=False, repr=False)  # ``_rx_printable`` when rendering gains
    _convert: Callable[[tuple[str, ...]], dict[str, Any]] = field(init=False, repr=False)
    _render_fast: Callable[[Mapping[str, Any]], str] = field(init=False, repr=False)
    _render_row_fast: Callable[[Sequence[Any]], str] = field(init=False, repr=False)
    _data_fields: tuple[Field, ...] = field(init=False, repr=False)
    _readers: dict[frozenset[str], Callable[[re.Match[str]], dict[str, Any]]] = field(init=False, repr=False)
    _converters: tuple[dict[str, tuple[int, Callable[[str], Any]]], tuple[str, ...]] | None = field(
        init=False, repr=False, default=None
    )

    def __post_init__(self) -> None:
        self._check()
        self._data_fields = tuple(f for f in self.fields if f.in_data)
        # ASCII: ``\\d`` is 0-9 (what ``int`` should read), and the engine tests it without a Unicode lookup
        self.rx = _compile(self.fields)
        free_text = sum(f.length for f in self.fields if f.type == "alnum" and not f.charset and not f.pattern)
        self._rx_printable = _compile(self.fields, printable=True) if free_text >= PRINTABLE_CHECK_MIN_TEXT else None
        self._rx_render = self._rx_printable if free_text >= RENDER_PRINTABLE_MIN_SHARE * self.length else None
        self._convert = self._gen_convert()
        self._render_fast, self._render_row_fast = self._gen_render()
        self._readers = {}

    # ---- load-time checks
    def _check(self) -> None:
        pos, seen = 1, set()
        for f in self.fields:
            if f.start != pos:
                kind = "gap" if f.start > pos else "overlap"
                raise LayoutError(
                    f"{self.path or self.name}: {kind} before field {f.name!r} (starts {f.start}, expected {pos})"
                )
            if f.in_data:
                if f.name in seen:
                    raise LayoutError(f"{self.path or self.name}: duplicate field name {f.name!r}")
                seen.add(f.name)
            pos = f.end + 1
        if pos - 1 != self.length:
            raise LayoutError(f"{self.path or self.name}: fields end at {pos - 1}, record length is {self.length}")

    @property
    def data_fields(self) -> tuple[Field, ...]:
        """Fields that carry data (not fillers or constants), computed once: builders call this per record."""
        return self._data_fields

    # ---- code generation
    def _gen_convert(self) -> Callable[[tuple[str, ...]], dict[str, Any]]:
        src = f"def convert(g):\n    return {_dict_source(self.data_fields)}\n"
        env = _convert_env()
        exec(compile(src, f"<layout {self.name} convert>", "exec"), env)
        fn: Callable[[tuple[str, ...]], dict[str, Any]] = env["convert"]
        return fn

    def _gen_reader(self, only: frozenset[str]) -> Callable[[re.Match[str]], dict[str, Any]]:
        """A converter of the fields in ``only`` and of those whose rendered text can still fail to read
        back (``_read_can_fail``), taking just their groups from the match (one C call)."""
        picked = [(i, f) for i, f in enumerate(self.data_fields) if f.name in only or _read_can_fail(f)]
        groups = ", ".join(str(i + 1) for i, _ in picked)
        take = f"(m.group({groups}),)" if len(picked) == 1 else f"m.group({groups})" if picked else "()"
        src = f"def read(m):\n    g = {take}\n    return {_dict_source([f for _, f in picked])}\n"
        env = _convert_env()
        exec(compile(src, f"<layout {self.name} read>", "exec"), env)
        fn: Callable[[re.Match[str]], dict[str, Any]] = env["read"]
        return fn

    def pair_reader(
        self, then: Layout, nest: str | None = None
    ) -> Callable[[bytes, bytes], tuple[dict[str, Any], dict[str, Any]] | None]:
        """A reader of a record of this layout and the record of ``then`` that follows it, as one: one
        decode, one match of both patterns, one generated converter building both dicts.

        For formats where one record nearly always follows another (an ACH entry and its addenda): the
        fixed cost of reading a record is a large share of a short record's. The reader gives exactly what
        ``parse`` of each would, or None when either would raise (not ASCII, no match, a value that does
        not convert); the caller then parses them one by one for the error. Printable text (``_no_control``)
        is matched with the pattern that skips per-character tests of free text, as ``parse`` does on long
        records: two records' free text pays for the test.

        ``nest`` also puts the second record's dict, in a list, under that key of the first's (an entry
        holding its addenda): built into the first dict at once, as adding a key later may grow its table."""
        if any(f.pattern and f.type in ("alnum", "alpha") for f in (*self.fields, *then.fields)):
            # a text pattern's lookbehind counts from position 1
            raise LayoutError(f"{self.name} + {then.name}: a field pattern cannot be read as a pair")
        both = (*self.fields, *then.fields)
        rx, prx = _compile(both), _compile(both, printable=True)
        one, two = _dict_source(self.data_fields), _dict_source(then.data_fields, first=len(self.data_fields))
        if nest is not None:
            one = f"{one[:-1]}, {nest!r}: [second]}}"
        src = (
            "def read(a, b):\n"
            f"    if len(a) != {self.length} or len(b) != {then.length}:\n        return None\n"
            "    ab = a + b\n"
            "    try:\n        m = (_pmatch if _no_control(ab) else _match)(ab.decode('ascii'))\n"
            "    except UnicodeDecodeError:\n        return None\n"
            "    if m is None:\n        return None\n"
            "    g = m.groups()\n"
            f"    try:\n        second = {two}\n        return {one}, second\n"
            "    except (ValueError, ArithmeticError):\n        return None\n"
        )
        env = {**_convert_env(), "_match": rx.fullmatch, "_pmatch": prx.fullmatch, "_no_control": _no_control}
        exec(compile(src, f"<layout {self.name}+{then.name} read>", "exec"), env)
        fn: Callable[[bytes, bytes], tuple[dict[str, Any], dict[str, Any]] | None] = env["read"]
        return fn

    def _gen_render(self) -> tuple[Callable[[Mapping[str, Any]], str], Callable[[Sequence[Any]], str]]:
        """One ``%`` format for the record; value expressions fill it. Widths are proved afterwards.

        Two functions share the format and the expressions: one of a record's mapping, one of its values
        in field order (``render_row``). The mapping's values are read into locals in one C call
        (``itemgetter``) when the record can hold every field (records from ``parse`` and the builders do),
        else, or when one is missing after all, one ``get`` with its default per field (no exception
        raised for a record built with fewer fields)."""
        fields = self.data_fields
        env: dict[str, Any] = {
            "_dtext": _date_text,
            "_scaled": _scaled,
            "_stext": _signed_text,
            "_blank": _blank,
            "_refuse": _refuse,
            "_Dec": Decimal,
            "_take": itemgetter(*(f.name for f in fields)) if len(fields) > 1 else None,
            **{f"_dt_{fmt}": cached for fmt, cached in _DATE_TEXT.items()},
        }
        fmt = "".join(_render_format(f) for f in self.fields)
        names = [f"v{i}" for i in range(len(fields))]
        args = "".join(f"{_render_expr(f, v)}, " for f, v in zip(fields, names, strict=True))
        local = "".join(f"{v}, " for v in names)
        take = "_take(d)" if len(fields) > 1 else f"(d[{fields[0].name!r}],)" if fields else ""
        gets = "(" + "".join(f"d.get({f.name!r}, {f.default!r}), " for f in fields) + ")"
        src = "def render(d):\n"
        if fields:
            src += (
                f"    try:\n        {local}= {take} if len(d) >= {len(fields)} else {gets}\n"
                f"    except KeyError:\n        {local}= {gets}\n"
            )
        body = f"    return {fmt!r} % ({args})\n"
        src += body + "def render_row(t):\n" + (f"    {local}= t\n" if fields else "") + body
        exec(compile(src, f"<layout {self.name} render>", "exec"), env)
        fn: Callable[[Mapping[str, Any]], str] = env["render"]
        row_fn: Callable[[Sequence[Any]], str] = env["render_row"]
        return fn, row_fn

    # ---- parsing
    def parse_text(self, text: str) -> dict[str, Any]:
        """Parse one record (already decoded); raise ``RecordError`` naming the faulty field."""
        m = self.rx.fullmatch(text) if len(text) == self.length else None
        if m is not None:
            try:
                return self._convert(m.groups())
            except (ValueError, ArithmeticError):
                pass  # a calendar-invalid date or similar: diagnose below
        raise self.diagnose(text)

    def parse(self, raw: bytes, encoding: str = "ascii") -> dict[str, Any]:
        """Parse one record from bytes; non-ASCII bytes are a coded record error with their position.

        The hot path of every fixed-width adapter: decode, one C-level match, one generated converter.
        On a layout with much free text, an ASCII record without control characters (one C pass over the
        bytes) is matched with the pattern that leaves free text unchecked per character; any other goes
        through the strict ``rx``, so both give the same verdict.
        """
        rx = self.rx
        try:
            if encoding == "ascii":  # nearly every record: no table lookup
                text = raw.decode("ascii")
                if self._rx_printable is not None and _no_control(raw):
                    rx = self._rx_printable
            else:
                table = latin1_table(encoding)
                text = raw.translate(table).decode("latin-1") if table is not None else raw.decode(encoding)
        except UnicodeDecodeError as exc:
            raise RecordError(
                "NON_ASCII",
                f"byte {exc.start + 1} is not valid {encoding}",
                field=self.field_at(exc.start + 1),
                start=exc.start + 1,
                end=exc.start + 1,
            ) from None
        m = rx.fullmatch(text)  # every field has a fixed width, so a match is exactly ``length`` long
        if m is not None:
            try:
                return self._convert(m.groups())
            except (ValueError, ArithmeticError):
                pass
        raise self.diagnose(text)

    def field_at(self, pos: int) -> str | None:
        for f in self.fields:
            if f.start <= pos <= f.end:
                return f.name
        return None

    def field_error(self, name: str, code: str, why: str) -> RecordError:
        """A ``RecordError`` for a rule between fields that the layout alone cannot check, naming the field
        and its positions like the layout's own errors do (``why`` must carry no personal data)."""
        for f in self.fields:
            if f.name == name:
                return RecordError(
                    code, f"{name} (positions {f.start}-{f.end}): {why}", field=name, start=f.start, end=f.end
                )
        return RecordError(code, f"{name}: {why}", field=name)

    def diagnose(self, text: str) -> RecordError:
        """The slow path: find the first field that is wrong and say why, without its value if PII."""
        if len(text) != self.length:
            return RecordError(
                "RECORD_LENGTH", f"record is {len(text)} characters, expected {self.length}", start=1, end=len(text)
            )
        for f in self.fields:
            raw = text[f.start - 1 : f.end]
            problem = _field_problem(f, raw)
            if problem:
                code, why = problem
                return RecordError(
                    code, f"{f.name} (positions {f.start}-{f.end}): {why}", field=f.name, start=f.start, end=f.end
                )
        return RecordError("INVALID_RECORD", "record does not match its layout", start=1, end=self.length)

    # ---- rendering
    def render(self, data: Mapping[str, Any]) -> str:
        """Render one record; over-wide or invalid values raise ``RecordError`` naming the field."""
        return self._proved(data)[0]

    def render_row(self, row: Sequence[Any]) -> str:
        """``render`` of the record whose data fields (``data_fields``, in order) hold ``row``'s values.

        For builders that compute every value anyway: building and reading back a mapping of a wide record
        costs more than formatting it. A record that is not written at once is rendered from its mapping,
        for the same verdict and the same ``RecordError``."""
        try:
            text = self._render_row_fast(row)
        except (TypeError, ValueError, ArithmeticError, AttributeError):
            text = ""
        if self._proof(text) is not None:
            return text
        return self.render(dict(zip((f.name for f in self.data_fields), row, strict=True)))

    def render_parsed(self, data: Mapping[str, Any], only: frozenset[str] | None = None) -> tuple[str, dict[str, Any]]:
        """``render`` plus what ``parse_text`` reads back from the text, from the same regex match.

        For writers that check cross-field rules on the values exactly as a reader will see them; a text
        that renders but does not read back raises the reader's ``RecordError``. ``only`` names the fields
        whose values the writer needs (the others are proved by the regex but not converted, which is most
        of the cost); fields whose reading can fail are read regardless, so that guarantee stands."""
        text, m = self._proved(data)
        try:
            if only is None:
                return text, self._convert(m.groups())
            return text, (self._readers.get(only) or self._reader(only))(m)
        except (ValueError, ArithmeticError):
            raise self.diagnose(text) from None

    def render_read_back(self, data: Mapping[str, Any]) -> tuple[str, ReadBack]:
        """``render`` plus the values ``parse_text`` reads back from the text, each converted when first
        asked for: for writers whose rules between fields read a few fields of a wide record, and may read
        any of them (``render_parsed`` converts every field, or only those named in advance). Fields whose
        reading can fail are read at once, so a text that does not read back raises here, as there."""
        text, m = self._proved(data)
        converters, eager = self._field_converters()
        view = ReadBack(m, converters)
        try:
            for name in eager:
                view[name]
        except (ValueError, ArithmeticError):
            raise self.diagnose(text) from None
        return text, view

    def _field_converters(self) -> tuple[dict[str, tuple[int, Callable[[str], Any]]], tuple[str, ...]]:
        """Field name → (its group in ``rx``, the converter of its text), and the fields read at once;
        compiled at first use, as few writers need them and a layout loads on every command's start."""
        if self._converters is None:
            env = _convert_env()
            converters = {
                f.name: (i + 1, eval(f"lambda g: {_convert_expr(f, 'g')}", env)) for i, f in enumerate(self.data_fields)
            }
            self._converters = converters, tuple(f.name for f in self.data_fields if _read_can_fail(f))
        return self._converters

    def _proved(self, data: Mapping[str, Any]) -> tuple[str, re.Match[str]]:
        """The record's text and the match proving it, or the ``RecordError`` of its first bad field.

        Proved as ``parse`` reads: on a layout that is mostly free text (``RENDER_PRINTABLE_MIN_SHARE``), a
        printable ASCII text (one pass over its bytes) by the pattern that leaves free text unchecked per
        character; any other by the strict ``rx``. Both give one verdict.

        A value the generated renderer cannot format (a number given for a required text field) is written
        by ``render_field``, field by field, which the generated renderer follows for every other value."""
        try:
            text = self._render_fast(data)
        except (TypeError, ValueError, ArithmeticError, AttributeError):
            text = self._render_fields(data)
        m = self._proof(text)
        if m is None:
            raise self._render_problem(data)
        return text, m

    def _proof(self, text: str) -> re.Match[str] | None:
        """The match proving ``text`` a valid record of this layout, or None."""
        if len(text) != self.length:
            return None
        rx = self.rx
        if self._rx_render is not None and text.isascii() and _no_control(text.encode("ascii")):
            rx = self._rx_render
        return rx.fullmatch(text)

    def _reader(self, only: frozenset[str]) -> Callable[[re.Match[str]], dict[str, Any]]:
        unknown = only - {f.name for f in self.data_fields}
        if unknown:
            raise LayoutError(f"{self.path or self.name}: no data fields {sorted(unknown)}")
        fn = self._readers[only] = self._gen_reader(only)
        return fn

    def _render_fields(self, data: Mapping[str, Any]) -> str:
        """The record written one field at a time with ``render_field``, each field checked as ``parse``
        checks it; the ``RecordError`` of the first field that cannot be written."""
        pieces = []
        for f in self.fields:
            if f.type == "constant":
                pieces.append(f.value)
                continue
            if f.type == "filler":
                pieces.append(f.pad * f.length)
                continue
            try:
                raw = render_field(f, data.get(f.name, f.default))
            except (TypeError, ValueError, ArithmeticError) as exc:
                raise RecordError("RENDER_VALUE", f"{f.name}: {exc}", field=f.name, start=f.start, end=f.end) from None
            problem = _field_problem(f, raw)
            if problem:
                raise RecordError(
                    problem[0],
                    f"{f.name} (positions {f.start}-{f.end}): {problem[1]}",
                    field=f.name,
                    start=f.start,
                    end=f.end,
                )
            pieces.append(raw)
        return "".join(pieces)

    def _render_problem(self, data: Mapping[str, Any]) -> RecordError:
        try:
            self._render_fields(data)
        except RecordError as err:
            return err
        return RecordError("RENDER_VALUE", "record cannot be rendered")

    def empty(self) -> dict[str, Any]:
        """A dict with every data field set to None (a starting point for builders)."""
        return dict.fromkeys(f.name for f in self.data_fields)


_ABSENT = object()  # what ReadBack.get gives for a name the layout does not have


class ReadBack(Mapping[str, Any]):
    """A rendered record's values as ``parse`` reads them, each converted from the proving match when first
    read (see ``Layout.render_read_back``); a name the layout does not have reads as missing."""

    __slots__ = ("_converters", "_m", "_values")

    def __init__(self, m: re.Match[str], converters: Mapping[str, tuple[int, Callable[[str], Any]]]) -> None:
        self._m, self._converters = m, converters
        self._values: dict[str, Any] = {}

    def get(self, name: str, default: Any = None) -> Any:
        """The one place a field is converted. Rules read by ``get``: defined here, it is one call where
        ``Mapping.get`` would make two."""
        if name in self._values:
            return self._values[name]
        if name not in self._converters:
            return default
        group, convert = self._converters[name]
        value = self._values[name] = convert(self._m.group(group))
        return value

    def __getitem__(self, name: str) -> Any:
        value = self.get(name, _ABSENT)
        if value is _ABSENT:
            raise KeyError(name)
        return value

    def __iter__(self) -> Iterator[str]:
        return iter(self._converters)

    def __len__(self) -> int:
        return len(self._converters)


def _convert_env() -> dict[str, Any]:
    """What generated converters call."""
    return {"_date": to_date, "_time": _to_time, "_D": Decimal, "_samt": parse_signed_amount, "_blank": _blank}


def _compile(fields: Sequence[Field], printable: bool = False) -> re.Pattern[str]:
    """The one pattern of ``fields`` back to back (see ``Field.regex`` for ``printable``)."""
    return re.compile("".join(f.regex(printable) for f in fields), re.DOTALL | re.ASCII)


def _dict_source(fields: Sequence[Field], first: int = 0) -> str:
    """Source of the dict literal of ``fields``' values, converted from the groups ``g[first]``, ``g[first + 1]`` …"""
    return "{" + ", ".join(f"{f.name!r}: {_convert_expr(f, f'g[{first + i}]')}" for i, f in enumerate(fields)) + "}"


def _convert_expr(f: Field, g: str) -> str:
    """The Python expression turning field ``f``'s matched text (the expression ``g``) into its value."""
    if f.type in ("alnum", "alpha"):
        return f"({g}.rstrip() or _blank())" if f.required else f"({g}.rstrip() or None)"
    if f.type == "numeric":
        return f"int({g})" if f.required else f"(None if {g}[0] == ' ' else int({g}))"
    if f.type == "amount" and f.form == "signed":
        return f"_samt({g}, {f.decimals})" if f.required else f"(None if {g}[0] == ' ' else _samt({g}, {f.decimals}))"
    if f.type == "amount":
        # the implied point as an exponent in the text: one exact Decimal parse, no context arithmetic
        text = f"{g} + 'E-{f.decimals}'" if f.decimals else g
        return f"_D({text})" if f.required else f"(None if {g}[0] == ' ' else _D({text}))"
    if f.type in ("digits", "ssn"):
        return g if f.required else f"(None if {g}[0] == ' ' else {g})"
    if f.type == "date":  # zeros read as no date, which a required date may not be
        return f"(_date({g}, {f.format!r}) or _blank())" if f.required else f"_date({g}, {f.format!r})"
    if f.type == "time":
        return f"_time({g})"
    if f.type == "code":
        if f.required and all(len(c) == f.length for c in f.codes):
            return g  # every code fills the field: nothing to strip
        strip = f"{g}.rstrip({f.pad!r})" if f.justify == "left" else f"{g}.lstrip({f.pad!r})"
        return strip if f.required else f"({strip} or None)"
    raise LayoutError(f"cannot convert {f.type}")  # pragma: no cover - load-time checks make this unreachable


def _render_format(f: Field) -> str:
    """Field ``f``'s piece of the record's ``%`` format: its text for structure, a conversion for data."""
    if f.type == "constant":
        return f.value.replace("%", "%%")
    if f.type == "filler":
        return (f.pad * f.length).replace("%", "%%")
    if f.type in ("alnum", "alpha", "code"):
        return f"%-{f.length}s" if f.justify == "left" else f"%{f.length}s"
    return f"%{f.length}s" if f.type == "time" else "%s"


def _render_expr(f: Field, v: str) -> str:
    """The Python expression giving field ``f``'s text (or the value ``%s`` pads) from its value, the local ``v``.

    The text may still be wrong (over-wide, negative): the whole record is proved afterwards, and a
    failure is diagnosed field by field with ``render_field``. Every expression writes at least its
    field's width, so a record of the right length has no over-wide field: a short value can never make
    room for its neighbour's excess. An amount that is a ``Decimal`` holding
    exactly the field's decimals (what ``parse`` gives) is written from its own digits: ``str`` of a
    ``Decimal`` with a point ``decimals`` places from the end is plain notation with exactly those
    places, so nothing can be lost; any other value goes through ``_scaled`` (a negative one too, as
    ``-0.00`` is written as zeros: ``_s >= '0'`` says the text starts with a digit, not ``-``, in one
    comparison instead of an index and a comparison). A ``Decimal`` zero, the most common amount (an
    unused obligation line), is written as zeros at once, as ``_scaled`` would write any zero."""
    n, blank = f.length, repr(" " * f.length)
    if f.type in ("alnum", "alpha") and f.required:
        return f"({v} if type({v}) is str and {v}.strip() else _blank())"
    if f.type in ("alnum", "alpha", "code", "time"):
        return f"('' if {v} is None else {v} if type({v}) is str else _refuse())"
    if f.type == "amount" and f.form == "signed":
        return f"({blank} if {v} is None else _stext({v}, {n}, {f.decimals}))"
    if f.type == "amount" and f.decimals:
        k, zeros = f.decimals, repr("0" * n)
        other = f"'%0{n}d' % _scaled({v}, {k})"
        return (
            f"({blank} if {v} is None else ({zeros} if not {v} else _s.replace('.', '').zfill({n})"
            f" if (_s := str({v}))[{-k - 1}:{-k}] == '.' and _s >= '0' else {other}) if type({v}) is _Dec else {other})"
        )
    if f.type == "numeric":
        return f"({blank} if {v} is None else '%0{n}d' % {v} if type({v}) is int else _refuse())"
    if f.type == "amount":
        return f"({blank} if {v} is None else '%0{n}d' % _scaled({v}, {f.decimals}))"
    if f.type == "digits":
        return f"({blank} if {v} is None else str({v}).rjust({n}, '0'))"
    if f.type == "ssn":  # padded with a character an SSN cannot hold, so a short one is refused, not shifted
        return f"({blank} if {v} is None else str({v}).rjust({n}, '#'))"
    if f.type == "date":
        return f"({blank} if {v} is None else _dt_{f.format}.get({v}) or _dtext({v}, {f.format!r}))"
    raise LayoutError(f"cannot render {f.type}")  # pragma: no cover - load-time checks make this unreachable


def _read_can_fail(f: Field) -> bool:
    """Whether text the renderer wrote for this field and the regex accepted can still fail to read back.

    Only a time: it is written as given (``256100`` has the shape), while a date is written from a date,
    and blank required text is refused before anything is written."""
    return f.type == "time"


def render_field(f: Field, value: Any) -> str:
    """Render one field's value exactly to width, or raise ``ValueError`` (never truncates)."""
    n = f.length
    if value is None:
        if f.required:
            raise ValueError("required value missing")
        return f.pad * n if f.type in ("alnum", "alpha", "code") else " " * n
    if f.type == "amount" and f.form == "signed":
        text = _signed_text(value, n, f.decimals)
    elif f.type in ("numeric", "amount"):
        number = value if f.type == "numeric" else _scaled(value, f.decimals)
        if isinstance(number, bool) or not isinstance(number, int | str):
            raise TypeError("not a whole number")
        if isinstance(number, str):
            if not number.isascii() or not number.isdigit():  # int() would also take ' 1_0 ' and quote it back
                raise ValueError("not a whole number")
            number = int(number)
        if number < 0:
            raise ValueError("negative values do not fit an unsigned field")
        text = "%0*d" % (n, number)
    elif f.type == "date":
        text = _date_text(value, f.format)
    elif isinstance(value, bool) or not isinstance(value, str | int):  # str() of anything else is not its text
        raise TypeError("not text")
    elif f.type == "ssn":
        text = str(value)
        if len(text) != n:
            raise ValueError("SSN must be exactly 9 digits")
    else:
        text = str(value)
        text = text.ljust(n, f.pad) if f.justify == "left" else text.rjust(n, f.pad)
    if len(text) > n:
        raise ValueError(f"value is wider than {n} characters")
    return text


def _field_problem(f: Field, raw: str) -> tuple[str, str] | None:
    """Why ``raw`` is not a valid value of ``f`` (code, reason), or None. Reasons carry no PII."""
    n = f.length
    blank = raw == " " * n
    if f.type == "filler":
        if f.pattern == "strict" and raw != f.pad * n:
            return "FILLER", "filler must be blank"
        return None
    if f.type == "constant":
        return None if raw == f.value else ("CONSTANT", f"expected {f.value!r}")
    if blank:
        return ("REQUIRED", "required value is blank") if f.required else None
    if f.type in ("alnum", "alpha"):
        if f.pattern:
            if re.fullmatch(f.pattern, raw) is None:
                return "PATTERN", "does not have the form this field requires"
        elif re.fullmatch(f.regex(), raw, re.DOTALL | re.ASCII) is None:
            return "CHARSET", "contains characters this field does not allow"
        return None
    if f.type == "amount" and f.form == "signed":
        if re.fullmatch(signed_amount_regex(n, f.decimals, f.accept_implied), raw) is None:
            return "AMOUNT_FORMAT", "must be a sign, zero-filled whole units, a point and the decimals"
        return None
    if f.type in ("numeric", "digits", "amount"):
        if not raw.isdigit() or not raw.isascii():
            return "NOT_NUMERIC", "must be digits, zero-filled"
        return None
    if f.type == "ssn":
        if not (raw.isdigit() and raw.isascii()):
            return "SSN_FORMAT", "SSN must be 9 digits"
        if re.fullmatch(SSN_RE, raw) is None:
            return "SSN_INVALID", "SSN breaks SSA rules (area 000/666/9xx, group 00 or serial 0000)"
        return None
    if f.type == "date":
        if not (raw.isdigit() and raw.isascii()):
            return "DATE_FORMAT", f"date must be {f.format}"
        if f.required and not raw.strip("0"):
            return "REQUIRED", "required date is zero"
        try:
            to_date(raw, f.format)
        except ValueError:
            return "DATE_INVALID", f"not a calendar date in {f.format}"
        return None
    if f.type == "time":
        try:
            if not raw.isdigit():
                raise ValueError
            _to_time(raw)
        except ValueError:
            return "TIME_INVALID", f"not a valid time in {f.format}"
        return None
    if f.type == "code":
        value = raw.rstrip(f.pad) if f.justify == "left" else raw.lstrip(f.pad)
        if value not in f.codes:
            # the value is not quoted: in a damaged or shifted record a name or SSN can stand here
            return "CODE_UNKNOWN", f"not a valid {f.table or f.name} code"
        return None
    return None  # pragma: no cover


@cache
def load_layout(relpath: str, base: Path | None = None) -> Layout:
    """Load and compile ``mappings/<relpath>`` (a ``.toml`` layout); cached per process."""
    root = base or MAPPINGS_DIR
    path = root / relpath
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise LayoutError(f"layout {relpath!r} not found under {root}") from None
    except tomllib.TOMLDecodeError as exc:
        raise LayoutError(f"{relpath}: not valid TOML: {exc}") from None
    return layout_from_doc(doc, relpath, root)


def layout_from_doc(doc: Mapping[str, Any], where: str, base: Path | None = None) -> Layout:
    """Build a layout from an already-parsed TOML document (used by tests and variant loaders)."""
    source = doc.get("source")
    if not isinstance(source, Mapping):
        raise LayoutError(f"{where}: missing [source] table")
    for key in ("document", "version", "status"):
        if not source.get(key):
            raise LayoutError(f"{where}: [source] needs {key!r}")
    if source["status"] not in STATUSES | {"mixed"}:
        raise LayoutError(f"{where}: [source] status must be confirmed/derived/unconfirmed/choice/mixed")
    record = doc.get("record")
    if not isinstance(record, Mapping) or "name" not in record or "length" not in record:
        raise LayoutError(f"{where}: [record] needs name and length")
    # ``fields`` sits inside [record] (compact inline-table form) or at top level as [[fields]].
    raw_fields = record.get("fields", doc.get("fields"))
    if not isinstance(raw_fields, list) or not raw_fields:
        raise LayoutError(f"{where}: needs a list of fields")
    fields = tuple(
        _as_field(r, f"{where} field #{i + 1} ({r.get('name', '?')})", base or MAPPINGS_DIR)
        for i, r in enumerate(raw_fields)
    )
    return Layout(
        name=str(record["name"]),
        length=int(record["length"]),
        fields=fields,
        source={k: str(v) for k, v in source.items()},
        path=where,
    )


def all_layout_files(base: Path | None = None) -> list[Path]:
    """Every fixed-width layout file under ``mappings/``.

    A layout is ``<name>.toml``. Other TOML data (form definitions, rule tables, variant descriptors)
    carries a compound suffix naming its kind (``transmittal-1.form.toml``, ``timeframes.rules.toml``)
    or starts with ``_``; code tables are CSV under ``codes/``.
    """
    root = base or MAPPINGS_DIR
    return sorted(
        p
        for p in root.rglob("*.toml")
        if "codes" not in p.relative_to(root).parts and not p.name.startswith("_") and p.name.count(".") == 1
    )
