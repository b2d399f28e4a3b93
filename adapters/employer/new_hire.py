"""New-hire reports (W-4 data): an employer's file to a State Directory of New Hires (SDNH), one
801-byte ``W4`` record per new employee ⇄ canonical ``NewHire``.

Spec: shared/specs/employer-formats.md §3.1 — the OCSE-recommended layout as Alaska publishes it
(1-271 CONFIRMED, the rest DERIVED from Nevada's variant and a payroll bureau's production tape
program). States differ, so the layout is chosen by name from ``mappings/employer/new_hire/
new_hire.variants.toml`` (``NewHireAdapter(variant=...)``, default ``ocse``); a state's own layout
is a new TOML file and a line in that table, never code. Every variant keeps the field names of
``FIELD_TYPES`` for what maps to the canonical record; any other field travels in ``NewHire.extra``.

Records: one ``new_hire`` per W4 record. Per record: the layout's checks (the SSN by python-stdnum's
``us.ssn`` rules, dates, USPS codes, name characters), python-stdnum ``us.ein`` (FEIN prefixes the IRS
assigns), and a birth date before the hire date. A bad record is rejected with
its field and positions and parsing goes on; truncation and an empty file are file-level faults
raised after the records. The canonical ``NewHire`` is built when first read (every rule it applies
is checked while parsing, so building cannot fail): validating a pydantic model costs several times
the parse of the record, and an SDNH file is matched on SSNs first.

Encodings: employer files are usually ASCII; EBCDIC (``cp037``) is read too, recognised by the record
identifier's bytes. Rendering writes the adapter's encoding: ASCII one record per line, EBCDIC as
fixed-length records back to back.
"""

from __future__ import annotations

import codecs
import datetime as dt
import tomllib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, BinaryIO, ClassVar

from stdnum.us import ein as stdnum_ein

from adapters.base import DeferredParsed, Direction, Rejected, Result, SourceInfo
from adapters.canonical import AddressType, NewHire
from adapters.errors import FileStructureError, LayoutError, RecordError
from adapters.labor.ndnh import json_native
from adapters.layout import MAPPINGS_DIR, Layout, encode_text, load_layout
from adapters.records import iter_records, with_head

FOLDER = "employer/new_hire"
VARIANTS = "new_hire.variants.toml"
RECORD_ID = "W4"
TEXT = ("alnum", "alpha")

# The fields the canonical mapping reads, by name, with the layout types that can carry each; a variant
# layout is checked against this table when it loads, so a record that parses always builds its
# NewHire. Address blocks are <prefix>address_line1 ... for the three addresses of ADDRESSES.
_ADDRESS_TYPES = {
    "address_line1": TEXT,
    "address_line2": TEXT,
    "address_line3": TEXT,
    "city": TEXT,
    "state": ("code",),
    "zip": ("digits",),
    "zip4": ("digits",),
    "country_code": ("alpha", "code"),
    "country_name": TEXT,
    "foreign_postal_code": TEXT,
}
ADDRESSES = (
    ("employee", "employee_", AddressType.RESIDENTIAL),
    ("employer", "employer_", AddressType.EMPLOYER),
    ("employer", "optional_", AddressType.PAYROLL),
)
FIELD_TYPES: dict[str, tuple[str, ...]] = {
    "employee_ssn": ("ssn",),
    "employee_first_name": TEXT,
    "employee_middle_name": TEXT,
    "employee_last_name": TEXT,
    "employee_birth_date": ("date",),
    "hire_date": ("date",),
    "state_of_hire": ("code",),
    "employer_fein": ("digits",),
    "employer_state_ein": TEXT,
    "employer_name": TEXT,
    "salary": ("amount",),
    "medical_insurance_available": ("code",),
    **{prefix + part: types for _, prefix, _ in ADDRESSES for part, types in _ADDRESS_TYPES.items()},
}
REQUIRED = ("employee_ssn", "employee_first_name", "employee_last_name", "hire_date", "employer_fein", "employer_name")
_PARTS = (
    ("address_line1", "line1"),
    ("address_line2", "line2"),
    ("address_line3", "line3"),
    ("city", "city"),
    ("state", "state"),
    ("zip", "zip5"),
    ("zip4", "zip4"),
    ("foreign_postal_code", "foreign_postal_code"),
)
_LOCATING = frozenset({"line1", "line2", "city", "zip5", "foreign_postal_code"})  # what makes an Address


# =========================================================================== variants as data


@dataclass(frozen=True, slots=True)
class Variant:
    """One state's W4 layout, named in the variant table."""

    name: str
    title: str
    layout: Layout


def load_variants(mappings: Path | None = None) -> tuple[str, dict[str, Variant]]:
    """The variant table: its default name and every variant with its checked layout."""
    root = mappings or MAPPINGS_DIR
    where = f"{FOLDER}/{VARIANTS}"
    try:
        doc = tomllib.loads((root / FOLDER / VARIANTS).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise LayoutError(f"{where}: cannot load: {exc}") from None
    variants = {}
    for name, spec in doc.get("variant", {}).items():
        layout = load_layout(f"{FOLDER}/{spec['layout']}", mappings)
        check_layout(layout, f"{where} [variant.{name}]")
        variants[name] = Variant(name, str(spec.get("title", name)), layout)
    default = str(doc.get("default", ""))
    if default not in variants:
        raise LayoutError(f"{where}: default variant {default!r} is not one of {sorted(variants)}")
    return default, variants


def check_layout(layout: Layout, where: str) -> None:
    """What the adapter assumes of a W4 layout: the record id first, the mapped fields typed as the
    canonical model needs them, the identifying fields present and required."""
    first = layout.fields[0]
    if first.type != "constant" or first.start != 1 or first.value != RECORD_ID:
        raise LayoutError(f"{where}: the layout must open with the constant record identifier {RECORD_ID!r}")
    fields = {f.name: f for f in layout.data_fields}
    for name in REQUIRED:
        if name not in fields or not fields[name].required:
            raise LayoutError(f"{where}: needs the required field {name!r}")
    for name, f in fields.items():
        types = FIELD_TYPES.get(name)
        if types is not None and f.type not in types:
            raise LayoutError(f"{where}: field {name!r} must be of type {' or '.join(types)}, not {f.type}")
        if name.endswith("country_code") and f.pattern != "[A-Z]{2}" and f.type != "code":
            raise LayoutError(f"{where}: field {name!r} needs pattern '[A-Z]{{2}}' (a FIPS 10-4 country code)")


# =========================================================================== W4 data ⇄ canonical


def new_hire_from_w4(data: Mapping[str, Any], source: str) -> NewHire:
    """The canonical new hire of one parsed W4 record (any variant); unmapped fields go to ``extra``."""
    addresses: dict[str, list[dict[str, Any]]] = {"employee": [], "employer": []}
    for owner, prefix, kind in ADDRESSES:
        parts = {attr: data[prefix + name] for name, attr in _PARTS if data.get(prefix + name) is not None}
        if parts.keys() & _LOCATING:
            country = data.get(prefix + "country_code")
            addresses[owner].append({"address_type": kind, "country": country or "US", "source": source, **parts})
    first, middle, last = (data.get(f"employee_{p}_name") for p in ("first", "middle", "last"))
    medical = data.get("medical_insurance_available")
    return NewHire.model_validate(
        {
            "employee": {
                "ssn": data["employee_ssn"],
                "name": {"first": first, "middle": middle, "last": last},
                "dob": data.get("employee_birth_date"),
                "addresses": addresses["employee"],
            },
            "employer": {
                "fein": data["employer_fein"],
                "state_ein": data.get("employer_state_ein"),
                "name": data["employer_name"],
                "addresses": addresses["employer"],
                "source": source,
                "as_of": data["hire_date"],
            },
            "hire_date": data["hire_date"],
            "state_of_hire": data.get("state_of_hire"),
            "salary": data.get("salary"),
            "medical_insurance_available": None if medical is None else medical == "Y",
            "extra": {k: json_native(v) for k, v in data.items() if k not in FIELD_TYPES_MAPPED and v is not None},
        }
    )


# Mapped fields; a country *name* has no place in Address, so it stays in ``extra``.
FIELD_TYPES_MAPPED = frozenset(k for k in FIELD_TYPES if not k.endswith("country_name"))


def w4_from_new_hire(hire: NewHire, layout: Layout) -> dict[str, Any]:
    """The W4 data of a canonical new hire for ``layout``: the inverse of ``new_hire_from_w4``.

    Fields the layout lacks are left out (a variant without the optional-address block drops the
    payroll address); ``extra`` values return to layout fields of the same name."""
    d: dict[str, Any] = layout.empty()
    e, emp = hire.employee, hire.employer
    name = e.name
    values: dict[str, Any] = {
        "employee_ssn": e.ssn,
        "employee_first_name": name.first if name else None,
        "employee_middle_name": name.middle if name else None,
        "employee_last_name": name.last if name else None,
        "employee_birth_date": e.dob,
        "hire_date": hire.hire_date,
        "state_of_hire": hire.state_of_hire,
        "employer_fein": emp.fein,
        "employer_state_ein": emp.state_ein,
        "employer_name": emp.name,
        "salary": hire.salary,
        "medical_insurance_available": None
        if hire.medical_insurance_available is None
        else "Y"
        if hire.medical_insurance_available
        else "N",
    }
    for owner, prefix, kind in ADDRESSES:
        found = next((a for a in (e if owner == "employee" else emp).addresses if a.address_type == kind), None)
        if found is None:
            continue
        for name_, attr in _PARTS:
            values[prefix + name_] = getattr(found, attr)
        values[prefix + "country_code"] = None if found.country == "US" else found.country
    values.update({k: v for k, v in hire.extra.items() if k not in FIELD_TYPES_MAPPED})
    for key, value in values.items():
        if key in d:
            d[key] = value
    return d


# =========================================================================== per-record rules


def record_rules(layout: Layout, data: Mapping[str, Any]) -> RecordError | None:
    """What the layout cannot check and the canonical model would refuse, and the date order; messages
    name the field, never its value. (The layout's ``ssn`` type already applies python-stdnum's
    ``us.ssn`` rules, never-issued numbers included; the FEIN prefix list is stdnum's ``us.ein``.)"""
    if not _fein_prefix_assigned(data["employer_fein"][:2]):
        return layout.field_error(
            "employer_fein", "FEIN_INVALID", "prefix is not one the IRS assigns (python-stdnum us.ein)"
        )
    born = data.get("employee_birth_date")
    if born is not None and born >= data["hire_date"]:
        return layout.field_error("employee_birth_date", "DATE_ORDER", "birth date is not before the hire date")
    return None


@cache
def _fein_prefix_assigned(prefix: str) -> bool:
    # stdnum's us.ein check is a lookup of the two-digit prefix and nothing else, and a slow one (a walk
    # of its number database): cached per prefix, 100 entries at most.
    return bool(stdnum_ein.is_valid(prefix + "0000000"))


def sniff_encoding(head: bytes, default: str) -> str:
    """ASCII or EBCDIC (cp037), from the record identifier the file opens with."""
    for encoding in ("ascii", "cp037"):
        if head[:1] and head[:1] in {ident[:1] for ident in _IDENTS[encoding]}:
            return encoding
    return default


_IDENTS = {enc: {code.encode(enc) for code in ("W4", "H4", "T4")} for enc in ("ascii", "cp037")}


def _to_date(value: Any) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))


# =========================================================================== the adapter


class NewHireAdapter:
    """Employer → SDNH new-hire file (``W4`` records, variant layouts) ⇄ ``NewHire``."""

    key: ClassVar[str] = "new-hire"
    title: ClassVar[str] = "New-hire (W-4) report, employer to State Directory of New Hires (801-byte W4 records)"
    direction: ClassVar[Direction] = Direction.INBOUND
    source: ClassVar[SourceInfo] = SourceInfo(
        document="OCSE-recommended employer W4 record as published by Alaska CSSD; state variants as mapping data",
        version="Alaska CSSD page / MEDIAOCEAN 4f839a9f",
        status="mixed",
        notes="1-271 confirmed, 272-801 derived; variants in mappings/employer/new_hire/new_hire.variants.toml",
    )

    def __init__(self, variant: str | None = None, *, mappings: Path | None = None, encoding: str = "ascii") -> None:
        default, variants = load_variants(mappings)
        name = variant or default
        if name not in variants:
            raise LayoutError(f"unknown new-hire variant {name!r}; known: {', '.join(sorted(variants))}")
        self.variant = variants[name]
        self.layout = self.variant.layout
        try:
            self.encoding = codecs.lookup(encoding).name
        except LookupError:
            raise LayoutError(f"{self.key}: unknown encoding {encoding!r}") from None
        self.line_end = b"\n" if " ".encode(self.encoding) == b" " else b""  # EBCDIC: fixed-length records

    def detect(self, head: bytes) -> bool:
        """A file of W4 records of this variant's length, in ASCII or EBCDIC, opening with a record whose
        SSN and hire-date positions hold digits."""
        enc = sniff_encoding(head, "ascii")
        n = self.layout.length
        text = head[: n + 2].decode(enc, "replace")
        if "\n" in text:  # one record per line; editors may strip trailing filler
            first = text.split("\n", 1)[0].rstrip("\r")
            whole = 287 <= len(first) <= n
        else:
            first = text[:n]
            whole = len(first) == n
        return whole and first[:2] == RECORD_ID and first[2:11].isdigit() and first[279:287].isdigit()

    def parse(self, stream: BinaryIO) -> Iterator[Result]:
        return _Parser(self).run(stream)

    def render(self, records: Iterable[Mapping[str, Any]]) -> Iterator[bytes]:
        for rec in records:
            canonical, rtype = rec.get("canonical"), rec.get("type")
            if isinstance(canonical, NewHire):
                data: Mapping[str, Any] = w4_from_new_hire(canonical, self.layout)
            elif rtype == "new_hire":
                data = rec.get("data") or {}
                if data.get("kind") == "new_hire":  # the canonical JSON form
                    data = w4_from_new_hire(NewHire.model_validate(data), self.layout)
            elif rtype in ("header", "trailer"):
                continue  # an NDNH transmission's envelope has no place in an employer's file
            else:
                raise RecordError("RENDER_TYPE", f"record type {rtype!r} is not a new-hire record")
            yield self.record(data)

    def record(self, data: Mapping[str, Any]) -> bytes:
        """One W4 record; every width and code checked by the layout, then the rules parsing applies."""
        text = self.layout.render(data)
        checked = dict(data)
        for key in ("hire_date", "employee_birth_date"):
            checked[key] = _to_date(checked.get(key))
        err = record_rules(self.layout, checked)
        if err is not None:
            raise err
        try:
            return encode_text(text, self.encoding) + self.line_end
        except UnicodeEncodeError:
            raise RecordError("RENDER_VALUE", f"a value holds characters {self.encoding} cannot encode") from None


class _Parser:
    """One pass over one file."""

    def __init__(self, adapter: NewHireAdapter) -> None:
        self.a = adapter
        self.layout = adapter.layout
        self.record_no = 0
        self.source = adapter.key

    def run(self, stream: BinaryIO) -> Iterator[Result]:
        head = stream.read(2)
        enc = sniff_encoding(head, self.a.encoding)
        ident = RECORD_ID.encode(enc)
        problems: list[tuple[str, str]] = []
        seen = 0
        try:
            for line_no, raw in iter_records(with_head(head, stream), self.layout.length, pad=" ".encode(enc)):
                seen += 1
                yield self.record(line_no, raw, enc, ident)
        except FileStructureError as exc:
            problems.append((exc.code, exc.message))
        if not seen and not problems:
            problems.append(("EMPTY_FILE", "no records"))
        if problems:
            raise FileStructureError.from_problems(problems)

    def record(self, line_no: int, raw: bytes, enc: str, ident: bytes) -> Result:
        self.record_no += 1
        if raw[:2] != ident:
            code, why = (
                ("BLANK_RECORD", "blank line between records")
                if not raw.strip()
                else ("RECORD_TYPE", f"positions 1-2 must hold the record identifier {RECORD_ID}")
            )
            return Rejected(self.record_no, line_no, code, why, "record_id", 1, 2, "new_hire")
        try:
            data = self.layout.parse(raw, enc)
            err = record_rules(self.layout, data)
            if err is not None:
                raise err
        except RecordError as err:
            return Rejected(self.record_no, line_no, err.code, err.message, err.field, err.start, err.end, "new_hire")
        return DeferredParsed(self.record_no, "new_hire", data, line_no, new_hire_from_w4, data, self.source)


__all__ = ["NewHireAdapter", "Variant", "load_variants", "new_hire_from_w4", "record_rules", "w4_from_new_hire"]
