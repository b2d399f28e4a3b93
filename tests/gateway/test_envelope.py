"""CMS envelopes: round trips, interoperability with the openssl CLI in both directions, and every
way an inbound envelope can be wrong (each an ``EnvelopeError`` with its code, never anything else).

The partner is played with the TEST-ONLY keys in ``fixtures/keys``; our identities are generated
per test module. All payloads are synthetic."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs7
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.errors import EnvelopeError
from gateway.security.envelope import (
    EnvelopeIdentity,
    IdentityStore,
    decrypt,
    encrypt,
    load_certificate,
    seal,
    self_signed_certificate,
    sign,
    unseal,
    verify,
)
from gateway.security.keystore import KeyStoreError

KEYS = Path(__file__).resolve().parents[2] / "fixtures" / "keys"
PAYLOAD = b"FHDR synthetic e-IWO batch\r\nline two\n\x00\xff binary tail"  # CR, LF, NUL survive as is
OPENSSL = shutil.which("openssl")
needs_openssl = pytest.mark.skipif(OPENSSL is None, reason="the openssl CLI is not installed")


@cache
def _partner(name: str = "acme-payroll") -> EnvelopeIdentity:
    """A fixture partner as an identity, so tests can act as that partner."""
    key = serialization.load_pem_private_key((KEYS / f"TEST-ONLY-{name}.key").read_bytes(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    return EnvelopeIdentity(0, load_certificate(KEYS / f"TEST-ONLY-{name}.crt"), key)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> IdentityStore:
    store = IdentityStore(tmp_path_factory.mktemp("keys"), rsa_bits=2048)
    store.ensure("csgate test agency")
    return store


@pytest.fixture(scope="module")
def ours(store: IdentityStore) -> EnvelopeIdentity:
    return store.identity()


def _openssl(*args: str | Path, stdin: bytes | None = None) -> bytes:
    assert OPENSSL is not None
    done = subprocess.run([OPENSSL, *map(str, args)], input=stdin, capture_output=True, timeout=30, check=False)
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    return done.stdout


def test_round_trip(ours: EnvelopeIdentity) -> None:
    partner = _partner()
    sealed = seal(PAYLOAD, signer=ours, recipient=partner.certificate)
    assert PAYLOAD not in sealed
    # the partner opens what we sent ...
    assert unseal(sealed, identities=[partner], sender=ours.certificate) == PAYLOAD
    # ... and we open what the partner sends
    reply = seal(b"ACK", signer=partner, recipient=ours.certificate)
    assert unseal(reply, identities=[ours], sender=partner.certificate) == b"ACK"


@needs_openssl
def test_partner_opens_our_envelope_with_openssl(ours: EnvelopeIdentity, tmp_path: Path) -> None:
    (tmp_path / "file.p7m").write_bytes(seal(PAYLOAD, signer=ours, recipient=_partner().certificate))
    (tmp_path / "csgate.crt").write_bytes(ours.certificate.public_bytes(serialization.Encoding.PEM))
    signed = _openssl(
        "cms",
        "-decrypt",
        "-inform",
        "DER",
        "-in",
        tmp_path / "file.p7m",
        "-recip",
        KEYS / "TEST-ONLY-acme-payroll.crt",
        "-inkey",
        KEYS / "TEST-ONLY-acme-payroll.key",
    )
    opened = _openssl("cms", "-verify", "-inform", "DER", "-CAfile", tmp_path / "csgate.crt", "-binary", stdin=signed)
    assert opened == PAYLOAD


@needs_openssl
@pytest.mark.parametrize(
    ("sign_args", "encrypt_args"),
    [
        (["-outform", "DER"], ["-outform", "DER"]),  # the documented form
        (["-outform", "DER", "-stream"], ["-outform", "PEM"]),  # indefinite-length signature
        (["-outform", "PEM"], []),  # S/MIME outer, PEM inner
        (["-outform", "DER", "-keyopt", "rsa_padding_mode:pss"], ["-outform", "DER"]),
        (["-outform", "DER", "-noattr"], ["-outform", "DER"]),
        (["-outform", "DER", "-md", "sha512"], ["-outform", "DER", "-aes128"]),
    ],
    ids=["der", "streamed-signature", "smime", "pss", "no-attributes", "sha512-aes128"],
)
def test_we_open_what_openssl_makes(
    store: IdentityStore, ours: EnvelopeIdentity, tmp_path: Path, sign_args: list[str], encrypt_args: list[str]
) -> None:
    (tmp_path / "csgate.crt").write_bytes(ours.certificate.public_bytes(serialization.Encoding.PEM))
    signed = _openssl(
        "cms",
        "-sign",
        "-binary",
        "-nodetach",
        "-signer",
        KEYS / "TEST-ONLY-acme-payroll.crt",
        "-inkey",
        KEYS / "TEST-ONLY-acme-payroll.key",
        *sign_args,
        stdin=PAYLOAD,
    )
    cipher = [] if "-aes128" in encrypt_args else ["-aes256"]
    sealed = _openssl("cms", "-encrypt", "-binary", *cipher, *encrypt_args, tmp_path / "csgate.crt", stdin=signed)
    assert unseal(sealed, identities=store.identities(), sender=_partner().certificate) == PAYLOAD


@needs_openssl
def test_streamed_outer_envelope_is_refused_with_a_clear_reason(ours: EnvelopeIdentity, tmp_path: Path) -> None:
    (tmp_path / "csgate.crt").write_bytes(ours.certificate.public_bytes(serialization.Encoding.PEM))
    signed = sign(PAYLOAD, _partner())
    sealed = _openssl(
        "cms", "-encrypt", "-binary", "-aes256", "-outform", "DER", "-stream", tmp_path / "csgate.crt", stdin=signed
    )
    with pytest.raises(EnvelopeError, match="without -stream") as raised:
        unseal(sealed, identities=[ours], sender=_partner().certificate)
    assert raised.value.code == "MALFORMED"


@needs_openssl
def test_sha1_signatures_are_not_accepted(ours: EnvelopeIdentity) -> None:
    signed = _openssl(
        "cms",
        "-sign",
        "-binary",
        "-nodetach",
        "-md",
        "sha1",
        "-outform",
        "DER",
        "-signer",
        KEYS / "TEST-ONLY-acme-payroll.crt",
        "-inkey",
        KEYS / "TEST-ONLY-acme-payroll.key",
        stdin=PAYLOAD,
    )
    with pytest.raises(EnvelopeError) as raised:
        verify(signed, _partner().certificate)
    assert raised.value.code == "UNSUPPORTED_ALGORITHM"


def test_file_for_someone_else_does_not_decrypt(ours: EnvelopeIdentity) -> None:
    for_tx = seal(PAYLOAD, signer=_partner(), recipient=_partner("tx-oag").certificate)
    with pytest.raises(EnvelopeError) as raised:
        unseal(for_tx, identities=[ours], sender=_partner().certificate)
    assert raised.value.code == "DECRYPT_FAILED"


def test_signature_by_anyone_but_the_pinned_partner_is_refused(ours: EnvelopeIdentity) -> None:
    impostor = seal(PAYLOAD, signer=_partner("tx-oag"), recipient=ours.certificate)  # a valid signature ...
    with pytest.raises(EnvelopeError) as raised:  # ... by the wrong partner
        unseal(impostor, identities=[ours], sender=_partner().certificate)
    assert raised.value.code == "BAD_SIGNATURE"


def _flip(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1 :]


def test_altered_content_is_caught(ours: EnvelopeIdentity) -> None:
    signed = sign(PAYLOAD, _partner())
    at = signed.index(PAYLOAD) + 5
    with pytest.raises(EnvelopeError) as raised:
        verify(_flip(signed, at), _partner().certificate)
    assert raised.value.code == "CONTENT_ALTERED"


def test_altered_signature_is_caught() -> None:
    signed = sign(PAYLOAD, _partner())
    with pytest.raises(EnvelopeError) as raised:
        verify(_flip(signed, len(signed) - 3), _partner().certificate)  # inside the signature value
    assert raised.value.code == "BAD_SIGNATURE"


def test_damaged_ciphertext_never_yields_other_content(ours: EnvelopeIdentity) -> None:
    """AES-CBC alone does not detect changes; the signature inside does. A flip that lands in
    bytes no signature covers (SignedData header, embedded certificate) may still open, but only
    ever to the very same file."""
    sealed = seal(PAYLOAD, signer=_partner(), recipient=ours.certificate)
    refused = 0
    for at in range(0, len(sealed), 7):
        try:
            assert unseal(_flip(sealed, at), identities=[ours], sender=_partner().certificate) == PAYLOAD
        except EnvelopeError:
            refused += 1
    assert refused > len(sealed) // 7 // 4  # everything the signature covers, and the key transport
    with pytest.raises(EnvelopeError):
        unseal(sealed[: len(sealed) - 100], identities=[ours], sender=_partner().certificate)


def test_encrypted_but_unsigned_is_refused(ours: EnvelopeIdentity) -> None:
    with pytest.raises(EnvelopeError) as raised:
        unseal(encrypt(PAYLOAD, ours.certificate), identities=[ours], sender=_partner().certificate)
    assert raised.value.code in ("NOT_SIGNED", "MALFORMED")


def test_detached_signature_is_refused() -> None:
    partner = _partner()
    detached = (
        pkcs7.PKCS7SignatureBuilder()
        .set_data(PAYLOAD)
        .add_signer(partner.certificate, partner.private_key, hashes.SHA256())
        .sign(serialization.Encoding.DER, [pkcs7.PKCS7Options.Binary, pkcs7.PKCS7Options.DetachedSignature])
    )
    with pytest.raises(EnvelopeError) as raised:
        verify(detached, partner.certificate)
    assert raised.value.code == "DETACHED_SIGNATURE"


def _ec_partner() -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "ec partner")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return key, cert


def test_ec_signer_is_verified() -> None:
    key, cert = _ec_partner()
    signed = (
        pkcs7.PKCS7SignatureBuilder()
        .set_data(PAYLOAD)
        .add_signer(cert, key, hashes.SHA384())
        .sign(serialization.Encoding.DER, [pkcs7.PKCS7Options.Binary])
    )
    assert verify(signed, cert) == PAYLOAD
    with pytest.raises(EnvelopeError) as raised:
        verify(signed, _partner().certificate)  # an RSA certificate cannot check an ECDSA signature
    assert raised.value.code == "UNSUPPORTED_ALGORITHM"


def test_expired_certificates_are_refused(ours: EnvelopeIdentity) -> None:
    partner = _partner()
    later = partner.certificate.not_valid_after_utc + timedelta(days=1)
    with pytest.raises(EnvelopeError) as raised:
        verify(sign(PAYLOAD, partner), partner.certificate, now=later)
    assert raised.value.code == "CERT_EXPIRED"
    with pytest.raises(EnvelopeError) as raised:
        seal(
            PAYLOAD,
            signer=ours,
            recipient=partner.certificate,
            now=ours.certificate.not_valid_after_utc + timedelta(seconds=1),
        )
    assert raised.value.code == "CERT_EXPIRED"


def test_recipient_without_rsa_key_is_refused() -> None:
    _, cert = _ec_partner()
    with pytest.raises(EnvelopeError) as raised:
        encrypt(PAYLOAD, cert)
    assert raised.value.code == "UNSUPPORTED_ALGORITHM"


@settings(max_examples=300, deadline=None)
@given(junk=st.binary(max_size=600), cut=st.integers(min_value=0, max_value=4000), flip=st.integers(0, 4000))
def test_junk_only_ever_raises_envelope_error(junk: bytes, cut: int, flip: int) -> None:
    """Damage anywhere either raises ``EnvelopeError`` or, when it hit bytes no signature covers
    (the embedded certificate), still yields exactly the signed content."""
    partner = _partner()
    signed = sign(PAYLOAD, partner)
    candidates = [
        signed[:cut],
        _flip(signed, flip % len(signed)),
        junk,
        b"\x30\x80" + junk,
        b"-----BEGIN CMS-----\n" + junk,
    ]
    for candidate in candidates:
        with contextlib.suppress(EnvelopeError):
            assert verify(candidate, partner.certificate) == PAYLOAD
    for candidate in (junk, b"MIME-Version: 1.0\n" + junk, b"-----BEGIN PKCS7-----\n" + junk):
        with pytest.raises(EnvelopeError):
            decrypt(candidate, [partner])


# ---------------------------------------------------------------------------- identity store


def test_rotation_keeps_old_identities_for_decryption(tmp_path: Path) -> None:
    store = IdentityStore(tmp_path / "keys", rsa_bits=2048)
    first = store.ensure("agency")
    assert first is not None and store.ensure("agency") is None  # idempotent
    to_first = seal(PAYLOAD, signer=_partner(), recipient=first.certificate)
    second = store.rotate()
    assert (second.key_id, store.current_id()) == (2, 2)
    assert second.certificate.subject == first.certificate.subject
    assert second.fingerprint != first.fingerprint
    assert unseal(to_first, identities=store.identities(), sender=_partner().certificate) == PAYLOAD
    assert [i.key_id for i in store.identities()] == [2, 1]


def test_identity_files_are_private(tmp_path: Path) -> None:
    store = IdentityStore(tmp_path / "keys", rsa_bits=2048)
    store.ensure("agency")
    assert store.root.stat().st_mode & 0o777 == 0o700
    assert (store.root / "00001" / "key.pem").stat().st_mode & 0o777 == 0o600
    (store.root / "00001" / "key.pem").chmod(0o644)
    with pytest.raises(KeyStoreError, match="chmod 600"):
        store.identity()
    assert [p.name for p in store.root.iterdir()] == ["00001"]  # no staging directory left behind


def test_reading_never_creates_and_mismatched_pairs_are_refused(tmp_path: Path) -> None:
    store = IdentityStore(tmp_path / "keys", rsa_bits=2048)
    with pytest.raises(KeyStoreError, match="csgate keys init"):
        store.identity()
    assert not store.root.exists()
    store.ensure("agency")
    store.rotate()
    (store.root / "00001" / "cert.pem").write_bytes((store.root / "00002" / "cert.pem").read_bytes())
    with pytest.raises(KeyStoreError, match="does not belong"):
        store.identity(1)


def test_self_signed_certificate_is_fit_for_smime() -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = self_signed_certificate(key, "agency", days=10)
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature and usage.key_encipherment and not usage.key_cert_sign
    assert cert.not_valid_after_utc - cert.not_valid_before_utc < timedelta(days=10, minutes=6)
