"""Gateway errors, grouped by what the caller does next (design.md §6).

::

    GatewayError                      every error the gateway raises on purpose; has a stable ``code``
      TransportError                  moving bytes to or from a partner failed
        RetriableTransportError       the partner may answer later: retry with backoff, then dead-letter
        PermanentTransportError       retrying cannot help (auth, 4xx, missing path): dead-letter now
      EnvelopeError                   signature or decryption failed: never retried; quarantine + alert
      AccessDenied                    a caller lacks the right (audited)
      ConfigError                     the gateway or a partner is misconfigured: an operator must act
        KeyStoreError                 (gateway.security.keystore) keys missing, damaged or unsafe
      FieldCryptoError                (gateway.security.fieldcrypt) a stored field does not decrypt

Retry policies test the *class* (``retry_if_exception_type(RetriableTransportError)``); exchange
logs and quarantine rows store ``code``. Messages never contain personal data or secrets: they
name partners, files, hosts and codes only.
"""

from __future__ import annotations


class GatewayError(Exception):
    """Root of the gateway's errors. ``code`` is a short stable identifier for logs and the DB."""

    code: str = "GATEWAY_ERROR"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class TransportError(GatewayError):
    """A transfer to or from a partner failed. Use one of the two subclasses."""

    code = "TRANSPORT_ERROR"


class RetriableTransportError(TransportError):
    """Transient: network down, timeout, connection refused, 5xx, disk full. Retry with backoff."""

    code = "TRANSPORT_RETRIABLE"


class PermanentTransportError(TransportError):
    """Retrying will not help: authentication refused, 4xx, permission denied, path missing,
    name conflict. The exchange goes straight to the dead-letter state."""

    code = "TRANSPORT_PERMANENT"


class EnvelopeError(GatewayError):
    """A signature does not verify, or a file cannot be decrypted. Never retried: the file is
    quarantined and an alert raised."""

    code = "ENVELOPE_ERROR"


class AccessDenied(GatewayError):
    """The caller may not do this. Raisers audit the refusal."""

    code = "ACCESS_DENIED"


class ConfigError(GatewayError):
    """Configuration is invalid or incomplete (partners file, key store, settings)."""

    code = "CONFIG_ERROR"


__all__ = [
    "AccessDenied",
    "ConfigError",
    "EnvelopeError",
    "GatewayError",
    "PermanentTransportError",
    "RetriableTransportError",
    "TransportError",
]
