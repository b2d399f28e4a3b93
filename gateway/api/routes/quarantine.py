"""Quarantined files: list, inspect (metadata), reprocess, release."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, status

from gateway.api.deps import Operator, Reader, RuntimeDep
from gateway.errors import GatewayError
from gateway.exchanges import intake, quarantine
from gateway.exchanges.partners import load_profile

router = APIRouter(prefix="/quarantine", tags=["quarantine"])


@router.get("")
def list_quarantine(rt: RuntimeDep, _: Reader, include_released: bool = False) -> list[dict[str, Any]]:
    return [v.as_dict() for v in quarantine.list_quarantine(rt, include_released=include_released)]


@router.get("/{quarantine_id}")
def get_quarantined(rt: RuntimeDep, _: Reader, quarantine_id: int) -> dict[str, Any]:
    view = quarantine.get_quarantine(rt, quarantine_id)
    if view is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no quarantine entry {quarantine_id}")
    return view.as_dict()


def _rerun(rt: Any, principal: Any, quarantine_id: int, *, accept_partial: bool) -> dict[str, Any]:
    view = quarantine.get_quarantine(rt, quarantine_id)
    if view is None or view.partner_id is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no quarantine entry {quarantine_id}")
    actor_rt = rt.acting_as(principal.actor)
    try:
        profile = load_profile(rt.engine, view.partner_id, key_dir=rt.key_dir)
        return intake.reprocess(actor_rt, profile, quarantine_id, accept_partial=accept_partial).as_dict()
    except GatewayError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, f"{exc.code}: {exc.message}") from None


@router.post("/{quarantine_id}/reprocess")
def reprocess(rt: RuntimeDep, principal: Operator, quarantine_id: int) -> dict[str, Any]:
    """Run the file through intake again with the partner's current keys and formats."""
    return _rerun(rt, principal, quarantine_id, accept_partial=False)


@router.post("/{quarantine_id}/release")
def release(rt: RuntimeDep, principal: Operator, quarantine_id: int) -> dict[str, Any]:
    """Accept the good records of a file held for a structure error (the envelope is still checked)."""
    return _rerun(rt, principal, quarantine_id, accept_partial=True)
