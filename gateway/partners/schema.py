"""The partners file: its schema as pydantic models, checked when loaded.

A partners file is TOML with one ``[[partner]]`` table per trading partner (see
``fixtures/gateway/partners-example.toml``)::

    [[partner]]
    id = "acme-payroll"               # slug: a-z 0-9 - _ , at most 64 characters
    name = "Acme Payroll Services"
    kind = "employer"                 # employer | swa | federal | state | sdu
    schedule = "0 6 * * 1-5"          # crontab (0/7 = Sunday); omit for on-demand only
    timezone = "America/Chicago"      # for the schedule and business-day deadlines (default UTC)
    retention_days = 2555             # how long exchanged files and records are kept
    fips = "2900000"                  # a state IV-D agency's locator code (CSENet Other-FIPS); others omit it
    on_structure_error = "quarantine" # or "accept_partial": keep a damaged file's good records

    [partner.formats]                 # adapter keys, see `csgate formats`
    inbound = ["nacha-ded"]
    outbound = []

    [partner.transport]
    url = "sftp://csgate@sftp.acme.example:22/exchange"
    credential = "acme-sftp"          # <key_dir>/acme-sftp.key (+ .crt for https): never the secret
    trust = "../keys/acme.known_hosts"  # public: known_hosts (sftp) or CA bundle (https)
    inbound_dir = "outbox"            # where the partner leaves files for us (relative to url)
    outbound_dir = "inbox"            # where we leave files for the partner
    done_dir = "done"                 # fetched inbound files move here (relative to inbound_dir)

    [partner.keys]
    envelope = true                   # sign + encrypt outbound, verify + decrypt inbound (CMS)
    certificate = "../keys/acme.pem"  # the partner's certificate (public)
    our_key_id = 1                    # our envelope identity for this partner; default: current

    [partner.ack]                     # an expected acknowledgment for each outbound file
    format = "eiwo-ack"               # an inbound adapter key of this partner
    deadline_hours = 48               # or deadline_business_days = 2 (weekends and federal holidays skipped)

Relative paths are resolved against the partners file's directory. Unknown keys are errors, so a
typo never silently disables a setting.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Literal, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.triggers.cron import CronTrigger
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from adapters.base import Direction
from gateway.errors import ConfigError, PermanentTransportError
from gateway.partners.schedule import add_business_days, crontab_trigger
from gateway.transports.base import Credentials, check_folder
from gateway.transports.urls import join_url, parse_url

Slug = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]
CredentialName = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")]
ExchangeDirection = Literal["inbound", "outbound"]

# Validation context keys (``model_validate(..., context=...)``):
FORMATS = "formats"  # Mapping[adapter key, Direction]; absent → adapter keys are not checked
BASE_DIR = "base_dir"  # Path that relative paths are resolved against; absent → kept as written


class PartnerKind(enum.StrEnum):
    """What kind of agency or business the partner is."""

    EMPLOYER = "employer"
    SWA = "swa"  # state workforce agency (labor department: quarterly wages, UI claims)
    FEDERAL = "federal"  # OCSE (FPLS/FCR, NDNH, offset), IRS, SSA
    STATE = "state"  # another state's IV-D agency (CSENet, UIFSA)
    SDU = "sdu"  # state disbursement unit


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _resolve(value: str | None, info: ValidationInfo) -> str | None:
    """A relative path made absolute against the partners file's directory (when known)."""
    if value is None or info.context is None or BASE_DIR not in info.context:
        return value
    return str((Path(info.context[BASE_DIR]) / value).resolve())


def _format_problem(key: str, direction: ExchangeDirection, info: ValidationInfo) -> str | None:
    known: Mapping[str, Direction] | None = (info.context or {}).get(FORMATS)
    if known is None:
        return None
    if key not in known:
        return f"unknown format {key!r}; known: {', '.join(sorted(known)) or '(none)'}"
    if known[key] not in (Direction.BOTH, Direction(direction)):
        return f"format {key!r} is {known[key].value}-only and cannot be used {direction}"
    return None


class Formats(_Strict):
    """Adapter keys the partner sends us (``inbound``) and we send them (``outbound``)."""

    inbound: list[str] = []
    outbound: list[str] = []

    @model_validator(mode="after")
    def _known(self, info: ValidationInfo) -> Self:
        problems = []
        for direction in ("inbound", "outbound"):
            keys: list[str] = getattr(self, direction)
            if len(set(keys)) != len(keys):
                problems.append(f"{direction} lists a format twice")
            problems += [p for key in keys if (p := _format_problem(key, direction, info))]
        if problems:
            raise ValueError("; ".join(problems))
        return self


class TransportConfig(_Strict):
    """Where the partner's files are and how we authenticate (by reference, never by value)."""

    url: str
    credential: CredentialName | None = None
    trust: str | None = None
    inbound_dir: str = "."
    outbound_dir: str = "."
    done_dir: str | None = None

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        try:
            parse_url(value)
        except ConfigError as exc:
            raise ValueError(exc.message) from None
        return value

    @field_validator("trust")
    @classmethod
    def _trust(cls, value: str | None, info: ValidationInfo) -> str | None:
        return _resolve(value, info)

    @field_validator("inbound_dir", "outbound_dir", "done_dir")
    @classmethod
    def _folder(cls, value: str | None) -> str | None:
        if value is None or value.strip("/") in ("", "."):
            return value
        try:
            return check_folder(value)
        except PermanentTransportError:
            raise ValueError(f"folder {value!r} must be relative: plain names joined by '/'") from None

    @model_validator(mode="after")
    def _needs(self) -> Self:
        scheme = parse_url(self.url).scheme
        if scheme in ("sftp", "https") and (self.credential is None or self.trust is None):
            what = "known_hosts" if scheme == "sftp" else "CA bundle"
            raise ValueError(f"{scheme} needs `credential` (our key) and `trust` (the partner's {what})")
        return self

    def url_for(self, direction: ExchangeDirection) -> str:
        """The transport URL of the inbound or outbound folder."""
        return join_url(self.url, self.inbound_dir if direction == "inbound" else self.outbound_dir)

    def credentials(self, key_dir: Path) -> Credentials:
        """File references for ``open_transport``: ``<key_dir>/<credential>.key`` (and ``.crt``)."""
        base = Path(key_dir) / self.credential if self.credential else None
        scheme = parse_url(self.url).scheme
        return Credentials(
            key_file=base.with_name(f"{base.name}.key") if base else None,
            cert_file=base.with_name(f"{base.name}.crt") if base and scheme == "https" else None,
            trust_file=Path(self.trust) if self.trust else None,
        )


class Keys(_Strict):
    """Envelope settings: the partner's certificate (public) and which of our identities to use."""

    envelope: bool = True
    certificate: str | None = None
    our_key_id: Annotated[int, Field(ge=1)] | None = None

    @field_validator("certificate")
    @classmethod
    def _certificate(cls, value: str | None, info: ValidationInfo) -> str | None:
        return _resolve(value, info)

    @model_validator(mode="after")
    def _needs(self) -> Self:
        if self.envelope and self.certificate is None:
            raise ValueError("envelope = true needs the partner's `certificate`")
        return self


class AckRule(_Strict):
    """The acknowledgment each outbound file should bring back, and how long it may take."""

    format: str
    deadline_hours: Annotated[int, Field(ge=1, le=24 * 366)] | None = None
    deadline_business_days: Annotated[int, Field(ge=1, le=260)] | None = None

    @model_validator(mode="after")
    def _one_deadline(self) -> Self:
        if (self.deadline_hours is None) == (self.deadline_business_days is None):
            raise ValueError("give exactly one of deadline_hours and deadline_business_days")
        return self

    def deadline(self, sent_at: datetime, timezone: str = "UTC") -> datetime:
        """When the acknowledgment of a file sent at ``sent_at`` (aware) becomes overdue."""
        if self.deadline_hours is not None:
            return sent_at + timedelta(hours=self.deadline_hours)
        assert self.deadline_business_days is not None
        return add_business_days(sent_at, self.deadline_business_days, timezone)


class PartnerConfig(_Strict):
    """One trading partner (one ``[[partner]]`` table)."""

    id: Slug
    name: Annotated[str, Field(min_length=1, max_length=200)]
    kind: PartnerKind
    enabled: bool = True
    formats: Formats
    transport: TransportConfig
    keys: Keys
    timezone: str = "UTC"  # before schedule: the schedule's check reads it
    schedule: str | None = None
    ack: AckRule | None = None
    retention_days: Annotated[int, Field(ge=1, le=36500)]
    # The partner's locator code: FIPS state (2) + county (3) [+ local office (2)], agency-formats.md §1.2.
    # For another state's IV-D agency, the office our CSENet transactions are addressed to (header
    # Other-FIPS, positions 8-14): a caseworker's quick locate (``gateway.cases.locate``) needs it.
    fips: Annotated[str, Field(pattern=r"^[0-9]{5}(?:[0-9A-Z]{2})?$")] | None = None
    # A file whose counts, totals or framing are wrong (FileStructureError): hold the whole file in
    # quarantine (default), or keep its good records and mark the exchange partial.
    on_structure_error: Literal["quarantine", "accept_partial"] = "quarantine"

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (use an IANA name like America/New_York)") from None
        return value

    @field_validator("schedule")
    @classmethod
    def _schedule(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None:
            try:
                crontab_trigger(value, info.data.get("timezone", "UTC"))
            except ValueError as exc:
                raise ValueError(f"schedule {value!r}: {exc}") from None
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.ack is not None and self.ack.format not in self.formats.inbound:
            raise ValueError(f"ack format {self.ack.format!r} must also be one of formats.inbound")
        if not (self.formats.inbound or self.formats.outbound):
            raise ValueError("a partner needs at least one inbound or outbound format")
        same_dir = self.transport.inbound_dir.strip("/") == self.transport.outbound_dir.strip("/")
        if self.formats.inbound and self.formats.outbound and same_dir:
            raise ValueError("transport inbound_dir and outbound_dir must differ, or we would fetch our own uploads")
        return self

    def trigger(self) -> CronTrigger | None:
        """The APScheduler ``CronTrigger`` of the schedule (None when the partner is on demand only)."""
        return None if self.schedule is None else crontab_trigger(self.schedule, self.timezone)

    def ack_deadline(self, sent_at: datetime) -> datetime | None:
        """When the acknowledgment of a file sent at ``sent_at`` is overdue; None if none is expected."""
        return None if self.ack is None else self.ack.deadline(sent_at, self.timezone)


class PartnersFile(_Strict):
    """The whole file: ``[[partner]]`` tables with distinct ids."""

    partner: list[PartnerConfig] = []

    @field_validator("partner")
    @classmethod
    def _unique(cls, partners: list[PartnerConfig]) -> list[PartnerConfig]:
        seen: set[str] = set()
        for p in partners:
            if p.id in seen:
                raise ValueError(f"partner id {p.id!r} appears twice")
            seen.add(p.id)
        return partners
