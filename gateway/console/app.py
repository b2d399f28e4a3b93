"""``create_console()``: the web console as its own FastAPI application, mounted by
``gateway.api.app.create_app`` under ``/console``.

A separate application so that its answers stay HTML (a refusal is a 403 page, a missing session a
redirect to the sign-in form) while the API's stay JSON, and so that its security headers apply to it
alone. It shares the API's settings, runtime and audit signer, and calls the same service functions.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException

from gateway.audit.signing import CheckpointSigner
from gateway.config import Settings
from gateway.console.auth import SignInRequired
from gateway.console.pages import end_session, href, render
from gateway.console.routes import audit, cases, exchanges, quarantine, signin
from gateway.console.session import SessionCodec
from gateway.console.throttle import SignInThrottle
from gateway.errors import AccessDenied
from gateway.exchanges.runtime import Runtime
from gateway.security.keystore import KeyStore

SESSION_KEY_PURPOSE = "console-session"

# No script at all, styles only from here, forms only back here, never framed: the console works
# without JavaScript, so a policy this strict costs nothing.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


def create_console(
    settings: Settings,
    *,
    runtime: Runtime,
    signer: CheckpointSigner | None = None,
    clock: Callable[[], float] = time.time,
) -> FastAPI:
    """The console for ``settings.api_tokens``' holders; session cookies are signed with a key derived
    from ``runtime.key_dir``'s key store (see ``gateway.console.session``)."""
    app = FastAPI(title="csgate console", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.settings = settings
    app.state.runtime = runtime
    app.state.signer = signer
    app.state.codec = SessionCodec(KeyStore(runtime.key_dir).derived_key(SESSION_KEY_PURPOSE), clock=clock)
    app.state.throttle = SignInThrottle(clock=clock)
    app.mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static")
    for module in (signin, exchanges, quarantine, audit, cases):
        app.include_router(module.router)
    app.add_exception_handler(SignInRequired, _sign_in)
    app.add_exception_handler(AccessDenied, _forbidden)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _bad_request)
    app.middleware("http")(_headers)
    return app


async def _headers(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
    response = await call_next(request)
    response.headers.update(SECURITY_HEADERS)
    if not request.url.path.startswith(href(request, "/static/")):
        response.headers["Cache-Control"] = "no-store"  # pages may hold a case's findings
    return response


async def _sign_in(request: Request, exc: Exception) -> Response:
    """Back to the sign-in form, remembering the page asked for (a GET's path only, never a form)."""
    query: dict[str, str] = {}
    if request.method == "GET":
        query["next"] = request.url.path.removeprefix(request.scope.get("root_path", "")) or "/"
    if isinstance(exc, SignInRequired) and exc.ended:
        query["ended"] = "1"
    response = Response(status_code=303, headers={"Location": href(request, "/login") + _query(query)})
    return end_session(request, response)


def _query(params: dict[str, str]) -> str:
    return f"?{urlencode(params)}" if params else ""


async def _forbidden(request: Request, exc: Exception) -> Response:
    """``AccessDenied``, already audited where it was raised, as a 403 page with its reason."""
    message = getattr(exc, "message", "forbidden")
    return render(request, "error.html", None, {"status": 403, "message": message}, status_code=403)


async def _http_error(request: Request, exc: Exception) -> Response:
    status = getattr(exc, "status_code", 500)
    message = str(getattr(exc, "detail", "error"))
    return render(request, "error.html", None, {"status": status, "message": message}, status_code=status)


async def _bad_request(request: Request, exc: Exception) -> Response:
    """A malformed id or filter: which parameter, never the value given."""
    errors: Sequence[Any] = exc.errors() if isinstance(exc, RequestValidationError) else ()
    names = sorted({str(e.get("loc", ("", "?"))[-1]) for e in errors}) or ["request"]
    message = f"not understood: {', '.join(names)}"
    return render(request, "error.html", None, {"status": 422, "message": message}, status_code=422)
