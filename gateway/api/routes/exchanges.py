"""The exchange log, dead letters and alerts."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, status

from gateway.api.deps import Operator, Reader, RuntimeDep
from gateway.db.models import ExchangeDirection, ExchangeStatus, WorkStatus
from gateway.exchanges import service
from gateway.exchanges.outbound import NotRetryable

router = APIRouter(prefix="/exchanges", tags=["exchanges"])


@router.get("")
def list_exchanges(
    rt: RuntimeDep,
    _: Reader,
    status: ExchangeStatus | None = None,
    partner: str | None = None,
    direction: ExchangeDirection | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    return service.list_exchanges(rt, status=status, partner=partner, direction=direction, limit=min(limit, 1000))


@router.get("/overdue")
def overdue(rt: RuntimeDep, _: Reader) -> list[dict[str, Any]]:
    """Outbound exchanges whose acknowledgment is past its deadline."""
    return service.overdue(rt)


@router.get("/alerts")
def alerts(rt: RuntimeDep, _: Reader, include_resolved: bool = False) -> list[dict[str, Any]]:
    return service.list_alerts(rt, open_only=not include_resolved)


@router.get("/work")
def work(rt: RuntimeDep, _: Reader, status: WorkStatus | None = None, limit: int = 100) -> list[dict[str, Any]]:
    """Scheduled runs (the work queue), newest first."""
    return service.list_work(rt, status=status, limit=min(limit, 1000))


@router.post("/retry-dead", status_code=status.HTTP_202_ACCEPTED)
def retry_all_dead(rt: RuntimeDep, principal: Operator) -> dict[str, list[int]]:
    """Re-queue every dead letter; the scheduler sends or runs them on the partner's next run."""
    return service.requeue_dead(rt.acting_as(principal.actor), all_dead=True).as_dict()


@router.get("/{exchange_id}")
def get_exchange(rt: RuntimeDep, _: Reader, exchange_id: int) -> dict[str, Any]:
    row = service.exchange_detail(rt, exchange_id)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no exchange {exchange_id}")
    return row


@router.post("/{exchange_id}/retry", status_code=status.HTTP_202_ACCEPTED)
def retry(rt: RuntimeDep, principal: Operator, exchange_id: int) -> dict[str, list[int]]:
    """Re-queue one dead-lettered outbound exchange."""
    try:
        return service.requeue_dead(rt.acting_as(principal.actor), exchange_ids=[exchange_id]).as_dict()
    except NotRetryable as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, exc.message) from None
