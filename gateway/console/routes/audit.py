"""The audit log's verification, for auditors and admins: the same ``gateway.audit.log.verify`` that
``csgate audit verify`` and ``GET /audit/verify`` run, against this instance's checkpoint key."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from gateway.audit import log as audit
from gateway.console.auth import Auditor, runtime
from gateway.console.pages import render
from gateway.db.session import session_scope

router = APIRouter()


@router.get("/audit")
def verify(request: Request, who: Auditor, entry: int | None = None) -> Response:
    signer = request.app.state.signer
    if signer is None:
        message = "This instance has no audit signing key, so it cannot verify the log; use `csgate audit verify`."
        return render(request, "error.html", who, {"status": 503, "message": message}, status_code=503)
    with session_scope(runtime(request).engine) as session:
        report = audit.verify(session, signer.public_key, entry=entry).as_dict()
    return render(request, "audit.html", who, {"report": report, "entry": entry})
