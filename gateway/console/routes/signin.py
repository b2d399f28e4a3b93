"""Signing in with an API token, and out.

The token is read from the form, hashed, and forgotten: the session cookie carries its SHA-256 only
(``gateway.console.session``). Each sign-in, failed sign-in and sign-out is audited; a failure is
recorded without the text that was typed. Failures are counted per client address
(``gateway.console.throttle``): past the limit, attempts are refused unchecked for a while. Signing
out records the session's id (``console_signouts``), so the cookie is refused from then on, a copy
of it too, until it would have expired anyway.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from sqlalchemy import delete

from gateway.api.deps import principal_for
from gateway.audit import log as audit
from gateway.config import Settings
from gateway.console.auth import Posted, Visitor, codec, runtime, subject
from gateway.console.pages import cookie_path, end_session, login_cookie, redirect, render
from gateway.console.session import LOGIN_COOKIE
from gateway.console.throttle import SignInThrottle
from gateway.db.models import ConsoleSignout
from gateway.db.session import session_scope

router = APIRouter()

# Where to go after signing in: a console path, nothing that could leave the console.
_NEXT = re.compile(r"/[A-Za-z0-9_./-]{0,200}")


def safe_next(value: str) -> str:
    return value if _NEXT.fullmatch(value) and not value.startswith("//") and ".." not in value else "/"


def _form(
    request: Request, *, next_page: str, error: str | None = None, ended: bool = False, status: int = 200
) -> Response:
    sessions = codec(request)
    nonce = sessions.login_nonce()
    context = {"csrf": sessions.login_csrf(nonce), "next_page": safe_next(next_page), "error": error, "ended": ended}
    return login_cookie(request, render(request, "login.html", None, context, status_code=status), nonce)


@router.get("/login")
def login_form(request: Request, next: str = "/", ended: bool = False) -> Response:
    return _form(request, next_page=next, ended=ended)


@router.post("/login")
def login(
    request: Request,
    token: Annotated[str, Form(max_length=512)] = "",
    csrf: Annotated[str, Form(max_length=128)] = "",
    next: Annotated[str, Form(max_length=256)] = "/",
) -> Response:
    sessions, rt = codec(request), runtime(request)
    settings: Settings = request.app.state.settings
    throttle: SignInThrottle = request.app.state.throttle
    address = request.client.host if request.client else "unknown"
    if throttle.blocked(address):
        error = "Too many failed sign-ins from this address. Please wait a few minutes."
        return _form(request, next_page=next, error=error, status=429)
    session = sessions.start(token.strip())
    principal = None
    if not sessions.login_csrf_valid(request.cookies.get(LOGIN_COOKIE, ""), csrf):
        reason, error, status = "csrf", "The sign-in form had expired. Please try again.", 403
    else:
        reason, error, status = "unknown token", "That token is not recognised.", 401
        if token.strip():
            principal = principal_for(settings.api_tokens, session.fingerprint, channel="console")
    with session_scope(rt.engine) as db:
        if principal is None:
            audit.append(
                db,
                actor="console:anonymous",
                action="console.signin_failed",
                subject=subject(request),
                detail={"reason": reason},
            )
            if throttle.failed(address):  # this failure blocks the address: on record once
                detail = {"failures": throttle.max_failures, "window_seconds": int(throttle.window)}
                audit.append(
                    db,
                    actor="console:anonymous",
                    action="console.signin_throttled",
                    subject=subject(request),
                    detail=detail,
                )
        else:
            throttle.succeeded(address)
            audit.append(
                db, actor=principal.actor, action="console.signin", subject="console", detail={"role": principal.role}
            )
    if principal is None:
        return _form(request, next_page=next, error=error, status=status)
    response = redirect(request, safe_next(next), Visitor(principal, session, sessions.csrf_token(session)))
    response.delete_cookie(LOGIN_COOKIE, path=cookie_path(request), httponly=True, samesite="strict")
    return response


@router.post("/logout")
def logout(request: Request, who: Posted) -> Response:
    sessions = codec(request)
    now = datetime.now(UTC)
    expires = datetime.fromtimestamp(who.session.issued_at + sessions.absolute, UTC)
    with session_scope(runtime(request).engine) as db:
        db.execute(delete(ConsoleSignout).where(ConsoleSignout.expires_at < now))  # could not be used any more
        db.merge(ConsoleSignout(sid=who.session.sid, expires_at=expires))
        audit.append(db, actor=who.principal.actor, action="console.signout", subject="console", detail={})
    return end_session(request, redirect(request, "/login"))
