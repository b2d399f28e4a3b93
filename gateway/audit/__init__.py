"""The tamper-evident audit log (RFC 9162 Merkle tree, Ed25519-signed checkpoints): ``merkle``
(hashing and proofs), ``signing`` (the checkpoint key), ``log`` (append, checkpoint, verify)."""
