"""Setting and clearing a participant's Family Violence Indicator by hand.

The indicator comes from the state's case system (``csgate cases import``, where it is sticky: an
import never clears it) or from a locate source that blocked a result (``gateway.cases.feed``). A
caseworker who learns of a risk must be able to protect a participant at once, and the protection
must not end by accident: so the case's caseworker or an admin may set it, and only an admin may
clear it, giving the reference of the court order (or finding) that ends it. Both are audited
(``person.fvi_set`` / ``person.fvi_cleared``) with the participant's id and, for a clearing, the
reference; a refusal is audited as ``fvi.denied``. Clearing is not the one-time lift
``gateway.cases.disclosure`` gives with a court order: it ends the withholding for every later
disclosure.
"""

from __future__ import annotations

from sqlalchemy import select

from gateway.audit import log as audit
from gateway.cases.disclosure import COURT_ORDER, CaseNotFound, Requester, refusal
from gateway.db.models import Case, Person
from gateway.db.session import session_scope
from gateway.errors import AccessDenied
from gateway.exchanges.runtime import Runtime


def change(
    rt: Runtime,
    state_case_id: str,
    person_id: int,
    requester: Requester,
    *,
    protect: bool,
    court_order: str | None = None,
) -> bool:
    """Set (``protect``) or clear one participant's indicator; whether it changed. Raises
    ``CaseNotFound`` and, after auditing the refusal, ``AccessDenied`` (see the module docstring)."""
    with session_scope(rt.engine, writes_after_reading=True) as session:
        case = session.scalar(select(Case).where(Case.state_case_id == state_case_id))
        if case is None:
            raise CaseNotFound(f"no case {state_case_id}")
        person = session.scalar(select(Person).where(Person.id == person_id, Person.case_id == case.id))
        if person is None:
            raise CaseNotFound(f"no participant {person_id} on case {state_case_id}")
        subject = f"case:{state_case_id}"
        why = _refusal(case, requester, protect, court_order)
        if why is not None:
            detail = {"person_id": person_id, "protect": protect, "role": requester.role, "why": why}
            audit.append(session, actor=requester.actor, action="fvi.denied", subject=subject, detail=detail)
        elif person.fvi == protect:
            return False
        else:
            person.fvi = protect
            detail = {"person_id": person_id} if protect else {"person_id": person_id, "court_order": court_order}
            action = "person.fvi_set" if protect else "person.fvi_cleared"
            audit.append(session, actor=requester.actor, action=action, subject=subject, detail=detail)
            return True
    raise AccessDenied(why)


def _refusal(case: Case, requester: Requester, protect: bool, court_order: str | None) -> str | None:
    why = refusal(case, requester)
    if why is not None or protect:
        return why
    if requester.role != "admin":
        return "only an admin may clear the family violence indicator"
    if court_order is None or not COURT_ORDER.fullmatch(court_order):
        return "clearing needs the court order's reference (3-64 letters, digits, ./:- and spaces)"
    return None
