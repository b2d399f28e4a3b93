"""What OCSE returns to a state from the federal offset program (agency-formats.md §5.5-§5.7):
rejected submissions, weekly collections and adjustments, and the case reconciliation file.

The three files share the 245-byte record and each ends with its own control record; the first record
tells which file it is. Control records are checked against the records before them (reject counts
per case type, collection/adjustment counts and totals, reconciliation case count and arrears), and a
mismatch is a file-level error raised after the records. See ``adapters/federal/offset.py`` for the
submission side and the layouts' status.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from decimal import Decimal
from typing import Any, BinaryIO, ClassVar

from adapters.base import Direction, Parsed, Result, SourceInfo
from adapters.canonical import OffsetCollection, PersonName
from adapters.controls import agree
from adapters.errors import RecordError
from adapters.federal.common import BatchParser, RecordSet, canonical, field_error, render_line
from adapters.federal.offset import FAMILY, SOURCE, _cents, _severity, check_taxpayer_id
from adapters.layout import Layout

# file kind → (detail record type, control record type)
KINDS: Mapping[str, tuple[str, str]] = {
    "reject": ("reject", "reject_control"),
    "collection": ("collection", "collection_control"),
    "reconciliation": ("reconciliation", "reconciliation_control"),
}
KIND_OF = {rtype: kind for kind, pair in KINDS.items() for rtype in pair}


def classify(raw: bytes) -> str:
    """The record type of one 245-byte output record, from its constant or its shape."""
    if raw[:3] == b"REC":
        return "reconciliation"
    if raw[:3] == b"RCT":
        return "reconciliation_control"
    if raw[2:5] == b"CTL":
        return "reject_control"
    if raw[2:5] == b"CAC":
        return "collection_control"
    # the collection record has three 11-digit amounts at 65-97; a reject echoes a letter at 73
    return "collection" if raw[64:97].isdigit() else "reject"


class _Tally:
    """What the records of each file kind add up to, in the control record's own field names."""

    def __init__(self) -> None:
        self.values: dict[str, int] = {}

    def add(self, key: str, amount: int = 1) -> None:
        self.values[key] = self.values.get(key, 0) + amount

    def reject(self, raw: bytes) -> None:
        codes = [raw[i : i + 2].decode("ascii", "replace") for i in range(227, 239, 2)]
        kinds = {_severity().get(c) for c in codes if c.strip()}
        side = {b"A": "tanf", b"N": "non_tanf"}.get(raw[73:74])
        if side is not None and kinds:
            self.add(f"{side}_rejected" if "error" in kinds else f"{side}_warnings")

    def collection(self, raw: bytes) -> None:
        collected, adjusted = _cents(raw[75:86], 2), _cents(raw[86:97], 2)
        if collected:
            self.add("collection_count")
            self.add("collection_total", collected)
        if adjusted:
            self.add("adjustment_count")
            self.add("adjustment_total", adjusted)

    def reconciliation(self, raw: bytes) -> None:
        self.add("case_count")
        self.add("total_arrears", _cents(raw[67:75], 0))

    def control(self, rtype: str, layout: Layout) -> dict[str, Any]:
        """The control values the records give (reject files cannot know the accepted counts)."""
        out: dict[str, Any] = {}
        for f in layout.data_fields:
            if f.name == "submitting_state" or f.name.endswith("_accepted"):
                continue
            value = self.values.get(f.name, 0)
            out[f.name] = Decimal(value).scaleb(-2) if f.type == "amount" else value
        return out


def _collection_rules(lay: Layout, d: dict[str, Any]) -> OffsetCollection:
    check_taxpayer_id(lay, d)
    collected, adjusted = d.get("collection_amount") or 0, d.get("adjustment_amount") or 0
    if collected and adjusted:  # §5.6: one of the two is zeros
        raise field_error(lay, "adjustment_amount", "AMOUNT_BOTH", "a record carries a collection or an adjustment")
    if (d["transaction_kind"] == "C") != bool(collected) or (d["transaction_kind"] == "A") != bool(adjusted):
        raise field_error(lay, "transaction_kind", "KIND_AMOUNT", "does not match the amount the record carries")
    joint = d.get("joint_return")
    if d.get("injured_spouse") == "Y" and (d.get("case_type") != "N" or joint in (None, "0")):
        raise field_error(lay, "injured_spouse", "INJURED_SPOUSE", "Y only on a non-TANF joint return (FOP 05-01)")
    extra = {
        k: d[k]
        for k in (
            "transaction_kind",
            "joint_filer_name",
            "joint_filer_address",
            "joint_filer_city",
            "joint_filer_state",
            "joint_filer_zip",
        )
        if d.get(k) is not None
    }
    return canonical(
        lambda: OffsetCollection(
            submitting_state=d["submitting_state"],
            local_code=d.get("local_code"),
            ssn=d["ssn"],
            case_id=d["case_id"],
            ncp_name=PersonName(first=d.get("first_name"), last=d["last_name"]),
            certified_arrears=d.get("certified_arrears"),
            collection_amount=collected,
            adjustment_amount=adjusted,
            offset_date=d.get("offset_date"),
            tax_year=d.get("tax_year"),
            case_type=d.get("case_type"),
            joint_return=None if joint is None else joint != "0",
            injured_spouse=None if d.get("injured_spouse") is None else d["injured_spouse"] == "Y",
            trace_number=d.get("trace_number"),
            extra=extra,
        )
    )


def _detail_rules(rtype: str, lay: Layout, d: dict[str, Any]) -> Any:
    if rtype == "collection":
        return _collection_rules(lay, d)
    if rtype == "reject" and not any(d.get(f"error_code_{i}") for i in range(1, 7)):
        raise field_error(lay, "error_code_1", "NO_REJECT_CODE", "a returned record carries at least one code")
    if rtype == "reconciliation":
        check_taxpayer_id(lay, d)
    return None


class _ReturnParser(BatchParser):
    def __init__(self, adapter: OffsetReturnAdapter) -> None:
        super().__init__(adapter.records)
        self.kind: str | None = None
        self.tally = _Tally()
        self.closed = False

    def record(self, line_no: int, raw: bytes) -> Iterator[Result]:
        if len(raw) != self.records.length:
            yield self.unknown(line_no, raw)
            return
        rtype = classify(raw)
        if self.kind is not None and rtype in ("collection", "reject"):
            rtype = KINDS[self.kind][0]  # a record's shape names the file only once; then the file names it
        kind = KIND_OF[rtype]
        self.kind = self.kind or kind
        if self.closed:
            self.problem("RECORD_AFTER_CONTROL", f"line {line_no}: record after the control record")
        layout = self.records.layouts[rtype]
        if kind != self.kind:
            err = RecordError(
                "WRONG_FILE_KIND", f"a {kind} record in a {self.kind} file", start=1, end=self.records.length
            )
            yield self.reject(line_no, err, rtype)
        elif rtype == KINDS[kind][1]:
            yield self.control(line_no, raw, layout)
        else:
            getattr(self.tally, rtype)(raw)
            try:
                data = self.parse_with(layout, line_no, raw)
                model = _detail_rules(rtype, layout, data)
            except RecordError as err:
                yield self.reject(line_no, err, rtype)
                return
            yield Parsed(self.next_no(), rtype, data, line_no, model)

    def control(self, line_no: int, raw: bytes, layout: Layout) -> Result:
        self.closed = True
        try:
            data = self.parse_with(layout, line_no, raw)
        except RecordError as err:
            self.problem("CONTROL_INVALID", f"line {line_no}: control record unreadable ({err.code})")
            return self.reject(line_no, err, layout.name)
        for key, value in self.tally.control(layout.name, layout).items():
            if data[key] != value:
                self.problem(
                    "CONTROL_TOTALS", f"line {line_no}: control {key} is {data[key]}, the records give {value}"
                )
        return Parsed(self.next_no(), layout.name, data, line_no)

    def finish(self) -> None:
        if self.kind is not None and not self.closed:
            self.problem("MISSING_CONTROL", f"the {self.kind} file does not end with its control record")


class _ReturnRenderer:
    def __init__(self, adapter: OffsetReturnAdapter) -> None:
        self.lay = adapter.records.layouts
        self.kind: str | None = None
        self.tally = _Tally()
        self.closed = False
        self.state: Any = None

    def run(self, records: Iterable[Mapping[str, Any]]) -> Iterator[bytes]:
        for rec in records:
            rtype, data = str(rec.get("type")), rec.get("data") or {}
            if rtype not in KIND_OF:
                raise RecordError("RENDER_TYPE", f"unknown record type {rtype!r} for offset-return")
            if self.closed or KIND_OF[rtype] != (self.kind or KIND_OF[rtype]):
                raise RecordError("RENDER_ORDER", f"{rtype} after the control record or in another kind of file")
            self.kind = KIND_OF[rtype]
            if rtype == KINDS[self.kind][1]:
                yield self.close(data)
            else:
                line = render_line(self.lay[rtype], data)
                self.state = self.state or data.get("submitting_state")
                getattr(self.tally, rtype)(line[:-1])
                yield line
        if self.kind is not None and not self.closed:
            yield self.close({})

    def close(self, given: Mapping[str, Any]) -> bytes:
        assert self.kind is not None
        rtype = KINDS[self.kind][1]
        layout = self.lay[rtype]
        computed = self.tally.control(rtype, layout)
        agree(given, computed, rtype)
        self.closed = True
        out = {
            "submitting_state": self.state,
            **computed,
            **{k: v for k, v in given.items() if k.endswith("_accepted") or k == "submitting_state"},
        }
        return render_line(layout, out)


class OffsetReturnAdapter:
    """OCSE → state: rejects with their control, weekly collections/adjustments, case reconciliation."""

    key: ClassVar[str] = "offset-return"
    title: ClassVar[str] = "Federal offset output files (rejects, collections and adjustments, case reconciliation)"
    direction: ClassVar[Direction] = Direction.INBOUND
    source: ClassVar[SourceInfo] = SOURCE

    def __init__(self) -> None:
        self.records = RecordSet.load(FAMILY, tuple(KIND_OF))

    def detect(self, head: bytes) -> bool:
        """The first record is a reconciliation record, one of the controls, a collection record or a
        reject (an echoed case record whose code positions 228-229 hold a reject/warning code)."""
        rec = head.split(b"\n", 1)[0].rstrip(b"\r")[:245]
        if len(rec) != 245:
            return False
        rtype = classify(rec)
        if rtype in ("reconciliation", "reconciliation_control"):
            return rec[3:5].isalpha()
        if not rec[:2].isalpha():
            return False
        if rtype == "reject_control":
            return rec[5:59].isdigit()
        if rtype == "collection_control":
            return rec[5:49].isdigit()
        if rtype == "collection":
            return rec[5:14].isdigit()
        return rec[227:229].decode("ascii", "replace") in _severity()

    def parse(self, stream: BinaryIO) -> Iterator[Result]:
        return _ReturnParser(self).run(stream)

    def render(self, records: Iterable[Mapping[str, Any]]) -> Iterator[bytes]:
        return _ReturnRenderer(self).run(records)
