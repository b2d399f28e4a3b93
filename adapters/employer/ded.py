"""The child support ``DED`` segment carried in a NACHA CCD+ addenda (Child Support Application
Banking Convention; X12 DED). Spec digest: shared/specs/employer-formats.md §2.1-§2.3.

Syntax: ``DED*CS*<case>*<YYMMDD>*<amount>*<ssn>*<Y|N|W>*<name>*<fips>*<Y>\\`` — elements are
preceded by ``*``, the segment ends with ``\\``; omitted optional elements in the middle keep their
``*``, trailing omitted ones may be dropped. The rest of the 80-byte addenda field is spaces.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from adapters.errors import RecordError
from adapters.layout import is_valid_ssn, load_codes, to_date

# CCD+ addenda positions 4-83 hold the payment-related information (employer-formats.md §2.4).
PRI_START, PRI_END = 4, 83
APPLICATION_IDS = frozenset(load_codes("ded_application_id"))
MEDICAL = frozenset(load_codes("ded_medical_support"))
_CASE_ID = re.compile(r"[^*\\ ][^*\\]{0,19}")  # AN 1/20, no delimiters, no leading space (e-IWO rule)
_AMOUNT = re.compile(r"\d{1,10}")
_NAME = re.compile(r"[^*\\]{1,10}")
_FIPS = re.compile(r"\d{5}|\d{7}")
ELEMENTS = (
    "application_id",
    "case_id",
    "pay_date",
    "amount",
    "ssn",
    "medical_support",
    "ncp_name",
    "fips",
    "employment_termination",
)


@dataclass(frozen=True, slots=True)
class DedOptions:
    """Per-SDU choices the digest leaves open (employer-formats.md §2.2, §2.7)."""

    zero_pad_amount: bool = False  # Virginia asks employers to zero-fill DED04 to 10 digits
    ctx_dates: bool = False  # DED03 is CCYYMMDD inside CTX (X12 4010+), YYMMDD in CCD+


def _fail(code: str, element: str, why: str) -> RecordError:
    return RecordError(
        code,
        f"payment_related_information {element}: {why}",
        field="payment_related_information",
        start=PRI_START,
        end=PRI_END,
    )


DED_TAG = "DED*"  # a CCD+ addenda carries the child support application when its text starts with this


def parse_ded(text: str, options: DedOptions = DedOptions()) -> dict[str, Any]:
    """Parse and validate one DED segment; raise ``RecordError`` (no personal data in messages)."""
    body = text.rstrip(" ")
    if not body.endswith("\\"):
        raise _fail("DED_SYNTAX", "segment", "must end with the segment terminator '\\'")
    parts = body[:-1].split("*")
    if parts[0] != "DED":
        raise _fail("DED_SYNTAX", "segment", "must start with 'DED'")
    elements = parts[1:]
    if "\\" in body[:-1]:
        raise _fail("DED_SYNTAX", "segment", "segment terminator inside the segment")
    if len(elements) < 6:
        raise _fail("DED_SYNTAX", "segment", f"{len(elements)} elements; DED01-DED06 are mandatory")
    if len(elements) > 9:
        raise _fail("DED_SYNTAX", "segment", f"{len(elements)} elements; DED has at most 9")
    elements += [""] * (9 - len(elements))
    app, case_id, pay_date, amount, ssn, medical, name, fips, term = elements
    if app not in APPLICATION_IDS:
        raise _fail("DED_APPLICATION_ID", "DED01", "not the DED application identifier")
    if not _CASE_ID.fullmatch(case_id):
        raise _fail("DED_CASE_ID", "DED02", "case identifier must be 1-20 characters, no delimiter, no leading space")
    date_len = 8 if options.ctx_dates else 6
    try:
        if len(pay_date) != date_len or not pay_date.isdigit():
            raise ValueError
        paid = to_date(pay_date, "CCYYMMDD" if options.ctx_dates else "YYMMDD")
        if paid is None:
            raise ValueError
    except ValueError:
        raise _fail(
            "DED_PAY_DATE", "DED03", f"pay date must be a valid {'CCYYMMDD' if options.ctx_dates else 'YYMMDD'}"
        ) from None
    if not _AMOUNT.fullmatch(amount):
        raise _fail("DED_AMOUNT", "DED04", "amount must be 1-10 digits, cents implied, no point or comma")
    if not is_valid_ssn(ssn):
        code = "DED_SSN" if len(ssn) == 9 and ssn.isdigit() else "DED_SSN_FORMAT"
        raise _fail(code, "DED05", "SSN must be 9 digits and pass SSA rules")
    if medical not in MEDICAL:
        raise _fail("DED_MEDICAL", "DED06", "must be Y, N or W")  # unquoted: a lost separator puts the name here
    if name and not _NAME.fullmatch(name):
        raise _fail("DED_NAME", "DED07", "name must be at most 10 characters")
    if fips and not _FIPS.fullmatch(fips):
        raise _fail("DED_FIPS", "DED08", "FIPS code must be 5 or 7 digits")
    if term not in ("", "Y"):
        raise _fail("DED_TERMINATION", "DED09", "employment termination indicator must be Y or omitted")
    cents = int(amount)
    if cents == 0 and term != "Y":
        raise _fail("DED_AMOUNT", "DED04", "a zero payment is allowed only when DED09 reports termination")
    return {
        "application_id": app,
        "case_id": case_id,
        "pay_date": paid,
        "amount": Decimal(cents).scaleb(-2),
        "ssn": ssn,
        "medical_support": medical,
        "ncp_name": name or None,
        "fips": fips or None,
        "employment_termination": term == "Y",
    }


def render_ded(d: dict[str, Any], options: DedOptions = DedOptions()) -> str:
    """Render a DED segment (trailing omitted elements dropped); validated by re-parsing."""
    pay_date = d["pay_date"]
    if isinstance(pay_date, str):
        pay_date = dt.date.fromisoformat(pay_date)
    cents = Decimal(str(d["amount"])).scaleb(2)
    if cents != cents.to_integral_value() or cents < 0:
        raise _fail("DED_AMOUNT", "DED04", "amount must be a non-negative number of cents")
    amount = f"{int(cents):010d}" if options.zero_pad_amount else str(int(cents))
    date_text = pay_date.strftime("%Y%m%d" if options.ctx_dates else "%y%m%d")
    elements = [
        d["application_id"],
        d["case_id"],
        date_text,
        amount,
        d["ssn"],
        d["medical_support"],
        d.get("ncp_name") or "",
        d.get("fips") or "",
        "Y" if d.get("employment_termination") else "",
    ]
    while elements and elements[-1] == "":
        elements.pop()
    text = DED_TAG + "*".join(str(e) for e in elements) + "\\"
    if len(text) > PRI_END - PRI_START + 1:
        raise _fail("DED_SYNTAX", "segment", "segment longer than the 80-character addenda field")
    parse_ded(text, options)
    return text


def ncp_name_element(last: str, first: str) -> str:
    """DED07: first 7 letters of the last name, then the first 3 of the first name; a comma between
    them when the last name has fewer than 7 letters (``DOE,JOH``; ``SMITHSOJOH``)."""
    last, first = last.upper().replace(" ", "")[:7], first.upper().replace(" ", "")[:3]
    return f"{last}{first}" if len(last) == 7 else f"{last},{first}"
