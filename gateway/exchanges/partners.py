"""Exchange profiles from the partner registry (``gateway.partners``): the configured transport
folders and credentials, the CMS envelope with the partner's pinned certificate, the
acknowledgment rule and the schedule."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from pathlib import Path

from cryptography import x509
from sqlalchemy import Engine

from gateway.db.session import session_scope
from gateway.exchanges.profile import AckRule, ExchangeProfile, Side, no_envelope
from gateway.exchanges.retry import RetryPolicy
from gateway.partners.registry import enabled_partners, get_partner
from gateway.partners.schema import PartnerConfig
from gateway.security import envelope
from gateway.transports import Transport, open_transport


def profile_for(config: PartnerConfig, *, key_dir: Path, retry: RetryPolicy | None = None) -> ExchangeProfile:
    """The exchange profile of one configured partner."""
    transport = config.transport
    credentials = transport.credentials(key_dir)

    def opener(side: Side) -> Transport:
        return open_transport(transport.url_for(side), credentials)

    unwrap, wrap = _envelope(config, key_dir)
    ack = config.ack
    return ExchangeProfile(
        partner_id=config.id,
        open_transport=opener,
        inbound_formats=tuple(config.formats.inbound),
        outbound_format=config.formats.outbound[0] if config.formats.outbound else None,
        ack=AckRule(ack.format, lambda sent_at: ack.deadline(sent_at, config.timezone)) if ack else None,
        after_intake=transport.done_dir,
        structure_policy=config.on_structure_error,
        unwrap=unwrap,
        wrap=wrap,
        retry=retry or RetryPolicy(),
        schedule=config.trigger(),
    )


def _envelope(config: PartnerConfig, key_dir: Path) -> tuple[Callable[[bytes], bytes], Callable[[bytes], bytes]]:
    """verify+decrypt / sign+encrypt with the partner's pinned certificate; identity without envelope.

    Keys are read when a file is handled, not here, so a rotation takes effect without a restart
    and a profile can be built on a machine that holds no private keys.
    """
    if not config.keys.envelope or config.keys.certificate is None:
        return no_envelope, no_envelope
    certificate_path = Path(config.keys.certificate)
    store = envelope.IdentityStore(key_dir)
    our_key_id = config.keys.our_key_id

    @cache
    def partner_certificate() -> x509.Certificate:
        return envelope.load_certificate(certificate_path)

    def unwrap(data: bytes) -> bytes:
        return envelope.unseal(data, identities=store.identities(), sender=partner_certificate())

    def wrap(data: bytes) -> bytes:
        return envelope.seal(data, signer=store.identity(our_key_id), recipient=partner_certificate())

    return unwrap, wrap


def load_profiles(engine: Engine, *, key_dir: Path, retry: RetryPolicy | None = None) -> dict[str, ExchangeProfile]:
    """Profiles of every enabled partner, as last loaded into the database (``csgate partners load``)."""
    with session_scope(engine) as session:
        configs = enabled_partners(session)
    return {c.id: profile_for(c, key_dir=key_dir, retry=retry) for c in configs}


def load_profile(
    engine: Engine, partner_id: str, *, key_dir: Path, retry: RetryPolicy | None = None
) -> ExchangeProfile:
    with session_scope(engine) as session:
        config = get_partner(session, partner_id)
    return profile_for(config, key_dir=key_dir, retry=retry)
