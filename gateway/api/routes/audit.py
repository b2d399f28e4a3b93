"""Audit log verification, for auditors."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request, status

from gateway.api.deps import Auditor, RuntimeDep
from gateway.audit import log as audit
from gateway.db.session import session_scope

router = APIRouter(prefix="/audit", tags=["audit"])


@router.get("/verify")
def verify(request: Request, rt: RuntimeDep, _: Auditor, entry: int | None = None) -> dict[str, Any]:
    """Prove the log consistent with its latest signed checkpoint (and ``entry`` included)."""
    signer = request.app.state.signer
    if signer is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "no audit signing key on this instance")
    with session_scope(rt.engine) as session:
        return audit.verify(session, signer.public_key, entry=entry).as_dict()
