"""Quarantine: inbound files held back because their envelope, format or structure failed.

The file is kept exactly as received (still enveloped), encrypted at rest under
``data_dir/quarantine/<sha256>.bin`` as a chunked blob (``gateway.exchanges.blobstore``: written and
read back in 1 MiB chunks, so a multi-gigabyte file is never held in memory), with a ``quarantine``
row naming the exchange, the digest and the reason. The blob is written before the row (and the
exchange's ``quarantined`` status) is committed, so a row never points at a missing file; a failed
write leaves the exchange where it was and the file at the partner, to be fetched again.

Reprocessing and releasing run intake again and live in ``gateway.exchanges.intake``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, BinaryIO

from sqlalchemy import delete, select, update

from gateway.audit import log as audit
from gateway.db.models import Exchange, ExchangeStatus, Quarantine, StagedRecord
from gateway.db.session import session_scope
from gateway.exchanges.alerts import raise_alert
from gateway.exchanges.blobstore import blob_path, copy_blob, write_blob
from gateway.exchanges.runtime import Runtime


def blob_aad(sha256: str) -> str:
    return f"quarantine:{sha256}"


@dataclass(frozen=True, slots=True)
class QuarantineView:
    """A quarantined file as an operator sees it (no content)."""

    id: int
    exchange_id: int | None
    partner_id: str | None
    filename: str | None
    sha256: str
    size: int | None
    reason_code: str
    reason_message: str
    created_at: datetime
    released_at: datetime | None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready (timestamps as ISO strings), for the CLI and the API."""
        row = dataclasses.asdict(self)
        for key in ("created_at", "released_at"):
            row[key] = row[key].isoformat(timespec="seconds") if row[key] else None
        return row


def hold(
    rt: Runtime,
    *,
    exchange_id: int,
    partner_id: str,
    sha256: str,
    raw: BinaryIO,
    code: str,
    message: str,
    alert_kind: str,
    drop_staged: bool,
) -> int:
    """Quarantine the received file of an exchange (``raw``, seekable, read from its start);
    returns the quarantine id.

    ``drop_staged`` removes the records this file staged before its failure showed (a structure
    error is only known after the last record), in the same transaction as the status change.
    """
    path = blob_path(rt.data_dir, "quarantine", sha256)
    raw.seek(0)
    write_blob(rt.cipher, path, raw, blob_aad(sha256))
    now = datetime.now(UTC)
    with session_scope(rt.engine) as session:
        if drop_staged:
            session.execute(delete(StagedRecord).where(StagedRecord.exchange_id == exchange_id))
        session.execute(
            update(Exchange)
            .where(Exchange.id == exchange_id)
            .values(status=ExchangeStatus.QUARANTINED, error_code=code, error_message=message, finished_at=now)
        )
        row = session.scalar(
            select(Quarantine).where(Quarantine.exchange_id == exchange_id, Quarantine.released_at.is_(None))
        )
        if row is None:
            row = Quarantine(
                exchange_id=exchange_id,
                sha256=sha256,
                stored_path=str(path),
                encrypted=True,
                reason_code=code,
                reason_message=message,
            )
            session.add(row)
        else:
            row.reason_code, row.reason_message, row.stored_path = code, message, str(path)
        session.flush()
        raise_alert(
            session,
            kind=alert_kind,
            key=f"exchange:{exchange_id}",
            message=f"file of exchange {exchange_id} quarantined: {code}",
            partner_id=partner_id,
            exchange_id=exchange_id,
        )
        audit.append(
            session,
            actor=rt.actor,
            action="exchange.quarantined",
            subject=f"exchange:{exchange_id}",
            detail={"quarantine_id": row.id, "partner": partner_id, "sha256": sha256, "code": code},
        )
        return row.id


def _view(q: Quarantine, ex: Exchange | None) -> QuarantineView:
    return QuarantineView(
        id=q.id,
        exchange_id=q.exchange_id,
        partner_id=ex.partner_id if ex else None,
        filename=ex.filename if ex else None,
        sha256=q.sha256,
        size=ex.size if ex else None,
        reason_code=q.reason_code,
        reason_message=q.reason_message,
        created_at=q.created_at,
        released_at=q.released_at,
    )


def list_quarantine(rt: Runtime, *, include_released: bool = False) -> list[QuarantineView]:
    with session_scope(rt.engine) as session:
        stmt = select(Quarantine, Exchange).outerjoin(Exchange, Exchange.id == Quarantine.exchange_id)
        if not include_released:
            stmt = stmt.where(Quarantine.released_at.is_(None))
        return [_view(q, ex) for q, ex in session.execute(stmt.order_by(Quarantine.id)).all()]


def get_quarantine(rt: Runtime, quarantine_id: int) -> QuarantineView | None:
    with session_scope(rt.engine) as session:
        row = session.execute(
            select(Quarantine, Exchange)
            .outerjoin(Exchange, Exchange.id == Quarantine.exchange_id)
            .where(Quarantine.id == quarantine_id)
        ).first()
        return _view(row[0], row[1]) if row else None


def copy_content(rt: Runtime, view: QuarantineView, dest: BinaryIO) -> int:
    """Write the quarantined file exactly as it was received (decrypted from its blob) into ``dest``;
    returns its size. ``FieldCryptoError`` if the blob fails authentication: ``dest`` may then hold
    part of the file and must be discarded."""
    path = blob_path(rt.data_dir, "quarantine", view.sha256)
    return copy_blob(rt.cipher, path, blob_aad(view.sha256), dest)


def mark_released(rt: Runtime, quarantine_id: int, *, resolution: str) -> None:
    with session_scope(rt.engine) as session:
        session.execute(
            update(Quarantine)
            .where(Quarantine.id == quarantine_id, Quarantine.released_at.is_(None))
            .values(released_at=datetime.now(UTC))
        )
        audit.append(
            session,
            actor=rt.actor,
            action="quarantine.released",
            subject=f"quarantine:{quarantine_id}",
            detail={"resolution": resolution},
        )
