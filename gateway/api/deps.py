"""API dependencies as ``Annotated`` aliases: the runtime, and the authenticated principal.

Authentication is a bearer token; ``Settings.api_tokens`` maps the SHA-256 of each token to a role.
Rights by role:

==============  ======================================================================
admin           everything; a case's participants (``gateway.cases.disclosure``)
operator        read the exchange log; retry, reprocess and release
auditor         read the exchange log; verify the audit log
caseworker:ID   the participants of the cases assigned to caseworker ID, nothing else
==============  ======================================================================

A missing or unknown token is 401. A known token asking for more than its role allows raises
``AccessDenied`` (403, see ``app.create_app``) after the refusal is audited (``access.denied``).
The web console (``gateway.console``) signs in with the same tokens and shares ``principal_for``,
``RIGHTS`` and ``deny``, so both doors admit and refuse alike.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Mapping
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
    "caseworker": frozenset(),  # cases only, checked per case by gateway.cases.disclosure
}
_bearer = HTTPBearer(auto_error=False)


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: a role, a token fingerprint (never the token), for a caseworker their id, and
    the door they came in by (``api`` or ``console``), so the audit log tells the two apart."""

    role: str
    fingerprint: str
    caseworker: str | None = None
    channel: str = "api"

    @property
    def actor(self) -> str:
        who = f"{self.role}:{self.caseworker}" if self.caseworker else self.role
        return f"{self.channel}:{who}:{self.fingerprint}"

    def may(self, right: Right) -> bool:
        return right in RIGHTS.get(self.role, frozenset())


def principal_for(tokens: Mapping[str, str], digest: str, *, channel: str = "api") -> Principal | None:
    """The principal of the token whose SHA-256 is ``digest``, or None when ``tokens``
    (``Settings.api_tokens``) does not admit it (any more)."""
    for known, role in tokens.items():
        if hmac.compare_digest(known, digest):
            role, _, caseworker = role.partition(":")
            return Principal(role, digest[:12], caseworker or None, channel)
    return None


def deny(rt: Runtime, principal: Principal, right: str, subject: str) -> AccessDenied:
    """Put the refusal on record (``access.denied``) and return the error to raise."""
    with session_scope(rt.engine) as session:
        audit.append(
            session,
            actor=principal.actor,
            action="access.denied",
            subject=subject[:256],
            detail={"role": principal.role, "right": right},
        )
    return AccessDenied(f"role {principal.role} may not {right}")


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
    principal = principal_for(request.app.state.settings.api_tokens, digest)
    if principal is not None:
        return principal
    raise HTTPException(status.HTTP_401_UNAUTHORIZED, "unknown token", {"WWW-Authenticate": "Bearer"})


def require(right: Right) -> Callable[..., Principal]:
    """A dependency that lets through principals whose role has ``right``; audits refusals."""

    def check(request: Request, principal: Annotated[Principal, Depends(get_principal)], rt: RuntimeDep) -> Principal:
        if principal.may(right):
            return principal
        raise deny(rt, principal, right, f"api:{request.method} {request.url.path}")

    return check


Authenticated = Annotated[Principal, Depends(get_principal)]  # any known token; the route decides
Reader = Annotated[Principal, Depends(require("read"))]
Operator = Annotated[Principal, Depends(require("act"))]
Auditor = Annotated[Principal, Depends(require("audit"))]
