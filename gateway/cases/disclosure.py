"""Disclosure of where a case's participants live and work: only to whom the case belongs, never a
protected person's whereabouts, and every disclosure, refusal and block audited.

Who may read a case: its caseworker (``cases.caseworker``), and an admin (the state office's
supervision). Anyone else is refused: ``AccessDenied``, audited as ``disclosure.denied``.

The Family Violence Indicator: a participant with the FVI set has their addresses, employers and
income withheld (``"withheld": "family_violence"`` in place of the findings) and the block is audited
(``disclosure.blocked``). Only a court order lifts it, for one disclosure: an admin gives its reference
(``override``), audited with the disclosure (``disclosure.fvi_override``); a caseworker cannot.

Participants are identified by name, role and the SSN's last four digits; the full SSN is never
disclosed here. Each disclosure is audited (``disclosure``) with the person ids and the number of
findings shown, never their content.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gateway.audit import log as audit
from gateway.cases.columns import participant
from gateway.cases.feed import FINDING_AAD
from gateway.db.models import Address, Case, Person
from gateway.db.session import session_scope
from gateway.errors import AccessDenied
from gateway.exchanges.runtime import Runtime

COURT_ORDER = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ./:-]{2,63}")  # a docket or order number


@dataclass(frozen=True, slots=True)
class Requester:
    """Who asks: the audit actor, a role (``admin``, ``caseworker`` …) and, for a caseworker, their id."""

    actor: str
    role: str
    caseworker: str | None = None


class CaseNotFound(LookupError):
    pass


def whereabouts(
    rt: Runtime, state_case_id: str, requester: Requester, *, override: str | None = None
) -> dict[str, Any]:
    """The case's participants with what was found about where they live and work (see the module
    docstring for who may ask and what is withheld). ``CaseNotFound``; ``AccessDenied`` once the
    refusal is on record."""
    with session_scope(rt.engine, writes_after_reading=True) as session:
        case = session.scalar(select(Case).where(Case.state_case_id == state_case_id))
        if case is None:
            raise CaseNotFound(f"no case {state_case_id}")
        why = _refusal(case, requester, override)
        if why is None:
            return _disclose(rt, session, case, requester, override)
        audit.append(
            session,
            actor=requester.actor,
            action="disclosure.denied",
            subject=f"case:{state_case_id}",
            detail={"role": requester.role, "why": why},
        )
    raise AccessDenied(why)


def readable_cases(rt: Runtime, requester: Requester, *, limit: int = 500) -> list[dict[str, Any]]:
    """The cases ``requester`` may read, by case id: a caseworker's own, every case for an admin. Ids,
    FIPS, type, caseworker and the number of participants: nothing about a person, so listing is not a
    disclosure. Anyone else is refused as ``whereabouts`` refuses (``disclosure.denied``, ``AccessDenied``)."""
    why = list_refusal(requester)
    with session_scope(rt.engine) as session:
        if why is not None:
            audit.append(
                session,
                actor=requester.actor,
                action="disclosure.denied",
                subject="cases",
                detail={"role": requester.role, "why": why},
            )
        else:
            people = select(Person.case_id, func.count().label("n")).group_by(Person.case_id).subquery("participants")
            stmt = (
                select(Case, func.coalesce(people.c.n, 0))
                .outerjoin(people, people.c.case_id == Case.id)
                .order_by(Case.state_case_id)
                .limit(limit)
            )
            if requester.role == "caseworker":
                stmt = stmt.where(Case.caseworker == requester.caseworker)
            return [
                {
                    "case_id": case.state_case_id,
                    "fips": case.fips,
                    "case_type": case.case_type,
                    "caseworker": case.caseworker,
                    "participants": int(count),
                }
                for case, count in session.execute(stmt)
            ]
    raise AccessDenied(why)


def list_refusal(requester: Requester) -> str | None:
    """Why ``requester`` may not list cases (``readable_cases``), or None."""
    if requester.role == "caseworker":
        return None if requester.caseworker else "not a caseworker"
    return None if requester.role == "admin" else f"role {requester.role} may not read case participants"


def refusal(case: Case, requester: Requester) -> str | None:
    """Why ``requester`` may not act on ``case`` (read it, ask for a locate), or None: its caseworker and
    an admin may."""
    if requester.role == "caseworker":
        if requester.caseworker is None or requester.caseworker != case.caseworker:
            return "not the case's caseworker"
        return None
    if requester.role != "admin":
        return f"role {requester.role} may not read case participants"
    return None


def _refusal(case: Case, requester: Requester, override: str | None) -> str | None:
    why = refusal(case, requester)
    if why is not None or override is None:
        return why
    if requester.role != "admin":
        return "only an admin may lift the family violence indicator"
    if not COURT_ORDER.fullmatch(override):
        return "an override needs the court order's reference (3-64 letters, digits, ./:- and spaces)"
    return None


def _disclose(rt: Runtime, session: Session, case: Case, requester: Requester, override: str | None) -> dict[str, Any]:
    people = list(session.scalars(select(Person).where(Person.case_id == case.id).order_by(Person.id)))
    findings: dict[int, list[Address]] = {}
    for row in session.scalars(
        select(Address)
        .where(Address.person_id.in_([p.id for p in people]))
        .order_by(Address.as_of.desc(), Address.id.desc())
    ):
        findings.setdefault(row.person_id, []).append(row)
    shown: list[int] = []
    blocked: list[int] = []
    lifted: list[int] = []
    count = 0
    participants = []
    for person in people:
        entry = _identity(rt, person)
        if person.fvi and override is None:
            entry["withheld"] = "family_violence"
            blocked.append(person.id)
        else:
            if person.fvi:
                lifted.append(person.id)
            entry["findings"] = [_finding(rt, row) for row in findings.get(person.id, [])]
            count += len(entry["findings"])
            shown.append(person.id)
        participants.append(entry)
    subject, actor = f"case:{case.state_case_id}", requester.actor
    detail = {"person_ids": shown, "findings": count, "role": requester.role}
    audit.append(session, actor=actor, action="disclosure", subject=subject, detail=detail)
    if blocked:
        detail = {"person_ids": blocked, "reason": "family_violence"}
        audit.append(session, actor=actor, action="disclosure.blocked", subject=subject, detail=detail)
    if lifted:
        detail = {"person_ids": lifted, "court_order": override}
        audit.append(session, actor=actor, action="disclosure.fvi_override", subject=subject, detail=detail)
    return {
        "case_id": case.state_case_id,
        "fips": case.fips,
        "case_type": case.case_type,
        "caseworker": case.caseworker,
        "participants": participants,
    }


def _identity(rt: Runtime, person: Person) -> dict[str, Any]:
    known = participant(rt, person)
    name = known.name
    return {
        "person_id": person.id,
        "role": person.role,
        "first_name": name.first if name else None,
        "last_name": name.last if name else None,
        "ssn_last4": known.ssn[-4:] if known.ssn else None,
        "family_violence": person.fvi,
    }


def _finding(rt: Runtime, row: Address) -> dict[str, Any]:
    return {
        "kind": row.kind,
        "source": row.source,
        "as_of": row.as_of.isoformat() if row.as_of else None,
        "reported": orjson.loads(rt.cipher.decrypt(row.data_enc, FINDING_AAD)),
    }
