"""Which decoded CSENet transactions the canonical model could still refuse, decided without building it.

Building and validating the canonical ``InterstateTransaction`` costs several times what decoding the
transaction does, yet parse must reject (``CANONICAL_INVALID``) every transaction the model refuses and
render must never write one. Almost every rule of the model is already enforced, more strictly, by the
CSENet layouts and ``csenet_rules``:

* widths and shapes: zip codes, phones, FIPS counties are ``digits`` of the model's length; SSNs use the
  same SSA expression; case ids carry the pattern that excludes what ``CaseId`` refuses; FIPS subs and
  reasons are ``[0-9A-Z]``; every text field is blank (``None``) or holds a printable non-blank character;
* code tables: every state, case type, frequency, order/debt type, payment source/method, relationship,
  function, action and reason maps onto a value the model accepts (``check_code_tables``, at load);
* cross-field edits: wage quarter/year ranges, frequency once an amount is above zero, end/thru dates
  after their start dates, attachments listed in the Information block (``csenet_rules``);
* everything the builder itself guarantees: a name needs a first or last part, an address a line, city
  or zip, an employer a name or FEIN (``csenet_canonical`` builds none otherwise); amounts have two
  decimals.

What is left is checked here per transaction, with the model's own types so the rules stay in
``adapters/canonical.py``: FEIN prefixes the IRS assigns, amounts the model wants non-negative, and a
participant identified by neither name nor SSN (an Internet-Address the ``Email`` type refuses is kept
as text in ``extra``, so it is never refused). ``refusal_possible`` is conservative: True means "build
the canonical record now and see", never the reverse. tests/adapters/interstate/
test_csenet_canonical_check.py puts edge values into every field of the header and of every block to
prove it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from functools import cache
from typing import Annotated, Any

from pydantic import BaseModel, TypeAdapter

from adapters.canonical import (
    Address,
    Case,
    Collection,
    Fein,
    InterstateTransaction,
    Order,
    PeriodicAmount,
    Person,
)
from adapters.errors import LayoutError
from adapters.interstate.csenet_canonical import STATUS, accepts
from adapters.interstate.csenet_rules import EMPLOYER_SLOTS
from adapters.layout import load_code_rows, load_layout

_FEIN: TypeAdapter[str] = TypeAdapter(Fein)
ZERO = Decimal(0)


def _none_if_empty(value: str) -> str | None:
    return value or None


# (code table, column, model, field, code -> value): each value the builder hands a canonical field from a
# code table (an empty assistance type is "none"; other empty cells are refused, as the builder needs them).
TABLE_TARGETS: tuple[tuple[str, str, type[BaseModel], str, Callable[[str], Any]], ...] = (
    ("csenet_case_type", "case_type", Case, "case_type", str),
    ("csenet_case_type", "assistance_type", Case, "assistance_type", _none_if_empty),
    ("csenet_relationship", "role", Person, "role", str),
    ("csenet_frequency", "canonical", PeriodicAmount, "frequency", str),
    ("csenet_order_type", "canonical", Order, "order_type", str),
    ("csenet_debt_type", "canonical", Order, "debt_type", str),
    ("csenet_payment_source", "canonical", Collection, "source", str),
    ("csenet_payment_method", "canonical", Collection, "method", str),
    ("csenet_usps_state", "code", Address, "state", str),
    ("csenet_usps_state", "code", Case, "state_with_cej", str),
    ("csenet_function", "code", InterstateTransaction, "function", str),
    ("csenet_action", "code", InterstateTransaction, "action", str),
    ("csenet_reason", "code", InterstateTransaction, "reason", str),
    ("fips_state", "code", InterstateTransaction, "local_fips", lambda code: code + "000"),  # + a county
)
# (layout, field, model, field, code -> value) for the codes a layout lists itself.
LAYOUT_TARGETS: tuple[tuple[str, str, type[BaseModel], str, Callable[[str], Any]], ...] = (
    ("ncp_identification", "gender", Person, "sex", str),
    ("participant", "gender", Person, "sex", str),
    ("case", "case_status", Case, "status", lambda code: STATUS.get(code, code)),
)


@cache
def check_code_tables() -> None:
    """Raise ``LayoutError`` unless every code the layouts and tables can yield builds a canonical value.

    Run when the adapter loads, so an edited table cannot make ``refusal_possible`` wrong."""
    sources: list[tuple[str, dict[str, Any], type[BaseModel], str]] = []
    for table, column, model, name, to_value in TABLE_TARGETS:
        rows = load_code_rows(table)
        sources.append(
            (f"{table}.csv {column}", {c: to_value(r.get(column, "")) for c, r in rows.items()}, model, name)
        )
    for layout_name, field_name, model, name, to_value in LAYOUT_TARGETS:
        layout = load_layout(f"interstate/csenet/{layout_name}.toml")
        codes = next(f.codes for f in layout.fields if f.name == field_name)
        sources.append((f"{layout_name}.{field_name}", {c: to_value(c) for c in codes}, model, name))
    bad: list[str] = []
    for where, values, model, name in sources:
        check = _field_adapter(model, name)
        bad.extend(
            f"{where} {code!r} -> {model.__name__}.{name}" for code, v in values.items() if not accepts(check, v)
        )
    if bad:
        raise LayoutError(f"csenet codes the canonical model refuses: {'; '.join(bad)}")


def _field_adapter(model: type[BaseModel], name: str) -> TypeAdapter[Any]:
    info = model.model_fields[name]
    annotation: Any = Annotated[(info.annotation, *info.metadata)] if info.metadata else info.annotation
    return TypeAdapter(annotation)


# Every block field ``refusal_possible`` reads (it reads no header field).
REFUSAL_FIELDS: dict[str, frozenset[str]] = {
    "ncp_locate": frozenset(
        f"{slot}_{name}" for slot in EMPLOYER_SLOTS for name in ("ein", "wage_qtr", "wage_year", "wage_amount")
    ),
    "participants": frozenset({"employer_ein", "ssn", "name_first", "name_last"}),
    "orders": frozenset({"order_freq_amount", "order_arrears_freq_amount"}),
}


def refusal_possible(data: Mapping[str, Any]) -> bool:
    """True when the canonical model might refuse this decoded (layout- and rule-checked) transaction."""
    loc = data.get("ncp_locate")
    if loc is not None:
        for slot in EMPLOYER_SLOTS:
            if _bad_fein(loc.get(slot + "_ein")) or (
                loc.get(slot + "_wage_qtr") is not None
                and loc.get(slot + "_wage_year") is not None
                and (loc.get(slot + "_wage_amount") or ZERO) < 0
            ):
                return True
    for p in data.get("participants") or ():
        if _bad_fein(p.get("employer_ein")) or (
            p.get("ssn") is None and p.get("name_first") is None and p.get("name_last") is None
        ):
            return True
    for o in data.get("orders") or ():
        if (o.get("order_freq_amount") or ZERO) < 0 or (o.get("order_arrears_freq_amount") or ZERO) < 0:
            return True
    return False


def _bad_fein(ein: str | None) -> bool:
    return ein is not None and not accepts(_FEIN, ein)
