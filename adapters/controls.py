"""Control values (counts, totals, codes of trailers) that a caller gives ``render`` and the records give.

A renderer computes every control value from the records it writes; a value the caller supplied as
well must agree with it, or the file would contradict itself. Every adapter checks this the same way,
here: amounts and counts compare as numbers (``"12.30"``, ``12.3`` and ``Decimal("12.30")`` agree;
``"5"`` and ``5`` agree), anything else as text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from adapters.errors import RecordError

_NUMBER_TEXT = re.compile(r"[+-]?[0-9]{1,20}(?:\.[0-9]{1,10})?")


def _as_number(value: Any) -> Decimal | None:
    """``value`` as a number, or None when it is not one (a bool is not)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | Decimal):
        try:
            return Decimal(value) if value == value else None  # NaN is no count
        except InvalidOperation:
            return None
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, str) and _NUMBER_TEXT.fullmatch(value):
        return Decimal(value)
    return None


def shown(value: Any) -> str:
    """How an error message shows a supplied control value: a number as given, anything else not at all
    (a control field holding text holds something else by mistake, and that may be personal)."""
    return repr(value) if _as_number(value) is not None else "not a number"


def agree(given: Mapping[str, Any], computed: Mapping[str, Any], what: str) -> None:
    """Raise ``CONTROL_MISMATCH`` for the first supplied value of ``computed``'s keys that differs from it."""
    for key, value in computed.items():
        supplied = given.get(key)
        if supplied is None:
            continue
        if isinstance(value, int | Decimal) and not isinstance(value, bool):
            if _as_number(supplied) != value:
                raise RecordError(
                    "CONTROL_MISMATCH", f"{what}.{key} is {shown(supplied)}; the records give {value}", field=key
                )
        elif not isinstance(supplied, str | int) or str(supplied) != str(value):
            # text taken from another record (a header's control number): not shown either
            raise RecordError("CONTROL_MISMATCH", f"{what}.{key} does not match the other records", field=key)
