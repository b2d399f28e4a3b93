"""e-IWO employer acknowledgments (``A`` files, and the Portal's ``K`` echo of them): each ``ACK``
becomes a canonical ``EmployerAck`` tied to the order it answers by the document tracking identifier.

Spec: OCSE e-IWO Record Layouts, Appendix D, Chart D-4, as digested in shared/specs/employer-formats.md
§1.7: positions 1-6 CONFIRMED, 7-573 DERIVED from Kansas's production acknowledgment reader (573-byte
records, envelope padded to the same length). Layouts: ``mappings/employer/eiwo/ack*.toml``. The
disposition rules are data: ``mappings/codes/eiwo_ack_status.csv`` and ``eiwo_ack_reason.csv`` (the
codes), ``eiwo_ack_disposition.csv`` (which status/reason pairs answer which actions, and what each
requires), ``eiwo_ack_conditional_field.csv`` (fields that belong to one disposition only) and
``eiwo_ack_action.csv`` (what each action requires: the tracking id on answers, the SSN on notices).

Status and reason are read as the first non-blank character of 154-155 and 156-158, as Kansas does,
because Chart D-4 may define 1-byte fields inside those positions (§1.7.1). A ``K`` file is read with
the same layout and its Portal error fields go to ``EmployerAck.portal_errors`` (UNCONFIRMED, §1.7.1).

**Canonical.** An ACK the canonical ``EmployerAck`` refuses is rejected with the code the model's error
gives (``FEIN_INVALID``, ``STATE_CODE``, ``VALUE_INVALID``...) on the ACK field it is about, yet the
acknowledgment is built only when ``canonical`` is first read (``DeferredParsed``), from a copy of the
data as parsed. ``refusal_possible`` decides from the parsed data whether the model could refuse it, and
only then is it built at once. The layout and ``check_ack`` already enforce most of the model: text is
blank (None) or printable and non-blank, SSNs pass the SSA expression, ZIP codes and the joined phone are
digits of the model's width, amounts are unsigned with two decimals, status and reason are table codes.
What is left is checked per record: the case id (``CaseId``: this layout has no pattern for it), the
FEIN prefixes, USPS states, an employee without a first or last name that is not identified by SSN
alone, an address with parts but no line, city or ZIP, a new employer without a name, and the model's
disposition rules (``eiwo_common.ModelRules``, keyed by action, status, reason and whether the corrected
FEIN and the other state are given). tests/adapters/employer/test_eiwo_canonical_check.py puts edge
values into every field of a valid ACK to prove it.

``OrderIndex`` answers "which order does this acknowledgment answer" (§1.10): by tracking id, else
case id + employer FEIN + SSN; an ``EMP`` notice by SSN (and FEIN), possibly several orders.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, BinaryIO, ClassVar

from pydantic import ValidationError

from adapters.base import DeferredParsed, Direction, Parsed, Result, SourceInfo
from adapters.canonical import CaseId, EiwoActionCode, EmployerAck, Fein, IncomeWithholdingOrder
from adapters.employer.eiwo_common import (
    STATE,
    ZERO,
    Accepts,
    AddressMap,
    Batch,
    Envelope,
    EnvelopeReader,
    EnvelopeWriter,
    ModelRules,
    canonical_error,
    field_for,
    filled,
    get,
    loc_key,
    path_keys,
    put,
    table_names,
)
from adapters.errors import LayoutError, RecordError
from adapters.layout import load_code_rows, load_codes, load_layout

ENVELOPE = Envelope.load(573, "AK", b"ACK", prefix="ack_")
ACK = load_layout("employer/eiwo/ack.toml")
ENVELOPE_TYPES = frozenset({"file_header", "batch_header", "batch_trailer", "file_trailer"})
_FIELDS = frozenset(ACK.empty())


@dataclass(frozen=True, slots=True)
class Disposition:
    """One valid status/reason pair (a row of eiwo_ack_disposition.csv)."""

    status: str
    reason: str | None
    actions: frozenset[str]
    requires: tuple[str, ...]
    forbids: tuple[str, ...]  # the conditional fields of the groups it does not allow


STATUSES = load_codes("eiwo_ack_status")
REASONS = load_codes("eiwo_ack_reason")
ACTION_REQUIRES = {
    code: table_names("eiwo_ack_action", code, "requires", _FIELDS) for code in load_codes("eiwo_ack_action")
}
CONDITIONAL = {name: row["group"] for name, row in load_code_rows("eiwo_ack_conditional_field").items()}
if not set(CONDITIONAL) <= _FIELDS:
    raise LayoutError(f"eiwo_ack_conditional_field names unknown ACK fields {sorted(set(CONDITIONAL) - _FIELDS)}")


def _dispositions() -> dict[tuple[str, str | None], Disposition]:
    out = {}
    for code, row in load_code_rows("eiwo_ack_disposition").items():
        status, reason = row["status"], row["reason"] or None
        if status not in STATUSES or (reason is not None and reason not in REASONS):
            raise LayoutError(f"eiwo_ack_disposition row {code}: status/reason not in their code tables")
        allows = table_names("eiwo_ack_disposition", code, "allows", set(CONDITIONAL.values()))
        out[(status, reason)] = Disposition(
            status,
            reason,
            frozenset(table_names("eiwo_ack_disposition", code, "actions", ACTION_REQUIRES)),
            table_names("eiwo_ack_disposition", code, "requires", _FIELDS),
            tuple(name for name, group in CONDITIONAL.items() if group not in allows),
        )
    return out


DISPOSITIONS = _dispositions()


def _first(text: str | None) -> str | None:
    """Kansas reads the first non-blank character of the status and reason positions (§1.7.1)."""
    if text is None:
        return None
    return text.strip()[:1] or None


def check_ack(d: Mapping[str, Any]) -> Disposition:
    """The rules between ACK fields (tables named in the module docstring); ``RecordError`` names the field."""
    action = d["action_code"]
    for name in ACTION_REQUIRES[action]:
        if not filled(d.get(name)):
            raise ACK.field_error(name, "ACTION_FIELD_REQUIRED", f"required on an {action} acknowledgment")
    status, reason = d.get("disposition_status"), d.get("disposition_reason")
    if status is None:
        raise ACK.field_error("disposition_status", "REQUIRED", "every acknowledgment has a disposition status")
    if status not in STATUSES:
        raise ACK.field_error("disposition_status", "DISPOSITION_UNKNOWN", f"{status!r} is not a disposition status")
    if reason is not None and reason not in REASONS:
        raise ACK.field_error("disposition_reason", "REASON_UNKNOWN", f"{reason!r} is not a disposition reason")
    rule = DISPOSITIONS.get((status, reason))
    if rule is None or action not in rule.actions:
        raise ACK.field_error(
            "disposition_reason",
            "DISPOSITION_COMBINATION",
            f"status {status} with reason {reason or 'blank'} does not answer {action}",
        )
    for name in rule.requires:
        if not filled(d.get(name)):
            raise ACK.field_error(
                name, "DISPOSITION_FIELD_REQUIRED", f"required with status {status} reason {reason or 'blank'}"
            )
    if any(map(d.get, rule.forbids)):  # parsed values: truth is filled(); the loop below names the field
        name = next(name for name in rule.forbids if filled(d.get(name)))
        raise ACK.field_error(
            name, "DISPOSITION_FIELD_FORBIDDEN", f"must be blank with status {status} reason {reason or 'blank'}"
        )
    return rule


# =========================================================================== ACK ⇄ canonical EmployerAck

_DIRECT = (
    ("action", "action_code"),
    ("case_id", "case_id"),
    ("employer_fein", "employer_fein"),
    ("employee.ssn", "employee_ssn"),
    ("employee.name.last", "employee_last_name"),
    ("employee.name.first", "employee_first_name"),
    ("employee.name.middle", "employee_middle_name"),
    ("employee.name.suffix", "employee_suffix"),
    ("document_tracking_id", "document_tracking_id"),
    ("order_id", "order_id"),
    ("disposition", "disposition_status"),
    ("reason", "disposition_reason"),
    ("termination_date", "termination_date"),
    ("final_payment_date", "final_payment_date"),
    ("new_employer.name", "new_employer_name"),
    ("lump_sum_date", "lump_sum_date"),
    ("lump_sum_type", "lump_sum_type"),
    ("corrected_fein", "corrected_fein"),
    ("multi_iwo_state", "multi_iwo_state"),
)
_AMOUNTS = (("final_payment_amount", "final_payment_amount"), ("lump_sum_amount", "lump_sum_amount"))
_ADDRESSES = (
    AddressMap.of("employee.addresses[0]", "ncp_", "residential"),  # ACK 16-21: NCP last known address
    AddressMap.of("new_employer.addresses[0]", "new_employer_", "employer"),  # ACK 25-30
)
SOURCE = "eiwo-ack"  # Address/Employer.source: who reported the last known address and new employer

_DIRECT_KEYS = tuple((path_keys(path), name) for path, name in _DIRECT)
_AMOUNT_KEYS = tuple((path_keys(path), name) for path, name in _AMOUNTS)
_LOC_FIELD = {loc_key(keys): name for keys, name in (*_DIRECT_KEYS, *_AMOUNT_KEYS)}
for _address in _ADDRESSES:
    _LOC_FIELD |= _address.locations()
_LOC_FIELD[("employee", "home_phone")] = "ncp_phone_area_code"


def ack_json(d: Mapping[str, Any]) -> dict[str, Any]:
    """The canonical acknowledgment of a parsed ACK as plain data (zero amounts and blanks absent)."""
    out: dict[str, Any] = {"employee": {}}
    for keys, name in _DIRECT_KEYS:
        value = d.get(name)
        if value is not None:
            put(out, keys, value)
    for keys, name in _AMOUNT_KEYS:
        if d.get(name):
            put(out, keys, d[name])
    for address in _ADDRESSES:
        address.to_canonical(out, d, source=SOURCE)
    if "new_employer" in out:
        out["new_employer"]["source"] = SOURCE
    if d.get("ncp_phone_area_code") and d.get("ncp_phone_number"):  # ACK 464-473, joined: Phone is 10 digits
        out["employee"]["home_phone"] = d["ncp_phone_area_code"] + d["ncp_phone_number"]
    errors = [n for n in (d.get("first_error_field_name"), d.get("second_error_field_name")) if n]
    if errors:
        out["portal_errors"] = errors
    if d.get("multiple_error_indicator") == "T":
        out["portal_more_errors"] = True
    return out


def ack_from_record(data: Mapping[str, Any]) -> EmployerAck:
    """The canonical acknowledgment for a parsed ``ack`` record's data (raises ``RecordError``)."""
    try:
        return EmployerAck.model_validate(ack_json(data))
    except ValidationError as exc:
        first = exc.errors()[0]
        raise canonical_error(ACK, first, field_for(tuple(first["loc"]), _LOC_FIELD)) from None


_CASE_ID = Accepts(CaseId | None)
_FEIN = Accepts(Fein | None)
_ACK_RULES = ModelRules(EmployerAck, ("action", "disposition", "reason"), ("corrected_fein", "multi_iwo_state"))
_NCP_ADDRESS, _NEW_EMPLOYER_ADDRESS = _ADDRESSES


def refusal_possible(d: Mapping[str, Any]) -> bool:
    """True when ``EmployerAck`` might refuse this parsed ACK that passed ``check_ack`` (what is left to
    check, and why the rest cannot fail: the module docstring). Conservative: True means "build the
    acknowledgment now and see", never the reverse."""
    if (
        not _CASE_ID[d["case_id"]]
        or not _FEIN[d["employer_fein"]]
        or not _FEIN[d["corrected_fein"]]
        or not STATE[d["multi_iwo_state"]]
        or not _ACK_RULES[
            d["action_code"],
            d["disposition_status"],
            d["disposition_reason"],
            d["corrected_fein"] is not None,
            d["multi_iwo_state"] is not None,
        ]
    ):
        return True
    # a name needs a first or last part (PersonName); a person needs an SSN or a name (Person)
    if (
        d["employee_last_name"] is None
        and d["employee_first_name"] is None
        and (d["employee_ssn"] is None or d["employee_middle_name"] is not None or d["employee_suffix"] is not None)
    ):
        return True
    if _NCP_ADDRESS.refusal_possible(d) or _NEW_EMPLOYER_ADDRESS.refusal_possible(d):
        return True
    # a new employer has no FEIN here, so it needs its name (Employer)
    return d["new_employer_name"] is None and _NEW_EMPLOYER_ADDRESS.given(d)


def record_from_ack(ack: EmployerAck) -> dict[str, Any]:
    """The ``ack`` record data for a canonical acknowledgment: the inverse of ``ack_from_record``
    (unused amounts written as zeros, like the e-IWO detail record)."""
    d: dict[str, Any] = ACK.empty()
    for keys, name in _DIRECT_KEYS:
        value = get(ack, keys)
        d[name] = value.value if isinstance(value, EiwoActionCode) else value
    d["disposition_status"] = ack.disposition.value
    d["disposition_reason"] = ack.reason.value if ack.reason is not None else None
    for keys, name in _AMOUNT_KEYS:
        d[name] = get(ack, keys) or ZERO
    for address in _ADDRESSES:
        address.to_record(ack, d)
    phone = ack.employee.home_phone
    d["ncp_phone_area_code"], d["ncp_phone_number"] = (phone[:3], phone[3:]) if phone else (None, None)
    names = [*ack.portal_errors, None, None]
    d["first_error_field_name"], d["second_error_field_name"] = names[0], names[1]
    d["multiple_error_indicator"] = "T" if ack.portal_more_errors else None
    return d


# =========================================================================== the adapter


class EiwoAckAdapter:
    """e-IWO employer acknowledgment files (A; Portal K echo) ⇄ ``EmployerAck``."""

    key: ClassVar[str] = "eiwo-ack"
    title: ClassVar[str] = "e-IWO employer acknowledgments (ACK, 573-byte records)"
    direction: ClassVar[Direction] = Direction.BOTH
    source: ClassVar[SourceInfo] = SourceInfo(
        document="OCSE e-IWO Record Layouts, Appendix D (Charts D-1, D-2, D-4)",
        version="v4.0 (2021-08-25) as derived; 573-byte records",
        status="mixed",
        notes="ACK 1-6 confirmed; 7-573 derived from Kansas's reader; status/reason combinations are data",
    )

    def detect(self, head: bytes) -> bool:
        """An acknowledgment file starts with an ``FHA``/``FHK`` header: creation date and time digits at
        49-62, and a first record no longer than 573 bytes."""
        first = head.split(b"\n", 1)[0].rstrip(b"\r")
        return (
            head[:3] in (b"FHA", b"FHK")
            and head[48:62].isdigit()
            and (len(first) <= ENVELOPE.length or head[ENVELOPE.length : ENVELOPE.length + 2] in (b"BH", b"FT"))
        )

    def parse(self, stream: BinaryIO) -> Iterator[Result]:
        reader = EnvelopeReader(ENVELOPE)

        def ack(line_no: int, raw: bytes, batch: Batch) -> Result:
            try:
                data = ACK.parse(raw)
                data["disposition_status"] = _first(data["disposition_status"])
                data["disposition_reason"] = _first(data["disposition_reason"])
                check_ack(data)
                canonical = ack_from_record(data) if refusal_possible(data) else None
            except RecordError as err:
                return reader.reject(line_no, err, "ack")
            if canonical is not None:
                return Parsed(reader.next_no(), "ack", data, line_no, canonical)
            return DeferredParsed(reader.next_no(), "ack", data, line_no, ack_from_record, dict(data))

        return reader.run(stream, ack)

    def render(self, records: Iterable[Mapping[str, Any]]) -> Iterator[bytes]:
        """Records of ``parse`` written as given; canonical acknowledgments (``{"type": "employer_ack",
        "data": ...}`` or a ``canonical`` ``EmployerAck``) one batch per employer FEIN, after a
        ``file_header`` record (an acknowledgment carries nothing to derive one from)."""
        w = EnvelopeWriter(ENVELOPE)
        for rec in records:
            rtype, data = str(rec.get("type")), rec.get("data") or {}
            if rtype in ENVELOPE_TYPES:
                yield from w.envelope(rtype, data)
            elif rtype == "ack":
                yield w.detail(_ack_line(data))
            else:
                ack = _ack_of(rtype, data, rec.get("canonical"))
                yield from w.canonical(_ack_line(record_from_ack(ack)), str(ack.employer_fein))
        yield from w.finish(_no_default_header)


def _ack_line(data: Mapping[str, Any]) -> bytes:
    """Render one ACK and prove it: it must re-parse and pass the disposition rules."""
    text = ACK.render(data)
    check_ack(ACK.parse_text(text))
    return (text + "\n").encode("ascii")


def _ack_of(rtype: str, data: Mapping[str, Any], canonical: Any) -> EmployerAck:
    if isinstance(canonical, EmployerAck):
        return canonical
    if rtype == "employer_ack":
        try:
            return EmployerAck.model_validate(data)
        except ValidationError as exc:
            raise RecordError("RENDER_VALUE", f"employer_ack record is not a valid EmployerAck: {exc}") from None
    raise RecordError("RENDER_TYPE", f"record type {rtype!r} is neither an acknowledgment record nor an EmployerAck")


def _no_default_header() -> dict[str, Any]:
    raise RecordError("RENDER_ORDER", "give a file_header record (control_number, creation_date, creation_time)")


# =========================================================================== ack → order


class OrderIndex:
    """The orders sent, indexed the ways an acknowledgment can name one (employer-formats.md §1.10)."""

    def __init__(self, orders: Iterable[IncomeWithholdingOrder]) -> None:
        self.by_tracking: dict[str, IncomeWithholdingOrder] = {}
        self.by_case: dict[tuple[str, str | None, str | None], IncomeWithholdingOrder] = {}
        self.by_ssn: dict[str, list[IncomeWithholdingOrder]] = {}
        for o in orders:
            self.by_tracking[o.document_tracking_id] = o
            self.by_case[(o.case_id, o.employer.fein, o.employee.ssn)] = o
            if o.employee.ssn is not None:
                self.by_ssn.setdefault(o.employee.ssn, []).append(o)

    def answered_by(self, ack: EmployerAck) -> list[IncomeWithholdingOrder]:
        """The order an answer (A/R) refers to — tracking id first, then case id + FEIN + SSN — or, for an
        employer-initiated notice (EMP), every order for that employee at that employer."""
        if ack.action is EiwoActionCode.EMP:
            return [
                o
                for o in self.by_ssn.get(ack.employee.ssn or "", [])
                if ack.employer_fein is None or o.employer.fein == ack.employer_fein
            ]
        found = self.by_tracking.get(ack.document_tracking_id or "")
        if found is None and ack.case_id is not None:
            found = self.by_case.get((ack.case_id, ack.employer_fein, ack.employee.ssn))
        return [found] if found is not None else []
