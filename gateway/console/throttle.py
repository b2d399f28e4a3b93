"""Failed sign-ins, counted per client address, so that nobody can try tokens (or fill the audit log
with failures) without limit.

After ``MAX_FAILURES`` failures from one address within ``WINDOW_SECONDS`` that address is refused
without its attempt being checked, until its oldest counted failure is older than the window. The
moment an address is blocked is audited once (``console.signin_throttled``); the attempts refused
while it is blocked are not, which is what keeps the audit log from being flooded. A successful
sign-in clears the address's failures. Tokens are 256-bit random, so this is not what keeps them
secret; it keeps the door quiet.

The count is per process: behind a load balancer each instance counts its own, which multiplies the
limit by the number of instances and still bounds it. The client address is what the server sees,
or what a trusted proxy reports (``uvicorn --forwarded-allow-ips``).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable

MAX_FAILURES = 10
WINDOW_SECONDS = 15 * 60
MAX_ADDRESSES = 10_000  # addresses remembered at once; the oldest are forgotten first


class SignInThrottle:
    """Failures per address in a sliding window, with an injected clock."""

    def __init__(
        self, *, clock: Callable[[], float], max_failures: int = MAX_FAILURES, window: float = WINDOW_SECONDS
    ) -> None:
        self.clock = clock
        self.max_failures = max_failures
        self.window = window
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()  # sign-ins are handled in a thread pool

    def blocked(self, address: str) -> bool:
        """Whether ``address`` has used up its failures within the window."""
        with self._lock:
            return len(self._recent(address)) >= self.max_failures

    def failed(self, address: str) -> bool:
        """Count one failure; True when this one blocks the address (the moment to audit)."""
        with self._lock:
            recent = self._recent(address)
            recent.append(self.clock())
            self._failures[address] = recent
            if len(self._failures) > MAX_ADDRESSES:
                del self._failures[next(iter(self._failures))]
            return len(recent) == self.max_failures

    def succeeded(self, address: str) -> None:
        with self._lock:
            self._failures.pop(address, None)

    def _recent(self, address: str) -> deque[float]:
        times = self._failures.get(address, deque())
        horizon = self.clock() - self.window
        while times and times[0] <= horizon:
            times.popleft()
        return times
