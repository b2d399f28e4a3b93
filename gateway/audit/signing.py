"""The Ed25519 key that signs audit checkpoints, kept beside the other keys in ``Settings.key_dir``.

``audit-ed25519.key`` holds the 32-byte private seed (mode 0600, written by the key store's
create-once publishing, so two processes starting together cannot end up with different keys). The
key id is the first 16 hex digits of SHA-256 over the raw public key; ``csgate audit verify``
derives the public key from the private one, or takes ``--public-key`` from an auditor who keeps
their own copy (a verifier that trusted a key read from the audited database would prove nothing).

The signed message follows the C2SP "checkpoint" note body: origin line, tree size, base64 root,
then the timestamp, each ending in a newline.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from gateway.security.keystore import KeyStore

SIGNING_KEY_FILE = "audit-ed25519.key"
ORIGIN = "csgate audit log v1"


def checkpoint_message(tree_size: int, root_hash: bytes, ts: datetime) -> bytes:
    """The exact bytes a checkpoint signature covers."""
    stamp = ts.astimezone(UTC).isoformat(timespec="microseconds")
    return f"{ORIGIN}\n{tree_size}\n{base64.b64encode(root_hash).decode()}\n{stamp}\n".encode()


def key_id(public_key: Ed25519PublicKey) -> str:
    """Fingerprint stored with each checkpoint, so a rotated key's checkpoints stay attributable."""
    raw = public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def public_key_from_file(path: Path) -> Ed25519PublicKey:
    """An auditor's copy of the public key: 32 raw bytes, or their hex (as ``audit public-key`` prints)."""
    data = path.read_bytes().strip()
    raw = bytes.fromhex(data.decode()) if len(data) == 64 else data
    return Ed25519PublicKey.from_public_bytes(raw)


class CheckpointSigner:
    """Signs tree heads. Construct with ``load``; the private key never leaves this object."""

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self._key = private_key
        self.public_key = private_key.public_key()
        self.key_id = key_id(self.public_key)

    def __repr__(self) -> str:  # never the key
        return f"CheckpointSigner(key_id={self.key_id!r})"

    @classmethod
    def load(cls, key_dir: Path, *, create: bool = False) -> CheckpointSigner:
        """The signer from ``key_dir``; with ``create``, make the key first if it is missing."""
        store = KeyStore(key_dir)
        path = store.key_dir / SIGNING_KEY_FILE
        if create:
            store.ensure()
            store._publish(path)  # an Ed25519 private key is 32 random bytes: the store's key format
        return cls(Ed25519PrivateKey.from_private_bytes(store._read(path)))

    def sign(self, tree_size: int, root_hash: bytes, ts: datetime) -> bytes:
        return self._key.sign(checkpoint_message(tree_size, root_hash, ts))


def signature_valid(
    public_key: Ed25519PublicKey, signature: bytes, tree_size: int, root_hash: bytes, ts: datetime
) -> bool:
    """True when ``signature`` signs this tree head under ``public_key``."""
    try:
        public_key.verify(signature, checkpoint_message(tree_size, root_hash, ts))
    except InvalidSignature:
        return False
    return True
