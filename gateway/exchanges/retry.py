"""Retrying transport calls (design.md §5 "Retries"): tenacity, exponential backoff with full
jitter, for ``RetriableTransportError`` only. Anything else — a permanent transport error, an
envelope failure, a bug — propagates at once: retrying cannot fix it and would only delay the
dead letter or the quarantine.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_random_exponential,
)

from gateway.errors import RetriableTransportError
from gateway.observability import METRICS

T = TypeVar("T")
log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """``attempts`` calls in all; the n-th wait is uniform in [0, min(maximum, initial * 2**n)]."""

    attempts: int = 5
    initial: float = 1.0
    maximum: float = 60.0


def call(policy: RetryPolicy, fn: Callable[[], T], *, partner: str, operation: str) -> T:
    """``fn()``, retried per ``policy`` while it raises ``RetriableTransportError``; the last such
    error is re-raised when the attempts run out."""

    def before_sleep(state: RetryCallState) -> None:
        METRICS.transport_retries.labels(partner).inc()
        exc = state.outcome.exception() if state.outcome else None
        log.warning(
            "transport retry",
            extra={
                "partner": partner,
                "operation": operation,
                "attempt": state.attempt_number,
                "code": getattr(exc, "code", None),
                "wait_s": round(state.next_action.sleep, 3) if state.next_action else None,
            },
        )

    retrying = Retrying(
        stop=stop_after_attempt(policy.attempts),
        wait=wait_random_exponential(multiplier=policy.initial, max=policy.maximum),
        retry=retry_if_exception_type(RetriableTransportError),
        before_sleep=before_sleep,
        reraise=True,
    )
    return retrying(fn)
