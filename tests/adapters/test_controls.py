"""Supplied control values against the ones the written records give (adapters.controls)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from adapters.controls import agree
from adapters.errors import RecordError

COMPUTED = {"count": 5, "total": Decimal("12.30"), "code": "BTI"}


@pytest.mark.parametrize(
    "given",
    [
        {},
        {"count": None, "total": None},
        {"count": 5, "total": Decimal("12.3"), "code": "BTI"},
        {"count": "5", "total": "12.30"},
        {"count": Decimal("5.00"), "total": 12.3},
    ],
)
def test_numbers_agree_in_any_form(given: dict[str, Any]) -> None:
    agree(given, COMPUTED, "trailer")


@pytest.mark.parametrize(
    ("key", "value", "shown"),
    [
        ("count", 6, "is 6;"),
        ("count", "6", "is '6';"),
        ("count", True, "is not a number;"),  # a bool is no count, though True == 1
        ("count", "JANE DOE", "is not a number;"),
        ("count", ["5"], "is not a number;"),
        ("total", Decimal("NaN"), "is not a number;"),
        ("total", "12.301", "is '12.301';"),
        ("code", "BTS", "does not match the other records"),
        ("code", ["BTI"], "does not match the other records"),
    ],
)
def test_a_disagreeing_value_is_refused_and_shown_only_when_it_is_a_number(key: str, value: Any, shown: str) -> None:
    with pytest.raises(RecordError) as info:
        agree({key: value}, COMPUTED, "trailer")
    assert info.value.code == "CONTROL_MISMATCH" and info.value.field == key
    assert shown in str(info.value) and "JANE" not in str(info.value)
