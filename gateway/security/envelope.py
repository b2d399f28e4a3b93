"""File envelopes: CMS (RFC 5652, the format of S/MIME), signed then encrypted.

**What goes out** (``seal``)::

    EnvelopedData  (AES-256-CBC content key, RSA key transport to the partner's certificate)
      └── SignedData  (SHA-256, our RSA key; content encapsulated; our certificate included)
            └── the file, byte for byte (binary mode: no MIME or line-end conversion)

Both layers are DER. A partner opens it with stock OpenSSL::

    openssl cms -decrypt -inform DER -in FILE.p7m -recip partner.crt -inkey partner.key -out FILE.p7s
    openssl cms -verify -inform DER -in FILE.p7s -CAfile csgate.crt -binary -out FILE

**What comes in** (``unseal``) is the same construction made by the partner's tools: an
EnvelopedData (DER, PEM or S/MIME) to one of our certificates, holding a SignedData with
encapsulated content (``openssl cms -sign -nodetach -binary``, DER or PEM, definite or
indefinite lengths). The signature must verify under the partner certificate *pinned* in the
partners file; certificates inside the message are ignored, so nobody can sign "as the partner"
with a certificate of their own. Failures raise ``EnvelopeError`` (never retried; the caller
quarantines the file and alerts) with a code: ``DECRYPT_FAILED``, ``NOT_SIGNED``,
``DETACHED_SIGNATURE``, ``BAD_SIGNATURE``, ``CONTENT_ALTERED``, ``UNSUPPORTED_ALGORITHM``,
``CERT_EXPIRED``, ``MALFORMED``.

Encryption and signing use ``cryptography``'s PKCS#7 builders. That library decrypts CMS but has
no CMS signature *verifier*, so ``verify`` reads the SignedData with the small DER reader at the
end of this module and checks the signature with ``cryptography``'s primitives, following RFC 5652
§5.4: the message digest attribute must equal the content's digest, and the signature covers the
DER of the signed attributes. The reasons for CMS over OpenPGP are in ``keys/README.md``.

**Our identities** live under ``key_dir/envelope/NNNNN/`` (``key.pem`` mode 0600, ``cert.pem``),
created by ``csgate keys init`` and ``csgate keys rotate envelope``. The newest signs; every one
is tried for decryption, so files a partner encrypted to a previous certificate still open after
a rotation. Envelopes are built in memory: a file must fit in RAM.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import stat
import tempfile
from base64 import b64decode
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.ciphers import algorithms
from cryptography.hazmat.primitives.serialization import pkcs7
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from gateway.config import Settings, get_settings
from gateway.errors import ConfigError, EnvelopeError
from gateway.security.keystore import KeyStoreError
from gateway.transports.folder import fsync_dir

RSA_BITS = 3072  # NIST SP 800-57: 128-bit security, acceptable beyond 2030
DEFAULT_DAYS = 730
DEFAULT_COMMON_NAME = "csgate"
_ID_DIR = re.compile(r"^\d{5}$")
_MAX_IDS = 99_999


# ---------------------------------------------------------------------------- certificates


def load_certificate(path: Path) -> x509.Certificate:
    """A certificate from a PEM or DER file; ``ConfigError`` (code ``BAD_CERTIFICATE``) otherwise."""
    try:
        data = Path(path).read_bytes()
        if b"-----BEGIN" in data:
            return x509.load_pem_x509_certificate(data)
        return x509.load_der_x509_certificate(data)
    except (OSError, ValueError) as exc:
        raise ConfigError(
            f"{path}: not a readable certificate ({type(exc).__name__})", code="BAD_CERTIFICATE"
        ) from None


def fingerprint(certificate: x509.Certificate) -> str:
    """SHA-256 of the certificate (DER), hex, as ``openssl x509 -fingerprint -sha256`` without colons."""
    return certificate.fingerprint(hashes.SHA256()).hex()


def check_validity(certificate: x509.Certificate, role: str, now: datetime | None = None) -> None:
    """Refuse a certificate outside its validity period (``CERT_EXPIRED``)."""
    now = now or datetime.now(UTC)
    if not certificate.not_valid_before_utc <= now <= certificate.not_valid_after_utc:
        raise EnvelopeError(
            f"{role} certificate {fingerprint(certificate)[:16]} is valid only from "
            f"{certificate.not_valid_before_utc:%Y-%m-%d} to {certificate.not_valid_after_utc:%Y-%m-%d}",
            code="CERT_EXPIRED",
        )


def self_signed_certificate(
    key: rsa.RSAPrivateKey, common_name: str, *, days: int = DEFAULT_DAYS, now: datetime | None = None
) -> x509.Certificate:
    """A certificate for signing and receiving envelopes (S/MIME usage), signed by its own key."""
    now = now or datetime.now(UTC)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    public = key.public_key()
    usage = x509.KeyUsage(
        digital_signature=True,
        content_commitment=True,
        key_encipherment=True,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))  # tolerate a partner's clock running slightly behind
        .not_valid_after(now + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(usage, critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )


# ---------------------------------------------------------------------------- our identities


@dataclass(frozen=True, slots=True)
class EnvelopeIdentity:
    """One of our envelope key pairs: ``key_id`` (1, 2, ...), certificate and private key."""

    key_id: int
    certificate: x509.Certificate
    private_key: rsa.RSAPrivateKey = field(repr=False)

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.certificate)


class IdentityStore:
    """Our envelope identities under ``key_dir/envelope/`` (see the module docstring).

    Each identity is written into a private temporary directory and published with one ``rename``,
    so a key never exists without its certificate, and two processes rotating at once take
    different ids. Like the field-key store, reading never creates anything.
    """

    def __init__(self, key_dir: Path, *, rsa_bits: int | None = None) -> None:
        self.root = Path(key_dir) / "envelope"
        self.rsa_bits = rsa_bits or RSA_BITS  # of new identities; tests use 2048 to save time

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> IdentityStore:
        return cls((settings or get_settings()).key_dir)

    def __repr__(self) -> str:
        return f"IdentityStore({str(self.root)!r})"

    def ids(self) -> list[int]:
        """Identity ids present, oldest first."""
        if not self.root.is_dir():
            return []
        return sorted(int(p.name) for p in self.root.iterdir() if _ID_DIR.match(p.name) and p.is_dir())

    def current_id(self) -> int:
        ids = self.ids()
        if not ids:
            raise KeyStoreError(f"no envelope identity in {self.root}; run `csgate keys init`")
        return ids[-1]

    def certificate(self, key_id: int | None = None) -> x509.Certificate:
        """Our certificate (public: this is what partners receive); the current one by default."""
        return load_certificate(self._dir(key_id) / "cert.pem")

    def identity(self, key_id: int | None = None) -> EnvelopeIdentity:
        """An identity with its private key; the current one by default."""
        directory = self._dir(key_id)
        key_file = directory / "key.pem"
        try:
            if stat.S_IMODE(key_file.stat().st_mode) & 0o077:
                raise KeyStoreError(f"key file {key_file} is accessible by group or others; chmod 600 it")
            key = serialization.load_pem_private_key(key_file.read_bytes(), password=None)
        except (OSError, ValueError, TypeError, UnsupportedAlgorithm) as exc:
            raise KeyStoreError(f"envelope key {key_file} is missing or damaged ({type(exc).__name__})") from None
        if not isinstance(key, rsa.RSAPrivateKey):
            raise KeyStoreError(f"envelope key {key_file} is not an RSA key")
        certificate = self.certificate(int(directory.name))
        if certificate.public_key() != key.public_key():
            raise KeyStoreError(f"{directory}: cert.pem does not belong to key.pem")
        return EnvelopeIdentity(int(directory.name), certificate, key)

    def identities(self) -> list[EnvelopeIdentity]:
        """Every identity, newest first (the order decryption tries them in)."""
        return [self.identity(key_id) for key_id in reversed(self.ids())]

    def ensure(
        self, common_name: str = DEFAULT_COMMON_NAME, *, days: int = DEFAULT_DAYS, now: datetime | None = None
    ) -> EnvelopeIdentity | None:
        """Create the first identity if there is none; returns it, or None when one existed."""
        if self.ids():
            return None
        return self._create(common_name, days, now)

    def rotate(
        self, common_name: str | None = None, *, days: int = DEFAULT_DAYS, now: datetime | None = None
    ) -> EnvelopeIdentity:
        """A new current identity (same common name as the current one unless given); older ones
        stay for decryption. Partners need the new certificate (``csgate keys cert``) before it is
        used for files to them."""
        if common_name is None:
            names = self.certificate().subject.get_attributes_for_oid(NameOID.COMMON_NAME)
            common_name = str(names[0].value) if names else DEFAULT_COMMON_NAME
        return self._create(common_name, days, now)

    def _dir(self, key_id: int | None) -> Path:
        key_id = self.current_id() if key_id is None else key_id
        directory = self.root / f"{key_id:05d}"
        if not directory.is_dir():
            raise KeyStoreError(f"no envelope identity {key_id} in {self.root}")
        return directory

    def _create(self, common_name: str, days: int, now: datetime | None) -> EnvelopeIdentity:
        self.root.mkdir(parents=True, exist_ok=True)
        self.root.chmod(0o700)
        key = rsa.generate_private_key(public_exponent=65537, key_size=self.rsa_bits)
        certificate = self_signed_certificate(key, common_name, days=days, now=now)
        staging = Path(tempfile.mkdtemp(prefix=".tmp-", dir=self.root))  # mode 0700
        try:
            _write_file(
                staging / "key.pem",
                key.private_bytes(
                    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
                ),
                0o600,
            )
            _write_file(staging / "cert.pem", certificate.public_bytes(serialization.Encoding.PEM), 0o644)
            fsync_dir(staging)
            for _ in range(_MAX_IDS):
                key_id = max(self.ids(), default=0) + 1
                if key_id > _MAX_IDS:
                    break
                try:
                    os.rename(staging, self.root / f"{key_id:05d}")
                except OSError:
                    continue  # another process published this id first: take the next one
                fsync_dir(self.root)
                return EnvelopeIdentity(key_id, certificate, key)
            raise KeyStoreError(f"envelope identity ids exhausted in {self.root}")
        finally:
            if staging.exists():
                for child in staging.iterdir():
                    child.unlink()
                staging.rmdir()


def _write_file(path: Path, data: bytes, mode: int) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())
    path.chmod(mode)  # the open mode was filtered by the umask


# ---------------------------------------------------------------------------- outbound


def sign(payload: bytes, signer: EnvelopeIdentity) -> bytes:
    """CMS SignedData (DER) holding ``payload``, signed with SHA-256 and our certificate included."""
    return (
        pkcs7.PKCS7SignatureBuilder()
        .set_data(payload)
        .add_signer(signer.certificate, signer.private_key, hashes.SHA256())
        .sign(serialization.Encoding.DER, [pkcs7.PKCS7Options.Binary])
    )


def encrypt(data: bytes, recipient: x509.Certificate) -> bytes:
    """CMS EnvelopedData (DER) of ``data`` for ``recipient`` (an RSA certificate), AES-256-CBC."""
    try:
        builder = pkcs7.PKCS7EnvelopeBuilder().set_data(data).add_recipient(recipient)
    except TypeError:
        raise EnvelopeError(
            f"recipient certificate {fingerprint(recipient)[:16]} has no RSA key; CMS key transport needs one",
            code="UNSUPPORTED_ALGORITHM",
        ) from None
    return builder.set_content_encryption_algorithm(algorithms.AES256).encrypt(
        serialization.Encoding.DER, [pkcs7.PKCS7Options.Binary]
    )


def seal(
    payload: bytes, *, signer: EnvelopeIdentity, recipient: x509.Certificate, now: datetime | None = None
) -> bytes:
    """Sign ``payload`` as ``signer``, then encrypt it for ``recipient``; both certificates must be valid."""
    check_validity(signer.certificate, "our", now)
    check_validity(recipient, "the partner's", now)
    return encrypt(sign(payload, signer), recipient)


# ---------------------------------------------------------------------------- inbound


def decrypt(data: bytes, identities: Sequence[EnvelopeIdentity]) -> bytes:
    """The content of an EnvelopedData (DER, PEM or S/MIME) addressed to any of ``identities``."""
    head = data[:512].lstrip()
    if b"MIME-Version:" in head or head[:13].lower() == b"content-type:":
        opener = pkcs7.pkcs7_decrypt_smime
    else:
        opener = pkcs7.pkcs7_decrypt_der
        try:
            data = _unarmor(data)  # OpenSSL writes "BEGIN CMS", which cryptography's PEM reader refuses
        except _Malformed as exc:
            raise EnvelopeError(f"not a CMS file ({exc})", code="MALFORMED") from None
        if data[:2] == b"\x30\x80":  # cryptography reads DER only; OpenSSL streams BER on request
            raise EnvelopeError(
                "the encrypted file uses indefinite (streamed BER) lengths; it must be DER "
                "(openssl cms -encrypt without -stream)",
                code="MALFORMED",
            )
    for identity in identities:
        try:
            return opener(data, identity.certificate, identity.private_key, [])
        except (ValueError, TypeError, UnsupportedAlgorithm):
            continue
    raise EnvelopeError(
        f"none of our {len(identities)} envelope keys opens this file (encrypted for another "
        "certificate, with an unsupported cipher, or damaged)",
        code="DECRYPT_FAILED",
    )


def verify(signed: bytes, sender: x509.Certificate, *, now: datetime | None = None) -> bytes:
    """The content of a CMS SignedData whose signature verifies under the pinned ``sender``."""
    check_validity(sender, "the partner's", now)
    try:
        content, signer_infos = _signed_data(_unarmor(signed))
        verified = any(_signer_verifies(signer_info, content, sender) for signer_info in signer_infos)
    except (_Malformed, ValueError, IndexError) as exc:  # ValueError/IndexError: a field count is off
        raise EnvelopeError(f"signed content is not valid CMS SignedData ({exc})", code="MALFORMED") from None
    if verified:
        return content.data
    raise EnvelopeError(
        f"the signature does not verify under the partner's certificate {fingerprint(sender)[:16]}",
        code="BAD_SIGNATURE",
    )


def unseal(
    data: bytes,
    *,
    identities: Sequence[EnvelopeIdentity],
    sender: x509.Certificate,
    now: datetime | None = None,
) -> bytes:
    """Decrypt with our identities, then verify the partner's signature; returns the file."""
    return verify(decrypt(data, identities), sender, now=now)


# ---------------------------------------------------------------------------- CMS SignedData reading

_SIGNED_DATA = "1.2.840.113549.1.7.2"
_ATTR_CONTENT_TYPE = "1.2.840.113549.1.9.3"
_ATTR_MESSAGE_DIGEST = "1.2.840.113549.1.9.4"
_DIGESTS: dict[str, type[hashes.HashAlgorithm]] = {
    "2.16.840.1.101.3.4.2.1": hashes.SHA256,
    "2.16.840.1.101.3.4.2.2": hashes.SHA384,
    "2.16.840.1.101.3.4.2.3": hashes.SHA512,
    "2.16.840.1.101.3.4.2.4": hashes.SHA224,
}
_RSA_PKCS1 = {
    "1.2.840.113549.1.1.1",  # rsaEncryption, as most CMS signers write it
    "1.2.840.113549.1.1.11",
    "1.2.840.113549.1.1.12",
    "1.2.840.113549.1.1.13",
    "1.2.840.113549.1.1.14",
}
_RSA_PSS = "1.2.840.113549.1.1.10"
_ECDSA = {"1.2.840.10045.2.1", *(f"1.2.840.10045.4.3.{n}" for n in (1, 2, 3, 4))}
_MAX_DEPTH = 24
_PEM = re.compile(rb"-----BEGIN (?:CMS|PKCS7)-----(.*?)-----END (?:CMS|PKCS7)-----", re.DOTALL)

# Universal tags and the context tags SignedData uses
_SEQUENCE, _SET, _OID, _OCTETS, _OCTETS_CONSTRUCTED = 0x30, 0x31, 0x06, 0x04, 0x24
_CTX0_CONSTRUCTED = 0xA0


class _Malformed(Exception):
    """The DER/BER does not have the SignedData shape; the message names the part, never content."""


@dataclass(frozen=True, slots=True)
class _TLV:
    """One BER element inside ``buf``: identifier at ``start``, content in ``body:stop``, next at ``end``."""

    tag: int
    buf: bytes
    start: int
    body: int
    stop: int
    end: int
    depth: int

    @property
    def content(self) -> bytes:
        return self.buf[self.body : self.stop]

    @property
    def encoded(self) -> bytes:
        return self.buf[self.start : self.end]

    def children(self) -> list[_TLV]:
        if not self.tag & 0x20:
            raise _Malformed(f"tag {self.tag:#x} is not constructed")
        out, pos = [], self.body
        while pos < self.stop:
            child = _parse(self.buf, pos, self.stop, self.depth + 1)
            out.append(child)
            pos = child.end
        return out


def _parse(buf: bytes, pos: int, limit: int, depth: int = 0) -> _TLV:
    """The element at ``pos`` (BER: definite or indefinite lengths; low tag numbers only)."""
    if depth > _MAX_DEPTH:
        raise _Malformed("nested too deeply")
    if pos + 2 > limit:
        raise _Malformed("truncated")
    tag, first, body = buf[pos], buf[pos + 1], pos + 2
    if tag & 0x1F == 0x1F:
        raise _Malformed("high tag numbers are not used by CMS")
    if first == 0x80:  # indefinite length: children up to an end-of-contents marker
        if not tag & 0x20:
            raise _Malformed("indefinite length on a primitive element")
        at = body
        while True:
            if at + 2 > limit:
                raise _Malformed("missing end-of-contents")
            if buf[at] == 0 and buf[at + 1] == 0:
                return _TLV(tag, buf, pos, body, at, at + 2, depth)
            at = _parse(buf, at, limit, depth + 1).end
    if first & 0x80:
        count = first & 0x7F
        if count > 8 or body + count > limit:
            raise _Malformed("bad length")
        length = int.from_bytes(buf[body : body + count], "big")
        body += count
    else:
        length = first
    if body + length > limit:
        raise _Malformed("truncated")
    return _TLV(tag, buf, pos, body, body + length, body + length, depth)


def _expect(node: _TLV, tag: int, what: str) -> _TLV:
    if node.tag != tag:
        raise _Malformed(f"{what}: unexpected tag {node.tag:#x}")
    return node


def _oid(node: _TLV) -> str:
    content = _expect(node, _OID, "object identifier").content
    if not content or content[-1] & 0x80:
        raise _Malformed("bad object identifier")
    arcs, value = [], 0
    for byte in content:
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            arcs.append(value)
            value = 0
    first = min(arcs[0] // 40, 2)
    return ".".join(map(str, [first, arcs[0] - 40 * first, *arcs[1:]]))


def _octets(node: _TLV) -> bytes:
    """An OCTET STRING's bytes, joining the segments of a constructed (BER) one."""
    if node.tag == _OCTETS:
        return node.content
    if node.tag == _OCTETS_CONSTRUCTED:
        return b"".join(_octets(child) for child in node.children())
    raise _Malformed(f"octet string: unexpected tag {node.tag:#x}")


def _unarmor(data: bytes) -> bytes:
    """DER as is; the base64 body of a ``-----BEGIN CMS-----``/``PKCS7`` PEM block."""
    match = _PEM.search(data) if data.lstrip().startswith(b"-----BEGIN") else None
    if match is None:
        return data
    try:
        return b64decode(b"".join(match[1].split()), validate=True)
    except ValueError:
        raise _Malformed("bad PEM armour") from None


@dataclass(frozen=True, slots=True)
class _Content:
    type_oid: str
    data: bytes


def _signed_data(der: bytes) -> tuple[_Content, list[_TLV]]:
    """The encapsulated content and the SignerInfo elements of a ContentInfo(SignedData)."""
    if not der:
        raise _Malformed("empty")
    info = _expect(_parse(der, 0, len(der)), _SEQUENCE, "ContentInfo")
    fields = info.children()
    if len(fields) != 2 or _oid(fields[0]) != _SIGNED_DATA:
        raise EnvelopeError("the decrypted content is not signed (no CMS SignedData)", code="NOT_SIGNED")
    (signed,) = _expect(fields[1], _CTX0_CONSTRUCTED, "ContentInfo.content").children()
    parts = _expect(signed, _SEQUENCE, "SignedData").children()
    if len(parts) < 4:
        raise _Malformed("SignedData is too short")
    encap = _expect(parts[2], _SEQUENCE, "EncapsulatedContentInfo").children()
    if len(encap) < 2:
        raise EnvelopeError("detached signature: the signed file does not carry its content", code="DETACHED_SIGNATURE")
    (payload,) = _expect(encap[1], _CTX0_CONSTRUCTED, "eContent").children()
    signer_infos = _expect(parts[-1], _SET, "SignerInfos").children()
    return _Content(_oid(encap[0]), _octets(payload)), signer_infos


def _signer_verifies(signer_info: _TLV, content: _Content, sender: x509.Certificate) -> bool:
    """RFC 5652 §5.4/§5.6 for one SignerInfo against the pinned certificate's public key."""
    fields = _expect(signer_info, _SEQUENCE, "SignerInfo").children()
    if len(fields) < 5:
        raise _Malformed("SignerInfo is too short")
    digest_oid = _oid(fields[2].children()[0])
    hash_cls = _DIGESTS.get(digest_oid)
    if hash_cls is None:
        raise EnvelopeError(f"digest algorithm {digest_oid} is not accepted", code="UNSUPPORTED_ALGORITHM")
    at = 3
    signed_attrs = fields[at] if fields[at].tag == _CTX0_CONSTRUCTED else None
    at += signed_attrs is not None
    if len(fields) < at + 2:
        raise _Malformed("SignerInfo is too short")
    algorithm_oid = _oid(fields[at].children()[0])
    signature = _expect(fields[at + 1], _OCTETS, "signature").content
    hash_alg = hash_cls()
    digest = hashlib.new(hash_alg.name, content.data).digest()
    if signed_attrs is None:
        signed_bytes = content.data
    else:
        _check_signed_attributes(signed_attrs, content.type_oid, digest)
        if signed_attrs.buf[signed_attrs.start + 1] == 0x80:
            raise _Malformed("signed attributes must be DER")
        signed_bytes = bytes([_SET]) + signed_attrs.encoded[1:]  # §5.4: signed as an explicit SET OF
    return _signature_ok(sender.public_key(), algorithm_oid, hash_alg, signature, signed_bytes)


def _check_signed_attributes(attrs: _TLV, content_type: str, digest: bytes) -> None:
    found: dict[str, list[_TLV]] = {}
    for attribute in attrs.children():
        kind, values = _expect(attribute, _SEQUENCE, "Attribute").children()[:2]
        found.setdefault(_oid(kind), []).extend(_expect(values, _SET, "AttributeValues").children())
    digests = found.get(_ATTR_MESSAGE_DIGEST, [])
    types = found.get(_ATTR_CONTENT_TYPE, [])
    if len(digests) != 1 or len(types) != 1:
        raise _Malformed("signed attributes need exactly one content-type and one message-digest")
    if _oid(types[0]) != content_type:
        raise EnvelopeError("the signed content type differs from the content's", code="CONTENT_ALTERED")
    if not hmac.compare_digest(_expect(digests[0], _OCTETS, "message-digest").content, digest):
        raise EnvelopeError("the content does not match its signed digest", code="CONTENT_ALTERED")


def _signature_ok(
    public: object, algorithm_oid: str, hash_alg: hashes.HashAlgorithm, signature: bytes, data: bytes
) -> bool:
    try:
        if isinstance(public, rsa.RSAPublicKey) and algorithm_oid in _RSA_PKCS1:
            public.verify(signature, data, padding.PKCS1v15(), hash_alg)
        elif isinstance(public, rsa.RSAPublicKey) and algorithm_oid == _RSA_PSS:
            # the PSS parameters are not read: MGF1 over the digest algorithm, salt length detected
            public.verify(signature, data, padding.PSS(padding.MGF1(hash_alg), padding.PSS.AUTO), hash_alg)
        elif isinstance(public, ec.EllipticCurvePublicKey) and algorithm_oid in _ECDSA:
            public.verify(signature, data, ec.ECDSA(hash_alg))
        else:
            raise EnvelopeError(
                f"signature algorithm {algorithm_oid} does not fit the partner's key", code="UNSUPPORTED_ALGORITHM"
            )
    except InvalidSignature:
        return False
    return True


__all__ = [
    "DEFAULT_COMMON_NAME",
    "DEFAULT_DAYS",
    "EnvelopeIdentity",
    "IdentityStore",
    "check_validity",
    "decrypt",
    "encrypt",
    "fingerprint",
    "load_certificate",
    "seal",
    "self_signed_certificate",
    "sign",
    "unseal",
    "verify",
]
