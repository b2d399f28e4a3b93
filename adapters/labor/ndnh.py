"""NDNH transmissions from a state workforce agency: the machinery the QW and UI adapters share.

Spec: NDNH Guide for Data Submission v13.x, Appendix E preamble and the 2013 UI layout attachment
(shared/specs/agency-formats.md §3.3). The record charts themselves are not public here: the layouts
are provisional mapping files (``mappings/labor/<format>/``, see ``ndnh_spec``) that an agency
replaces from Appendix E without touching this code.

**Encodings.** The NDNH takes EBCDIC; state systems often keep the same records in ASCII. Every NDNH
adapter reads and writes either: the constructor's ``encoding`` is any Python codec (``"ascii"``, or
``"cp037"`` = EBCDIC US/Canada; Python's codec does the translation, there are no hand-made tables),
and each format is registered twice, ``<format>`` in ASCII and ``<format>-ebcdic`` in cp037. Output
framing follows the encoding: ASCII is written one record per line (LF), EBCDIC as fixed-length
records back to back, the way a mainframe dataset (RECFM=FB) holds them. Reading accepts either
framing in either encoding (``adapters.records.iter_records``).

**Transmission rules** (§3.3): the transmission header must be the first record; the NDNH rejects
every record until it finds one, and so does this parser (code ``NO_TRANSMISSION_HEADER``), reporting
``HEADER_NOT_FIRST`` or ``MISSING_HEADER`` as file faults after the records. A trailer closes the
transmission; its counts and totals (``[trailer_totals]`` of the descriptor) are compared with the
records, rejected ones included because the sender counted them, and a mismatch is a file fault
(``TRAILER_COUNT``/``TRAILER_TOTAL``). Several header…trailer transmissions may follow each other.
Per record: upper case except the User field (``LOWER_CASE``), no name suffixes (``NAME_SUFFIX``,
``mappings/codes/ndnh_name_suffix.csv``), a reporting period the canonical model accepts
(``REPORTING_PERIOD``); the layout checks the rest (USPS codes, dates, hyphen-only names, blank filler).

**Canonical records** of the body (``WageRecord``, ``UIClaim``) are built on first access
(``adapters.base.DeferredParsed``): validating a pydantic model costs about three times the parse of the record,
a large state's QW file has 5-10 million records, and a consumer usually matches SSNs first.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any, BinaryIO, ClassVar

from pydantic import ValidationError

from adapters.base import Direction, Parsed, Rejected, Result, SourceInfo
from adapters.canonical import USPS_STATE_CODES, AddressType, QuarterWage
from adapters.controls import agree
from adapters.errors import FileStructureError, LayoutError, RecordError
from adapters.labor.ndnh_spec import FieldRule, FileSpec, load_spec
from adapters.layout import Field, Layout, encode_text, load_codes
from adapters.records import iter_records

NAME_FIELDS = ("first_name", "middle_name", "last_name")
ADDRESS_FIELDS = {
    "address_line1": "line1",
    "address_line2": "line2",
    "address_line3": "line3",
    "city": "city",
    "state": "state",
    "zip5": "zip5",
    "zip4": "zip4",
    "foreign_postal_code": "foreign_postal_code",
}
TEXT = ("alnum", "alpha")
# Field rules (``ndnh_spec.FieldRule``) both formats share: what the canonical model can accept.
PERIOD_RULES = {
    "reporting_year": FieldRule(("numeric",), required=True),
    "reporting_quarter": FieldRule(("code", "numeric"), required=True, length=1),
}
NAME_RULES = {name: FieldRule(TEXT) for name in NAME_FIELDS}
ADDRESS_RULES = {
    "address_line1": FieldRule(TEXT),
    "address_line2": FieldRule(TEXT),
    "address_line3": FieldRule(TEXT),
    "city": FieldRule(TEXT),
    "state": FieldRule(("code",), length=2, within=USPS_STATE_CODES),
    "zip5": FieldRule(("digits",), length=5),
    "zip4": FieldRule(("digits",), length=4),
    "country_code": FieldRule(("alpha", "code"), length=2),
    "foreign_postal_code": FieldRule(TEXT),
}


def json_native(value: Any) -> Any:
    """A parsed field value as JSON-native data, for a canonical record's ``extra``."""
    if isinstance(value, Decimal):
        return str(value)
    return value.isoformat() if hasattr(value, "isoformat") else value


def extra_fields(data: Mapping[str, Any], mapped: frozenset[str]) -> dict[str, Any]:
    """The fields a canonical record has no place for (the User field, an agency layout's own fields)."""
    return {k: json_native(v) for k, v in data.items() if k not in mapped and v is not None}


def address_fields(data: Mapping[str, Any], kind: AddressType, source: str) -> dict[str, Any] | None:
    """The record's address as canonical ``Address`` fields, or None when it carries none."""
    parts = {attr: data[name] for name, attr in ADDRESS_FIELDS.items() if data.get(name) is not None}
    if not parts.keys() & {"line1", "line2", "city", "zip5", "foreign_postal_code"}:
        return None
    return {"address_type": kind, "country": data.get("country_code") or "US", "source": source, **parts}


def record_error(code: str, message: str, f: Field | None) -> RecordError:
    """A record error naming a layout field and its positions, when there is one."""
    if f is None:
        return RecordError(code, message)
    return RecordError(
        code, f"{f.name} (positions {f.start}-{f.end}): {message}", field=f.name, start=f.start, end=f.end
    )


class Rules:
    """The §3.3 rules a layout cannot express, shared by parsing and rendering."""

    def __init__(self, spec: FileSpec, mappings: Path | None) -> None:
        self.suffixes = frozenset(load_codes("ndnh_name_suffix", mappings))
        self.names = {
            role: tuple(f for f in (spec.field(role, n) for n in NAME_FIELDS) if f is not None) for role in spec.layouts
        }
        self.period = {role: spec.field(role, "reporting_year") for role in spec.layouts}
        self._periods: dict[tuple[Any, Any], RecordError | None] = {}

    def record(self, role: str, data: Mapping[str, Any]) -> RecordError | None:
        """No name suffix; a reporting period the canonical model accepts. Runs once per record, so the
        period is judged once per distinct (year, quarter) and remembered."""
        sfx = self.suffixes
        for f in self.names[role]:
            v = data.get(f.name)
            if v and (v in sfx or (" " in v and v.rsplit(" ", 1)[1] in sfx)):
                return record_error(
                    "NAME_SUFFIX", "a name must not carry a suffix such as JR, SR or III (NDNH rule)", f
                )
        if self.period[role] is None:
            return None
        key = (data.get("reporting_year"), data.get("reporting_quarter"))
        try:
            return self._periods[key]
        except KeyError:
            return self._period(role, key)

    def _period(self, role: str, key: tuple[Any, Any]) -> RecordError | None:
        err = None
        try:
            QuarterWage(year=key[0], quarter=int(key[1]), amount=0)
        except (ValidationError, TypeError, ValueError):
            err = record_error(
                "REPORTING_PERIOD", "the reporting period needs a year 1900-2099 and a quarter 1-4", self.period[role]
            )
        if len(self._periods) < 10_000:
            self._periods[key] = err
        return err

    @staticmethod
    def upper_case(err: RecordError, layout: Layout, text: str) -> RecordError:
        """A text field refused only because it holds lower case gets its own code and message."""
        f = next((f for f in layout.fields if f.name == err.field), None) if err.code == "CHARSET" else None
        if f is None:
            return err
        raw = text[f.start - 1 : f.end]
        if raw == raw.upper() or re.fullmatch(f.regex(), raw.upper(), re.DOTALL) is None:
            return err
        return RecordError(
            "LOWER_CASE",
            f"{f.name} (positions {f.start}-{f.end}): alphabetic data must be upper "
            "case (NDNH rule; only the User field may hold lower case)",
            field=f.name,
            start=f.start,
            end=f.end,
        )


class NdnhAdapter:
    """Base of the NDNH adapters: loads the descriptor, detects, and hands off to parser/renderer.

    ``mappings`` points at another mappings root (an agency's own layouts; the registry uses the
    default, which ``CSGATE_MAPPINGS`` moves); ``encoding`` overrides the class default.
    """

    key: ClassVar[str]
    title: ClassVar[str]
    direction: ClassVar[Direction] = Direction.BOTH
    source: ClassVar[SourceInfo]
    folder: ClassVar[str]  # under mappings/, e.g. "labor/ndnh-qw"
    name: ClassVar[str]  # the format's name in canonical ``source`` fields, whatever the encoding
    roles: ClassVar[tuple[str, ...]]  # "header", body roles, "trailer"
    field_rules: ClassVar[Mapping[str, Mapping[str, FieldRule]]]
    follows: ClassVar[Mapping[str, str]] = {}  # body role -> role that must come before it (render)
    default_encoding: ClassVar[str] = "ascii"
    parser: ClassVar[type[NdnhParser]]

    def __init__(self, *, mappings: Path | None = None, encoding: str | None = None) -> None:
        self.spec = load_spec(self.folder, self.roles, self.field_rules, mappings)
        try:
            self.encoding = codecs.lookup(encoding or self.default_encoding).name
        except LookupError:
            raise LayoutError(f"{self.key}: unknown encoding {encoding!r}") from None
        # EBCDIC code pages put the space at 0x40: those get fixed-length records, the rest lines.
        self.line_breaks = " ".encode(self.encoding) != b"\x40"
        self.ids = self.spec.id_bytes(self.encoding)
        header = self.spec.layouts["header"]
        self.marks = tuple(
            (f.start - 1, f.end, f.value.encode(self.encoding)) for f in header.fields if f.type == "constant"
        )
        self.body_roles = tuple(r for r in self.roles if r not in ("header", "trailer"))
        self.rules = Rules(self.spec, mappings)

    def detect(self, head: bytes) -> bool:
        """The file opens with this format's transmission header: every constant of the header layout
        (record identifier, transmission type, version) in place, in this adapter's encoding."""
        return all(head[a:b] == value for a, b, value in self.marks)

    def parse(self, stream: BinaryIO) -> Iterator[Result]:
        return self.parser(self).run(stream)

    def render(self, records: Iterable[Mapping[str, Any]]) -> Iterator[bytes]:
        return NdnhRenderer(self).run(records)

    def check(self, role: str, data: Mapping[str, Any]) -> RecordError | None:
        """Rules beyond the layout for one record's data; formats add their own."""
        return self.rules.record(role, data)

    def canonical_error(self, exc: ValidationError, role: str, names: Mapping[str, str]) -> RecordError:
        """A canonical-model refusal as a coded record error naming the layout field (no input value)."""
        e = exc.errors(include_input=False)[0]
        key = ".".join(str(p) for p in e["loc"] if not isinstance(p, int))
        name = names.get(key) or names.get(key.split(".")[0])
        f = self.spec.field(role, name) if name else None
        code = "FEIN_INVALID" if key == "fein" else "CANONICAL_INVALID"
        return record_error(code, e["msg"] if f else f"{key}: {e['msg']}", f)


class NdnhParser:
    """One pass over one file. Body records are handled by ``on_<role>`` methods of a subclass."""

    def __init__(self, adapter: NdnhAdapter) -> None:
        self.a = adapter
        self.spec = adapter.spec
        self.layouts = adapter.spec.layouts
        self.enc = adapter.encoding
        self.problems: list[tuple[str, str]] = []
        self.record_no = 0
        self.physical = 0
        self.headers = 0
        self.before_header = 0  # records rejected before the first header
        self.stray_reported = False
        self.open_line = 0  # line of the open transmission's header; 0 when none is open
        self.header: dict[str, Any] | None = None
        self.counts: dict[str, int] = {}
        self.sums: dict[tuple[str, str], Any] = {}
        self.unreadable: dict[tuple[str, str], int] = {}
        self.sum_fields = {
            role: [(role, t.source) for t in self.spec.totals if t.kind == "sum" and t.role == role]
            for role in adapter.roles
        }
        self.handlers: dict[bytes, Callable[[int, bytes], Result]] = {
            ident: getattr(self, f"on_{role}") for ident, role in adapter.ids.items()
        }

    # ---- the loop
    def run(self, stream: BinaryIO) -> Iterator[Result]:
        handlers, ident, unknown = self.handlers, self.spec.id_slice, self.on_unknown
        try:
            for line_no, raw in iter_records(stream, self.spec.length, pad=" ".encode(self.enc)):
                self.physical += 1
                yield handlers.get(raw[ident], unknown)(line_no, raw)
        except FileStructureError as exc:  # framing damage explains later faults: report it first
            self.problems.insert(0, (exc.code, exc.message))
        self.finish()
        if self.problems:
            raise FileStructureError.from_problems(self.problems)

    def opened(self) -> None:
        """A transmission header was read: reset per-transmission state (subclasses extend)."""
        self.counts = dict.fromkeys(self.a.body_roles, 0)
        self.sums = {key: 0 for keys in self.sum_fields.values() for key in keys}
        self.unreadable = {}  # rejected records whose amount could not be added

    def finish(self) -> None:
        if self.physical == 0:
            self.problems.append(("EMPTY_FILE", "no records"))
        elif self.headers == 0:
            self.problems.append(
                (
                    "MISSING_HEADER",
                    f"no transmission header: all {self.physical} records were "
                    "rejected (the NDNH rejects records until a header is found)",
                )
            )
        if self.open_line:
            self.problems.append(
                ("MISSING_TRAILER", f"the transmission that begins on line {self.open_line} has no trailer")
            )

    # ---- results
    def parsed(self, role: str, data: dict[str, Any], line_no: int, canonical: Any = None) -> Parsed:
        self.record_no += 1
        return Parsed(self.record_no, role, data, line_no, canonical)

    def reject(self, line_no: int, err: RecordError, role: str | None, raw: bytes | None = None) -> Rejected:
        if err.code == "CHARSET" and raw is not None and role is not None:
            err = self.a.rules.upper_case(err, self.layouts[role], raw.decode(self.enc, "replace"))
        self.record_no += 1
        return Rejected(self.record_no, line_no, err.code, err.message, err.field, err.start, err.end, role)

    def fail(self, line_no: int, code: str, message: str, role: str | None) -> Rejected:
        return self.reject(line_no, RecordError(code, message), role)

    # ---- records
    def take(self, role: str, line_no: int, raw: bytes) -> dict[str, Any] | Rejected:
        """Count a body record toward the trailer and parse it: its data, or its rejection."""
        if not self.open_line:
            return self.outside(line_no, role)
        self.counts[role] += 1
        try:
            data = self.layouts[role].parse(raw, self.enc)
        except RecordError as err:
            self.raw_sums(role, raw)
            return self.reject(line_no, err, role, raw)
        for key in self.sum_fields[role]:
            self.sums[key] += data[key[1]] or 0
        return data

    def raw_sums(self, role: str, raw: bytes) -> None:
        """A rejected record still adds what its amount positions hold, as the sender's totals did."""
        for key in self.sum_fields[role]:
            f = self.spec.field(role, key[1])
            assert f is not None  # checked when the descriptor loaded
            text = raw[f.start - 1 : f.end].decode(self.enc, "replace")
            if text.isascii() and text.isdigit():
                self.sums[key] += Decimal(text).scaleb(-f.decimals) if f.type == "amount" else int(text)
            else:
                self.unreadable[key] = self.unreadable.get(key, 0) + 1

    def outside(self, line_no: int, role: str | None) -> Rejected:
        """The NDNH rule: a record outside a header…trailer transmission is rejected."""
        if self.headers == 0:
            self.before_header += 1
        elif not self.stray_reported:
            self.stray_reported = True
            self.problems.append(
                (
                    "RECORD_AFTER_TRAILER",
                    f"line {line_no}: records after a trailer and before the next header were rejected",
                )
            )
        what = f"{role} record" if role else "record"
        return self.fail(
            line_no,
            "NO_TRANSMISSION_HEADER",
            f"{what} outside a transmission: the NDNH rejects every record until a transmission header is found",
            role,
        )

    def on_unknown(self, line_no: int, raw: bytes) -> Rejected:
        if not self.open_line:
            return self.outside(line_no, None)
        if not raw.strip():
            return self.fail(line_no, "BLANK_RECORD", "blank line between records", None)
        s = self.spec.id_slice
        return self.reject(
            line_no,
            RecordError(
                "RECORD_TYPE",
                f"unknown record identifier in positions {s.start + 1}-{s.stop}",
                field="record_id",
                start=s.start + 1,
                end=s.stop,
            ),
            None,
        )

    def on_header(self, line_no: int, raw: bytes) -> Result:
        if self.open_line:
            self.problems.append(
                (
                    "MISSING_TRAILER",
                    f"line {line_no}: a new header before the trailer of the "
                    f"transmission that begins on line {self.open_line}",
                )
            )
        elif self.headers == 0 and self.before_header:
            self.problems.append(
                (
                    "HEADER_NOT_FIRST",
                    f"the transmission header is on line {line_no}: the "
                    f"{self.before_header} record(s) before it were rejected (NDNH rule)",
                )
            )
        self.headers += 1
        self.open_line = line_no
        self.header = None
        self.opened()
        try:
            data = self.layouts["header"].parse(raw, self.enc)
            err = self.a.check("header", data)
            if err is not None:
                raise err
        except RecordError as err:
            self.problems.append(("HEADER_INVALID", f"line {line_no}: transmission header invalid ({err.code})"))
            return self.reject(line_no, err, "header", raw)
        self.header = data
        return self.parsed("header", data, line_no)

    def on_trailer(self, line_no: int, raw: bytes) -> Result:
        if not self.open_line:
            return self.outside(line_no, "trailer")
        self.open_line = 0
        try:
            data = self.layouts["trailer"].parse(raw, self.enc)
        except RecordError as err:
            self.problems.append(
                ("TRAILER_INVALID", f"line {line_no}: trailer unreadable ({err.code}); its counts could not be checked")
            )
            return self.reject(line_no, err, "trailer", raw)
        for t in self.spec.totals:
            actual = self.counts[t.role] if t.kind == "count" else self.sums[(t.role, t.source)]
            if data[t.field] != actual:
                code = "TRAILER_COUNT" if t.kind == "count" else "TRAILER_TOTAL"
                lost = self.unreadable.get((t.role, t.source), 0) if t.kind == "sum" else 0
                why = f" ({lost} rejected record(s) had no readable {t.source})" if lost else ""
                message = f"trailer on line {line_no}: {t.field} is {data[t.field]}, the transmission gives {actual}"
                self.problems.append((code, message + why))
        return self.parsed("trailer", data, line_no)


class NdnhRenderer:
    """Writes records back out, computing every trailer total itself; given totals must agree."""

    def __init__(self, adapter: NdnhAdapter) -> None:
        self.a = adapter
        self.spec = adapter.spec
        self.end = b"\n" if adapter.line_breaks else b""
        self.open = False
        self.seen: set[str] = set()
        self.counts: dict[str, int] = {}
        self.sums: dict[tuple[str, str], Any] = {}

    def run(self, records: Iterable[Mapping[str, Any]]) -> Iterator[bytes]:
        for rec in records:
            role, data = str(rec.get("type")), rec.get("data") or {}
            if role == "header":
                if self.open:
                    yield self.close({})
                yield self.start(data)
            elif role == "trailer":
                if not self.open:
                    raise RecordError("RENDER_ORDER", "a trailer needs a transmission header before it")
                yield self.close(data)
            elif role in self.a.body_roles:
                yield self.body(role, data)
            else:
                raise RecordError(
                    "RENDER_TYPE",
                    f"unknown record type {role!r} for {self.a.key}; expected "
                    f"header, {', '.join(self.a.body_roles)} or trailer",
                )
        if self.open:
            yield self.close({})

    def line(self, role: str, data: Mapping[str, Any]) -> bytes:
        return self.encode(role, self.spec.layouts[role].render(data))

    def encode(self, role: str, text: str) -> bytes:
        try:
            return encode_text(text, self.a.encoding) + self.end
        except UnicodeEncodeError:
            raise RecordError(
                "RENDER_VALUE", f"{role} record holds characters {self.a.encoding} cannot encode"
            ) from None

    def checked(self, role: str, data: Mapping[str, Any]) -> tuple[bytes, Mapping[str, Any]]:
        """The record's bytes and its values as a reader reads them back: the layout proves each field
        (its type too) first, so the rules between fields and the totals see only values it accepted."""
        text, values = self.spec.layouts[role].render_read_back(data)
        err = self.a.check(role, values)
        if err is not None:
            raise err
        return self.encode(role, text), values

    def start(self, data: Mapping[str, Any]) -> bytes:
        out, _ = self.checked("header", data)
        self.open, self.seen = True, set()
        self.counts = dict.fromkeys(self.a.body_roles, 0)
        self.sums = {(t.role, t.source): Decimal(0) for t in self.spec.totals if t.kind == "sum"}
        return out

    def body(self, role: str, data: Mapping[str, Any]) -> bytes:
        if not self.open:
            raise RecordError("RENDER_ORDER", f"a {role} record needs a transmission header before it")
        need = self.a.follows.get(role)
        if need and need not in self.seen:
            raise RecordError("RENDER_ORDER", f"a {role} record must follow its {need} record")
        out, values = self.checked(role, data)
        self.counts[role] += 1
        self.seen.add(role)
        for sum_role, name in self.sums:
            if sum_role == role and values.get(name) is not None:
                self.sums[(role, name)] += values[name]
        return out

    def close(self, given: Mapping[str, Any]) -> bytes:
        computed = {
            t.field: self.counts[t.role] if t.kind == "count" else self.sums[(t.role, t.source)]
            for t in self.spec.totals
        }
        agree(given, computed, "trailer")
        self.open = False
        return self.line("trailer", {**given, **computed})
