"""Case participants and what was found about where they live and work (``gateway.cases.disclosure``
decides who may see what, and audits it)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, status

from gateway.api.deps import Authenticated, RuntimeDep
from gateway.cases import disclosure

router = APIRouter(prefix="/cases", tags=["cases"])


@router.get("/{case_id}/whereabouts")
def whereabouts(
    rt: RuntimeDep,
    principal: Authenticated,
    case_id: str,
    court_order: Annotated[
        str | None, Query(description="Admin only: the court order that lifts the family violence indicator")
    ] = None,
) -> dict[str, Any]:
    requester = disclosure.Requester(principal.actor, principal.role, principal.caseworker)
    try:
        return disclosure.whereabouts(rt, case_id, requester, override=court_order)
    except disclosure.CaseNotFound:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no case {case_id}") from None
