"""The csgate receipt's own rules (the conformance suite covers the rest)."""

from __future__ import annotations

from typing import Any

import pytest

import adapters
from adapters.errors import RecordError


@pytest.mark.parametrize("records", [-1, 2**63, 10**30, True, "5"])
def test_receipt_refuses_a_record_count_json_cannot_carry(records: Any) -> None:
    data = {"acknowledges": "0" * 64, "status": "accepted", "records": records}
    with pytest.raises(RecordError) as info:
        b"".join(adapters.get("receipt").render([{"type": "receipt", "data": data}]))
    assert info.value.code == "RECEIPT_FIELD" and info.value.field == "records"


def test_receipt_writes_the_largest_count() -> None:
    data = {"acknowledges": "0" * 64, "status": "accepted", "records": 2**63 - 1}
    assert b"9223372036854775807" in b"".join(adapters.get("receipt").render([{"type": "receipt", "data": data}]))
