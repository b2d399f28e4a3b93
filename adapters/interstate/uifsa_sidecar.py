"""The JSON sidecar: the machine-readable twin of a rendered UIFSA form PDF.

A PDF is for people; the sidecar carries the same form data for systems, so the receiving agency (or
this gateway) reads a form back without scraping a PDF. Layout, written by ``dump_sidecar``::

    {"format": "csgate-uifsa-form", "format_version": 1, "form": "transmittal-1",
     "title": "...", "omb_number": "0970-0085", "form_version": "2023",
     "records": [{"type": "form", "data": {<section id>: {<element>: value, ...}, ...}}]}

``format`` and ``form`` come first so a 64 KiB head identifies the form even when the document is
longer than that (``sidecar_form_id``). Values are JSON-native: ISO dates, amounts as decimal text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, Final

import orjson

from adapters.interstate.uifsa_definition import FormDef
from adapters.interstate.uifsa_values import jsonable

SIDECAR_FORMAT: Final = "csgate-uifsa-form"
SIDECAR_VERSION: Final = 1
# The head of a sidecar too long to parse whole: the two keys dump_sidecar always writes first.
_HEAD = re.compile(
    rb'\s*\{\s*"format"\s*:\s*"csgate-uifsa-form"\s*,\s*"format_version"\s*:\s*[0-9]+\s*,'
    rb'\s*"form"\s*:\s*"([a-z0-9-]{1,40})"'
)


def dump_sidecar(form: FormDef, forms: Sequence[Mapping[str, Any]]) -> bytes:
    """The sidecar document for checked form data (one record per form), indented for people too."""
    doc = {
        "format": SIDECAR_FORMAT,
        "format_version": SIDECAR_VERSION,
        "form": form.id,
        "title": form.title,
        "omb_number": form.omb_number,
        "form_version": form.form_version,
        "records": [{"type": "form", "data": jsonable(values)} for values in forms],
    }
    return orjson.dumps(doc, option=orjson.OPT_INDENT_2) + b"\n"


def is_sidecar(doc: Any) -> bool:
    return isinstance(doc, Mapping) and doc.get("format") == SIDECAR_FORMAT


def sidecar_form_id(head: bytes) -> str | None:
    """The form id a sidecar declares, from the whole document or, when cut short, from its head."""
    try:
        doc = orjson.loads(head)
    except orjson.JSONDecodeError:
        m = _HEAD.match(head)
        return m.group(1).decode("ascii") if m else None
    form = doc.get("form") if is_sidecar(doc) else None
    return form if isinstance(form, str) else None
