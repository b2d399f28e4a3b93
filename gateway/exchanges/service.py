"""Operator-facing reads and actions on the exchange log, shared by the CLI and the API.

Reads return plain dicts (JSON-ready, no personal data: ids, codes, counts, digests, timings).
Actions are keyword-only, take the acting ``Runtime`` (its ``actor`` goes into the audit log) and
are audited by the functions they call.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select

from gateway.db.models import (
    Alert,
    Exchange,
    ExchangeDirection,
    ExchangeStatus,
    Quarantine,
    Reject,
    WorkItem,
    WorkStatus,
)
from gateway.db.session import session_scope
from gateway.exchanges import acks, outbound, workqueue
from gateway.exchanges.runtime import Runtime

DEFAULT_LIMIT = 100


def _iso(value: datetime | None) -> str | None:
    return value.isoformat(timespec="seconds") if value else None


def exchange_row(ex: Exchange) -> dict[str, Any]:
    duration = (
        int((ex.finished_at - ex.started_at).total_seconds() * 1000) if ex.finished_at and ex.started_at else None
    )
    return {
        "id": ex.id,
        "partner": ex.partner_id,
        "direction": ex.direction.value,
        "format": ex.format,
        "filename": ex.filename,
        "sha256": ex.sha256,
        "size": ex.size,
        "status": ex.status.value,
        "records": ex.records_good,
        "rejected": ex.records_rejected,
        "duplicates": ex.records_duplicate,
        "progress": ex.progress,
        "attempts": ex.attempts,
        "created_at": _iso(ex.created_at),
        "started_at": _iso(ex.started_at),
        "finished_at": _iso(ex.finished_at),
        "duration_ms": duration,
        "error_code": ex.error_code,
        "error_message": ex.error_message,
        "ack_due_at": _iso(ex.ack_due_at),
        "acked_at": _iso(ex.acked_at),
        "purged_at": _iso(ex.purged_at),
    }


def list_exchanges(
    rt: Runtime,
    *,
    status: ExchangeStatus | None = None,
    partner: str | None = None,
    direction: ExchangeDirection | None = None,
    limit: int = DEFAULT_LIMIT,
) -> list[dict[str, Any]]:
    """The exchange log, newest first."""
    stmt = select(Exchange).order_by(Exchange.id.desc()).limit(limit)
    if status is not None:
        stmt = stmt.where(Exchange.status == status)
    if partner is not None:
        stmt = stmt.where(Exchange.partner_id == partner)
    if direction is not None:
        stmt = stmt.where(Exchange.direction == direction)
    with session_scope(rt.engine) as session:
        return [exchange_row(ex) for ex in session.scalars(stmt)]


def exchange_detail(rt: Runtime, exchange_id: int) -> dict[str, Any] | None:
    """One exchange with its rejects by code, acknowledgment outcomes and quarantine entry."""
    with session_scope(rt.engine) as session:
        ex = session.get(Exchange, exchange_id)
        if ex is None:
            return None
        row = exchange_row(ex)
        by_code = session.execute(
            select(Reject.code, func.count()).where(Reject.exchange_id == exchange_id).group_by(Reject.code)
        )
        row["rejects_by_code"] = {str(code): int(count) for code, count in by_code}
        row["acknowledgment"] = (
            acks.outcomes(session, exchange_id) if ex.direction is ExchangeDirection.OUTBOUND else {}
        )
        row["quarantine_id"] = session.scalar(
            select(Quarantine.id).where(Quarantine.exchange_id == exchange_id).order_by(Quarantine.id.desc()).limit(1)
        )
        return row


def list_work(rt: Runtime, *, status: WorkStatus | None = None, limit: int = DEFAULT_LIMIT) -> list[dict[str, Any]]:
    """Scheduled runs, newest first."""
    stmt = select(WorkItem).order_by(WorkItem.id.desc()).limit(limit)
    if status is not None:
        stmt = stmt.where(WorkItem.status == status)
    with session_scope(rt.engine) as session:
        return [
            {
                "id": w.id,
                "partner": w.partner_id,
                "job": w.job,
                "slot": w.slot,
                "status": w.status.value,
                "attempts": w.attempts,
                "claimed_by": w.claimed_by,
                "finished_at": _iso(w.finished_at),
                "error_code": w.error_code,
                "error_message": w.error_message,
            }
            for w in session.scalars(stmt)
        ]


def list_alerts(rt: Runtime, *, open_only: bool = True, kind: str | None = None) -> list[dict[str, Any]]:
    stmt = select(Alert).order_by(Alert.id.desc())
    if open_only:
        stmt = stmt.where(Alert.resolved_at.is_(None))
    if kind is not None:
        stmt = stmt.where(Alert.kind == kind)
    with session_scope(rt.engine) as session:
        return [
            {
                "id": a.id,
                "kind": a.kind,
                "partner": a.partner_id,
                "exchange_id": a.exchange_id,
                "message": a.message,
                "created_at": _iso(a.created_at),
                "resolved_at": _iso(a.resolved_at),
            }
            for a in session.scalars(stmt)
        ]


def summary(rt: Runtime, *, now: datetime | None = None) -> dict[str, Any]:
    """The state of the exchanges at a glance: how many per status, open alerts, acknowledgments past
    their deadline, dead letters (exchanges and scheduled runs) and files held in quarantine.

    A pure read, so looking at it changes nothing: overdue acknowledgments are counted here and
    alerted by the scheduler's housekeeping (``outbound.check_overdue``)."""
    now = now or datetime.now(UTC)
    with session_scope(rt.engine) as session:
        by_status = dict(session.execute(select(Exchange.status, func.count()).group_by(Exchange.status)).all())
        overdue_acks = session.scalar(
            select(func.count()).where(
                Exchange.direction == ExchangeDirection.OUTBOUND,
                Exchange.status == ExchangeStatus.SENT,
                Exchange.ack_due_at.is_not(None),
                Exchange.ack_due_at < now,
            )
        )
        open_alerts = session.scalar(select(func.count()).where(Alert.resolved_at.is_(None)))
        dead_work = session.scalar(select(func.count()).where(WorkItem.status == WorkStatus.DEAD_LETTER))
        quarantined = session.scalar(select(func.count()).where(Quarantine.released_at.is_(None)))
    return {
        "exchanges_by_status": {status.value: int(by_status.get(status, 0)) for status in ExchangeStatus},
        "open_alerts": int(open_alerts or 0),
        "overdue_acks": int(overdue_acks or 0),
        "dead_letters": int(by_status.get(ExchangeStatus.DEAD_LETTER, 0)) + int(dead_work or 0),
        "quarantined": int(quarantined or 0),
    }


def overdue(rt: Runtime) -> list[dict[str, Any]]:
    """Outbound exchanges past their acknowledgment deadline (raising their alerts on the way)."""
    ids = outbound.check_overdue(rt)
    with session_scope(rt.engine) as session:
        rows = session.scalars(select(Exchange).where(Exchange.id.in_(ids)).order_by(Exchange.ack_due_at))
        return [exchange_row(ex) for ex in rows]


@dataclass(slots=True)
class Requeued:
    exchanges: list[int] = field(default_factory=list)
    work: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, list[int]]:
        return {"exchanges": self.exchanges, "work": self.work}


def requeue_dead(
    rt: Runtime, *, exchange_ids: list[int] | None = None, work_ids: list[int] | None = None, all_dead: bool = False
) -> Requeued:
    """Re-queue dead letters, named or all of them (each one audited as the actor's action)."""
    done = Requeued()
    if all_dead:
        with session_scope(rt.engine) as session:
            dead = select(Exchange.id).where(
                Exchange.status == ExchangeStatus.DEAD_LETTER, Exchange.purged_at.is_(None)
            )  # a purged dead letter has nothing left to send
            exchange_ids = list(session.scalars(dead))
            work_ids = list(session.scalars(select(WorkItem.id).where(WorkItem.status == WorkStatus.DEAD_LETTER)))
    for exchange_id in exchange_ids or []:
        outbound.requeue(rt, exchange_id)
        done.exchanges.append(exchange_id)
    for item_id in work_ids or []:
        workqueue.requeue(rt.engine, item_id, actor=rt.actor)
        done.work.append(item_id)
    return done
