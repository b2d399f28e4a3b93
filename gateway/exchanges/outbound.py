"""Outbound exchanges: render → envelope → store → send → track until acknowledged.

``queue`` renders the records with the partner's outbound adapter (a record that does not fit
raises ``RecordError`` and nothing is queued), wraps the file in the partner's envelope, keeps the
enveloped payload encrypted at rest (``data_dir/outbound/<sha256>.bin``) and records the exchange
(``queued``) with the acknowledgment references it waits for. ``send`` uploads it: retriable
transport errors are retried with backoff and jitter (``gateway.exchanges.retry``); when the
attempts run out, or at the first permanent error, the exchange is dead-lettered and an alert
raised. An operator re-queues a dead letter (``retry``), one by one or all at once.

Sending is idempotent: an upload whose first attempt arrived but whose success we did not record
(crash) is sent again with the same name and content, which transports accept as success.
"""

from __future__ import annotations

import hashlib
import io
import logging
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

import adapters
from adapters.base import render_checked
from gateway.audit import log as audit
from gateway.db.models import AckExpectation, Exchange, ExchangeDirection, ExchangeStatus
from gateway.db.session import session_scope
from gateway.errors import ConfigError, GatewayError, PermanentTransportError, RetriableTransportError
from gateway.exchanges import acks
from gateway.exchanges.alerts import raise_alert, resolve_alert
from gateway.exchanges.blobstore import blob_path, read_blob, write_blob
from gateway.exchanges.connection import Connection
from gateway.exchanges.profile import ExchangeProfile
from gateway.exchanges.runtime import Runtime
from gateway.observability import METRICS

log = logging.getLogger(__name__)
SENDABLE = (ExchangeStatus.QUEUED, ExchangeStatus.PROCESSING)


class NotRetryable(GatewayError):
    """``retry`` was asked for an exchange that is not a dead letter."""

    code = "NOT_RETRYABLE"


@dataclass(frozen=True, slots=True)
class SendResult:
    exchange_id: int
    status: ExchangeStatus
    error_code: str | None = None


def _aad(sha256: str) -> str:
    return f"outbound:{sha256}"


def queue(
    rt: Runtime,
    profile: ExchangeProfile,
    *,
    records: Iterable[Mapping[str, Any]],
    filename: str | None = None,
) -> int:
    """Render, envelope and store one outbound file; returns its exchange id (status queued)."""
    fmt = profile.outbound_format
    if not fmt:
        raise ConfigError(f"partner {profile.partner_id} has no outbound format")
    rows = list(records)
    rendered = b"".join(render_checked(adapters.get(fmt), rows))
    payload = profile.wrap(rendered)
    sha256 = hashlib.sha256(payload).hexdigest()
    references = acks.expected_references(profile.ack.format, rows, sha256) if profile.ack else []
    name = (
        filename
        or f"{profile.partner_id}-{fmt}-{datetime.now(UTC):%Y%m%dT%H%M%S}-{sha256[:12]}{profile.outbound_suffix}"
    )
    path = blob_path(rt.data_dir, "outbound", sha256)
    write_blob(rt.cipher, path, io.BytesIO(payload), _aad(sha256))
    try:
        with session_scope(rt.engine) as session:
            exchange = Exchange(
                partner_id=profile.partner_id,
                direction=ExchangeDirection.OUTBOUND,
                format=fmt,
                filename=name[:512],
                sha256=sha256,
                size=len(payload),
                status=ExchangeStatus.QUEUED,
                records_good=len(rows),
                payload_path=str(path),
                ack_format=profile.ack.format if profile.ack else None,
            )
            session.add(exchange)
            session.flush()
            session.add_all(
                AckExpectation(exchange_id=exchange.id, partner_id=profile.partner_id, reference=ref)
                for ref in references
            )
            audit.append(
                session,
                actor=rt.actor,
                action="exchange.queued",
                subject=f"exchange:{exchange.id}",
                detail={
                    "partner": profile.partner_id,
                    "format": fmt,
                    "sha256": sha256,
                    "records": len(rows),
                    "awaits": len(references),
                },
            )
            return exchange.id
    except IntegrityError:  # the same payload queued before (no envelope randomness): same exchange
        with session_scope(rt.engine) as session:
            return session.scalars(
                select(Exchange.id).where(
                    Exchange.partner_id == profile.partner_id,
                    Exchange.direction == ExchangeDirection.OUTBOUND,
                    Exchange.sha256 == sha256,
                )
            ).one()


def send(rt: Runtime, profile: ExchangeProfile, exchange_id: int) -> SendResult:
    """Upload one queued exchange (see the module docstring)."""
    started = time.perf_counter()
    with session_scope(rt.engine, writes_after_reading=True) as session:
        exchange = session.get_one(Exchange, exchange_id)
        if exchange.direction is not ExchangeDirection.OUTBOUND or exchange.status not in SENDABLE:
            return SendResult(exchange_id, exchange.status, exchange.error_code)
        exchange.status = ExchangeStatus.PROCESSING
        exchange.attempts += 1
        exchange.started_at = exchange.started_at or datetime.now(UTC)
        name, sha256, payload_path = exchange.filename, exchange.sha256, exchange.payload_path
    payload = read_blob(rt.cipher, Path(payload_path or blob_path(rt.data_dir, "outbound", sha256)), _aad(sha256))

    try:
        with Connection(profile, "outbound") as conn:
            receipt = conn.call("put", lambda t: t.put(name, payload))
    except RetriableTransportError as exc:
        message = f"partner unreachable after {profile.retry.attempts} attempts: {exc.message}"
        return _dead_letter(rt, profile, exchange_id, exc.code, message, started)
    except PermanentTransportError as exc:
        return _dead_letter(rt, profile, exchange_id, exc.code, exc.message, started)
    if receipt.size != len(payload) or receipt.sha256 != sha256:
        message = f"partner holds {receipt.size} bytes with another digest after upload"
        return _dead_letter(rt, profile, exchange_id, "UPLOAD_MISMATCH", message, started)

    now = datetime.now(UTC)
    with session_scope(rt.engine, writes_after_reading=True) as session:
        exchange = session.get_one(Exchange, exchange_id)
        exchange.status, exchange.finished_at = ExchangeStatus.SENT, now
        exchange.error_code = exchange.error_message = None
        if profile.ack is not None:
            exchange.ack_due_at = profile.ack.due(now)
        _audit(rt, session, exchange, started, verified=receipt.sha256_verified)
    METRICS.files.labels(profile.partner_id, "outbound", "sent").inc()
    METRICS.bytes.labels(profile.partner_id, "outbound").inc(len(payload))
    METRICS.records.labels(profile.partner_id, "outbound").inc(exchange.records_good)
    METRICS.latency.labels("outbound").observe(time.perf_counter() - started)
    log.info("file sent", extra={"partner": profile.partner_id, "exchange_id": exchange_id, "file_sha256": sha256})
    return SendResult(exchange_id, ExchangeStatus.SENT)


def _dead_letter(
    rt: Runtime, profile: ExchangeProfile, exchange_id: int, code: str, message: str, started: float
) -> SendResult:
    with session_scope(rt.engine, writes_after_reading=True) as session:
        exchange = session.get_one(Exchange, exchange_id)
        exchange.status, exchange.error_code, exchange.error_message = ExchangeStatus.DEAD_LETTER, code, message
        exchange.finished_at = datetime.now(UTC)
        raise_alert(
            session,
            kind="dead_letter",
            key=f"exchange:{exchange_id}",
            message=f"outbound exchange {exchange_id} dead-lettered: {code}",
            partner_id=profile.partner_id,
            exchange_id=exchange_id,
        )
        _audit(rt, session, exchange, started)
    METRICS.files.labels(profile.partner_id, "outbound", "dead_letter").inc()
    return SendResult(exchange_id, ExchangeStatus.DEAD_LETTER, code)


def _audit(rt: Runtime, session: Session, exchange: Exchange, started: float, verified: bool | None = None) -> None:
    audit.append(
        session,
        actor=rt.actor,
        action="exchange.outbound",
        subject=f"exchange:{exchange.id}",
        detail={
            "partner": exchange.partner_id,
            "direction": "outbound",
            "format": exchange.format,
            "sha256": exchange.sha256,
            "size": exchange.size,
            "records": exchange.records_good,
            "attempt": exchange.attempts,
            "outcome": exchange.status.value,
            "error_code": exchange.error_code,
            "peer_digest_verified": verified,
            "ms": int((time.perf_counter() - started) * 1000),
        },
    )


def push(rt: Runtime, profile: ExchangeProfile) -> list[SendResult]:
    """Send every queued exchange of the partner, oldest first (and any a crash left mid-send)."""
    with session_scope(rt.engine) as session:
        ids = list(
            session.scalars(
                select(Exchange.id)
                .where(
                    Exchange.partner_id == profile.partner_id,
                    Exchange.direction == ExchangeDirection.OUTBOUND,
                    Exchange.status.in_(SENDABLE),
                )
                .order_by(Exchange.id)
            )
        )
    return [send(rt, profile, exchange_id) for exchange_id in ids]


def requeue(rt: Runtime, exchange_id: int) -> None:
    """Put one dead-lettered outbound exchange back in the queue (an operator action, audited)."""
    with session_scope(rt.engine, writes_after_reading=True) as session:
        exchange = session.get(Exchange, exchange_id)
        if exchange is None or exchange.status is not ExchangeStatus.DEAD_LETTER:
            raise NotRetryable(f"exchange {exchange_id} is not a dead letter")
        if exchange.purged_at is not None:
            raise NotRetryable(f"exchange {exchange_id} was purged under the partner's retention; nothing to send")
        exchange.status, exchange.error_code, exchange.error_message = ExchangeStatus.QUEUED, None, None
        exchange.finished_at = None
        session.flush()
        audit.append(
            session,
            actor=rt.actor,
            action="exchange.retry",
            subject=f"exchange:{exchange_id}",
            detail={"partner": exchange.partner_id},
        )
        resolve_alert(session, kind="dead_letter", key=f"exchange:{exchange_id}")  # the operator has acted


def check_overdue(rt: Runtime, *, now: datetime | None = None) -> list[int]:
    """Raise an ``ack_overdue`` alert for each sent exchange past its acknowledgment deadline."""
    now = now or datetime.now(UTC)
    with session_scope(rt.engine, writes_after_reading=True) as session:
        overdue = session.execute(
            select(Exchange.id, Exchange.partner_id).where(
                Exchange.direction == ExchangeDirection.OUTBOUND,
                Exchange.status == ExchangeStatus.SENT,
                Exchange.ack_due_at.is_not(None),
                Exchange.ack_due_at < now,
            )
        ).all()
        for exchange_id, partner_id in overdue:
            raise_alert(
                session,
                kind="ack_overdue",
                key=f"exchange:{exchange_id}",
                message=f"acknowledgment for outbound exchange {exchange_id} is overdue",
                partner_id=partner_id,
                exchange_id=exchange_id,
            )
        return [exchange_id for exchange_id, _ in overdue]
