"""Electronic Income Withholding Orders (e-IWO), flat file: IWO detail (``I``) files both ways and the
Portal's IWO-result (``S``) files inbound; each detail becomes a canonical ``IncomeWithholdingOrder``.

Spec: OCSE e-IWO Record Layouts, Appendix D v4.0 (2021-08-25), Charts D-1 to D-3, as digested in
shared/specs/employer-formats.md §1.1-§1.6: positions 1-184 of the detail record CONFIRMED, the rest
DERIVED from Kansas's production file programs (2,406-byte records, fillers included). Layouts:
``mappings/employer/eiwo/*.toml``; code tables ``mappings/codes/eiwo_*.csv``; the result-file conflict
(§1.5.1) is the ``error_layout`` setting in ``mappings/employer/eiwo/eiwo.options.toml``.

Logical records: ``file_header``, ``batch_header``, ``detail`` (an order), ``result_detail`` (an order
echoed by the Portal with the names of the elements it refused), ``batch_trailer``, ``file_trailer``.
A ``DTL`` is read as a result when the file's flow letter is ``S``, or when its tail carries error text
inside an ``I`` envelope (Kansas's result reader accepts the original envelope echoed back).

Record-level faults (layout, action-code rules, amount without frequency, birth date after the
document, FEIN not the batch's, repeated tracking id, canonical checks such as the FEIN prefix) reject
the record and parsing goes on; envelope faults (nesting, control numbers, counts, truncation) are
raised together after the last record (``eiwo_common``).

**Canonical.** A detail the canonical ``IncomeWithholdingOrder`` refuses is rejected with the code the
model's error gives (``FEIN_INVALID``, ``STATE_CODE``, ``EMAIL_FORMAT``, ``VALUE_INVALID``) on the DTL field
it is about, yet the order is built only when ``canonical`` is first read (``DeferredParsed``), from a
copy of the data as parsed: building it costs more than parsing the record. ``refusal_possible`` decides
from the parsed data whether the model could refuse it, and only then is it built at once. Nearly every
rule of the model is already enforced by the layout and ``check_rules``: text fields are blank (None)
or hold a printable non-blank character; the case id carries the pattern that excludes what ``CaseId``
refuses; SSNs use the same SSA expression; ZIP codes, phones and the payee FIPS are digits of the
model's width; amounts are unsigned with two decimals; 2-digit day counts and the CCPA percent fit their
bounds; every frequency letter maps to a ``Frequency`` (at load); a frequency is required once its
amount is above zero; the employer, employee and obligee each have the required field the model needs
to identify them. What is left is checked per record: the FEIN prefix, USPS states, e-mail addresses, an
employer-contact address or a child slot with parts but without what the model needs (a line, city or
ZIP; a first or last name), a document date of zeros (read as no date), and the model's action rules
(``eiwo_common.ModelRules``). tests/adapters/employer/test_eiwo_canonical_check.py puts edge values into
every field of a valid DTL to prove it.

Rendering takes the records of ``parse`` (written as given, counts checked) or canonical orders —
``{"type": "order", "data": <IncomeWithholdingOrder JSON>}`` or any record carrying an
``IncomeWithholdingOrder`` as ``canonical`` (``csgate convert``). Orders outside a given batch are
written one batch per employer FEIN under a ``file_header`` record's values; with no such record the
header is derived from the orders (state FIPS from the payee FIPS, date from the latest document
date, Kansas's control-number pattern). ``order_from_dtl`` / ``dtl_from_order`` are the one mapping
between the detail record and the canonical order, shared with the e-IWO XML adapter.
"""

from __future__ import annotations

import datetime as dt
import itertools
import operator
import tomllib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, BinaryIO, ClassVar

from pydantic import ValidationError

from adapters.base import DeferredParsed, Direction, Parsed, Result, SourceInfo
from adapters.canonical import Email, Fein, Frequency, IncomeWithholdingOrder
from adapters.employer.eiwo_common import (
    ZERO,
    Accepts,
    AddressMap,
    Batch,
    Envelope,
    EnvelopeReader,
    EnvelopeWriter,
    Keys,
    ModelRules,
    canonical_error,
    field_for,
    filled,
    loc_key,
    path_keys,
    put,
    table_names,
)
from adapters.errors import LayoutError, RecordError
from adapters.layout import MAPPINGS_DIR, Layout, load_code_rows, load_layout, to_date

ENVELOPE = Envelope.load(2406, "IS", b"DTL")
DETAIL = load_layout("employer/eiwo/detail.toml")
RESULT_LAYOUTS = {
    name: load_layout(f"employer/eiwo/{name}.toml") for name in ("result_detail", "result_detail_after_start_date")
}
ENVELOPE_TYPES = frozenset({"file_header", "batch_header", "batch_trailer", "file_trailer"})
ORDER_TYPES = frozenset({"order", "income_withholding_order"})
START_DATE = slice(2252, 2260)  # DTL 117, 2253-2260 (writer position, §1.5.1)
TAIL = slice(2260, 2406)  # filler 2261-2406 in a detail; where moved error fields would sit in a result


# =========================================================================== tables and options


ACTIONS = {  # action code → (fields it requires, fields it forbids), mappings/codes/eiwo_action.csv
    code: tuple(table_names("eiwo_action", code, column, DETAIL.empty()) for column in ("requires", "forbids"))
    for code in load_code_rows("eiwo_action")
}
FREQUENCY = {code: Frequency(row["canonical"]) for code, row in load_code_rows("eiwo_frequency").items()}
FREQUENCY_CODE: dict[Frequency, str] = {}
for _code, _freq in FREQUENCY.items():
    FREQUENCY_CODE.setdefault(_freq, _code)
# DTL 27-43: every frequency field pairs with the amount before it (same stem).
AMOUNT_FREQUENCY = tuple(
    (f.name[: -len("frequency")] + "amount", f.name) for f in DETAIL.data_fields if f.name.endswith("_frequency")
)
BIRTH_DATES = ("employee_birth_date", *(f"child{k}_birth_date" for k in range(1, 7)))
_BIRTH_DATES = operator.itemgetter(*BIRTH_DATES)
_AMOUNTS = operator.itemgetter(*(amount for amount, _ in AMOUNT_FREQUENCY))
_FREQUENCIES = operator.itemgetter(*(frequency for _, frequency in AMOUNT_FREQUENCY))
_NONES = (None,) * len(AMOUNT_FREQUENCY)
_DTL_FIELDS = tuple(DETAIL.empty())
AMOUNT_FIELDS = frozenset(f.name for f in DETAIL.data_fields if f.type == "amount")
DATE_FIELDS = frozenset(f.name for f in DETAIL.data_fields if f.type == "date")
RULE_FIELDS = frozenset(  # what check_rules reads
    (
        "action_code",
        "document_date",
        *BIRTH_DATES,
        *itertools.chain(*AMOUNT_FREQUENCY, *itertools.chain(*ACTIONS.values())),
    )
)


@dataclass(frozen=True, slots=True)
class EiwoOptions:
    """Settings for facts the digest leaves open; defaults in ``mappings/employer/eiwo/eiwo.options.toml``."""

    error_layout: str = "auto"  # result_detail | result_detail_after_start_date | auto (§1.5.1)

    def __post_init__(self) -> None:
        if self.error_layout != "auto" and self.error_layout not in RESULT_LAYOUTS:
            raise LayoutError(f"error_layout must be 'auto' or one of {sorted(RESULT_LAYOUTS)}")

    @classmethod
    def load(cls, base: Path | None = None) -> EiwoOptions:
        path = (base or MAPPINGS_DIR) / "employer" / "eiwo" / "eiwo.options.toml"
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
        return cls(error_layout=str(doc["result"]["error_layout"]))


# =========================================================================== DTL rules


def _typed(d: Mapping[str, Any], name: str) -> Any:
    """A field's value as ``parse`` gives it, also when ``d`` is the JSON form (``csgate render`` input:
    amounts and dates as text, already proved well-formed by the layout)."""
    value = d.get(name)
    if isinstance(value, str):
        if name in AMOUNT_FIELDS:
            return Decimal(value)
        if name in DATE_FIELDS:
            return dt.date.fromisoformat(value)
    return value


_RULE_NAMES = tuple(sorted(RULE_FIELDS))
_RULE_TEXT_TYPED = tuple(name for name in _RULE_NAMES if name in AMOUNT_FIELDS or name in DATE_FIELDS)
_RULE_TEXT_TYPED_VALUES = operator.itemgetter(*_RULE_TEXT_TYPED)
_STR = (str,) * len(_RULE_TEXT_TYPED)
_RULE_VALUES = operator.itemgetter(*(_DTL_FIELDS.index(name) for name in _RULE_NAMES))  # of a DTL row
_FEIN_INDEX = _DTL_FIELDS.index("employer_fein")


def check_detail(d: Mapping[str, Any]) -> None:
    """``check_rules`` on a detail's values as ``parse`` gives them or in their JSON form.

    A detail holding every rule field with its amounts and dates typed (what ``parse`` and the builders
    give) is checked as it is, its typed fields tested in one C call. Any other (the JSON form, or one
    without some fields) is first copied with each rule field as ``parse`` would give it: converting
    every field cost more than the rules themselves."""
    try:
        if not any(map(isinstance, _RULE_TEXT_TYPED_VALUES(d), _STR)):
            check_rules(d)  # reads nothing but rule fields: a missing one raises KeyError before any verdict
            return
    except KeyError:
        pass
    values = {name: d.get(name) for name in _RULE_NAMES}
    if any(map(isinstance, _RULE_TEXT_TYPED_VALUES(values), _STR)):
        values.update({name: _typed(values, name) for name in _RULE_TEXT_TYPED})
    check_rules(values)


def check_rules(d: Mapping[str, Any]) -> None:
    """The DTL rules between fields, on values as ``parse`` gives them (every field of ``RULE_FIELDS``
    present); raise ``RecordError`` naming the field (no personal data). Parse calls it directly: it
    runs once per record.

    Action codes (mappings/codes/eiwo_action.csv): what each action requires and forbids, e.g. the
    lump-sum amount only and always on LUM. DTL 28-43: a frequency is required once its amount is
    above zero. Dates: no birth date after the document date (our choice: the record would be wrong).
    """
    action = d["action_code"]
    requires, forbids = ACTIONS[action]
    for name in requires:
        if not filled(d[name]):
            raise DETAIL.field_error(name, "ACTION_FIELD_REQUIRED", f"required when the action is {action}")
    if any(map(d.__getitem__, forbids)):  # typed values: truth is filled(); the loop below names the field
        name = next(name for name in forbids if filled(d[name]))
        raise DETAIL.field_error(name, "ACTION_FIELD_FORBIDDEN", f"must be blank or zero when the action is {action}")
    frequencies = _FREQUENCIES(d)
    # the amounts without a frequency, picked in C; truth is filled() as above
    if None in frequencies and any(itertools.compress(_AMOUNTS(d), map(operator.is_, frequencies, _NONES))):
        amount, frequency = next((a, f) for a, f in AMOUNT_FREQUENCY if d[f] is None and filled(d[a]))
        raise DETAIL.field_error(frequency, "FREQUENCY_REQUIRED", f"required because {amount} is above zero")
    document_date = d["document_date"]
    if document_date is None:  # zeros read as no date: the canonical order refuses it (refusal_possible)
        return
    births = _BIRTH_DATES(d)
    latest = max(filter(None, births), default=None)  # a date is never false: None is what drops out
    if latest is not None and latest > document_date:
        name = next(n for n, born in zip(BIRTH_DATES, births, strict=True) if born is not None and born > document_date)
        raise DETAIL.field_error(name, "DATE_ORDER", "birth date is after the document date")


# =========================================================================== DTL ⇄ canonical order
#
# One table per shape of value. Canonical paths are dotted, ``[0]`` a list position, as in
# mappings/employer/eiwo_xml/_mapping.toml, so both e-IWO forms build the same order.

_DIRECT = (  # values that are the same on both sides
    ("document_tracking_id", "document_tracking_id"),
    ("action", "action_code"),
    ("document_date", "document_date"),
    ("issuing_state_name", "issuing_state_name"),
    ("issuing_jurisdiction_name", "issuing_jurisdiction_name"),
    ("case_id", "case_id"),
    ("employer.name", "employer_name"),
    ("employer.fein", "employer_fein"),
    ("employee.name.last", "employee_last_name"),
    ("employee.name.first", "employee_first_name"),
    ("employee.name.middle", "employee_middle_name"),
    ("employee.name.suffix", "employee_suffix"),
    ("employee.ssn", "employee_ssn"),
    ("employee.dob", "employee_birth_date"),
    ("obligee.last", "obligee_last_name"),
    ("obligee.first", "obligee_first_name"),
    ("obligee.middle", "obligee_middle_name"),
    ("obligee.suffix", "obligee_suffix"),
    ("order.issuing_tribunal", "issuing_tribunal_name"),
    ("order.other_description", "other_obligation_description"),
    ("order.order_id", "order_id"),
    ("governing_law_state_name", "governing_law_state_name"),
    ("begin_withholding_within_days", "begin_withholding_within_days"),
    ("start_instructions", "start_instructions"),
    ("send_payment_within_days", "send_payment_within_days"),
    ("ccpa_limit_percent", "ccpa_limit_percent"),
    ("payee_name", "payee_name"),
    ("payee_fips", "payee_remittance_fips"),
    ("government_official_name", "government_official_name"),
    ("official_title", "issuing_official_title"),
    ("penalty_text", "penalty_liability_text"),
    ("anti_discrimination_text", "anti_discrimination_text"),
    ("payee_limits_text", "payee_withholding_limits_text"),
    ("employee_contact.name", "employee_contact_name"),
    ("employee_contact.phone", "employee_contact_phone"),
    ("employee_contact.fax", "employee_contact_fax"),
    ("employee_contact.email", "employee_contact_email"),
    ("employer_contact.name", "employer_contact_name"),
    ("employer_contact.phone", "employer_contact_phone"),
    ("employer_contact.fax", "employer_contact_fax"),
    ("employer_contact.email", "employer_contact_email"),
    ("remittance_id", "remittance_id"),
    ("document_image_text", "document_image_text"),
    ("start_date", "income_withholding_start_date"),
)
_ADDRESSES = (
    AddressMap.of("employer.addresses[0]", "employer_", "employer"),  # DTL 9-14
    AddressMap.of("payee_address", "payee_", "payment"),  # DTL 55-60
    AddressMap.of("employer_contact.address", "employer_contact_", "contact"),  # DTL 75-80
)
_PERIODIC = (  # Order field, DTL stem of the <stem>_amount / <stem>_frequency pair (DTL 27-43)
    ("current_support", "current_child_support"),
    ("past_due_support", "past_due_child_support"),
    ("current_medical", "current_medical_support"),
    ("past_due_medical", "past_due_medical_support"),
    ("current_spousal", "current_spousal_support"),
    ("past_due_spousal", "past_due_spousal_support"),
    ("other", "other_obligation"),
    ("total", "total_obligation"),
)
_PER_PERIOD = (
    (Frequency.WEEKLY, "withhold_weekly_amount"),
    (Frequency.BIWEEKLY, "withhold_biweekly_amount"),
    (Frequency.SEMIMONTHLY, "withhold_semimonthly_amount"),
    (Frequency.MONTHLY, "withhold_monthly_amount"),
)
_YES_NO = (("order.arrears_over_12_weeks", "arrears_over_12_weeks"), ("send_copy_to_employee", "send_copy_to_employee"))
_CHILD_PARTS = (
    ("name.last", "last_name"),
    ("name.first", "first_name"),
    ("name.middle", "middle_name"),
    ("name.suffix", "suffix"),
    ("dob", "birth_date"),
)
CHILD_SLOTS = 6  # DTL 84-113


_DIRECT_KEYS = tuple((path_keys(path), name) for path, name in _DIRECT)
_PERIODIC_FIELDS = tuple((key, f"{stem}_amount", f"{stem}_frequency") for key, stem in _PERIODIC)
_YES_NO_KEYS = tuple((path_keys(path), name) for path, name in _YES_NO)
_CHILD_KEYS = tuple((path_keys(path), suffix) for path, suffix in _CHILD_PARTS)


def _child_fields(slot: int) -> list[tuple[Keys, str]]:
    return [(keys, f"child{slot}_{suffix}") for keys, suffix in _CHILD_KEYS]


def _objects(pairs: tuple[tuple[Keys, str], ...]) -> tuple[tuple[tuple[str, ...], tuple[tuple[str, str], ...]], ...]:
    """The direct values grouped by the canonical object they fill, parents before children, so a
    record's order is built one object at a time rather than one value at a time."""
    groups: dict[tuple[str, ...], list[tuple[str, str]]] = {}
    for keys, name in pairs:  # direct values sit in objects, never in lists: the parent path has no positions
        groups.setdefault(loc_key(keys[:-1]), []).append((str(keys[-1]), name))
    return tuple(sorted(((k, tuple(v)) for k, v in groups.items()), key=lambda kv: len(kv[0])))


_OBJECTS = _objects(_DIRECT_KEYS)
_OMIT_EMPTY = frozenset({("obligee",), ("employee_contact",), ("employer_contact",)})  # absent when all blank
_CHILD_SLOT_FIELDS = tuple(_child_fields(slot) for slot in range(1, CHILD_SLOTS + 1))


def order_json(d: Mapping[str, Any]) -> dict[str, Any]:
    """The canonical order of a parsed DTL as plain data, ready for ``IncomeWithholdingOrder`` validation.

    Blank fields are None; an object whose fields are all blank is absent, and so is a zero amount
    without a frequency. Empty child slots are skipped: children keep their order, not their slots."""
    of = d.get  # the DTL field's parsed value
    out: dict[str, Any] = {}
    for parent, pairs in _OBJECTS:
        values = {key: of(name) for key, name in pairs}
        if parent in _OMIT_EMPTY and all(v is None for v in values.values()):
            continue
        node = out
        for key in parent:
            node = node.setdefault(key, {})
        node.update(values)
    out["employee"]["role"] = "NCP"
    for address in _ADDRESSES:
        address.to_canonical(out, d)
    order = out["order"]
    for key, amount_field, frequency_field in _PERIODIC_FIELDS:
        amount, letter = of(amount_field), of(frequency_field)
        if amount or letter:
            order[key] = {"amount": amount or 0, "frequency": FREQUENCY[letter] if letter else None}
    per_period = {freq: of(name) for freq, name in _PER_PERIOD if of(name)}
    if per_period:
        order["per_period_amounts"] = per_period
    for keys, name in _YES_NO_KEYS:
        if of(name) is not None:
            put(out, keys, of(name) == "Y")
    if of("lump_sum_amount"):  # DTL 114: zeros on every action but LUM
        out["lump_sum_amount"] = d["lump_sum_amount"]
    children = []
    for fields in _CHILD_SLOT_FIELDS:
        child: dict[str, Any] = {}
        for keys, name in fields:
            if of(name) is not None:
                put(child, keys, of(name))
        if child:
            children.append({"role": "CHILD", **child})
    if children:
        out["children"] = children
    return out


def order_from_dtl(data: Mapping[str, Any]) -> IncomeWithholdingOrder:
    """The canonical order for a parsed ``detail`` record's data (raises ``pydantic.ValidationError``)."""
    return IncomeWithholdingOrder.model_validate(order_json(data))


def dtl_from_order(order: IncomeWithholdingOrder) -> dict[str, Any]:
    """The ``detail`` record data for a canonical order: the inverse of ``order_from_dtl``.

    Unused amounts are written as zeros, as Kansas does (§1.5 notes); ``portal_*`` and ``extra`` have no
    place in an outgoing DTL and are left out. Raises ``RecordError`` for a frequency with no DTL letter.
    The values are those of ``dtl_row``.
    """
    return dict(zip(_DTL_FIELDS, dtl_row(order), strict=True))


def dtl_row(order: IncomeWithholdingOrder) -> tuple[Any, ...]:
    """``dtl_from_order``'s values in DTL field order, what ``DETAIL.render_row`` writes: the renderer of
    orders needs no mapping of 115 fields, whose building and reading back cost as much as the writing.
    The work is done by ``_DTL_ROW_OF_ORDER``, generated from the mapping tables when the module loads."""
    return _DTL_ROW_OF_ORDER(order)


class _OrderReader:
    """Writes the source of one function that reads a canonical order into a DTL row, from the mapping
    tables above: the fields of every canonical object on the way are taken once into a local (its
    ``__dict__``, where pydantic keeps a model's field values; an all-None stand-in when the object is
    absent) and each DTL field is one subscript of it. A subscript is cheaper than attribute access on a
    model (which searches the model's class hierarchy before its ``__dict__``), and the generic table
    walk cost a Python loop per value. Enum members are read by their ``_value_`` (a plain attribute),
    as ``value`` is a Python-level property and hashing a member a Python-level call."""

    def __init__(self) -> None:
        self.lines: list[str] = ["    p0 = o.__dict__"]
        self.objects: dict[Keys, str] = {(): "p0"}
        self.keys_read: dict[str, set[str]] = {"p0": set()}
        self.fields: dict[str, str] = {}

    def obj(self, keys: Keys) -> str:
        """The local holding the fields of the canonical object at ``keys`` (assigned on first use)."""
        local = self.objects.get(keys)
        if local is None:
            key = keys[-1]
            if isinstance(key, int):  # an item of a list field
                items = self.value(keys[:-1])
                test = f"(_l := {items}) is None or len(_l) <= {key}"
                present = f"_l[{key}].__dict__"
            else:
                test, present = f"(_m := {self.value(keys)}) is None", "_m.__dict__"
            local = self.objects[keys] = f"p{len(self.objects)}"  # after the parents the read registered
            self.keys_read[local] = set()
            self.lines.append(f"    {local} = _absent_{local} if {test} else {present}")
        return local

    def value(self, keys: Keys) -> str:
        """An expression for the value at ``keys`` (the last key a field name)."""
        owner = self.obj(keys[:-1])
        self.keys_read[owner].add(str(keys[-1]))
        return f"{owner}[{keys[-1]!r}]"

    def absent(self, keys: Keys) -> str:
        """A test that the canonical object at ``keys`` is absent."""
        local = self.obj(keys)
        return f"{local} is _absent_{local}"

    def build(self) -> Callable[[IncomeWithholdingOrder], tuple[Any, ...]]:
        """The compiled function: the same values ``order_from_dtl`` reads back, field by field."""
        f = self.fields
        for keys, name in _DIRECT_KEYS:
            f[name] = self.value(keys)
        f["action_code"] = "p0['action']._value_"
        for address in _ADDRESSES:
            for part, name in address.parts:
                f[name] = self.value((*address.keys, part))
        for key, amount, frequency in _PERIODIC_FIELDS:
            absent = self.absent(("order", key))
            f[amount] = f"(_ZERO if {absent} else {self.value(('order', key, 'amount'))})"
            letter = f"_LETTERS.get(_f._value_) or _letter(_f, {frequency!r})"
            f[frequency] = f"(None if (_f := {self.value(('order', key, 'frequency'))}) is None else {letter})"
        per_period = self.value(("order", "per_period_amounts"))
        for freq, name in _PER_PERIOD:
            f[name] = f"{per_period}.get(_Frequency.{freq.name}, _ZERO)"
        for keys, name in _YES_NO_KEYS:
            f[name] = f"(None if (_v := {self.value(keys)}) is None else 'Y' if _v else 'N')"
        for slot, fields in enumerate(_CHILD_SLOT_FIELDS):
            for keys, name in fields:
                f[name] = self.value(("children", slot, *keys))
        f["lump_sum_amount"] = "(p0['lump_sum_amount'] or _ZERO)"
        items = "".join(f"{f.get(name, 'None')}, " for name in _DTL_FIELDS)
        src = "def dtl(o):\n" + "\n".join(self.lines) + f"\n    return ({items})\n"
        env: dict[str, Any] = {
            "_ZERO": ZERO,
            "_letter": _letter,
            "_LETTERS": {freq.value: code for freq, code in FREQUENCY_CODE.items()},
            "_Frequency": Frequency,
            **{f"_absent_{local}": dict.fromkeys(keys) for local, keys in self.keys_read.items()},
        }
        exec(compile(src, "<eiwo dtl_from_order>", "exec"), env)
        fn: Callable[[IncomeWithholdingOrder], tuple[Any, ...]] = env["dtl"]
        return fn


def _letter(freq: Frequency | None, field: str) -> str | None:
    if freq is None:
        return None
    try:
        return FREQUENCY_CODE[freq]
    except KeyError:
        raise DETAIL.field_error(
            field,
            "RENDER_VALUE",
            f"frequency {freq.value!r} has no e-IWO letter (mappings/codes/eiwo_frequency.csv)",
        ) from None


_DTL_ROW_OF_ORDER = _OrderReader().build()


# ---- which DTL field a canonical validation error is about

_LOC_FIELD: dict[tuple[str, ...], str] = {loc_key(keys): name for keys, name in (*_DIRECT_KEYS, *_YES_NO_KEYS)}
for _address in _ADDRESSES:
    _LOC_FIELD |= _address.locations()
for _key, _amount, _frequency in _PERIODIC_FIELDS:
    _LOC_FIELD[("order", _key, "amount")] = _amount
    _LOC_FIELD[("order", _key, "frequency")] = _frequency
for _freq, _name in _PER_PERIOD:
    _LOC_FIELD[("order", "per_period_amounts", _freq.value)] = _name
_LOC_FIELD[("lump_sum_amount",)] = "lump_sum_amount"


def _error_field(loc: tuple[str | int, ...], d: Mapping[str, Any]) -> str | None:
    """Children are listed without their empty slots, so a child's position maps back to its slot."""
    if loc[:1] != ("children",) or len(loc) < 2 or not isinstance(loc[1], int):
        return field_for(loc, _LOC_FIELD)
    slots = [k for k, fields in enumerate(_CHILD_SLOT_FIELDS, 1) if any(d.get(n) is not None for _, n in fields)]
    rest = loc_key(loc[2:])
    suffix = next((s for keys, s in _CHILD_KEYS if loc_key(keys)[: len(rest)] == rest), "last_name")
    return f"child{slots[loc[1]]}_{suffix}" if loc[1] < len(slots) else None


_FEIN = Accepts(Fein)
_EMAIL = Accepts(Email | None)
_ORDER_RULES = ModelRules(IncomeWithholdingOrder, ("action",), ("lump_sum_amount",))
_CHILD_NAMES = tuple(
    (fields[0][1], fields[1][1], operator.itemgetter(*(name for _, name in fields[2:])))
    for fields in _CHILD_SLOT_FIELDS
)
_NO_CHILD_DETAILS = (None,) * (len(_CHILD_KEYS) - 2)
assert [suffix for _, suffix in _CHILD_KEYS[:2]] == ["last_name", "first_name"]  # what _CHILD_NAMES takes


def refusal_possible(d: Mapping[str, Any]) -> bool:
    """True when ``IncomeWithholdingOrder`` might refuse this parsed DTL that passed ``check_rules``
    (what is left to check, and why the rest cannot fail: the module docstring). Conservative: True means
    "build the order now and see", never the reverse."""
    if (
        d["document_date"] is None
        or not _ORDER_RULES[d["action_code"], bool(d["lump_sum_amount"])]
        or not _FEIN[d["employer_fein"]]
        or not _EMAIL[d["employee_contact_email"]]
        or not _EMAIL[d["employer_contact_email"]]
    ):
        return True
    for address in _ADDRESSES:
        if address.refusal_possible(d):
            return True
    for last, first, details in _CHILD_NAMES:  # a child needs a first or last name (PersonName, Person)
        if d[last] is None and d[first] is None and details(d) != _NO_CHILD_DETAILS:
            return True
    return False


def to_order(d: Mapping[str, Any], **portal: Any) -> IncomeWithholdingOrder:
    """``order_from_dtl`` with failures as ``RecordError``; ``portal`` adds the S-file error fields."""
    try:
        return IncomeWithholdingOrder.model_validate(order_json(d) | portal)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise canonical_error(DETAIL, first, _error_field(tuple(first["loc"]), d)) from None


# =========================================================================== the adapter


class EiwoAdapter:
    """e-IWO flat file (I detail files both ways, S result files inbound) ⇄ ``IncomeWithholdingOrder``."""

    key: ClassVar[str] = "eiwo"
    title: ClassVar[str] = "e-IWO income withholding orders, flat file (IWO and Portal result files)"
    direction: ClassVar[Direction] = Direction.BOTH
    source: ClassVar[SourceInfo] = SourceInfo(
        document="OCSE e-IWO Record Layouts, Appendix D (Charts D-1, D-2, D-3)",
        version="v4.0 (2021-08-25) as derived; 2,406-byte records",
        status="mixed",
        notes="DTL 1-184 and header 1-25 confirmed; the rest derived from Kansas's production file programs; "
        "result-file error offset is a mapping option (§1.5.1)",
    )

    def __init__(self, options: EiwoOptions | None = None) -> None:
        self.options = options or EiwoOptions.load()

    def detect(self, head: bytes) -> bool:
        """An e-IWO IWO or result file starts with an ``FHI``/``FHS`` header: creation date and time digits
        at 49-62, and a first record no longer than 2,406 bytes."""
        first = head.split(b"\n", 1)[0].rstrip(b"\r")
        return (
            head[:3] in (b"FHI", b"FHS")
            and head[48:62].isdigit()
            and (len(first) <= ENVELOPE.length or head[ENVELOPE.length : ENVELOPE.length + 2] in (b"BH", b"FT"))
        )

    def parse(self, stream: BinaryIO) -> Iterator[Result]:
        return _Parser(self).run(stream)

    def render(self, records: Iterable[Mapping[str, Any]]) -> Iterator[bytes]:
        return _Renderer(self).run(records)

    def result_layout(self, raw: bytes) -> Layout:
        """The S-file detail layout for one record (``error_layout`` option; ``auto`` per §1.5.1: a valid
        date in 2253-2260 is the echoed start date, so the error fields follow it)."""
        choice = self.options.error_layout
        if choice == "auto":
            choice = "result_detail_after_start_date" if _is_date(raw[START_DATE]) else "result_detail"
        return RESULT_LAYOUTS[choice]


def _is_date(raw: bytes) -> bool:
    try:
        return raw.isdigit() and to_date(raw.decode("ascii"), "CCYYMMDD") is not None
    except ValueError:
        return False


def _carries_errors(raw: bytes) -> bool:
    """A DTL holding Portal error text where a plain detail has its start date and blank filler."""
    start = raw[START_DATE]
    return bool(raw[TAIL].strip()) or not (start.isdigit() or not start.strip())


class _Parser:
    """One pass over one file; the envelope reader drives the loop and checks the structure."""

    def __init__(self, adapter: EiwoAdapter) -> None:
        self.a = adapter
        self.env = EnvelopeReader(ENVELOPE)
        self.tracking: set[str] = set()

    def run(self, stream: BinaryIO) -> Iterator[Result]:
        return self.env.run(stream, self.detail)

    def detail(self, line_no: int, raw: bytes, batch: Batch) -> Result:
        if self.env.letter == "S" or _carries_errors(raw):
            return self.result(line_no, raw)
        try:
            data = DETAIL.parse(raw)
            tracking = data["document_tracking_id"]
            if tracking in self.tracking:  # DTL 72 is the join key for ACKs and results: unique per file
                raise DETAIL.field_error(
                    "document_tracking_id", "DUPLICATE_TRACKING_ID", "already used by an earlier order in this file"
                )
            self.tracking.add(tracking)
            check_rules(data)
            if batch.ein is not None and data["employer_fein"] != batch.ein:  # §1.1: one batch per employer EIN
                raise DETAIL.field_error("employer_fein", "FEIN_NOT_BATCH_EIN", "differs from the batch header's EIN")
            order = to_order(data) if refusal_possible(data) else None
        except RecordError as err:
            return self.env.reject(line_no, err, "detail")
        if order is not None:
            return Parsed(self.env.next_no(), "detail", data, line_no, order)
        return DeferredParsed(self.env.next_no(), "detail", data, line_no, to_order, dict(data))

    def result(self, line_no: int, raw: bytes) -> Result:
        layout = self.a.result_layout(raw)
        try:
            data = layout.parse(raw)
        except RecordError as err:
            return self.env.reject(line_no, err, "result_detail")
        data["error_layout"] = layout.name
        return Parsed(self.env.next_no(), "result_detail", data, line_no, _echoed_order(raw, data))


def portal_errors(data: Mapping[str, Any]) -> tuple[list[str], bool]:
    """The element names a result record refuses, and whether it says there are more (``T``)."""
    names = [n for n in (data.get("first_error_field_name"), data.get("second_error_field_name")) if n]
    return names, data.get("multiple_error_indicator") == "T"


def _echoed_order(raw: bytes, data: Mapping[str, Any]) -> IncomeWithholdingOrder | None:
    """The order the Portal echoed, with its errors; None when the echo is not a complete valid DTL
    (typically the very value the Portal refused): the record's data still carries the join key."""
    start = raw[START_DATE] if "income_withholding_start_date" in data else b" " * 8
    try:
        d = DETAIL.parse(raw[: START_DATE.start] + start + b" " * (ENVELOPE.length - START_DATE.stop))
        names, more = portal_errors(data)
        return to_order(d, portal_errors=names, portal_more_errors=more)
    except RecordError:
        return None


class _Renderer:
    """Records of ``parse`` are written as given; canonical orders are rendered with ``dtl_from_order``."""

    def __init__(self, adapter: EiwoAdapter) -> None:
        self.a = adapter
        self.w = EnvelopeWriter(ENVELOPE)
        self.latest: dt.date | None = None
        self.fips: str | None = None
        self.tracking: set[str] = set()

    def run(self, records: Iterable[Mapping[str, Any]]) -> Iterator[bytes]:
        for rec in records:
            rtype, data = str(rec.get("type")), rec.get("data") or {}
            if rtype in ENVELOPE_TYPES:
                yield from self.w.envelope(rtype, data)
            elif rtype == "detail":
                yield self.w.detail(self.detail_line(data), str(data.get("employer_fein")))
            elif rtype == "result_detail":
                layout = RESULT_LAYOUTS.get(str(data.get("error_layout") or "result_detail"))
                if layout is None:
                    raise RecordError(
                        "RENDER_VALUE", f"error_layout must be one of {sorted(RESULT_LAYOUTS)}", field="error_layout"
                    )
                yield self.w.detail(_encode(layout.render(data)))
            else:
                order = _order_of(rtype, data, rec.get("canonical"))
                row = dtl_row(order)
                text = DETAIL.render_row(row)
                check_rules(dict(zip(_RULE_NAMES, _RULE_VALUES(row), strict=True)))  # typed as parse gives them
                line = self.new_line(text)
                self.latest = max(self.latest or order.document_date, order.document_date)
                self.fips = self.fips or order.payee_fips
                yield from self.w.canonical(line, row[_FEIN_INDEX])
        yield from self.w.finish(self.default_header)

    def detail_line(self, data: Mapping[str, Any]) -> bytes:
        """Render one DTL, refusing what the parser would reject: the layout proves every field of the
        text, ``check_detail`` the rules between fields, and the tracking id must be new to the file."""
        text = DETAIL.render(data)
        check_detail(data)
        return self.new_line(text)

    def new_line(self, text: str) -> bytes:
        """A proved DTL's line, once its tracking id is known to be new to the file."""
        tracking = text[1547:1577].rstrip()  # DTL 72
        if tracking in self.tracking:
            raise DETAIL.field_error("document_tracking_id", "DUPLICATE_TRACKING_ID", "already used in this file")
        self.tracking.add(tracking)
        return _encode(text)

    def default_header(self) -> dict[str, Any]:
        """File header values derived from the orders when no ``file_header`` record was given: state
        FIPS (payee FIPS state + ``000``), latest document date, Kansas's control-number pattern
        ``FIPS + YYMMDD + HHMMSS + 0000`` (§1.2 row 2) with time 000000."""
        if self.latest is None or self.fips is None:
            raise RecordError("RENDER_ORDER", "give a file_header record: control_number, creation_date, creation_time")
        state = f"{self.fips[:2]}000"
        return {
            "control_number": f"{state}{self.latest:%y%m%d}0000000000",
            "state_fips": state,
            "creation_date": self.latest,
            "creation_time": "000000",
        }


def _encode(text: str) -> bytes:
    return (text + "\n").encode("ascii")


def _order_of(rtype: str, data: Mapping[str, Any], canonical: Any) -> IncomeWithholdingOrder:
    if isinstance(canonical, IncomeWithholdingOrder):
        return canonical
    if rtype in ORDER_TYPES:
        try:
            return IncomeWithholdingOrder.model_validate(data)
        except ValidationError as exc:
            raise RecordError("RENDER_VALUE", f"order record is not a valid IncomeWithholdingOrder: {exc}") from None
    raise RecordError("RENDER_TYPE", f"record type {rtype!r} is neither an e-IWO record nor an order")


# =========================================================================== results → orders


def attach_results(orders: Iterable[IncomeWithholdingOrder], results: Iterable[Result]) -> list[IncomeWithholdingOrder]:
    """The orders of an I file with the Portal's verdict from its S file attached, matched on the
    document tracking identifier (DTL 72, Kansas's join key, §1.5.1).

    A result DTL's refused element names go to ``portal_errors`` (``portal_more_errors`` for ``T``); an
    error code on a batch header or trailer applies to every order echoed in that batch, and one on the
    file header or trailer to every order (as ``"<record type>:<code>"``, §1.4). Orders the S file does
    not name and no file-level error touches come back unchanged. Rejected records carry no join key and
    are skipped."""
    verdicts: dict[str, tuple[list[str], bool]] = {}
    file_errors: list[str] = []
    batch_errors: list[str] = []
    members: list[str] = []
    for r in results:
        if not isinstance(r, Parsed):
            continue
        code = r.data.get("error_field_name")
        if r.type in ("file_header", "file_trailer") and code:
            file_errors.append(f"{r.type}:{code}")
        elif r.type == "batch_header":
            batch_errors, members = ([f"batch_header:{code}"] if code else []), []
        elif r.type in ("result_detail", "detail"):
            tracking = r.data["document_tracking_id"]
            verdicts[tracking] = portal_errors(r.data)
            members.append(tracking)
        elif r.type == "batch_trailer":
            batch_errors += [f"batch_trailer:{code}"] if code else []
            for tracking in members if batch_errors else ():
                names, more = verdicts[tracking]
                verdicts[tracking] = (names + batch_errors, more)
    out = []
    for order in orders:
        names, more = verdicts.get(order.document_tracking_id, ([], False))
        names = names + file_errors
        if names or more:
            order = order.model_copy(update={"portal_errors": names[:2], "portal_more_errors": more or len(names) > 2})
        out.append(order)
    return out
