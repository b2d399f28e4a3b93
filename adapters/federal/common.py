"""What the federal batch files (FCR, federal offset) share: fixed-length records told apart by a
record id, header/trailer or control records, and the error discipline of design.md §3.

OCSE batch files are specified as EBCDIC (agency-formats.md §0); the transport converts them, and
these adapters read and write the ASCII image. A record that breaks its layout or a rule is yielded
as ``Rejected`` and parsing goes on; file-level damage (missing or misplaced header/trailer, wrong
counts or totals, truncation, non-ASCII bytes) is collected and raised once, as one
``FileStructureError`` carrying every problem, after the last record.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, BinaryIO, TypeVar

from pydantic import ValidationError

from adapters.base import Rejected, Result
from adapters.errors import FileStructureError, LayoutError, RecordError
from adapters.layout import MAPPINGS_DIR, Layout, load_layout
from adapters.records import iter_records

T = TypeVar("T")

# Case ids share the CSENet edit rules (agency-formats.md §4.2): not blank or all zeros, no '*' or '\',
# and the first character not blank.
_CASE_ID_BAD = re.compile(r"^ |[*\\]")


@dataclass(frozen=True, slots=True)
class RecordSet:
    """The layouts of one file kind, found by the record id their first field holds as a constant."""

    layouts: Mapping[str, Layout]  # by record type (the layout's name)
    by_id: Mapping[str, Layout]
    length: int
    id_width: int

    @classmethod
    def load(cls, family: str, names: tuple[str, ...]) -> RecordSet:
        return cls.of(family, {n: load_layout(f"{family}/{n}.toml") for n in names})

    @classmethod
    def of(cls, family: str, layouts: Mapping[str, Layout]) -> RecordSet:
        """The record types of one file (type → layout); they must share one record length."""
        lengths = {lay.length for lay in layouts.values()}
        if len(lengths) != 1:
            raise LayoutError(
                f"{family}: layouts {sorted(layouts)} must share one record length, found {sorted(lengths)}"
            )
        by_id: dict[str, Layout] = {}
        for lay in layouts.values():
            first = lay.fields[0]
            if first.type == "constant":
                by_id[first.value] = lay
        widths = {len(k) for k in by_id}
        if len(widths) > 1:
            raise LayoutError(f"{family}: record ids of different widths {sorted(by_id)}")
        return cls(layouts=layouts, by_id=by_id, length=lengths.pop(), id_width=widths.pop() if widths else 0)


def code_rows(table: str) -> dict[str, dict[str, str]]:
    """A code table with all its columns (``load_codes`` keeps only the meaning)."""
    path = MAPPINGS_DIR / "codes" / f"{table}.csv"
    with path.open(encoding="utf-8", newline="") as fh:
        return {row["code"]: row for row in csv.DictReader(line for line in fh if not line.startswith("#"))}


def field_error(layout: Layout, name: str, code: str, why: str) -> RecordError:
    """A ``RecordError`` naming a layout field and its positions (``why`` must carry no personal data)."""
    for f in layout.fields:
        if f.name == name:
            return RecordError(
                code, f"{name} (positions {f.start}-{f.end}): {why}", field=name, start=f.start, end=f.end
            )
    return RecordError(code, f"{name}: {why}", field=name)


def check_case_id(layout: Layout, data: Mapping[str, Any], name: str = "case_id") -> None:
    value = data.get(name)
    if value is None:
        return
    if _CASE_ID_BAD.search(value) or not value.strip("0 "):
        raise field_error(layout, name, "CASE_ID", "must not be all zeros, start with a space or contain '*' or '\\'")


def canonical(build: Callable[[], T]) -> T:
    """Build a canonical record; a model rule it breaks becomes a coded record error.

    The canonical models hide input values in their errors, so the message names fields and rules only.
    """
    try:
        return build()
    except ValidationError as exc:
        where = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:3])
        raise RecordError("CANONICAL_INVALID", f"record breaks a canonical rule ({where})") from None


def as_decimal(value: Any) -> Decimal:
    """Decimal from a parsed value or its JSON form (``"12.34"``); None counts as zero."""
    return Decimal(0) if value is None else value if isinstance(value, Decimal) else Decimal(str(value))


class BatchParser:
    """One pass over one file: subclasses implement ``record`` (one physical record) and ``finish``."""

    def __init__(self, records: RecordSet) -> None:
        self.records = records
        self.problems: list[tuple[str, str]] = []
        self.record_no = 0
        self.non_ascii_line = 0

    def problem(self, code: str, message: str) -> None:
        self.problems.append((code, message))

    def next_no(self) -> int:
        self.record_no += 1
        return self.record_no

    def reject(self, line: int, err: RecordError, rtype: str | None) -> Rejected:
        return Rejected(self.next_no(), line, err.code, err.message, err.field, err.start, err.end, rtype)

    def run(self, stream: BinaryIO) -> Iterator[Result]:
        try:
            for line_no, raw in iter_records(stream, self.records.length):
                yield from self.record(line_no, raw)
        except FileStructureError as exc:  # framing damage explains every later fault: report it first
            self.problems.insert(0, (exc.code, exc.message))
        self.finish()
        if self.problems:
            raise FileStructureError.from_problems(self.problems)

    def record(self, line_no: int, raw: bytes) -> Iterator[Result]:  # pragma: no cover - abstract
        raise NotImplementedError

    def finish(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def layout_of(self, raw: bytes) -> Layout | None:
        return self.records.by_id.get(raw[: self.records.id_width].decode("ascii", "replace"))

    def unknown(self, line_no: int, raw: bytes) -> Rejected:
        if not raw.strip():
            err = RecordError("BLANK_RECORD", f"line {line_no} is blank", start=1, end=self.records.length)
        elif len(raw) != self.records.length:
            err = RecordError(
                "RECORD_LENGTH", f"record is {len(raw)} bytes, expected {self.records.length}", start=1, end=len(raw)
            )
        else:
            w = self.records.id_width
            err = RecordError(
                "RECORD_ID", f"unknown record identifier in positions 1-{w}", field="record_id", start=1, end=w
            )
        return self.reject(line_no, err, None)

    def parse_with(self, layout: Layout, line_no: int, raw: bytes) -> dict[str, Any]:
        try:
            return layout.parse(raw)
        except RecordError as err:
            if err.code == "NON_ASCII" and not self.non_ascii_line:
                self.non_ascii_line = line_no
                self.problem("NON_ASCII", f"line {line_no} holds bytes outside 7-bit ASCII")
            raise


def render_line(layout: Layout, data: Mapping[str, Any]) -> bytes:
    return (layout.render(data) + "\n").encode("ascii")
