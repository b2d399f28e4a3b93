"""What the e-IWO and acknowledgment adapters share: the universal envelope (file and batch headers and
trailers around the detail records) and the small path helpers both use to map records to canonical ones.

Spec: OCSE e-IWO Record Layouts, Appendix D, Charts D-1 (header) and D-2 (trailer), shared/specs/
employer-formats.md §1.1-§1.3. Layouts: ``mappings/employer/eiwo/{header,trailer,ack_header,
ack_trailer}.toml``.

IWO (``I``), IWO-result (``S``), acknowledgment (``A``) and acknowledgment-result (``K``) files share one
envelope and differ only in record length (2,406 or 573) and detail code (``DTL`` or ``ACK``), so the
e-IWO and acknowledgment adapters both use this module: ``EnvelopeReader`` runs the record loop and
checks the nesting ``FH? (BH? detail+ BT?)+ FT?``, control numbers and counts; ``EnvelopeWriter`` writes
headers and trailers around rendered detail lines and computes every count itself. ``table_names`` and
``filled`` serve the rule tables in ``mappings/codes/eiwo_*.csv``; ``AddressMap``, ``put``, ``get`` and
``field_for`` move values between a record and dotted canonical paths (``employer.addresses[0]``) and
name the record field a canonical validation error is about. ``Accepts``, ``ModelRules`` and
``AddressMap.refusal_possible`` let both adapters decide cheaply whether the canonical model could refuse
a parsed record, with the model's own types and validators, so the canonical record need not be built
during parse (``adapters.base.DeferredParsed``).

Count rules (DERIVED from Kansas's reader and writer, §1.1): a batch trailer's Record Count is the number
of detail records in its batch, a file trailer's Batch Count the number of batches; the count a level
does not use is written ``00000`` and read without a check, and the two "sent" counts are
informational (meaning UNCONFIRMED), never checked. Control numbers are unique within a file.
"""

from __future__ import annotations

import enum
import itertools
import operator
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any, BinaryIO

from pydantic import BaseModel, TypeAdapter, ValidationError

from adapters.base import Parsed, Rejected, Result
from adapters.canonical import UspsState
from adapters.controls import agree
from adapters.errors import FileStructureError, LayoutError, RecordError
from adapters.layout import Layout, load_code_rows, load_layout
from adapters.records import iter_records

Keys = tuple[str | int, ...]

HEADERS = (b"FH", b"BH")
TRAILERS = (b"FT", b"BT")
MAX_CONTROL = 22  # control number width, header/trailer positions 4-25


@dataclass(frozen=True, slots=True)
class Envelope:
    """What differs between the two kinds of e-IWO file. ``letters[0]`` is the flow written when the
    envelope is generated (``I`` for orders, ``A`` for acknowledgments)."""

    length: int
    letters: str
    detail_code: bytes
    header: Layout
    trailer: Layout

    @classmethod
    def load(cls, length: int, letters: str, detail_code: bytes, prefix: str = "") -> Envelope:
        header, trailer = (load_layout(f"employer/eiwo/{prefix}{kind}.toml") for kind in ("header", "trailer"))
        if header.length != length or trailer.length != length:  # §1: one record length per file
            raise LayoutError(f"e-IWO {prefix}header/{prefix}trailer layouts must be {length} bytes long")
        return cls(length, letters, detail_code, header, trailer)


class _State(enum.Enum):
    NONE = 0
    OPEN = 1
    CLOSED = 2


@dataclass(slots=True)
class Batch:
    """The batch a detail record belongs to, as its header declared it."""

    control_number: str | None
    ein: str | None
    line: int
    count: int = 0


def batch_control_number(file_control: str, seq: int) -> str:
    """A batch's control number derived from its file's: Kansas replaces the file's trailing ``0000``
    sequence with ``0001``, ``0002``... (§1.2 row 2); a number without a 4-digit tail gets one appended."""
    base = file_control[:-4] if file_control[-4:].isdigit() else file_control
    control = f"{base}{seq:04d}"
    if len(control) > MAX_CONTROL:
        raise RecordError(
            "RENDER_VALUE",
            f"control_number: no room for a batch sequence in {MAX_CONTROL} characters",
            field="control_number",
            start=4,
            end=25,
        )
    return control


class EnvelopeReader:
    """One pass over one file: yields every record's result and raises the file's faults at the end."""

    def __init__(self, env: Envelope) -> None:
        self.env = env
        self.problems: list[tuple[str, str]] = []
        self.record_no = 0
        self.records = 0
        self.letter: str | None = None  # flow letter of the file header
        self.file_control: str | None = None
        self.file = _State.NONE
        self.batch: Batch | None = None
        self.batches = 0
        self.controls: set[str] = set()
        self.reported: set[str] = set()

    # ---- bookkeeping
    def problem(self, code: str, message: str) -> None:
        self.problems.append((code, message))

    def once(self, code: str, message: str) -> None:
        """Report a fault that would otherwise repeat on every later record."""
        if code not in self.reported:
            self.reported.add(code)
            self.problem(code, message)

    def next_no(self) -> int:
        self.record_no += 1
        return self.record_no

    def reject(self, line_no: int, err: RecordError, rtype: str | None) -> Rejected:
        return Rejected(self.next_no(), line_no, err.code, err.message, err.field, err.start, err.end, rtype)

    # ---- the loop
    def run(self, stream: BinaryIO, detail: Callable[[int, bytes, Batch], Result]) -> Iterator[Result]:
        """Yield a result per record; detail records go to ``detail`` with the batch they sit in."""
        code = self.env.detail_code
        try:
            for line_no, raw in iter_records(stream, self.env.length):
                self.records += 1
                if raw[:3] == code:  # nearly every record: tested first (no header or trailer starts so)
                    yield detail(line_no, raw, self.enter_detail(line_no))
                    continue
                kind = raw[:2]
                if kind in HEADERS:
                    yield self.header(line_no, raw)
                elif kind in TRAILERS:
                    yield self.trailer(line_no, raw)
                else:
                    yield self.reject(line_no, self.unknown(raw), None)
        except FileStructureError as exc:  # framing damage explains the later faults: report it first
            self.problems.insert(0, (exc.code, exc.message))
        self.finish()

    def unknown(self, raw: bytes) -> RecordError:
        if not raw.strip():
            return RecordError("BLANK_RECORD", "blank line between records", start=1, end=max(len(raw), 1))
        if len(raw) != self.env.length:
            return RecordError(
                "RECORD_LENGTH", f"record is {len(raw)} bytes, expected {self.env.length}", start=1, end=len(raw)
            )
        return RecordError(
            "RECORD_TYPE", "unknown document code in positions 1-3", field="document_code", start=1, end=3
        )

    def flow(self, line_no: int, raw: bytes) -> None:
        letter = chr(raw[2])
        if letter not in self.env.letters:
            self.once(
                "WRONG_FLOW",
                f"line {line_no}: flow letter {letter!r} is not one this format reads ({'/'.join(self.env.letters)})",
            )
        elif self.letter is not None and letter != self.letter:
            self.problem("FLOW_MISMATCH", f"line {line_no}: flow letter differs from the file header's")

    def register(self, line_no: int, control: str) -> None:
        if control in self.controls:  # §1.2 row 2: never reused (CONFIRMED)
            self.problem("CONTROL_NUMBER_REUSED", f"line {line_no}: control number already used in this file")
        self.controls.add(control)

    # ---- headers
    def header(self, line_no: int, raw: bytes) -> Result:
        is_file = raw[:2] == b"FH"
        rtype = "file_header" if is_file else "batch_header"
        data: dict[str, Any] | None = None
        err: RecordError | None = None
        try:
            data = self.env.header.parse(raw)
        except RecordError as exc:
            err = exc
        control = data["control_number"] if data else raw[3:25].decode("ascii", "replace").rstrip()
        self.flow(line_no, raw)
        if is_file:
            self.open_file(line_no, raw, control)
        else:
            self.open_batch(line_no, control, data.get("ein") if data else None)
            if data is not None and data.get("ein") is None:  # §1.2 row 4: R on BH
                err = self.env.header.field_error("ein", "REQUIRED", "a batch header names the employer FEIN")
        if err is not None:
            self.problem(
                "FILE_HEADER_INVALID" if is_file else "BATCH_HEADER_INVALID",
                f"line {line_no}: {rtype} invalid ({err.code})",
            )
            return self.reject(line_no, err, rtype)
        assert data is not None
        return Parsed(self.next_no(), rtype, data, line_no)

    def open_file(self, line_no: int, raw: bytes, control: str) -> None:
        if self.file is not _State.NONE:
            self.problem("DUPLICATE_FILE_HEADER", f"line {line_no}: a second file header")
        elif self.records != 1:
            self.problem("FILE_HEADER_NOT_FIRST", f"line {line_no}: the file header is not the first record")
        self.file, self.file_control = _State.OPEN, control
        self.letter = chr(raw[2])
        self.register(line_no, control)

    def open_batch(self, line_no: int, control: str, ein: str | None) -> None:
        self.need_file(line_no)
        if self.batch is not None:
            self.problem("MISSING_BATCH_TRAILER", f"line {line_no}: batch header before the previous batch's trailer")
        self.batches += 1
        self.batch = Batch(control, ein, line_no)
        self.register(line_no, control)

    def need_file(self, line_no: int) -> None:
        if self.file is _State.NONE:
            self.once("MISSING_FILE_HEADER", "the file does not start with a file header")
        elif self.file is _State.CLOSED:
            self.once("RECORD_AFTER_FILE_TRAILER", f"line {line_no}: record after the file trailer")

    def enter_detail(self, line_no: int) -> Batch:
        """Count a detail record in its batch (rejected ones too: the sender counted them)."""
        if self.file is not _State.OPEN:
            self.need_file(line_no)
        if self.batch is None:
            self.problem("MISSING_BATCH_HEADER", f"line {line_no}: detail record outside a batch")
            self.batch = Batch(None, None, line_no)
        self.batch.count += 1
        return self.batch

    # ---- trailers
    def trailer(self, line_no: int, raw: bytes) -> Result:
        is_file = raw[:2] == b"FT"
        rtype = "file_trailer" if is_file else "batch_trailer"
        self.flow(line_no, raw)
        try:
            data = self.env.trailer.parse(raw)
        except RecordError as err:
            self.problem(
                "FILE_TRAILER_INVALID" if is_file else "BATCH_TRAILER_INVALID",
                f"line {line_no}: {rtype} invalid ({err.code})",
            )
            if is_file:
                self.close_file(line_no, None)
            else:
                self.close_batch(line_no, None)
            return self.reject(line_no, err, rtype)
        if is_file:
            self.close_file(line_no, data)
        else:
            self.close_batch(line_no, data)
        return Parsed(self.next_no(), rtype, data, line_no)

    def close_batch(self, line_no: int, data: Mapping[str, Any] | None) -> None:
        b, self.batch = self.batch, None
        if b is None:
            self.problem("MISSING_BATCH_HEADER", f"line {line_no}: batch trailer without a batch header")
            return
        if b.count == 0:  # §1.1: a batch with no detail records is an error
            self.problem("EMPTY_BATCH", f"line {line_no}: batch has no detail records")
        if data is None:
            return
        if b.control_number is not None and data["control_number"] != b.control_number:
            self.problem(
                "CONTROL_NUMBER_MISMATCH",
                f"line {line_no}: batch trailer control number differs from its header's (line {b.line})",
            )
        if data["record_count"] != b.count:
            self.problem(
                "BATCH_RECORD_COUNT",
                f"line {line_no}: batch trailer record count is {data['record_count']}, the batch holds {b.count}",
            )

    def close_file(self, line_no: int, data: Mapping[str, Any] | None) -> None:
        if self.batch is not None:
            self.problem("MISSING_BATCH_TRAILER", f"line {line_no}: file trailer while a batch is open")
            self.batch = None
        if self.file is _State.NONE:
            self.once("MISSING_FILE_HEADER", "the file does not start with a file header")
        elif self.file is _State.CLOSED:
            self.problem("DUPLICATE_FILE_TRAILER", f"line {line_no}: a second file trailer")
        self.file = _State.CLOSED
        if data is None:
            return
        if self.file_control is not None and data["control_number"] != self.file_control:
            self.problem(
                "CONTROL_NUMBER_MISMATCH", f"line {line_no}: file trailer control number differs from the file header's"
            )
        if data["batch_count"] != self.batches:
            self.problem(
                "FILE_BATCH_COUNT",
                f"line {line_no}: file trailer batch count is {data['batch_count']}, the file holds {self.batches}",
            )

    def finish(self) -> None:
        if self.records == 0:
            self.problem("EMPTY_FILE", "no records")
        else:
            if self.batch is not None:
                self.problem("MISSING_BATCH_TRAILER", "the file ends inside a batch")
            if self.file is not _State.CLOSED:
                self.problem("MISSING_FILE_TRAILER", "the file has no file trailer")
        if self.problems:
            raise FileStructureError.from_problems(self.problems)


class EnvelopeWriter:
    """Writes headers and trailers around rendered detail lines, counting as it goes.

    Given envelope records are written as given, with their counts checked against the records actually
    written (a supplied count that disagrees is refused, never written). Canonical records rendered
    outside any batch wait, grouped by employer FEIN, and are written at the end as one batch per FEIN
    under generated batch headers (§1.1: one batch per employer EIN). Waiting lines are held in memory.
    """

    def __init__(self, env: Envelope) -> None:
        self.env = env
        self.file: dict[str, Any] | None = None
        self.file_closed = False
        self.batch: dict[str, Any] | None = None
        self.count = 0
        self.batches = 0
        self.waiting: dict[str, list[bytes]] = {}

    def line(self, layout: Layout, data: Mapping[str, Any]) -> bytes:
        return (layout.render(data) + "\n").encode("ascii")

    @property
    def letter(self) -> str:
        code = str((self.file or {}).get("document_code") or "")
        return code[2:3] or self.env.letters[0]

    def envelope(self, rtype: str, data: Mapping[str, Any]) -> Iterator[bytes]:
        """Write one given envelope record (``file_header``, ``batch_header``, ``*_trailer``)."""
        if rtype == "file_header":
            yield self.file_header(data)
        elif rtype == "batch_header":
            yield from self.flush()
            yield from self.close_batch({})
            yield self.batch_header(data)
        elif rtype == "batch_trailer":
            if self.batch is None:
                raise RecordError("RENDER_ORDER", "batch trailer without a batch header")
            yield from self.close_batch(data)
        else:
            yield from self.close_file(data)

    def file_header(self, data: Mapping[str, Any]) -> bytes:
        if self.file is not None:
            raise RecordError("RENDER_ORDER", "a second file header")
        self.file = {"document_code": f"FH{self.env.letters[0]}", **_present(data)}
        return self.line(self.env.header, self.file)

    def batch_header(self, data: Mapping[str, Any]) -> bytes:
        if self.file is None or self.file_closed:
            raise RecordError("RENDER_ORDER", "batch header outside a file (no file header, or after the trailer)")
        self.batch = {"document_code": f"BH{self.letter}", **_present(data)}
        self.batches += 1
        self.count = 0
        return self.line(self.env.header, self.batch)

    def detail(self, line: bytes, fein: str | None = None) -> bytes:
        """A detail line inside the open batch; ``fein`` must be the batch's (§1.1: one batch per EIN)."""
        if self.batch is None:
            raise RecordError("RENDER_ORDER", "detail record outside a batch: give a batch_header first")
        if fein is not None and self.batch.get("ein") not in (None, fein):
            raise RecordError(
                "FEIN_NOT_BATCH_EIN",
                "the record's employer FEIN differs from its batch header's EIN",
                field="employer_fein",
            )
        self.count += 1
        return line

    def canonical(self, line: bytes, fein: str) -> Iterator[bytes]:
        """A detail rendered from a canonical record: into the open batch, else held for its FEIN's batch."""
        if self.batch is None:
            self.waiting.setdefault(fein, []).append(line)
            return
        yield self.detail(line, fein)

    def close_batch(self, given: Mapping[str, Any]) -> Iterator[bytes]:
        b, self.batch = self.batch, None
        if b is None:
            return
        computed = {"control_number": b["control_number"], "record_count": self.count}
        agree(given, computed, "batch_trailer")
        yield self.line(
            self.env.trailer, {"batch_count": 0, **_present(given), **computed, "document_code": f"BT{self.letter}"}
        )

    def flush(self) -> Iterator[bytes]:
        """Write the waiting canonical records, one generated batch per employer FEIN."""
        if not self.waiting:
            return
        if self.file is None:
            raise RecordError("RENDER_ORDER", "records need a file_header first")
        waiting, self.waiting = self.waiting, {}
        yield from self.close_batch({})
        f = self.file
        for fein, lines in waiting.items():
            yield self.batch_header(
                {
                    "control_number": batch_control_number(str(f["control_number"]), self.batches + 1),
                    "state_fips": f.get("state_fips"),
                    "ein": fein,
                    "primary_ein": f.get("primary_ein"),
                    "creation_date": f.get("creation_date"),
                    "creation_time": f.get("creation_time"),
                }
            )
            self.count = len(lines)
            yield from lines
            yield from self.close_batch({})

    def close_file(self, given: Mapping[str, Any]) -> Iterator[bytes]:
        if self.file is None or self.file_closed:
            raise RecordError("RENDER_ORDER", "file trailer without an open file")
        yield from self.flush()
        yield from self.close_batch({})
        computed = {"control_number": self.file["control_number"], "batch_count": self.batches}
        agree(given, computed, "file_trailer")
        self.file_closed = True
        yield self.line(
            self.env.trailer, {"record_count": 0, **_present(given), **computed, "document_code": f"FT{self.letter}"}
        )

    def finish(self, default_header: Callable[[], Mapping[str, Any]]) -> Iterator[bytes]:
        """Close whatever is open; a file of canonical records alone gets ``default_header()``."""
        if self.file is None:
            if not self.waiting:
                return
            yield self.file_header(default_header())
        if not self.file_closed:
            yield from self.close_file({})


def _present(data: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if v is not None}


# --------------------------------------------------------------------------- rules as data


def table_names(table: str, code: str, column: str, known: Iterable[str]) -> tuple[str, ...]:
    """The names a code-table row lists (space-separated) in ``column``, each checked against ``known``,
    so a typo in a rule table fails when the adapter loads rather than on the first record."""
    names = tuple(load_code_rows(table)[code][column].split())
    unknown = sorted(set(names) - set(known))
    if unknown:
        raise LayoutError(f"code table {table!r} row {code}: {column} names unknown {unknown}")
    return names


def filled(value: Any) -> bool:
    """Present, for a rule between fields: not blank, and not zero for an amount (Kansas writes unused
    amounts as zeros and employers may write unused dates as zeros, which parse as None).

    For values as parse gives them this is their truth value (blank is None, text is never empty, an
    amount is false exactly when zero), so a rule about many fields at once can ask ``any`` in C."""
    return value is not None and value != 0


# --------------------------------------------------------------------------- canonical paths


def path_keys(path: str) -> Keys:
    """``"employer.addresses[0]"`` → ``("employer", "addresses", 0)``."""
    return tuple(int(p[1:-1]) if p.startswith("[") else p for p in path.replace("[", ".[").split("."))


def put(root: dict[str, Any], keys: Keys, value: Any) -> None:
    """Set a nested value, creating dicts on the way; a path ending in ``[0]`` makes a one-item list."""
    node: Any = root
    for key, nxt in itertools.pairwise(keys):
        node = node.setdefault(key, [] if isinstance(nxt, int) else {})
    if isinstance(node, list):
        node.append(value)
    else:
        node[keys[-1]] = value


def get(obj: Any, keys: Keys) -> Any:
    """The value at ``keys`` inside a canonical model; None when any step is missing."""
    for key in keys:
        if obj is None:
            return None
        obj = (obj[key] if len(obj) > key else None) if isinstance(key, int) else getattr(obj, key)
    return obj


def loc_key(keys: Iterable[str | int]) -> tuple[str, ...]:
    """A canonical path without list positions: how validation-error locations are looked up."""
    return tuple(str(k) for k in keys if not isinstance(k, int))


ERROR_CODES = {"fein": "FEIN_INVALID", "ssn": "SSN_INVALID", "state": "STATE_CODE", "email": "EMAIL_FORMAT"}


def field_for(loc: tuple[str | int, ...], fields: Mapping[tuple[str, ...], str]) -> str | None:
    """The record field a validation error location points at: the exact path, else (for a model-level
    error such as "an address needs a line") the first field inside that model."""
    key = loc_key(loc)
    return fields.get(key) or next((n for k, n in fields.items() if k[: len(key)] == key), None)


def canonical_error(layout: Layout, first: Mapping[str, Any], name: str | None) -> RecordError:
    """A canonical check's failure (one pydantic error dict) as a ``RecordError`` on ``name``; pydantic
    messages of canonical models never echo the input (``hide_input_in_errors``)."""
    loc = tuple(first["loc"])
    code = ERROR_CODES.get(str(loc[-1]).rsplit("_", 1)[-1] if loc else "", "VALUE_INVALID")  # corrected_fein → fein
    why = str(first["msg"]).removeprefix("Value error, ")
    if name is None:
        return RecordError(code, f"{'.'.join(map(str, loc)) or 'record'}: {why}")
    return layout.field_error(name, code, why)


ZERO = Decimal("0.00")  # an unused amount (written as zeros); with the fields' two places it renders from its digits

# --------------------------------------------------------------------------- could the model refuse it?

CACHE_LIMIT = 10_000  # distinct values remembered per check; later ones are judged each time


class Accepts(dict[Any, bool]):
    """``accepts[value]``: whether a canonical type accepts a value, judged once per distinct value (a dict
    lookup after that: FEINs, states and e-mail addresses repeat from record to record). The type in
    ``adapters/canonical.py`` stays the one rule."""

    __slots__ = ("check",)

    def __init__(self, annotation: Any) -> None:
        super().__init__()
        self.check: TypeAdapter[Any] = TypeAdapter(annotation)

    def __missing__(self, value: Any) -> bool:
        try:
            self.check.validate_python(value)
            ok = True
        except ValidationError:
            ok = False
        if len(self) < CACHE_LIMIT:
            self[value] = ok
        return ok


class ModelRules(dict[tuple[Any, ...], bool]):
    """``rules[codes..., given...]``: whether a canonical model's rules between its fields (its
    ``model_validator(mode="after")`` methods) accept a record, judged once per distinct key, so those
    rules stay written once, in ``adapters/canonical.py``.

    The rules of ``IncomeWithholdingOrder`` and ``EmployerAck`` read codes (action, disposition, reason)
    and whether a field is given (a LUM order needs a lump sum, reason W a corrected FEIN), never what a
    given value says (its own type checks that). So the key is the values of the ``codes`` fields, then
    for each ``given`` field whether the canonical record holds it. The verdict is the model's validators
    run on a record built without validation (``model_construct``): codes read by the model's own field
    types, ``True`` standing in for each given value. A code those types refuse gives False, as does a
    rule that fails. The proof tests (test_eiwo_canonical_check.py) hold the rules to reading no more.
    """

    __slots__ = ("codes", "given", "model", "rules", "types")

    def __init__(self, model: type[BaseModel], codes: tuple[str, ...], given: tuple[str, ...]) -> None:
        super().__init__()
        self.model, self.codes, self.given = model, codes, given
        self.types = tuple(TypeAdapter(_annotation(model, name)) for name in codes)
        validators = model.__pydantic_decorators__.model_validators
        self.rules = tuple(name for name, v in validators.items() if v.info.mode == "after")

    def __missing__(self, key: tuple[Any, ...]) -> bool:
        ok = self._judge(key)
        if len(self) < CACHE_LIMIT:
            self[key] = ok
        return ok

    def _judge(self, key: tuple[Any, ...]) -> bool:
        n = len(self.codes)
        try:
            fields = {name: t.validate_python(v) for name, t, v in zip(self.codes, self.types, key, strict=False)}
            fields |= {name: True if given else None for name, given in zip(self.given, key[n:], strict=True)}
            record = self.model.model_construct(**fields)
            for rule in self.rules:
                getattr(record, rule)()
        except ValueError:  # pydantic's ValidationError is one
            return False
        return True


def _annotation(model: type[BaseModel], name: str) -> Any:
    info = model.model_fields[name]
    return Annotated[(info.annotation, *info.metadata)] if info.metadata else info.annotation


STATE = Accepts(UspsState | None)


# --------------------------------------------------------------------------- addresses
# e-IWO records spell every address the same way (DTL 9-14, 55-60, 75-80; ACK 16-21, 25-30):
# ``<prefix>address_line1``, ``address_line2``, ``city``, ``state``, ``zip``, ``zip4``.

ADDRESS_PARTS = (
    ("line1", "address_line1"),
    ("line2", "address_line2"),
    ("city", "city"),
    ("state", "state"),
    ("zip5", "zip"),
    ("zip4", "zip4"),
)
_NO_ADDRESS = (None,) * len(ADDRESS_PARTS)


@dataclass(frozen=True, slots=True)
class AddressMap:
    """One canonical ``Address`` (at ``keys``, of ``kind``) ⇄ the record fields named ``parts``."""

    keys: Keys
    kind: str
    parts: tuple[tuple[str, str], ...]
    values: Callable[[Mapping[str, Any]], tuple[Any, ...]]  # the record's values of ``parts``, in order

    @classmethod
    def of(cls, path: str, prefix: str, kind: str) -> AddressMap:
        parts = tuple((part, prefix + suffix) for part, suffix in ADDRESS_PARTS)
        return cls(path_keys(path), kind, parts, operator.itemgetter(*(name for _, name in parts)))

    def to_canonical(self, out: dict[str, Any], d: Mapping[str, Any], **extra: Any) -> None:
        """Put the address into ``out`` when any of its fields is filled."""
        address = {part: d.get(name) for part, name in self.parts}
        if any(v is not None for v in address.values()):
            put(out, self.keys, {"address_type": self.kind, **extra, **address})

    def given(self, d: Mapping[str, Any]) -> bool:
        """Whether the parsed record ``d`` (every field present) holds this address."""
        return self.values(d) != _NO_ADDRESS

    def refusal_possible(self, d: Mapping[str, Any]) -> bool:
        """Whether ``Address`` could refuse what ``to_canonical`` makes of the parsed record ``d``: a state
        that is not a USPS code, or a state or ZIP+4 alone (an address needs a line, a city or a ZIP code).
        Every other part is text or digits of the width the model wants, by the layout."""
        line1, line2, city, state, zip5, zip4 = self.values(d)
        if not STATE[state]:
            return True
        return (
            line1 is None
            and line2 is None
            and city is None
            and zip5 is None
            and (state is not None or zip4 is not None)
        )

    def to_record(self, obj: Any, d: dict[str, Any]) -> None:
        """Set the record fields from the canonical record ``obj`` (blank when it has no such address)."""
        address = get(obj, self.keys)
        for part, name in self.parts:
            d[name] = None if address is None else getattr(address, part)

    def locations(self) -> dict[tuple[str, ...], str]:
        """Validation-error locations of the address's fields → record field names."""
        return {(*loc_key(self.keys), part): name for part, name in self.parts}
