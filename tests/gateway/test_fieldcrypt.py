"""Field encryption and blind indexes. Synthetic values only (900-xx-xxxx SSNs are never issued)."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from gateway.security.fieldcrypt import (
    BlindIndex,
    FieldCipher,
    FieldCryptoError,
    key_id_of,
    normalize_name,
    normalize_ssn,
)

KEY1 = bytes(range(32))
KEY2 = bytes(range(100, 132))
BIDX_KEY = bytes(range(200, 232))
SSN = "900-12-3456"


@pytest.fixture
def cipher() -> FieldCipher:
    return FieldCipher({1: KEY1}, current=1)


def test_round_trip_bytes_text_and_json(cipher: FieldCipher) -> None:
    assert cipher.decrypt(cipher.encrypt(b"\x00raw", "t.c"), "t.c") == b"\x00raw"
    assert cipher.decrypt_str(cipher.encrypt_str("TÉSTNAME", "persons.last_name_enc"), "persons.last_name_enc") == (
        "TÉSTNAME"
    )
    address = {"line1": "1 TEST ST", "city": "TESTVILLE", "state": "CA", "zip": "90000"}
    assert cipher.decrypt_json(cipher.encrypt_json(address, "addresses.data_enc"), "addresses.data_enc") == address


def test_layout_is_key_id_nonce_then_gcm(cipher: FieldCipher) -> None:
    blob = cipher.encrypt_str(SSN, "persons.ssn_enc")
    assert blob[:2] == b"\x00\x01" and key_id_of(blob) == 1
    assert len(blob) == 2 + 12 + len(SSN) + 16
    # Readable with nothing but the documented layout and the standard primitive.
    assert AESGCM(KEY1).decrypt(blob[2:14], blob[14:], b"persons.ssn_enc") == SSN.encode()


def test_ciphertext_hides_the_value_and_is_never_repeated(cipher: FieldCipher) -> None:
    first = cipher.encrypt_str(SSN, "persons.ssn_enc")
    second = cipher.encrypt_str(SSN, "persons.ssn_enc")
    assert first != second  # random nonce: equal values are not visible as equal ciphertexts
    for blob in (first, second):
        assert SSN.encode() not in blob and b"900123456" not in blob


def test_a_ciphertext_moved_to_another_column_does_not_decrypt(cipher: FieldCipher) -> None:
    blob = cipher.encrypt_str(SSN, "persons.ssn_enc")
    with pytest.raises(FieldCryptoError, match=r"persons\.last_name_enc: authentication failed") as raised:
        cipher.decrypt_str(blob, "persons.last_name_enc")
    assert SSN not in str(raised.value)


@pytest.mark.parametrize("damage", ["flip", "truncate", "empty"])
def test_damaged_ciphertext_is_refused(cipher: FieldCipher, damage: str) -> None:
    blob = bytearray(cipher.encrypt_str(SSN, "persons.ssn_enc"))
    if damage == "flip":
        blob[-1] ^= 1
    elif damage == "truncate":
        del blob[20:]
    else:
        blob.clear()
    with pytest.raises(FieldCryptoError):
        cipher.decrypt(bytes(blob), "persons.ssn_enc")


def test_rotation_keeps_old_data_readable_and_writes_with_the_new_key() -> None:
    old = FieldCipher({1: KEY1}, current=1).encrypt_str(SSN, "persons.ssn_enc")
    rotated = FieldCipher({1: KEY1, 2: KEY2}, current=2)
    assert rotated.decrypt_str(old, "persons.ssn_enc") == SSN
    new = rotated.encrypt_str(SSN, "persons.ssn_enc")
    assert key_id_of(new) == rotated.current_key_id == 2

    retired = FieldCipher({2: KEY2}, current=2)  # key 1 dropped from the ring
    with pytest.raises(FieldCryptoError, match="key 1, which is not in the ring"):
        retired.decrypt(old, "persons.ssn_enc")


def test_key_ring_is_checked_and_never_shown() -> None:
    with pytest.raises(ValueError, match="not in the key ring"):
        FieldCipher({1: KEY1}, current=2)
    with pytest.raises(ValueError, match="32 bytes"):
        FieldCipher({1: KEY1[:16]}, current=1)
    with pytest.raises(ValueError, match="out of range"):
        FieldCipher({0x10000: KEY1}, current=0x10000)
    shown = repr(FieldCipher({1: KEY1, 2: KEY2}, current=2)) + repr(BlindIndex(BIDX_KEY))
    assert KEY1.hex() not in shown and str(KEY1) not in shown and "current=2" in shown


@pytest.mark.parametrize("spelling", ["900-12-3456", "900123456", " 900 12 3456 ", "900.12.3456"])
def test_ssn_blind_index_ignores_formatting(spelling: str) -> None:
    index = BlindIndex(BIDX_KEY)
    assert index.ssn(spelling) == index.ssn("900123456")
    assert len(index.ssn(spelling)) == 32


def test_ssn_blind_index_is_hmac_sha256_of_domain_and_digits() -> None:
    expected = hmac.new(BIDX_KEY, b"ssn\x00900123456", hashlib.sha256).digest()
    assert BlindIndex(BIDX_KEY).ssn(SSN) == expected


def test_blind_index_separates_values_keys_and_domains() -> None:
    index = BlindIndex(BIDX_KEY)
    assert index.ssn("900-12-3456") != index.ssn("900-12-3457")
    assert index.ssn(SSN) != BlindIndex(KEY1).ssn(SSN)
    assert index.ssn("900123456") != index.name("900123456")


@pytest.mark.parametrize("bad", ["900-12-345", "900-12-34567", "", "ABC-DE-FGHI"])
def test_ssn_must_have_nine_digits_and_errors_hide_it(bad: str) -> None:
    with pytest.raises(ValueError, match="exactly 9 digits") as raised:
        normalize_ssn(bad)
    assert not bad or bad not in str(raised.value)


def test_names_normalise_case_and_spacing() -> None:
    index = BlindIndex(BIDX_KEY)
    assert normalize_name("  de  la Testa ") == b"DE LA TESTA"
    assert index.name("testperson") == index.name(" TESTPERSON ") == index.name("ＴＥＳＴＰＥＲＳＯＮ")
    assert index.name("O'TEST") != index.name("OTEST")
