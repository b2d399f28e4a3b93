"""Alerts: conditions an operator must act on (overdue acknowledgment, envelope failure, dead
letter, quarantine). Each is a row in ``alerts`` — raised once per ``dedupe_key`` however often the
condition is seen — and a WARNING log line with the same fields, for whatever pages the operator.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from gateway.db.models import Alert

log = logging.getLogger(__name__)


def raise_alert(
    session: Session,
    *,
    kind: str,
    key: str,
    message: str,
    partner_id: str | None = None,
    exchange_id: int | None = None,
) -> bool:
    """Record an alert unless one with ``kind:key`` is already open; True if this call raised it."""
    dedupe_key = f"{kind}:{key}"
    existing = session.scalar(select(Alert).where(Alert.dedupe_key == dedupe_key))
    if existing is not None:
        if existing.resolved_at is None:
            return False
        existing.resolved_at = None  # the condition is back: reopen, so it is seen again
        existing.message = message
    else:
        session.add(
            Alert(kind=kind, dedupe_key=dedupe_key, partner_id=partner_id, exchange_id=exchange_id, message=message)
        )
    session.flush()
    log.warning(
        "alert",
        extra={"alert": kind, "partner": partner_id, "exchange_id": exchange_id, "detail": message},
    )
    return True


def resolve_alert(session: Session, *, kind: str, key: str) -> None:
    """Close the open alert ``kind:key`` (e.g. an acknowledgment arrived, an operator re-queued)."""
    session.execute(
        update(Alert)
        .where(Alert.dedupe_key == f"{kind}:{key}", Alert.resolved_at.is_(None))
        .values(resolved_at=datetime.now(UTC))
    )
