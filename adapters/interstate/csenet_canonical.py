"""CSENet transaction data ⇄ the canonical ``InterstateTransaction`` (adapters/canonical.py).

``to_canonical`` reads the dict the adapter parses (header fields plus block dicts keyed by the
mapping field names) and builds the canonical record; ``from_canonical`` is its inverse, so the gateway
can compose a transaction from case events and render it. What has no canonical home (physical
description, bank account for EFT, driver's licence, order docket number...) travels in ``extra``
under the block's key with the mapping's field names, so nothing is lost either way.

Which state a block describes follows the header's point of reference (agency-formats.md §1.1): the
Case block is the *sender's* case, i.e. ours on an outbound transaction and the partner's inbound.
Address and employer ``source`` values name the CSENet slot they came from (``csenet:mailing``,
``csenet:employer2``...) so the inverse can put each back where it was.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from decimal import Decimal
from functools import cache
from typing import Any

from pydantic import TypeAdapter, ValidationError

from adapters.canonical import (
    Address,
    AddressType,
    ArrearsCategory,
    Case,
    CaseStatus,
    Collection,
    Confirmation,
    Email,
    Employer,
    InterstateTransaction,
    LocateMatchType,
    LocateResult,
    Order,
    ParticipantRole,
    Person,
    PersonName,
)
from adapters.errors import RecordError
from adapters.interstate.csenet_rules import EMPLOYER_SLOTS, read_table

CONFIRM = {"Y": Confirmation.VERIFIED, "N": Confirmation.NOT_VERIFIED, "P": Confirmation.PARTIAL}
CONFIRM_CODE = {v: k for k, v in CONFIRM.items()}
STATUS = {"O": CaseStatus.OPEN, "C": CaseStatus.CLOSED}
STATUS_CODE = {v: k for k, v in STATUS.items()}
YES_NO = {"Y": True, "N": False}
ARREARS = (
    ("arrears_tanf", ArrearsCategory.TANF),
    ("arrears_non_tanf", ArrearsCategory.NON_TANF),
    ("foster_care", ArrearsCategory.FOSTER_CARE),
    ("medical", ArrearsCategory.MEDICAL),
)
NCP_EXTRA = (
    "race",
    "height_ft",
    "height_in",
    "weight",
    "hair_color",
    "eye_color",
    "distinguishing_marks",
    "possibly_dangerous",
    "maiden_name",
    "mothers_maiden_or_fathers_name",
)
LOCATE_EXTRA = (
    "drivers_license_state",
    "drivers_license_num",
    "spouse_name_last",
    "spouse_name_first",
    "spouse_name_middle",
    "spouse_name_suffix",
    "occupation",
    "insurance_carrier_name",
    "insurance_policy_num",
    "professional_licenses",
)
PARTICIPANT_EXTRA = (
    "race",
    "relationship",
    "participant_status",
    "dependent_relation_cp",
    "child_state_of_residence",
    "paternity_status",
)
HEADER_EXTRA = (
    "error_reason_code",
    "transaction_type",
    "due_date",
    "response_date",
    "processing_complete",
    "attachments_due_date",
    "sent_to_state_host",
    "interstate_forms_printed",
)
# Each address slot's field names: (prefix of lines 1-2, prefix of city/state/zip), as the charts spell them.
ADDRESS_SLOTS: dict[str, tuple[str, str]] = {
    "payment": ("payment_mail_address_", "payment_"),
    "contact": ("contact_address_", "contact_"),
    "residential": ("residential_address_", "residential_"),
    "mailing": ("mailing_address_", "mailing_"),
    "last_residential": ("last_res_address_", "last_res_"),
    "last_mailing": ("last_mail_address_", "last_mail_"),
    **{slot: (f"{slot}_address_", f"{slot}_") for slot in (*EMPLOYER_SLOTS, "last_employer")},
    "participant": ("address_", ""),
    "participant_employer": ("employer_address_", "employer_"),
}


@cache
def address_fields(slot: str) -> tuple[str, ...]:
    lines, place = ADDRESS_SLOTS[slot]
    return (f"{lines}line_1", f"{lines}line_2", f"{place}city", f"{place}state", f"{place}zip_1", f"{place}zip_2")


_EMAIL: TypeAdapter[str] = TypeAdapter(Email)
LOCATOR = re.compile(r"[0-9]{2}[0-9A-Z]{3}(?:[0-9A-Z]{2})?")  # canonical LocatorCode


@cache
def _codes(table: str, column: str) -> dict[str, str]:
    """``code → column`` of a CSENet code table, e.g. frequency letter → canonical frequency word."""
    return {r["code"]: r[column] for r in read_table(f"codes/{table}.csv")}


def _inverse(table: str, column: str) -> dict[str, str]:
    return {v: k for k, v in _codes(table, column).items() if v}


# =========================================================================== data → canonical
#
# The builders below return plain dicts (model field → value) and ``to_canonical`` validates the whole
# tree once: one pydantic call instead of one per nested model, with the same rules and the same result.

Tree = dict[str, Any]


def to_canonical(data: Mapping[str, Any]) -> InterstateTransaction:
    """Build the canonical record; raises ``pydantic.ValidationError`` (a ValueError) if it cannot."""
    outbound = data.get("direction") == "outbound"
    extra: dict[str, Any] = {"direction": data.get("direction")}
    header = _jsonable({k: data.get(k) for k in HEADER_EXTRA if data.get(k) is not None})
    if header:
        extra["header"] = header
    other_fips = _fips(data, "other_fips")
    sender_fips = _fips(data, "local_fips") if outbound else other_fips
    sender_case = data.get("case_id") if outbound else data.get("other_case_id")
    ncp = _ncp(data.get("ncp_identification"))
    info = data.get("information") or {}
    lines = [info.get(f"information_text_line_{i}") for i in range(1, 6)]
    text = [s for s in lines if s]
    if "information" in data and data["information"] is not None:
        extra["information"] = True  # the block's presence, even when it carries only a status code
        if lines[: len(text)] != text:
            extra["information_lines"] = [s or "" for s in lines]  # keep blank lines where they were
    return InterstateTransaction.model_validate(
        {
            "serial_number": data["transaction_serial_number"],
            "function": data["functional_type_code"],
            "action": data["action_code"],
            "reason": data.get("action_reason"),
            "local_fips": _fips(data, "local_fips"),
            "other_fips": other_fips,
            "case_id": data.get("case_id"),
            "other_case_id": data.get("other_case_id"),
            "transaction_date": data["transaction_date"],
            "action_resolution_date": data.get("action_resolution_date"),
            "attachments": data.get("attachments_ind") == "Y",
            "sent_date": data.get("sent_date"),
            "sent_time": _time(data.get("sent_time")),
            "received_date": data.get("date_received"),
            "received_time": _time(data.get("time_received")),
            "case": _case(data.get("case"), sender_case, sender_fips, extra),
            "ncp": ncp,
            "ncp_locate": _locate(data, ncp, sender_fips, sender_case, extra),
            "participants": [_participant(p) for p in data.get("participants") or ()],
            "orders": [_order(o, i, extra) for i, o in enumerate(data.get("orders") or ())],
            "collections": [_collection(c) for c in data.get("collections") or ()],
            "status_change": STATUS.get(info.get("status_change_code") or ""),
            "new_case_id": info.get("new_case_id"),
            "information_text": text,
            "extra": extra,
        }
    )


def _jsonable(values: Mapping[str, Any]) -> dict[str, Any]:
    return {
        k: v.isoformat() if isinstance(v, dt.date) else str(v) if isinstance(v, Decimal) else v
        for k, v in values.items()
    }


def _pick(block: Mapping[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
    return _jsonable({k: block[k] for k in names if block.get(k) is not None})


def _fips(block: Mapping[str, Any], prefix: str) -> str:
    return f"{block[prefix + '_state']}{block[prefix + '_county']}{block.get(prefix + '_sub') or ''}"


def _locator(block: Mapping[str, Any], prefix: str) -> str | None:
    """State + county + optional sub when they form a canonical locator code, else None."""
    parts = [block.get(f"{prefix}_{k}") or "" for k in ("state", "county", "sub")]
    code = "".join(parts)
    return code if LOCATOR.fullmatch(code) and len(parts[0]) == 2 and len(parts[1]) == 3 else None


def _time(text: str | None) -> dt.time | None:
    return None if text is None else dt.time(int(text[:2]), int(text[2:4]), int(text[4:6]))


@cache
def _name_fields(prefix: str) -> tuple[str, str, str, str]:
    return f"{prefix}first", f"{prefix}middle", f"{prefix}last", f"{prefix}suffix"


def _name(block: Mapping[str, Any], prefix: str) -> Tree | None:
    """A ``PersonName``: the four parts; None when neither a first nor a last part is given."""
    first, middle, last, suffix = (block.get(k) for k in _name_fields(prefix))
    if first is None and last is None:
        return None
    return {"first": first, "middle": middle, "last": last, "suffix": suffix}


def _address(block: Mapping[str, Any], slot: str, kind: AddressType, **more: Any) -> Tree | None:
    line1, line2, city, state, zip5, zip4 = (block.get(name) for name in address_fields(slot))
    if not (line1 or line2 or city or zip5):
        return None
    return {
        "address_type": kind,
        "line1": line1,
        "line2": line2,
        "city": city,
        "state": state,
        "zip5": zip5,
        "zip4": zip4,
        "source": f"csenet:{slot}",
        **more,
    }


def _case(block: Mapping[str, Any] | None, case_id: str | None, fips: str, extra: dict[str, Any]) -> Tree | None:
    if block is None:
        return None
    ivd, assistance = _codes("csenet_case_type", "case_type"), _codes("csenet_case_type", "assistance_type")
    contact = {
        "name_parts": _name(block, "contact_name_"),
        "phone": block.get("contact_phone_num"),
        "phone_extension": block.get("phone_extension"),
        "fax": block.get("fax"),
        "address": _address(block, "contact", AddressType.CONTACT),
    }
    kept = _pick(block, ("send_payments_bank_account", "send_payments_routing_code"))
    text = block.get("internet_address")
    if text and is_email(text):
        contact["email"] = text
    elif text:
        kept["internet_address"] = text  # a web address or other text: not an e-mail address
    if kept:
        extra["case"] = kept
    return {
        "case_id": case_id,
        "fips": fips,
        "case_type": ivd[block["case_type"]],
        "assistance_type": assistance[block["case_type"]] or None,
        "status": STATUS[block["case_status"]],
        "payment_address": _address(block, "payment", AddressType.PAYMENT),
        "payment_fips": _locator(block, "payment_fips"),
        "contact": contact if any(v is not None for v in contact.values()) else None,
        "responding_tribunal_number": block.get("responding_docket_num"),
        "initiating_tribunal_number": block.get("initiating_docket_num"),
        "state_with_cej": block.get("state_with_cej"),
        "nondisclosure_finding": YES_NO.get(block.get("nondisclosure_finding") or ""),
    }


def is_email(text: str) -> bool:
    """Whether the Case block's Internet-Address is an e-mail address the canonical ``Email`` accepts."""
    return accepts(_EMAIL, text)


def accepts(check: TypeAdapter[Any], value: Any) -> bool:
    """Whether the canonical type behind ``check`` accepts ``value``."""
    try:
        check.validate_python(value)
    except ValidationError:
        return False
    return True


def _ncp(block: Mapping[str, Any] | None) -> Tree | None:
    if block is None:
        return None
    return {
        "role": ParticipantRole.NCP,
        "ssn": block.get("ssn"),
        "name": _name(block, "name_"),
        "alias_ssns": [s for s in (block.get("alias_ssn_1"), block.get("alias_ssn_2")) if s],
        "dob": block.get("date_of_birth"),
        "sex": block.get("gender") or None,
        "place_of_birth": block.get("place_of_birth"),
        "extra": _pick(block, NCP_EXTRA),
    }


def _employer(block: Mapping[str, Any], slot: str) -> Tree | None:
    p = f"{slot}_"
    if not (block.get(p + "name") or block.get(p + "ein")):
        return None
    wages = []
    if block.get(p + "wage_qtr") is not None and block.get(p + "wage_year") is not None:
        wages.append(
            {
                "year": block[p + "wage_year"],
                "quarter": block[p + "wage_qtr"],
                "amount": block.get(p + "wage_amount") or Decimal(0),
            }
        )
    address = _address(block, slot, AddressType.EMPLOYER)
    return {
        "fein": block.get(p + "ein"),
        "name": block.get(p + "name"),
        "addresses": [address] if address else [],
        "phone": block.get(p + "phone_num"),
        "source": f"csenet:{slot}",
        "as_of": block.get(p + "effective_date"),
        "end_date": block.get(p + "end_date"),
        "confirmed": CONFIRM.get(block.get(p + "confirmed_ind") or ""),
        "reported_wages": wages,
    }


def _locate(
    data: Mapping[str, Any], ncp: Tree | None, sender_fips: str, sender_case: str | None, extra: dict[str, Any]
) -> Tree | None:
    block = data.get("ncp_locate")
    if block is None:
        return None
    addresses = [
        a
        for a in (
            _address(
                block,
                "residential",
                AddressType.RESIDENTIAL,
                as_of=block.get("residential_address_effective_date"),
                end_date=block.get("residential_address_end_date"),
                confirmed=CONFIRM.get(block.get("residential_address_confirmed_ind") or ""),
            ),
            _address(
                block,
                "mailing",
                AddressType.MAILING,
                as_of=block.get("mailing_address_effective_date"),
                end_date=block.get("mailing_address_end_date"),
                confirmed=CONFIRM.get(block.get("mailing_address_confirmed_ind") or ""),
            ),
            _address(block, "last_residential", AddressType.RESIDENTIAL, end_date=block.get("last_res_address_date")),
            _address(block, "last_mailing", AddressType.MAILING, end_date=block.get("last_mail_address_date")),
        )
        if a is not None
    ]
    employers = [e for e in (_employer(block, s) for s in EMPLOYER_SLOTS) if e is not None]
    last = block.get("last_employer_name")
    if last:
        address = _address(block, "last_employer", AddressType.EMPLOYER)
        # Chart C-7: Last-Employer-Date = last employed there; Last-Employer-Eff-Date = found invalid.
        employers.append(
            {
                "name": last,
                "addresses": [address] if address else [],
                "source": "csenet:last_employer",
                "end_date": block.get("last_employer_date"),
                "as_of": block.get("last_employer_eff_date"),
            }
        )
    aliases = [n for n in (_name(block, f"alias_{i}_") for i in (1, 2, 3)) if n is not None]
    kept = _pick(block, LOCATE_EXTRA)
    person = None
    if ncp is not None:
        person = {
            "role": ParticipantRole.NCP,
            "ssn": ncp["ssn"],
            "name": ncp["name"],
            "aliases": aliases,
            "home_phone": block.get("home_phone_num"),
            "work_phone": block.get("work_phone_num"),
        }
    elif aliases or block.get("home_phone_num") or block.get("work_phone_num"):
        kept.update(_pick(block, ("home_phone_num", "work_phone_num")))
        kept["aliases"] = [{k: v for k, v in a.items() if v is not None} for a in aliases]
    if kept:
        extra["ncp_locate"] = kept
    lo1_answer = data["functional_type_code"] == "LO1" and data["action_code"] == "P"
    return {
        "person": person,
        "case_id": sender_case,
        "returned_by": f"CSENet {sender_fips}",
        "match_type": LocateMatchType.LOCATE_RESPONSE if lo1_answer else None,
        "date_reported": data["transaction_date"],
        "addresses": addresses,
        "employers": employers,
    }


def _participant(block: Mapping[str, Any]) -> Tree:
    roles = _codes("csenet_relationship", "role")
    address = _address(
        block,
        "participant",
        AddressType.RESIDENTIAL,
        as_of=block.get("date_address_confirmed"),
        confirmed=CONFIRM.get(block.get("address_confirmed") or ""),
    )
    employer = None
    if block.get("employer_name") or block.get("employer_ein"):
        emp_address = _address(block, "participant_employer", AddressType.EMPLOYER)
        employer = {
            "fein": block.get("employer_ein"),
            "name": block.get("employer_name"),
            "addresses": [emp_address] if emp_address else [],
            "source": "csenet:participant_employer",
            "as_of": block.get("date_employer_confirmed"),
            "confirmed": CONFIRM.get(block.get("employer_confirmed") or ""),
        }
    relationship = block.get("relationship")
    return {
        "role": roles[relationship] if relationship else None,
        "ssn": block.get("ssn"),
        "name": _name(block, "name_"),
        "dob": block.get("date_of_birth"),
        "sex": block.get("gender") or None,
        "addresses": [address] if address else [],
        "employers": [employer] if employer else [],
        "work_phone": block.get("work_phone"),
        "place_of_birth": block.get("place_of_birth"),
        "extra": _pick(block, PARTICIPANT_EXTRA),
    }


def _periodic(amount: Decimal | None, freq: str | None) -> Tree | None:
    if amount is None and freq is None:
        return None
    words = _codes("csenet_frequency", "canonical")
    return {"amount": amount or Decimal(0), "frequency": words[freq] if freq else None}


def _order(block: Mapping[str, Any], i: int, extra: dict[str, Any]) -> Tree:
    fips = _locator(block, "order_fips")
    kept = _pick(block, ("docket_num",))
    if fips is None:  # a tribe or country code the canonical locator form does not hold
        kept.update(_pick(block, ("order_fips_state", "order_fips_county", "order_fips_sub")))
    if kept:
        extra.setdefault("orders", {})[str(i)] = kept
    arrears = [
        {
            "category": cat,
            "amount": block.get(f"{p}_amount") or Decimal(0),
            "from_date": block.get(f"{p}_from_date"),
            "thru_date": block.get(f"{p}_thru_date"),
        }
        for p, cat in ARREARS
        if any(block.get(f"{p}_{k}") is not None for k in ("amount", "from_date", "thru_date"))
    ]
    order_type, debt_type = block.get("order_type"), block.get("debt_type")
    return {
        "order_id": block.get("order_id"),
        "tribunal_number": block.get("tribunal_case_number"),
        "issuing_fips": fips,
        "order_type": _codes("csenet_order_type", "canonical")[order_type] if order_type else None,
        "debt_type": _codes("csenet_debt_type", "canonical")[debt_type] if debt_type else None,
        "filing_date": block.get("order_filing_date"),
        "start_date": block.get("order_effective_date"),
        "end_date": block.get("order_end_date"),
        "cancel_date": block.get("order_cancel_date"),
        "current_support": _periodic(block.get("order_freq_amount"), block.get("order_freq")),
        "past_due_support": _periodic(block.get("order_arrears_freq_amount"), block.get("order_arrears_freq")),
        "arrears_total": block.get("order_arrears_total_amount"),
        "arrears_by_type": arrears,
        "medical_ordered": YES_NO.get(block.get("medical_ordered") or ""),
        "last_payment_date": block.get("date_of_last_payment"),
        "controlling": {"P": "presumed", "D": "determined"}.get(block.get("controlling_order_flag") or ""),
        "new_order": YES_NO.get(block.get("new_order_flag") or ""),
    }


def _collection(block: Mapping[str, Any]) -> Tree:
    source, method = block.get("payment_source"), block.get("interstate_payment_method")
    return {
        "collection_date": block.get("date_of_collection"),
        "posting_date": block.get("date_of_posting"),
        "amount": block.get("payment_amount") or Decimal(0),  # Kansas reader: a blank amount is zero (§1.8)
        "source": _codes("csenet_payment_source", "canonical")[source] if source else None,
        "method": _codes("csenet_payment_method", "canonical")[method] if method else None,
        "rdfi_id": block.get("rdfi_id"),
        "rdfi_account": block.get("rdfi_account_num"),
    }


# =========================================================================== canonical → data


def from_canonical(txn: InterstateTransaction, default_direction: str) -> dict[str, Any]:
    """The transaction data ``CsenetAdapter.render`` writes; ``extra`` restores what has no canonical home.

    Raises ``RecordError`` when the canonical record holds more than the CSENet blocks can carry."""
    extra = txn.extra
    direction = str(extra.get("direction") or default_direction)
    data: dict[str, Any] = {"direction": direction}
    for prefix, code in (("local_fips", txn.local_fips), ("other_fips", txn.other_fips)):
        data.update({f"{prefix}_state": code[:2], f"{prefix}_county": code[2:5], f"{prefix}_sub": code[5:] or None})
    data.update(
        transaction_serial_number=txn.serial_number,
        action_code=txn.action.value,
        functional_type_code=txn.function.value,
        transaction_date=txn.transaction_date,
        case_id=txn.case_id,
        other_case_id=txn.other_case_id,
        action_reason=txn.reason,
        action_resolution_date=txn.action_resolution_date,
        attachments_ind="Y" if txn.attachments else "N",
    )
    if direction == "outbound":
        data.update(sent_date=txn.sent_date, sent_time=_hhmmss(txn.sent_time))
    else:
        data.update(date_received=txn.received_date, time_received=_hhmmss(txn.received_time))
    data.update(_mapping(extra.get("header")))
    data["case"] = _case_block(txn.case, _mapping(extra.get("case"))) if txn.case else None
    data["ncp_identification"] = _ncp_block(txn.ncp) if txn.ncp else None
    data["ncp_locate"] = _locate_block(txn.ncp_locate, _mapping(extra.get("ncp_locate"))) if txn.ncp_locate else None
    data["participants"] = [_participant_block(p) for p in txn.participants]
    orders_extra = _mapping(extra.get("orders"))
    data["orders"] = [_order_block(o, _mapping(orders_extra.get(str(i)))) for i, o in enumerate(txn.orders)]
    data["collections"] = [_collection_block(c) for c in txn.collections]
    data["information"] = (
        _information_block(txn)
        if (extra.get("information") or txn.status_change or txn.new_case_id or txn.information_text)
        else None
    )
    return data


def _mapping(value: Any) -> dict[str, Any]:
    return dict(value) if isinstance(value, Mapping) else {}


def _hhmmss(value: dt.time | None) -> str | None:
    return None if value is None else value.strftime("%H%M%S")


def _too_many(what: str) -> RecordError:
    return RecordError("RENDER_VALUE", f"more {what} than the CSENet block can carry", field=what)


def _put_name(out: dict[str, Any], prefix: str, name: PersonName | None) -> None:
    if name is not None:
        out.update({f"{prefix}{k}": getattr(name, k) for k in ("first", "middle", "last", "suffix")})


def _put_address(out: dict[str, Any], slot: str, address: Address | None) -> None:
    if address is not None:
        values = (address.line1, address.line2, address.city, address.state, address.zip5, address.zip4)
        out.update(zip(address_fields(slot), values, strict=True))


def _case_block(case: Case, kept: dict[str, Any]) -> dict[str, Any]:
    letters = {(r["case_type"], r["assistance_type"]): r["code"] for r in read_table("codes/csenet_case_type.csv")}
    key = (case.case_type.value if case.case_type else "", case.assistance_type.value if case.assistance_type else "")
    out: dict[str, Any] = {
        "case_type": letters.get(key),
        "case_status": STATUS_CODE.get(case.status) if case.status else None,
        "responding_docket_num": case.responding_tribunal_number,
        "initiating_docket_num": case.initiating_tribunal_number,
        "state_with_cej": case.state_with_cej,
        "nondisclosure_finding": None
        if case.nondisclosure_finding is None
        else "Y"
        if case.nondisclosure_finding
        else "N",
    }
    _put_address(out, "payment", case.payment_address)
    if case.payment_fips:
        f = case.payment_fips
        out.update(payment_fips_state=f[:2], payment_fips_county=f[2:5], payment_fips_sub=f[5:] or None)
    c = case.contact
    if c is not None:
        _put_name(out, "contact_name_", c.name_parts)
        _put_address(out, "contact", c.address)
        out.update(contact_phone_num=c.phone, phone_extension=c.phone_extension, fax=c.fax, internet_address=c.email)
    out.update(kept)
    return out


def _ncp_block(person: Person) -> dict[str, Any]:
    out: dict[str, Any] = {
        "ssn": person.ssn,
        "date_of_birth": person.dob,
        "gender": person.sex.value if person.sex else None,
        "place_of_birth": person.place_of_birth,
    }
    _put_name(out, "name_", person.name)
    if len(person.alias_ssns) > 2:
        raise _too_many("alias_ssns")
    out.update({f"alias_ssn_{i}": s for i, s in enumerate(person.alias_ssns, start=1)})
    out.update(person.extra)
    return out


def _slot_of(source: str | None, free: list[str], preferred: list[str]) -> str:
    """The CSENet slot an address/employer came from (``csenet:<slot>``), else the first free preferred
    slot, else the first free one; the slot is taken out of ``free``."""
    if source and source.startswith("csenet:") and source[7:] in free:
        slot = source[7:]
    else:
        candidates = [s for s in preferred if s in free] or free
        if not candidates:
            raise _too_many("addresses or employers")
        slot = candidates[0]
    free.remove(slot)
    return slot


def _locate_block(result: LocateResult, kept: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    free = ["residential", "mailing", "last_residential", "last_mailing"]
    for a in result.addresses:
        slot = _slot_of(a.source, free, [s for s in free if s.endswith(a.address_type.value)])
        _put_address(out, slot, a)
        p = ADDRESS_SLOTS[slot][0]
        if slot.startswith("last_"):
            out[f"{p}date"] = a.end_date
        else:
            out.update(
                {
                    f"{p}effective_date": a.as_of,
                    f"{p}end_date": a.end_date,
                    f"{p}confirmed_ind": CONFIRM_CODE.get(a.confirmed) if a.confirmed else None,
                }
            )
    slots = [*EMPLOYER_SLOTS, "last_employer"]
    for e in result.employers:
        _put_employer(out, _slot_of(e.source, slots, list(EMPLOYER_SLOTS)), e)
    person = result.person
    if person is not None:
        if len(person.aliases) > 3:
            raise _too_many("aliases")
        for i, alias in enumerate(person.aliases, start=1):
            _put_name(out, f"alias_{i}_", alias)
        out.update(home_phone_num=person.home_phone, work_phone_num=person.work_phone)
    for i, alias in enumerate(kept.pop("aliases", []), start=1):
        out.update({f"alias_{i}_{k}": v for k, v in alias.items()})
    out.update(kept)
    return out


def _put_employer(out: dict[str, Any], slot: str, e: Employer) -> None:
    address = e.addresses[0] if e.addresses else None
    if slot == "last_employer":
        out.update(last_employer_name=e.name, last_employer_date=e.end_date, last_employer_eff_date=e.as_of)
        _put_address(out, slot, address)
        return
    p = f"{slot}_"
    out.update(
        {
            p + "ein": e.fein,
            p + "name": e.name,
            p + "phone_num": e.phone,
            p + "effective_date": e.as_of,
            p + "end_date": e.end_date,
            p + "confirmed_ind": CONFIRM_CODE.get(e.confirmed) if e.confirmed else None,
        }
    )
    _put_address(out, slot, address)
    if len(e.reported_wages) > 1:
        raise _too_many("reported_wages")
    for w in e.reported_wages:
        out.update({p + "wage_qtr": w.quarter, p + "wage_year": w.year, p + "wage_amount": w.amount})


def _participant_block(person: Person) -> dict[str, Any]:
    roles = _inverse("csenet_relationship", "role")
    out: dict[str, Any] = {
        "ssn": person.ssn,
        "date_of_birth": person.dob,
        "gender": person.sex.value if person.sex else None,
        "work_phone": person.work_phone,
        "place_of_birth": person.place_of_birth,
    }
    _put_name(out, "name_", person.name)
    out.update(person.extra)
    if person.role is not None:
        out["relationship"] = roles.get(person.role.value, out.get("relationship"))
    if len(person.addresses) > 1 or len(person.employers) > 1:
        raise _too_many("participant addresses or employers")
    for a in person.addresses:
        _put_address(out, "participant", a)
        out.update(
            address_confirmed=CONFIRM_CODE.get(a.confirmed) if a.confirmed else None, date_address_confirmed=a.as_of
        )
    for e in person.employers:
        _put_address(out, "participant_employer", e.addresses[0] if e.addresses else None)
        out.update(
            employer_name=e.name,
            employer_ein=e.fein,
            date_employer_confirmed=e.as_of,
            employer_confirmed=CONFIRM_CODE.get(e.confirmed) if e.confirmed else None,
        )
    return out


def _order_block(order: Order, kept: dict[str, Any]) -> dict[str, Any]:
    freq = _inverse("csenet_frequency", "canonical")
    out: dict[str, Any] = {
        "order_id": order.order_id,
        "tribunal_case_number": order.tribunal_number,
        "order_type": _inverse("csenet_order_type", "canonical").get(order.order_type.value)
        if order.order_type
        else None,
        "debt_type": _inverse("csenet_debt_type", "canonical").get(order.debt_type.value) if order.debt_type else None,
        "order_filing_date": order.filing_date,
        "order_effective_date": order.start_date,
        "order_end_date": order.end_date,
        "order_cancel_date": order.cancel_date,
        "order_arrears_total_amount": order.arrears_total,
        "date_of_last_payment": order.last_payment_date,
        "medical_ordered": None if order.medical_ordered is None else "Y" if order.medical_ordered else "N",
        "controlling_order_flag": {"presumed": "P", "determined": "D"}.get(order.controlling or ""),
        "new_order_flag": None if order.new_order is None else "Y" if order.new_order else "N",
        "order_freq_amount": Decimal(0),
    }
    if order.issuing_fips:
        f = order.issuing_fips
        out.update(order_fips_state=f[:2], order_fips_county=f[2:5], order_fips_sub=f[5:] or None)
    for name, pa in (("order", order.current_support), ("order_arrears", order.past_due_support)):
        if pa is not None:
            out[f"{name}_freq_amount"] = pa.amount
            out[f"{name}_freq"] = freq.get(pa.frequency.value) if pa.frequency else None
    prefix = {cat: p for p, cat in ARREARS}
    for bal in order.arrears_by_type:
        p = prefix.get(bal.category)
        if p is None:
            raise _too_many(f"arrears categories ({bal.category.value})")
        out.update({f"{p}_amount": bal.amount, f"{p}_from_date": bal.from_date, f"{p}_thru_date": bal.thru_date})
    out.update(kept)
    return out


def _collection_block(c: Collection) -> dict[str, Any]:
    return {
        "date_of_collection": c.collection_date,
        "date_of_posting": c.posting_date,
        "payment_amount": c.amount,
        "payment_source": _inverse("csenet_payment_source", "canonical").get(c.source.value) if c.source else None,
        "interstate_payment_method": _inverse("csenet_payment_method", "canonical").get(c.method.value)
        if c.method
        else None,
        "rdfi_id": c.rdfi_id,
        "rdfi_account_num": c.rdfi_account,
    }


def _information_block(txn: InterstateTransaction) -> dict[str, Any]:
    lines: list[str] = list(txn.information_text)
    kept = txn.extra.get("information_lines")
    if isinstance(kept, list) and [s for s in kept if s] == lines:
        lines = [str(s) for s in kept]
    if len(lines) > 5:
        raise _too_many("information lines")
    out: dict[str, Any] = {
        "status_change_code": STATUS_CODE.get(txn.status_change) if txn.status_change else None,
        "new_case_id": txn.new_case_id,
    }
    out.update({f"information_text_line_{i}": s or None for i, s in enumerate(lines, start=1)})
    return out
