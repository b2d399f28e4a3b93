"""Retention: a partner's ``retention_days`` is how long what it exchanged with us is kept.

Past that age (counted from when the exchange was recorded), an exchange's contents are destroyed:
its staged records (the personal data the file brought), its per-record rejects, its quarantine
entry, and the stored files — the quarantined file and the outbound payload. The exchange row
stays, marked ``purged_at``: it holds no personal data (partner, format, digest, counts, outcome),
so the exchange log and the audit entries naming it stay whole, and the same file sent again is
still recognised as a duplicate. Exchanges in flight (received, queued, processing) are left
alone whatever their age; a purged dead letter can no longer be retried, nor a purged quarantined
file reprocessed. Open alerts about a purged exchange are closed: nothing is left to act on.

Rows go in batches, each batch one transaction with its audit entry (``exchange.purged``, the
exchange ids and counts). Stored files are content-addressed by digest and may be shared (the
same file from two partners), so they are removed by a sweep after the rows: a file of
``data_dir/quarantine`` or ``data_dir/outbound`` whose digest is a purged exchange's, and which no
unpurged exchange and no quarantine entry needs, is deleted (audited as ``stored_files.deleted``).
The sweep also finishes a run that stopped between its rows and its files. A file no purged
exchange names is never touched, and neither is one younger than ``SWEEP_MIN_AGE``: a file is
written before the row that needs it, so a resend of a purged file is not swept mid-write.

Partners removed from the partners file keep their retention: their rows are disabled, not deleted.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

from sqlalchemy import CursorResult, Select, delete, func, select, update
from sqlalchemy.orm import Session

from gateway.audit import log as audit
from gateway.db.models import Alert, Exchange, ExchangeStatus, Quarantine, Reject, StagedRecord
from gateway.db.session import session_scope
from gateway.exchanges.blobstore import blob_path
from gateway.exchanges.runtime import Runtime
from gateway.partners.registry import retention_policies

log = logging.getLogger(__name__)

IN_FLIGHT = (ExchangeStatus.RECEIVED, ExchangeStatus.QUEUED, ExchangeStatus.PROCESSING)
BATCH = 200  # exchanges per transaction: bounded transactions, and ids an audit entry can list
BLOB_KINDS = ("quarantine", "outbound")  # the folders of ``blobstore.blob_path``
SWEEP_MIN_AGE = 3600.0  # seconds; longer than any write of a file and its row


@dataclass(slots=True)
class PartnerPurge:
    """What one partner's retention removed (or, in a dry run, would remove)."""

    partner_id: str
    retention_days: int
    cutoff: datetime
    exchanges: int = 0
    staged_records: int = 0
    rejects: int = 0
    quarantine_entries: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "partner": self.partner_id,
            "retention_days": self.retention_days,
            "cutoff": self.cutoff.isoformat(timespec="seconds"),
            "exchanges": self.exchanges,
            "staged_records": self.staged_records,
            "rejects": self.rejects,
            "quarantine_entries": self.quarantine_entries,
        }


@dataclass(slots=True)
class PurgeReport:
    dry_run: bool
    partners: list[PartnerPurge] = field(default_factory=list)
    files: int = 0  # stored files deleted by the sweep (a dry run: files of the exchanges it would purge)

    @property
    def exchanges(self) -> int:
        return sum(p.exchanges for p in self.partners)


def purge(
    rt: Runtime,
    *,
    policies: Mapping[str, int] | None = None,
    partner: str | None = None,
    now: datetime | None = None,
    dry_run: bool = False,
) -> PurgeReport:
    """Apply each partner's retention (``policies``: partner id → days; default: as loaded into the
    database). ``partner`` limits the run to one partner; ``dry_run`` counts and changes nothing."""
    now = now or datetime.now(UTC)
    if policies is None:
        with session_scope(rt.engine) as session:
            policies = retention_policies(session)
    report = PurgeReport(dry_run)
    for partner_id, days in sorted(policies.items()):
        if partner is not None and partner_id != partner:
            continue
        cutoff = now - timedelta(days=days)
        if dry_run:
            report.partners.append(_count(rt, partner_id, days, cutoff))
            report.files += _count_files(rt, partner_id, cutoff)
        else:
            report.partners.append(_purge_partner(rt, partner_id, days, cutoff, now))
    if not dry_run:
        report.files = sweep_files(rt, now=now)
    if report.exchanges or report.files:
        log.info(
            "retention applied",
            extra={"dry_run": dry_run, "exchanges": report.exchanges, "files": report.files},
        )
    return report


def _expired(partner_id: str, cutoff: datetime) -> Select[int]:
    return select(Exchange.id).where(
        Exchange.partner_id == partner_id,
        Exchange.created_at < cutoff,
        Exchange.purged_at.is_(None),
        Exchange.status.not_in(IN_FLIGHT),
    )


def _purge_partner(rt: Runtime, partner_id: str, days: int, cutoff: datetime, now: datetime) -> PartnerPurge:
    done = PartnerPurge(partner_id, days, cutoff)
    while True:
        with session_scope(rt.engine, writes_after_reading=True) as session:
            ids = list(session.scalars(_expired(partner_id, cutoff).order_by(Exchange.id).limit(BATCH)))
            if not ids:
                return done
            staged = _deleted(session, StagedRecord, StagedRecord.exchange_id.in_(ids))
            rejects = _deleted(session, Reject, Reject.exchange_id.in_(ids))
            entries = _deleted(session, Quarantine, Quarantine.exchange_id.in_(ids))
            session.execute(update(Exchange).where(Exchange.id.in_(ids)).values(purged_at=now, payload_path=None))
            session.execute(
                update(Alert).where(Alert.exchange_id.in_(ids), Alert.resolved_at.is_(None)).values(resolved_at=now)
            )
            audit.append(
                session,
                actor=rt.actor,
                action="exchange.purged",
                subject=f"partner:{partner_id}",
                detail={
                    "exchange_ids": ids,
                    "retention_days": days,
                    "cutoff": cutoff.isoformat(timespec="seconds"),
                    "staged_records": staged,
                    "rejects": rejects,
                    "quarantine_entries": entries,
                },
            )
        done.exchanges += len(ids)
        done.staged_records += staged
        done.rejects += rejects
        done.quarantine_entries += entries


def _deleted(session: Session, table: type[Any], where: Any) -> int:
    return int(cast("CursorResult[Any]", session.execute(delete(table).where(where))).rowcount or 0)


def _count(rt: Runtime, partner_id: str, days: int, cutoff: datetime) -> PartnerPurge:
    expired = _expired(partner_id, cutoff)
    with session_scope(rt.engine) as session:

        def count(table: type[Any], column: Any) -> int:
            return int(session.scalar(select(func.count()).select_from(table).where(column.in_(expired))) or 0)

        return PartnerPurge(
            partner_id,
            days,
            cutoff,
            exchanges=count(Exchange, Exchange.id),
            staged_records=count(StagedRecord, StagedRecord.exchange_id),
            rejects=count(Reject, Reject.exchange_id),
            quarantine_entries=count(Quarantine, Quarantine.exchange_id),
        )


def _count_files(rt: Runtime, partner_id: str, cutoff: datetime) -> int:
    """Stored files of the exchanges a run would purge (some may be kept, if another exchange shares them)."""
    with session_scope(rt.engine) as session:
        digests = set(session.scalars(select(Exchange.sha256).where(Exchange.id.in_(_expired(partner_id, cutoff)))))
    return sum(blob_path(rt.data_dir, kind, sha).is_file() for kind in BLOB_KINDS for sha in digests)


def sweep_files(rt: Runtime, *, now: datetime | None = None, min_age: float = SWEEP_MIN_AGE) -> int:
    """Delete the stored files of purged exchanges that nothing else needs; returns how many.

    Files go before their audit entry commits: a crash in between leaves the files gone and the
    entry missing, never a file the log says was destroyed but is still readable on disk."""
    candidates: dict[str, list[Path]] = {}
    oldest = (now or datetime.now(UTC)).timestamp() - min_age
    for kind in BLOB_KINDS:
        folder = rt.data_dir / kind
        if not folder.is_dir():
            continue
        for path in folder.glob("*.bin"):
            if len(path.stem) == 64 and not path.name.startswith(".") and path.stat().st_mtime <= oldest:
                candidates.setdefault(path.stem, []).append(path)
    removed = 0
    for chunk in _chunks(sorted(candidates), 500):
        with session_scope(rt.engine, writes_after_reading=True) as session:
            digest = Exchange.sha256.in_(chunk)
            purged = set(session.scalars(select(Exchange.sha256).where(digest, Exchange.purged_at.is_not(None))))
            purged -= set(session.scalars(select(Exchange.sha256).where(digest, Exchange.purged_at.is_(None))))
            purged -= set(session.scalars(select(Quarantine.sha256).where(Quarantine.sha256.in_(chunk))))
            if not purged:
                continue
            paths = [path for sha in sorted(purged) for path in candidates[sha]]
            for path in paths:
                path.unlink(missing_ok=True)
            audit.append(
                session,
                actor=rt.actor,
                action="stored_files.deleted",
                subject="retention",
                detail={"files": [f"{path.parent.name}/{path.name}" for path in paths]},
            )
            removed += len(paths)
    return removed


def _chunks(items: list[str], size: int) -> Iterable[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
