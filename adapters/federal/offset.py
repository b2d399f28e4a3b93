"""Federal offset program (tax refund offset, administrative offset, passport denial) batch files,
agency-formats.md §5. 245-byte records, OMB 0970-0161.

* ``offset`` (state → OCSE): the weekly Case Submission and Update file — one record per transaction
  (add, delete, modify arrears, local code, exclusions, state payment, transfer, name, case id, address
  change; §5.3) with exclusion codes (§5.4), TANF/non-TANF case type, and a control record closing each
  submitting state's records with their counts and arrears totals per case type (§5.5). Canonical
  ``OffsetCase``. The record edition (1999, or the provisional current one) is chosen in
  ``mappings/federal/offset/_variant.toml``.
* ``offset-return`` (OCSE → state): one of three files, told apart by their first record — rejected
  submissions with their reject/warning codes (§5.7) and the reject control (§5.5); the weekly
  collection and adjustment records (§5.6; canonical ``OffsetCollection``) with their control; and the
  case reconciliation records ``REC`` with control ``RCT``.

Layouts: ``mappings/federal/offset/*.toml``; codes: ``mappings/codes/offset_*.csv`` (the transaction
table also lists the fields each transaction requires). Eligibility for each program is in
``adapters/federal/eligibility.py``. Notices (§5.8): the Pre-Offset Notice issue date travels on the
submission (1999 edition) and on reconciliation records with the pre-offset hold indicator; the
passport referral waits for it (eligibility rules).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from typing import Any, BinaryIO, ClassVar

from adapters.base import Direction, Parsed, Result, SourceInfo
from adapters.canonical import (
    USPS_STATE_CODES,
    Address,
    OffsetCase,
    PersonName,
)
from adapters.controls import agree
from adapters.errors import LayoutError, RecordError
from adapters.federal.common import (
    BatchParser,
    RecordSet,
    as_decimal,
    canonical,
    code_rows,
    field_error,
    render_line,
)
from adapters.layout import MAPPINGS_DIR, SSN_RE, Layout, load_codes, load_layout

FAMILY = "federal/offset"
# FOP takes a valid SSN or an ITIN (§5.2): ITINs are 9xx with group 50-65, 70-88, 90-92 or 94-99.
TAXPAYER_ID = re.compile(rf"{SSN_RE}|9\d\d(?:5\d|6[0-5]|7\d|8[0-8]|9[0-24-9])\d{{4}}")
NAME_HEAD = re.compile(r"[A-Z0-9-]{1,4}")
SOURCE = SourceInfo(
    document="OCSE Federal Offset Program record specifications (OMB 0970-0161)",
    version="input 2010/2013 charts (1-73) + 1999 edition (74-245); output charts 2016/2019",
    status="mixed",
    notes="case submission 1-73, reject control, collection 1-97 and 225 confirmed; the rest derived or "
    "documented choices in mappings/federal/offset",
)


@cache
def variant_layouts() -> dict[str, str]:
    """The case-submission editions the mapping offers, and the one selected (key ``""``)."""
    doc = tomllib.loads((MAPPINGS_DIR / FAMILY / "_variant.toml").read_text(encoding="utf-8"))
    section = doc["case_submission"]
    variants = dict(section["variants"])
    if section["layout"] not in variants.values():
        raise LayoutError(f"{FAMILY}/_variant.toml: layout {section['layout']!r} is not one of its variants")
    return {"": section["layout"], **variants}


@cache
def _requires() -> dict[str, tuple[str, ...]]:
    return {code: tuple(row["requires"].split()) for code, row in code_rows("offset_transaction_type").items()}


@cache
def _severity() -> dict[str, str]:
    return {code: row["severity"] for code, row in code_rows("offset_reject_code").items()}


@cache
def _exclusion_codes() -> frozenset[str]:
    return frozenset(load_codes("offset_exclusion"))


def _blank(raw: bytes) -> bool:
    return not raw.strip(b" ")


def _cents(raw: bytes, decimals: int) -> int:
    """An amount straight from its raw positions (so a rejected record still counts toward controls)."""
    return int(raw) * 10 ** (2 - decimals) if raw.isdigit() else 0


# --------------------------------------------------------------------------- record rules


def check_taxpayer_id(lay: Layout, d: Mapping[str, Any]) -> None:
    if not TAXPAYER_ID.fullmatch(d["ssn"]):
        raise field_error(lay, "ssn", "SSN_INVALID", "neither a valid SSN (SSA rules) nor an ITIN")


def check_names(lay: Layout, d: Mapping[str, Any]) -> None:
    # §5.2: no embedded space or special character but a hyphen in the first 4 positions of the last
    # name; the first name starts with a letter.
    if not NAME_HEAD.fullmatch(d["last_name"][:4]):
        raise field_error(lay, "last_name", "LAST_NAME", "first 4 positions: letters, digits or hyphen only")
    first = d.get("first_name")
    if first is not None and not first[0].isalpha():
        raise field_error(lay, "first_name", "FIRST_NAME", "must start with a letter")


def parse_exclusions(lay: Layout, text: str | None, transaction: str) -> list[str]:
    """§5.4: up to 10 three-letter codes separated by commas, valid on A and R only."""
    if text is None:
        return []
    codes = text.split(",")
    if transaction not in ("A", "R"):
        raise field_error(lay, "exclusions", "EXCLUSIONS_NOT_ALLOWED", "exclusions are valid on A and R only")
    if len(codes) > 10 or any(c not in _exclusion_codes() for c in codes) or len(set(codes)) != len(codes):
        raise field_error(
            lay,
            "exclusions",
            "EXCLUSION_CODE",
            "must be up to 10 distinct known codes separated by commas (e.g. ADM,RET,TAX)",
        )
    return codes


def _submission_rules(lay: Layout, d: dict[str, Any]) -> None:
    check_taxpayer_id(lay, d)
    check_names(lay, d)
    t = d["transaction_type"]
    for need in _requires()[t]:
        if need == "address":
            if not ((d.get("address_line_1") or d.get("address_line_2")) and d.get("city") and d.get("state")):
                raise field_error(lay, "address_line_1", "ADDRESS_INCOMPLETE", "needs a line, a city and a state")
        elif d.get(need) is None:
            raise field_error(lay, need, "REQUIRED_FOR_TRANSACTION", f"required on a {t} transaction")
    if d.get("state") is not None and d["state"] not in USPS_STATE_CODES:
        raise field_error(lay, "state", "ADDRESS_STATE", "not a USPS state code")
    d["exclusions"] = parse_exclusions(lay, d.get("exclusions"), t)


def offset_case(d: Mapping[str, Any]) -> OffsetCase:
    zip9 = d.get("zip") or ""
    address = None
    if d.get("address_line_1") or d.get("address_line_2") or d.get("city"):
        address = Address(
            line1=d.get("address_line_1"),
            line2=d.get("address_line_2"),
            city=d.get("city"),
            state=d.get("state"),
            zip5=zip9[:5] or None,
            zip4=zip9[5:] if zip9[5:].strip("0") else None,
        )
    return canonical(
        lambda: OffsetCase(
            submitting_state=d["submitting_state"],
            local_code=d.get("local_code"),
            ssn=d["ssn"],
            case_id=d.get("case_id"),
            ncp_name=PersonName(first=d.get("first_name"), last=d["last_name"]),
            arrears_amount=d.get("arrearage_amount"),
            transaction_type=d["transaction_type"],
            case_type=d.get("case_type"),
            transfer_state=d.get("transfer_state"),
            transfer_local_code=d.get("transfer_local_code"),
            process_year=d.get("process_year"),
            address=address,
            pre_offset_notice_date=d.get("pre_offset_notice_date"),
            exclusions=d.get("exclusions") or [],
        )
    )


def case_data(c: OffsetCase) -> dict[str, Any]:
    """A canonical ``OffsetCase`` as Case Submission and Update record data."""
    a = c.address
    zip9 = f"{a.zip5}{a.zip4 or '0000'}" if a is not None and a.zip5 else None
    return {
        "submitting_state": c.submitting_state,
        "local_code": c.local_code,
        "ssn": c.ssn,
        "case_id": c.case_id,
        "last_name": c.ncp_name.last,
        "first_name": c.ncp_name.first,
        "arrearage_amount": c.arrears_amount,
        "transaction_type": c.transaction_type.value,
        "case_type": c.case_type.value if c.case_type else None,
        "transfer_state": c.transfer_state,
        "transfer_local_code": c.transfer_local_code,
        "process_year": c.process_year,
        "address_line_1": a.line1 if a else None,
        "address_line_2": a.line2 if a else None,
        "city": a.city if a else None,
        "state": a.state if a else None,
        "zip": zip9,
        "pre_offset_notice_date": c.pre_offset_notice_date,
        "exclusions": [e.value for e in c.exclusions],
    }


def _with_exclusions(d: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(d)
    value = out.get("exclusions")
    out["exclusions"] = ",".join(value) if isinstance(value, list | tuple) else value or None
    return out


# --------------------------------------------------------------------------- submission file


@dataclass(slots=True)
class _Group:
    """One submitting state's records since its previous control record (§5.5 totals)."""

    state: str
    tanf: int = 0
    non_tanf: int = 0
    tanf_amount: int = 0
    non_tanf_amount: int = 0

    def add(self, case_type: str | None, dollars: int) -> None:
        if case_type == "A":
            self.tanf, self.tanf_amount = self.tanf + 1, self.tanf_amount + dollars
        elif case_type == "N":
            self.non_tanf, self.non_tanf_amount = self.non_tanf + 1, self.non_tanf_amount + dollars

    def control(self) -> dict[str, Any]:
        return {
            "submitting_state": self.state,
            "tanf_count": self.tanf,
            "non_tanf_count": self.non_tanf,
            "tanf_amount": Decimal(self.tanf_amount),
            "non_tanf_amount": Decimal(self.non_tanf_amount),
        }


class _SubmissionParser(BatchParser):
    def __init__(self, adapter: OffsetAdapter) -> None:
        super().__init__(adapter.records)
        self.case = adapter.records.layouts["case_submission"]
        self.ctl = adapter.records.layouts["case_control"]
        self.group: _Group | None = None

    def record(self, line_no: int, raw: bytes) -> Iterator[Result]:
        if len(raw) != self.records.length:
            yield self.unknown(line_no, raw)
        elif raw[2:5] == b"CTL":
            yield self.control(line_no, raw)
        else:
            yield self.submission(line_no, raw)

    def submission(self, line_no: int, raw: bytes) -> Result:
        state = raw[:2].decode("ascii", "replace")
        if self.group is not None and self.group.state != state:
            self.problem("MISSING_CONTROL", f"line {line_no}: a new state's records before the previous control record")
            self.group = None
        self.group = self.group or _Group(state)
        self.group.add(raw[73:74].decode("ascii", "replace"), _cents(raw[64:72], 0) // 100)
        try:
            data = self.parse_with(self.case, line_no, raw)
            _submission_rules(self.case, data)
            model = offset_case(data)
        except RecordError as err:
            return self.reject(line_no, err, "case_submission")
        return Parsed(self.next_no(), "case_submission", data, line_no, model)

    def control(self, line_no: int, raw: bytes) -> Result:
        group, self.group = self.group, None
        try:
            data = self.parse_with(self.ctl, line_no, raw)
        except RecordError as err:
            self.problem("CONTROL_INVALID", f"line {line_no}: control record unreadable ({err.code})")
            return self.reject(line_no, err, "case_control")
        expected = group.control() if group else _Group(data["submitting_state"]).control()
        for key, value in expected.items():
            if data[key] != value:
                self.problem(
                    "CONTROL_TOTALS" if key != "submitting_state" else "CONTROL_STATE",
                    f"line {line_no}: control {key} is {data[key]}, the records give {value}",
                )
        return Parsed(self.next_no(), "case_control", data, line_no)

    def finish(self) -> None:
        if self.group is not None:
            self.problem("MISSING_CONTROL", "the file's last records are not closed by a control record")


class _SubmissionRenderer:
    def __init__(self, adapter: OffsetAdapter) -> None:
        self.lay = adapter.records.layouts
        self.group: _Group | None = None

    def run(self, records: Iterable[Mapping[str, Any]]) -> Iterator[bytes]:
        for rec in records:
            rtype, data = rec.get("type"), rec.get("data") or {}
            if rtype == "case_control":
                yield self.close(data)
                continue
            if rtype != "case_submission":
                model = rec.get("canonical")
                if not isinstance(model, OffsetCase):
                    raise RecordError("RENDER_TYPE", f"unknown record type {rtype!r} for offset")
                data = case_data(model)
            state = str(data.get("submitting_state"))
            if self.group is not None and self.group.state != state:
                yield self.close({})
            self.group = self.group or _Group(state)
            out = _with_exclusions(data)
            line = render_line(self.lay["case_submission"], out)
            self.group.add(out.get("case_type"), int(as_decimal(out.get("arrearage_amount"))))
            yield line
        if self.group is not None:
            yield self.close({})

    def close(self, given: Mapping[str, Any]) -> bytes:
        computed = (self.group or _Group(str(given.get("submitting_state")))).control()
        agree(given, computed, "case_control")
        self.group = None
        return render_line(self.lay["case_control"], computed)


class OffsetAdapter:
    """State → OCSE: the federal offset Case Submission and Update file."""

    key: ClassVar[str] = "offset"
    title: ClassVar[str] = (
        "Federal offset case submission and update file (tax refund, administrative offset, passport)"
    )
    direction: ClassVar[Direction] = Direction.OUTBOUND
    source: ClassVar[SourceInfo] = SOURCE

    def __init__(self, variant: str = "") -> None:
        layouts = variant_layouts()
        if variant not in layouts:
            raise LayoutError(f"unknown case submission variant {variant!r}; known: {sorted(k for k in layouts if k)}")
        self.records = RecordSet.of(
            FAMILY,
            {
                "case_submission": load_layout(f"{FAMILY}/{layouts[variant]}.toml"),
                "case_control": load_layout(f"{FAMILY}/case_control.toml"),
            },
        )

    def detect(self, head: bytes) -> bool:
        """A case record (USPS state, digits SSN, transaction type at 73, blank 228-245) or a control."""
        rec = head.split(b"\n", 1)[0].rstrip(b"\r")[:245]
        if len(rec) != 245 or not head[:2].isalpha():
            return False
        if rec[2:5] == b"CTL":
            return rec[5:45].isdigit() and _blank(rec[45:])
        return (
            rec[5:14].isdigit()
            and rec[72:73].decode("ascii", "replace") in _requires()
            and rec[:3] not in (b"REC", b"RCT")
            and _blank(rec[227:])
        )

    def parse(self, stream: BinaryIO) -> Iterator[Result]:
        return _SubmissionParser(self).run(stream)

    def render(self, records: Iterable[Mapping[str, Any]]) -> Iterator[bytes]:
        return _SubmissionRenderer(self).run(records)
