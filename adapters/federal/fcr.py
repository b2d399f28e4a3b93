"""FPLS / Federal Case Registry (FCR) batch files, both directions (agency-formats.md §4).

Two formats, two keys, because the files differ from the first byte on:

* ``fcr-input`` (state → FCR): transmission header ``FA``, case records ``FC`` (add/change/delete),
  person/locate request records ``FP`` (add/change/delete a person, set or clear the FVI, initiate or
  terminate a locate with its request type and locate sources), queries ``FQ``, trailer ``FZ``.
* ``fcr-response`` (FCR → state): a response header, case and person acknowledgments ``FD``/``FS``,
  query/proactive match responses ``FT``, locate responses from the external sources ``FF`` (DoD/OPM,
  FBI, NSA, IRS, SSA, VA), ``FK`` (SVES) and ``FN`` (NDNH W-4/QW/UI), reconciliation ``RS``, trailer.

Layouts: ``mappings/federal/fcr/*.toml``. Only ``FF`` 1-188, ``FN`` 1-80 and ``RS`` 1-75 are CONFIRMED
positions; every other position, the record lengths and the response header/trailer ids are
documented choices in those files, so correcting them from the FCR IGD is a data change. Codes
(actions, participant types, locate agencies, acknowledgment and SSN validity codes ...) are tables in
``mappings/codes/fcr_*.csv``.

Record rules checked here, each a coded ``Rejected`` naming the field: case-id edits, the action's
required and forbidden fields, locate request type against the case type and the locate sources,
transmitter state against the header, acknowledgment code against its error codes, agency codes per
response record, the no-data response codes, NDNH ``H01`` rules, and the FVI rule (an ``FV`` record
carries nothing after its FV field). Header first, trailer last and the trailer's record count are
file-level checks, raised after the records.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from functools import cache
from typing import Any, BinaryIO, ClassVar

from adapters.base import Direction, Parsed, Result, SourceInfo
from adapters.canonical import CanonicalModel
from adapters.controls import agree
from adapters.errors import RecordError
from adapters.federal import fcr_canonical as fc
from adapters.federal.common import (
    BatchParser,
    RecordSet,
    check_case_id,
    code_rows,
    field_error,
    render_line,
)
from adapters.layout import Layout, load_codes

FAMILY = "federal/fcr"
INPUT = ("input_header", "input_case", "input_person", "input_query", "input_trailer")
RESPONSE = (
    "response_header",
    "case_ack",
    "person_ack",
    "proactive_match",
    "locate_response",
    "ndnh_response",
    "sves_response",
    "reconciliation",
    "response_trailer",
)
SOURCE = SourceInfo(
    document="OCSE FCR Interface Guidance Document (Appendix G input, H output) and FCR release specifications",
    version="FCR IGD v15.0/v12.0 as digested (shared/specs/agency-formats.md §4)",
    status="mixed",
    notes="FF 1-188, FN 1-80, RS 1-75 confirmed; other positions, record lengths (input 600, output 800) and the "
    "response header/trailer ids are documented choices in mappings/federal/fcr",
)
SOURCE_COUNT = 8


@cache
def _agency_record() -> dict[str, str]:
    """Which response record may carry each locate agency code (column ``record`` of the table)."""
    return {code: row["record"] for code, row in code_rows("fcr_locate_agency").items()}


@cache
def _no_data_codes() -> frozenset[str]:
    return frozenset(load_codes("fcr_no_data_response"))


# --------------------------------------------------------------------------- record rules


class _Context:
    """What a rule may know beyond its own record: the header, and the cases added in this file."""

    def __init__(self) -> None:
        self.header: dict[str, Any] | None = None
        self.case_types: dict[str, str] = {}


Rule = Callable[[Layout, dict[str, Any], _Context], None]


def _input_case(lay: Layout, d: dict[str, Any], ctx: _Context) -> None:
    check_case_id(lay, d)
    check_case_id(lay, d, "previous_case_id")
    action = d["action_type"]
    if action == "A":
        for name in ("case_type", "order_indicator"):
            if d.get(name) is None:
                raise field_error(lay, name, "REQUIRED_FOR_ACTION", "required when a case is added")
    if d.get("previous_case_id") is not None and action != "C":
        raise field_error(lay, "previous_case_id", "NOT_ALLOWED_FOR_ACTION", "only a change may re-key a case")
    if action == "A" and d.get("case_type"):
        ctx.case_types[d["case_id"]] = d["case_type"]


def _input_person(lay: Layout, d: dict[str, Any], ctx: _Context) -> None:
    check_case_id(lay, d)
    action = d["action_type"]
    if action in ("A", "L") and d.get("ssn") is None and (d.get("first_name") is None or d.get("last_name") is None):
        raise field_error(
            lay, "ssn", "PERSON_IDENTITY", "an added or located person needs an SSN, or first and last name"
        )
    for name in ("previous_ssn", "new_member_id"):
        if d.get(name) is not None and action != "C":
            raise field_error(lay, name, "NOT_ALLOWED_FOR_ACTION", "only a change carries it")
    case_type = ctx.case_types.get(d["case_id"])
    if d["participant_type"] == "PF" and case_type == "N":
        raise field_error(lay, "participant_type", "PF_NON_IVD", "a putative father is registered on IV-D cases only")
    request_type = d.get("locate_request_type")
    sources = [d.get(f"locate_source_{i}") for i in range(1, SOURCE_COUNT + 1)]
    named = [s for s in sources if s]
    if request_type is None:
        if action in ("L", "T"):
            raise field_error(
                lay, "locate_request_type", "REQUIRED_FOR_ACTION", "a locate action needs its request type"
            )
        if named or d.get("irs_1099") == "Y":
            raise field_error(
                lay, "locate_source_1", "LOCATE_WITHOUT_TYPE", "locate sources without a locate request type"
            )
        return
    if action in ("C", "D"):
        raise field_error(
            lay,
            "locate_request_type",
            "NOT_ALLOWED_FOR_ACTION",
            "a locate is requested on an add (A) or a locate action (L/T)",
        )
    wanted = fc.required_case_type(request_type)
    if wanted and case_type and case_type != wanted:
        raise field_error(
            lay, "locate_request_type", "LOCATE_TYPE_CASE_TYPE", "request type does not agree with the case type"
        )
    if not named:
        raise field_error(lay, "locate_source_1", "LOCATE_SOURCE", "a locate request names at least one source")
    if sources[: len(named)] != named:
        raise field_error(lay, "locate_source_1", "LOCATE_SOURCE", "locate sources must be filled from the first")
    if "ALL" in named and len(named) > 1:
        raise field_error(lay, "locate_source_2", "LOCATE_SOURCE", "ALL must be the only source named")
    if len(set(named)) != len(named):
        raise field_error(lay, "locate_source_2", "LOCATE_SOURCE", "a locate source is named twice")


def _input_query(lay: Layout, d: dict[str, Any], ctx: _Context) -> None:
    check_case_id(lay, d)


def _ack(lay: Layout, d: dict[str, Any], ctx: _Context) -> None:
    # §4.4: LE/PE/TE errors reject the record, LW/PW/TW warnings leave it accepted
    codes = [d.get(f"error_code_{i}") for i in range(1, 6)]
    errors = [c for c in codes if c and c[1] == "E"]
    ack = d["acknowledgement_code"]
    if ack == "REJCT" and not errors:
        raise field_error(lay, "error_code_1", "ACK_WITHOUT_ERROR", "a rejected record carries at least one error code")
    if ack == "AAAAA" and errors:
        raise field_error(lay, "acknowledgement_code", "ACK_CODE_MISMATCH", "an accepted record carries an error code")
    if d.get("corrected_ssn") is not None and d.get("ssn_validity_code") not in ("C", "E", "P", "R", "S"):
        raise field_error(lay, "corrected_ssn", "CORRECTED_SSN", "filled only with SSN validity code C, E, P, R or S")


def _withheld(lay: Layout, d: dict[str, Any]) -> None:
    """§4.7: with an FV the FCR releases nothing about the person: every field after FV is blank."""
    if d.get("family_violence") != "FV":
        return
    after = False
    for f in lay.data_fields:
        if after and d.get(f.name) is not None:
            raise field_error(lay, f.name, "FV_DATA_RELEASED", "a record withheld by the FV indicator carries data")
        after = after or f.name == "family_violence"


def _agency(record: str) -> Rule:
    def check(lay: Layout, d: dict[str, Any], ctx: _Context) -> None:
        if _agency_record().get(d["agency_code"]) != record:
            raise field_error(lay, "agency_code", "AGENCY_CODE", f"not a source the {record} record reports")
        _withheld(lay, d)
        no_data = d.get("locate_response_code") in _no_data_codes()
        if record == "FF" and d.get("name_matched") is None and not no_data:
            raise field_error(
                lay, "name_matched", "NAME_MATCHED", "blank only with a no-data locate response code (06, 10, 39)"
            )
        if record == "FN":
            _ndnh(lay, d, no_data)

    return check


def _ndnh(lay: Layout, d: dict[str, Any], no_data: bool) -> None:
    agency = d["agency_code"]
    if agency == "H01":  # §4.6b: only for an NDNH locate (match type L) with response code 06, 10 or 39
        if d["match_type"] != "L" or not no_data:
            raise field_error(
                lay, "agency_code", "NDNH_H01", "H01 only answers a locate (L) with a no-data response code"
            )
        return
    if d.get("family_violence") == "FV":
        return
    period = d.get("reporting_period")
    if period is not None and not ("1" <= period[4] <= "4" and period[:2] in ("19", "20")):
        raise field_error(lay, "reporting_period", "REPORTING_PERIOD", "must be CCYYQ with quarter 1-4")
    needs = {
        "H97": ("reporting_period", "benefit_amount"),
        "H98": ("reporting_period", "wage_amount"),
        "H99": ("hire_date", "employer_fein"),
    }[agency]
    for name in needs:
        if d.get(name) is None:
            raise field_error(lay, name, "NDNH_INCOMPLETE", f"required on an {agency} record")
    if agency == "H98" and d.get("employer_fein") is None and d.get("employer_name") is None:
        raise field_error(lay, "employer_fein", "NDNH_INCOMPLETE", "a QW record names its employer")


def _proactive(lay: Layout, d: dict[str, Any], ctx: _Context) -> None:
    _withheld(lay, d)
    if d.get("family_violence") != "FV" and d.get("response_code") is None:
        raise field_error(lay, "response_code", "REQUIRED", "required unless the FV indicator withholds the match")


RULES: Mapping[str, Rule] = {
    "input_case": _input_case,
    "input_person": _input_person,
    "input_query": _input_query,
    "case_ack": _ack,
    "person_ack": _ack,
    "locate_response": _agency("FF"),
    "ndnh_response": _agency("FN"),
    "sves_response": _agency("FK"),
    "proactive_match": _proactive,
}


# --------------------------------------------------------------------------- parsing


class _Parser(BatchParser):
    """Header first, detail records, trailer last with the count of the records between them."""

    def __init__(self, adapter: _FcrAdapter) -> None:
        super().__init__(adapter.records)
        self.a = adapter
        self.ctx = _Context()
        self.header_id, self.trailer_id = adapter.header_id, adapter.trailer_id
        self.physical = 0
        self.details = 0
        self.trailer_seen = False

    def record(self, line_no: int, raw: bytes) -> Iterator[Result]:
        self.physical += 1
        layout = self.layout_of(raw)
        if layout is None or len(raw) != self.records.length:
            self.before_detail(line_no)
            yield self.unknown(line_no, raw)
            return
        rid = layout.fields[0].value
        if rid == self.header_id:
            yield self.header(line_no, raw, layout)
        elif rid == self.trailer_id:
            yield self.trailer(line_no, raw, layout)
        else:
            self.before_detail(line_no)
            yield self.detail(line_no, raw, layout)

    def before_detail(self, line_no: int) -> None:
        if self.physical == 1:
            self.problem("MISSING_HEADER", f"file does not start with a {self.header_id} header record")
        if self.trailer_seen:
            self.problem("RECORD_AFTER_TRAILER", f"line {line_no}: record after the {self.trailer_id} trailer")
        self.details += 1

    def header(self, line_no: int, raw: bytes, layout: Layout) -> Result:
        if self.physical != 1:
            self.problem("HEADER_NOT_FIRST", f"line {line_no}: a {self.header_id} header that is not the first record")
        try:
            data = self.parse_with(layout, line_no, raw)
        except RecordError as err:
            self.problem("HEADER_INVALID", f"line {line_no}: header unreadable ({err.code})")
            return self.reject(line_no, err, layout.name)
        if self.physical == 1:
            self.ctx.header = data
        return Parsed(self.next_no(), layout.name, data, line_no)

    def trailer(self, line_no: int, raw: bytes, layout: Layout) -> Result:
        if self.trailer_seen:
            self.problem("DUPLICATE_TRAILER", f"line {line_no}: a second {self.trailer_id} trailer")
        self.trailer_seen = True
        try:
            data = self.parse_with(layout, line_no, raw)
        except RecordError as err:
            self.problem("TRAILER_INVALID", f"line {line_no}: trailer unreadable ({err.code})")
            return self.reject(line_no, err, layout.name)
        if data["record_count"] != self.details:
            self.problem(
                "TRAILER_COUNT", f"trailer record count is {data['record_count']}, the file has {self.details}"
            )
        return Parsed(self.next_no(), layout.name, data, line_no)

    def detail(self, line_no: int, raw: bytes, layout: Layout) -> Result:
        try:
            data = self.parse_with(layout, line_no, raw)
            header = self.ctx.header
            state = data.get("state_code")
            if header is not None and state is not None and state != header["state_code"]:
                raise field_error(layout, "state_code", "STATE_MISMATCH", "differs from the header's state code")
            rule = RULES.get(layout.name)
            if rule is not None:
                rule(layout, data, self.ctx)
            build = self.a.builders.get(layout.name)
            model = build(data) if build is not None else None
        except RecordError as err:
            return self.reject(line_no, err, layout.name)
        return Parsed(self.next_no(), layout.name, data, line_no, model)

    def finish(self) -> None:
        if self.physical and not self.trailer_seen:
            self.problem("MISSING_TRAILER", f"file does not end with a {self.trailer_id} trailer record")


# --------------------------------------------------------------------------- rendering


class _Renderer:
    """Header first (given), records as given or built from canonical models, trailer computed."""

    def __init__(self, adapter: _FcrAdapter) -> None:
        self.a = adapter
        self.header: Mapping[str, Any] | None = None
        self.count = 0
        self.closed = False

    def run(self, records: Iterable[Mapping[str, Any]]) -> Iterator[bytes]:
        for rec in records:
            if self.closed:
                raise RecordError("RENDER_ORDER", "record after the trailer")
            rtype, data = str(rec.get("type")), rec.get("data")
            layout = self.a.records.layouts.get(rtype)
            if layout is None and isinstance(rec.get("canonical"), CanonicalModel):
                rtype, data = self.a.to_record(rec["canonical"], self.state())
                layout = self.a.records.layouts[rtype]
            if layout is None:
                raise RecordError("RENDER_TYPE", f"unknown record type {rtype!r} for {self.a.key}")
            yield from self.one(layout, data or {})
        if not self.closed:
            yield self.close({})

    def state(self) -> str:
        if self.header is None:
            raise RecordError("RENDER_ORDER", "the header record must come first")
        return str(self.header["state_code"])

    def one(self, layout: Layout, data: Mapping[str, Any]) -> Iterator[bytes]:
        rid = layout.fields[0].value
        if rid == self.a.header_id:
            if self.header is not None:
                raise RecordError("RENDER_ORDER", "a second header record")
            self.header = data
            yield render_line(layout, data)
        elif rid == self.a.trailer_id:
            yield self.close(data)
        else:
            self.state()
            self.count += 1
            yield render_line(layout, data)

    def close(self, given: Mapping[str, Any]) -> bytes:
        self.state()
        computed = {"record_count": self.count}
        agree(given, computed, "trailer")
        self.closed = True
        return render_line(self.a.records.by_id[self.a.trailer_id], computed)


# --------------------------------------------------------------------------- adapters


class _FcrAdapter:
    """What both FCR directions share; the subclasses name their layouts, ids and canonical mapping."""

    key: ClassVar[str]
    layout_names: ClassVar[tuple[str, ...]]
    header_id: ClassVar[str]
    trailer_id: ClassVar[str]
    builders: ClassVar[Mapping[str, Callable[[Mapping[str, Any]], Any]]]

    def __init__(self) -> None:
        self.records = RecordSet.load(FAMILY, self.layout_names)

    def to_record(self, model: CanonicalModel, state_code: str) -> tuple[str, dict[str, Any]]:
        """A canonical model as ``(record type, data)`` of this format, where the format has one."""
        raise RecordError("RENDER_TYPE", f"{self.key} does not render a canonical {model.kind}")

    def detect(self, head: bytes) -> bool:
        """The header record opens the file: its id, numeric state code, and the record length."""
        first = head.split(b"\n", 1)[0].rstrip(b"\r")
        length = self.records.length
        return (
            head[:2] == self.header_id.encode()
            and head[2:4].isdigit()
            and (len(first) == length or (len(head) > length and b"\n" not in head[:length]))
        )

    def parse(self, stream: BinaryIO) -> Iterator[Result]:
        return _Parser(self).run(stream)

    def render(self, records: Iterable[Mapping[str, Any]]) -> Iterator[bytes]:
        return _Renderer(self).run(records)


class FcrInputAdapter(_FcrAdapter):
    """State → FCR: case, person and locate request, and query records (``FA``…``FZ``)."""

    key: ClassVar[str] = "fcr-input"
    title: ClassVar[str] = "FCR input file (case, person/locate request, query records) — state to FPLS"
    direction: ClassVar[Direction] = Direction.OUTBOUND
    source: ClassVar[SourceInfo] = SOURCE
    layout_names = INPUT
    header_id, trailer_id = "FA", "FZ"
    builders = fc.INPUT_BUILDERS

    def to_record(self, model: CanonicalModel, state_code: str) -> tuple[str, dict[str, Any]]:
        return fc.to_input(model, state_code)


class FcrResponseAdapter(_FcrAdapter):
    """FCR → state: acknowledgments, proactive matches, locate responses, reconciliation."""

    key: ClassVar[str] = "fcr-response"
    title: ClassVar[str] = "FCR response file (acknowledgments, proactive matches, FF/FK/FN locate responses, RS)"
    direction: ClassVar[Direction] = Direction.INBOUND
    source: ClassVar[SourceInfo] = SOURCE
    layout_names = RESPONSE
    header_id, trailer_id = "FR", "FX"
    builders = fc.RESPONSE_BUILDERS
