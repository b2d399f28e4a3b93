"""The case registry: the state system's cases and participants, so that what partners report can be
matched to them (``gateway.cases.feed``) and disclosed to whom the case belongs.

It is loaded from the state system's extract, one JSON object per line::

    {"caseworker": "cw-0412", "case": {<canonical Case: case_id, fips, case_type, participants ...>}}

A case is upserted by its state case id. A participant is the same person again when its SSN is (by
blind index), or, without an SSN, its role and name; it is updated in place so what was found for it
stays attached; a new participant at once gets what files fed before reported about its SSN
(``feed.backfill``). A participant missing from a later extract is kept (what was found for it is evidence
on the case), and the Family Violence Indicator is sticky: an extract can set it, never clear it,
because the FCR may have set it after the extract was cut.

Personal data goes to the database encrypted per field (SSN, names, birth date) with the SSN's blind
index for matching; the rest of the case (orders, payment address, contact) as one encrypted JSON. A
bad line is a coded error with its line number and the field's path, never its value, and the other
lines are still loaded.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from adapters.canonical import Case as CanonicalCase
from adapters.canonical import Person as CanonicalPerson
from gateway.audit import log as audit
from gateway.cases import feed
from gateway.cases.columns import CASE_AAD, DOB_AAD, FIRST_AAD, LAST_AAD, SSN_AAD, participant
from gateway.db.models import Case, Person
from gateway.db.session import session_scope
from gateway.exchanges.runtime import Runtime

BATCH = 500  # cases per transaction


@dataclass(slots=True)
class LineError:
    line: int
    code: str
    message: str  # a field path and what is wrong with it: never a value

    def as_dict(self) -> dict[str, Any]:
        return {"line": self.line, "code": self.code, "message": self.message}


@dataclass(slots=True)
class ImportReport:
    cases_added: int = 0
    cases_updated: int = 0
    persons_added: int = 0
    persons_updated: int = 0
    backfilled: int = 0  # findings earlier files gave the new participants (``feed.backfill``)
    iwos: int = 0  # withholding notices those findings called for
    errors: list[LineError] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "cases_added": self.cases_added,
            "cases_updated": self.cases_updated,
            "persons_added": self.persons_added,
            "persons_updated": self.persons_updated,
            "backfilled": self.backfilled,
            "iwos": self.iwos,
            "rejected": len(self.errors),
        }


def import_cases(rt: Runtime, lines: Iterable[tuple[int, Any]]) -> ImportReport:
    """Load ``(line number, parsed JSON)`` pairs of an extract (see the module docstring)."""
    report = ImportReport()
    batch: list[tuple[int, CanonicalCase, str | None]] = []
    for line, obj in lines:
        checked = _checked(line, obj)
        if isinstance(checked, LineError):
            report.errors.append(checked)
            continue
        batch.append((line, *checked))
        if len(batch) >= BATCH:
            _store(rt, batch, report)
            batch = []
    if batch:
        _store(rt, batch, report)
    return report


def _checked(line: int, obj: Any) -> tuple[CanonicalCase, str | None] | LineError:
    if not isinstance(obj, Mapping) or not isinstance(obj.get("case"), Mapping):
        return LineError(line, "CASE_LINE", 'a line must be {"caseworker": ..., "case": {...}}')
    caseworker = obj.get("caseworker")
    if caseworker is not None and (not isinstance(caseworker, str) or not 0 < len(caseworker) <= 64):
        return LineError(line, "CASEWORKER", "caseworker must be an id of 1-64 characters")
    try:
        case = CanonicalCase.model_validate(obj["case"])
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in ("case", *first["loc"]))
        return LineError(line, "CASE_INVALID", f"{where}: {first['msg']}")
    if case.case_id is None or case.fips is None or case.case_type is None:
        return LineError(line, "CASE_INCOMPLETE", "case.case_id, case.fips and case.case_type are required")
    for i, person in enumerate(case.participants):
        if person.role is None:
            return LineError(line, "PARTICIPANT_ROLE", f"case.participants.{i}.role is required")
        if person.ssn is None and person.name is None:
            return LineError(line, "PARTICIPANT_IDENTITY", f"case.participants.{i} needs an SSN or a name")
    return case, caseworker


def _store(rt: Runtime, batch: list[tuple[int, CanonicalCase, str | None]], report: ImportReport) -> None:
    """One transaction of cases; then the participants it added get what earlier files reported."""
    added: list[Person] = []
    with session_scope(rt.engine, writes_after_reading=True) as session:
        ids = [case.case_id for _, case, _ in batch]
        rows = {c.state_case_id: c for c in session.scalars(select(Case).where(Case.state_case_id.in_(ids)))}
        cases_added = updated = 0
        for _, case, caseworker in batch:
            assert case.case_id is not None and case.fips is not None and case.case_type is not None  # _checked
            row = rows.get(case.case_id)
            rest = case.model_dump(mode="json", exclude={"participants"}, exclude_none=True)
            if row is None:
                row = Case(state_case_id=case.case_id)
                session.add(row)
                rows[case.case_id] = row
                cases_added += 1
            else:
                updated += 1
            row.fips, row.case_type, row.caseworker = case.fips, case.case_type.value, caseworker
            row.data_enc, row.key_id = rt.cipher.encrypt_json(rest, CASE_AAD), rt.cipher.current_key_id
            session.flush()
            added += _participants(rt, session, row, case.participants, report)
        report.cases_added += cases_added
        report.cases_updated += updated
        audit.append(
            session,
            actor=rt.actor,
            action="cases.imported",
            subject="case_registry",
            detail={"cases_added": cases_added, "cases_updated": updated, "lines": [line for line, _, _ in batch]},
        )
    matched = feed.backfill(rt, [p.id for p in added if p.ssn_bidx is not None])
    report.backfilled += matched.findings
    report.iwos += matched.iwos


def _participants(
    rt: Runtime, session: Session, case: Case, people: list[CanonicalPerson], report: ImportReport
) -> list[Person]:
    """Upsert the case's participants; returns those that are new (flushed: they have ids)."""
    existing = list(session.scalars(select(Person).where(Person.case_id == case.id)))
    new: list[Person] = []
    by_ssn = {p.ssn_bidx: p for p in existing if p.ssn_bidx is not None}
    by_name = {_name_key(participant(rt, p)): p for p in existing if p.ssn_bidx is None}
    for person in people:
        bidx = rt.blind_index.ssn(person.ssn) if person.ssn else None
        row = by_ssn.get(bidx) if bidx is not None else by_name.get(_name_key(person))
        if row is None:
            row = Person(case_id=case.id, ssn_bidx=bidx)
            session.add(row)
            if bidx is not None:
                by_ssn[bidx] = row
            else:
                by_name[_name_key(person)] = row
            report.persons_added += 1
            new.append(row)
        else:
            report.persons_updated += 1
        _fill(rt, row, person)
    session.flush()
    return new


def _fill(rt: Runtime, row: Person, person: CanonicalPerson) -> None:
    cipher = rt.cipher
    assert person.role is not None  # _checked
    row.role = person.role.value
    row.ssn_enc = cipher.encrypt_str(person.ssn, SSN_AAD) if person.ssn else None
    row.first_name_enc = cipher.encrypt_str(person.name.first, FIRST_AAD) if person.name and person.name.first else None
    row.last_name_enc = cipher.encrypt_str(person.name.last, LAST_AAD) if person.name and person.name.last else None
    row.dob_enc = cipher.encrypt_str(person.dob.isoformat(), DOB_AAD) if person.dob else None
    row.key_id = cipher.current_key_id
    row.member_id = person.member_id[:15] if person.member_id else row.member_id
    row.fvi = bool(row.fvi) or person.family_violence  # sticky: see the module docstring


def _name_key(person: CanonicalPerson) -> tuple[str, str, str]:
    """Who a participant without an SSN is within its case: role and name, case-blind."""
    name = person.name
    role = person.role.value if person.role else ""
    return role, (name.first or "").upper() if name else "", (name.last or "").upper() if name else ""
