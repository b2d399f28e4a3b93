"""The gateway's tables (design.md §5), as typed SQLAlchemy 2 declarative models.

Rules that hold for every table:

- Personal data (SSN, names, DOB, addresses, record payloads) is stored only as ciphertext from
  ``gateway.security.fieldcrypt`` (columns ending ``_enc`` or ``data``), with the key id beside it
  so a rotation job can find rows still under an old key. Equality lookups go through HMAC blind
  indexes (``*_bidx``). Plain columns (codes, messages, natural keys, audit details) never hold
  personal data.
- Types are portable so SQLite and PostgreSQL run the same code and migrations: ``LargeBinary``,
  JSON (JSONB on PostgreSQL), timezone-aware UTC timestamps.
- Constraint names come from ``NAMING_CONVENTION`` so Alembic autogenerate stays stable and a
  migration can name what it drops.
- Bulk paths write these tables with the driver's executemany/COPY, bypassing the ORM, so
  timestamps that must always be set have server defaults, not only Python ones.
"""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Dialect,
    Enum,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite only makes ``INTEGER PRIMARY KEY`` an auto-incrementing rowid alias; BIGINT would not be.
BigId = BigInteger().with_variant(Integer(), "sqlite")
# JSONB on PostgreSQL: indexable and compact; plain JSON (text) on SQLite.
Json = JSON().with_variant(JSONB(), "postgresql")


class UTCDateTime(TypeDecorator[datetime]):
    """``DateTime(timezone=True)`` that always hands back aware UTC datetimes.

    SQLite has no timezone type and returns naive values; without this, comparing a stored
    timestamp with ``datetime.now(UTC)`` would raise on SQLite and work on PostgreSQL.
    Naive datetimes are refused on the way in, so no local time is ever stored by mistake.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: pass an aware datetime (UTC)")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _str_enum(enum_cls: type[enum.StrEnum], length: int) -> Enum:
    """Store the enum's *values* in a VARCHAR, without a CHECK constraint.

    A new state is then a code change only: on SQLite, altering a CHECK constraint means
    rebuilding the table, which is not worth it for a value the ORM already validates.
    """
    return Enum(
        enum_cls,
        native_enum=False,
        create_constraint=False,
        length=length,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


class ExchangeDirection(enum.StrEnum):
    """Which way one file moved, seen from the agency. Unlike ``adapters.base.Direction`` (what a
    format supports) there is no BOTH: a single exchange goes one way."""

    INBOUND = "inbound"
    OUTBOUND = "outbound"


class ExchangeStatus(enum.StrEnum):
    """Life cycle of one exchanged file (design.md §5: intake, quarantine, outbound, retries)."""

    RECEIVED = "received"
    QUEUED = "queued"  # outbound: rendered and enveloped, waiting for the partner's next push
    PROCESSING = "processing"
    PROCESSED = "processed"
    PARTIAL = "partial"
    REJECTED = "rejected"
    QUARANTINED = "quarantined"
    SENT = "sent"
    ACKNOWLEDGED = "acknowledged"
    DEAD_LETTER = "dead_letter"
    FAILED = "failed"


class Base(DeclarativeBase):
    """Declarative base carrying the shared metadata and its naming convention."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: Json,
    }


class _Timestamps:
    """``created_at``/``updated_at`` set by the database, so raw bulk inserts get them too."""

    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())


class Partner(_Timestamps, Base):
    """A trading partner, mirrored from the partners TOML file; ``id`` is the slug used there."""

    __tablename__ = "partners"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))  # employer | labor | federal | interstate ...
    name: Mapped[str] = mapped_column(String(200))
    config: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Exchange(_Timestamps, Base):
    """One file moved in or out. The SHA-256 is recorded before processing so a file seen again
    is a duplicate, and ``progress`` (last committed ``record_no``) lets a crashed intake resume."""

    __tablename__ = "exchanges"
    __table_args__ = (
        UniqueConstraint("partner_id", "direction", "sha256"),
        Index(None, "status"),
        Index(None, "partner_id", "created_at"),  # retention: a partner's oldest exchanges
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id", ondelete="RESTRICT"))
    direction: Mapped[ExchangeDirection] = mapped_column(_str_enum(ExchangeDirection, 8))
    format: Mapped[str] = mapped_column(String(64))  # adapter key
    filename: Mapped[str] = mapped_column(String(512))
    sha256: Mapped[str] = mapped_column(String(64))  # hex, as `sha256sum` prints it
    size: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[ExchangeStatus] = mapped_column(_str_enum(ExchangeStatus, 16), default=ExchangeStatus.RECEIVED)
    records_good: Mapped[int] = mapped_column(default=0, server_default="0")
    records_rejected: Mapped[int] = mapped_column(default=0, server_default="0")
    progress: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    error_code: Mapped[str | None] = mapped_column(String(64))
    error_message: Mapped[str | None] = mapped_column(Text)  # never personal data
    # Added in 0002 (exchanges package): records skipped because their natural key was already
    # staged by an earlier file; send attempts; where the outbound payload is kept for retries;
    # the acknowledgment awaited and when it is due.
    records_duplicate: Mapped[int] = mapped_column(default=0, server_default="0")
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    payload_path: Mapped[str | None] = mapped_column(String(1024))
    ack_format: Mapped[str | None] = mapped_column(String(64))
    ack_due_at: Mapped[datetime | None]
    acked_at: Mapped[datetime | None]
    # contents destroyed under the partner's retention (``gateway.exchanges.retention``); the row stays
    purged_at: Mapped[datetime | None]
    # inbound: when its records were matched to cases (``gateway.cases.feed``), 0004
    fed_at: Mapped[datetime | None]


class StagedRecord(Base):
    """A parsed record waiting to be applied. ``data`` is the encrypted JSON of the record
    (AAD ``staged_records.data``); ``natural_key`` must be built from blind indexes and codes,
    never from clear personal data. UNIQUE(exchange_id, record_no) makes a resumed chunk an upsert;
    the unique ``natural_key`` (0002; NULL for records without one) keeps a record that arrives
    again in another file from being staged twice."""

    __tablename__ = "staged_records"
    __table_args__ = (UniqueConstraint("exchange_id", "record_no"), UniqueConstraint("natural_key"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    exchange_id: Mapped[int] = mapped_column(BigId, ForeignKey("exchanges.id", ondelete="CASCADE"))
    record_no: Mapped[int] = mapped_column(BigInteger)
    type: Mapped[str] = mapped_column(String(32))
    natural_key: Mapped[str | None] = mapped_column(String(128))
    data: Mapped[bytes]
    key_id: Mapped[int]
    # 0004: blind index of the SSN the record is about, for the case feed to match on (None: no one)
    subject_bidx: Mapped[bytes | None] = mapped_column(LargeBinary(32), index=True)


class Reject(Base):
    """A coded record error (adapters.base.Rejected). The message is masked by the adapter.

    ``start_pos``/``end_pos`` rather than ``start``/``end``: END is reserved in SQL, and bulk paths
    write this table with hand-written COPY/INSERT statements."""

    __tablename__ = "rejects"
    __table_args__ = (Index(None, "exchange_id", "record_no"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    exchange_id: Mapped[int] = mapped_column(BigId, ForeignKey("exchanges.id", ondelete="CASCADE"))
    record_no: Mapped[int] = mapped_column(BigInteger)
    line: Mapped[int] = mapped_column(BigInteger)
    code: Mapped[str] = mapped_column(String(64))
    field: Mapped[str | None] = mapped_column(String(64))
    start_pos: Mapped[int | None]
    end_pos: Mapped[int | None]
    message: Mapped[str] = mapped_column(Text)


class Quarantine(Base):
    """A file held back (bad signature, decryption or structure), stored encrypted at
    ``stored_path`` until an operator releases or reprocesses it. ``exchange_id`` is empty when
    the file never became an exchange (e.g. the envelope failed before the partner was known)."""

    __tablename__ = "quarantine"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    exchange_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("exchanges.id", ondelete="SET NULL"), index=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    reason_code: Mapped[str] = mapped_column(String(64))
    reason_message: Mapped[str] = mapped_column(Text)
    stored_path: Mapped[str] = mapped_column(String(1024))
    encrypted: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    released_at: Mapped[datetime | None]


class Case(_Timestamps, Base):
    """A IV-D (or non-IV-D) case as the state system knows it. No personal data here."""

    __tablename__ = "cases"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    state_case_id: Mapped[str] = mapped_column(String(32), unique=True)
    fips: Mapped[str] = mapped_column(String(7))  # state(2) + county(3) + local office(2)
    case_type: Mapped[str] = mapped_column(String(16))
    caseworker: Mapped[str | None] = mapped_column(String(64))
    # 0004: the case as imported (canonical ``Case`` JSON: orders, payment address, contact), encrypted
    data_enc: Mapped[bytes | None]
    key_id: Mapped[int | None]


class Person(_Timestamps, Base):
    """A case participant. Every personal field is ciphertext under ``key_id``; ``ssn_bidx`` is
    the HMAC blind index that matching uses. ``fvi`` is the Family Violence Indicator: when set,
    the person's location must not be disclosed to anyone not authorised."""

    __tablename__ = "persons"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int] = mapped_column(BigId, ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(8))  # NCP | CP | CH ...
    ssn_enc: Mapped[bytes | None]
    ssn_bidx: Mapped[bytes | None] = mapped_column(LargeBinary(32), index=True)
    last_name_enc: Mapped[bytes | None]
    first_name_enc: Mapped[bytes | None]
    dob_enc: Mapped[bytes | None]
    key_id: Mapped[int]
    fvi: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    member_id: Mapped[str | None] = mapped_column(String(15))  # 0004: the state's person id (FCR Member ID)


class Address(Base):
    """One address or employer found for a person, as a single encrypted JSON blob (the canonical
    ``Address`` or ``Employer``), with where it came from and as of when (locate results carry source
    and date). ``fingerprint`` is a keyed hash of the content, unique per person, so a finding reported
    again (a resent file, the same employer every quarter) is stored once; ``exchange_id`` the inbound
    exchange that brought it (0004)."""

    __tablename__ = "addresses"
    __table_args__ = (UniqueConstraint("person_id", "fingerprint"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    person_id: Mapped[int] = mapped_column(BigId, ForeignKey("persons.id", ondelete="CASCADE"), index=True)
    data_enc: Mapped[bytes]
    key_id: Mapped[int]
    source: Mapped[str] = mapped_column(String(32))
    as_of: Mapped[date | None] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(16))  # residential | mailing | employer ...
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    fingerprint: Mapped[bytes | None] = mapped_column(LargeBinary(32))
    exchange_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("exchanges.id", ondelete="SET NULL"))


class IwoNotice(Base):
    """An income withholding order a new-hire match calls for (``gateway.cases.iwo``): the canonical
    order as encrypted JSON, due two business days after the new hire reached the agency, ``pending``
    until queued to the e-IWO partner (``queued``, with that outbound exchange) or refused by the
    format (``failed``, with the code). ``document_tracking_id`` is how the employer's acknowledgment
    finds it (it carries no personal data): ``answer`` is its disposition (``A``/``R``) and
    ``answer_reason`` its reason code, from the latest acknowledgment (``answer_exchange_id``)."""

    __tablename__ = "iwo_notices"
    __table_args__ = (Index(None, "status"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int] = mapped_column(BigId, ForeignKey("cases.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(BigId, ForeignKey("persons.id", ondelete="CASCADE"))
    document_tracking_id: Mapped[str] = mapped_column(String(30), unique=True)
    employer_fein: Mapped[str] = mapped_column(String(9))
    data_enc: Mapped[bytes]
    key_id: Mapped[int]
    source_exchange_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("exchanges.id", ondelete="SET NULL"))
    due_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16))  # pending | queued | failed
    exchange_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("exchanges.id", ondelete="SET NULL"))
    error_code: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    queued_at: Mapped[datetime | None]
    answer: Mapped[str | None] = mapped_column(String(1))
    answer_reason: Mapped[str | None] = mapped_column(String(1))
    answered_at: Mapped[datetime | None]
    answer_exchange_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("exchanges.id", ondelete="SET NULL"))


class AuditEntry(Base):
    """One leaf of the tamper-evident audit log (RFC 9162 style Merkle tree).

    ``seq`` is the leaf index and is assigned by the audit writer, not by a sequence: a database
    sequence can leave gaps on rollback, and a gap would break the tree."""

    __tablename__ = "audit_entries"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    ts: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(256))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)  # never personal data
    leaf_hash: Mapped[bytes] = mapped_column(LargeBinary(32))


class AuditCheckpoint(Base):
    """A signed tree head (Ed25519): the root over the first ``tree_size`` entries."""

    __tablename__ = "audit_checkpoints"

    tree_size: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    root_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    signature: Mapped[bytes] = mapped_column(LargeBinary(64))
    key_id: Mapped[str] = mapped_column(String(64))  # signing key fingerprint
    ts: Mapped[datetime]


# --------------------------------------------------------------------------- 0002: exchange runtime


class WorkStatus(enum.StrEnum):
    """Life cycle of one scheduled run of a partner's job."""

    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    DEAD_LETTER = "dead_letter"


class WorkItem(Base):
    """One firing of a partner's schedule, claimed by exactly one worker.

    UNIQUE(partner_id, job, slot) — ``slot`` is the scheduled fire time — makes a second firing of
    the same slot (two schedulers during a leader change) a no-op insert instead of a second run.
    """

    __tablename__ = "work_items"
    __table_args__ = (UniqueConstraint("partner_id", "job", "slot"), Index(None, "status"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id", ondelete="CASCADE"))
    job: Mapped[str] = mapped_column(String(16))
    slot: Mapped[str] = mapped_column(String(40))  # ISO-8601 UTC fire time, or "manual:<hex>"
    status: Mapped[WorkStatus] = mapped_column(_str_enum(WorkStatus, 16), default=WorkStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    claimed_by: Mapped[str | None] = mapped_column(String(128))
    claimed_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    error_code: Mapped[str | None] = mapped_column(String(64))
    error_message: Mapped[str | None] = mapped_column(Text)  # never personal data
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class Alert(Base):
    """Something an operator must look at: an overdue acknowledgment, a file that failed its
    envelope, a dead letter. ``dedupe_key`` (e.g. ``ack_overdue:exchange:42``) keeps a condition
    that is checked every few minutes from raising a new alert each time."""

    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    dedupe_key: Mapped[str] = mapped_column(String(160), unique=True)
    partner_id: Mapped[str | None] = mapped_column(String(64))
    exchange_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("exchanges.id", ondelete="SET NULL"), index=True)
    message: Mapped[str] = mapped_column(Text)  # never personal data
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    resolved_at: Mapped[datetime | None]


class AckExpectation(Base):
    """One reference an outbound exchange waits to see acknowledged: a document tracking id, a
    transaction serial, or the sent file's digest. The exchange is acknowledged when all are."""

    __tablename__ = "ack_expectations"
    __table_args__ = (UniqueConstraint("exchange_id", "reference"), Index(None, "partner_id", "reference"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    exchange_id: Mapped[int] = mapped_column(BigId, ForeignKey("exchanges.id", ondelete="CASCADE"))
    partner_id: Mapped[str] = mapped_column(String(64))
    reference: Mapped[str] = mapped_column(String(128))
    matched_at: Mapped[datetime | None]
    matched_exchange_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("exchanges.id", ondelete="SET NULL"))
    outcome: Mapped[str | None] = mapped_column(String(32))  # accepted | rejected | partner's code


class Counter(Base):
    """A named sequence the gateway hands out numbers from (``gateway.db.counters``): CSENet
    transaction serial numbers, FCR batch numbers per partner. A row per name, taken under the row's
    write lock, so two requests at once never get the same number."""

    __tablename__ = "counters"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger)  # the last number handed out


class ConsoleSignout(Base):
    """A web console session ended by signing out (``gateway.console``): its cookie is refused from
    then on, even a copy taken before, until ``expires_at``, when the cookie would have expired anyway
    and the row is pruned. The session id is random: nothing here names a person or a token."""

    __tablename__ = "console_signouts"

    sid: Mapped[str] = mapped_column(String(32), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(index=True)
