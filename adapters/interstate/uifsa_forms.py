"""UIFSA intergovernmental forms (OMB 0970-0085) as documents: PDF for people, a JSON sidecar for
systems, an EDE package for the Electronic Document Exchange.

Spec: shared/specs/agency-formats.md §2 (UIFSA §311(b) and 45 CFR 303.7(a)(4) require the federally
approved forms). The forms are PDFs, not data formats (§2.3 implementation note), so each adapter is one
form definition (``mappings/interstate/uifsa/<form>.form.toml``: sections, elements, labels,
requiredness) driving one generic class:

* ``render`` takes form data (a caseworker's ``case.json``: ``{"type": "form", "data": {...}}`` or the
  data object itself; ``csgate parse`` output; a sidecar; or a canonical ``UifsaForm``) and yields one
  PDF with the heading block and every element labelled. ``render_sidecar`` writes the JSON sidecar
  (``uifsa_sidecar.py``); ``ede_package`` bundles forms for EDE (``uifsa_ede.py``).
* ``parse`` reads a sidecar (or a case.json) back to canonical ``UifsaForm`` records. Each fault of a
  form is one ``Rejected`` with a stable code and the element's path (``responding.locator_code``) and
  never its value; a form has no line numbers, so ``line`` is 0 and ``field`` locates the fault.
  Input that is not one JSON document of forms is a ``FileStructureError``.
* ``detect`` recognises the sidecar of its own form id.

Nearest CSENet transaction per form: the definition's ``csenet`` note (DERIVED, §2.3); a form announced
by CSENet carries that transaction's serial number in ``document.csenet_serial``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any, BinaryIO, ClassVar

import orjson

from adapters.base import Direction, Parsed, Rejected, Result, SourceInfo
from adapters.errors import FileStructureError, LayoutError, RecordError
from adapters.interstate.uifsa_definition import FormDef, load_form
from adapters.interstate.uifsa_ede import ede_package, verify_ede_package
from adapters.interstate.uifsa_pdf import render_pdf
from adapters.interstate.uifsa_sidecar import dump_sidecar, is_sidecar, sidecar_form_id
from adapters.interstate.uifsa_values import form_values, from_canonical, is_record, read_form, to_canonical

MAX_BYTES = 8 << 20  # a form is a few KiB; anything this large is not one


class UifsaFormAdapter:
    """One UIFSA form, described by its definition file; subclasses name the file and the key."""

    key: ClassVar[str]
    definition: ClassVar[str]  # file name under mappings/interstate/uifsa/
    title: ClassVar[str]
    direction: ClassVar[Direction] = Direction.BOTH
    source: ClassVar[SourceInfo]
    round_trip: ClassVar[bool] = False  # render yields a PDF; the JSON sidecar round trip is tested instead

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Title and source come from the definition, so the TOML is the one place they are stated."""
        super().__init_subclass__(**kwargs)
        form = load_form(cls.definition)
        if form.key != cls.key:
            raise LayoutError(f"{cls.definition} is for {form.key!r}, not {cls.key!r}")
        cls.title = f"UIFSA form: {form.title} (OMB {form.omb_number})"
        cls.source = SourceInfo(
            document=form.source["document"],
            version=form.source["version"],
            status=form.source["status"],
            notes=form.source.get("notes", ""),
        )

    def __init__(self) -> None:
        self.form: FormDef = load_form(self.definition)

    # ------------------------------------------------------------------ detect
    def detect(self, head: bytes) -> bool:
        """A JSON sidecar (``uifsa_sidecar.py``) declaring this adapter's form id."""
        return sidecar_form_id(head) == self.form.id

    # ------------------------------------------------------------------ parse
    def parse(self, stream: BinaryIO) -> Iterator[Result]:
        """Canonical ``UifsaForm`` per form of a sidecar, a ``{"type": "form", "data"}`` record or bare
        form data; every fault of a form is its own ``Rejected``."""
        raw = stream.read(MAX_BYTES + 1)
        if len(raw) > MAX_BYTES:
            raise FileStructureError("TOO_LARGE", f"input is larger than {MAX_BYTES} bytes; a form is not")
        try:
            doc = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise FileStructureError("NOT_JSON", "input is not one UTF-8 JSON document") from None
        for n, item in enumerate(self._items(doc), start=1):
            yield from self._one(n, item)

    def _items(self, doc: Any) -> list[Any]:
        if not isinstance(doc, Mapping):
            raise FileStructureError("NOT_A_FORM", "input is not a JSON object (sidecar, form record or form data)")
        if not is_sidecar(doc):
            return [doc]
        if doc.get("form") != self.form.id:
            raise FileStructureError("WRONG_FORM", f"sidecar is not a {self.form.id} form")
        records = doc.get("records")
        if not isinstance(records, list) or not records:
            raise FileStructureError("NO_FORMS", "sidecar has no records")
        return records

    def _one(self, n: int, item: Any) -> Iterator[Result]:
        if is_record(item) and item.get("type", "form") != "form":
            yield Rejected(n, 0, "NOT_A_FORM_RECORD", "record type is not 'form'", field="type", type="form")
            return
        values, record, problems = read_form(self.form, item["data"] if is_record(item) else item)
        for p in problems:
            yield Rejected(n, 0, p.code, p.message, field=p.field, type="form")
        if record is not None:
            yield Parsed(n, "form", values, 0, record)

    # ------------------------------------------------------------------ render
    def _checked(self, records: Iterable[Any]) -> list[dict[str, Any]]:
        forms: list[dict[str, Any]] = []
        for item in records:
            if is_sidecar(item):
                if item.get("form") != self.form.id:
                    raise RecordError("WRONG_FORM", f"sidecar is not a {self.form.id} form", field="form")
                items = item.get("records")
                forms += [form_values(self.form, r) for r in (items if isinstance(items, list) else [None])]
            else:
                forms.append(form_values(self.form, item))
        if not forms:
            raise RecordError("NO_FORMS", "nothing to render: no form data given")
        return forms

    def render(self, records: Iterable[Mapping[str, Any]]) -> Iterator[bytes]:
        """One PDF holding every given form (each on new pages). Raises ``RecordError`` for an incomplete
        form before anything is written."""
        yield render_pdf(self.form, self._checked(records))

    def render_sidecar(self, records: Iterable[Any]) -> bytes:
        """The JSON sidecar of the same forms ``render`` prints; ``parse`` reads it back."""
        return dump_sidecar(self.form, self._checked(records))


class Transmittal1Adapter(UifsaFormAdapter):
    key: ClassVar[str] = "uifsa-transmittal-1"
    definition: ClassVar[str] = "transmittal-1.form.toml"


class Transmittal2Adapter(UifsaFormAdapter):
    key: ClassVar[str] = "uifsa-transmittal-2"
    definition: ClassVar[str] = "transmittal-2.form.toml"


class Transmittal3Adapter(UifsaFormAdapter):
    key: ClassVar[str] = "uifsa-transmittal-3"
    definition: ClassVar[str] = "transmittal-3.form.toml"


class GeneralTestimonyAdapter(UifsaFormAdapter):
    key: ClassVar[str] = "uifsa-general-testimony"
    definition: ClassVar[str] = "general-testimony.form.toml"


class ControllingOrderAdapter(UifsaFormAdapter):
    key: ClassVar[str] = "uifsa-controlling-order"
    definition: ClassVar[str] = "notice-controlling-order.form.toml"


FORM_ADAPTERS: tuple[type[UifsaFormAdapter], ...] = (
    Transmittal1Adapter,
    Transmittal2Adapter,
    Transmittal3Adapter,
    GeneralTestimonyAdapter,
    ControllingOrderAdapter,
)
"""Every form adapter class, in the order the forms are listed in mappings/interstate/uifsa/README.md."""

__all__ = [
    "FORM_ADAPTERS",
    "ControllingOrderAdapter",
    "GeneralTestimonyAdapter",
    "Transmittal1Adapter",
    "Transmittal2Adapter",
    "Transmittal3Adapter",
    "UifsaFormAdapter",
    "ede_package",
    "from_canonical",
    "to_canonical",
    "verify_ede_package",
]
