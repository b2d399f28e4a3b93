"""Overview, the exchange log, dead letters (with retry), the work queue, alerts and the income
withholding notices new hires called for: the pages of ``gateway.exchanges.service`` and
``gateway.cases.iwo``, which the CLI and the API call too. Nothing here names a person."""

from __future__ import annotations

import enum
from typing import TypeVar

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import Response

from gateway.cases import iwo
from gateway.console.auth import Acting, Reader, SignedIn, Visitor, runtime
from gateway.console.pages import redirect, render
from gateway.db.models import ExchangeDirection, ExchangeStatus, WorkStatus
from gateway.errors import GatewayError
from gateway.exchanges import service

router = APIRouter()

LIMIT = 200  # rows per list page
E = TypeVar("E", bound=enum.Enum)


def choice(kind: type[E], value: str, name: str) -> E | None:
    """A filter from a form's select: empty is no filter, anything not in ``kind`` is refused."""
    if not value:
        return None
    try:
        return kind(value)
    except ValueError:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"unknown {name}") from None


@router.get("/")
def overview(request: Request, who: SignedIn) -> Response:
    """The gateway at a glance; a caseworker, who has no part in the exchanges, lands on their cases."""
    if not who.principal.may("read"):
        return redirect(request, "/cases", who)
    return render(request, "overview.html", who, {"summary": service.summary(runtime(request))})


@router.get("/exchanges")
def exchange_log(request: Request, who: Reader, status: str = "", partner: str = "", direction: str = "") -> Response:
    rows = service.list_exchanges(
        runtime(request),
        status=choice(ExchangeStatus, status, "status"),
        partner=partner.strip() or None,
        direction=choice(ExchangeDirection, direction, "direction"),
        limit=LIMIT,
    )
    context = {
        "rows": rows,
        "limit": LIMIT,
        "filters": {"status": status, "partner": partner.strip(), "direction": direction},
        "statuses": [s.value for s in ExchangeStatus],
        "directions": [d.value for d in ExchangeDirection],
    }
    return render(request, "exchanges.html", who, context)


@router.get("/exchanges/{exchange_id}")
def exchange(request: Request, who: Reader, exchange_id: int) -> Response:
    row = service.exchange_detail(runtime(request), exchange_id)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no exchange {exchange_id}")
    return render(request, "exchange.html", who, {"ex": row})


def _dead_letters(request: Request, who: Visitor, *, requeued: int | None = None, error: str | None = None) -> Response:
    rt = runtime(request)
    context = {
        "exchanges": service.list_exchanges(rt, status=ExchangeStatus.DEAD_LETTER, limit=LIMIT),
        "work": service.list_work(rt, status=WorkStatus.DEAD_LETTER, limit=LIMIT),
        "requeued": requeued,
        "error": error,
    }
    return render(request, "dead_letters.html", who, context, status_code=409 if error else 200)


@router.get("/dead-letters")
def dead_letters(request: Request, who: Reader, requeued: int | None = None) -> Response:
    return _dead_letters(request, who, requeued=requeued)


def _requeue(
    request: Request,
    who: Visitor,
    *,
    exchange_ids: list[int] | None = None,
    work_ids: list[int] | None = None,
    all_dead: bool = False,
) -> Response:
    """Re-queue as the visitor (``service.requeue_dead`` audits each one), then show what is left."""
    rt = runtime(request).acting_as(who.principal.actor)
    try:
        done = service.requeue_dead(rt, exchange_ids=exchange_ids, work_ids=work_ids, all_dead=all_dead)
    except GatewayError as exc:
        return _dead_letters(request, who, error=exc.message)
    return redirect(request, f"/dead-letters?requeued={len(done.exchanges) + len(done.work)}", who)


@router.post("/dead-letters/exchanges/{exchange_id}/retry")
def retry_exchange(request: Request, who: Acting, exchange_id: int) -> Response:
    return _requeue(request, who, exchange_ids=[exchange_id])


@router.post("/dead-letters/work/{item_id}/retry")
def retry_work(request: Request, who: Acting, item_id: int) -> Response:
    return _requeue(request, who, work_ids=[item_id])


@router.post("/dead-letters/retry-all")
def retry_all(request: Request, who: Acting) -> Response:
    return _requeue(request, who, all_dead=True)


@router.get("/work")
def work(request: Request, who: Reader, status: str = "") -> Response:
    rows = service.list_work(runtime(request), status=choice(WorkStatus, status, "status"), limit=LIMIT)
    context = {"rows": rows, "status": status, "statuses": [s.value for s in WorkStatus], "limit": LIMIT}
    return render(request, "work.html", who, context)


@router.get("/alerts")
def alerts(request: Request, who: Reader, resolved: bool = False) -> Response:
    rows = service.list_alerts(runtime(request), open_only=not resolved)
    return render(request, "alerts.html", who, {"rows": rows, "resolved": resolved})


NOTICE_STATUSES = ("pending", "queued", "failed")


@router.get("/withholding")
def withholding(request: Request, who: Reader, status: str = "") -> Response:
    """Income withholding notices, newest first: due times, where each went, the employer's answer."""
    if status and status not in NOTICE_STATUSES:
        raise HTTPException(422, "unknown status")
    rows = iwo.list_notices(runtime(request), status=status or None, limit=LIMIT)
    context = {"rows": rows, "limit": LIMIT, "status": status, "statuses": NOTICE_STATUSES}
    return render(request, "withholding.html", who, context)
