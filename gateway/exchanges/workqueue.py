"""The work queue: one row per firing of a partner's schedule (``work_items``).

- ``enqueue`` inserts with ON CONFLICT DO NOTHING on UNIQUE(partner, job, slot): a slot fired
  twice (two schedulers during a leader change) is queued once.
- ``claim`` takes the oldest pending item whose partner is not busy. The partner's lock
  (``gateway.exchanges.locks``) keeps one worker per partner. On PostgreSQL the item row is
  locked with ``SELECT … FOR UPDATE SKIP LOCKED`` in a transaction that stays open for the whole
  run and commits the outcome: if the worker dies, the transaction aborts and the item is simply
  pending again for another instance. On SQLite (one instance) the claim is an
  ``UPDATE … WHERE status = 'pending'`` committed at once, and ``recover`` puts items left
  ``running`` by a crash back to pending when the scheduler starts.
- ``finish`` records done / failed / dead letter and releases the partner.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, RootTransaction, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from gateway.audit import log as audit
from gateway.db.models import WorkItem, WorkStatus
from gateway.db.session import session_scope
from gateway.errors import GatewayError
from gateway.exchanges.alerts import resolve_alert
from gateway.exchanges.locks import NamedLock, partner_lock

log = logging.getLogger(__name__)
CANDIDATES = 20


class NotRequeueable(GatewayError):
    code = "NOT_RETRYABLE"


@dataclass(slots=True)
class Claim:
    """A claimed work item; pass it back to ``finish``."""

    id: int
    partner_id: str
    job: str
    slot: str
    lock: NamedLock
    conn: Connection | None = None  # PostgreSQL: the open claim transaction
    tx: RootTransaction | None = None


def enqueue(engine: Engine, *, partner_id: str, slot: str, job: str = "run") -> bool:
    """Queue one firing; False when that slot was already queued (a double fire)."""
    insert = pg_insert if engine.dialect.name == "postgresql" else sqlite_insert
    stmt = (
        insert(WorkItem)
        .values(partner_id=partner_id, job=job, slot=slot, status=WorkStatus.PENDING, attempts=0)
        .on_conflict_do_nothing(index_elements=["partner_id", "job", "slot"])
        .returning(WorkItem.id)
    )
    with engine.begin() as conn:
        return conn.execute(stmt).first() is not None


def recover(engine: Engine) -> int:
    """SQLite only: items a crashed instance left running go back to pending."""
    if engine.dialect.name == "postgresql":
        return 0  # an aborted claim transaction already did this
    with engine.begin() as conn:
        return int(
            conn.execute(
                update(WorkItem)
                .where(WorkItem.status == WorkStatus.RUNNING)
                .values(status=WorkStatus.PENDING, claimed_by=None, claimed_at=None)
            ).rowcount
        )


def claim(engine: Engine, data_dir: Path, worker: str) -> Claim | None:
    """The oldest pending item whose partner is free, or None."""
    with engine.connect() as conn:
        candidates = conn.execute(
            select(WorkItem.id, WorkItem.partner_id)
            .where(WorkItem.status == WorkStatus.PENDING)
            .order_by(WorkItem.id)
            .limit(CANDIDATES)
        ).all()
    for item_id, partner_id in candidates:
        lock = partner_lock(engine, data_dir, partner_id)
        if not lock.acquire():
            continue
        taken = _take(engine, item_id, worker, lock)
        if taken is not None:
            return taken
        lock.release()
    return None


def _take(engine: Engine, item_id: int, worker: str, lock: NamedLock) -> Claim | None:
    now = datetime.now(UTC)
    claimed = {
        "status": WorkStatus.RUNNING,
        "claimed_by": worker[:128],
        "claimed_at": now,
        "attempts": WorkItem.attempts + 1,
    }
    if engine.dialect.name != "postgresql":
        with engine.begin() as conn:
            row = conn.execute(
                update(WorkItem)
                .where(WorkItem.id == item_id, WorkItem.status == WorkStatus.PENDING)
                .values(**claimed)
                .returning(WorkItem.partner_id, WorkItem.job, WorkItem.slot)
            ).first()
        return Claim(item_id, row.partner_id, row.job, row.slot, lock) if row else None
    conn = engine.connect()
    tx = conn.begin()
    try:
        row = conn.execute(
            select(WorkItem.partner_id, WorkItem.job, WorkItem.slot)
            .where(WorkItem.id == item_id, WorkItem.status == WorkStatus.PENDING)
            .with_for_update(skip_locked=True)
        ).first()
        if row is None:
            tx.rollback()
            conn.close()
            return None
        conn.execute(update(WorkItem).where(WorkItem.id == item_id).values(**claimed))
    except Exception:
        conn.close()
        raise
    return Claim(item_id, row.partner_id, row.job, row.slot, lock, conn, tx)


def finish(
    engine: Engine,
    claim: Claim,
    status: WorkStatus,
    *,
    error_code: str | None = None,
    error_message: str | None = None,
    also: Callable[[Session], Any] | None = None,
) -> None:
    """Record the outcome (and whatever ``also`` writes, in the same transaction); release."""
    values = {
        "status": status,
        "finished_at": datetime.now(UTC),
        "error_code": error_code,
        "error_message": error_message,
    }
    try:
        if claim.conn is not None and claim.tx is not None:
            _write(claim.conn, claim.id, values, also)
            claim.tx.commit()
        else:
            with engine.begin() as conn:
                _write(conn, claim.id, values, also)
    finally:
        if claim.conn is not None:
            claim.conn.close()
        claim.lock.release()


def _write(conn: Connection, item_id: int, values: dict[str, Any], also: Callable[[Session], Any] | None) -> None:
    conn.execute(update(WorkItem).where(WorkItem.id == item_id).values(**values))
    if also is not None:
        with Session(bind=conn) as session:
            also(session)
            session.flush()


def abandon(engine: Engine, claim: Claim) -> None:
    """Give the item back to pending (the worker could not record an outcome)."""
    try:
        if claim.tx is not None:
            if claim.tx.is_active:
                claim.tx.rollback()
        else:
            with engine.begin() as conn:
                conn.execute(
                    update(WorkItem)
                    .where(WorkItem.id == claim.id, WorkItem.status == WorkStatus.RUNNING)
                    .values(status=WorkStatus.PENDING, claimed_by=None, claimed_at=None)
                )
    except Exception:  # the database is gone: PostgreSQL drops the claim with the connection,
        log.warning("could not give back work item", extra={"work_id": claim.id})  # SQLite's `recover` does
    finally:
        if claim.conn is not None:
            claim.conn.close()
        claim.lock.release()


def requeue(engine: Engine, item_id: int, *, actor: str) -> None:
    """Put one dead-lettered or failed item back to pending (an operator action, audited)."""
    with session_scope(engine, writes_after_reading=True) as session:
        item = session.get(WorkItem, item_id)
        if item is None or item.status not in (WorkStatus.DEAD_LETTER, WorkStatus.FAILED):
            raise NotRequeueable(f"work item {item_id} is not a dead letter or failure")
        item.status, item.error_code, item.error_message = WorkStatus.PENDING, None, None
        item.claimed_by = item.claimed_at = item.finished_at = None
        session.flush()
        resolve_alert(session, kind="dead_letter", key=f"work:{item_id}")
        audit.append(
            session,
            actor=actor,
            action="work.retry",
            subject=f"work:{item_id}",
            detail={"partner": item.partner_id, "slot": item.slot},
        )
