"""Local key store: creation, file permissions, rotation, refusal of unsafe or missing keys."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.config import Settings
from gateway.security.fieldcrypt import key_id_of
from gateway.security.keystore import BIDX_FILE, KeyStore, KeyStoreError

SSN = "900-12-3456"


@pytest.fixture
def open_umask() -> Iterator[None]:
    """A permissive umask, so the modes checked below come from the key store, not the environment."""
    previous = os.umask(0)
    try:
        yield
    finally:
        os.umask(previous)


@pytest.fixture
def store(tmp_path: Path) -> KeyStore:
    store = KeyStore(tmp_path / "var" / "keys")
    store.ensure()
    return store


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.usefixtures("open_umask")
def test_ensure_creates_private_key_files(tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "var" / "keys")
    store.ensure()
    files = sorted(p.name for p in store.key_dir.iterdir())
    assert files == [BIDX_FILE, "dek-00001.key"]
    assert _mode(store.key_dir) == 0o700
    for name in files:
        assert _mode(store.key_dir / name) == 0o600
        assert len((store.key_dir / name).read_bytes()) == 32
    assert (store.key_dir / BIDX_FILE).read_bytes() != (store.key_dir / "dek-00001.key").read_bytes()


def test_ensure_is_idempotent(store: KeyStore) -> None:
    before = {p.name: p.read_bytes() for p in store.key_dir.iterdir()}
    store.ensure()
    assert {p.name: p.read_bytes() for p in store.key_dir.iterdir()} == before


def test_reading_never_creates_keys(tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "keys")
    with pytest.raises(KeyStoreError, match="csgate keys init"):
        store.cipher()
    with pytest.raises(KeyStoreError, match="csgate keys init"):
        store.blind_index()
    assert not store.key_dir.exists()


@pytest.mark.usefixtures("open_umask")
def test_rotation_adds_a_current_key_and_keeps_old_data_readable(store: KeyStore) -> None:
    old = store.cipher().encrypt_str(SSN, "persons.ssn_enc")
    index_before = store.blind_index().ssn(SSN)

    assert store.rotate() == 2
    assert store.current_key_id() == 2
    assert _mode(store.key_dir / "dek-00002.key") == 0o600
    cipher = store.cipher()
    assert cipher.decrypt_str(old, "persons.ssn_enc") == SSN
    assert key_id_of(cipher.encrypt_str(SSN, "persons.ssn_enc")) == 2
    assert store.blind_index().ssn(SSN) == index_before  # lookups survive a data-key rotation
    assert store.rotate() == 3


@pytest.mark.parametrize("name", ["dek-00001.key", BIDX_FILE])
def test_key_readable_by_others_is_refused(store: KeyStore, name: str) -> None:
    (store.key_dir / name).chmod(0o644)
    with pytest.raises(KeyStoreError, match="chmod 600"):
        store.blind_index() if name == BIDX_FILE else store.cipher()


def test_damaged_key_is_refused(store: KeyStore) -> None:
    (store.key_dir / "dek-00001.key").write_bytes(b"short")
    with pytest.raises(KeyStoreError, match="damaged"):
        store.cipher()


def test_store_lives_at_settings_key_dir(tmp_path: Path) -> None:
    store = KeyStore.from_settings(Settings(key_dir=tmp_path / "keys"))
    assert store.key_dir == tmp_path / "keys"
    assert repr(store) == f"KeyStore({str(tmp_path / 'keys')!r})"
