"""The structure of an NDNH transmission, as data: ``mappings/labor/<format>/_file.toml``.

The NDNH record charts (Guide for Data Submission, Appendix E) are not public here, so the layouts
csgate ships are provisional (agency-formats.md §3.3). An agency swaps in the real ones by editing
mapping files only; this module is what makes that safe. The descriptor names the layout that plays
each role (header, trailer, and the format's body records) and what each trailer field must add up
to. Everything the adapter assumes about a layout is checked when it loads, so a replacement that
the code cannot read fails at start-up with a ``LayoutError``, never on a file:

* every record has the same length and opens with its record identifier, a ``constant`` field at
  the same position in every layout, distinct per role;
* the fields the adapter reads exist, with a type it can read (``FieldRule``);
* each trailer total names a numeric trailer field and a role/field that exists.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from adapters.errors import LayoutError
from adapters.layout import MAPPINGS_DIR, STATUSES, Field, Layout, load_layout

DESCRIPTOR = "_file.toml"


@dataclass(frozen=True, slots=True)
class FieldRule:
    """A field the adapter reads by name: which layout types can carry it, whether it must exist, and
    for a code field the values the canonical model accepts (its codes must be among them)."""

    types: tuple[str, ...]
    required: bool = False
    length: int | None = None
    within: frozenset[str] | None = None


@dataclass(frozen=True, slots=True)
class TrailerTotal:
    """One trailer field and what it must equal: a count of ``role`` records or a sum of ``source``."""

    field: str
    kind: str  # "count" | "sum"
    role: str
    source: str = ""


@dataclass(frozen=True, slots=True)
class FileSpec:
    """A loaded, checked descriptor with its compiled layouts."""

    folder: str
    source: Mapping[str, str]
    layouts: Mapping[str, Layout]
    length: int
    id_slice: slice
    ids: Mapping[str, str]  # record identifier text -> role
    totals: tuple[TrailerTotal, ...]

    def field(self, role: str, name: str) -> Field | None:
        """The named data field of a role's layout, or None when the layout has no such field."""
        return next((f for f in self.layouts[role].data_fields if f.name == name), None)

    def id_bytes(self, encoding: str) -> dict[bytes, str]:
        """Record identifier as it appears in a file of ``encoding`` -> role."""
        return {text.encode(encoding): role for text, role in self.ids.items()}


def load_spec(
    folder: str, roles: tuple[str, ...], rules: Mapping[str, Mapping[str, FieldRule]], mappings: Path | None = None
) -> FileSpec:
    """Load ``<mappings>/<folder>/_file.toml`` and its layouts; ``roles`` are the ones the adapter
    handles (``header`` and ``trailer`` included), ``rules`` the fields it reads per role."""
    root = mappings or MAPPINGS_DIR
    where = f"{folder}/{DESCRIPTOR}"
    try:
        doc = tomllib.loads((root / folder / DESCRIPTOR).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise LayoutError(f"{where} not found under {root}") from None
    except tomllib.TOMLDecodeError as exc:
        raise LayoutError(f"{where}: not valid TOML: {exc}") from None
    source = _source(doc, where)
    files = doc.get("records")
    if not isinstance(files, Mapping) or set(files) != set(roles):
        found = sorted(files) if isinstance(files, Mapping) else []
        raise LayoutError(f"{where}: [records] must name exactly the roles {sorted(roles)}, found {found}")
    layouts = {role: load_layout(f"{folder}/{files[role]}", mappings) for role in roles}
    lengths = {layout.length for layout in layouts.values()}
    if len(lengths) != 1:
        raise LayoutError(f"{where}: every record must have the same length, found {sorted(lengths)}")
    id_slice, ids = _identifiers(layouts, where)
    for role, fields in rules.items():
        _check_fields(layouts[role], fields, f"{where} [{role}]")
    totals = _totals(doc.get("trailer_totals", {}), layouts, where)
    return FileSpec(folder, source, layouts, lengths.pop(), id_slice, ids, totals)


def _source(doc: Mapping[str, Any], where: str) -> dict[str, str]:
    source = doc.get("source")
    if not isinstance(source, Mapping) or not all(source.get(k) for k in ("document", "version", "status")):
        raise LayoutError(f"{where}: [source] needs document, version and status")
    if source["status"] not in STATUSES | {"mixed"}:
        raise LayoutError(f"{where}: [source] status must be one of {sorted(STATUSES | {'mixed'})}")
    return {k: str(v) for k, v in source.items()}


def _identifiers(layouts: Mapping[str, Layout], where: str) -> tuple[slice, dict[str, str]]:
    """Every layout opens with a constant record identifier at one shared position."""
    ids: dict[str, str] = {}
    spans = set()
    for role, layout in layouts.items():
        first = layout.fields[0]
        if first.type != "constant":
            raise LayoutError(f"{where}: the {role} layout must open with its record identifier (a constant)")
        if first.value in ids:
            raise LayoutError(f"{where}: roles {ids[first.value]} and {role} share identifier {first.value!r}")
        ids[first.value] = role
        spans.add((first.start, first.end))
    if len(spans) != 1:
        raise LayoutError(f"{where}: record identifiers must sit at the same positions in every layout")
    start, end = spans.pop()
    return slice(start - 1, end), ids


def _check_fields(layout: Layout, rules: Mapping[str, FieldRule], where: str) -> None:
    for name, rule in rules.items():
        f = next((f for f in layout.data_fields if f.name == name), None)
        if f is None:
            if rule.required:
                raise LayoutError(f"{where}: the adapter needs field {name!r}")
            continue
        if f.type not in rule.types:
            raise LayoutError(f"{where}: field {name!r} must be of type {' or '.join(rule.types)}, not {f.type}")
        if rule.length is not None and f.length != rule.length:
            raise LayoutError(f"{where}: field {name!r} must be {rule.length} long, not {f.length}")
        if f.type == "amount" and (f.decimals > 2 or f.form == "signed"):
            raise LayoutError(f"{where}: money field {name!r} is unsigned whole cents (decimals <= 2, no sign)")
        if rule.within is not None and not set(f.codes) <= rule.within:
            extra = sorted(set(f.codes) - rule.within)
            raise LayoutError(f"{where}: field {name!r} allows codes the canonical model refuses: {extra}")


def _totals(raw: Any, layouts: Mapping[str, Layout], where: str) -> tuple[TrailerTotal, ...]:
    if not isinstance(raw, Mapping):
        raise LayoutError(f"{where}: [trailer_totals] must be a table")
    numeric = ("numeric", "amount")
    out = []
    for field, rule in raw.items():
        tf = next((f for f in layouts["trailer"].data_fields if f.name == field), None)
        if tf is None or tf.type not in numeric:
            raise LayoutError(f"{where}: trailer total {field!r} is not a numeric field of the trailer layout")
        kind, _, target = str(rule).partition(" ")
        role, _, source = target.partition(".")
        if kind not in ("count", "sum") or role not in layouts or role in ("header", "trailer"):
            raise LayoutError(f"{where}: trailer total {field!r}: expected 'count ROLE' or 'sum ROLE.FIELD'")
        if kind == "sum":
            sf = next((f for f in layouts[role].data_fields if f.name == source), None)
            if sf is None or sf.type not in numeric:
                raise LayoutError(f"{where}: trailer total {field!r} sums {target!r}, not a numeric field")
        elif source:
            raise LayoutError(f"{where}: trailer total {field!r}: a count names a role only")
        out.append(TrailerTotal(field, kind, role, source))
    return tuple(out)
