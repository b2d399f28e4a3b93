"""UIFSA form definitions as data: ``mappings/interstate/uifsa/*.form.toml``, loaded and checked once.

Why data: the OMB 0970-0085 forms are documents, not record layouts, and their element lists are only
partly confirmed (shared/specs/agency-formats.md §2.3). An agency corrects a label, adds an element or
changes what is required by editing a TOML file; no code changes. The vocabulary is described in
``mappings/interstate/uifsa/README.md``.

A definition is checked completely when it loads (unknown keys and types, repeated names, dangling
references, canonical paths that do not exist on ``UifsaForm``, labels a PDF core font cannot print) and
any fault raises ``LayoutError``, so a bad definition never reaches a caseworker's form.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Any, get_args

from pydantic import BaseModel

from adapters.canonical import UifsaForm, UifsaFormType
from adapters.errors import LayoutError
from adapters.layout import MAPPINGS_DIR, STATUSES

FORMS_SUBDIR = Path("interstate") / "uifsa"
HEADING_FILE = "heading.form.toml"
SUFFIX = ".form.toml"

ELEMENT_TYPES = frozenset(
    {"text", "date", "checkbox", "amount", "integer", "choice", "locator", "state", "case_id", "ssn", "table"}
)
_ELEMENT_KEYS = frozenset(
    {
        "name",
        "label",
        "type",
        "required",
        "required_if",
        "pii",
        "canonical",
        "status",
        "description",
        "max_length",
        "pattern",
        "choices",
        "minimum",
        "maximum",
        "row_of",
        "same_state_as",
        "columns",
        "min_rows",
        "max_rows",
        "lines",
        "signed",
    }
)
_SECTION_KEYS = frozenset(
    {"id", "title", "note", "status", "require_one", "elements", "template", "canonical_defaults"}
)
_FORM_KEYS = frozenset({"id", "key", "title", "omb_number", "form_version", "csenet", "heading", "required", "labels"})
_CHOICE_KEYS = frozenset({"code", "label", "canonical"})
_NAME = re.compile(r"[a-z][a-z0-9_]*")
# Canonical fields a form element may not set: they are the record's identity, filled by the adapter.
_RESERVED_CANONICAL = frozenset({"kind", "form", "body"})


def _printable(text: str) -> bool:
    """PDF core fonts (Helvetica) print Latin-1 only; labels must fit, so the PDF never fails."""
    try:
        text.encode("latin-1")
    except UnicodeEncodeError:
        return False
    return text.isprintable()


@dataclass(frozen=True, slots=True)
class Choice:
    """One box of a choice element; ``canonical`` sets canonical fields when it is the one checked."""

    code: str
    label: str
    canonical: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Condition:
    """``required_if`` term: the element at ``path`` is truthy, or equals ``code`` when one is given."""

    path: str
    code: str | None = None


@dataclass(frozen=True, slots=True)
class Element:
    """One data element of a form: what it is called, how it is checked, where it goes canonically."""

    name: str
    label: str
    type: str
    required: bool = False
    required_if: tuple[Condition, ...] = ()
    pii: bool = False
    canonical: str | None = None
    status: str | None = None
    description: str = ""
    max_length: int = 200
    pattern: re.Pattern[str] | None = None
    choices: tuple[Choice, ...] = ()
    minimum: int | None = None
    maximum: int | None = None
    row_of: str | None = None
    same_state_as: str | None = None
    columns: tuple[Element, ...] = ()
    min_rows: int = 0
    max_rows: int = 50
    lines: int = 1
    signed: bool = False

    def choice(self, code: str) -> Choice | None:
        return next((c for c in self.choices if c.code == code), None)


@dataclass(frozen=True, slots=True)
class Section:
    """A titled group of elements, printed as one block; heading sections are shared by every form."""

    id: str
    title: str
    elements: tuple[Element, ...]
    note: str = ""
    status: str | None = None
    require_one: str | None = None  # group name: at least one checkbox of the group must be checked
    canonical_defaults: Mapping[str, Any] = field(default_factory=dict)
    heading: bool = False


@dataclass(frozen=True, slots=True)
class FormDef:
    """One form: identity, OMB data, the legend and its sections (heading sections first)."""

    id: str
    key: str
    title: str
    omb_number: str
    form_version: str
    csenet: str
    legend: tuple[str, ...]
    sections: tuple[Section, ...]
    source: Mapping[str, str]
    path: str

    def element(self, path: str) -> Element | None:
        """The element at ``section.element``, or None."""
        section_id, _, name = path.partition(".")
        for s in self.sections:
            if s.id == section_id:
                return next((e for e in s.elements if e.name == name), None)
        return None


# --------------------------------------------------------------------------- loading


def forms_dir(base: Path | None = None) -> Path:
    return (base or MAPPINGS_DIR) / FORMS_SUBDIR


def _read(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise LayoutError(f"form definition {path.name!r} not found in {path.parent}") from None
    except tomllib.TOMLDecodeError as exc:
        raise LayoutError(f"{path.name}: not valid TOML: {exc}") from None


def _source(doc: Mapping[str, Any], where: str) -> dict[str, str]:
    source = doc.get("source")
    if not isinstance(source, Mapping) or not all(source.get(k) for k in ("document", "version", "status")):
        raise LayoutError(f"{where}: [source] needs document, version and status")
    if source["status"] not in STATUSES | {"mixed"}:
        raise LayoutError(f"{where}: [source] status {source['status']!r} is not a known status")
    return {k: str(v) for k, v in source.items()}


def _unknown(raw: Mapping[str, Any], allowed: frozenset[str], where: str) -> None:
    extra = set(raw) - allowed
    if extra:
        raise LayoutError(f"{where}: unknown key(s) {sorted(extra)}")


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model inside an annotation such as ``PersonName | None``."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def _check_canonical(path: str, where: str) -> None:
    """A canonical path must name a real field of ``UifsaForm`` (through nested models)."""
    model: type[BaseModel] = UifsaForm
    parts = path.split(".")
    if parts[0] in _RESERVED_CANONICAL:
        raise LayoutError(f"{where}: canonical field {parts[0]!r} is set by the adapter, not by an element")
    for i, part in enumerate(parts):
        info = model.model_fields.get(part)
        if info is None:
            raise LayoutError(f"{where}: canonical path {path!r} has no field {part!r}")
        if i < len(parts) - 1:
            inner = _model_in(info.annotation)
            if inner is None:
                raise LayoutError(f"{where}: canonical path {path!r}: {part!r} is not a nested record")
            model = inner


def _element(raw: Any, where: str, *, in_table: bool = False) -> Element:
    if not isinstance(raw, Mapping):
        raise LayoutError(f"{where}: an element must be a table")
    _unknown(raw, _ELEMENT_KEYS, where)
    name, label, etype = raw.get("name"), raw.get("label"), raw.get("type")
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise LayoutError(f"{where}: element name must be lower-case letters, digits and '_'")
    where = f"{where} ({name})"
    if not isinstance(label, str) or not label or not _printable(label):
        raise LayoutError(f"{where}: label must be non-empty printable Latin-1 text")
    if etype not in ELEMENT_TYPES:
        raise LayoutError(f"{where}: unknown type {etype!r}")
    status = raw.get("status")
    if status is not None and status not in STATUSES:
        raise LayoutError(f"{where}: unknown status {status!r}")
    choices = tuple(_choice(c, where) for c in raw.get("choices", ()))
    if (etype == "choice") != bool(choices):
        raise LayoutError(f"{where}: a choice element, and only one, lists choices")
    if len({c.code for c in choices}) != len(choices):
        raise LayoutError(f"{where}: repeated choice code")
    columns: tuple[Element, ...] = ()
    if etype == "table":
        if in_table:
            raise LayoutError(f"{where}: tables do not nest")
        columns = tuple(
            _element(c, f"{where} column #{i + 1}", in_table=True) for i, c in enumerate(raw.get("columns", ()))
        )
        _unique([c.name for c in columns], where)
        if not columns:
            raise LayoutError(f"{where}: a table needs columns")
    elif "columns" in raw:
        raise LayoutError(f"{where}: only a table has columns")
    canonical = raw.get("canonical")
    if canonical is not None:
        if in_table or etype == "table":
            raise LayoutError(f"{where}: tables and their columns go to the form body, not canonical fields")
        _check_canonical(str(canonical), where)
    for c in choices:
        for path in c.canonical:
            _check_canonical(path, where)
    pattern = raw.get("pattern")
    try:
        compiled = re.compile(pattern) if pattern is not None else None
    except re.error as exc:
        raise LayoutError(f"{where}: bad pattern: {exc}") from None
    return Element(
        name=name,
        label=label,
        type=etype,
        required=bool(raw.get("required", False)),
        required_if=tuple(_condition(c, where) for c in raw.get("required_if", ())),
        pii=bool(raw.get("pii", False)),
        canonical=canonical,
        status=status,
        description=str(raw.get("description", "")),
        max_length=int(raw.get("max_length", 200)),
        pattern=compiled,
        choices=choices,
        minimum=raw.get("minimum"),
        maximum=raw.get("maximum"),
        row_of=raw.get("row_of"),
        same_state_as=raw.get("same_state_as"),
        columns=columns,
        min_rows=int(raw.get("min_rows", 0)),
        max_rows=int(raw.get("max_rows", 50)),
        lines=int(raw.get("lines", 1)),
        signed=bool(raw.get("signed", False)),
    )


def _choice(raw: Any, where: str) -> Choice:
    if not isinstance(raw, Mapping):
        raise LayoutError(f"{where}: a choice must be a table")
    _unknown(raw, _CHOICE_KEYS, f"{where} choice")
    code, label = raw.get("code"), raw.get("label")
    if not isinstance(code, str) or not _NAME.fullmatch(code) or not isinstance(label, str) or not _printable(label):
        raise LayoutError(f"{where}: a choice needs a lower-case code and a printable label")
    return Choice(code, label, dict(raw.get("canonical", {})))


def _condition(raw: Any, where: str) -> Condition:
    if not isinstance(raw, str) or "." not in raw:
        raise LayoutError(f"{where}: required_if terms are 'section.element' or 'section.element=code'")
    path, _, code = raw.partition("=")
    return Condition(path, code or None)


def _unique(names: list[str], where: str) -> None:
    seen = {n for n in names if names.count(n) > 1}
    if seen:
        raise LayoutError(f"{where}: repeated name(s) {sorted(seen)}")


def _section(raw: Any, where: str, templates: Mapping[str, Any], *, heading: bool = False) -> Section:
    if not isinstance(raw, Mapping):
        raise LayoutError(f"{where}: a section must be a table")
    _unknown(raw, _SECTION_KEYS, where)
    sid, title = raw.get("id"), raw.get("title")
    if not isinstance(sid, str) or not _NAME.fullmatch(sid) or not isinstance(title, str) or not _printable(title):
        raise LayoutError(f"{where}: a section needs a lower-case id and a printable title")
    where = f"{where} ({sid})"
    raw_elements = list(raw.get("elements", ()))
    template = raw.get("template")
    if template is not None:
        if template not in templates:
            raise LayoutError(f"{where}: unknown template {template!r}")
        raw_elements = list(templates[template]) + raw_elements
    elements = tuple(_element(e, f"{where} element #{i + 1}") for i, e in enumerate(raw_elements))
    if not elements:
        raise LayoutError(f"{where}: a section needs elements")
    _unique([e.name for e in elements], where)
    note = str(raw.get("note", ""))
    if not _printable(note.replace("\n", " ")):
        raise LayoutError(f"{where}: note must be printable Latin-1 text")
    defaults = dict(raw.get("canonical_defaults", {}))
    for path in defaults:
        _check_canonical(path, where)
    return Section(
        id=sid,
        title=title,
        elements=elements,
        note=note,
        status=raw.get("status"),
        require_one=raw.get("require_one"),
        canonical_defaults=defaults,
        heading=heading,
    )


def _with_overrides(section: Section, labels: Mapping[str, str], required: set[str]) -> Section:
    """A section as one form prints it: the form's own labels and extra required elements."""
    elements = tuple(
        replace(
            e,
            label=labels.get(f"{section.id}.{e.name}", e.label),
            required=e.required or f"{section.id}.{e.name}" in required,
        )
        for e in section.elements
    )
    return replace(section, title=labels.get(section.id, section.title), elements=elements)


@cache
def _heading(base: Path | None) -> tuple[tuple[str, ...], dict[str, Section]]:
    path = forms_dir(base) / HEADING_FILE
    doc = _read(path)
    _source(doc, path.name)
    legend = tuple(str(line) for line in doc.get("heading", {}).get("legend", ()))
    sections = [
        _section(s, f"{path.name} section #{i + 1}", {}, heading=True) for i, s in enumerate(doc.get("sections", ()))
    ]
    _unique([s.id for s in sections], path.name)
    return legend, {s.id: s for s in sections}


def _check_references(form: FormDef) -> None:
    """Every cross-reference names something that exists, with the right type."""
    for s in form.sections:
        for e in s.elements:
            where = f"{form.path} {s.id}.{e.name}"
            for cond in e.required_if:
                target = form.element(cond.path)
                if target is None or target.type == "table":
                    raise LayoutError(f"{where}: required_if names no element {cond.path!r}")
                if cond.code is not None and target.choice(cond.code) is None:
                    raise LayoutError(f"{where}: required_if code {cond.code!r} is not a choice of {cond.path!r}")
            if e.row_of is not None:
                target = form.element(e.row_of)
                if e.type != "integer" or target is None or target.type != "table":
                    raise LayoutError(f"{where}: row_of is for integers and must name a table")
            if e.same_state_as is not None:
                sibling = next((x for x in s.elements if x.name == e.same_state_as), None)
                if e.type != "locator" or sibling is None or sibling.type != "state":
                    raise LayoutError(f"{where}: same_state_as is for locators and names a state sibling")


@cache
def load_form(filename: str, base: Path | None = None) -> FormDef:
    """Load and check ``mappings/interstate/uifsa/<filename>``; cached per process."""
    path = forms_dir(base) / filename
    doc = _read(path)
    source = _source(doc, filename)
    raw_form = doc.get("form")
    if not isinstance(raw_form, Mapping):
        raise LayoutError(f"{filename}: missing [form] table")
    _unknown(raw_form, _FORM_KEYS, f"{filename} [form]")
    for key in ("id", "key", "title", "omb_number", "form_version"):
        if not isinstance(raw_form.get(key), str) or not raw_form[key]:
            raise LayoutError(f"{filename}: [form] needs {key!r}")
    if raw_form["id"] not in {t.value for t in UifsaFormType}:
        raise LayoutError(f"{filename}: [form] id {raw_form['id']!r} is not a UifsaFormType")
    if not raw_form["key"].startswith("uifsa-"):
        raise LayoutError(f"{filename}: [form] key must start with 'uifsa-'")
    legend, heading = _heading(base)
    labels = {str(k): str(v) for k, v in raw_form.get("labels", {}).items()}
    required = set(raw_form.get("required", ()))
    sections: list[Section] = []
    for sid in raw_form.get("heading", ()):
        if sid not in heading:
            raise LayoutError(f"{filename}: heading names no section {sid!r} of {HEADING_FILE}")
        sections.append(heading[sid])
    templates = doc.get("templates", {})
    sections += [_section(s, f"{filename} section #{i + 1}", templates) for i, s in enumerate(doc.get("sections", ()))]
    _unique([s.id for s in sections], filename)
    sections = [_with_overrides(s, labels, required) for s in sections]
    form = FormDef(
        id=raw_form["id"],
        key=raw_form["key"],
        title=raw_form["title"],
        omb_number=raw_form["omb_number"],
        form_version=raw_form["form_version"],
        csenet=str(raw_form.get("csenet", "")),
        legend=legend,
        sections=tuple(sections),
        source=source,
        path=filename,
    )
    section_ids = {s.id for s in sections}
    for ref in required:
        if form.element(ref) is None:
            raise LayoutError(f"{filename}: [form] required names no element {ref!r}")
    for ref in labels:  # "section" relabels a section title, "section.element" an element
        if (form.element(ref) is None) if "." in ref else (ref not in section_ids):
            raise LayoutError(f"{filename}: [form.labels] names nothing at {ref!r}")
    _check_references(form)
    return form


def form_files(base: Path | None = None) -> list[str]:
    """Every form definition file (the shared heading excluded)."""
    return sorted(p.name for p in forms_dir(base).glob(f"*{SUFFIX}") if p.name != HEADING_FILE)


@cache
def definitions_by_id(base: Path | None = None) -> dict[str, FormDef]:
    """Form id (``UifsaFormType`` value) → definition, for callers that hold a canonical ``UifsaForm``."""
    found: dict[str, FormDef] = {}
    for name in form_files(base):
        form = load_form(name, base)
        if form.id in found:
            raise LayoutError(f"{name}: form id {form.id!r} is defined twice")
        found[form.id] = form
    return found
