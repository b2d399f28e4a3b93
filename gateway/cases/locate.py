"""A caseworker's locate request, fanned out to the locate sources.

``request`` turns one case participant into a canonical ``LocateRequest`` (child support purpose,
the FCR sources asked for, ``ALL`` by default) and queues it to each named partner in that partner's
outbound format: for the Federal Case Registry an ``fcr-input`` file (its ``FA`` header with the
case's state code and the next batch number for that partner, the ``FP`` locate record, the ``FZ``
trailer). The partner's job sends it; what the sources find comes back in their responses and is
matched to the case by the feed (``gateway.cases.feed``), where the caseworker reads it.

Who may ask is who may read the case (``gateway.cases.disclosure.refusal``); the request and every
refusal are audited. Nothing is queued unless every partner can take it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select

from adapters.canonical import AuthorizedPurpose, LocateRequest, LocateRequestType
from gateway.audit import log as audit
from gateway.cases.columns import participant
from gateway.cases.disclosure import CaseNotFound, Requester, refusal
from gateway.db.models import Case, Exchange, ExchangeDirection, Person
from gateway.db.session import session_scope
from gateway.errors import AccessDenied, ConfigError
from gateway.exchanges import outbound
from gateway.exchanges.partners import load_profile
from gateway.exchanges.runtime import Runtime

FORMATS = ("fcr-input",)  # outbound formats a locate request is written in
FCR_VERSION = "15.00"  # FCR input header version control number, as the shipped fixtures carry
SOURCE = re.compile(r"[A-Z0-9]{3}")  # a code of mappings/codes/fcr_locate_agency.csv, or ALL


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
            wanted, state = _request(rt, case, person, sources), case.fips[:2]
        else:
            detail = {"role": requester.role, "why": why}
            audit.append(
                session, actor=requester.actor, action="locate.denied", subject=f"case:{state_case_id}", detail=detail
            )
    if why is not None:
        raise AccessDenied(why)
    profiles = {p: load_profile(rt.engine, p, key_dir=rt.key_dir) for p in partners}
    for partner, profile in profiles.items():
        if profile.outbound_format not in FORMATS:
            raise ConfigError(f"partner {partner} takes {profile.outbound_format}, not a locate format {FORMATS}")
    queued = {}
    for partner, profile in profiles.items():
        header = {
            "state_code": state,
            "version_control_number": FCR_VERSION,
            "batch_number": f"{_next_batch(rt, partner):06d}",
            "date_stamp": datetime.now(UTC).date(),
        }
        records: list[dict[str, Any]] = [
            {"type": "input_header", "data": header},
            {"type": "locate_request", "canonical": wanted},
        ]
        queued[partner] = outbound.queue(rt, profile, records=records)
    with session_scope(rt.engine) as session:
        audit.append(
            session,
            actor=requester.actor,
            action="locate.requested",
            subject=f"case:{state_case_id}",
            detail={"person_id": person_id, "sources": list(sources), "exchanges": queued},
        )
    return queued


def _request(rt: Runtime, case: Case, person: Person, sources: Sequence[str]) -> LocateRequest:
    if not person.member_id:
        raise ValueError("the participant has no member id (the FCR's person id): give it in the case extract")
    return LocateRequest(
        person=participant(rt, person),
        case_id=case.state_case_id,
        request_type=LocateRequestType.CS,
        purpose=AuthorizedPurpose.CHILD_SUPPORT,
        sources=list(sources),
    )


def _next_batch(rt: Runtime, partner: str) -> int:
    """One more than the files sent to the partner so far (FCR batch numbers run to 999999)."""
    with session_scope(rt.engine) as session:
        sent = session.scalar(
            select(func.count())
            .select_from(Exchange)
            .where(Exchange.partner_id == partner, Exchange.direction == ExchangeDirection.OUTBOUND)
        )
    return int(sent or 0) % 999_999 + 1
