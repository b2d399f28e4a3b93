"""Exactly-once intake of one inbound file (design.md §5 "Intake").

1. The file's SHA-256 is recorded — an ``exchanges`` row, status ``received`` — before anything
   else. UNIQUE(partner, direction, sha256) makes the same file a duplicate: reported, audited,
   never applied again. A row still ``received``/``processing`` is a crashed intake: it resumes.
2. The envelope is verified and decrypted; an ``EnvelopeError`` quarantines the file (no retry)
   and raises an alert.
3. The partner's formats are tried with ``detect``; nothing matching quarantines the file.
4. The adapter streams records. Good records are encrypted and staged, rejects stored, and the
   exchange's ``progress`` (last record_no handled) is updated in the SAME transaction as each
   chunk, guarded by the progress it expects. A process killed mid-file leaves whole chunks only;
   on restart records up to ``progress`` are skipped. Staging also skips records whose natural
   key is already staged, so a record re-sent in another file is not applied twice.
5. If the database connection drops mid-file (server restart, terminated backend), the committed
   progress is read again on a new connection and parsing resumes from there.
6. A file-level failure (``FileStructureError``) follows the partner's policy: quarantine the file
   and drop what it staged, or keep the good records as ``partial``.
7. The final status, counts and timings are committed with the exchange's audit entry; an
   acknowledgment file is matched to the outbound exchanges it answers in that same transaction.
8. What the records report about people (addresses, employers, income) is matched to case
   participants (``gateway.cases.feed``).

Memory does not grow with the file: intake takes a seekable file (a job's spool file, the file an
operator names, a quarantined file decrypted to a spool file) and reads it in passes — the digest and
size in 1 MiB reads, the head for ``detect``, then the adapter's stream from the start (again after a
resume). Only ``raw=`` bytes (small files, tests) are in memory to begin with. The limit: a partner
with an envelope (CMS) has its whole message read into memory, since the envelope libraries verify and
decrypt a message in one piece; such a file costs a few times its size.

Callers hold the partner's lock (``gateway.exchanges.locks``) so one partner's files are taken
in by one worker at a time; the progress guard turns a violation of that into an error, not a
double write.
"""

from __future__ import annotations

import hashlib
import io
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, BinaryIO

from sqlalchemy import delete, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError

import adapters
from adapters.base import Adapter, Parsed, Rejected, Result
from adapters.errors import FileStructureError
from gateway.audit import log as audit
from gateway.cases import feed
from gateway.db.models import Exchange, ExchangeDirection, ExchangeStatus, Reject, StagedRecord
from gateway.db.session import session_scope
from gateway.errors import EnvelopeError, GatewayError
from gateway.exchanges import acks, quarantine, staging
from gateway.exchanges.natural_keys import natural_key
from gateway.exchanges.profile import ExchangeProfile, StructurePolicy
from gateway.exchanges.runtime import Runtime
from gateway.exchanges.spool import spool_file
from gateway.observability import METRICS

log = logging.getLogger(__name__)

HEAD_BYTES = 64 << 10
READ_BYTES = 1 << 20
DB_RESUME_ATTEMPTS = 3
TERMINAL = frozenset(
    {ExchangeStatus.PROCESSED, ExchangeStatus.PARTIAL, ExchangeStatus.REJECTED, ExchangeStatus.QUARANTINED}
)


class IntakeConflict(GatewayError):
    """Another worker moved this exchange's progress: two intakes of one file at once."""

    code = "INTAKE_CONFLICT"


class ReleaseRefused(GatewayError):
    """The quarantine entry cannot be reprocessed (already closed, or another partner's)."""

    code = "RELEASE_REFUSED"


@dataclass(slots=True)
class IntakeResult:
    """What happened to one file."""

    exchange_id: int
    status: ExchangeStatus
    format: str
    sha256: str
    duplicate: bool = False
    good: int = 0
    rejected: int = 0
    duplicates: int = 0
    error_code: str | None = None
    acknowledged: list[int] = field(default_factory=list)  # outbound exchanges this file completed

    def as_dict(self) -> dict[str, Any]:
        return {
            "exchange_id": self.exchange_id,
            "status": self.status.value,
            "format": self.format,
            "sha256": self.sha256,
            "duplicate": self.duplicate,
            "good": self.good,
            "rejected": self.rejected,
            "duplicates": self.duplicates,
            "error_code": self.error_code,
            "acknowledged": self.acknowledged,
        }


@dataclass(slots=True)
class _Run:
    """State of one intake call."""

    rt: Runtime
    profile: ExchangeProfile
    name: str
    raw: BinaryIO  # the file as received (still enveloped, if it came so)
    sha256: str
    size: int
    exchange_id: int = 0
    started: float = field(default_factory=time.perf_counter)
    answers: list[acks.Answer] = field(default_factory=list)


def receive(
    rt: Runtime,
    profile: ExchangeProfile,
    *,
    name: str,
    raw: bytes | None = None,
    file: BinaryIO | None = None,
    reprocess: bool = False,
    structure_policy: StructurePolicy | None = None,
) -> IntakeResult:
    """Take in one file received from ``profile``'s partner (see the module docstring): its bytes
    (``raw``) or a seekable binary file (``file``, read from its start and left open), exactly one.

    ``reprocess`` runs a quarantined file again from scratch; ``structure_policy`` overrides the
    partner's for this run (an operator releasing a file with a structure error).
    """
    source = _source(raw, file)
    run = _Run(rt, profile, name, source, *_digest(source))
    exchange = _register(run)
    run.exchange_id = exchange.id
    if reprocess:
        _reset(run, exchange)
    elif exchange.status in TERMINAL:
        return _duplicate(run, exchange)

    try:
        plain = _unwrapped(profile, source)
    except EnvelopeError as exc:
        return _quarantine(run, exc.code, exc.message, alert_kind="envelope", drop_staged=False)

    adapter = _detect(profile, plain)
    if adapter is None:
        message = f"no format of partner {profile.partner_id} ({', '.join(profile.inbound_formats)}) matches"
        return _quarantine(run, "UNKNOWN_FORMAT", message, alert_kind="quarantine", drop_staged=False)

    _begin(run, adapter.key)
    file_error = _stage_with_resume(run, adapter, plain)
    policy = structure_policy or profile.structure_policy
    if file_error is not None and policy == "quarantine":
        return _quarantine(run, file_error.code, file_error.message, alert_kind="quarantine", drop_staged=True)
    result = _finish(run, adapter.key, file_error)
    _feed_cases(run)
    return result


# --------------------------------------------------------------------------- steps


def _source(raw: bytes | None, file: BinaryIO | None) -> BinaryIO:
    if raw is not None and file is None:
        return io.BytesIO(raw)  # shares ``raw``'s buffer: no copy
    if file is not None and raw is None:
        return file
    raise TypeError("receive() takes exactly one of raw= or file=")


def _digest(source: BinaryIO) -> tuple[str, int]:
    """SHA-256 (hex) and size of the whole file, in bounded reads."""
    digest, size = hashlib.sha256(), 0
    source.seek(0)
    while chunk := source.read(READ_BYTES):
        digest.update(chunk)
        size += len(chunk)
    return digest.hexdigest(), size


def _unwrapped(profile: ExchangeProfile, source: BinaryIO) -> BinaryIO:
    """The file's content inside the partner's envelope; the file itself when it has none."""
    if not profile.has_envelope:
        return source
    source.seek(0)
    return io.BytesIO(profile.unwrap(source.read()))  # the envelope libraries need the whole message


def _register(run: _Run) -> Exchange:
    """The exchange row for this file: created (status received) or the existing one."""
    where = (
        Exchange.partner_id == run.profile.partner_id,
        Exchange.direction == ExchangeDirection.INBOUND,
        Exchange.sha256 == run.sha256,
    )
    with session_scope(run.rt.engine) as session:
        existing = session.scalar(select(Exchange).where(*where))
    if existing is not None:
        return existing
    try:
        with session_scope(run.rt.engine) as session:
            exchange = Exchange(
                partner_id=run.profile.partner_id,
                direction=ExchangeDirection.INBOUND,
                format="unknown",
                filename=run.name[:512],
                sha256=run.sha256,
                size=run.size,
                status=ExchangeStatus.RECEIVED,
            )
            session.add(exchange)
        log.info("file received", extra=_fields(run, exchange_id=exchange.id, size=run.size))
        return exchange
    except IntegrityError:  # another worker recorded the same file a moment ago
        with session_scope(run.rt.engine) as session:
            return session.scalars(select(Exchange).where(*where)).one()


def _reset(run: _Run, exchange: Exchange) -> None:
    """Start a quarantined (or rejected) file over: its earlier records and rejects are removed."""
    if exchange.status not in (ExchangeStatus.QUARANTINED, ExchangeStatus.REJECTED):
        raise ReleaseRefused(f"exchange {exchange.id} is {exchange.status.value}, not quarantined")
    with session_scope(run.rt.engine) as session:
        session.execute(delete(StagedRecord).where(StagedRecord.exchange_id == exchange.id))
        session.execute(delete(Reject).where(Reject.exchange_id == exchange.id))
        session.execute(
            update(Exchange)
            .where(Exchange.id == exchange.id)
            .values(
                status=ExchangeStatus.RECEIVED,
                progress=0,
                records_good=0,
                records_rejected=0,
                records_duplicate=0,
                error_code=None,
                error_message=None,
                finished_at=None,
            )
        )


def _duplicate(run: _Run, exchange: Exchange) -> IntakeResult:
    with session_scope(run.rt.engine) as session:
        audit.append(
            session,
            actor=run.rt.actor,
            action="exchange.duplicate",
            subject=f"exchange:{exchange.id}",
            detail={"partner": run.profile.partner_id, "sha256": run.sha256, "status": exchange.status.value},
        )
    METRICS.files.labels(run.profile.partner_id, "inbound", "duplicate").inc()
    log.info("duplicate file not applied", extra=_fields(run, exchange_id=exchange.id, status=exchange.status.value))
    return IntakeResult(exchange.id, exchange.status, exchange.format, run.sha256, duplicate=True)


def _detect(profile: ExchangeProfile, plain: BinaryIO) -> Adapter | None:
    plain.seek(0)
    head = plain.read(HEAD_BYTES)
    keys = [k for k in (*profile.inbound_formats, profile.ack.format if profile.ack else "") if k]
    for key in dict.fromkeys(keys):
        adapter = adapters.get(key)  # an unknown key is a configuration error: let it raise
        try:
            if adapter.detect(head):
                return adapter
        except Exception:  # a detector must never crash intake; it simply says no
            log.exception("detector failed", extra={"format": key})
    return None


def _begin(run: _Run, fmt: str) -> None:
    with session_scope(run.rt.engine) as session:
        session.execute(
            update(Exchange)
            .where(Exchange.id == run.exchange_id)
            .values(format=fmt, status=ExchangeStatus.PROCESSING, started_at=datetime.now(UTC))
        )


def _adapter_results(results: Iterator[Result]) -> Iterator[Result | FileStructureError]:
    """The adapter's results, with its file-level error (or crash) as the last item, so that
    errors of our own (database) raised while handling a result are never mistaken for it."""
    try:
        yield from results
    except FileStructureError as exc:
        yield exc
    except Exception as exc:  # an adapter bug: the file fails, the gateway goes on
        log.exception("adapter failed", extra={"error_type": type(exc).__name__})
        yield FileStructureError("ADAPTER_FAILURE", f"adapter stopped unexpectedly: {type(exc).__name__}")


def _stage_with_resume(run: _Run, adapter: Adapter, plain: BinaryIO) -> FileStructureError | None:
    for attempt in range(1, DB_RESUME_ATTEMPTS + 1):
        try:
            return _stage(run, adapter, plain)
        except DBAPIError as exc:
            if not exc.connection_invalidated or attempt == DB_RESUME_ATTEMPTS:
                raise
            log.warning(
                "database connection lost mid-file; resuming from committed progress",
                extra=_fields(run, attempt=attempt),
            )
            time.sleep(0.2 * attempt)
    raise AssertionError("unreachable")


def _stage(run: _Run, adapter: Adapter, plain: BinaryIO) -> FileStructureError | None:
    """One pass over the records from the file's start; those up to the committed progress are skipped."""
    rt, exchange_id = run.rt, run.exchange_id
    with session_scope(rt.engine) as session:
        committed = session.scalars(select(Exchange.progress).where(Exchange.id == exchange_id)).one()
    run.answers.clear()
    progress = committed
    staged: list[staging.StagedRow] = []
    rejects: list[staging.RejectRow] = []
    file_error: FileStructureError | None = None
    plain.seek(0)
    for result in _adapter_results(adapter.parse(plain)):
        if isinstance(result, FileStructureError):
            file_error = result
            break
        if isinstance(result, Parsed):
            run.answers.extend(acks.record_answers(adapter.key, result))  # all records, resumed or not
        if result.record_no <= committed:
            continue
        if isinstance(result, Rejected):
            rejects.append(staging.reject_row(exchange_id, result))
        else:
            key = natural_key(adapter.key, result, rt.blind_index)
            subject = feed.subject(adapter.key, result, rt.blind_index)
            staged.append(staging.staged_row(exchange_id, result, key, rt.cipher, subject))
        progress = result.record_no
        if len(staged) + len(rejects) >= rt.chunk_size:
            _commit_chunk(run, committed, progress, staged, rejects)
            committed = progress
            staged.clear()
            rejects.clear()
    if staged or rejects:
        _commit_chunk(run, committed, progress, staged, rejects)
    return file_error


def _commit_chunk(
    run: _Run, expected: int, progress: int, staged: list[staging.StagedRow], rejects: list[staging.RejectRow]
) -> None:
    """Records, rejects and progress in one transaction: all of a chunk or none of it."""
    with run.rt.engine.begin() as conn:
        new = staging.insert_staged(conn, staged)
        staging.insert_rejects(conn, rejects)
        moved = conn.execute(
            update(Exchange)
            .where(Exchange.id == run.exchange_id, Exchange.progress == expected)
            .values(
                progress=progress,
                records_good=Exchange.records_good + new,
                records_rejected=Exchange.records_rejected + len(rejects),
                records_duplicate=Exchange.records_duplicate + (len(staged) - new),
            )
        ).rowcount
        if moved != 1:
            raise IntakeConflict(f"exchange {run.exchange_id}: progress is no longer {expected}")


def _finish(run: _Run, fmt: str, file_error: FileStructureError | None) -> IntakeResult:
    profile = run.profile
    with session_scope(run.rt.engine, writes_after_reading=True) as session:
        exchange = session.get_one(Exchange, run.exchange_id)
        if file_error is not None or (exchange.records_rejected and exchange.records_good):
            status = ExchangeStatus.PARTIAL
        elif exchange.records_rejected and not exchange.records_good and not exchange.records_duplicate:
            status = ExchangeStatus.REJECTED
        else:
            status = ExchangeStatus.PROCESSED
        exchange.status = status
        exchange.finished_at = datetime.now(UTC)
        if file_error is not None:
            exchange.error_code, exchange.error_message = file_error.code, file_error.message
        acknowledged = acks.apply_answers(
            session, partner_id=profile.partner_id, answers=run.answers, ack_exchange_id=exchange.id
        )
        if profile.ack is not None and profile.ack.format == fmt and fmt not in acks.MATCHERS:
            acknowledged += acks.apply_file_order(
                session, partner_id=profile.partner_id, ack_format=fmt, ack_exchange_id=exchange.id
            )
        result = IntakeResult(
            exchange.id,
            status,
            fmt,
            run.sha256,
            good=exchange.records_good,
            rejected=exchange.records_rejected,
            duplicates=exchange.records_duplicate,
            error_code=exchange.error_code,
            acknowledged=acknowledged,
        )
        _audit_exchange(run, session, result)
    _observe(run, result)
    return result


def _feed_cases(run: _Run) -> None:
    """Match what the file reports to case participants (``gateway.cases.feed``). The file is taken in
    whatever happens here: a failure leaves the exchange unfed, and the scheduler's housekeeping feeds
    it later (``feed_pending``). Only the error's type is logged: a driver's message may quote values."""
    try:
        feed.feed(run.rt, run.exchange_id)
    except Exception as exc:
        log.error("case feed failed; housekeeping retries it", extra=_fields(run, error=type(exc).__name__))


def _quarantine(run: _Run, code: str, message: str, *, alert_kind: str, drop_staged: bool) -> IntakeResult:
    quarantine.hold(
        run.rt,
        exchange_id=run.exchange_id,
        partner_id=run.profile.partner_id,
        sha256=run.sha256,
        raw=run.raw,
        code=code,
        message=message,
        alert_kind=alert_kind,
        drop_staged=drop_staged,
    )
    with session_scope(run.rt.engine, writes_after_reading=True) as session:
        exchange = session.get_one(Exchange, run.exchange_id)
        result = IntakeResult(
            exchange.id,
            ExchangeStatus.QUARANTINED,
            exchange.format,
            run.sha256,
            rejected=exchange.records_rejected,
            error_code=code,
        )
        _audit_exchange(run, session, result)
    _observe(run, result)
    return result


def _audit_exchange(run: _Run, session: Any, result: IntakeResult) -> None:
    audit.append(
        session,
        actor=run.rt.actor,
        action="exchange.inbound",
        subject=f"exchange:{result.exchange_id}",
        detail={
            "partner": run.profile.partner_id,
            "direction": "inbound",
            "format": result.format,
            "sha256": run.sha256,
            "size": run.size,
            "records": result.good,
            "rejected": result.rejected,
            "duplicates": result.duplicates,
            "outcome": result.status.value,
            "error_code": result.error_code,
            "acknowledges": result.acknowledged,
            "ms": int((time.perf_counter() - run.started) * 1000),
        },
    )


def _observe(run: _Run, result: IntakeResult) -> None:
    partner = run.profile.partner_id
    METRICS.files.labels(partner, "inbound", result.status.value).inc()
    METRICS.bytes.labels(partner, "inbound").inc(run.size)
    METRICS.records.labels(partner, "inbound").inc(result.good)
    METRICS.rejects.labels(partner).inc(result.rejected)
    METRICS.latency.labels("inbound").observe(time.perf_counter() - run.started)
    log.info("file taken in", extra=_fields(run, **result.as_dict()))


def _fields(run: _Run, **extra: Any) -> dict[str, Any]:
    return {"partner": run.profile.partner_id, "file_sha256": run.sha256, **extra}


# --------------------------------------------------------------------------- quarantine actions


def reprocess(
    rt: Runtime, profile: ExchangeProfile, quarantine_id: int, *, accept_partial: bool = False
) -> IntakeResult:
    """Run a quarantined file through intake again with the partner's current configuration (keys,
    formats); ``accept_partial`` (``release``) keeps the good records of a file with a structure
    error. The envelope is checked again either way: no operator action lets an unverified file
    through. The quarantine entry is closed when the file gets through. The file is decrypted into a
    spool file (``gateway.exchanges.spool``) and taken in from there."""
    view = quarantine.get_quarantine(rt, quarantine_id)
    if view is None or view.released_at is not None:
        raise ReleaseRefused(f"no open quarantine entry {quarantine_id}")
    if view.partner_id != profile.partner_id:
        raise ReleaseRefused(f"quarantine entry {quarantine_id} belongs to partner {view.partner_id}")
    with spool_file(rt.data_dir) as held:
        quarantine.copy_content(rt, view, held)
        with session_scope(rt.engine) as session:
            audit.append(
                session,
                actor=rt.actor,
                action="quarantine.release" if accept_partial else "quarantine.reprocess",
                subject=f"quarantine:{quarantine_id}",
                detail={"exchange_id": view.exchange_id, "sha256": view.sha256},
            )
        result = receive(
            rt,
            profile,
            name=view.filename or view.sha256,
            file=held,
            reprocess=True,
            structure_policy="accept_partial" if accept_partial else None,
        )
    if result.status is not ExchangeStatus.QUARANTINED:
        quarantine.mark_released(rt, quarantine_id, resolution="released" if accept_partial else "reprocessed")
    return result
