"""Acknowledgments: matching what a partner sends back to the outbound exchange it answers.

Matchers are keyed by the adapter key of the acknowledgment format. When an outbound file is
queued, the matcher of the partner's acknowledgment format lists the references the file will be
acknowledged by (``AckExpectation`` rows): per record, or the file's digest. When an inbound file
arrives, the matcher of its format reads the references each record answers; each answered
expectation is marked with the outcome, and an outbound exchange whose expectations are all
answered becomes ``acknowledged``. Record matchers read canonical records, so every adapter of a
family shares one.

=================  ============================================================================
matcher (keys)     reference
=================  ============================================================================
e-IWO              ``eiwo:<document tracking id>``: the ACK echoes DTL 72 in ACK 94-123
(eiwo, eiwo-xml,   (employer-formats.md §1.5, §1.7); outcome = the ACK disposition (A/R)
eiwo-ack)
CSENet (csenet)    ``csenet:<case id>:<function>`` of each request (action R): the business
                   acknowledgment (action A) answers on the same case and function, and a quick
                   locate (LO1) is answered by the other state's LO1 P itself; CSENet answers
                   carry their own serial number, not the request's (agency-formats.md §1.9);
                   outcome = the reason (AADIN/ANOAD, LSADR …) or the action (``A``/``P``)
receipt            ``sha256:<digest of the file as sent>``: the csgate receipt
(generic)          (``adapters.generic.receipt``), outcome accepted / rejected
file order         an acknowledgment format with no matcher (e.g. an offset accept/reject
(fallback)         file, which answers a submission without quoting it) answers the oldest
                   outbound exchange still waiting for that format, outcome ``received``
=================  ============================================================================
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from adapters.base import Parsed
from adapters.canonical import EmployerAck, IncomeWithholdingOrder, InterstateTransaction
from gateway.db.models import AckExpectation, Exchange, ExchangeDirection, ExchangeStatus
from gateway.exchanges.alerts import resolve_alert

Answer = tuple[str, str]  # (reference, outcome)
MAX_REFERENCE = 128


class Matcher(Protocol):
    """One acknowledgment format: what an outbound file waits for, and what an ack record answers."""

    def references(self, records: Sequence[Mapping[str, Any]], sha256: str) -> list[str]: ...

    def answers(self, parsed: Parsed) -> Iterable[Answer]: ...


def _field(record: Mapping[str, Any], name: str) -> Any:
    """A field from a record handed to render: the canonical object first, then the data dict."""
    canonical = record.get("canonical")
    if canonical is not None and hasattr(canonical, name):
        return getattr(canonical, name)
    data = record.get("data")
    return data.get(name) if isinstance(data, Mapping) else None


class _PerRecord:
    """References from each record handed to render, in order, without repeats."""

    def references(self, records: Sequence[Mapping[str, Any]], sha256: str) -> list[str]:
        return list(dict.fromkeys(ref for record in records for ref in self.record_references(record)))

    def record_references(self, record: Mapping[str, Any]) -> Iterator[str]:
        raise NotImplementedError


class EiwoMatcher(_PerRecord):
    def record_references(self, record: Mapping[str, Any]) -> Iterator[str]:
        canonical = record.get("canonical")
        if canonical is not None and not isinstance(canonical, IncomeWithholdingOrder):
            return
        tracking = _field(record, "document_tracking_id")
        if tracking:
            yield f"eiwo:{str(tracking).strip()}"

    def answers(self, parsed: Parsed) -> Iterator[Answer]:
        ack = parsed.canonical
        if isinstance(ack, EmployerAck) and ack.document_tracking_id:
            yield f"eiwo:{ack.document_tracking_id.strip()}", str(ack.disposition.value)


class CsenetMatcher(_PerRecord):
    def record_references(self, record: Mapping[str, Any]) -> Iterator[str]:
        if str(_field(record, "action") or "") != "R":
            return
        case_id, function = _field(record, "case_id"), _field(record, "function")
        if case_id and function:
            yield f"csenet:{str(case_id).strip()}:{getattr(function, 'value', function)}"

    def answers(self, parsed: Parsed) -> Iterator[Answer]:
        txn = parsed.canonical
        if not isinstance(txn, InterstateTransaction) or not txn.case_id:
            return
        action, function = txn.action.value, txn.function.value
        if action == "A" or (action == "P" and function == "LO1"):  # an LO1 R has no A: its P answers it
            yield f"csenet:{txn.case_id.strip()}:{function}", txn.reason or action


def digest_reference(sha256: str) -> str:
    return f"sha256:{sha256}"


class ReceiptMatcher:
    def references(self, records: Sequence[Mapping[str, Any]], sha256: str) -> list[str]:
        return [digest_reference(sha256)]

    def answers(self, parsed: Parsed) -> Iterator[Answer]:
        if parsed.type == "receipt":
            yield digest_reference(parsed.data["acknowledges"]), str(parsed.data["status"])


MATCHERS: dict[str, Matcher] = {
    "eiwo": EiwoMatcher(),
    "eiwo-xml": EiwoMatcher(),
    "eiwo-ack": EiwoMatcher(),
    "csenet": CsenetMatcher(),
    "receipt": ReceiptMatcher(),
}


def expected_references(ack_format: str, records: Sequence[Mapping[str, Any]], sha256: str) -> list[str]:
    """What an outbound file waits for; the file's digest alone when the format gives nothing
    per record (and for the file-order fallback, which answers that one expectation)."""
    matcher = MATCHERS.get(ack_format)
    references = (matcher.references(records, sha256) if matcher else []) or [digest_reference(sha256)]
    for ref in references:
        if len(ref) > MAX_REFERENCE:
            raise ValueError(f"acknowledgment reference longer than {MAX_REFERENCE} characters")
    return references


def record_answers(adapter_key: str, parsed: Parsed) -> list[Answer]:
    matcher = MATCHERS.get(adapter_key)
    return list(matcher.answers(parsed)) if matcher else []


def apply_answers(session: Session, *, partner_id: str, answers: Iterable[Answer], ack_exchange_id: int) -> list[int]:
    """Mark the expectations these answers satisfy; returns the outbound exchanges now fully
    acknowledged. An answer matches the newest unanswered expectation with its reference (a
    document re-sent in a later file is answered there)."""
    now = datetime.now(UTC)
    touched: set[int] = set()
    for reference, outcome in answers:
        expectation = session.scalar(
            select(AckExpectation)
            .where(
                AckExpectation.partner_id == partner_id,
                AckExpectation.reference == reference,
                AckExpectation.matched_at.is_(None),
            )
            .order_by(AckExpectation.id.desc())
            .limit(1)
        )
        if expectation is None:
            continue
        expectation.matched_at = now
        expectation.matched_exchange_id = ack_exchange_id
        expectation.outcome = outcome[:32]
        touched.add(expectation.exchange_id)
    session.flush()
    return _complete(session, touched, now)


def apply_file_order(session: Session, *, partner_id: str, ack_format: str, ack_exchange_id: int) -> list[int]:
    """The fallback: this acknowledgment file answers the oldest outbound exchange waiting for it."""
    oldest = session.scalar(
        select(Exchange.id)
        .where(
            Exchange.partner_id == partner_id,
            Exchange.direction == ExchangeDirection.OUTBOUND,
            Exchange.status == ExchangeStatus.SENT,
            Exchange.ack_format == ack_format,
        )
        .order_by(Exchange.id)
        .limit(1)
    )
    if oldest is None:
        return []
    now = datetime.now(UTC)
    session.execute(
        update(AckExpectation)
        .where(AckExpectation.exchange_id == oldest, AckExpectation.matched_at.is_(None))
        .values(matched_at=now, matched_exchange_id=ack_exchange_id, outcome="received")
    )
    return _complete(session, {oldest}, now)


def _complete(session: Session, exchange_ids: set[int], now: datetime) -> list[int]:
    done: list[int] = []
    for exchange_id in sorted(exchange_ids):
        waiting = session.scalar(
            select(func.count()).where(AckExpectation.exchange_id == exchange_id, AckExpectation.matched_at.is_(None))
        )
        if waiting:
            continue
        session.execute(
            update(Exchange)
            .where(Exchange.id == exchange_id, Exchange.status == ExchangeStatus.SENT)
            .values(status=ExchangeStatus.ACKNOWLEDGED, acked_at=now)
        )
        resolve_alert(session, kind="ack_overdue", key=f"exchange:{exchange_id}")
        done.append(exchange_id)
    return done


def outcomes(session: Session, exchange_id: int) -> dict[str, int]:
    """Count of answered expectations per outcome, and ``waiting`` for the unanswered ones."""
    rows = session.execute(
        select(func.coalesce(AckExpectation.outcome, "waiting"), func.count())
        .where(AckExpectation.exchange_id == exchange_id)
        .group_by(AckExpectation.outcome)
    ).all()
    return {str(k): int(v) for k, v in rows}
