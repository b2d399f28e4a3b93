"""Who is signed in, what they may do, and the CSRF check: ``Annotated`` dependencies for the pages.

The principal and its rights come from ``gateway.api.deps`` (``principal_for``, ``RIGHTS``, ``deny``),
so the console admits and refuses exactly as the API does; only the credential differs (a session
cookie in place of the bearer token). Every request re-reads ``api_tokens``: a revoked token's
sessions end at their next request.

What is audited here: a session cookie that is forged, whose token was revoked or whose session was
signed out (``console.session_refused``), a role lacking a right (``access.denied``, as in the API) and a form
without its session's CSRF token (``access.denied`` with ``"reason": "csrf"``). No token, cookie or
form value is ever written.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from gateway.api.deps import Principal, Right, deny, principal_for
from gateway.audit import log as audit
from gateway.cases.disclosure import Requester
from gateway.config import Settings
from gateway.console.session import COOKIE, Expired, Forged, Session, SessionCodec
from gateway.db.models import ConsoleSignout
from gateway.db.session import session_scope
from gateway.errors import AccessDenied
from gateway.exchanges.runtime import Runtime
from gateway.observability import mask_pii


class SignInRequired(Exception):
    """No usable session: the page answers with the sign-in form; ``ended`` when there was one (it
    expired, or its token was revoked), so the form can say so."""

    def __init__(self, *, ended: bool = False) -> None:
        super().__init__("sign in")
        self.ended = ended


@dataclass(frozen=True, slots=True)
class Visitor:
    """A signed-in person: the principal (as the API knows it), the refreshed session, its CSRF token."""

    principal: Principal
    session: Session
    csrf: str


def requester(who: Visitor) -> Requester:
    """The visitor as ``gateway.cases.disclosure`` judges and audits them."""
    return Requester(who.principal.actor, who.principal.role, who.principal.caseworker)


def codec(request: Request) -> SessionCodec:
    value: SessionCodec = request.app.state.codec
    return value


def runtime(request: Request) -> Runtime:
    value: Runtime = request.app.state.runtime
    return value


def subject(request: Request) -> str:
    """How a refused request is named in the audit log: the door, the method and the path, with anything
    SSN-shaped someone typed into the path masked (the audit log refuses personal data)."""
    return mask_pii(f"console:{request.method} {request.url.path}")[:256]


def _refused(rt: Runtime, *, actor: str, reason: str, request: Request) -> None:
    with session_scope(rt.engine) as session:
        audit.append(
            session, actor=actor, action="console.session_refused", subject=subject(request), detail={"reason": reason}
        )


def visitor(request: Request) -> Visitor:
    """The signed-in visitor, or ``SignInRequired``."""
    sessions, rt = codec(request), runtime(request)
    value = request.cookies.get(COOKIE)
    if not value:
        raise SignInRequired()
    try:
        session = sessions.decode(value)
    except Expired:
        raise SignInRequired(ended=True) from None
    except Forged:
        _refused(rt, actor="console:anonymous", reason="forged", request=request)
        raise SignInRequired() from None
    settings: Settings = request.app.state.settings
    principal = principal_for(settings.api_tokens, session.fingerprint, channel="console")
    if principal is None:
        _refused(rt, actor=f"console:revoked:{session.fingerprint[:12]}", reason="revoked", request=request)
        raise SignInRequired(ended=True)
    with session_scope(rt.engine) as db:
        signed_out = db.get(ConsoleSignout, session.sid) is not None
    if signed_out:  # a copy of a cookie whose session was signed out
        _refused(rt, actor=principal.actor, reason="signed out", request=request)
        raise SignInRequired(ended=True)
    session = sessions.touched(session)
    return Visitor(principal, session, sessions.csrf_token(session))


SignedIn = Annotated[Visitor, Depends(visitor)]


def require(right: Right) -> Callable[..., Visitor]:
    """A dependency admitting visitors whose role has ``right``; refusals audited as in the API."""

    def check(request: Request, who: SignedIn) -> Visitor:
        if who.principal.may(right):
            return who
        raise deny(runtime(request), who.principal, right, subject(request))

    return check


def _csrf_refused(request: Request, who: Visitor) -> None:
    with session_scope(runtime(request).engine) as session:
        audit.append(
            session,
            actor=who.principal.actor,
            action="access.denied",
            subject=subject(request),
            detail={"role": who.principal.role, "reason": "csrf"},
        )


async def _csrf_checked(request: Request, who: Visitor) -> Visitor:
    form = await request.form()
    token = form.get("csrf")
    if isinstance(token, str) and codec(request).csrf_valid(who.session, token):
        return who
    await run_in_threadpool(_csrf_refused, request, who)  # a database write: off the event loop
    raise AccessDenied("the form did not carry this session's CSRF token; reload the page and try again")


def posted(right: Right | None = None) -> Callable[..., Coroutine[Any, Any, Visitor]]:
    """A dependency for a state-changing form: signed in, holding ``right`` (if named) and carrying the
    session's CSRF token, checked in that order."""
    if right is None:

        async def any_role(request: Request, who: SignedIn) -> Visitor:
            return await _csrf_checked(request, who)

        return any_role
    allowed = require(right)

    # a default rather than an ``Annotated`` alias: ``allowed`` is local, and string annotations are
    # resolved in the module's namespace
    async def with_right(request: Request, who: Visitor = Depends(allowed)) -> Visitor:
        return await _csrf_checked(request, who)

    return with_right


Reader = Annotated[Visitor, Depends(require("read"))]
Auditor = Annotated[Visitor, Depends(require("audit"))]
Acting = Annotated[Visitor, Depends(posted("act"))]
Posted = Annotated[Visitor, Depends(posted())]
