"""Console sessions: a signed cookie that names the token by its SHA-256 fingerprint, never the token.

Cookie value: ``base64url(payload) "." base64url(HMAC-SHA256(key, "session\\0" + payload))``, the
payload being JSON ``{"fp": <SHA-256 hex of the token>, "sid": <random id>, "iat": <signed in>,
"seen": <last request>}`` (seconds). The key is ``KeyStore.derived_key("console-session")``: every
instance sharing the key store accepts every other's cookies, and a restart signs nobody out.

A session ends when:

- it was idle for ``IDLE_SECONDS`` (30 minutes: NIST SP 800-63B AAL2's inactivity limit, for people
  who read personal data),
- it is ``ABSOLUTE_SECONDS`` old (8 hours, a working day; AAL2 allows 12), whatever its activity,
- its token leaves ``api_tokens`` (checked on every request by the caller), or
- the person signs out: the browser drops the cookie, and the session's id is recorded
  (``console_signouts``, checked on every request by the caller), so a copy taken before is refused
  too.

Revoking the token is how every session of it is ended at once.

CSRF: every state-changing form carries ``csrf_token(sid)``, an HMAC of the session's random id, so a
token is good only with the session it was issued to. The sign-in form, before any session, pairs a
random nonce in a short-lived cookie with the HMAC of that nonce in the form (``login_csrf``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

IDLE_SECONDS = 30 * 60
ABSOLUTE_SECONDS = 8 * 60 * 60
COOKIE = "csgate_console"
LOGIN_COOKIE = "csgate_console_login"
LOGIN_COOKIE_SECONDS = 60 * 60  # how long a sign-in form stays good


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True, slots=True)
class Session:
    """A verified session: whose token (fingerprint), which session (``sid``), since when, last seen."""

    fingerprint: str
    sid: str
    issued_at: int
    seen_at: int


class Expired(Exception):
    """The session was idle too long or is past its absolute limit: sign in again."""


class Forged(Exception):
    """The cookie was not made by this gateway (bad signature or shape)."""


class SessionCodec:
    """Makes and checks session cookies and CSRF tokens under one key, with an injected clock."""

    def __init__(
        self,
        key: bytes,
        *,
        clock: Callable[[], float],
        idle: int = IDLE_SECONDS,
        absolute: int = ABSOLUTE_SECONDS,
    ) -> None:
        self._key = key
        self.clock = clock
        self.idle = idle
        self.absolute = absolute

    def __repr__(self) -> str:  # never the key
        return f"SessionCodec(idle={self.idle}, absolute={self.absolute})"

    def _mac(self, domain: bytes, data: bytes) -> bytes:
        return hmac.new(self._key, domain + b"\x00" + data, hashlib.sha256).digest()

    def now(self) -> int:
        return int(self.clock())

    def start(self, token: str) -> Session:
        """A new session for ``token`` (kept only as its SHA-256)."""
        now = self.now()
        return Session(hashlib.sha256(token.encode()).hexdigest(), _b64(secrets.token_bytes(16)), now, now)

    def touched(self, session: Session) -> Session:
        """The same session, seen now (what the refreshed cookie carries)."""
        return Session(session.fingerprint, session.sid, session.issued_at, self.now())

    def encode(self, session: Session) -> str:
        payload = _b64(
            orjson.dumps(
                {"fp": session.fingerprint, "sid": session.sid, "iat": session.issued_at, "seen": session.seen_at}
            )
        )
        return f"{payload}.{_b64(self._mac(b'session', payload.encode()))}"

    def decode(self, value: str) -> Session:
        """The session in a cookie; ``Forged`` if this gateway did not sign it, ``Expired`` if it is over."""
        payload, _, mac = value.partition(".")
        try:
            good = hmac.compare_digest(_unb64(mac), self._mac(b"session", payload.encode()))
        except (binascii.Error, ValueError):
            good = False
        if not good:
            raise Forged("bad signature")
        data: dict[str, Any] = orjson.loads(_unb64(payload))
        try:
            session = Session(str(data["fp"]), str(data["sid"]), int(data["iat"]), int(data["seen"]))
        except (KeyError, TypeError, ValueError):
            raise Forged("bad payload") from None
        now = self.now()
        if now - session.seen_at >= self.idle or now - session.issued_at >= self.absolute:
            raise Expired("session over")
        return session

    def max_age(self, session: Session) -> int:
        """Seconds the browser should keep the cookie: until the earlier of the two limits."""
        return max(0, min(self.idle, session.issued_at + self.absolute - self.now()))

    def csrf_token(self, session: Session) -> str:
        return _b64(self._mac(b"csrf", session.sid.encode()))

    def csrf_valid(self, session: Session, token: str) -> bool:
        return hmac.compare_digest(token.encode(), self.csrf_token(session).encode())

    def login_nonce(self) -> str:
        return _b64(secrets.token_bytes(16))

    def login_csrf(self, nonce: str) -> str:
        return _b64(self._mac(b"login", nonce.encode()))

    def login_csrf_valid(self, nonce: str, token: str) -> bool:
        return bool(nonce) and hmac.compare_digest(token.encode(), self.login_csrf(nonce).encode())
