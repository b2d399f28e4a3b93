"""Electronic Document Exchange (EDE) packages: UIFSA forms as PDF + JSON sidecar, with a manifest.

EDE is OCSE's portal application in which state child support agencies exchange case documents
(shared/specs/agency-formats.md §2.4: supporting documents of CSENet requests, and the channel of
choice when CSENet is unavailable). No public system-to-system EDE format exists (UNCONFIRMED whether
any API does), so the package is csgate's own: one ZIP holding, per form, the PDF a caseworker uploads
and its machine-readable sidecar, plus ``manifest.json`` listing every document with its size and
SHA-256, so the receiver proves nothing was altered, dropped or slipped in (``verify_ede_package``).
Encryption is the EDE portal's and the gateway envelope's job, not this module's.

The ZIP is deterministic: entries in manifest order with a fixed timestamp, so the same forms give
the same bytes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import zipfile
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Final

import orjson

from adapters.canonical import UifsaForm
from adapters.errors import FileStructureError, RecordError
from adapters.interstate.uifsa_definition import FormDef, definitions_by_id
from adapters.interstate.uifsa_pdf import render_pdf
from adapters.interstate.uifsa_sidecar import dump_sidecar, is_sidecar
from adapters.interstate.uifsa_values import form_values

MANIFEST: Final = "manifest.json"
PACKAGE_FORMAT: Final = "csgate-ede-package"
PACKAGE_VERSION: Final = 1
ZIP_TIME: Final = (1980, 1, 1, 0, 0, 0)  # the ZIP epoch: no clock in adapters, same bytes every time
MAX_MEMBER_BYTES: Final = 64 << 20  # refuse to inflate anything larger (a ZIP bomb, not a form)
_ROUTING: Final = ("locator_code", "state", "case_id")  # identifiers only: no personal data in a manifest


def _definition(form_id: Any) -> FormDef:
    forms = definitions_by_id()
    by_key = {f.key: f for f in forms.values()}
    found = (forms.get(form_id) or by_key.get(form_id)) if isinstance(form_id, str) else None
    if found is None:
        raise RecordError("UNKNOWN_FORM", f"no UIFSA form definition for {form_id!r}", field="form")
    return found


def _forms(items: Iterable[UifsaForm | Mapping[str, Any]]) -> Iterator[tuple[FormDef, dict[str, Any]]]:
    """(definition, checked data) per form: a canonical record, a sidecar (all its records), or a
    ``{"form": <id or adapter key>, "data": {...}}`` mapping."""
    for item in items:
        if isinstance(item, UifsaForm):
            form = _definition(item.form.value)
            yield form, form_values(form, item)
        elif is_sidecar(item):
            form = _definition(item.get("form"))
            records = item.get("records")
            for record in records if isinstance(records, list) else [None]:
                yield form, form_values(form, record)
        elif isinstance(item, Mapping) and "form" in item:
            form = _definition(item["form"])
            yield form, form_values(form, item.get("data"))
        else:
            raise RecordError("NOT_A_FORM", "an EDE item is a UifsaForm, a sidecar or {'form', 'data'}")


def _routing(values: Mapping[str, Any], side: str) -> dict[str, Any]:
    block = values.get(side, {})
    return {k: block.get(k) for k in _ROUTING}


def ede_package(items: Iterable[UifsaForm | Mapping[str, Any]], *, created: dt.datetime | None = None) -> bytes:
    """A ZIP of each form as PDF and JSON sidecar, with ``manifest.json`` (SHA-256 of every document).

    ``created`` (the caller's clock) is recorded in the manifest when given. Raises ``RecordError`` for
    an incomplete form, naming the first problem, before anything is packaged."""
    files: list[tuple[str, bytes]] = []
    documents: list[dict[str, Any]] = []
    for n, (form, values) in enumerate(_forms(items), start=1):
        stem = f"{n:02d}-{form.id}"
        rendered = (
            (f"{stem}.pdf", "application/pdf", render_pdf(form, [values])),
            (f"{stem}.json", "application/json", dump_sidecar(form, [values])),
        )
        for name, media_type, content in rendered:
            files.append((name, content))
            documents.append(
                {
                    "name": name,
                    "media_type": media_type,
                    "form": form.id,
                    "title": form.title,
                    "omb_number": form.omb_number,
                    "form_version": form.form_version,
                    "initiating": _routing(values, "initiating"),
                    "responding": _routing(values, "responding"),
                    "bytes": len(content),
                    "sha256": hashlib.sha256(content).hexdigest(),
                }
            )
    if not files:
        raise RecordError("NO_FORMS", "an EDE package needs at least one form")
    manifest = {
        "format": PACKAGE_FORMAT,
        "format_version": PACKAGE_VERSION,
        "created": created.isoformat() if created else None,
        "documents": documents,
    }
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for name, content in [*files, (MANIFEST, orjson.dumps(manifest, option=orjson.OPT_INDENT_2))]:
            info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            z.writestr(info, content)
    return out.getvalue()


def verify_ede_package(data: bytes) -> dict[str, Any]:
    """The manifest of a package whose every document is present and matches its size and SHA-256.

    Raises ``FileStructureError`` listing every problem: ``EDE_NOT_ZIP``, ``EDE_MANIFEST``,
    ``EDE_MISSING``, ``EDE_DIGEST``, ``EDE_UNLISTED``, ``EDE_TOO_LARGE``."""
    try:
        z = zipfile.ZipFile(io.BytesIO(data))
        names = {i.filename: i for i in z.infolist()}
        manifest = orjson.loads(z.read(MANIFEST)) if MANIFEST in names else None
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError):
        raise FileStructureError("EDE_NOT_ZIP", "package is not a readable ZIP with a JSON manifest") from None
    documents = manifest.get("documents") if isinstance(manifest, dict) else None
    if not isinstance(manifest, dict) or manifest.get("format") != PACKAGE_FORMAT or not isinstance(documents, list):
        raise FileStructureError("EDE_MANIFEST", f"package has no {PACKAGE_FORMAT} manifest listing its documents")
    problems: list[tuple[str, str]] = []
    listed: set[str] = set()
    for doc in documents:
        name = doc.get("name") if isinstance(doc, dict) else None
        if not isinstance(name, str):
            problems.append(("EDE_MANIFEST", "a manifest entry has no document name"))
            continue
        listed.add(name)
        info = names.get(name)
        if info is None:
            problems.append(("EDE_MISSING", f"{name} is listed in the manifest but not in the package"))
        elif info.file_size > MAX_MEMBER_BYTES:
            problems.append(("EDE_TOO_LARGE", f"{name} inflates to more than {MAX_MEMBER_BYTES} bytes"))
        else:
            try:
                content = z.read(name)
            except (zipfile.BadZipFile, OSError, EOFError, ValueError):
                content = b""
            if len(content) != doc.get("bytes") or hashlib.sha256(content).hexdigest() != doc.get("sha256"):
                problems.append(("EDE_DIGEST", f"{name} does not match its manifest size and SHA-256"))
    for name in sorted(set(names) - listed - {MANIFEST}):
        problems.append(("EDE_UNLISTED", f"{name} is in the package but not in the manifest"))
    if problems:
        raise FileStructureError.from_problems(problems)
    return manifest
