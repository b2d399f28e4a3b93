"""Reading fixed-length records from a byte stream, whatever the framing.

Partners send fixed-width files two ways: one record per line (LF or CRLF), or records back to back
with no line breaks at all (mainframe and some bank transfers). ``iter_records`` accepts both and
yields ``(line_no, raw_record)`` with memory bounded by one chunk, however large the file.

Line framing is lenient about one thing only: trailing spaces that editors and transfer tools strip.
A short line is padded back with spaces to the record length and then checked field by field like any
other record, so a genuinely truncated record still fails on its required fields or control totals.
Back-to-back framing cannot be lenient: a final piece shorter than a record is truncation, reported
as a ``FileStructureError`` after every whole record has been yielded.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from itertools import chain
from typing import BinaryIO, cast

from adapters.errors import FileStructureError

CHUNK_RECORDS = 1024  # records per read: big enough to amortise the call, small enough to keep memory flat


def detect_framing(head: bytes, length: int) -> str:
    """``"lines"`` when records end in LF/CRLF, ``"fixed"`` when they run back to back."""
    first = head.split(b"\n", 1)[0].rstrip(b"\r")
    if b"\n" in head[: length + 2] or len(head) <= length:
        return "lines"
    return "fixed" if len(first) > length else "lines"


def iter_records(stream: BinaryIO, length: int, *, pad: bytes = b" ") -> Iterator[tuple[int, bytes]]:
    """``(line_no, record)`` pairs; see the module docstring for framing rules.

    Reads the head now, to choose the framing. The framing's generator hands over one chunk's records
    as a list, which ``chain`` passes on one by one and ``enumerate`` numbers, both in C: no Python
    frame is resumed per record of files with millions of them. Each item is a line or record (a blank
    line as ``b""``), so the numbering holds."""
    head = stream.read(length + 2)
    if not head:
        return iter(())
    if detect_framing(head, length) == "lines":
        return enumerate(chain.from_iterable(_line_chunks(head, stream, length, pad)), 1)
    return enumerate(chain.from_iterable(_fixed_chunks(head, stream, length)), 1)


def _line_chunks(head: bytes, stream: BinaryIO, length: int, pad: bytes) -> Iterator[list[bytes]]:
    # Lines are split a chunk at a time in C (``bytes.split``); a line cut by the chunk edge is carried.
    # A chunk whose line breaks all sit where whole records put them (one strided slice, counted in C)
    # is handed on as split; any other is mended line by line.
    pending_blank = 0
    rest = head
    chunk_size = (length + 2) * CHUNK_RECORDS
    stride = length + 1
    while True:
        chunk = stream.read(chunk_size)
        buf = rest + chunk
        lines = buf.split(b"\n")
        rest = lines.pop()
        n = len(lines)
        if not pending_blank and buf[length : n * stride : stride].count(b"\n") == n:
            yield lines  # every line is exactly one record
            lines = []
        if not chunk and rest:  # end of file: what is left is a last line without a line break
            lines.append(rest)
        records: list[bytes] = []
        for raw in lines:
            if len(raw) != length:
                raw = raw.rstrip(b"\r")
                if not raw.strip():
                    pending_blank += 1  # blank lines are only an error if a record follows them
                    continue
                if len(raw) < length:
                    raw = raw.ljust(length, pad)
            if pending_blank:  # blank lines before a record: each is an item, so the numbering holds
                records += (b"",) * pending_blank
                pending_blank = 0
            records.append(raw)
        yield records
        if not chunk:
            return


def _fixed_chunks(head: bytes, stream: BinaryIO, length: int) -> Iterator[list[bytes]]:
    buf = head
    rec_no = 0
    chunk = length * CHUNK_RECORDS
    while True:
        more = stream.read(chunk)
        buf += more
        whole = len(buf) - len(buf) % length
        yield [buf[i : i + length] for i in range(0, whole, length)]
        rec_no += whole // length
        buf = buf[whole:]
        if not more:
            break
    tail = buf.strip(b"\r\n\x1a")  # a final newline or DOS EOF mark is not data
    if tail:
        raise FileStructureError(
            "TRUNCATED", f"file ends with a partial record of {len(tail)} bytes after record {rec_no}"
        )


class _HeadThenRest(io.RawIOBase):
    def __init__(self, head: bytes, rest: BinaryIO) -> None:
        self.head, self.rest = head, rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        n = len(buffer)
        if self.head:
            data, self.head = self.head[:n], self.head[n:]
        else:
            data = self.rest.read(n)
        buffer[: len(data)] = data
        return len(data)


def with_head(head: bytes, rest: BinaryIO) -> BinaryIO:
    """A stream that yields ``head`` and then the rest of ``rest``: puts back the bytes an adapter read
    to decide how to read a file (its encoding, its document type) when the stream cannot seek."""
    return cast(BinaryIO, io.BufferedReader(_HeadThenRest(head, rest), 1 << 16))
