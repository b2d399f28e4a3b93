"""The JSON path of ``csgate parse`` / ``csgate render``, in process (a subprocess per case is slow)."""

from __future__ import annotations

import io

import orjson

from adapters.base import Adapter, Parsed
from gateway.cli import dumps, result_json


def json_round_trip(adapter: Adapter, data: bytes) -> bytes:
    """Parse, print each record as the CLI does, read the JSON back and render it."""
    lines = [dumps(result_json(r)) for r in adapter.parse(io.BytesIO(data)) if isinstance(r, Parsed)]
    return b"".join(adapter.render(orjson.loads(line) for line in lines))
