"""Quarantined files: the list, one file's record (never its content), reprocess and release.

Reprocessing runs the file through intake again with the partner's current keys and formats;
releasing also keeps the good records of a file held for a structure error. Both are
``gateway.exchanges.intake.reprocess``, audited there as the visitor's action.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import Response

from gateway.console.auth import Acting, Reader, Visitor, runtime
from gateway.console.pages import redirect, render
from gateway.db.models import ExchangeStatus
from gateway.errors import GatewayError
from gateway.exchanges import intake, quarantine
from gateway.exchanges.partners import load_profile

router = APIRouter()

OUTCOMES = frozenset(s.value for s in ExchangeStatus)


@router.get("/quarantine")
def quarantined(request: Request, who: Reader, released: bool = False) -> Response:
    rows = [v.as_dict() for v in quarantine.list_quarantine(runtime(request), include_released=released)]
    return render(request, "quarantine.html", who, {"rows": rows, "released": released})


def _entry(request: Request, who: Visitor, quarantine_id: int, *, outcome: str = "", error: str = "") -> Response:
    view = quarantine.get_quarantine(runtime(request), quarantine_id)
    if view is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no quarantine entry {quarantine_id}")
    context = {"q": view.as_dict(), "outcome": outcome if outcome in OUTCOMES else "", "error": error}
    return render(request, "quarantine_entry.html", who, context, status_code=409 if error else 200)


@router.get("/quarantine/{quarantine_id}")
def entry(request: Request, who: Reader, quarantine_id: int, outcome: str = "") -> Response:
    return _entry(request, who, quarantine_id, outcome=outcome)


def _rerun(request: Request, who: Visitor, quarantine_id: int, *, accept_partial: bool) -> Response:
    rt = runtime(request)
    view = quarantine.get_quarantine(rt, quarantine_id)
    if view is None or view.partner_id is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no quarantine entry {quarantine_id}")
    try:
        profile = load_profile(rt.engine, view.partner_id, key_dir=rt.key_dir)
        result = intake.reprocess(
            rt.acting_as(who.principal.actor), profile, quarantine_id, accept_partial=accept_partial
        )
    except GatewayError as exc:
        return _entry(request, who, quarantine_id, error=f"{exc.code}: {exc.message}")
    return redirect(request, f"/quarantine/{quarantine_id}?outcome={result.status.value}", who)


@router.post("/quarantine/{quarantine_id}/reprocess")
def reprocess(request: Request, who: Acting, quarantine_id: int) -> Response:
    return _rerun(request, who, quarantine_id, accept_partial=False)


@router.post("/quarantine/{quarantine_id}/release")
def release(request: Request, who: Acting, quarantine_id: int) -> Response:
    return _rerun(request, who, quarantine_id, accept_partial=True)
