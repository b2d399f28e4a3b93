"""CSENet transaction rules beyond the field layouts: valid function/action/reason combinations, the
header indicator rules and the cross-field edits of the IGD (shared/specs/agency-formats.md §1.6-§1.8).

The combinations (``mappings/codes/csenet_far.csv``, IGD Appendix B) and the indicator rules
(``mappings/codes/csenet_indicator_rules.csv``, chart C-3 comments) are data; this module only reads
them and applies them. Each check returns ``Fault`` objects naming the block and field, so the adapter
can turn them into positions within the transaction. Messages never carry field values of personal data.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from adapters.errors import LayoutError
from adapters.layout import MAPPINGS_DIR, parse_signed_amount, signed_amount_regex

# Block key in transaction data → header indicator field (header pos 90-96, chart C-3).
INDICATORS: dict[str, str] = {
    "case": "case_data_ind",
    "ncp_identification": "ncp_identification_ind",
    "ncp_locate": "ncp_locate_data_ind",
    "participants": "participant_data_ind",
    "orders": "order_data_ind",
    "collections": "collection_data_ind",
    "information": "information_ind",
}
# Names the indicator-rule table uses for each block key.
RULE_NAMES: dict[str, str] = {
    "case": "case",
    "ncp_identification": "ncp_identification",
    "ncp_locate": "ncp_locate",
    "participants": "participant",
    "orders": "order",
    "collections": "collection",
    "information": "information",
}
REPEATING = frozenset({"participants", "orders", "collections"})
# The three 172-byte employer slots of the NCP Locate block (agency-formats.md §1.5, chart C-7).
EMPLOYER_SLOTS = ("employer", "employer2", "employer3")
INFORMATION_LINES = tuple(f"information_text_line_{i}" for i in range(1, 6))


@dataclass(frozen=True, slots=True)
class Fault:
    """One broken rule: a stable code, a value-free message, and where (block, occurrence, field)."""

    code: str
    message: str
    block: str | None = None  # a key of INDICATORS, or None for the header
    index: int = 0
    field: str | None = None


@dataclass(frozen=True, slots=True)
class Far:
    """One valid function/action/reason combination (IGD Appendix B)."""

    code: str
    function: str
    action: str
    reason: str | None
    meaning: str
    status: str
    outbound: bool  # False: read when a partner sends it, never written by csgate (LO1 A)


@dataclass(frozen=True, slots=True)
class IndicatorRule:
    code: str
    indicator: str
    function: str
    action: str
    reason: str
    low: int
    high: int

    def matches(self, function: str, action: str, reason: str | None) -> bool:
        return self.function in ("*", function) and self.action in ("*", action) and reason_matches(self.reason, reason)


def reason_matches(pattern: str, reason: str | None) -> bool:
    """``*`` any; empty only a blank reason; otherwise position by position with ``?`` as wildcard."""
    if pattern == "*":
        return True
    if not pattern or reason is None:
        return not pattern and reason is None
    return len(pattern) == len(reason) and all(p in ("?", c) for p, c in zip(pattern, reason, strict=True))


def read_table(relpath: str) -> list[dict[str, str]]:
    """Rows of a CSV under ``mappings/`` (``#`` comment lines first, then a header row)."""
    path = MAPPINGS_DIR / relpath
    try:
        with path.open(encoding="utf-8", newline="") as fh:
            return list(csv.DictReader(line for line in fh if not line.startswith("#")))
    except FileNotFoundError:
        raise LayoutError(f"table {relpath!r} not found under {MAPPINGS_DIR}") from None


@cache
def far_table() -> dict[tuple[str, str, str | None], Far]:
    rows = read_table("codes/csenet_far.csv")
    out = {}
    for r in rows:
        far = Far(
            r["code"], r["function"], r["action"], r["reason"] or None, r["meaning"], r["status"], r["outbound"] == "Y"
        )
        out[(far.function, far.action, far.reason)] = far
    if not out:
        raise LayoutError("codes/csenet_far.csv is empty")
    return out


@cache
def indicator_rules() -> dict[str, tuple[IndicatorRule, ...]]:
    rules: dict[str, list[IndicatorRule]] = {}
    for r in read_table("codes/csenet_indicator_rules.csv"):
        rule = IndicatorRule(
            r["code"], r["indicator"], r["function"], r["action"], r["reason"], int(r["min"]), int(r["max"])
        )
        if rule.indicator not in RULE_NAMES.values():
            raise LayoutError(f"csenet_indicator_rules.csv {rule.code}: unknown indicator {rule.indicator!r}")
        rules.setdefault(rule.indicator, []).append(rule)
    return {k: tuple(v) for k, v in rules.items()}


@cache  # a file repeats few combinations; the rule scan is the costliest rule check otherwise
def allowed_count(block: str, function: str, action: str, reason: str | None) -> tuple[int, int, str]:
    """``(min, max, rule code)`` for how many blocks of ``block`` this combination may carry."""
    name = RULE_NAMES[block]
    for rule in indicator_rules().get(name, ()):
        if rule.matches(function, action, reason):
            return rule.low, rule.high, rule.code
    return 0, 9 if block in REPEATING else 1, "default"


def lookup_far(function: str, action: str, reason: str | None) -> Far | None:
    return far_table().get((function, action, reason))


# --------------------------------------------------------------------------- checks


def check_transaction(data: Mapping[str, Any]) -> Iterator[Fault]:
    """Every rule fault of one decoded transaction, most fundamental first."""
    f, a, r = data["functional_type_code"], data["action_code"], data.get("action_reason")
    far = lookup_far(f, a, r)
    if far is None:
        yield Fault(
            "FAR_INVALID",
            f"action reason {r or '(blank)'} is not valid with {f} {a} (IGD Appendix B)",
            None,
            0,
            "action_reason",
        )
        return
    if data.get("direction") == "outbound" and not far.outbound:
        yield Fault(
            "FAR_NOT_SENDABLE",
            f"{f} {a} is read from partners but never sent (agency-formats.md §1.7)",
            None,
            0,
            "action_code",
        )
    yield from _indicator_faults(data, f, a, r)
    yield from _header_faults(data, f, a)
    yield from _information_faults(data, f, a, r)
    yield from _ncp_faults(data, f, a, r)
    yield from _block_faults(data)


@cache
def allowed_counts(function: str, action: str, reason: str | None) -> tuple[tuple[str, str, int, int, str], ...]:
    """``(block, indicator, min, max, rule code)`` for every block, in indicator order, for one combination."""
    return tuple((block, ind, *allowed_count(block, function, action, reason)) for block, ind in INDICATORS.items())


def _indicator_faults(data: Mapping[str, Any], f: str, a: str, r: str | None) -> Iterator[Fault]:
    for block, indicator, low, high, rule in allowed_counts(f, a, r):
        present = data.get(block)
        count = len(present or ()) if block in REPEATING else int(present is not None)
        if not low <= count <= high:
            want = str(low) if low == high else f"{low}-{high}"
            yield Fault(
                "INDICATOR_RULE",
                f"{indicator} is {count}; {f} {a} {r or '(blank)'} needs {want} (rule {rule})",
                None,
                0,
                indicator,
            )
    if data.get("attachments_ind") == "Y" and data.get("information") is None:
        yield Fault(
            "INDICATOR_RULE",
            "attachments_ind is Y but no Information block lists the attachments",
            None,
            0,
            "attachments_ind",
        )


def _header_faults(data: Mapping[str, Any], f: str, a: str) -> Iterator[Fault]:
    if data["transaction_serial_number"] < 1:
        yield Fault(
            "SERIAL_INVALID", "transaction_serial_number must be at least 1", None, 0, "transaction_serial_number"
        )
    # Chart C-3: Case-ID required except on LO1 P/A outbound; Other-Case-ID on responses,
    # acknowledgments and all CSI. Inbound the server has swapped them (chart C-4).
    outbound = data.get("direction") == "outbound"
    mine, theirs = ("case_id", "other_case_id") if outbound else ("other_case_id", "case_id")
    lo1_answer = f == "LO1" and a in ("P", "A")
    rejct = (f, a, data.get("action_reason")) == ("MSC", "P", "REJCT")  # the sender has no case to name
    if not (lo1_answer or rejct) and data.get(mine) is None:
        which = "sender's" if outbound else "sender's (other_case_id inbound)"
        yield Fault("CASE_ID_REQUIRED", f"{mine} ({which} case) is required on {f} {a}", None, 0, mine)
    if (a in ("P", "A") or f == "CSI") and not lo1_answer and data.get(theirs) is None:
        yield Fault("CASE_ID_REQUIRED", f"{theirs} (the receiver's case) is required on {f} {a}", None, 0, theirs)


def _information_faults(data: Mapping[str, Any], f: str, a: str, r: str | None) -> Iterator[Fault]:
    info = data.get("information")
    if info is None:
        return
    lines = [info.get(name) for name in INFORMATION_LINES]
    rejct = (f, a, r) == ("MSC", "P", "REJCT")
    if not rejct and info.get("status_change_code") is None:
        yield Fault(
            "REQUIRED", "status_change_code is required except on MSC P REJCT", "information", 0, "status_change_code"
        )
    if data.get("attachments_ind") == "Y" and not any(lines[:3]):
        yield Fault(
            "ATTACHMENTS_NOT_LISTED",
            "attachments_ind is Y: text line 1, 2 or 3 must list them",
            "information",
            0,
            "information_text_line_1",
        )
    if (f, a, r) == ("MSC", "P", "GSCAS") and info.get("new_case_id") is None:
        yield Fault("REQUIRED", "new_case_id is required on MSC P GSCAS", "information", 0, "new_case_id")
    if rejct and not rejct_echo_ok(lines[0] or ""):
        yield Fault(
            "REJCT_ECHO",
            "MSC P REJCT line 1 must start with the rejected transaction's serial (12), "
            "action (1), function (3) and date (8)",
            "information",
            0,
            "information_text_line_1",
        )
    if (f, a, r) == ("MSC", "P", "GSTAI") and gstai_values(lines[0] or "") is None:
        yield Fault(
            "GSTAI_LAYOUT",
            "MSC P GSTAI line 1 must hold arrears (12), interest (12) and as-of date (8)",
            "information",
            0,
            "information_text_line_1",
        )


def rejct_echo_ok(line: str) -> bool:
    """§1.6a: serial 12 digits, action, function, CCYYMMDD date, optional reason."""
    serial, action, function, date = line[:12], line[12:13], line[13:16], line[16:24]
    return serial.isdigit() and action.isalpha() and len(function.strip()) == 3 and _date8(date) is not None


# The GSTAI amounts are written like every other CSENet amount (an assumption, agency-formats.md §1.8).
_AMOUNT = re.compile(f"(?:{signed_amount_regex(12, 2, True)})")


def gstai_values(line: str) -> tuple[Any, Any, dt.date] | None:
    """§1.6a GSTAI line 1: total arrears (12), total interest (12), as-of date (8); None if malformed."""
    arrears, interest, when = line[:12], line[12:24], _date8(line[24:32])
    if _AMOUNT.fullmatch(arrears) is None or _AMOUNT.fullmatch(interest) is None or when is None:
        return None
    return parse_signed_amount(arrears, 2), parse_signed_amount(interest, 2), when


def _date8(text: str) -> dt.date | None:
    try:
        return dt.datetime.strptime(text, "%Y%m%d").date() if len(text) == 8 and text.isdigit() else None
    except ValueError:
        return None


def _ncp_faults(data: Mapping[str, Any], f: str, a: str, r: str | None) -> Iterator[Fault]:
    ncp, loc = data.get("ncp_identification"), data.get("ncp_locate")
    if f == "ENF" and a == "P" and (ncp is None or ncp.get("ssn") is None):
        yield Fault("NCP_SSN_REQUIRED", "the NCP SSN is required on ENF P", "ncp_identification", 0, "ssn")
    # §1.6: a successful (reason position 2 = S) LO1/PAT/EST/ENF response, and ENF R/U, must say where
    # the NCP lives, gets mail or works.
    success = a == "P" and r is not None and r[1] == "S" and f in ("LO1", "PAT", "EST", "ENF")
    if (
        (success or (f == "ENF" and a in ("R", "U")))
        and loc is not None
        and not (loc.get("residential_address_line_1") or loc.get("mailing_address_line_1") or loc.get("employer_name"))
    ):
        yield Fault(
            "LOCATE_CONTENT",
            f"{f} {a} {r or ''}: the NCP Locate block needs a residential address, a mailing address or an employer",
            "ncp_locate",
            0,
            "residential_address_line_1",
        )


def _block_faults(data: Mapping[str, Any]) -> Iterator[Fault]:
    ncp = data.get("ncp_identification")
    if ncp is not None and (ncp.get("height_ft") is None) != (ncp.get("height_in") is None):
        yield Fault("HEIGHT_INCOMPLETE", "height feet and inches go together", "ncp_identification", 0, "height_ft")
    if ncp is not None and (ncp.get("height_in") or 0) > 11:
        yield Fault("HEIGHT_INVALID", "height inches must be 00-11", "ncp_identification", 0, "height_in")
    loc = data.get("ncp_locate")
    if loc is not None:
        yield from _locate_faults(loc)
    for i, order in enumerate(data.get("orders") or ()):
        yield from _order_faults(order, i)


# Field names the locate and order edits read, spelled once (chart C-7, C-9).
_ADDRESS_EDITS = tuple(
    (
        f"{kind}_address_line_1",
        f"{kind}_address_confirmed_ind",
        f"{kind}_address_effective_date",
        f"{kind}_address_end_date",
    )
    for kind in ("residential", "mailing")
)
_EMPLOYER_EDITS = tuple(
    (
        slot,
        (f"{slot}_wage_qtr", f"{slot}_wage_year", f"{slot}_wage_amount"),
        f"{slot}_name",
        (f"{slot}_effective_date", f"{slot}_confirmed_ind"),
        f"{slot}_end_date",
    )
    for slot in EMPLOYER_SLOTS
)
_ORDER_AMOUNTS = (("order_freq_amount", "order_freq"), ("order_arrears_freq_amount", "order_arrears_freq"))
_ORDER_PERIODS = (
    ("order_effective_date", "order_end_date"),
    ("order_effective_date", "order_cancel_date"),
    *((f"{p}_from_date", f"{p}_thru_date") for p in ("arrears_tanf", "arrears_non_tanf", "foster_care", "medical")),
)


# Every field the rules read, per block (``header``: the transaction header), so a writer that checks the
# rules on values read back from its own output can read back only these. Keep in step with the checks
# above; tests/adapters/interstate/test_csenet_canonical_check.py records what the rules really read.
RULE_FIELDS: dict[str, frozenset[str]] = {
    "header": frozenset(
        {
            "functional_type_code",
            "action_code",
            "action_reason",
            "transaction_serial_number",
            "case_id",
            "other_case_id",
            "attachments_ind",
        }
    ),
    "ncp_identification": frozenset({"ssn", "height_ft", "height_in"}),
    "ncp_locate": frozenset(
        {"residential_address_line_1", "mailing_address_line_1", "employer_name"}
        | {name for edit in _ADDRESS_EDITS for name in edit}
        | {n for _, wage, name, needs, end in _EMPLOYER_EDITS for n in (*wage, name, *needs, end)}
    ),
    "orders": frozenset(name for pair in (*_ORDER_AMOUNTS, *_ORDER_PERIODS) for name in pair),
    "information": frozenset({*INFORMATION_LINES, "status_change_code", "new_case_id"}),
    "case": frozenset(),
    "participants": frozenset(),
    "collections": frozenset(),
}


def _locate_faults(loc: Mapping[str, Any]) -> Iterator[Fault]:
    for line_1, confirmed, effective, end in _ADDRESS_EDITS:
        if loc.get(line_1) and loc.get(confirmed) is None:
            yield Fault("REQUIRED", f"{confirmed} is required with an address", "ncp_locate", 0, confirmed)
        if (fault := _after(loc, effective, end, "ncp_locate", 0)) is not None:
            yield fault
    for slot, wage_names, name, needs, end in _EMPLOYER_EDITS:
        wage = [loc.get(k) for k in wage_names]
        if any(v is not None for v in wage) and not all(v is not None for v in wage):
            yield Fault(
                "WAGE_INCOMPLETE",
                f"{slot} wage quarter, year and amount go together",
                "ncp_locate",
                0,
                wage_names[0],
            )
        if wage[0] is not None and not 1 <= wage[0] <= 4:
            yield Fault("WAGE_QUARTER", f"{slot}_wage_qtr must be 1-4", "ncp_locate", 0, wage_names[0])
        if wage[1] is not None and not 1900 <= wage[1] <= 2099:
            yield Fault("WAGE_YEAR", f"{slot}_wage_year must be 1900-2099", "ncp_locate", 0, wage_names[1])
        if loc.get(name):
            for need in needs:
                if loc.get(need) is None:
                    yield Fault("REQUIRED", f"{need} is required with an employer name", "ncp_locate", 0, need)
        if (fault := _after(loc, needs[0], end, "ncp_locate", 0)) is not None:
            yield fault


def _order_faults(order: Mapping[str, Any], i: int) -> Iterator[Fault]:
    # Chart C-9: Order-Freq is required once Order-Freq-Amount is above zero; end/cancel after effective;
    # every thru-date after its from-date.
    for amount, freq in _ORDER_AMOUNTS:
        if (order.get(amount) or 0) > 0 and order.get(freq) is None:
            yield Fault("REQUIRED", f"{freq} is required when {amount} is above zero", "orders", i, freq)
    for first, later in _ORDER_PERIODS:
        if (fault := _after(order, first, later, "orders", i)) is not None:
            yield fault


def _after(block: Mapping[str, Any], first: str, later: str, where: str, i: int) -> Fault | None:
    a, b = block.get(first), block.get(later)
    if a is not None and b is not None and b <= a:
        return Fault("DATE_SEQUENCE", f"{later} must be after {first}", where, i, later)
    return None
