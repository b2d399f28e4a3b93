"""csgate receipt: a partner's plain acknowledgment that it received a file, naming the file by
its SHA-256 — for partners whose exchange has no acknowledgment format of its own (an SDU taking
payment files, a folder drop). It is csgate's own format (status ``choice``), written so that a
partner can produce it with any tool: ``sha256sum`` and a JSON line.

One JSON object per line (JSON Lines, UTF-8), one line per acknowledged file::

    {"acknowledges": "<sha256 hex of the file as received>", "status": "accepted", "records": 5}

- ``acknowledges`` (required): 64 lower-case hex digits;
- ``status`` (required): ``accepted`` or ``rejected``;
- ``records`` (optional): how many records the partner took, an integer >= 0;
- ``message`` (optional): up to 200 characters of free text, never personal data.

A line that breaks these rules is rejected with a code (``RECEIPT_SYNTAX``, ``RECEIPT_DIGEST``,
``RECEIPT_STATUS``, ``RECEIPT_FIELD``) and parsing goes on; a file with no receipt line at all
fails as a whole (``NO_RECEIPT``). Blank lines are ignored. Messages never quote the input.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, BinaryIO, ClassVar

import orjson

from adapters.base import Direction, Parsed, Rejected, Result, SourceInfo
from adapters.errors import FileStructureError, RecordError

DIGEST = re.compile(r"^[0-9a-f]{64}$")
STATUSES = ("accepted", "rejected")
FIELDS = frozenset({"acknowledges", "status", "records", "message"})
MAX_MESSAGE = 200
MAX_LINE = 4096
MAX_RECORDS = 2**63 - 1  # the largest integer JSON Lines writers and readers (orjson) carry exactly


def check(obj: Any) -> dict[str, Any]:
    """The receipt in one decoded JSON value, or ``RecordError`` naming the broken field."""
    if not isinstance(obj, dict):
        raise RecordError("RECEIPT_SYNTAX", "a receipt line must be a JSON object")
    if set(obj) - FIELDS:  # the unknown names are not quoted: they are partner input
        raise RecordError("RECEIPT_FIELD", f"unknown field; allowed: {', '.join(sorted(FIELDS))}")
    digest = obj.get("acknowledges")
    if not isinstance(digest, str) or not DIGEST.match(digest):
        raise RecordError("RECEIPT_DIGEST", "acknowledges must be 64 lower-case hex digits", field="acknowledges")
    if obj.get("status") not in STATUSES:
        raise RecordError("RECEIPT_STATUS", "status must be accepted or rejected", field="status")
    records = obj.get("records")
    if records is not None and (
        not isinstance(records, int) or isinstance(records, bool) or not 0 <= records <= MAX_RECORDS
    ):
        raise RecordError("RECEIPT_FIELD", f"records must be an integer from 0 to {MAX_RECORDS}", field="records")
    message = obj.get("message")
    if message is not None and (not isinstance(message, str) or len(message) > MAX_MESSAGE):
        raise RecordError("RECEIPT_FIELD", f"message must be text of at most {MAX_MESSAGE} characters", field="message")
    return {"acknowledges": digest, "status": obj["status"], "records": records, "message": message}


class ReceiptAdapter:
    """The csgate receipt (see the module docstring)."""

    key: ClassVar[str] = "receipt"
    title: ClassVar[str] = "csgate receipt (JSON Lines acknowledgment of a file by its SHA-256)"
    direction: ClassVar[Direction] = Direction.BOTH
    source: ClassVar[SourceInfo] = SourceInfo(
        document="csgate receipt (adapters/generic/receipt.py)",
        version="1",
        status="choice",
        notes="gateway's own acknowledgment for partners without an acknowledgment format",
    )

    def detect(self, head: bytes) -> bool:
        first = head.lstrip()[:MAX_LINE].split(b"\n", 1)[0]
        return first.startswith(b"{") and b'"acknowledges"' in first

    def parse(self, stream: BinaryIO) -> Iterator[Result]:
        record_no = 0
        for line_no, raw in enumerate(stream, start=1):
            if not raw.strip():
                continue
            record_no += 1
            try:
                if len(raw) > MAX_LINE:
                    raise RecordError("RECEIPT_SYNTAX", f"line longer than {MAX_LINE} bytes")
                try:
                    obj = orjson.loads(raw)
                except orjson.JSONDecodeError:
                    raise RecordError("RECEIPT_SYNTAX", "line is not valid JSON") from None
                data = check(obj)
            except RecordError as err:
                yield Rejected(record_no, line_no, err.code, err.message, err.field, type="receipt")
                continue
            yield Parsed(record_no, "receipt", data, line_no)
        if record_no == 0:
            raise FileStructureError("NO_RECEIPT", "the file holds no receipt line")

    def render(self, records: Iterable[Mapping[str, Any]]) -> Iterator[bytes]:
        for record in records:
            data = check(dict(record["data"]))
            yield orjson.dumps({k: v for k, v in data.items() if v is not None}, option=orjson.OPT_SORT_KEYS) + b"\n"
