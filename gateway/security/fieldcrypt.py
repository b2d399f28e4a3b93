"""Personal data at rest: AES-256-GCM per field, and HMAC-SHA256 blind indexes for lookups.

Ciphertext layout (``FieldCipher.encrypt``)::

    key_id (2 bytes, big-endian) | nonce (12 random bytes) | ciphertext + 16-byte GCM tag

The key id makes rotation possible: new data is encrypted under the current key and any key still
in the ring decrypts. The associated data is the column's name (``"persons.ssn_enc"``), so a
ciphertext copied into another column (say an SSN into ``last_name_enc``) fails to decrypt instead
of being shown as a name.

A blind index is a keyed HMAC of a normalised value: equal SSNs give equal indexes however they
were typed, and without the key nobody can test a guess against the table. The HMAC key is
separate from the encryption keys, and each kind of value gets its own domain prefix so an SSN
index can never equal a name index.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import struct
import unicodedata
from collections.abc import Mapping
from typing import Any

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from gateway.errors import GatewayError

KEY_BYTES = 32  # AES-256, and the HMAC-SHA256 key
NONCE_BYTES = 12  # 96-bit GCM nonce, random per call: NIST SP 800-38D allows 2^32 calls per key
MAX_KEY_ID = 0xFFFF
_HEADER = struct.Struct(">H")
_PREFIX = _HEADER.size + NONCE_BYTES


class FieldCryptoError(GatewayError, ValueError):
    """A ciphertext could not be decrypted: wrong column, unknown key, damaged or truncated.

    The message never contains the data.
    """

    code = "FIELD_DECRYPT"


class FieldCipher:
    """Encrypts and decrypts single fields with a ring of AES-256-GCM keys.

    ``keys`` maps key id to 32-byte key; ``current`` is the id new ciphertexts use.
    """

    __slots__ = ("_aead", "_current", "_current_aead", "_header", "_keys")

    def __init__(self, keys: Mapping[int, bytes], current: int) -> None:
        if current not in keys:
            raise ValueError(f"current key id {current} is not in the key ring")
        for key_id, key in keys.items():
            if not 0 < key_id <= MAX_KEY_ID:
                raise ValueError(f"key id {key_id} out of range 1..{MAX_KEY_ID}")
            if len(key) != KEY_BYTES:
                raise ValueError(f"key {key_id} must be {KEY_BYTES} bytes")
        # AESGCM objects are built once: constructing one per call would halve throughput.
        self._aead = {key_id: AESGCM(key) for key_id, key in keys.items()}
        self._keys = dict(keys)  # for blob_aead's derivations
        self._current = current
        self._current_aead = self._aead[current]
        self._header = _HEADER.pack(current)

    def __repr__(self) -> str:  # never the keys
        return f"FieldCipher(current={self._current}, key_ids={sorted(self._aead)})"

    @property
    def current_key_id(self) -> int:
        """The key id that ``encrypt`` writes; store it beside the row for rotation sweeps."""
        return self._current

    def encrypt(self, plaintext: bytes, aad: str) -> bytes:
        """Encrypt ``plaintext`` for the column named by ``aad`` (``"table.column"``)."""
        nonce = os.urandom(NONCE_BYTES)
        return self._header + nonce + self._current_aead.encrypt(nonce, plaintext, aad.encode())

    def decrypt(self, blob: bytes, aad: str) -> bytes:
        """Decrypt a value written by ``encrypt`` for the same ``aad``, under any key in the ring."""
        if len(blob) < _PREFIX + 16:
            raise FieldCryptoError(f"{aad}: ciphertext too short")
        aead = self._aead.get(key_id_of(blob))
        if aead is None:
            raise FieldCryptoError(f"{aad}: encrypted under key {key_id_of(blob)}, which is not in the ring")
        try:
            return aead.decrypt(blob[_HEADER.size : _PREFIX], blob[_PREFIX:], aad.encode())
        except InvalidTag:
            raise FieldCryptoError(f"{aad}: authentication failed (wrong column, key or damaged data)") from None

    def blob_aead(self, key_id: int, salt: bytes) -> AESGCM:
        """AES-256-GCM under a key of one stored file's own, derived with HKDF-SHA256 (RFC 5869) from
        ring key ``key_id`` and the file's random ``salt`` (the key itself is never handed out). For
        the chunked blobs of ``gateway.exchanges.blobstore``: under a key per file, a chunk counter is
        a safe nonce, and files share no nonce budget however many are stored under one ring key."""
        key = self._keys.get(key_id)
        if key is None:
            raise FieldCryptoError(f"key {key_id} is not in the ring")
        derived = HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=salt, info=b"csgate blob v1").derive(key)
        return AESGCM(derived)

    def encrypt_str(self, value: str, aad: str) -> bytes:
        """``encrypt`` for text fields (UTF-8)."""
        return self.encrypt(value.encode(), aad)

    def decrypt_str(self, blob: bytes, aad: str) -> str:
        """Inverse of ``encrypt_str``."""
        return self.decrypt(blob, aad).decode()

    def encrypt_json(self, value: Any, aad: str) -> bytes:
        """``encrypt`` for structured fields (addresses, staged records), serialised with orjson."""
        return self.encrypt(orjson.dumps(value), aad)

    def decrypt_json(self, blob: bytes, aad: str) -> Any:
        """Inverse of ``encrypt_json``."""
        return orjson.loads(self.decrypt(blob, aad))


def key_id_of(blob: bytes) -> int:
    """The key id a ciphertext was written under, without decrypting it."""
    if len(blob) < _HEADER.size:
        raise FieldCryptoError("ciphertext too short")
    (key_id,) = _HEADER.unpack_from(blob)
    return int(key_id)


_NOT_DIGIT = re.compile(r"[^0-9]")


def normalize_ssn(value: str) -> bytes:
    """SSN digits only: ``"123-45-6789"``, ``" 123 45 6789"`` and ``"123456789"`` are one SSN.

    Raises ``ValueError`` (without the value) unless exactly nine digits remain: an index over a
    partial SSN would match the wrong person.
    """
    digits = value.replace("-", "")  # the usual spelling; the regex only for anything else
    if not (digits.isascii() and digits.isdigit()):
        digits = _NOT_DIGIT.sub("", digits)
    if len(digits) != 9:
        raise ValueError("SSN must have exactly 9 digits")
    return digits.encode("ascii")


def normalize_name(value: str) -> bytes:
    """Names compare upper-cased, trimmed, with inner whitespace runs collapsed and Unicode in
    NFKC form, so ``" smith "`` and ``"SMITH"`` match. Punctuation is kept: ``O'NEIL`` and
    ``ONEIL`` are different index values, as they are different spellings in partner files."""
    return " ".join(unicodedata.normalize("NFKC", value).upper().split()).encode()


class BlindIndex:
    """HMAC-SHA256 blind indexes under one key, with a domain per kind of value.

    The keyed HMAC state (key schedule plus domain prefix) is computed once and ``.copy()``-ed per
    value: the fastest way to HMAC short inputs in CPython (performance ceilings §7a).
    """

    __slots__ = ("_finding", "_name", "_ssn")

    def __init__(self, key: bytes) -> None:
        if len(key) != KEY_BYTES:
            raise ValueError(f"blind-index key must be {KEY_BYTES} bytes")
        self._ssn = hmac.new(key, b"ssn\x00", hashlib.sha256)
        self._name = hmac.new(key, b"name\x00", hashlib.sha256)
        self._finding = hmac.new(key, b"finding\x00", hashlib.sha256)

    def __repr__(self) -> str:  # never the key
        return "BlindIndex()"

    def ssn(self, value: str) -> bytes:
        """Blind index of an SSN in any common formatting (see ``normalize_ssn``)."""
        state = self._ssn.copy()
        state.update(normalize_ssn(value))
        return state.digest()

    def name(self, value: str) -> bytes:
        """Blind index of a person's name part (see ``normalize_name``)."""
        state = self._name.copy()
        state.update(normalize_name(value))
        return state.digest()

    def finding(self, content: bytes) -> bytes:
        """Keyed fingerprint of a locate finding's content (canonical JSON): equal findings are found
        equal without the content, which holds an address or employer, being readable in the index."""
        state = self._finding.copy()
        state.update(content)
        return state.digest()
