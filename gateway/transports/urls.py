"""Transport URLs: which schemes exist and what each must contain.

===========================================  =============================================
``file:///srv/exchange/acme``                a local or mounted folder (absolute path)
``sftp://user@host[:port]/path``             SFTP, key authentication; ``/~/path`` is under
                                             the login's home directory
``https://host[:port]/path``                 the csgate-exchange/1 protocol over mutual TLS
                                             (see ``gateway.transports.https``)
``memory://name[/folder]``                   the in-process test double
===========================================  =============================================

A URL never carries a secret: a password in it is refused, credentials are referenced by name
(see ``Credentials``). Plain ``http``/``ftp`` are refused: partner files hold personal data.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote, unquote, urlsplit

from gateway.errors import ConfigError

SCHEMES = ("file", "sftp", "https", "memory")
_PASSWORD = re.compile(r"(//[^/@:]*:)[^/@]*@")  # "//user:secret@" → "//user:***@" in messages
DEFAULT_PORTS = {"sftp": 22, "https": 443}


@dataclass(frozen=True, slots=True)
class TransportURL:
    """A checked transport URL. ``path`` is decoded; for ``memory`` ``host`` is the store name."""

    scheme: str
    host: str
    port: int | None
    user: str | None
    path: str

    def __str__(self) -> str:
        netloc = f"{self.user}@" if self.user else ""
        netloc += f"[{self.host}]" if ":" in self.host else self.host
        if self.port is not None:
            netloc += f":{self.port}"
        path = self.path if not self.path or self.path.startswith("/") else f"/{self.path}"
        return f"{self.scheme}://{netloc}{quote(path)}"


def parse_url(url: str) -> TransportURL:
    """Check ``url`` and split it; a ``ConfigError`` (code ``BAD_URL``) says what is wrong."""

    def bad(why: str) -> ConfigError:
        shown = _PASSWORD.sub(r"\1***@", url)
        return ConfigError(f"transport URL {shown!r}: {why}", code="BAD_URL")

    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise bad(str(exc)) from None
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise bad(f"scheme must be one of {', '.join(SCHEMES)}")
    if parts.password is not None:
        raise bad("a password must not be in the URL; reference a credential instead")
    if parts.query or parts.fragment:
        raise bad("no query or fragment allowed")
    host = parts.hostname or ""
    path = unquote(parts.path)
    if "\x00" in path or any(p == ".." for p in path.split("/")):
        raise bad("'..' and NUL are not allowed in the path")
    if scheme == "file":
        if host not in ("", "localhost") or parts.username or port is not None:
            raise bad("file URLs name a local path: file:///absolute/path")
        if not path.startswith("/"):
            raise bad("the path must be absolute")
        return TransportURL(scheme, "", None, None, path)
    if not host:
        raise bad("a host (or, for memory, a store name) is required")
    if scheme == "memory":
        if parts.username or port is not None:
            raise bad("memory URLs are memory://name[/folder]")
        return TransportURL(scheme, host, None, None, path.strip("/"))
    if scheme == "sftp" and not parts.username:
        raise bad("the login name is required: sftp://user@host/path")
    if scheme == "https" and parts.username:
        raise bad("https authenticates with a client certificate, not a user name")
    return TransportURL(scheme, host, port or DEFAULT_PORTS[scheme], parts.username, path or "/")


def join_url(url: str, folder: str) -> str:
    """``url`` with the relative ``folder`` appended (``"."`` or ``""`` leave it unchanged)."""
    folder = folder.strip("/")
    if folder in ("", "."):
        return url
    return f"{url.rstrip('/')}/{quote(folder)}"
