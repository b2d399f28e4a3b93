"""Adapter errors, grouped by what the caller does next (design.md §6).

- ``LayoutError``: a mapping file is wrong. A programming error, raised when the layout loads.
- ``RecordError``: one record is bad. The adapter turns it into a ``Rejected`` result and goes on.
- ``FileStructureError``: the file as a whole is damaged (counts, totals, trailer, truncation).
  Raised by ``parse`` only *after* every good record has been yielded.
- ``UnknownAdapterError`` / ``AdapterLoadError``: registry problems; loud, never silent.
"""

from __future__ import annotations


class AdapterError(Exception):
    """Root of every error an adapter raises."""


class LayoutError(AdapterError):
    """A mapping file breaks the layout rules (gap, overlap, unknown type, bad length...)."""


class RecordError(AdapterError, ValueError):
    """One record is invalid. Carries a stable code and where in the record the fault is.

    ``message`` must never contain personal data: callers pass field names and masked values only.
    """

    def __init__(
        self,
        code: str,
        message: str,
        *,
        field: str | None = None,
        start: int | None = None,
        end: int | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field
        self.start = start
        self.end = end


class FileStructureError(AdapterError):
    """The file as a whole is damaged; raised after the good records have been yielded."""

    def __init__(self, code: str, message: str, problems: list[tuple[str, str]] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        # every file-level fault found, in order; ``code``/``message`` are the first (the likeliest cause)
        self.problems: list[tuple[str, str]] = problems or [(code, message)]

    @classmethod
    def from_problems(cls, problems: list[tuple[str, str]]) -> FileStructureError:
        """One error for a list of faults: the first leads, the others are named after it."""
        code, message = problems[0]
        if len(problems) > 1:
            message += f" (and {len(problems) - 1} more: {', '.join(c for c, _ in problems[1:])})"
        return cls(code, message, list(problems))


class UnknownAdapterError(AdapterError, KeyError):
    """``get(key)`` was asked for an adapter that is not registered."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown adapter"


class AdapterLoadError(AdapterError):
    """A plugin registered under ``csgate.adapters`` could not be imported or is malformed."""
