"""Whole files kept at rest under ``Settings.data_dir``: quarantined inbound files and outbound
payloads waiting to be (re)sent. They hold personal data, so they are encrypted under the field
cipher's current data key, with associated data naming the blob's kind and digest
(``quarantine:<sha256>``): a blob renamed or swapped on disk fails to decrypt instead of being
served as another file.

A file may be gigabytes (a quarterly wage file), so a blob is written and read in chunks, never held
whole in memory. The format is the STREAM construction of Hoang, Reyhanitabar, Rogaway and Vizár,
"Online Authenticated-Encryption and its Nonce-Reuse Misuse-Resistance" (CRYPTO 2015, §7), over
AES-256-GCM under a key of the blob's own, derived with HKDF-SHA256 (RFC 5869) from the data key
and a random salt, as Tink's AES-GCM-HKDF streaming AEAD does; the nonce is the chunk counter (NIST
SP 800-38D §8.2.1, deterministic construction), unique under that key::

    header   magic "\\x00\\x00CSBS" (6) | version 1 (1) | key id (2, big-endian)
             | chunk size (4, big-endian) | salt (16 random bytes)
    key      HKDF-SHA256(data key ``key id``, salt, info "csgate blob v1"), 32 bytes
    chunk i  AES-256-GCM(plaintext bytes [i*chunk size, (i+1)*chunk size)) + 16-byte tag
             nonce = 8 zero bytes | i (4, big-endian)
             associated data = header | i (4, big-endian) | final flag (1: 0x01 on the last chunk,
                               else 0x00) | the blob's aad string (UTF-8)

Every chunk but the last holds exactly ``chunk size`` plaintext bytes; the last holds 0 to
``chunk size`` (an empty file is one empty final chunk). Binding the index and the final flag makes
reordered, dropped, truncated or appended chunks fail authentication, and binding the header and the
aad string makes a chunk moved from another blob fail too. A blob holds at most 2^32 chunks (4 PiB).
Reading hands out each chunk once it is authenticated, but a truncation only shows at the end:
whoever reads a blob into a file must discard that file when reading fails.

A key per blob means no nonce budget is shared between blobs: two blobs share a key only if their
128-bit salts collide, so any number of blobs may be stored under one data key.

Blobs written before this format are one ``FieldCipher`` ciphertext (``key id | nonce | ciphertext``,
see ``gateway.security.fieldcrypt``) and stay readable, though only whole, in memory. The two are told
apart by their first two bytes: a one-shot ciphertext starts with its key id, which is never 0.

Writes are atomic: a private temporary file in the same directory, flushed and fsynced, then
renamed over the final name. A failed write (disk full) leaves no partial file and raises
``BlobWriteError``, so the caller keeps the file at the partner and tries again later.
"""

from __future__ import annotations

import contextlib
import io
import os
import struct
import tempfile
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from gateway.errors import GatewayError
from gateway.security.fieldcrypt import FieldCipher, FieldCryptoError

MAGIC = b"\x00\x00CSBS"
VERSION = 1
CHUNK = 1 << 20  # plaintext bytes per chunk: memory per open blob stays a few MiB
MAX_CHUNK = 64 << 20  # refused above this when reading, before the header is authenticated
MAX_CHUNKS = 1 << 32  # the counter's 4 bytes
TAG = 16
_HEADER = struct.Struct(">6sBHI16s")
_NONCE_FIXED = bytes(8)
_INDEX = struct.Struct(">I")


class BlobWriteError(GatewayError):
    """A blob could not be written (e.g. ENOSPC). Nothing was kept; the caller may retry later."""

    code = "STORAGE_WRITE_FAILED"


def blob_path(data_dir: Path, kind: str, sha256: str) -> Path:
    """Where the blob of ``kind`` (``quarantine`` | ``outbound``) for a file digest lives."""
    return data_dir / kind / f"{sha256}.bin"


def write_blob(cipher: FieldCipher, path: Path, source: BinaryIO, aad: str) -> None:
    """Encrypt ``source`` (read from its current position to its end) and publish it at ``path``
    atomically (see the module docstring)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".bin")  # mode 0600
    except OSError as exc:
        raise BlobWriteError(f"cannot store {path.name}: {exc.strerror or exc}") from exc
    try:
        with os.fdopen(fd, "wb") as out:
            for piece in _seal(cipher, source, aad):
                out.write(piece)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise BlobWriteError(f"cannot store {path.name}: {exc.strerror or exc}") from exc
        raise


def copy_blob(cipher: FieldCipher, path: Path, aad: str, dest: BinaryIO) -> int:
    """Write the plaintext of the blob at ``path`` into ``dest``; returns its size. Raises
    ``FieldCryptoError`` if any part fails authentication, possibly after writing earlier chunks."""
    size = 0
    with contextlib.closing(_plaintext(cipher, path, aad)) as chunks:
        for plain in chunks:
            size += dest.write(plain)
    return size


def read_blob(cipher: FieldCipher, path: Path, aad: str) -> bytes:
    """The whole plaintext of a blob, for payloads known to be small (outbound files rendered in
    memory); large files go through ``copy_blob``."""
    out = io.BytesIO()
    copy_blob(cipher, path, aad, out)
    return out.getvalue()


def _seal(cipher: FieldCipher, source: BinaryIO, aad: str) -> Iterator[bytes]:
    key_id = cipher.current_key_id
    salt = os.urandom(16)
    header = _HEADER.pack(MAGIC, VERSION, key_id, CHUNK, salt)
    aead, label = cipher.blob_aead(key_id, salt), aad.encode()
    yield header
    piece, index = _read_exactly(source, CHUNK), 0
    while True:
        following = _read_exactly(source, CHUNK) if len(piece) == CHUNK else b""
        final = not following
        yield aead.encrypt(_NONCE_FIXED + _INDEX.pack(index), piece, _chunk_aad(header, index, final, label))
        if final:
            return
        index += 1
        if index == MAX_CHUNKS:
            raise ValueError("file too large for one blob")
        piece = following


def _plaintext(cipher: FieldCipher, path: Path, aad: str) -> Generator[bytes, None, None]:
    with path.open("rb") as blob:
        lead = blob.read(2)
        if lead != MAGIC[:2]:  # a one-shot ciphertext, written before chunked blobs
            yield cipher.decrypt(lead + blob.read(), aad)
            return
        header = lead + blob.read(_HEADER.size - 2)
        aead, chunk = _stream_key(cipher, header, aad)
        yield from _open_chunks(aead, header, blob, chunk, aad)


def _stream_key(cipher: FieldCipher, header: bytes, aad: str) -> tuple[AESGCM, int]:
    if len(header) != _HEADER.size:
        raise FieldCryptoError(f"{aad}: blob header truncated")
    magic, version, key_id, chunk, salt = _HEADER.unpack(header)
    if magic != MAGIC or version != VERSION or not 0 < chunk <= MAX_CHUNK:
        raise FieldCryptoError(f"{aad}: unknown blob format")
    try:
        return cipher.blob_aead(key_id, salt), chunk
    except FieldCryptoError:
        raise FieldCryptoError(f"{aad}: encrypted under key {key_id}, which is not in the ring") from None


def _open_chunks(aead: AESGCM, header: bytes, blob: BinaryIO, chunk: int, aad: str) -> Iterator[bytes]:
    sealed, label = chunk + TAG, aad.encode()
    piece, index = _read_exactly(blob, sealed), 0
    while True:
        following = _read_exactly(blob, sealed) if len(piece) == sealed else b""
        final = not following
        if len(piece) < TAG:
            raise FieldCryptoError(f"{aad}: blob truncated")
        try:
            plain = aead.decrypt(_NONCE_FIXED + _INDEX.pack(index), piece, _chunk_aad(header, index, final, label))
        except InvalidTag:
            raise FieldCryptoError(
                f"{aad}: chunk {index} failed authentication (damaged, truncated, reordered or another blob's)"
            ) from None
        yield plain
        if final:
            return
        index += 1
        piece = following


def _chunk_aad(header: bytes, index: int, final: bool, label: bytes) -> bytes:
    return b"".join((header, _INDEX.pack(index), b"\x01" if final else b"\x00", label))


def _read_exactly(stream: BinaryIO, size: int) -> bytes:
    """``size`` bytes, or fewer only at the end of ``stream`` (a read may return less than asked)."""
    data = stream.read(size)
    if len(data) == size or not data:
        return data
    parts = [data]
    left = size - len(data)
    while left and (more := stream.read(left)):
        parts.append(more)
        left -= len(more)
    return b"".join(parts)
