"""The chunked blob format (``gateway.exchanges.blobstore``): round trips at the chunk boundaries,
every kind of tampering refused, blobs of the earlier one-shot format still readable, plaintext handed
out chunk by chunk, and a failed write leaving nothing behind."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from gateway.exchanges import blobstore
from gateway.exchanges.blobstore import CHUNK, MAGIC, TAG, copy_blob, read_blob, write_blob
from gateway.security.fieldcrypt import FieldCipher, FieldCryptoError

AAD = "quarantine:" + "ab" * 32
HEADER = 29  # magic 6 | version 1 | key id 2 | chunk size 4 | salt 16
SEALED = CHUNK + TAG


@pytest.fixture
def cipher() -> FieldCipher:
    return FieldCipher({1: os.urandom(32)}, 1)


def data_of(size: int) -> bytes:
    """Distinct content per position, so a chunk moved elsewhere cannot decrypt to the same bytes."""
    return (b"".join(i.to_bytes(4, "big") for i in range(size // 4 + 1)))[:size]


def stored(cipher: FieldCipher, path: Path, data: bytes, aad: str = AAD) -> bytes:
    write_blob(cipher, path, io.BytesIO(data), aad)
    return path.read_bytes()


@pytest.mark.parametrize(
    ("size", "chunks"),
    [(0, 1), (1, 1), (CHUNK - 1, 1), (CHUNK, 1), (CHUNK + 1, 2), (3 * CHUNK + 5, 4)],
    ids=["empty", "one-byte", "chunk-1", "one-chunk", "chunk+1", "several"],
)
def test_round_trip_at_chunk_boundaries(cipher: FieldCipher, tmp_path: Path, size: int, chunks: int) -> None:
    data = data_of(size)
    path = tmp_path / "blob.bin"
    blob = stored(cipher, path, data)
    assert blob.startswith(MAGIC) and len(blob) == HEADER + size + chunks * TAG
    assert read_blob(cipher, path, AAD) == data
    out = io.BytesIO()
    assert copy_blob(cipher, path, AAD, out) == size and out.getvalue() == data
    if size >= 64:
        assert data[size // 2 : size // 2 + 64] not in blob  # encrypted at rest


def test_plaintext_is_handed_out_one_chunk_at_a_time(cipher: FieldCipher, tmp_path: Path) -> None:
    class Recorder(io.BytesIO):
        def __init__(self) -> None:
            super().__init__()
            self.sizes: list[int] = []

        def write(self, data: object) -> int:
            self.sizes.append(len(data))  # type: ignore[arg-type]
            return super().write(data)  # type: ignore[arg-type]

    path = tmp_path / "blob.bin"
    stored(cipher, path, data_of(3 * CHUNK + 5))
    dest = Recorder()
    copy_blob(cipher, path, AAD, dest)
    assert dest.sizes == [CHUNK, CHUNK, CHUNK, 5]


def _chunk(blob: bytes, index: int) -> bytes:
    start = HEADER + index * SEALED
    return blob[start : start + SEALED]


def _flip(blob: bytes, at: int) -> bytes:
    return blob[:at] + bytes([blob[at] ^ 0x01]) + blob[at + 1 :]


@pytest.mark.parametrize(
    "damage",
    [
        "flip-magic",
        "flip-key-id",
        "flip-chunk-size",
        "flip-salt",
        "flip-first-chunk",
        "flip-last-tag",
        "drop-last-chunk",
        "truncate-mid-chunk",
        "header-only",
        "swap-chunks",
        "append-chunk",
        "append-bytes",
        "chunk-from-another-blob",
        "wrong-aad",
    ],
)
def test_tampering_is_refused(cipher: FieldCipher, tmp_path: Path, damage: str) -> None:
    path = tmp_path / "blob.bin"
    data = data_of(2 * CHUNK + 100)  # chunks 0 and 1 full, chunk 2 short and final
    blob = stored(cipher, path, data)
    other = stored(cipher, tmp_path / "other.bin", data)  # same content and aad, another blob
    aad = AAD
    match damage:
        case "flip-magic":
            blob = _flip(blob, 2)
        case "flip-key-id":
            blob = _flip(blob, 7)
        case "flip-chunk-size":
            blob = _flip(blob, 11)
        case "flip-salt":
            blob = _flip(blob, 15)
        case "flip-first-chunk":
            blob = _flip(blob, HEADER + 10)
        case "flip-last-tag":
            blob = _flip(blob, len(blob) - 1)
        case "drop-last-chunk":
            blob = blob[: HEADER + 2 * SEALED]
        case "truncate-mid-chunk":
            blob = blob[: HEADER + SEALED + 1000]
        case "header-only":
            blob = blob[:HEADER]
        case "swap-chunks":
            blob = blob[:HEADER] + _chunk(blob, 1) + _chunk(blob, 0) + blob[HEADER + 2 * SEALED :]
        case "append-chunk":
            blob += _chunk(blob, 1)
        case "append-bytes":
            blob += os.urandom(TAG + 4)
        case "chunk-from-another-blob":
            blob = blob[:HEADER] + _chunk(blob, 0) + _chunk(other, 1) + blob[HEADER + 2 * SEALED :]
        case "wrong-aad":
            aad = "outbound:" + "ab" * 32
    path.write_bytes(blob)
    with pytest.raises(FieldCryptoError):
        copy_blob(cipher, path, aad, io.BytesIO())
    with pytest.raises(FieldCryptoError):
        read_blob(cipher, path, aad)


def test_each_blob_has_a_key_of_its_own(cipher: FieldCipher, tmp_path: Path) -> None:
    data = data_of(CHUNK + 10)
    one, two = stored(cipher, tmp_path / "one.bin", data), stored(cipher, tmp_path / "two.bin", data)
    assert one[13:HEADER] != two[13:HEADER]  # the salts
    # same content, same aad, same chunk counters: only a key of each blob's own tells them apart
    assert one[HEADER : HEADER + 64] != two[HEADER : HEADER + 64]


def test_a_blob_under_a_key_not_in_the_ring_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "blob.bin"
    stored(FieldCipher({2: os.urandom(32)}, 2), path, b"payload")
    with pytest.raises(FieldCryptoError, match="key 2"):
        read_blob(FieldCipher({1: os.urandom(32)}, 1), path, AAD)


def test_blobs_of_the_one_shot_format_still_read(cipher: FieldCipher, tmp_path: Path) -> None:
    path = tmp_path / "old.bin"
    data = data_of(CHUNK + 3)
    path.write_bytes(cipher.encrypt(data, AAD))  # how blobs were written before the chunked format
    assert read_blob(cipher, path, AAD) == data
    out = io.BytesIO()
    assert copy_blob(cipher, path, AAD, out) == len(data) and out.getvalue() == data
    with pytest.raises(FieldCryptoError):
        read_blob(cipher, path, "outbound:" + "ab" * 32)
    path.write_bytes(_flip(path.read_bytes(), 40))
    with pytest.raises(FieldCryptoError):
        read_blob(cipher, path, AAD)


def test_both_formats_read_after_a_key_rotation(tmp_path: Path) -> None:
    old_key, new_key = os.urandom(32), os.urandom(32)
    before, after = FieldCipher({1: old_key}, 1), FieldCipher({1: old_key, 2: new_key}, 2)
    chunked, one_shot = tmp_path / "chunked.bin", tmp_path / "one-shot.bin"
    stored(before, chunked, b"written under key 1")
    one_shot.write_bytes(before.encrypt(b"one-shot under key 1", AAD))
    assert read_blob(after, chunked, AAD) == b"written under key 1"
    assert read_blob(after, one_shot, AAD) == b"one-shot under key 1"
    rewritten = stored(after, tmp_path / "new.bin", b"now under key 2")
    assert rewritten[6:9] == b"\x01\x00\x02"  # version 1, key id 2
    with pytest.raises(FieldCryptoError):
        read_blob(before, tmp_path / "new.bin", AAD)


def test_a_failed_write_leaves_nothing(cipher: FieldCipher, tmp_path: Path) -> None:
    class Broken(io.BytesIO):
        def read(self, size: int | None = -1) -> bytes:
            if self.tell() >= CHUNK:
                raise OSError(28, "No space left on device")
            return super().read(size)

    folder = tmp_path / "quarantine"
    with pytest.raises(blobstore.BlobWriteError):
        write_blob(cipher, folder / "x.bin", Broken(data_of(3 * CHUNK)), AAD)
    assert list(folder.iterdir()) == []
