"""A partner connection for a sequence of transport calls, each retried per the partner's policy."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from gateway.errors import RetriableTransportError
from gateway.exchanges import retry
from gateway.exchanges.profile import ExchangeProfile, Side
from gateway.transports.base import Transport

T = TypeVar("T")


class Connection:
    """One partner connection reused across calls, reopened after a retriable failure."""

    def __init__(self, profile: ExchangeProfile, side: Side) -> None:
        self.profile, self.side = profile, side
        self._transport: Transport | None = None

    def call(self, operation: str, fn: Callable[[Transport], T]) -> T:
        def attempt() -> T:
            if self._transport is None:
                self._transport = self.profile.open_transport(self.side)
            try:
                return fn(self._transport)
            except RetriableTransportError:
                self.close()  # the connection may be what broke
                raise

        return retry.call(self.profile.retry, attempt, partner=self.profile.partner_id, operation=operation)

    def close(self) -> None:
        if self._transport is not None:
            transport, self._transport = self._transport, None
            transport.close()

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
