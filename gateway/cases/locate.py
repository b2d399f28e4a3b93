"""A caseworker's locate request, fanned out to the locate sources.

``request`` queues one request about a case participant to each named partner, in that partner's
outbound format:

``fcr-input``  the Federal Case Registry: a canonical ``LocateRequest`` (child support purpose, the FCR
               sources asked for, ``ALL`` by default) in a file with its ``FA`` header (the case's state
               code and the next batch number for that partner), the ``FP`` locate record and the ``FZ``
               trailer. The participant needs a member id (the FCR's person id).
``csenet``     another state's IV-D agency, a locate source under UIFSA: a CSENet quick locate request,
               ``LO1 R`` (agency-formats.md §1.7), from the case's FIPS (header Local-FIPS) to the
               partner's ``fips`` (Other-FIPS), with our case id, the Case block (case type, status,
               payment address and contact as the case extract gives them) and the NCP Identification
               block (the participant's SSN, name and birth date). Only a noncustodial parent or
               putative father can be asked about: that block describes the NCP.

``sources`` concern the FCR only. The partner's job sends the file; what the sources find comes back in
their responses (the FCR's locate responses, the other state's ``LO1 P``) and is matched to the case by
the feed (``gateway.cases.feed``), where the caseworker reads it.

Who may ask is who may read the case (``gateway.cases.disclosure.refusal``); the request and every
refusal are audited. Nothing is queued unless every partner can take it: a partner whose outbound
format carries no locate request, or a CSENet partner without ``fips``, is a ``ConfigError``; a case or
participant lacking what a format needs is a ``ValueError`` (a ``RecordError`` when a value does not
fit the layout), and every file is rendered before the first is queued.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

import adapters
from adapters.base import render_checked
from adapters.canonical import (
    AuthorizedPurpose,
    CsenetAction,
    CsenetFunction,
    InterstateTransaction,
    IvdCaseType,
    LocateRequest,
    LocateRequestType,
    ParticipantRole,
)
from adapters.canonical import Case as CanonicalCase
from adapters.canonical import Person as CanonicalPerson
from gateway.audit import log as audit
from gateway.cases.columns import CASE_AAD, participant
from gateway.cases.disclosure import CaseNotFound, Requester, refusal
from gateway.db import counters
from gateway.db.models import Case, Exchange, ExchangeDirection, Person
from gateway.db.session import session_scope
from gateway.errors import AccessDenied, ConfigError
from gateway.exchanges import outbound
from gateway.exchanges.partners import profile_for
from gateway.exchanges.profile import ExchangeProfile
from gateway.exchanges.runtime import Runtime
from gateway.partners.registry import get_partner
from gateway.partners.schema import PartnerConfig

FCR, CSENET = "fcr-input", "csenet"
FORMATS = (FCR, CSENET)  # outbound formats a locate request is written in
FCR_VERSION = "15.00"  # FCR input header version control number, as the shipped fixtures carry
SOURCE = re.compile(r"[A-Z0-9]{3}")  # a code of mappings/codes/fcr_locate_agency.csv, or ALL
# Whom a quick locate can be about: the NCP Identification block (chart C-6) describes the person sought
# as the noncustodial parent, which an alleged father is too.
CSENET_SOUGHT = frozenset({ParticipantRole.NCP, ParticipantRole.PF})


def request(
    rt: Runtime,
    state_case_id: str,
    person_id: int,
    requester: Requester,
    *,
    partners: Sequence[str],
    sources: Sequence[str] = ("ALL",),
) -> dict[str, int]:
    """Queue a locate request for one participant to each partner; partner id → outbound exchange id.
    ``ValueError`` for sources that are not ``ALL`` or FCR agency codes."""
    if not 0 < len(sources) <= 8 or not all(SOURCE.fullmatch(code) for code in sources):
        raise ValueError("sources are ALL or FCR locate agency codes (3 letters or digits), at most 8")
    with session_scope(rt.engine, writes_after_reading=True) as session:
        case = session.scalar(select(Case).where(Case.state_case_id == state_case_id))
        if case is None:
            raise CaseNotFound(f"no case {state_case_id}")
        why = refusal(case, requester)
        if why is None:
            person = session.scalar(select(Person).where(Person.id == person_id, Person.case_id == case.id))
            if person is None:
                raise CaseNotFound(f"no participant {person_id} on case {state_case_id}")
            filed, sought = _filed(rt, case), participant(rt, person)
        else:
            detail = {"role": requester.role, "why": why}
            audit.append(
                session, actor=requester.actor, action="locate.denied", subject=f"case:{state_case_id}", detail=detail
            )
    if why is not None:
        raise AccessDenied(why)
    targets = {p: _target(rt, p) for p in partners}
    files = _files(rt, filed, sought, sources, targets)
    for partner, records in files.items():
        # rendered once before anything is queued: a value one format cannot hold must not leave the
        # other partners' requests queued (queue renders the same records again)
        b"".join(render_checked(adapters.get(targets[partner].format), records))
    queued = {
        partner: outbound.queue(rt, targets[partner].profile, records=records) for partner, records in files.items()
    }
    with session_scope(rt.engine) as session:
        audit.append(
            session,
            actor=requester.actor,
            action="locate.requested",
            subject=f"case:{state_case_id}",
            detail={"person_id": person_id, "sources": list(sources), "exchanges": queued},
        )
    return queued


@dataclass(frozen=True, slots=True)
class _Target:
    """A partner a locate request goes to, in one of ``FORMATS``."""

    config: PartnerConfig
    profile: ExchangeProfile
    format: str


def _target(rt: Runtime, partner_id: str) -> _Target:
    """The partner as configured; ``ConfigError`` if it cannot take a locate request."""
    with session_scope(rt.engine) as session:
        config = get_partner(session, partner_id)
    profile = profile_for(config, key_dir=rt.key_dir)
    fmt = profile.outbound_format
    if fmt is None or fmt not in FORMATS:
        raise ConfigError(f"partner {partner_id} takes {fmt}, not a locate format {FORMATS}")
    if fmt == CSENET and config.fips is None:
        raise ConfigError(f"partner {partner_id} has no fips: a CSENet quick locate is addressed to its locator code")
    return _Target(config, profile, fmt)


def _filed(rt: Runtime, row: Case) -> CanonicalCase:
    """The case as the extract gave it: ids, FIPS and type, and the rest it gave (assistance type,
    status, payment address, contact …) when it was loaded with it."""
    given = rt.cipher.decrypt_json(row.data_enc, CASE_AAD) if row.data_enc else {}
    return CanonicalCase.model_validate(
        {**given, "case_id": row.state_case_id, "fips": row.fips, "case_type": row.case_type}
    )


def _files(
    rt: Runtime,
    case: CanonicalCase,
    person: CanonicalPerson,
    sources: Sequence[str],
    targets: Mapping[str, _Target],
) -> dict[str, list[dict[str, Any]]]:
    """The records of each partner's file; raises before any is made if the case or person lacks what
    a format asks for."""
    formats = {target.format for target in targets.values()}
    wanted = _fcr_request(case, person, sources) if FCR in formats else None
    if CSENET in formats:
        _check_quick_locate(case, person)
    states = sum(1 for target in targets.values() if target.format == CSENET)
    serial = _next_serials(rt, states) if states else 0
    files = {}
    for partner, target in targets.items():
        config = target.config
        if target.format == CSENET:
            assert config.fips is not None  # _target refused a CSENet partner without one
            txn = _quick_locate(case, person, other_fips=config.fips, serial=serial, timezone=config.timezone)
            files[partner] = [{"type": "transaction", "canonical": txn}]
            serial += 1
        else:
            assert wanted is not None and case.fips is not None
            header = {
                "state_code": case.fips[:2],
                "version_control_number": FCR_VERSION,
                "batch_number": f"{_next_batch(rt, partner):06d}",
                "date_stamp": datetime.now(UTC).date(),
            }
            files[partner] = [
                {"type": "input_header", "data": header},
                {"type": "locate_request", "canonical": wanted},
            ]
    return files


def _fcr_request(case: CanonicalCase, person: CanonicalPerson, sources: Sequence[str]) -> LocateRequest:
    if not person.member_id:
        raise ValueError("the participant has no member id (the FCR's person id): give it in the case extract")
    return LocateRequest(
        person=person,
        case_id=case.case_id,
        request_type=LocateRequestType.CS,
        purpose=AuthorizedPurpose.CHILD_SUPPORT,
        sources=list(sources),
    )


def _check_quick_locate(case: CanonicalCase, person: CanonicalPerson) -> None:
    """What a quick locate needs beyond what the layout checks, said in terms of the case extract."""
    if person.role not in CSENET_SOUGHT:
        raise ValueError(
            f"a CSENet quick locate asks about a noncustodial parent or alleged father, not a {person.role}"
        )
    # Chart C-5 Case-Type: a IV-D case's letter is its assistance category (codes/csenet_case_type.csv).
    if case.case_type is IvdCaseType.IV_D and case.assistance_type is None:
        raise ValueError(f"case {case.case_id} has no assistance_type: give it in the case extract (CSENet Case-Type)")
    if case.status is None:  # chart C-5 Case-Status, required
        raise ValueError(f"case {case.case_id} has no status: give it in the case extract (CSENet Case-Status)")


def _quick_locate(
    case: CanonicalCase, person: CanonicalPerson, *, other_fips: str, serial: int, timezone: str
) -> InterstateTransaction:
    """The ``LO1 R`` transaction: our case and the person sought, addressed to the other state."""
    assert case.fips is not None  # every registry case has one
    # dated in the partner's time zone: chart C-3 Transaction-Date must not be in the future for them
    now = datetime.now(ZoneInfo(timezone))
    return InterstateTransaction(
        serial_number=serial,
        function=CsenetFunction.LO1,
        action=CsenetAction.REQUEST,
        reason=None,  # Appendix B (codes/csenet_far.csv LO1R): a quick locate request has a blank reason
        local_fips=case.fips,
        other_fips=other_fips,
        case_id=case.case_id,
        other_case_id=None,  # chart C-3: blank on a request the other state has no case for yet
        transaction_date=now.date(),
        sent_date=now.date(),
        sent_time=now.time().replace(microsecond=0),
        case=case,  # rule case-11 (codes/csenet_indicator_rules.csv): the Case block is required
        ncp=person,  # rule ncp-9: so is the NCP Identification block
    )


def _next_batch(rt: Runtime, partner: str) -> int:
    """The partner's next FCR batch number (they run to 999999, then from 1 again), from its counter:
    seeded on first use with the files sent to it before."""

    def sent() -> int:
        return int(
            session.scalar(
                select(func.count())
                .select_from(Exchange)
                .where(Exchange.partner_id == partner, Exchange.direction == ExchangeDirection.OUTBOUND)
            )
            or 0
        )

    with session_scope(rt.engine, writes_after_reading=True) as session:
        number = counters.take(session, f"fcr-batch:{partner}", start=sent)
    return (number - 1) % 999_999 + 1


def _next_serials(rt: Runtime, count: int) -> int:
    """The first of ``count`` CSENet transaction serial numbers: unique per sending state (chart C-3
    positions 18-29), so one counter for every partner, seeded on first use with the CSENet files
    queued before (each held one transaction)."""

    def queued() -> int:
        return int(
            session.scalar(
                select(func.count())
                .select_from(Exchange)
                .where(Exchange.format == CSENET, Exchange.direction == ExchangeDirection.OUTBOUND)
            )
            or 0
        )

    with session_scope(rt.engine, writes_after_reading=True) as session:
        return counters.take(session, "csenet-serial", count, start=queued)
