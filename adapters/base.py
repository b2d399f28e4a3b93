"""The adapter contract (design.md §3): bytes ⇄ canonical records, no I/O beyond the given stream.

Adapters are pure translation. ``parse`` streams: it yields ``Parsed`` for each good logical
record and ``Rejected`` for each bad one, and raises ``FileStructureError`` only after every record
has been reported, so the caller chooses between accepting a partial file and rejecting it.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, BinaryIO, ClassVar, Protocol, runtime_checkable

from adapters.errors import RecordError


class Direction(enum.StrEnum):
    """Which way a format travels, seen from the agency."""

    INBOUND = "inbound"
    OUTBOUND = "outbound"
    BOTH = "both"


@dataclass(slots=True)
class Parsed:
    """One good logical record.

    ``type`` names the record kind within the format (``"entry"``, ``"file_header"``...);
    ``data`` holds the field values as plain Python values (str, int, Decimal, date, nested dicts),
    keyed by the mapping's field names; ``line`` is the 1-based physical line/record where it began.
    ``canonical`` is the canonical model object when the record maps to one (e.g. a ``Payment``).
    """

    record_no: int
    type: str
    data: dict[str, Any]
    line: int = 0
    canonical: Any = None


class DeferredParsed(Parsed):
    """A ``Parsed`` whose canonical record is built by ``build(*args)`` when ``canonical`` is first read,
    then kept.

    Validating a pydantic record costs more than parsing the record it comes from, and many callers never
    read it (they match SSNs, count, or write ``data`` again). The adapter must already have proved while
    parsing that the build succeeds, so reading ``canonical`` never raises; ``args`` hold what it is built
    from (``data`` itself, or a copy where a caller's later changes to ``data`` must not reach it).
    """

    __slots__ = ("_args", "_build", "_model")

    def __init__(
        self, record_no: int, rtype: str, data: dict[str, Any], line: int, build: Callable[..., Any], *args: Any
    ) -> None:
        # assigned directly, not through Parsed.__init__: this runs once per record of large files
        self.record_no, self.type, self.data, self.line = record_no, rtype, data, line
        self._build, self._model = build, None
        self._args: tuple[Any, ...] | None = args

    @property
    def canonical(self) -> Any:
        if self._args is not None:
            self._model = self._build(*self._args)
            self._args = None
        return self._model

    @canonical.setter
    def canonical(self, value: Any) -> None:
        self._model, self._args = value, None


@dataclass(slots=True)
class Rejected:
    """One bad record: a stable code, where it is, and a message without personal data."""

    record_no: int
    line: int
    code: str
    message: str
    field: str | None = None
    start: int | None = None
    end: int | None = None
    type: str | None = None


Result = Parsed | Rejected


@dataclass(frozen=True, slots=True)
class SourceInfo:
    """Where a format's layout comes from and how sure we are of it."""

    document: str
    version: str
    status: str  # confirmed | derived | unconfirmed | mixed
    notes: str = ""


@runtime_checkable
class Adapter(Protocol):
    """What every partner format implements. See design.md §3."""

    key: ClassVar[str]
    title: ClassVar[str]
    direction: ClassVar[Direction]
    source: ClassVar[SourceInfo]

    def detect(self, head: bytes) -> bool:
        """True when ``head`` (the first few KiB of a file) is this format."""
        ...

    def parse(self, stream: BinaryIO) -> Iterator[Result]:
        """Yield one result per logical record; raise ``FileStructureError`` last, if at all."""
        ...

    def render(self, records: Iterable[Mapping[str, Any]]) -> Iterator[bytes]:
        """Inverse of ``parse``: take ``{"type": ..., "data": {...}}`` mappings, yield file bytes.

        Every width and code is checked before writing; a value that does not fit raises
        ``RecordError`` rather than being truncated or shifting later fields.
        """
        ...


# What Python's own conversions raise when a value of the wrong type or form reaches them.
_STRAY_RENDER_ERRORS = (LookupError, TypeError, ValueError, ArithmeticError, AttributeError)


def render_checked(adapter: Adapter, records: Iterable[Mapping[str, Any]]) -> Iterator[bytes]:
    """``adapter.render`` as every caller runs it: a record that cannot be written raises ``RecordError``,
    never another exception, and never with the value in its message.

    Adapters refuse what they check with coded, field-level errors. A value of a type or form no check
    foresaw (a list where text belongs, text where a count belongs) reaches Python's own conversions,
    whose messages may quote it, and a caller expecting ``RecordError`` would show a traceback. Here it
    becomes ``RENDER_INPUT`` naming how many input records had been read and the type of the last."""
    read = 0
    last: Any = None

    def counted() -> Iterator[Mapping[str, Any]]:
        nonlocal read, last
        for record in records:
            read += 1
            last = record.get("type") if isinstance(record, Mapping) else None
            yield record

    try:
        yield from adapter.render(counted())
    except RecordError:
        raise
    except _STRAY_RENDER_ERRORS as exc:
        raise RecordError(
            "RENDER_INPUT",
            f"a value has a type or form the {adapter.key} format cannot hold ({type(exc).__name__}); "
            f"found after reading {read} input record(s), the last of type {str(last)[:40]!r}",
        ) from None
