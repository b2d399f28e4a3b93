"""Case participants and what was found about where they live and work (``gateway.cases.disclosure``
decides who may see what, and audits it)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, status
from pydantic import BaseModel, ConfigDict, Field

from gateway.api.deps import Authenticated, RuntimeDep
from gateway.cases import disclosure
from gateway.cases import fvi as fvi_module
from gateway.cases import locate as locate_module
from gateway.errors import ConfigError

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


class LocateAsk(BaseModel):
    """Which participant to find, through which partners (the FCR, other states over CSENet), from which
    FCR sources."""

    model_config = ConfigDict(extra="forbid")

    person_id: int
    partners: list[str] = Field(min_length=1, max_length=8)
    sources: list[str] = Field(default_factory=lambda: ["ALL"], min_length=1, max_length=8)


@router.post("/{case_id}/locate", status_code=status.HTTP_202_ACCEPTED)
def locate(rt: RuntimeDep, principal: Authenticated, case_id: str, ask: LocateAsk) -> dict[str, int]:
    """Queue a locate request for one participant to each partner; partner → outbound exchange id.
    What the sources find comes back through the case feed."""
    requester = disclosure.Requester(principal.actor, principal.role, principal.caseworker)
    try:
        return locate_module.request(rt, case_id, ask.person_id, requester, partners=ask.partners, sources=ask.sources)
    except disclosure.CaseNotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
    except ConfigError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, exc.message) from None
    except ValueError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None


class FviChange(BaseModel):
    """Set (``protect``) or clear a participant's family violence indicator; clearing needs the court
    order's reference and an admin (``gateway.cases.fvi``)."""

    model_config = ConfigDict(extra="forbid")

    protect: bool
    court_order: str | None = Field(default=None, max_length=64)


@router.post("/{case_id}/participants/{person_id}/fvi")
def fvi(rt: RuntimeDep, principal: Authenticated, case_id: str, person_id: int, change: FviChange) -> dict[str, bool]:
    """Whether the indicator changed (false: it already was as asked). Refusals are 403, audited."""
    requester = disclosure.Requester(principal.actor, principal.role, principal.caseworker)
    try:
        changed = fvi_module.change(
            rt, case_id, person_id, requester, protect=change.protect, court_order=change.court_order
        )
    except disclosure.CaseNotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
    return {"changed": changed}
