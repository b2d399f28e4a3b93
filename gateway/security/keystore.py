"""Local key store: the field-encryption keys and the blind-index key, as files in ``key_dir``.

Layout::

    key_dir/               mode 0700
      dek-00001.key        32 random bytes, mode 0600 — one file per data-encryption key;
      dek-00002.key        the highest id is the current key, older ones stay for decryption
      bidx.key             32 random bytes, mode 0600 — the blind-index HMAC key

A key file is written to a private temporary file, flushed to disk, then published with
``os.link``, which refuses to overwrite: a key is never visible half-written or with wider
permissions, and two processes initialising or rotating at once cannot replace each other's key
(losing a key loses every field encrypted under it). Key files readable by group or others are
refused, as ssh refuses such private keys.

Reading never creates keys: a mistyped ``key_dir`` must fail loudly, not hand out fresh keys that
cannot open the data already stored. ``ensure()`` (``csgate keys init``) creates what is missing.

Keys for other purposes (the web console's session signing) are derived from the blind-index key
with HKDF rather than stored: every instance sharing the key store derives the same key, it
survives restarts, and nothing new has to be created, copied or backed up.
"""

from __future__ import annotations

import os
import re
import secrets
import stat
import tempfile
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from gateway.config import Settings, get_settings
from gateway.errors import ConfigError
from gateway.security.fieldcrypt import KEY_BYTES, MAX_KEY_ID, BlindIndex, FieldCipher

_DEK_FILE = re.compile(r"^dek-(\d{5})\.key$")
BIDX_FILE = "bidx.key"


class KeyStoreError(ConfigError):
    """The key store is missing, incomplete, or unsafe (permissions). Never carries key material."""

    code = "KEY_STORE"


class KeyStore:
    """Keys kept as files under one directory; see the module docstring for the layout."""

    def __init__(self, key_dir: Path) -> None:
        self.key_dir = Path(key_dir)

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> KeyStore:
        """The store at ``Settings.key_dir``."""
        return cls((settings or get_settings()).key_dir)

    def __repr__(self) -> str:
        return f"KeyStore({str(self.key_dir)!r})"

    def ensure(self) -> None:
        """Create the directory, a first data key and the blind-index key where missing.

        Idempotent: existing keys are never touched.
        """
        if not self.key_dir.is_dir():
            self.key_dir.mkdir(parents=True, exist_ok=True)
            self.key_dir.chmod(0o700)  # mkdir's mode is filtered by the umask
        if not self._dek_ids():
            self._publish(self._dek_path(1))
        self._publish(self.key_dir / BIDX_FILE)

    def rotate(self) -> int:
        """Add a new data-encryption key, which becomes current; returns its id.

        Existing ciphertexts keep decrypting with the older keys; re-encrypting them is a separate
        sweep over rows whose ``key_id`` is below the new one.
        """
        while True:
            new_id = max(self._require_dek_ids()) + 1
            if new_id > MAX_KEY_ID:
                raise KeyStoreError(f"key ids exhausted ({MAX_KEY_ID})")
            if self._publish(self._dek_path(new_id)):
                return new_id
            # another process took this id between our listing and our link: take the next one

    def current_key_id(self) -> int:
        """The id of the key new data is encrypted under."""
        return max(self._require_dek_ids())

    def cipher(self) -> FieldCipher:
        """A ``FieldCipher`` over every data key, encrypting with the newest."""
        ids = self._require_dek_ids()
        return FieldCipher({key_id: self._read(self._dek_path(key_id)) for key_id in ids}, max(ids))

    def blind_index(self) -> BlindIndex:
        """The ``BlindIndex`` for equality lookups (SSN, names)."""
        return BlindIndex(self._read(self.key_dir / BIDX_FILE))

    def derived_key(self, purpose: str) -> bytes:
        """A 32-byte key for ``purpose`` (e.g. ``"console-session"``), HKDF-SHA256 from the blind-index
        key: the same wherever this key store is, independent per purpose, and never equal to a blind
        index (HKDF keys its output with an extracted key, not the index key itself)."""
        hkdf = HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=b"csgate derived key", info=purpose.encode())
        return hkdf.derive(self._read(self.key_dir / BIDX_FILE))

    def _dek_path(self, key_id: int) -> Path:
        return self.key_dir / f"dek-{key_id:05d}.key"

    def _dek_ids(self) -> list[int]:
        if not self.key_dir.is_dir():
            return []
        return sorted(int(m[1]) for p in self.key_dir.iterdir() if (m := _DEK_FILE.match(p.name)))

    def _require_dek_ids(self) -> list[int]:
        ids = self._dek_ids()
        if not ids:
            raise KeyStoreError(f"no data-encryption keys in {self.key_dir}; run `csgate keys init`")
        return ids

    def _read(self, path: Path) -> bytes:
        try:
            mode = path.stat().st_mode
        except FileNotFoundError:
            raise KeyStoreError(f"missing key file {path}; run `csgate keys init`") from None
        if stat.S_IMODE(mode) & 0o077:
            raise KeyStoreError(f"key file {path} is accessible by group or others; chmod 600 it")
        key = path.read_bytes()
        if len(key) != KEY_BYTES:
            raise KeyStoreError(f"key file {path} is damaged (expected {KEY_BYTES} bytes)")
        return key

    def _publish(self, path: Path) -> bool:
        """Write a fresh random key to ``path`` unless it exists; True if this call created it."""
        if path.exists():
            return False
        fd, tmp = tempfile.mkstemp(dir=self.key_dir, prefix=".tmp-", suffix=".key")  # mode 0600
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(secrets.token_bytes(KEY_BYTES))
                out.flush()
                os.fsync(out.fileno())
            try:
                os.link(tmp, path)
            except FileExistsError:
                return False
        finally:
            os.unlink(tmp)
        dir_fd = os.open(self.key_dir, os.O_RDONLY)
        try:
            os.fsync(dir_fd)  # the new name survives a crash, not only its contents
        finally:
            os.close(dir_fd)
        return True
