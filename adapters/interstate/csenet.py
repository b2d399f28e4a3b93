"""CSENet interstate transactions, both directions, and the CSENet server error file.

Spec: CSENet Interface Guidance Document (IGD) Appendix B (function/action/reason combinations) and
Appendix C charts C-3 … C-12, as digested in shared/specs/agency-formats.md §1. Layouts:
``mappings/interstate/csenet/*.toml``; code tables ``mappings/codes/csenet_*.csv`` and ``fips_state``.

One logical record = one transaction = one line: the transaction header followed, with no separators,
by the data blocks its indicators (header positions 90-96) announce, in the fixed order Case, NCP
Identification, NCP Locate, Participant ×0-9, Order ×0-9, Collection ×0-9, Information. The parsed
``data`` holds the header fields, ``direction`` and the blocks (``case``, ``ncp_identification``,
``ncp_locate``, ``information``: a dict or None; ``participants``, ``orders``, ``collections``: lists).

**Direction.** The header is 127 bytes on what a state sends to the CSENet server (chart C-3) and 121
bytes on what the server delivers (chart C-4). ``CsenetAdapter(channel="inbound"|"outbound")`` reads a
channel whose direction is known. Without one, a record whose length (line end removed) is exactly
121 + Σ blocks is inbound and one of exactly 127 + Σ is outbound (§1.1: the 6-byte difference can
never be a block, the smallest is 70 bytes). A record padded with trailing blanks or ``X'0D'``
matches neither length exactly; it is outbound when its outbound tail reads as one (reserved
positions 111-126 blank, Overdue-Ind ``0`` at 127), else inbound. A file mixing both is a file fault.
``render`` writes ``data["direction"]`` (default: the channel, else outbound), exactly 127/121 + Σ
bytes and a newline.

**Faults.** A transaction whose length disagrees with its indicators is rejected as
``BLOCK_COUNT_MISMATCH`` (off by whole blocks), ``TRUNCATED_BLOCK`` (ends inside a block) or
``RECORD_LENGTH``; field faults carry positions within the transaction and a field path such as
``participants[1].ssn``; rule faults (``FAR_INVALID``, ``INDICATOR_RULE``, …) come from
``csenet_rules``. Each rejects one transaction and parsing goes on. CSENet files have no header or
trailer (§1.1), so the only file-level faults are an empty file, a last line cut short (``TRUNCATED``),
mixed directions and duplicate serial numbers from one sender, raised after the last record.

**Canonical.** A transaction the canonical ``InterstateTransaction`` refuses is rejected as
``CANONICAL_INVALID``, yet the record is built only when first read (``adapters.base.DeferredParsed``),
from a copy of the transaction as parsed: ``csenet_canonical_check`` decides from the decoded data
whether the model could refuse it, and only then is it built at once. ``render`` reads back from its
own output just the values the rules and that check need (``Layout.render_parsed``), so it never
writes what parse would reject.

A 145-byte line in the server error-file layout (chart C-12) is read as a ``server_error`` record.
"""

from __future__ import annotations

import logging
import operator
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, BinaryIO, ClassVar

from pydantic import ValidationError

from adapters.base import DeferredParsed, Direction, Parsed, Rejected, Result, SourceInfo
from adapters.canonical import InterstateTransaction
from adapters.controls import shown
from adapters.errors import FileStructureError, RecordError
from adapters.interstate.csenet_canonical import from_canonical, to_canonical
from adapters.interstate.csenet_canonical_check import REFUSAL_FIELDS, check_code_tables, refusal_possible
from adapters.interstate.csenet_rules import (
    INDICATORS,
    REPEATING,
    RULE_FIELDS,
    RULE_NAMES,
    Fault,
    check_transaction,
)
from adapters.layout import Layout, load_layout

log = logging.getLogger(__name__)

INBOUND, OUTBOUND = "inbound", "outbound"
DIRECTIONS = (INBOUND, OUTBOUND)
MAX_LINE = 16 << 10  # the longest transaction is 8,481 bytes; a padded 8,482-byte buffer fits easily
FUNCTIONS = frozenset({b"LO1", b"CSI", b"ENF", b"EST", b"PAT", b"COL", b"MSC"})
PAD = b" \r"  # trailing blanks and X'0D' end markers are not data (§1.1); CR is X'0D'


@dataclass(frozen=True, slots=True)
class Block:
    """One data-block kind: its key in ``data``, its layout and how many a transaction may hold."""

    key: str
    layout: Layout
    repeats: bool
    indicator: str  # the header field that counts it (positions 90-96)
    length: int
    amounts: tuple[tuple[str, int, int], ...]  # signed amount fields, for variant logging (_amount_slices)

    def label(self, index: int) -> str:
        return f"{self.key}[{index}]" if self.repeats else self.key


def _blocks() -> tuple[Block, ...]:
    # INDICATORS is in header order (positions 90-96), which is also the block order (§1.1); each layout
    # file is named like the block in the indicator-rule table.
    layouts = {key: load_layout(f"interstate/csenet/{RULE_NAMES[key]}.toml") for key in INDICATORS}
    return tuple(
        Block(key, layout, key in REPEATING, INDICATORS[key], layout.length, _amount_slices(layout))
        for key, layout in layouts.items()
    )


class CsenetAdapter:
    """CSENet transactions (127-byte outbound / 121-byte inbound header + data blocks) and server errors."""

    key: ClassVar[str] = "csenet"
    title: ClassVar[str] = "CSENet interstate transactions (header + data blocks, both directions; server error file)"
    direction: ClassVar[Direction] = Direction.BOTH
    source: ClassVar[SourceInfo] = SourceInfo(
        document="CSENet Interface Guidance Document, Appendices B and C (charts C-3 to C-12)",
        version="IGD v8.0 (2011) or later, CSENet version 003",
        status="mixed",
        notes="layouts and codes confirmed; amount form ±99999999.99 and framing (one transaction per line) derived",
    )

    def __init__(self, channel: str | None = None) -> None:
        if channel not in (None, *DIRECTIONS):
            raise ValueError(f"channel must be {INBOUND!r}, {OUTBOUND!r} or None")
        self.channel = channel
        self.blocks = _blocks()
        self.headers = {d: load_layout(f"interstate/csenet/header_{d}.toml") for d in DIRECTIONS}
        self.error_layout = load_layout("interstate/csenet/error_file.toml")
        self._lengths = tuple(b.length for b in self.blocks)
        # What render reads back from its own output: the fields the rules and the canonical check read.
        self._checked = {key: RULE_FIELDS[key] | REFUSAL_FIELDS.get(key, frozenset()) for key in RULE_FIELDS}
        check_code_tables()  # what lets parse and render skip building the canonical record (see below)

    # ------------------------------------------------------------------ detect
    def detect(self, head: bytes) -> bool:
        """The first line is a transaction header (version ``003``, a known function, 0-9 indicators)
        or a server error-file record."""
        line = head.split(b"\n", 1)[0].rstrip(b"\r")
        if _looks_like_error_record(line):
            return True
        return (
            len(line) >= 121
            and line[:5].isdigit()
            and line[7:12].isdigit()
            and line[14:17] == b"003"
            and line[17:29].isdigit()
            and line[33:34] in (b"R", b"A", b"P", b"M", b"U", b"C")
            and line[34:37] in FUNCTIONS
            and line[37:45].isdigit()
            and line[88:89] in (b"Y", b"N")
            and line[89:96].isdigit()
        )

    # ------------------------------------------------------------------ parse
    def parse(self, stream: BinaryIO) -> Iterator[Result]:
        return _Parser(self).run(stream)

    def decode(self, content: bytes, channel: str | None = None) -> dict[str, Any]:
        """One transaction (line end removed) → data; raises ``RecordError`` for any fault."""
        counts = _indicator_counts(content)
        sigma = sum(map(operator.mul, counts, self._lengths))
        direction = channel or self.channel or _guess_direction(content, sigma)
        header = self.headers[direction]
        offset = header.length
        if len(content) != offset + sigma:  # padded, short or long: tell which
            self._check_length(content, counts, offset, offset + sigma)
        if content.isascii():  # one decode for the whole line; otherwise each block names its bad byte
            text = content.decode("ascii")

            def read(layout: Layout, start: int) -> dict[str, Any]:
                return layout.parse_text(text[start : start + layout.length])
        else:

            def read(layout: Layout, start: int) -> dict[str, Any]:
                return layout.parse(content[start : start + layout.length])

        data = read(header, 0)
        data["direction"] = direction
        for n, block in zip(counts, self.blocks, strict=True):
            items = []
            for i in range(n):
                try:
                    items.append(read(block.layout, offset))
                except RecordError as err:
                    raise _shifted(err, block.label(i), offset) from None
                if block.amounts:
                    _note_amount_variants(block, content, offset, data)
                offset += block.length
            data[block.key] = items if block.repeats else (items[0] if items else None)
        self.check_rules(data)
        return data

    def check_rules(self, data: Mapping[str, Any]) -> None:
        """Raise the first rule fault (``csenet_rules``) of a decoded transaction, located."""
        for fault in check_transaction(data):
            raise self.locate_fault(fault, data)

    def _check_length(self, content: bytes, counts: list[int], header_len: int, expected: int) -> None:
        size, core = len(content), len(content.rstrip(PAD))
        if size >= expected and core <= expected:
            return
        described = _describe(counts, self.blocks)
        if size < expected:
            missing = expected - size
            guess = self._whole_blocks(missing, missing, counts)
            if guess is not None:
                raise RecordError(
                    "BLOCK_COUNT_MISMATCH",
                    f"the indicators announce {described} ({expected} bytes) "
                    f"but the record holds {size}: {guess[0]} fewer than announced",
                    field=guess[1],
                    start=size + 1,
                    end=expected,
                )
            where = self._block_at(size, counts, header_len)
            raise RecordError(
                "TRUNCATED_BLOCK",
                f"the record ends inside the {where} (byte {size} of {expected})",
                field=where,
                start=size + 1,
                end=expected,
            )
        # Extra whole blocks: an exact multiple of one block length first, then (the last block may end
        # in blanks that were stripped) any multiple between the last non-blank byte and the line end.
        guess = self._whole_blocks(size - expected, size - expected) or self._whole_blocks(
            core - expected, size - expected
        )
        if guess is not None:
            raise RecordError(
                "BLOCK_COUNT_MISMATCH",
                f"the indicators announce {described} ({expected} bytes) "
                f"but the record holds {size}: {guess[0]} more than announced",
                field=guess[1],
                start=expected + 1,
                end=size,
            )
        raise RecordError(
            "RECORD_LENGTH",
            f"record is {core} bytes; its indicators announce {expected} ({described})",
            start=expected + 1,
            end=core,
        )

    def _whole_blocks(self, low: int, high: int, counts: list[int] | None = None) -> tuple[str, str] | None:
        """``(description, indicator)`` when ``low..high`` bytes are whole blocks of one kind (``counts``
        limits the kinds to those announced, for missing blocks); the guess names the likely indicator."""
        for i, block in enumerate(self.blocks):
            most = counts[i] if counts is not None else (9 if block.repeats else 1)
            for k in range(1, most + 1):
                if low <= k * block.length <= high:
                    return (
                        f"{k} {block.key} block{'s' if k > 1 else ''} ({block.length} bytes each)",
                        INDICATORS[block.key],
                    )
        return None

    def _block_at(self, pos: int, counts: list[int], offset: int) -> str:
        if pos < offset:
            return "transaction header"
        for n, block in zip(counts, self.blocks, strict=True):
            for i in range(n):
                if pos < offset + block.length:
                    return f"{block.label(i)} block"
                offset += block.length
        return "last block"  # pragma: no cover - callers pass a position inside the announced length

    def locate_fault(self, fault: Fault, data: Mapping[str, Any]) -> RecordError:
        """Turn a rule fault into a ``RecordError`` with positions within the transaction."""
        header = self.headers[data["direction"]]
        if fault.block is None:
            f = next((x for x in header.fields if x.name == fault.field), None)
            return RecordError(
                fault.code, fault.message, field=fault.field, start=f.start if f else None, end=f.end if f else None
            )
        offset = header.length
        for block in self.blocks:
            present = data.get(block.key)
            n = len(present or ()) if block.repeats else int(present is not None)
            if block.key == fault.block:
                offset += fault.index * block.length
                f = next((x for x in block.layout.fields if x.name == fault.field), None)
                label = f"{block.label(fault.index)}.{fault.field}"
                return RecordError(
                    fault.code,
                    fault.message,
                    field=label,
                    start=offset + f.start if f else None,
                    end=offset + f.end if f else None,
                )
            offset += n * block.length
        return RecordError(fault.code, fault.message, field=fault.field)  # pragma: no cover

    def canonical(self, data: Mapping[str, Any]) -> InterstateTransaction:
        """The canonical record, or ``RecordError("CANONICAL_INVALID")`` naming the model fields at fault."""
        try:
            return to_canonical(data)
        except ValidationError as exc:
            where = "; ".join(
                f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
                for e in exc.errors(include_input=False, include_url=False)[:3]
            )
            raise RecordError("CANONICAL_INVALID", f"cannot form a canonical transaction: {where}") from None

    # ------------------------------------------------------------------ render
    def render(self, records: Iterable[Mapping[str, Any]]) -> Iterator[bytes]:
        for rec in records:
            rtype = rec.get("type")
            if rtype == "server_error":
                yield (self.error_layout.render(rec.get("data") or {}) + "\n").encode("ascii")
            elif rtype == "transaction":
                data = rec.get("data")
                if not data and isinstance(rec.get("canonical"), InterstateTransaction):
                    data = from_canonical(rec["canonical"], self.channel or OUTBOUND)
                yield self.render_transaction(data or {})
            else:
                raise RecordError(
                    "RENDER_TYPE",
                    f"unknown record type {rtype!r} for csenet (expected 'transaction' or 'server_error')",
                )

    def render_transaction(self, data: Mapping[str, Any]) -> bytes:
        """One transaction line. Indicators follow the blocks given (a stated indicator that disagrees is
        refused). Render never writes what parse would reject: the layout regex proves each block and the
        header as parse reads them, and the values the rules and the canonical check need are read back
        from that same match (``Layout.render_parsed``) and checked; should the canonical model possibly
        refuse them, the whole line is decoded again and the canonical record built."""
        direction = data.get("direction") or self.channel or OUTBOUND
        if direction not in DIRECTIONS:
            raise RecordError("RENDER_VALUE", f"direction must be {INBOUND!r} or {OUTBOUND!r}", field="direction")
        header = dict(data)
        parts: list[str] = []
        blocks: dict[str, Any] = {}
        offset = self.headers[direction].length
        for block in self.blocks:
            value = data.get(block.key)
            items = _as_items(value, block) if value is not None else ()
            n = len(items)
            stated = data.get(block.indicator)
            if stated is not None and stated != n and str(stated) != str(n):
                raise RecordError(
                    "BLOCK_COUNT_MISMATCH",
                    f"{block.indicator} says {shown(stated)} but {n} {block.key} block(s) are given",
                    field=block.indicator,
                )
            header[block.indicator] = n
            if not n:
                blocks[block.key] = [] if block.repeats else None
                continue
            read = []
            fields = self._checked[block.key]
            for i, item in enumerate(items):
                try:
                    text, values = block.layout.render_parsed(item, fields)
                except RecordError as err:
                    raise _shifted(err, block.label(i), offset) from None
                parts.append(text)
                read.append(values)
                offset += block.length
            blocks[block.key] = read if block.repeats else read[0]
        head, checked = self.headers[direction].render_parsed(header, self._checked["header"])
        checked["direction"] = direction
        checked.update(blocks)
        self.check_rules(checked)
        line = (head + "".join(parts) + "\n").encode("ascii")
        if refusal_possible(checked):
            self.canonical(self.decode(line[:-1], direction))
        return line

    def check_canonical(self, data: Mapping[str, Any]) -> InterstateTransaction | None:
        """Raise ``CANONICAL_INVALID`` as ``canonical`` would, building the record only when the model could
        refuse it (``csenet_canonical_check``); returns the record when it had to be built."""
        return self.canonical(data) if refusal_possible(data) else None


def _snapshot(data: Mapping[str, Any]) -> dict[str, Any]:
    """Header and block dicts copied (their values are immutable): the canonical record's own input."""
    out = dict(data)
    for key in INDICATORS:
        value = out.get(key)
        if isinstance(value, list):
            out[key] = [dict(item) for item in value]
        elif value is not None:
            out[key] = dict(value)
    return out


class _Parser:
    """One pass over one file; state lives here so an adapter instance is reusable."""

    def __init__(self, adapter: CsenetAdapter) -> None:
        self.a = adapter
        self.record_no = 0
        self.problems: list[tuple[str, str]] = []
        self.directions: dict[str, int] = {}
        self.serials: dict[tuple[str, int], int] = {}

    def run(self, stream: BinaryIO) -> Iterator[Result]:
        lines = 0
        pending_blank: list[int] = []
        for line_no, content, ended in _lines(stream):
            lines += 1
            if content is not None and (not content or (content[0] in PAD and not content.strip(PAD))):
                pending_blank.append(line_no)  # blank lines matter only when a record follows
                continue
            for blank in pending_blank:
                yield self.reject(blank, RecordError("BLANK_LINE", "blank line between transactions"))
            pending_blank.clear()
            if content is None:
                yield self.reject(
                    line_no,
                    RecordError("RECORD_LENGTH", f"line is longer than {MAX_LINE} bytes; no transaction is that long"),
                )
                continue
            if not ended and self.cut_short(content):
                self.problems.append(("TRUNCATED", f"the file ends inside the transaction on line {line_no}"))
            yield self.record(line_no, content)
        if self.record_no == 0:
            self.problems.append(("EMPTY_FILE", "no transactions" if not lines else "only blank lines"))
        if len(self.directions) > 1:
            first = {d: n for d, n in self.directions.items()}
            self.problems.append(
                (
                    "MIXED_DIRECTION",
                    f"the file mixes inbound and outbound transactions "
                    f"(first inbound on line {first.get(INBOUND)}, outbound on line {first.get(OUTBOUND)})",
                )
            )
        if self.problems:
            raise FileStructureError.from_problems(self.problems)

    def cut_short(self, content: bytes) -> bool:
        """A last line without a line end that is shorter than its indicators announce: a cut file."""
        try:
            counts = _indicator_counts(content)
        except RecordError:
            return True
        sigma = sum(n * b.length for n, b in zip(counts, self.a.blocks, strict=True))
        return len(content) < 121 + sigma

    def reject(self, line_no: int, err: RecordError, rtype: str | None = None) -> Rejected:
        self.record_no += 1
        return Rejected(self.record_no, line_no, err.code, err.message, err.field, err.start, err.end, rtype)

    def record(self, line_no: int, content: bytes) -> Result:
        if _looks_like_error_record(content):
            try:
                data = self.a.error_layout.parse(content.ljust(self.a.error_layout.length))
            except RecordError as err:
                return self.reject(line_no, err, "server_error")
            self.record_no += 1
            return Parsed(self.record_no, "server_error", data, line_no)
        try:
            data = self.a.decode(content)
            canonical = self.a.check_canonical(data)
            self.check_serial(line_no, data)
        except RecordError as err:
            return self.reject(line_no, err, "transaction")
        self.directions.setdefault(data["direction"], line_no)
        self.record_no += 1
        if canonical is not None:
            return Parsed(self.record_no, "transaction", data, line_no, canonical)
        return DeferredParsed(self.record_no, "transaction", data, line_no, self.a.canonical, _snapshot(data))

    def check_serial(self, line_no: int, data: Mapping[str, Any]) -> None:
        """IGD: the serial is unique per sending state; a repeat within one file is a duplicate."""
        sender = data["local_fips_state"] if data["direction"] == OUTBOUND else data["other_fips_state"]
        key = (sender, data["transaction_serial_number"])
        first = self.serials.setdefault(key, line_no)
        if first != line_no:
            raise RecordError(
                "DUPLICATE_SERIAL",
                f"transaction_serial_number repeats the one on line {first} from the same sending state",
                field="transaction_serial_number",
                start=18,
                end=29,
            )


# --------------------------------------------------------------------------- helpers


def _lines(stream: BinaryIO) -> Iterator[tuple[int, bytes | None, bool]]:
    """``(line_no, content without line end or None if over-long, ended_with_newline)``; memory bounded."""
    line_no = 0
    while True:
        raw = stream.readline(MAX_LINE + 2)
        if not raw:
            return
        line_no += 1
        if len(raw) > MAX_LINE and not raw.endswith(b"\n"):
            while (more := stream.readline(MAX_LINE)) and not more.endswith(b"\n"):
                pass
            yield line_no, None, True
            continue
        yield line_no, raw.rstrip(b"\r\n"), raw.endswith(b"\n")


INDICATOR_NAMES = tuple(INDICATORS.values())  # header positions 90-96 in order
SINGLE_INDICATORS = tuple(i for i, key in enumerate(INDICATORS) if key not in REPEATING)
ERROR_BLANKS = (6, 14, 22, 38, 54, 56, 60, 66, 75, 84, 89)  # chart C-12 separators, 0-based


def _looks_like_error_record(line: bytes) -> bool:
    """Chart C-12: a six-digit counter and single blanks between the fields. A transaction can never
    look like this: its positions 15-17 hold the version ``003`` where the error record has a blank."""
    return 90 <= len(line) <= 145 and line[:6].isdigit() and all(line[p] == 32 for p in ERROR_BLANKS)


def _indicator_counts(content: bytes) -> list[int]:
    """Header positions 90-96 as counts; singles must be 0/1 (chart C-3)."""
    if len(content) < 96:
        raise RecordError(
            "TRUNCATED_BLOCK",
            f"the record is {len(content)} bytes and ends inside the transaction header",
            field="transaction header",
            start=len(content) + 1,
            end=96,
        )
    digits = content[89:96]
    if not digits.isdigit():
        i = next(i for i, c in enumerate(digits) if not 48 <= c <= 57)
        name = INDICATOR_NAMES[i]
        raise RecordError(
            "NOT_NUMERIC", f"{name} (position {90 + i}) must be a digit", field=name, start=90 + i, end=90 + i
        )
    counts = [c - 48 for c in digits]
    for i in SINGLE_INDICATORS:
        if counts[i] > 1:
            raise RecordError(
                "INDICATOR_RANGE",
                f"{INDICATOR_NAMES[i]} must be 0 or 1",
                field=INDICATOR_NAMES[i],
                start=90 + i,
                end=90 + i,
            )
    return counts


def _guess_direction(content: bytes, sigma: int) -> str:
    size = len(content)
    if size == 121 + sigma:
        return INBOUND
    if size == 127 + sigma:
        return OUTBOUND
    core = len(content.rstrip(PAD))
    fits = [d for d, h in ((INBOUND, 121), (OUTBOUND, 127)) if core <= h + sigma <= size]
    if len(fits) == 1:
        return fits[0]
    # Padded (fits both) or damaged (fits neither): an outbound tail has blanks at 111-126 and '0' at 127.
    return OUTBOUND if not content[110:126].strip() and content[126:127] == b"0" else INBOUND


def _describe(counts: list[int], blocks: tuple[Block, ...]) -> str:
    named = [f"{n} {b.key}" for n, b in zip(counts, blocks, strict=True) if n]
    return ", ".join(named) if named else "no blocks"


def _shifted(err: RecordError, label: str, offset: int) -> RecordError:
    """A block-level error re-addressed to the transaction: field path and absolute positions."""
    field = f"{label}.{err.field}" if err.field else label
    return RecordError(
        err.code,
        f"{label} (at byte {offset + 1}): {err.message}",
        field=field,
        start=None if err.start is None else offset + err.start,
        end=None if err.end is None else offset + err.end,
    )


def _as_items(value: Any, block: Block) -> list[Mapping[str, Any]]:
    if block.repeats:
        if type(value) is list and len(value) <= 9 and all(type(x) is dict for x in value):
            return value  # what parse and from_canonical give: read only
    elif type(value) is dict:
        return [value]
    items = value if block.repeats else [value]
    if not isinstance(items, list | tuple) or not all(isinstance(x, Mapping) for x in items) or len(items) > 9:
        raise RecordError(
            "RENDER_VALUE",
            f"{block.key} must be {'a list of up to 9 objects' if block.repeats else 'an object or null'}",
            field=block.key,
        )
    return list(items)


def _amount_slices(layout: Layout) -> tuple[tuple[str, int, int], ...]:
    """``(name, first byte, point byte)`` of each signed amount field, 0-based, for variant logging."""
    return tuple(
        (f.name, f.start - 1, f.end - 1 - f.decimals)
        for f in layout.fields
        if f.type == "amount" and f.form == "signed" and f.decimals
    )


def _note_amount_variants(block: Block, content: bytes, offset: int, data: Mapping[str, Any]) -> None:
    """§1.8: log (never silently accept) an amount read in an implied-decimal variant."""
    for name, start, point in block.amounts:
        if content[offset + point] != 46 and content[offset + start] != 32:  # 46 '.', 32 ' '
            log.info(
                "csenet serial %s: %s.%s read in the implied-decimal form",
                data.get("transaction_serial_number"),
                block.key,
                name,
            )
