"""Rendering: Jinja2 templates shipped in the package (``templates/``), autoescaped, strict about
undefined names, and every response to a signed-in visitor carrying the refreshed session cookie
(which is what makes the idle limit an idle limit).

Links are built from the mount point (``href``), so the console works wherever it is mounted.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, StrictUndefined

from gateway.cases.disclosure import list_refusal
from gateway.console.auth import Visitor, codec, requester
from gateway.console.session import COOKIE, LOGIN_COOKIE, LOGIN_COOKIE_SECONDS

ENV = Environment(
    loader=PackageLoader("gateway.console", "templates"),
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def href(request: Request, path: str) -> str:
    """``path`` (``/exchanges``) under the console's mount point (``/console/exchanges``)."""
    return f"{request.scope.get('root_path', '')}{path}"


def cookie_path(request: Request) -> str:
    return request.scope.get("root_path") or "/"


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


def keep_session(request: Request, response: Response, who: Visitor) -> Response:
    """Give the browser the session as of this request (its idle clock restarts)."""
    sessions = codec(request)
    response.set_cookie(
        COOKIE,
        sessions.encode(who.session),
        max_age=sessions.max_age(who.session),
        path=cookie_path(request),
        secure=_secure(request),
        httponly=True,
        samesite="strict",
    )
    return response


def end_session(request: Request, response: Response) -> Response:
    response.delete_cookie(COOKIE, path=cookie_path(request), secure=_secure(request), httponly=True, samesite="strict")
    return response


def login_cookie(request: Request, response: Response, nonce: str) -> Response:
    response.set_cookie(
        LOGIN_COOKIE,
        nonce,
        max_age=LOGIN_COOKIE_SECONDS,
        path=cookie_path(request),
        secure=_secure(request),
        httponly=True,
        samesite="strict",
    )
    return response


def render(
    request: Request,
    template: str,
    who: Visitor | None,
    context: Mapping[str, Any] | None = None,
    *,
    status_code: int = 200,
) -> Response:
    """The page ``template`` for ``who`` (None: signed out), with the navigation their role allows."""
    html = ENV.get_template(template).render(
        {
            "who": who,
            "href": lambda path: href(request, path),
            "nav": navigation(who),
            "here": request.url.path.removeprefix(request.scope.get("root_path", "")) or "/",
            **(context or {}),
        }
    )
    response = HTMLResponse(html, status_code=status_code)
    return keep_session(request, response, who) if who is not None else response


def redirect(request: Request, path: str, who: Visitor | None = None) -> Response:
    """See-other to ``path`` under the mount point (after a form: the browser then GETs it)."""
    response = RedirectResponse(href(request, path), status_code=303)
    return keep_session(request, response, who) if who is not None else response


def navigation(who: Visitor | None) -> list[tuple[str, str]]:
    """(path, label) of the pages ``who``'s role may open."""
    if who is None:
        return []
    principal = who.principal
    items: list[tuple[str, str]] = []
    if principal.may("read"):
        items += [
            ("/", "Overview"),
            ("/exchanges", "Exchanges"),
            ("/dead-letters", "Dead letters"),
            ("/quarantine", "Quarantine"),
            ("/work", "Work queue"),
            ("/alerts", "Alerts"),
            ("/withholding", "Withholding"),
        ]
    if principal.may("audit"):
        items.append(("/audit", "Audit log"))
    if list_refusal(requester(who)) is None:
        items.append(("/cases", "Cases"))
    return items
