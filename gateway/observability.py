"""Logs and metrics (design.md §5 "Observability").

Logs are one JSON object per line (``ts``, ``level``, ``logger``, ``msg`` and any ``extra=`` fields),
so a log shipper indexes them without parsing prose. ``PiiFilter`` sits in front of every handler
and masks anything shaped like an SSN (nine digits, with or without separators) in the message,
its arguments and the extra fields: the rule is that no personal data reaches a log, and this is
the net under the rule, not the rule itself — callers log codes, counts, ids and digests.

Metrics are Prometheus counters and histograms kept per process (``METRICS``), plus gauges read
from the database at scrape time (``DatabaseCollector``) so that queue depth, overdue
acknowledgments and dead letters agree across every instance of a cluster.
"""

from __future__ import annotations

import logging
import re
import sys
import traceback
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

import orjson
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import Engine, func, select

# Nine digits as an SSN is written (123456789, 123-45-6789, 123 45 6789), not inside a longer word
# or number: a hex digest or a 15-digit trace number is not masked.
SSN_LIKE = re.compile(r"(?<![0-9A-Za-z])\d{3}([- ]?)\d{2}\1\d{4}(?![0-9A-Za-z])")
MASK = "***-**-****"

# Attributes every LogRecord has; anything else on a record came from ``extra=``.
_STANDARD = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName", "color_message"}


def mask_pii(text: str) -> str:
    """``text`` with every SSN-shaped run replaced by ``***-**-****``."""
    return SSN_LIKE.sub(MASK, text)


def contains_pii(value: Any, *, numbers: bool = True) -> bool:
    """True when ``value`` (a string, number or nested list/dict) holds an SSN-shaped value.

    The audit log refuses such details outright rather than masking them: an audit entry is
    permanent, and a masked value there would hide what happened. It passes ``numbers=False``: an
    SSN is text everywhere in csgate (the canonical model and the layouts hold it as nine characters),
    so a whole number in an audit detail is a count or an id, and a purge of 123,456,789 records must
    not be refused for looking like one. Logs keep masking numbers too: a log line may quote anything.
    """
    if isinstance(value, str):
        return SSN_LIKE.search(value) is not None
    if isinstance(value, int) and not isinstance(value, bool):
        return numbers and SSN_LIKE.fullmatch(str(value)) is not None
    if isinstance(value, Mapping):
        return any(contains_pii(k, numbers=numbers) or contains_pii(v, numbers=numbers) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(contains_pii(v, numbers=numbers) for v in value)
    return False


def _mask_value(value: Any) -> Any:
    if isinstance(value, str):
        return mask_pii(value)
    if isinstance(value, int) and not isinstance(value, bool) and contains_pii(value):
        return MASK
    if isinstance(value, Mapping):
        return {k: _mask_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_mask_value(v) for v in value]
    return value


class PiiFilter(logging.Filter):
    """Masks SSN-shaped values in a record before any handler formats it. Never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = mask_pii(record.getMessage())
        record.args = None
        for key, value in list(vars(record).items()):
            if key not in _STANDARD:
                setattr(record, key, _mask_value(value))
        if record.exc_info and record.exc_info[1] is not None:
            # A traceback can quote the offending value (e.g. in a ValueError): keep only the
            # type and the masked message, and drop the frames' text from the record.
            exc = record.exc_info[1]
            record.exc_text = mask_pii("".join(traceback.format_exception_only(type(exc), exc)).strip())
            record.exc_info = None
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line; extra fields are kept as they are (after ``PiiFilter``)."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD:
                out[key] = value
        if record.exc_text:
            out["error"] = record.exc_text
        elif record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            out["error"] = mask_pii(f"{type(exc).__name__}: {exc}")
        return orjson.dumps(out, default=str).decode()


def configure_logging(level: str = "INFO", stream: Any = None) -> None:
    """Route the root logger to one JSON handler with the PII filter; idempotent."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_csgate", False):
            root.removeHandler(handler)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(PiiFilter())
    handler._csgate = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
    # APScheduler logs every job run at INFO; our own "schedule fired" line says what matters.
    logging.getLogger("apscheduler").setLevel(max(logging.WARNING, root.level))


class Metrics:
    """The per-process Prometheus metrics. Label values are partner ids, directions and outcomes:
    never anything from a record."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.files = Counter("csgate_files", "Files exchanged", ["partner", "direction", "outcome"], registry=r)
        self.records = Counter("csgate_records", "Good records staged", ["partner", "direction"], registry=r)
        self.rejects = Counter("csgate_rejects", "Records rejected", ["partner"], registry=r)
        self.bytes = Counter("csgate_bytes", "Bytes moved", ["partner", "direction"], registry=r)
        self.latency = Histogram(
            "csgate_exchange_seconds",
            "Time to process one file, first byte to final commit",
            ["direction"],
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900),
            registry=r,
        )
        self.transport_retries = Counter(
            "csgate_transport_retries", "Retried transport operations", ["partner"], registry=r
        )

    def collectors(self) -> list[Collector]:
        """Every per-process metric, to register in another registry (the API's)."""
        return [self.files, self.records, self.rejects, self.bytes, self.latency, self.transport_retries]


METRICS = Metrics()


class DatabaseCollector(Collector):
    """Gauges computed from the database when scraped: the same numbers from every instance."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from gateway.db.models import Alert, Exchange, ExchangeStatus, Quarantine, WorkItem, WorkStatus

        with self.engine.connect() as conn:
            depth = dict(
                conn.execute(
                    select(WorkItem.status, func.count())
                    .where(WorkItem.status.in_([WorkStatus.PENDING, WorkStatus.RUNNING]))
                    .group_by(WorkItem.status)
                ).all()
            )
            dead_exchanges = conn.scalar(select(func.count()).where(Exchange.status == ExchangeStatus.DEAD_LETTER))
            dead_work = conn.scalar(select(func.count()).where(WorkItem.status == WorkStatus.DEAD_LETTER))
            overdue = conn.scalar(select(func.count()).where(Alert.kind == "ack_overdue", Alert.resolved_at.is_(None)))
            quarantined = conn.scalar(select(func.count()).where(Quarantine.released_at.is_(None)))
        queue = GaugeMetricFamily("csgate_queue_depth", "Work items waiting or running", labels=["status"])
        for status in (WorkStatus.PENDING, WorkStatus.RUNNING):
            queue.add_metric([status.value], depth.get(status, 0))
        yield queue
        yield GaugeMetricFamily(
            "csgate_dead_letters",
            "Exchanges and work items in dead letter",
            value=(dead_exchanges or 0) + (dead_work or 0),
        )
        yield GaugeMetricFamily("csgate_overdue_acks", "Acknowledgments past their deadline", value=overdue or 0)
        yield GaugeMetricFamily(
            "csgate_quarantined_files", "Quarantined files not yet released", value=quarantined or 0
        )
