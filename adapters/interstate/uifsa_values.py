"""Check a UIFSA form's data against its definition, and translate it to and from ``UifsaForm``.

Form data is what a caseworker fills and what the JSON sidecar carries: one object per section id,
each holding element values (``{"responding": {"locator_code": "0603700", ...}, "actions": {...}}``).
Values arrive JSON-native (ISO date text, amounts as decimal text) or as Python values (``date``,
``Decimal``) from ``parse`` output; ``check_form`` returns them normalised to Python values
(``date``, ``Decimal``, ``int``, ``str``, ``True`` — an unchecked box is simply absent) plus every
problem found, each with a stable code and the element's path and never the value itself.

Heading elements with a ``canonical`` path fill ``UifsaForm`` fields; everything else goes to
``UifsaForm.body`` keyed by section and element, so nothing the form says is lost.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Final

from pydantic import TypeAdapter, ValidationError

from adapters.canonical import CENT, USPS_STATE_CODES, CaseId, Ssn, UifsaForm
from adapters.errors import RecordError
from adapters.interstate.uifsa_definition import Element, FormDef
from adapters.layout import load_codes

FIPS_STATE_TABLE = "fips_state"  # mappings/codes/fips_state.csv: FIPS state code -> USPS code
MAX_AMOUNT: Final = Decimal("999999999.99")
_ONE_LINE = re.compile(r"[ -~\xa0-\xff]*")  # printable Latin-1: what the PDF core font can print
_MULTI_LINE = re.compile(r"[\n -~\xa0-\xff]*")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_AMOUNT = re.compile(r"-?[0-9]{1,12}(?:\.[0-9]{1,2})?")
_LOCATOR = re.compile(r"([0-9]{2})[0-9A-Z]{3}(?:[0-9A-Z]{2})?")  # agency-formats.md §1.2: state+county(+sub)
_NINE_DIGITS = re.compile(r"[0-9]{9}")
_KEY = re.compile(r"[a-z][a-z0-9_]{0,39}")  # the shape of section and element names
_CASE_ID: TypeAdapter[str] = TypeAdapter(CaseId)  # the canonical rules, so a form cannot carry a bad id
_SSN: TypeAdapter[str] = TypeAdapter(Ssn)


@dataclass(frozen=True, slots=True)
class Problem:
    """One fault in a form: a stable code, the element's path and a message without its value."""

    code: str
    field: str | None
    message: str


class _Bad(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


# --------------------------------------------------------------------------- one value per type


def _text(el: Element, v: Any) -> str | None:
    if not isinstance(v, str):
        raise _Bad("NOT_TEXT", "must be text")
    text = v.strip()
    if not text:
        return None  # a blank box is an empty box
    if len(text) > el.max_length:
        raise _Bad("TOO_LONG", f"is longer than {el.max_length} characters")
    if not (_MULTI_LINE if el.lines > 1 else _ONE_LINE).fullmatch(text):
        raise _Bad("CHARSET", "has characters outside printable Latin-1 (or a line break in a one-line box)")
    if el.pattern is not None and not el.pattern.fullmatch(text):
        raise _Bad("PATTERN", f"must match {el.pattern.pattern!r}")
    return text


def _date(el: Element, v: Any) -> dt.date:
    if isinstance(v, dt.date) and not isinstance(v, dt.datetime):
        return v
    if not isinstance(v, str) or not _ISO_DATE.fullmatch(v):
        raise _Bad("DATE_FORMAT", "must be a date written YYYY-MM-DD")
    try:
        return dt.date.fromisoformat(v)
    except ValueError:
        raise _Bad("DATE_INVALID", "is not a calendar date") from None


def _checkbox(el: Element, v: Any) -> bool | None:
    if not isinstance(v, bool):
        raise _Bad("NOT_BOOLEAN", "must be true or false")
    return True if v else None


def _amount(el: Element, v: Any) -> Decimal:
    # Money is never a float: 0.1 has no exact binary form (adapters/canonical.py, "Money is Decimal").
    if isinstance(v, bool) or not isinstance(v, int | str | Decimal):
        raise _Bad("AMOUNT_FORMAT", "must be decimal text such as '250.00' or a whole number")
    if isinstance(v, str) and not _AMOUNT.fullmatch(v):
        raise _Bad("AMOUNT_FORMAT", "must be decimal text with at most two decimal places")
    try:
        amount = Decimal(v).quantize(CENT)
    except InvalidOperation:
        raise _Bad("AMOUNT_FORMAT", "is not a whole-cent amount") from None
    if amount != Decimal(v):
        raise _Bad("AMOUNT_FORMAT", "has more than two decimal places")
    if amount < 0 and not el.signed:
        raise _Bad("AMOUNT_NEGATIVE", "must not be negative")
    if abs(amount) > MAX_AMOUNT:
        raise _Bad("AMOUNT_RANGE", f"must not exceed {MAX_AMOUNT}")
    return amount.copy_abs() if amount.is_zero() else amount


def _integer(el: Element, v: Any) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        raise _Bad("NOT_INTEGER", "must be a whole number")
    if (el.minimum is not None and v < el.minimum) or (el.maximum is not None and v > el.maximum):
        raise _Bad("OUT_OF_RANGE", f"must be between {el.minimum} and {el.maximum}")
    return v


def _choice(el: Element, v: Any) -> str:
    if not isinstance(v, str) or el.choice(v) is None:
        raise _Bad("CODE_UNKNOWN", f"must be one of {[c.code for c in el.choices]}")
    return v


def _locator(el: Element, v: Any) -> str:
    m = _LOCATOR.fullmatch(v) if isinstance(v, str) else None
    if m is None:
        raise _Bad(
            "FIPS_FORMAT",
            "must be a locator (FIPS) code: 2-digit state, 3-character county, optional 2-character office",
        )
    if m.group(1) not in load_codes(FIPS_STATE_TABLE):
        raise _Bad("FIPS_STATE", "does not start with a known FIPS state code")
    return m.group(0)


def _state(el: Element, v: Any) -> str:
    if not isinstance(v, str) or v not in USPS_STATE_CODES:
        raise _Bad("STATE_CODE", "must be a USPS two-letter state code in upper case")
    return v


def _case_id(el: Element, v: Any) -> str:
    try:
        return _CASE_ID.validate_python(v)
    except ValidationError:
        raise _Bad("CASE_ID", "must be 1-20 characters, not starting with a space, without '*' or '\\'") from None


def _ssn(el: Element, v: Any) -> str:
    if not isinstance(v, str) or not _NINE_DIGITS.fullmatch(v):
        raise _Bad("SSN_FORMAT", "must be 9 digits without hyphens")
    try:
        return _SSN.validate_python(v)
    except ValidationError:
        raise _Bad("SSN_INVALID", "breaks SSA rules (area 000, 666 or 9xx; group 00; serial 0000)") from None


_SCALARS: Final[Mapping[str, Callable[[Element, Any], Any]]] = {
    "text": _text,
    "date": _date,
    "checkbox": _checkbox,
    "amount": _amount,
    "integer": _integer,
    "choice": _choice,
    "locator": _locator,
    "state": _state,
    "case_id": _case_id,
    "ssn": _ssn,
}


# --------------------------------------------------------------------------- the whole form


def _key_name(key: Any) -> str:
    """An unknown key as it may be echoed: a key shaped like an element name is a typo worth naming;
    anything else might be a value typed in the wrong place (a name, a number) and is not repeated."""
    return key if isinstance(key, str) and _KEY.fullmatch(key) else "(unrecognised key)"


class _Checker:
    """One pass over one form's data, collecting every problem rather than stopping at the first."""

    def __init__(self, form: FormDef) -> None:
        self.form = form
        self.problems: list[Problem] = []

    def add(self, code: str, path: str | None, message: str) -> None:
        self.problems.append(Problem(code, path, f"{path or 'form'}: {message}"))

    def group(self, elements: tuple[Element, ...], raw: Mapping[str, Any], path: str) -> dict[str, Any]:
        """Check one object of elements (a section, or a table row); unknown keys are errors, not dropped."""
        known = {e.name: e for e in elements}
        for key in raw:
            if key not in known:
                self.add(
                    "UNKNOWN_ELEMENT",
                    f"{path}.{_key_name(key)}",
                    "is not an element of this form",
                )
        out: dict[str, Any] = {}
        for el in elements:
            where = f"{path}.{el.name}"
            value = raw.get(el.name)
            if value is not None:
                try:
                    value = self.table(el, value, where) if el.type == "table" else _SCALARS[el.type](el, value)
                except _Bad as bad:
                    self.add(bad.code, where, bad.message)
                    continue
            if value is None:
                if el.required:
                    self.add("REQUIRED", where, f"{el.label!r} is required")
                continue
            out[el.name] = value
        return out

    def table(self, el: Element, value: Any, path: str) -> list[dict[str, Any]] | None:
        if not isinstance(value, list):
            raise _Bad("NOT_A_TABLE", "must be a list of rows")
        if len(value) > el.max_rows:
            raise _Bad("TOO_MANY_ROWS", f"has more than {el.max_rows} rows")
        rows = []
        for i, row in enumerate(value, start=1):
            if not isinstance(row, Mapping):
                self.add("NOT_AN_OBJECT", f"{path}[{i}]", "a row must be an object")
                continue
            rows.append(self.group(el.columns, row, f"{path}[{i}]"))
        rows = [r for r in rows if r]
        if len(rows) < el.min_rows:
            raise _Bad("TOO_FEW_ROWS", f"needs at least {el.min_rows} row(s)")
        return rows or None

    def run(self, data: Any) -> dict[str, Any]:
        if not isinstance(data, Mapping):
            self.add("NOT_AN_OBJECT", None, "form data must be an object of sections")
            return {}
        sections = {s.id: s for s in self.form.sections}
        for key in data:
            if key not in sections:
                self.add("UNKNOWN_SECTION", _key_name(key), "is not a section of this form")
        out: dict[str, Any] = {}
        for s in self.form.sections:
            raw = data.get(s.id)
            if raw is None:
                raw = {}
            if not isinstance(raw, Mapping):
                self.add("NOT_AN_OBJECT", s.id, "a section must be an object of elements")
                raw = {}
            values = self.group(s.elements, raw, s.id)
            if values:
                out[s.id] = values
        self.cross_checks(out)
        return out

    def cross_checks(self, data: Mapping[str, Any]) -> None:
        """Rules between elements: conditional requirements, one-of groups, row numbers, FIPS vs state."""
        groups: dict[str, bool] = {}
        for s in self.form.sections:
            values = data.get(s.id, {})
            if s.require_one is not None:
                groups[s.require_one] = groups.get(s.require_one, False) or any(
                    values.get(e.name) is True for e in s.elements
                )
            for el in s.elements:
                path, value = f"{s.id}.{el.name}", values.get(el.name)
                if value is None and any(_holds(data, c.path, c.code) for c in el.required_if):
                    self.add("REQUIRED", path, f"{el.label!r} is required by what else the form says")
                if el.row_of is not None and value is not None:
                    section_id, _, table = el.row_of.partition(".")
                    if value > len(data.get(section_id, {}).get(table, ())):
                        self.add("ROW_REFERENCE", path, f"names no row of {el.row_of}")
                if el.same_state_as is not None and value is not None:
                    state = values.get(el.same_state_as)
                    if state is not None and load_codes(FIPS_STATE_TABLE).get(value[:2]) != state:
                        self.add(
                            "FIPS_STATE_MISMATCH", path, f"state digits do not belong to {s.id}.{el.same_state_as}"
                        )
        for group, satisfied in groups.items():
            if not satisfied:
                self.add("NOTHING_SELECTED", group, "check at least one box of this group")


def _holds(data: Mapping[str, Any], path: str, code: str | None) -> bool:
    section_id, _, name = path.partition(".")
    value = data.get(section_id, {}).get(name)
    return value is not None and (code is None or value == code)


def check_form(form: FormDef, data: Any) -> tuple[dict[str, Any], list[Problem]]:
    """Normalised form data and every problem in it (an empty list means the form is complete)."""
    checker = _Checker(form)
    out = checker.run(data)
    return out, checker.problems


# --------------------------------------------------------------------------- canonical


def jsonable(value: Any) -> Any:
    """Form data as JSON-native values: dates ISO, amounts as decimal text (never floats)."""
    if isinstance(value, Mapping):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _put(tree: dict[str, Any], path: str, value: Any) -> None:
    *parents, leaf = path.split(".")
    for part in parents:
        tree = tree.setdefault(part, {})
    tree[leaf] = value


def _get(tree: Mapping[str, Any], path: str) -> Any:
    node: Any = tree
    for part in path.split("."):
        if not isinstance(node, Mapping):
            return None
        node = node.get(part)
    return node


def _canonical_choice(el: Element) -> bool:
    return el.type == "choice" and any(c.canonical for c in el.choices)


def to_canonical(form: FormDef, data: Mapping[str, Any]) -> UifsaForm:
    """The canonical record of checked form data. Raises ``pydantic.ValidationError`` when the parts
    make an incomplete whole (a name with neither first nor last part, an address with no line)."""
    tree: dict[str, Any] = {"form": form.id}
    body: dict[str, Any] = {}
    for s in form.sections:
        values = data.get(s.id, {})
        for el in s.elements:
            value = values.get(el.name)
            if value is None:
                continue
            if el.canonical is not None:
                _put(tree, el.canonical, jsonable(value))
            elif _canonical_choice(el):
                chosen = el.choice(value)
                for path, v in (chosen.canonical if chosen else {}).items():
                    _put(tree, path, v)
            else:
                body.setdefault(s.id, {})[el.name] = jsonable(value)
        for path, v in s.canonical_defaults.items():
            if isinstance(_get(tree, path.rpartition(".")[0]), Mapping):
                _put(tree, path, v)
    if body:
        tree["body"] = body
    return UifsaForm.model_validate(tree)


def from_canonical(form: FormDef, record: UifsaForm) -> dict[str, Any]:
    """Form data (JSON-native, not yet checked) for a canonical record of this form."""
    if record.form.value != form.id:
        raise RecordError("WRONG_FORM", f"record is a {record.form.value} form, not {form.id}", field="form")
    dump = record.model_dump(mode="json")
    data: dict[str, Any] = {}
    for s in form.sections:
        for el in s.elements:
            if el.canonical is not None:
                value = _get(dump, el.canonical)
            elif _canonical_choice(el):
                value = next(
                    (
                        c.code
                        for c in el.choices
                        if c.canonical and all(_get(dump, p) == v for p, v in c.canonical.items())
                    ),
                    None,
                )
            else:
                value = dump["body"].get(s.id, {}).get(el.name)
            if value is not None and value is not False:
                data.setdefault(s.id, {})[el.name] = value
    return data


def canonical_problems(form: FormDef, exc: ValidationError) -> list[Problem]:
    """``to_canonical`` failures as coded problems naming the section whose elements feed the field."""
    owner: dict[str, str] = {}
    for s in form.sections:
        for el in s.elements:
            for path in [el.canonical] if el.canonical else [p for c in el.choices for p in c.canonical]:
                owner.setdefault(path.split(".")[0], s.id)
    out = []
    for err in exc.errors(include_input=False, include_url=False):
        top = str(err["loc"][0]) if err["loc"] else ""
        where = owner.get(top, top or None)
        out.append(Problem("INCOMPLETE", where, f"{where or 'form'}: {err['msg']}"))
    return out


def read_form(form: FormDef, data: Any) -> tuple[dict[str, Any], UifsaForm | None, list[Problem]]:
    """Check form data and build its canonical record: (values, record, []) or (values, None, problems)."""
    values, problems = check_form(form, data)
    if problems:
        return values, None, problems
    try:
        return values, to_canonical(form, values), []
    except ValidationError as exc:
        return values, None, canonical_problems(form, exc)


# --------------------------------------------------------------------------- render input

RECORD_KEYS: Final = frozenset({"record_no", "type", "line", "data", "canonical"})


def is_record(item: Any) -> bool:
    """A ``{"type": "form", "data": {...}}`` record (``csgate parse`` output, or a caseworker's case.json)
    rather than bare form data: it has ``data`` and nothing a record does not have."""
    return isinstance(item, Mapping) and "data" in item and set(item) <= RECORD_KEYS


def form_values(form: FormDef, item: Any) -> dict[str, Any]:
    """Checked form data from one render input: a record, bare form data or a canonical ``UifsaForm``.

    Raises ``RecordError`` with the first problem's code and field; the message lists every problem, so
    a caseworker fixes the form in one go."""
    if isinstance(item, UifsaForm):
        data: Any = from_canonical(form, item)
    elif is_record(item):
        if item.get("type", "form") != "form":
            raise RecordError("NOT_A_FORM_RECORD", f"record type {item.get('type')!r} is not 'form'", field="type")
        data = item["data"]
        if data is None and isinstance(item.get("canonical"), UifsaForm):
            data = from_canonical(form, item["canonical"])
    else:
        data = item
    values, _, problems = read_form(form, data)
    if problems:
        listed = "; ".join(f"{p.code} {p.message}" for p in problems[:12])
        more = f"; and {len(problems) - 12} more" if len(problems) > 12 else ""
        raise RecordError(problems[0].code, f"{form.id}: {listed}{more}", field=problems[0].field)
    return values
