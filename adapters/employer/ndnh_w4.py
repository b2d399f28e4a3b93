"""The NDNH W-4 transmission: a State Directory of New Hires (or a federal agency) sends its new-hire
records to the National Directory of New Hires — header ``H4``, ``W4`` records, trailer ``T4``.

Spec: shared/specs/employer-formats.md §3.2. The H4 header (Chart G-1) is CONFIRMED; the W4 record is
taken to be the employer record of §3.1 and the T4 trailer is our choice (both UNCONFIRMED), all in
``mappings/employer/ndnh_w4/`` so the NDNH's own charts replace them without code changes. The
transmission machinery — header first or records rejected, trailer count checked, several
transmissions per file, upper-case and filler rules — is the NDNH family's (``adapters.labor.ndnh``);
this module adds the W4 record's rules and its canonical ``NewHire`` (the same mapping as the
employer's file, ``adapters.employer.new_hire``), plus the NDNH's no-suffix rule on names.

Encoding: the NDNH takes EBCDIC (§3.2), so rendering writes ``cp037`` fixed-length records by
default (``NdnhW4Adapter(encoding="ascii")`` writes ASCII lines for test tools); parsing reads either,
recognised by the header's bytes. Python's ``cp037`` codec does the translation (rendered ASCII text
through a ``bytes.translate`` table built from it, ``layout.encode_text``).
"""

from __future__ import annotations

import codecs
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, BinaryIO, ClassVar

from adapters.base import DeferredParsed, Direction, Rejected, Result, SourceInfo
from adapters.canonical import NewHire
from adapters.employer.new_hire import (
    FIELD_TYPES,
    TEXT,
    check_layout,
    new_hire_from_w4,
    record_rules,
    sniff_encoding,
    w4_from_new_hire,
)
from adapters.errors import RecordError
from adapters.labor.ndnh import NdnhAdapter, NdnhParser, record_error
from adapters.labor.ndnh_spec import FieldRule
from adapters.layout import load_codes
from adapters.records import with_head

NAME_FIELDS = ("employee_first_name", "employee_middle_name", "employee_last_name")
FIELD_RULES: Mapping[str, Mapping[str, FieldRule]] = {
    "header": {
        "transmitter_state_code": FieldRule(("code", "digits"), length=2),
        "transmitter_agency_code": FieldRule(TEXT),
    },
    "new_hire": {name: FieldRule(types) for name, types in FIELD_TYPES.items()},
}
SOURCE = SourceInfo(
    document="NDNH W-4 transmission: H4 header (Chart G-1); W4 = the OCSE employer W4 record; T4 csgate's choice",
    version="Chart G-1 (2006/2007); GDS v13.0 Appendix E rules",
    status="mixed",
    notes="H4 1-32 confirmed; W4 identity with the employer record and the T4 layout UNCONFIRMED "
    "(mappings/employer/ndnh_w4/)",
)


class _W4Parser(NdnhParser):
    a: _Transmission

    def on_new_hire(self, line_no: int, raw: bytes) -> Result:
        data = self.take("new_hire", line_no, raw)
        if isinstance(data, Rejected):
            return data
        err = self.a.check("new_hire", data)
        if err is not None:
            return self.reject(line_no, err, "new_hire", raw)
        self.record_no += 1
        return DeferredParsed(self.record_no, "new_hire", data, line_no, new_hire_from_w4, data, self.a.name)


class _Transmission(NdnhAdapter):
    """The W-4 transmission in one encoding (the public adapter holds one per encoding it reads)."""

    key: ClassVar[str] = "ndnh-w4"
    title: ClassVar[str] = "NDNH W-4 transmission (H4 header, W4 new-hire records, T4 trailer)"
    direction: ClassVar[Direction] = Direction.OUTBOUND
    source: ClassVar[SourceInfo] = SOURCE
    folder: ClassVar[str] = "employer/ndnh_w4"
    name: ClassVar[str] = "ndnh-w4"
    roles: ClassVar[tuple[str, ...]] = ("header", "new_hire", "trailer")
    field_rules: ClassVar[Mapping[str, Mapping[str, FieldRule]]] = FIELD_RULES
    parser = _W4Parser

    def __init__(self, *, mappings: Path | None = None, encoding: str | None = None) -> None:
        super().__init__(mappings=mappings, encoding=encoding)
        self.w4 = self.spec.layouts["new_hire"]
        check_layout(self.w4, f"{self.folder}: the new_hire layout")
        self.suffixes = frozenset(load_codes("ndnh_name_suffix", mappings))

    def check(self, role: str, data: Mapping[str, Any]) -> RecordError | None:
        if role == "header":
            if data.get("transmitter_state_code") or data.get("transmitter_agency_code"):
                return None
            return record_error(
                "TRANSMITTER_ID",
                "the header needs the transmitter state code (SDNHs) or the transmitter agency code (federal agencies)",
                self.spec.field("header", "transmitter_state_code"),
            )
        if role == "new_hire":
            return record_rules(self.w4, data) or self.name_suffix(data)
        return None

    def name_suffix(self, data: Mapping[str, Any]) -> RecordError | None:
        """§3.2: no name suffixes (JR, SR, III ...; mappings/codes/ndnh_name_suffix.csv)."""
        for name in NAME_FIELDS:
            v = data.get(name)
            if v and (v in self.suffixes or (" " in v and v.rsplit(" ", 1)[1] in self.suffixes)):
                return self.w4.field_error(
                    name, "NAME_SUFFIX", "a name must not carry a suffix such as JR, SR or III (NDNH rule)"
                )
        return None


class NdnhW4Adapter:
    """NDNH W-4 transmission ⇄ ``NewHire``: reads ASCII or EBCDIC, writes EBCDIC unless told otherwise."""

    key: ClassVar[str] = "ndnh-w4"
    title: ClassVar[str] = "NDNH W-4 transmission, SDNH to NDNH (H4/W4/T4; EBCDIC written, ASCII or EBCDIC read)"
    direction: ClassVar[Direction] = Direction.OUTBOUND
    source: ClassVar[SourceInfo] = SOURCE

    def __init__(self, *, mappings: Path | None = None, encoding: str = "cp037") -> None:
        self.readers = {enc: _Transmission(mappings=mappings, encoding=enc) for enc in ("ascii", "cp037")}
        name = codecs.lookup(encoding).name
        self.writer = self.readers.get(name) or _Transmission(mappings=mappings, encoding=encoding)

    def detect(self, head: bytes) -> bool:
        """A W-4 transmission header in either encoding (record id, transmission type, version)."""
        return any(r.detect(head) for r in self.readers.values())

    def parse(self, stream: BinaryIO) -> Iterator[Result]:
        head = stream.read(2)
        reader = self.readers.get(sniff_encoding(head, self.writer.encoding), self.writer)
        return reader.parse(with_head(head, stream))

    def render(self, records: Iterable[Mapping[str, Any]]) -> Iterator[bytes]:
        return self.writer.render(self._as_w4(records))

    def _as_w4(self, records: Iterable[Mapping[str, Any]]) -> Iterator[Mapping[str, Any]]:
        """Canonical new hires (``csgate convert``, the JSON form) become W4 record data."""
        layout = self.writer.w4
        for rec in records:
            canonical, data = rec.get("canonical"), rec.get("data") or {}
            if isinstance(canonical, NewHire):
                yield {"type": "new_hire", "data": w4_from_new_hire(canonical, layout)}
            elif rec.get("type") == "new_hire" and data.get("kind") == "new_hire":
                yield {"type": "new_hire", "data": w4_from_new_hire(NewHire.model_validate(data), layout)}
            else:
                yield rec


__all__ = ["NdnhW4Adapter"]
