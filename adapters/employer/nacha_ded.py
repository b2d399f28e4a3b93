"""NACHA ACH files (any SEC code), with the child support application: CCD+ entries whose addenda
carry a ``DED`` segment become canonical ``Payment`` records.

Spec: NACHA Operating Rules Appendix Three record formats as implemented by moov-io/ach (commit
c6bd2372), and the Child Support Application Banking Convention (NACHA *User Guide for Electronic
Child Support Payments*, v9.0, 2017) — shared/specs/employer-formats.md §2. Layouts:
``mappings/employer/nacha/*.toml``.

Logical records: ``file_header``, ``batch_header``, ``entry`` (the entry detail with its addenda
under ``addenda``; a DED entry also carries the parsed segment under ``ded``), ``batch_control``,
``file_control``. Block-padding records (all ``9``) are framing, not records.

Record-level faults (bad field, check digit, trace order, addenda sequence, DED syntax, DED amount not
equal to the entry amount) reject that entry and parsing goes on. File-level faults (missing header
or controls, wrong counts, hashes, totals or block count, truncation, non-ASCII bytes) are collected
and raised together as one ``FileStructureError`` after the last record.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from typing import TYPE_CHECKING, Any, BinaryIO, ClassVar

from pydantic import ValidationError

from adapters.base import Direction, Parsed, Rejected, Result, SourceInfo
from adapters.controls import agree
from adapters.employer.ded import DED_TAG, DedOptions, ncp_name_element, parse_ded, render_ded
from adapters.employer.ded import ELEMENTS as DED_ELEMENTS
from adapters.errors import FileStructureError, RecordError
from adapters.layout import Layout, load_layout
from adapters.records import iter_records

if TYPE_CHECKING:
    from adapters.canonical import Payment

RECORD_LENGTH = 94
# Batch control positions 5-10 count entries and addenda in 6 digits: a CCD+ entry and its addenda
# are two records, so a batch built from payments holds at most this many entries.
MAX_BATCH_ENTRIES = 499_999
BLOCKING_FACTOR = 10
PADDING = b"9" * RECORD_LENGTH
DEBIT_CODES = frozenset(
    {"26", "27", "28", "29", "36", "37", "38", "39", "46", "47", "48", "49", "55", "56", "82", "84", "86", "88"}
)  # the last four are ADV debits
DED_CREDIT_CODES = frozenset({"22", "23", "24", "32", "33", "34", "42", "43", "44", "52", "53", "54"})
ABA_WEIGHTS = (3, 7, 1, 3, 7, 1, 3, 7)

# Per-entry errors that carry no values: made once, raised for every entry they describe.
CHECK_DIGIT_ERROR = RecordError(
    "CHECK_DIGIT",
    "check_digit (position 12): does not match the RDFI routing number",
    field="check_digit",
    start=12,
    end=12,
)
TRACE_SEQUENCE_ERROR = RecordError(
    "TRACE_SEQUENCE",
    "trace_number (positions 80-94): not ascending within the batch",
    field="trace_number",
    start=80,
    end=94,
)
ADDENDA_UNEXPECTED_ERROR = RecordError(
    "ADDENDA_UNEXPECTED",
    "addenda follows an entry whose addenda indicator is 0",
    field="addenda_record_indicator",
    start=79,
    end=79,
)
ADDENDA_TRACE_ERROR = RecordError(
    "ADDENDA_SEQUENCE",
    "entry_detail_sequence_number (positions 88-94): not the entry's trace sequence",
    field="entry_detail_sequence_number",
    start=88,
    end=94,
)
ADDENDA_ORDER_ERROR = RecordError(
    "ADDENDA_SEQUENCE",
    "addenda_sequence_number (positions 84-87): out of order",
    field="addenda_sequence_number",
    start=84,
    end=87,
)
ADDENDA_MISSING_ERROR = RecordError(
    "ADDENDA_MISSING",
    "addenda indicator is 1 but no addenda follows",
    field="addenda_record_indicator",
    start=79,
    end=79,
)


def _layouts() -> dict[str, Layout]:
    names = (
        "file_header",
        "batch_header",
        "iat_batch_header",
        "entry_detail",
        "iat_entry_detail",
        "adv_entry_detail",
        "addenda",
        "iat_addenda",
        "addenda_return",
        "addenda_noc",
        "batch_control",
        "adv_batch_control",
        "file_control",
        "adv_file_control",
    )
    return {n: load_layout(f"employer/nacha/{n}.toml") for n in names}


ENTRY_LAYOUT = {"IAT": "iat_entry_detail", "ADV": "adv_entry_detail"}


IAT_ADDENDA = ("10", "11", "12", "13", "14", "15", "16")


def addenda_layout(type_code: str) -> str:
    """Which addenda layout a type code uses: returns (99), NOCs (98), IAT 10-16, else the 05 frame."""
    if type_code == "99":
        return "addenda_return"
    if type_code == "98":
        return "addenda_noc"
    if type_code in IAT_ADDENDA:
        return "iat_addenda"
    return "addenda"


@cache
def _payment_model() -> type[Payment]:
    """The canonical ``Payment``, imported with the first DED entry parsed.

    Defining the canonical (pydantic) models costs tens of milliseconds, a large share of a
    ``csgate parse`` start, and an ACH file without DED addenda never builds a payment.
    """
    from adapters.canonical import Payment

    return Payment


_TOTALLED = frozenset({"amount", "rdfi_identification", "transaction_code"})  # what an entry adds to its batch


def aba_check_digit(first8: str) -> int:
    """ABA routing check digit (weights 3-7-1) of the first eight digits."""
    return (10 - sum(int(c) * w for c, w in zip(first8, ABA_WEIGHTS, strict=True)) % 10) % 10


# nine-digit routing number → (its entry-hash addend, check digit right); the parser looks here first
_ROUTINGS: dict[bytes, tuple[int, bool]] = {}


def routing_info(routing: bytes) -> tuple[int, bool]:
    """A nine-digit routing number's entry-hash addend (its first eight digits as a number) and whether
    its last digit is its check digit. Cached: a file pays few distinct banks (child support payments
    all go to one disbursement unit), and reading the number costs a large share of an entry."""
    first8 = routing[:8]
    info = int(first8), aba_check_digit(first8.decode("ascii")) == routing[8] - 48
    if len(_ROUTINGS) < 50_000:
        _ROUTINGS[routing] = info
    return info


@dataclass(slots=True)
class _Batch:
    header: dict[str, Any]
    sec: str
    entry_layout: Layout
    count: int = 0
    hash: int = 0
    debit: int = 0
    credit: int = 0
    last_trace: str = ""
    # the SEC codes whose entries carry at most one addenda (checked per addenda)
    one_addenda: bool = field(init=False)
    adv: bool = field(init=False)

    def __post_init__(self) -> None:
        self.one_addenda = self.sec in ("CCD", "PPD", "WEB", "TEL")
        self.adv = self.sec == "ADV"


class _Entry:
    """The entry waiting for its addenda; ``data`` is None while none is. One per parser, refilled for
    each entry: filling its slots costs a fraction of making an object per entry of the file."""

    __slots__ = ("addenda", "data", "error", "error_line", "line")

    def __init__(self) -> None:
        self.line = 0
        self.data: dict[str, Any] | None = None  # {} for an entry whose record was rejected
        self.error: RecordError | None = None
        self.error_line = 0
        self.addenda: list[dict[str, Any]] = []


class NachaDedAdapter:
    """NACHA files of any SEC code; CCD+ with ``DED`` addenda → canonical ``Payment``."""

    key: ClassVar[str] = "nacha-ded"
    title: ClassVar[str] = "NACHA ACH file (CCD+/CTX child support payments with DED addenda; any SEC code)"
    direction: ClassVar[Direction] = Direction.BOTH
    source: ClassVar[SourceInfo] = SourceInfo(
        document="NACHA Operating Rules App. 3 (via moov-io/ach c6bd2372); "
        "Child Support Application Banking Convention",
        version="NACHA 2024 / CSABC user guide v9.0 (2017)",
        status="confirmed",
        notes="DED04 zero-padding and CTX dates are per-SDU options (DedOptions)",
    )

    def __init__(self, ded_options: DedOptions | None = None) -> None:
        self.layouts = _layouts()
        self.ded_options = ded_options or DedOptions()
        # nearly every entry of a CCD+ or PPD file is a standard entry directly followed by one addenda
        self.read_pair = self.layouts["entry_detail"].pair_reader(self.layouts["addenda"], nest="addenda")

    # ------------------------------------------------------------------ detect
    def detect(self, head: bytes) -> bool:
        """A NACHA file starts with a file header: ``101``, a 10-character destination, record size 094."""
        return len(head) >= 40 and head[:3] == b"101" and head[34:40] == b"094101"

    # ------------------------------------------------------------------ parse
    def parse(self, stream: BinaryIO) -> Iterator[Result]:
        return _Parser(self).run(stream)

    # ------------------------------------------------------------------ render
    def render(self, records: Iterable[Mapping[str, Any]]) -> Iterator[bytes]:
        return _Renderer(self).run(records)


class _Parser:
    """One pass over one file. State lives here, not on the adapter, so an adapter is reusable."""

    def __init__(self, adapter: NachaDedAdapter) -> None:
        self.a = adapter
        self.lay = adapter.layouts
        self.problems: list[tuple[str, str]] = []
        self.record_no = 0
        # Records counted for the block count are the records read less the block padding: counting the
        # padding instead keeps a counter out of the loop over entries and addenda.
        self.padding = 0
        self.batch: _Batch | None = None
        self.entry = _Entry()
        self.file_header_seen = False
        self.file_control_seen = False
        self.batches = 0
        self.file_count = self.file_hash = self.file_debit = self.file_credit = 0
        self.non_ascii_line = 0
        self.last_sec = ""
        default = self.lay["addenda"]
        self.addenda_layouts = {code.encode(): self.lay[addenda_layout(code)] for code in ("98", "99", *IAT_ADDENDA)}
        self.default_addenda = default
        self.standard_entry = self.lay["entry_detail"]
        self.read_pair = adapter.read_pair

    def problem(self, code: str, message: str) -> None:
        self.problems.append((code, message))

    def physical(self, line_no: int) -> int:
        """Records up to and including ``line_no`` that count toward the block count: all but the padding."""
        return line_no - self.padding

    def next_no(self) -> int:
        self.record_no += 1
        return self.record_no

    def run(self, stream: BinaryIO) -> Iterator[Result]:
        # the hot loop: entries and addenda are nearly every record, so they skip the general dispatch
        addenda, start_entry, flush, record = self.addenda, self.start_entry, self.flush_entry, self.record
        entry = self.entry
        line_no = 0
        held: bytes | None = None  # an entry's record, read when the next record shows whether an addenda follows
        held_line = 0
        try:
            for line_no, raw in iter_records(stream, RECORD_LENGTH):
                kind = raw[:1]
                if kind == b"7":  # addenda join their entry; the entry is yielded when it is complete
                    if held is not None:
                        start_entry(held_line, held, line_no, raw)
                        held = None
                    else:
                        addenda(line_no, raw)
                    continue
                if held is not None:
                    start_entry(held_line, held)
                    held = None
                if entry.data is not None:
                    yield flush()
                if kind == b"6" and not self.file_control_seen:
                    held, held_line = raw, line_no
                elif (result := record(line_no, raw)) is not None:
                    yield result
        except FileStructureError as exc:  # framing damage explains every later fault: report it first
            self.problems.insert(0, (exc.code, exc.message))
        if held is not None:
            start_entry(held_line, held)
        if entry.data is not None:
            yield flush()
        self.finish(line_no)
        if self.problems:
            raise FileStructureError.from_problems(self.problems)

    def reject(self, line: int, err: RecordError, rtype: str | None) -> Rejected:
        return Rejected(self.next_no(), line, err.code, err.message, err.field, err.start, err.end, rtype)

    def parse_with(self, layout: Layout, line_no: int, raw: bytes) -> dict[str, Any]:
        try:
            return layout.parse(raw)
        except RecordError as err:
            self.note(err, line_no)
            raise

    def note(self, err: RecordError, line_no: int) -> None:
        """Non-ASCII bytes are also file-level damage: report the first occurrence once."""
        if err.code == "NON_ASCII" and not self.non_ascii_line:
            self.non_ascii_line = line_no
            self.problem("NON_ASCII", f"line {line_no} holds bytes outside 7-bit ASCII")

    # one physical record
    def record(self, line_no: int, raw: bytes) -> Result | None:
        """One physical record other than an addenda; the result to yield, if any."""
        kind = raw[:1]
        if raw == PADDING:
            self.padding += 1
            return None
        if self.file_control_seen:
            self.problem("RECORD_AFTER_FILE_CONTROL", f"line {line_no}: record after the file control")
        if kind == b"6":  # an entry after the file control
            self.start_entry(line_no, raw)
            return None
        if kind == b"5":
            return self.batch_header(line_no, raw)
        if kind == b"8":
            return self.batch_control(line_no, raw)
        if kind == b"1":
            return self.file_header(line_no, raw)
        if kind == b"9":
            return self.file_control(line_no, raw)
        err = RecordError(
            "RECORD_TYPE",
            f"unknown record type code in position 1 (line {line_no})",
            field="record_type",
            start=1,
            end=1,
        )
        if len(raw) != RECORD_LENGTH:
            err = RecordError(
                "RECORD_LENGTH", f"record is {len(raw)} bytes, expected {RECORD_LENGTH}", start=1, end=len(raw)
            )
        return self.reject(line_no, err, None)

    def file_header(self, line_no: int, raw: bytes) -> Result:
        if self.file_header_seen:
            self.problem("DUPLICATE_FILE_HEADER", f"line {line_no}: a second file header")
        elif self.physical(line_no) != 1:
            self.problem("FILE_HEADER_NOT_FIRST", f"line {line_no}: file header is not the first record")
        self.file_header_seen = True
        try:
            return Parsed(
                self.next_no(), "file_header", self.parse_with(self.lay["file_header"], line_no, raw), line_no
            )
        except RecordError as err:
            self.problem("FILE_HEADER_INVALID", f"line {line_no}: file header invalid ({err.code})")
            return self.reject(line_no, err, "file_header")

    def batch_header(self, line_no: int, raw: bytes) -> Result:
        if not self.file_header_seen and self.physical(line_no) == 1:
            self.problem("MISSING_FILE_HEADER", "file does not start with a file header record")
            self.file_header_seen = True  # report once
        if self.batch is not None:
            self.problem("MISSING_BATCH_CONTROL", f"line {line_no}: batch header before the previous batch's control")
            self.close_batch_totals(self.batch)
        self.batches += 1
        layout = self.lay["iat_batch_header"] if raw[50:53] == b"IAT" else self.lay["batch_header"]
        try:
            data = self.parse_with(layout, line_no, raw)
        except RecordError as err:
            sec = raw[50:53].decode("ascii", "replace")
            self.batch = _Batch({}, sec, self.entry_layout(sec))
            return self.reject(line_no, err, "batch_header")
        sec = data.get("standard_entry_class") or "IAT"
        self.batch = _Batch(data, sec, self.entry_layout(sec))
        self.last_sec = sec
        return Parsed(self.next_no(), "batch_header", data, line_no)

    def entry_layout(self, sec: str) -> Layout:
        return self.lay[ENTRY_LAYOUT.get(sec, "entry_detail")]

    def start_entry(self, line_no: int, raw: bytes, addenda_line: int = 0, addenda_raw: bytes | None = None) -> None:
        """An entry record, with the addenda record that directly follows it when there is one.

        A standard entry and a standard-frame addenda are read together (``Layout.pair_reader``, the entry
        holding the addenda) and joined here; when that reader declines, each is parsed alone, so a faulty
        record gets its own error, and the addenda joins through ``addenda``."""
        b = self.batch
        if b is None:
            self.problem("MISSING_BATCH_HEADER", f"line {line_no}: entry outside a batch")
            b = self.batch = _Batch({}, "", self.entry_layout(""))
            self.batches += 1
        entry = self.entry
        entry.line = line_no
        entry.error = None
        pair = (
            self.read_pair(raw, addenda_raw)
            if addenda_raw is not None
            and b.entry_layout is self.standard_entry
            and addenda_raw[1:3] not in self.addenda_layouts
            else None
        )
        try:
            if pair is None:
                b.count += 1
                entry.addenda = []
                d = entry.data = b.entry_layout.parse(raw)
            else:  # the addenda joins its entry below, as ``addenda`` would join it
                b.count += 2
                d = entry.data = pair[0]
                entry.addenda = d["addenda"]
        except RecordError as err:
            self.note(err, line_no)
            entry.data = {}
            entry.error, entry.error_line = err, line_no
            self.raw_totals(b, raw)
        else:  # positions are valid here: amounts and routing numbers are digits
            if d["transaction_code"] in DEBIT_CODES:
                b.debit += int(raw[27:39] if b.adv else raw[29:39])
            else:
                b.credit += int(raw[27:39] if b.adv else raw[29:39])
            addend, check_digit_ok = _ROUTINGS.get(routing := raw[3:12]) or routing_info(routing)
            b.hash += addend
            if not check_digit_ok:
                entry.error, entry.error_line = CHECK_DIGIT_ERROR, line_no
            elif (trace := d["trace_number"] if not b.adv else f"{d['sequence_number']:015d}") <= b.last_trace:
                entry.error, entry.error_line = TRACE_SEQUENCE_ERROR, line_no
            else:
                b.last_trace = trace
        if pair is not None:  # the usual first addenda, in order, passes addenda_error without the call
            ad = pair[1]
            if entry.error is None and not (
                ad["addenda_sequence_number"] == 1
                and d["addenda_record_indicator"] == "1"
                and ad["entry_detail_sequence_number"] == d["trace_number"][-7:]
            ):
                fault = self.addenda_error(d, entry.addenda, ad, b)
                if fault is not None:
                    entry.error, entry.error_line = fault, addenda_line
        elif addenda_raw is not None:
            self.addenda(addenda_line, addenda_raw)

    @staticmethod
    def raw_totals(b: _Batch, raw: bytes) -> None:
        """A rejected entry still counts toward the controls, exactly as the originator computed them."""
        rdfi, amount = raw[3:11], raw[27:39] if b.sec == "ADV" else raw[29:39]
        if rdfi.isdigit():
            b.hash += int(rdfi)
        if amount.isdigit():
            if raw[1:3].decode("ascii", "replace") in DEBIT_CODES:
                b.debit += int(amount)
            else:
                b.credit += int(amount)

    def addenda(self, line_no: int, raw: bytes) -> None:
        """An addenda record not read with its entry (``start_entry`` joins those) joins the pending entry."""
        entry, b = self.entry, self.batch
        if b is not None:
            b.count += 1
        if entry.data is None:
            self.problem("ORPHAN_ADDENDA", f"line {line_no}: addenda record without an entry")
            return
        try:
            data = self.addenda_layouts.get(raw[1:3], self.default_addenda).parse(raw)
        except RecordError as err:
            self.note(err, line_no)
            if entry.error is None:
                entry.error, entry.error_line = err, line_no
            return
        addenda = entry.addenda
        addenda.append(data)
        ed = entry.data
        if entry.error is not None or not ed:
            return
        fault = self.addenda_error(ed, addenda, data, b)
        if fault is not None:
            entry.error, entry.error_line = fault, line_no

    @staticmethod
    def addenda_error(
        entry: dict[str, Any], addenda: list[dict[str, Any]], data: dict[str, Any], b: _Batch | None
    ) -> RecordError | None:
        """What is wrong with an addenda (``data``, the last of ``addenda``) given its entry, if anything."""
        if entry["addenda_record_indicator"] == "0":
            return ADDENDA_UNEXPECTED_ERROR
        seq = data.get("entry_detail_sequence_number")
        if seq is not None and seq != entry.get("trace_number", "")[-7:]:
            return ADDENDA_TRACE_ERROR
        if b is not None and b.one_addenda and len(addenda) > 1:
            return RecordError(
                "ADDENDA_COUNT",
                f"{b.sec} entries carry at most one addenda",
                field="addenda_type_code",
                start=2,
                end=3,
            )
        if "payment_related_information" in data and data["addenda_sequence_number"] != len(addenda):
            return ADDENDA_ORDER_ERROR
        return None

    def flush_entry(self) -> Result:
        """The complete entry with its addenda: checked as one logical record."""
        entry = self.entry
        data, addenda = entry.data, entry.addenda
        assert data is not None
        entry.data = None
        self.record_no = no = self.record_no + 1
        canonical = None
        if entry.error is None:
            if addenda:
                text = addenda[0].get("payment_related_information")
                # most addenda are no DED: their first character tells, for half the cost of a startswith call
                if text is not None and text[0] == "D" and text.startswith(DED_TAG):
                    try:
                        ded = parse_ded(text, self.a.ded_options)
                        canonical = self.payment(data, ded)
                        data["ded"] = ded
                    except RecordError as ded_err:
                        entry.error, entry.error_line = ded_err, entry.line + 1
            elif data.get("addenda_record_indicator") == "1":
                entry.error, entry.error_line = ADDENDA_MISSING_ERROR, entry.line
        if entry.error is not None:
            e = entry.error
            return Rejected(no, entry.error_line, e.code, e.message, e.field, e.start, e.end, "entry")
        data["addenda"] = addenda
        return Parsed(no, "entry", data, entry.line, canonical)

    def payment(self, entry: dict[str, Any], ded: dict[str, Any]) -> Payment:
        if entry["amount"] != ded["amount"]:
            raise RecordError(
                "DED_AMOUNT_MISMATCH",
                "DED04 amount differs from the entry amount (positions 30-39)",
                field="payment_related_information",
                start=4,
                end=83,
            )
        if entry["transaction_code"] not in DED_CREDIT_CODES:
            raise RecordError(
                "DED_TRANSACTION_CODE",
                "a child support payment must be a credit entry",
                field="transaction_code",
                start=2,
                end=3,
            )
        header = self.batch.header if self.batch else {}
        try:
            return self._payment(entry, ded, header)
        except ValidationError as exc:  # pydantic hides the input values (CanonicalModel config)
            fields = ", ".join(str(e["loc"][0]) for e in exc.errors() if e.get("loc"))
            raise RecordError(
                "DED_CANONICAL",
                f"payment fails the canonical model ({fields})",
                field="payment_related_information",
                start=4,
                end=83,
            ) from None

    @staticmethod
    def _payment(entry: dict[str, Any], ded: dict[str, Any], header: dict[str, Any]) -> Payment:
        return _payment_model()(
            application_id=ded["application_id"],
            case_id=ded["case_id"],
            pay_date=ded["pay_date"],
            amount=ded["amount"],
            ssn=ded["ssn"],
            medical_support=ded["medical_support"],
            ncp_name=ded["ncp_name"],
            fips=ded["fips"],
            employment_termination=ded["employment_termination"],
            company_name=header.get("company_name"),
            company_identification=header.get("company_identification"),
            effective_date=header.get("effective_entry_date"),
            trace_number=entry["trace_number"],
        )

    def batch_control(self, line_no: int, raw: bytes) -> Result:
        b, self.batch = self.batch, None
        self.last_sec = b.sec if b is not None else self.last_sec
        layout = self.lay["adv_batch_control" if self.last_sec == "ADV" else "batch_control"]
        try:
            data = self.parse_with(layout, line_no, raw)
        except RecordError as err:
            self.problem("BATCH_CONTROL_INVALID", f"line {line_no}: batch control unreadable ({err.code})")
            if b is not None:
                self.close_batch_totals(b)
            return self.reject(line_no, err, "batch_control")
        if b is None:
            self.problem("MISSING_BATCH_HEADER", f"line {line_no}: batch control without a batch header")
        else:
            self.check_batch(b, data, line_no)
        return Parsed(self.next_no(), "batch_control", data, line_no)

    def close_batch_totals(self, b: _Batch) -> None:
        self.file_count += b.count
        self.file_hash += b.hash
        self.file_debit += b.debit
        self.file_credit += b.credit

    def check_batch(self, b: _Batch, c: dict[str, Any], line_no: int) -> None:
        self.close_batch_totals(b)
        where = f"batch ending line {line_no}"
        checks = (
            ("BATCH_ENTRY_COUNT", c["entry_addenda_count"], b.count, "entry/addenda count"),
            ("BATCH_ENTRY_HASH", c["entry_hash"], b.hash % 10**10, "entry hash"),
            ("BATCH_DEBIT_TOTAL", _cents(c["total_debit_amount"]), b.debit, "total debit (cents)"),
            ("BATCH_CREDIT_TOTAL", _cents(c["total_credit_amount"]), b.credit, "total credit (cents)"),
        )
        for code, declared, actual, what in checks:
            if declared != actual:
                self.problem(code, f"{where}: {what} is {declared}, the entries give {actual}")
        h = b.header
        if h:
            if h.get("service_class_code") != c["service_class_code"]:
                self.problem("BATCH_SERVICE_CLASS", f"{where}: service class differs from the batch header")
            if h.get("batch_number") != c["batch_number"]:
                self.problem("BATCH_NUMBER", f"{where}: batch number differs from the batch header")
            ident = h.get("company_identification", h.get("originator_identification"))
            if c.get("company_identification") is not None and ident != c["company_identification"]:
                self.problem("BATCH_COMPANY_ID", f"{where}: company identification differs from the batch header")

    def file_control(self, line_no: int, raw: bytes) -> Result:
        self.file_control_seen = True
        if self.batch is not None:
            self.problem("MISSING_BATCH_CONTROL", f"line {line_no}: file control while a batch is open")
            self.close_batch_totals(self.batch)
            self.batch = None
        layout = self.lay["adv_file_control" if self.last_sec == "ADV" else "file_control"]
        try:
            c = self.parse_with(layout, line_no, raw)
        except RecordError as err:
            self.problem("FILE_CONTROL_INVALID", f"line {line_no}: file control unreadable ({err.code})")
            return self.reject(line_no, err, "file_control")
        blocks = -(-self.physical(line_no) // BLOCKING_FACTOR)
        checks = (
            ("FILE_BATCH_COUNT", c["batch_count"], self.batches, "batch count"),
            ("FILE_BLOCK_COUNT", c["block_count"], blocks, "block count"),
            ("FILE_ENTRY_COUNT", c["entry_addenda_count"], self.file_count, "entry/addenda count"),
            ("FILE_ENTRY_HASH", c["entry_hash"], self.file_hash % 10**10, "entry hash"),
            ("FILE_DEBIT_TOTAL", _cents(c["total_debit_amount"]), self.file_debit, "total debit (cents)"),
            ("FILE_CREDIT_TOTAL", _cents(c["total_credit_amount"]), self.file_credit, "total credit (cents)"),
        )
        for code, declared, actual, what in checks:
            if declared != actual:
                self.problem(code, f"file control: {what} is {declared}, the file gives {actual}")
        return Parsed(self.next_no(), "file_control", c, line_no)

    def finish(self, records_read: int) -> None:
        if self.physical(records_read) == 0:
            self.problem("EMPTY_FILE", "no records")
            return
        if self.batch is not None:
            self.problem("MISSING_BATCH_CONTROL", "file ends inside a batch")
            self.close_batch_totals(self.batch)
        if not self.file_header_seen:
            self.problem("MISSING_FILE_HEADER", "file has no file header record")
        if not self.file_control_seen:
            self.problem("MISSING_FILE_CONTROL", "file has no file control record")


def _cents(amount: Decimal) -> int:
    return int(amount.scaleb(2))


class _Renderer:
    """Writes records back out, computing every control total itself.

    Given control records must agree with what the entries add up to: a renderer that copied
    stale totals would produce a file the bank rejects.
    """

    def __init__(self, adapter: NachaDedAdapter) -> None:
        self.a = adapter
        self.lay = adapter.layouts
        self.count = 0  # physical records written
        self.batches = 0
        self.file = [0, 0, 0, 0]  # entry/addenda count, hash, debit, credit
        self.batch: dict[str, Any] | None = None
        self.totals = [0, 0, 0, 0]
        self.last_adv = False

    def line(self, layout: str, data: Mapping[str, Any]) -> bytes:
        return self.emit(self.lay[layout].render(data))

    def emit(self, text: str) -> bytes:
        """One rendered record as a line of the file, counted for the block count."""
        self.count += 1
        return (text + "\n").encode("ascii")

    def run(self, records: Iterable[Mapping[str, Any]]) -> Iterator[bytes]:
        records = iter(records)
        for rec in records:
            rtype, data = rec.get("type"), rec.get("data") or {}
            if rtype == "originator":
                yield from self.from_payments(data, records)
                return
            yield from self.one(str(rtype), data)
        yield from self.pad()

    def one(self, rtype: str, data: Mapping[str, Any]) -> Iterator[bytes]:
        if rtype == "file_header":
            yield self.line("file_header", data)
        elif rtype == "batch_header":
            if self.batch is not None:
                yield self.close_batch({})
            self.batch, self.totals = dict(data), [0, 0, 0, 0]
            self.batches += 1
            iat = data.get("standard_entry_class", "IAT") == "IAT" and "iat_indicator" in data
            yield self.line("iat_batch_header" if iat else "batch_header", data)
        elif rtype == "entry":
            yield from self.entry(data)
        elif rtype == "batch_control":
            yield self.close_batch(data)
        elif rtype == "file_control":
            if self.batch is not None:
                yield self.close_batch({})
            yield self.file_control(data)
        else:
            raise RecordError("RENDER_TYPE", f"unknown record type {rtype!r} for nacha-ded")

    def entry(self, data: Mapping[str, Any]) -> Iterator[bytes]:
        if self.batch is None:
            raise RecordError("RENDER_ORDER", "entry before any batch header")
        kind = (
            "iat_entry_detail"
            if "addenda_records" in data
            else "adv_entry_detail"
            if "advice_routing_number" in data
            else "entry_detail"
        )
        # the layout proves the entry first, so the totals are taken from values it accepted
        text, v = self.lay[kind].render_parsed(data, _TOTALLED)
        amount = int(v["amount"].scaleb(2))
        t = self.totals
        t[1] += int(v["rdfi_identification"])
        if v["transaction_code"] in DEBIT_CODES:
            t[2] += amount
        else:
            t[3] += amount
        given = data.get("addenda") or []
        if not isinstance(given, list | tuple) or not all(isinstance(a, Mapping) for a in given):
            raise RecordError("RENDER_VALUE", "addenda must be a list of addenda records", field="addenda")
        addenda = list(given)
        if not addenda and data.get("ded"):
            if not isinstance(data["ded"], Mapping):
                raise RecordError("RENDER_VALUE", "ded must be the DED segment's elements by name", field="ded")
            addenda = [
                {
                    "addenda_type_code": "05",
                    "addenda_sequence_number": 1,
                    "entry_detail_sequence_number": str(data["trace_number"])[-7:],
                    "payment_related_information": render_ded(dict(data["ded"]), self.a.ded_options),
                }
            ]
        t[0] += 1 + len(addenda)
        yield self.emit(text)
        for add in addenda:
            yield self.line(addenda_layout(str(add.get("addenda_type_code"))), add)

    def close_batch(self, given: Mapping[str, Any]) -> bytes:
        h = self.batch or {}
        t = self.totals
        computed = {
            "service_class_code": h.get("service_class_code"),
            "entry_addenda_count": t[0],
            "entry_hash": t[1] % 10**10,
            "total_debit_amount": Decimal(t[2]).scaleb(-2),
            "total_credit_amount": Decimal(t[3]).scaleb(-2),
            "company_identification": h.get("company_identification", h.get("originator_identification")),
            "message_authentication_code": given.get("message_authentication_code"),
            "odfi_identification": h.get("odfi_identification"),
            "batch_number": h.get("batch_number"),
        }
        agree(given, computed, "batch_control")
        for i in range(4):
            self.file[i] += t[i]
        self.batch = None
        adv = h.get("standard_entry_class") == "ADV"
        if adv:
            computed["ach_operator_data"] = given.get("ach_operator_data")
            del computed["company_identification"], computed["message_authentication_code"]
        self.last_adv = adv
        return self.line("adv_batch_control" if adv else "batch_control", computed)

    def file_control(self, given: Mapping[str, Any]) -> bytes:
        f = self.file
        records = self.count + 1
        computed = {
            "batch_count": self.batches,
            "block_count": -(-records // BLOCKING_FACTOR),
            "entry_addenda_count": f[0],
            "entry_hash": f[1] % 10**10,
            "total_debit_amount": Decimal(f[2]).scaleb(-2),
            "total_credit_amount": Decimal(f[3]).scaleb(-2),
        }
        agree(given, computed, "file_control")
        return self.line("adv_file_control" if self.last_adv else "file_control", computed)

    def pad(self) -> Iterator[bytes]:
        while self.count % BLOCKING_FACTOR:
            self.count += 1
            yield PADDING + b"\n"

    def from_payments(self, o: Mapping[str, Any], payments: Iterator[Mapping[str, Any]]) -> Iterator[bytes]:
        """Build a whole CCD+ file from an ``originator`` record followed by ``payment`` records."""
        today = o.get("file_creation_date") or o.get("effective_entry_date")
        if today is None:
            raise RecordError("RENDER_VALUE", "originator needs file_creation_date")
        odfi = str(o["odfi_identification"])
        yield from self.one(
            "file_header",
            {
                "priority_code": "01",
                "immediate_destination": str(o["immediate_destination"]).rjust(10),
                "immediate_origin": str(o["immediate_origin"]).rjust(10),
                "file_creation_date": today,
                "file_creation_time": o.get("file_creation_time"),
                "file_id_modifier": o.get("file_id_modifier", "A"),
                "immediate_destination_name": o.get("immediate_destination_name"),
                "immediate_origin_name": o.get("immediate_origin_name"),
                "reference_code": o.get("reference_code"),
            },
        )
        batch_header = {
            "service_class_code": "220",
            "company_name": o["company_name"],
            "company_discretionary_data": o.get("company_discretionary_data"),
            "company_identification": o["company_identification"],
            "standard_entry_class": "CCD",
            "company_entry_description": o.get("company_entry_description", "CHILD SUPP"),
            "company_descriptive_date": o.get("company_descriptive_date"),
            "effective_entry_date": o.get("effective_entry_date", today),
            "originator_status_code": "1",
            "odfi_identification": odfi,
            "batch_number": 1,
        }
        yield from self.one("batch_header", batch_header)
        routing = str(o["receiving_routing_number"])
        for seq, rec in enumerate(payments, start=1):
            if seq % MAX_BATCH_ENTRIES == 1 and seq > 1:  # the batch count field holds 999,999 records
                batch_header["batch_number"] += 1
                yield from self.one("batch_header", batch_header)
            if rec.get("type") != "payment":
                raise RecordError("RENDER_TYPE", "after an originator record only payment records may follow")
            p = rec.get("data") or {}
            amount = Decimal(str(p["amount"]))
            trace = f"{odfi}{seq:07d}"
            ded = {k: p.get(k) for k in DED_ELEMENTS}
            ded["application_id"] = ded["application_id"] or "CS"
            if not ded.get("ncp_name") and p.get("last_name") and p.get("first_name"):
                ded["ncp_name"] = ncp_name_element(str(p["last_name"]), str(p["first_name"]))
            yield from self.entry(
                {
                    "transaction_code": o.get("transaction_code", "22"),
                    "rdfi_identification": routing[:8],
                    "check_digit": routing[8:9],
                    "dfi_account_number": o["receiving_account_number"],
                    "amount": amount,
                    "identification_number": p.get("identification_number") or ded["case_id"],
                    "receiver_name": o.get("receiving_company_name"),
                    "discretionary_data": None,
                    "addenda_record_indicator": "1",
                    "trace_number": trace,
                    "ded": ded,
                }
            )
        yield self.close_batch({})
        yield self.file_control({})
        yield from self.pad()
