"""What the exchange machinery needs to know about one partner, in one object.

``ExchangeProfile`` is built from the partner registry (``gateway.exchanges.partners``) and read by
intake, outbound, the jobs and the scheduler; tests build one directly around a memory transport.
The envelope and transport are behind plain callables, so this package depends on what they do,
not on how they are configured.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from apscheduler.triggers.base import BaseTrigger

from gateway.exchanges.retry import RetryPolicy
from gateway.transports.base import Transport

StructurePolicy = Literal["quarantine", "accept_partial"]
Side = Literal["inbound", "outbound"]  # which of the partner's folders: theirs to us, ours to them


def no_envelope(data: bytes) -> bytes:
    """``unwrap``/``wrap`` of a partner without envelopes: the file as it is."""
    return data


@dataclass(frozen=True, slots=True)
class AckRule:
    """The acknowledgment a partner returns for our outbound files: its format (an adapter key;
    ``receipt`` for the generic one) and ``due(sent_at)``, when it becomes overdue (hours, or business days in the
    partner's time zone)."""

    format: str
    due: Callable[[datetime], datetime]

    @classmethod
    def within(cls, format: str, deadline: timedelta) -> AckRule:
        return cls(format, lambda sent_at: sent_at + deadline)


@dataclass(frozen=True, slots=True)
class ExchangeProfile:
    """One partner as the exchange code sees it.

    - ``inbound_formats``: adapter keys accepted from the partner (its data files and its
      acknowledgments), tried in order by ``detect``;
    - ``structure_policy``: what a file-level failure (counts, totals, truncation) does to the
      file's good records: ``quarantine`` the whole file (default) or ``accept_partial``;
    - ``after_intake``: sub-folder a processed file is moved to at the partner, or None to delete it;
    - ``unwrap``/``wrap``: verify+decrypt / sign+encrypt (raise ``EnvelopeError``); ``no_envelope``
      for a partner without envelopes;
    - ``open_transport(side)``: a new transport on the partner's inbound or outbound folder, per
      job run (transports are not thread-safe);
    - ``schedule``: the APScheduler trigger of the partner's job (None: on demand only).
    """

    partner_id: str
    open_transport: Callable[[Side], Transport]
    inbound_formats: tuple[str, ...] = ()
    outbound_format: str | None = None
    ack: AckRule | None = None
    structure_policy: StructurePolicy = "quarantine"
    after_intake: str | None = "processed"
    unwrap: Callable[[bytes], bytes] = no_envelope
    wrap: Callable[[bytes], bytes] = no_envelope
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    schedule: BaseTrigger | None = None
    outbound_suffix: str = ".dat"

    @property
    def has_envelope(self) -> bool:
        """Whether inbound files must be unwrapped, which takes the whole message into memory."""
        return self.unwrap is not no_envelope
