"""Natural keys of staged records: what identifies a record across files, so a record that
arrives again (a file re-sent with a new creation time, hence a new digest) is not staged twice.

A key is ``<adapter key>:<record type>:<identity>`` and must not contain personal data in clear:
where the identity needs an SSN it uses the HMAC blind index, never the digits. Records without a
natural key (file headers, controls, records whose format carries no identity) get None and are
identified by (exchange, record number) alone — UNIQUE(exchange_id, record_no) — which is enough
for resuming a file but not for spotting the same record in another file.

Keys per format:

- ``nacha-ded`` entries with a DED addenda (canonical ``Payment``): originator (batch header
  company identification), effective entry date, trace number (NACHA: unique per entry within a
  file), amount in cents and the SSN blind index. Trace numbers alone repeat across files (the
  sequence restarts per file at many originators), so amount and SSN are part of the identity.
"""

from __future__ import annotations

from collections.abc import Callable

from adapters.base import Parsed
from adapters.canonical import Payment
from gateway.security.fieldcrypt import BlindIndex

MAX_KEY = 128  # staged_records.natural_key
KeyFunction = Callable[[Parsed, BlindIndex], str | None]


def _nacha_ded(parsed: Parsed, bidx: BlindIndex) -> str | None:
    payment = parsed.canonical
    if parsed.type != "entry" or not isinstance(payment, Payment):
        return None
    if not (payment.company_identification and payment.effective_date and payment.trace_number):
        return None
    ssn = bidx.ssn(str(payment.ssn)).hex()[:24]
    return (
        f"nacha-ded:payment:{payment.company_identification.strip()}:{payment.effective_date.isoformat()}"
        f":{payment.trace_number}:{payment.amount}:{ssn}"
    )


KEY_FUNCTIONS: dict[str, KeyFunction] = {"nacha-ded": _nacha_ded}


def natural_key(adapter_key: str, parsed: Parsed, bidx: BlindIndex) -> str | None:
    """The record's natural key, or None when its format gives it none."""
    fn = KEY_FUNCTIONS.get(adapter_key)
    key = fn(parsed, bidx) if fn else None
    if key is not None and len(key) > MAX_KEY:
        raise ValueError(f"natural key for {adapter_key}/{parsed.type} longer than {MAX_KEY}")
    return key
