"""Reading the partners file, checking it, and mirroring it into the ``partners`` table.

- ``read_partners(path)`` parses and validates the file against the schema and the registered
  adapters; every fault is collected, then raised at once as ``PartnerConfigError.problems``.
- ``check_partners(partners, key_dir=...)`` looks at what the file points to: certificates
  (readable, RSA, within their validity), trust files, and our credentials under the key dir.
  Missing credentials are warnings, since a partners file is often checked on a machine without
  the production keys; everything else is an error.
- ``load_partners(session, path)`` does both and upserts the rows. Partners no longer in the file
  are kept (exchanges refer to them) but disabled.
- ``get_partner(session, id)`` / ``enabled_partners(session)`` read the configuration back.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from cryptography.hazmat.primitives.asymmetric import rsa
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

import adapters
from adapters.base import Direction
from gateway.config import get_settings
from gateway.db.models import Partner
from gateway.errors import ConfigError
from gateway.partners.schema import BASE_DIR, FORMATS, PartnerConfig, PartnersFile
from gateway.security.envelope import IdentityStore, fingerprint, load_certificate

EXPIRY_WARNING = timedelta(days=30)
Severity = Literal["error", "warning"]


@dataclass(frozen=True, slots=True)
class Problem:
    """One finding about the partners file. ``where`` is a dotted path (``partner[2].transport.url``)."""

    severity: Severity
    partner: str | None
    where: str
    message: str

    def __str__(self) -> str:
        who = f"[{self.partner}] " if self.partner else ""
        return f"{self.severity}: {who}{self.where}: {self.message}"


class PartnerConfigError(ConfigError):
    """The partners file is invalid; ``problems`` lists every error found (not only the first)."""

    code = "PARTNERS_INVALID"

    def __init__(self, path: Path, problems: Sequence[Problem]) -> None:
        errors = [p for p in problems if p.severity == "error"]
        super().__init__(f"{path}: {len(errors)} error(s); first: {errors[0] if errors else '-'}")
        self.path = path
        self.problems = list(problems)


@dataclass(slots=True)
class LoadReport:
    """What ``load_partners`` changed, by partner id."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    disabled: list[str] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)


def known_formats() -> dict[str, Direction]:
    """Registered adapter keys and their directions, the context the schema checks formats against."""
    return {a.key: a.direction for a in adapters.available()}


def read_partners(path: Path, *, formats: Mapping[str, Direction] | None = None) -> list[PartnerConfig]:
    """Parse and validate the partners file at ``path`` (formats default to the registered adapters)."""
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror})", code="PARTNERS_MISSING") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise PartnerConfigError(path, [Problem("error", None, "(file)", f"not valid TOML: {exc}")]) from None
    context = {FORMATS: known_formats() if formats is None else formats, BASE_DIR: path.parent.resolve()}
    try:
        return PartnersFile.model_validate(raw, context=context).partner
    except ValidationError as exc:
        raise PartnerConfigError(path, _problems(exc, raw)) from None


def _problems(exc: ValidationError, raw: Mapping[str, Any]) -> list[Problem]:
    """Schema errors as problems naming the partner (by id when it has one) and the field."""
    tables: list[Any] = raw["partner"] if isinstance(raw.get("partner"), list) else []
    found = []
    for error in exc.errors(include_url=False, include_input=False):
        loc = list(error["loc"])
        partner = None
        if len(loc) >= 2 and loc[0] == "partner" and isinstance(loc[1], int) and loc[1] < len(tables):
            table = tables[loc[1]]
            partner = str(table.get("id")) if isinstance(table, dict) and "id" in table else f"#{loc[1] + 1}"
            loc = loc[2:]
        where = ".".join(str(part) for part in loc) or "(partner)"
        found.append(Problem("error", partner, where, error["msg"].removeprefix("Value error, ")))
    return found


def check_partners(
    partners: Sequence[PartnerConfig], *, key_dir: Path | None = None, now: datetime | None = None
) -> list[Problem]:
    """Check the files each partner refers to (see the module docstring); ``key_dir`` defaults to
    ``Settings.key_dir``."""
    now = now or datetime.now(UTC)
    key_dir = key_dir or get_settings().key_dir
    identities = IdentityStore(key_dir).ids()
    problems: list[Problem] = []
    for partner in partners:
        problems += _check_certificate(partner, now)
        transport = partner.transport
        if transport.trust is not None and not Path(transport.trust).is_file():
            problems.append(Problem("error", partner.id, "transport.trust", f"no such file {transport.trust}"))
        creds = transport.credentials(key_dir)
        for label, path in (("key", creds.key_file), ("certificate", creds.cert_file)):
            if path is not None and not path.is_file():
                problems.append(
                    Problem("warning", partner.id, "transport.credential", f"our {label} {path} is missing here")
                )
        our_id = partner.keys.our_key_id
        if partner.keys.envelope and our_id is not None and our_id not in identities:
            problems.append(
                Problem("warning", partner.id, "keys.our_key_id", f"envelope identity {our_id} is not in {key_dir}")
            )
    return problems


def _check_certificate(partner: PartnerConfig, now: datetime) -> list[Problem]:
    path = partner.keys.certificate
    if path is None:
        return []
    try:
        cert = load_certificate(Path(path))
    except ConfigError as exc:
        return [Problem("error", partner.id, "keys.certificate", exc.message)]
    label = f"certificate {fingerprint(cert)[:16]}"
    if partner.keys.envelope and not isinstance(cert.public_key(), rsa.RSAPublicKey):
        return [Problem("error", partner.id, "keys.certificate", f"{label} has no RSA key (CMS needs one)")]
    if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
        return [Problem("error", partner.id, "keys.certificate", f"{label} is not valid now")]
    if cert.not_valid_after_utc - now < EXPIRY_WARNING:
        when = f"{cert.not_valid_after_utc:%Y-%m-%d}"
        return [Problem("warning", partner.id, "keys.certificate", f"{label} expires on {when}")]
    return []


def load_partners(
    session: Session,
    path: Path,
    *,
    key_dir: Path | None = None,
    formats: Mapping[str, Direction] | None = None,
    now: datetime | None = None,
) -> LoadReport:
    """Check the partners file and upsert it into ``partners``; refuses the whole file on any error.

    The session's transaction is the caller's: nothing is committed here.
    """
    partners = read_partners(path, formats=formats)
    problems = check_partners(partners, key_dir=key_dir, now=now)
    if any(p.severity == "error" for p in problems):
        raise PartnerConfigError(Path(path), problems)
    report = LoadReport(warnings=problems)
    rows = {row.id: row for row in session.scalars(select(Partner))}
    for partner in partners:
        config = partner.model_dump(mode="json")
        row = rows.pop(partner.id, None)
        if row is None:
            session.add(Partner(id=partner.id, kind=partner.kind.value, name=partner.name, config=config))
            report.added.append(partner.id)
        elif (row.kind, row.name, row.config) == (partner.kind.value, partner.name, config):
            report.unchanged.append(partner.id)
        else:
            row.kind, row.name, row.config = partner.kind.value, partner.name, config
            report.updated.append(partner.id)
    for row in rows.values():  # gone from the file: keep the row for its exchanges, stop using it
        if row.config.get("enabled", True):
            row.config = {**row.config, "enabled": False}
            report.disabled.append(row.id)
    session.flush()
    return report


def get_partner(session: Session, partner_id: str) -> PartnerConfig:
    """A partner's configuration as last loaded; ``ConfigError`` (``UNKNOWN_PARTNER``) if absent."""
    row = session.get(Partner, partner_id)
    if row is None:
        raise ConfigError(f"unknown partner {partner_id!r}; run `csgate partners load`", code="UNKNOWN_PARTNER")
    return PartnerConfig.model_validate(row.config)


def enabled_partners(session: Session) -> list[PartnerConfig]:
    """Every enabled partner as last loaded, by id (the scheduler's list)."""
    rows = session.scalars(select(Partner).order_by(Partner.id))
    # disabled rows may hold an older schema's configuration: they are not read back
    return [PartnerConfig.model_validate(row.config) for row in rows if row.config.get("enabled", True)]


def retention_policies(session: Session) -> dict[str, int]:
    """Each partner's ``retention_days`` as last loaded, disabled partners included: what they sent
    and received is still kept under the retention it was exchanged with."""
    policies = {}
    for row in session.scalars(select(Partner).order_by(Partner.id)):
        days = row.config.get("retention_days")
        if isinstance(days, int) and not isinstance(days, bool) and days >= 1:
            policies[row.id] = days
    return policies
