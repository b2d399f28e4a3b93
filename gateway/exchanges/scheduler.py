"""The scheduler inside ``csgate serve`` (design.md §5 "Scheduler").

Every instance runs workers; one instance — the leader — also runs APScheduler with one cron job
per partner, which only *queues* a work item for the fired slot. Workers claim items
(``gateway.exchanges.workqueue``) and run the partner's job (``gateway.exchanges.jobs``).

Leadership is a lock (``gateway.exchanges.locks``): on PostgreSQL a session advisory lock, so
several instances can run against one database, the others standing by and retrying every
``leader_interval`` seconds; the lock dies with the leader's connection, so a killed leader is
replaced within about one interval. A leader that loses its lock connection stops scheduling at
once. A slot fired twice around a change of leader is queued once (UNIQUE partner, job, slot).
On SQLite (one machine) the lock is a file lock, which keeps a second instance from scheduling.

The leader also does the housekeeping: overdue acknowledgments raise alerts, inbound exchanges a
crash left unfed go to the case feed, income withholding notices new hires called for are queued
to the e-IWO partner (and alerted when late), the audit log gets a signed checkpoint when it has
grown, and every ``retention_interval`` seconds each partner's retention is applied
(``gateway.exchanges.retention``).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.interval import IntervalTrigger

from gateway.audit import log as audit
from gateway.audit.signing import CheckpointSigner
from gateway.cases import feed, iwo
from gateway.db.models import WorkStatus
from gateway.db.session import session_scope
from gateway.errors import ConfigError, PermanentTransportError, RetriableTransportError
from gateway.exchanges import jobs, outbound, retention, workqueue
from gateway.exchanges.alerts import raise_alert
from gateway.exchanges.locks import leader_lock
from gateway.exchanges.profile import ExchangeProfile
from gateway.exchanges.runtime import Runtime

log = logging.getLogger(__name__)
MISFIRE_GRACE = 30  # seconds: a fire this late (e.g. a new leader just took over) still runs


def fired_slot(trigger: BaseTrigger, now: datetime, grace: int = MISFIRE_GRACE) -> datetime | None:
    """The latest fire time at or before ``now`` (within ``grace``): the slot a firing belongs to.

    Computed from the trigger rather than the clock, so two schedulers firing the same slot a
    few milliseconds apart name it identically.
    """
    fire = trigger.get_next_fire_time(None, now - timedelta(seconds=grace))
    latest = None
    while fire is not None and fire <= now:
        latest = fire
        fire = trigger.get_next_fire_time(fire, fire + timedelta(microseconds=1))
    return latest


def instance_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class Scheduler:
    """Leader election, the APScheduler cron jobs, the workers and housekeeping of one instance."""

    def __init__(
        self,
        rt: Runtime,
        profiles: Mapping[str, ExchangeProfile],
        *,
        signer: CheckpointSigner | None = None,
        instance: str | None = None,
        workers: int = 1,
        poll_interval: float = 0.5,
        leader_interval: float = 1.0,
        housekeeping_interval: float = 30.0,
        retention_interval: float = 3600.0,
    ) -> None:
        self.rt = rt.acting_as("scheduler")
        self.profiles = dict(profiles)
        self.signer = signer
        self.instance = instance or instance_name()
        self.workers = workers
        self.poll_interval = poll_interval
        self.leader_interval = leader_interval
        self.housekeeping_interval = housekeeping_interval
        self.retention_interval = retention_interval
        self._retention_due = 0.0  # monotonic time of the next retention run: the first housekeeping
        self.triggers = {pid: p.schedule for pid, p in self.profiles.items() if p.schedule is not None}
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._lock = leader_lock(rt.engine, rt.data_dir)
        self._aps: BackgroundScheduler | None = None

    @property
    def is_leader(self) -> bool:
        return self._aps is not None

    def start(self) -> None:
        self._threads = [threading.Thread(target=self._leader_loop, name="csgate-leader", daemon=True)]
        self._threads += [
            threading.Thread(target=self._worker_loop, name=f"csgate-worker-{n}", daemon=True)
            for n in range(self.workers)
        ]
        for thread in self._threads:
            thread.start()
        log.info("scheduler started", extra={"instance": self.instance, "partners": sorted(self.triggers)})

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout)
        self._resign()
        self._lock.release()

    # ------------------------------------------------------------------ leadership

    def _leader_loop(self) -> None:
        while not self._stop.is_set():
            try:
                if self._aps is None:
                    if self._lock.acquire():
                        self._lead()
                elif not self._lock.alive():
                    log.warning("leadership lost", extra={"instance": self.instance})
                    self._resign()
            except Exception:
                log.exception("leader loop error", extra={"instance": self.instance})
                self._resign()
                self._lock.release()
            self._stop.wait(self.leader_interval)

    def _lead(self) -> None:
        recovered = workqueue.recover(self.rt.engine)
        aps = BackgroundScheduler(timezone=UTC)
        for partner_id, trigger in self.triggers.items():
            aps.add_job(
                self._fire,
                trigger,
                args=[partner_id],
                id=f"partner:{partner_id}",
                coalesce=True,
                max_instances=1,
                misfire_grace_time=MISFIRE_GRACE,
            )
        aps.add_job(
            self.housekeeping,
            IntervalTrigger(seconds=self.housekeeping_interval, timezone=UTC),
            id="housekeeping",
            coalesce=True,
            max_instances=1,
        )
        aps.start()
        self._aps = aps
        log.info("became scheduler leader", extra={"instance": self.instance, "recovered_items": recovered})

    def _resign(self) -> None:
        aps, self._aps = self._aps, None
        if aps is not None:
            aps.shutdown(wait=False)

    def _fire(self, partner_id: str) -> None:
        slot = fired_slot(self.triggers[partner_id], datetime.now(UTC))
        if slot is None:
            return
        stamp = slot.isoformat(timespec="seconds")
        queued = workqueue.enqueue(self.rt.engine, partner_id=partner_id, slot=stamp)
        log.info(
            "schedule fired", extra={"instance": self.instance, "partner": partner_id, "slot": stamp, "queued": queued}
        )

    def housekeeping(self) -> None:
        """Overdue acknowledgments → alerts; inbound exchanges a crash left unfed → the case feed;
        pending income withholding notices → queued to the e-IWO partner, late ones alerted;
        retention when due; a signed audit checkpoint when the log grew (last, so it covers the
        entries the others wrote)."""
        outbound.check_overdue(self.rt)
        feed.feed_pending(self.rt)
        iwo.queue_due(self.rt)
        iwo.check_overdue(self.rt)
        if time.monotonic() >= self._retention_due:
            retention.purge(self.rt)
            self._retention_due = time.monotonic() + self.retention_interval
        if self.signer is not None:
            with session_scope(self.rt.engine) as session:
                audit.checkpoint(session, self.signer)

    # ------------------------------------------------------------------ work

    def _worker_loop(self) -> None:
        while not self._stop.is_set():
            try:
                claim = workqueue.claim(self.rt.engine, self.rt.data_dir, self.instance)
            except Exception:
                log.exception("claim failed", extra={"instance": self.instance})
                claim = None
            if claim is None:
                self._stop.wait(self.poll_interval)
                continue
            self.run(claim)

    def run(self, claim: workqueue.Claim) -> None:
        """Run one claimed item and record its outcome."""
        fields: dict[str, Any] = {
            "instance": self.instance,
            "work_id": claim.id,
            "partner": claim.partner_id,
            "slot": claim.slot,
        }
        log.info("work started", extra=fields)
        profile = self.profiles.get(claim.partner_id)
        try:
            if profile is None:
                raise ConfigError(f"partner {claim.partner_id} is not configured here", code="UNKNOWN_PARTNER")
            report = jobs.run_partner(self.rt, profile)
        except (RetriableTransportError, PermanentTransportError) as exc:
            self._settle(claim, WorkStatus.DEAD_LETTER, exc.code, exc.message, dead=True)
            log.warning("work dead-lettered", extra={**fields, "code": exc.code})
        except Exception as exc:
            code = getattr(exc, "code", type(exc).__name__)
            self._settle(claim, WorkStatus.FAILED, str(code)[:64], str(getattr(exc, "message", "")) or None)
            log.error("work failed", extra={**fields, "code": code})
        else:
            self._settle(claim, WorkStatus.DONE)
            log.info("work done", extra={**fields, "received": len(report.received), "sent": len(report.sent)})

    def _settle(
        self,
        claim: workqueue.Claim,
        status: WorkStatus,
        code: str | None = None,
        message: str | None = None,
        *,
        dead: bool = False,
    ) -> None:
        def also(session: Any) -> None:
            if dead:
                raise_alert(
                    session,
                    kind="dead_letter",
                    key=f"work:{claim.id}",
                    partner_id=claim.partner_id,
                    message=f"scheduled run {claim.id} of partner {claim.partner_id} dead-lettered: {code}",
                )
                audit.append(
                    session,
                    actor=self.rt.actor,
                    action="work.dead_letter",
                    subject=f"work:{claim.id}",
                    detail={"partner": claim.partner_id, "slot": claim.slot, "code": code},
                )

        try:
            workqueue.finish(self.rt.engine, claim, status, error_code=code, error_message=message, also=also)
        except Exception:  # e.g. the database went away: the item stays pending and runs again
            log.exception("could not record work outcome", extra={"instance": self.instance, "work_id": claim.id})
            workqueue.abandon(self.rt.engine, claim)
