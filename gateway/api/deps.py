"""API dependencies as ``Annotated`` aliases: the runtime, and the authenticated principal.

Authentication is a bearer token; ``Settings.api_tokens`` maps the SHA-256 of each token to a role.
Rights by role:

=========  ===========================================================
admin      everything
operator   read the exchange log; retry, reprocess and release
auditor    read the exchange log; verify the audit log
=========  ===========================================================

A missing or unknown token is 401. A known token asking for more than its role allows raises
``AccessDenied`` (403, see ``app.create_app``) after the refusal is audited (``access.denied``).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Literal

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from gateway.audit import log as audit
from gateway.db.session import session_scope
from gateway.errors import AccessDenied
from gateway.exchanges.runtime import Runtime

Right = Literal["read", "act", "audit"]
RIGHTS: dict[str, frozenset[Right]] = {
    "admin": frozenset({"read", "act", "audit"}),
    "operator": frozenset({"read", "act"}),
    "auditor": frozenset({"read", "audit"}),
}
_bearer = HTTPBearer(auto_error=False)


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: a role and a token fingerprint (never the token)."""

    role: str
    fingerprint: str

    @property
    def actor(self) -> str:
        return f"api:{self.role}:{self.fingerprint}"


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def get_principal(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Principal:
    if credentials is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "bearer token required", {"WWW-Authenticate": "Bearer"})
    digest = hashlib.sha256(credentials.credentials.encode()).hexdigest()
    tokens: dict[str, str] = request.app.state.settings.api_tokens
    for known, role in tokens.items():
        if hmac.compare_digest(known, digest):
            return Principal(role, digest[:12])
    raise HTTPException(status.HTTP_401_UNAUTHORIZED, "unknown token", {"WWW-Authenticate": "Bearer"})


def require(right: Right) -> Callable[..., Principal]:
    """A dependency that lets through principals whose role has ``right``; audits refusals."""

    def check(request: Request, principal: Annotated[Principal, Depends(get_principal)], rt: RuntimeDep) -> Principal:
        if right in RIGHTS.get(principal.role, frozenset()):
            return principal
        with session_scope(rt.engine) as session:
            audit.append(
                session,
                actor=principal.actor,
                action="access.denied",
                subject=f"api:{request.method} {request.url.path}"[:256],
                detail={"role": principal.role, "right": right},
            )
        raise AccessDenied(f"role {principal.role} may not {right}")

    return check


Reader = Annotated[Principal, Depends(require("read"))]
Operator = Annotated[Principal, Depends(require("act"))]
Auditor = Annotated[Principal, Depends(require("audit"))]
