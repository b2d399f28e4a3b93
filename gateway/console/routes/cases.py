"""Cases, for their caseworkers (and admins): the list of one's cases, and a case's participants with
what partners reported about where they live and work.

Everything goes through ``gateway.cases.disclosure``, exactly as ``GET /cases/{id}/whereabouts``
does: it decides who may read which case, withholds a participant protected by the Family Violence
Indicator, identifies people by the SSN's last four digits only, and audits each disclosure, block,
override and refusal. An admin lifts the indicator for one disclosure by giving a court order's
reference in a form (a POST, so a link cannot do it). The indicator itself is set by the case's
caseworker or an admin, and cleared by an admin with a court order's reference, through
``gateway.cases.fvi`` as ``POST /cases/{id}/participants/{person}/fvi`` does.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Request, status
from fastapi.responses import Response

from gateway.cases import disclosure, fvi
from gateway.console.auth import Posted, SignedIn, Visitor, requester, runtime
from gateway.console.pages import redirect, render

router = APIRouter()


@router.get("/cases")
def cases(request: Request, who: SignedIn) -> Response:
    rows = disclosure.readable_cases(runtime(request), requester(who))
    return render(request, "cases.html", who, {"rows": rows})


def _case(request: Request, who: Visitor, case_id: str, court_order: str | None) -> Response:
    try:
        view = disclosure.whereabouts(runtime(request), case_id, requester(who), override=court_order)
    except disclosure.CaseNotFound:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no case {case_id}") from None
    for person in view["participants"]:
        for finding in person.get("findings", []):
            finding["summary"] = summary(finding["reported"])
    return render(request, "case.html", who, {"case": view, "court_order": court_order})


@router.get("/cases/{case_id}")
def case(request: Request, who: SignedIn, case_id: str) -> Response:
    return _case(request, who, case_id, None)


@router.post("/cases/{case_id}")
def case_with_court_order(
    request: Request, who: Posted, case_id: str, court_order: Annotated[str, Form(max_length=64)] = ""
) -> Response:
    """An admin's disclosure under a court order (disclosure refuses anyone else, and audits it)."""
    return _case(request, who, case_id, court_order.strip() or None)


@router.post("/cases/{case_id}/participants/{person_id}/fvi")
def change_fvi(
    request: Request,
    who: Posted,
    case_id: str,
    person_id: int,
    protect: Annotated[bool, Form()] = True,
    court_order: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    """Set or clear one participant's indicator, then back to the case (refusals are 403 pages, audited)."""
    order = court_order.strip() or None
    try:
        fvi.change(runtime(request), case_id, person_id, requester(who), protect=protect, court_order=order)
    except disclosure.CaseNotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
    return redirect(request, f"/cases/{case_id}", who)


def summary(reported: dict[str, Any]) -> str:
    """One line for a finding: an employer's name and FEIN, or an address's lines and place."""
    if reported.get("kind") == "employer":
        return f"{reported.get('name') or ''} (FEIN {reported.get('fein') or '-'})".strip()
    parts = [reported.get(k) for k in ("line1", "line2", "city", "state", "zip5")]
    return ", ".join(str(p) for p in parts if p) or str(reported.get("kind") or "")
