"""The bulk write path of intake: staged records and rejects go to the database through the
driver's ``executemany`` on the connection of the chunk's transaction — not ORM objects, which
cost ~3x (design.md §8) — and personal data is encrypted before it leaves the process.

``INSERT ... ON CONFLICT DO NOTHING`` (SQLite >= 3.24 and PostgreSQL alike) makes staging
idempotent on both unique keys, (exchange_id, record_no) and natural_key: a record already staged
is skipped and counted as a duplicate, never applied twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import orjson
from sqlalchemy import Connection

from adapters.base import Parsed, Rejected
from gateway.security.fieldcrypt import FieldCipher

STAGED_AAD = "staged_records.data"  # table.column, as FieldCipher expects
_COLUMNS_STAGED = ("exchange_id", "record_no", "type", "natural_key", "data", "key_id", "subject_bidx")
_COLUMNS_REJECT = ("exchange_id", "record_no", "line", "code", "field", "start_pos", "end_pos", "message")

StagedRow = tuple[int, int, str, str | None, bytes, int, bytes | None]
RejectRow = tuple[int, int, int, str, str | None, int | None, int | None, str]


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)  # never a float: no cent lost
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def encode_record(parsed: Parsed) -> bytes:
    """The record as stored (before encryption): its type, line, data and canonical form.

    The canonical model goes through pydantic's own JSON serializer and is spliced in as an orjson
    fragment: several times faster than ``model_dump`` into Python objects and back out.
    """
    canonical = parsed.canonical
    if canonical is not None and hasattr(canonical, "__pydantic_serializer__"):
        canonical = orjson.Fragment(canonical.__pydantic_serializer__.to_json(canonical))
    return orjson.dumps(
        {"type": parsed.type, "line": parsed.line, "data": parsed.data, "canonical": canonical},
        default=_default,
    )


def staged_row(
    exchange_id: int, parsed: Parsed, natural_key: str | None, cipher: FieldCipher, subject: bytes | None = None
) -> StagedRow:
    """The row of one good record; ``subject`` is the blind index of the SSN it is about, if any."""
    blob = cipher.encrypt(encode_record(parsed), STAGED_AAD)
    return (exchange_id, parsed.record_no, parsed.type[:32], natural_key, blob, cipher.current_key_id, subject)


def reject_row(exchange_id: int, rejected: Rejected) -> RejectRow:
    return (
        exchange_id,
        rejected.record_no,
        rejected.line,
        rejected.code[:64],
        rejected.field[:64] if rejected.field else None,
        rejected.start,
        rejected.end,
        rejected.message,
    )


def insert_sql(conn: Connection, table: str, columns: Sequence[str], *, skip_existing: bool) -> str:
    """``INSERT`` in the driver's own paramstyle, ``ON CONFLICT DO NOTHING`` with ``skip_existing``."""
    mark = "?" if conn.dialect.name == "sqlite" else "%s"  # the driver's own paramstyle
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join([mark] * len(columns))})"
    return sql + " ON CONFLICT DO NOTHING" if skip_existing else sql


def executemany(conn: Connection, sql: str, rows: Sequence[tuple[Any, ...]]) -> int:
    """Run ``sql`` for every row on the DBAPI cursor of ``conn``'s transaction; rows written."""
    cursor = conn.connection.cursor()  # the DBAPI cursor, inside conn's transaction
    try:
        cursor.executemany(sql, rows)
        return int(cursor.rowcount)
    finally:
        cursor.close()


def insert_staged(conn: Connection, rows: Sequence[StagedRow]) -> int:
    """Stage ``rows``; returns how many were new (the rest were already staged)."""
    if not rows:
        return 0
    return executemany(conn, insert_sql(conn, "staged_records", _COLUMNS_STAGED, skip_existing=True), rows)


def insert_rejects(conn: Connection, rows: Sequence[RejectRow]) -> None:
    if rows:
        executemany(conn, insert_sql(conn, "rejects", _COLUMNS_REJECT, skip_existing=False), rows)


def decode_record(cipher: FieldCipher, blob: bytes) -> dict[str, Any]:
    """Inverse of ``staged_row``'s encryption: the stored record as plain JSON values."""
    value = orjson.loads(cipher.decrypt(blob, STAGED_AAD))
    if not isinstance(value, dict):
        raise ValueError("staged record is not a JSON object")
    return value
