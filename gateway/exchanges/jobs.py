"""A partner's scheduled job: pull what the partner has for us, then push what we queued for it.

Pull lists the partner's directory, fetches each complete file into a spool file on disk
(``gateway.exchanges.spool``: memory stays flat whatever the file's size, and the spool file is gone
once intake returns or fails), takes it in (``intake.receive``), and only then removes it at the
partner (moved to ``after_intake`` or deleted): a crash anywhere before that leaves the file there,
and the next run resumes or reports it as a duplicate. A file whose fetched size differs from the
listed size is still being written and is left for the next run. Every transport call is retried
per the partner's policy; what is left failing after that propagates to the work queue, which
dead-letters the run.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import partial
from operator import methodcaller
from typing import BinaryIO

from gateway.exchanges import intake, outbound
from gateway.exchanges.connection import Connection
from gateway.exchanges.profile import ExchangeProfile
from gateway.exchanges.runtime import Runtime
from gateway.exchanges.spool import guarded, spool_file
from gateway.transports.base import Received, Transport

log = logging.getLogger(__name__)


@dataclass(slots=True)
class JobReport:
    partner_id: str
    received: list[intake.IntakeResult] = field(default_factory=list)
    sent: list[outbound.SendResult] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # files still being written


def pull(rt: Runtime, profile: ExchangeProfile, report: JobReport) -> None:
    with Connection(profile, "inbound") as conn:
        for remote in sorted(conn.call("list", methodcaller("list")), key=lambda f: (f.mtime, f.name)):
            with spool_file(rt.data_dir) as spooled:
                received = conn.call("fetch", partial(_fetch, name=remote.name, dest=spooled))
                if received.size != remote.size:
                    log.warning(
                        "file changed while fetched; left for the next run",
                        extra={"partner": profile.partner_id, "listed": remote.size, "fetched": received.size},
                    )
                    report.skipped.append(remote.name)
                    continue
                report.received.append(intake.receive(rt, profile, name=remote.name, file=spooled))
            if profile.after_intake:
                conn.call("move_to", methodcaller("move_to", remote.name, profile.after_intake))
            else:
                conn.call("delete", methodcaller("delete", remote.name))


def _fetch(transport: Transport, *, name: str, dest: BinaryIO) -> Received:
    """Fetch into ``dest`` from its start: a retried fetch must not append to a partial first try."""
    dest.seek(0)
    dest.truncate()
    return transport.fetch(name, guarded(dest))


def run_partner(rt: Runtime, profile: ExchangeProfile) -> JobReport:
    """One run of the partner's job. The caller holds the partner's lock."""
    report = JobReport(profile.partner_id)
    if profile.inbound_formats or profile.ack is not None:
        pull(rt, profile, report)
    if profile.outbound_format:
        report.sent.extend(outbound.push(rt, profile))
    return report
