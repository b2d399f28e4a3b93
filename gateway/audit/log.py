"""The tamper-evident audit log: every exchange, disclosure and operator action is a leaf of an
RFC 9162 Merkle tree (``audit_entries``), and signed tree heads (``audit_checkpoints``) pin it.

An entry's bytes are its canonical JSON (orjson, sorted keys): ``ts`` (UTC, microseconds),
``actor``, ``action``, ``subject`` and ``detail``. Its position is its ``seq`` — the leaf index —
which the writer assigns as ``max(seq) + 1`` in the same statement that inserts the row, under a
transaction-level advisory lock on PostgreSQL (SQLite serialises writers anyway), so concurrent
writers in several instances never collide or leave a gap. An entry is written in the caller's
transaction: it exists exactly when the action it records was committed.

Details carry ids, codes, counts and digests; ``append`` refuses any SSN-shaped text (whole numbers
are counts and ids: see ``contains_pii``), and floats (JSONB may not give back the same digits, which
would break the leaf hash).

``verify`` streams the log once, recomputing every leaf hash from the row's content, checks the
root at every checkpoint size against the signed root, and checks a consistency proof from each
checkpoint to the latest and (optionally) an inclusion proof for one entry: an edited, deleted,
inserted or reordered row, or a forged checkpoint, is reported with the first seq where it shows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import Connection, func, insert, literal, select, text
from sqlalchemy.orm import Session

from gateway.audit import merkle
from gateway.audit.signing import CheckpointSigner, signature_valid
from gateway.db.models import AuditCheckpoint, AuditEntry
from gateway.observability import contains_pii

# pg_advisory_xact_lock key: ASCII "csgaudit" as a signed 64-bit integer.
AUDIT_LOCK_KEY = int.from_bytes(b"csgaudit", "big", signed=True)


class AuditError(Exception):
    """The audit log cannot be written as asked (bad detail) or is not intact (checkpoint refused)."""


def canonical_entry(ts: datetime, actor: str, action: str, subject: str, detail: Mapping[str, Any]) -> bytes:
    """The bytes hashed into the leaf. Any change to any field changes them."""
    return orjson.dumps(
        {
            "ts": ts.astimezone(UTC).isoformat(timespec="microseconds"),
            "actor": actor,
            "action": action,
            "subject": subject,
            "detail": detail,
        },
        option=orjson.OPT_SORT_KEYS,
    )


def _check_detail(value: Any, path: str = "detail") -> None:
    if isinstance(value, float):
        raise AuditError(f"{path}: floats are not allowed in audit details (use integers, e.g. ms)")
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise AuditError(f"{path}: keys must be strings")
            _check_detail(item, f"{path}.{key}")
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            _check_detail(item, f"{path}[{i}]")
    elif value is not None and not isinstance(value, str | int | bool):
        raise AuditError(f"{path}: {type(value).__name__} is not allowed in audit details")


def _lock(conn: Connection) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": AUDIT_LOCK_KEY})


def append(
    session: Session,
    *,
    actor: str,
    action: str,
    subject: str,
    detail: Mapping[str, Any] | None = None,
    ts: datetime | None = None,
) -> int:
    """Append one entry in ``session``'s transaction; returns its seq (leaf index)."""
    detail = dict(detail or {})
    _check_detail(detail)
    if contains_pii(detail, numbers=False) or contains_pii([actor, subject]):
        raise AuditError(f"audit entry {action!r}: personal data (SSN-shaped value) in the entry")
    # Microsecond precision is what both backends store, so the hash survives a round trip.
    ts = (ts or datetime.now(UTC)).astimezone(UTC)
    leaf = merkle.leaf_hash(canonical_entry(ts, actor, action, subject, detail))
    conn = session.connection()
    _lock(conn)
    next_seq = select(func.coalesce(func.max(AuditEntry.seq) + 1, 0)).scalar_subquery()
    values = select(
        next_seq,
        literal(ts, AuditEntry.ts.type),
        literal(actor),
        literal(action),
        literal(subject),
        literal(detail, AuditEntry.detail.type),
        literal(leaf, AuditEntry.leaf_hash.type),
    )
    stmt = (
        insert(AuditEntry)
        .from_select(["seq", "ts", "actor", "action", "subject", "detail", "leaf_hash"], values)
        .returning(AuditEntry.seq)
    )
    return int(conn.execute(stmt).scalar_one())


def _recomputed_leaf(row: Any) -> bytes:
    return merkle.leaf_hash(canonical_entry(row.ts, row.actor, row.action, row.subject, row.detail))


def checkpoint(session: Session, signer: CheckpointSigner) -> AuditCheckpoint | None:
    """Sign the current tree head if the log grew since the last checkpoint; None if it did not.

    Before signing, the prefix covered by the previous checkpoint must still have that root and
    every newer entry must hash to its stored leaf: a checkpoint never vouches for a tampered log.
    """
    conn = session.connection()
    _lock(conn)
    last = session.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.tree_size.desc()).limit(1)).first()
    last_size = last.tree_size if last else 0
    acc = merkle.RootAccumulator()
    rows = conn.execute(select(AuditEntry).order_by(AuditEntry.seq)).yield_per(2048)
    for row in rows:
        if row.seq != acc.size:
            raise AuditError(f"audit log has a gap or reordering at seq {acc.size}; not signing")
        if acc.size >= last_size and _recomputed_leaf(row) != row.leaf_hash:
            raise AuditError(f"audit entry {row.seq} does not match its leaf hash; not signing")
        acc.append(row.leaf_hash)
        if last is not None and acc.size == last_size and acc.root() != last.root_hash:
            raise AuditError(f"audit log no longer matches checkpoint {last_size}; not signing")
    if acc.size == last_size:
        return None
    ts = datetime.now(UTC)
    root_hash = acc.root()
    head = AuditCheckpoint(
        tree_size=acc.size,
        root_hash=root_hash,
        signature=signer.sign(acc.size, root_hash, ts),
        key_id=signer.key_id,
        ts=ts,
    )
    session.add(head)
    session.flush()
    return head


@dataclass
class VerifyReport:
    """What ``verify`` found. ``ok`` only when there are no problems and at least one checkpoint."""

    entries: int = 0
    checkpoints: int = 0
    latest_size: int = 0
    latest_root: bytes = b""
    unsigned_tail: int = 0  # entries appended after the latest checkpoint (not yet signed)
    problems: list[str] = field(default_factory=list)
    inclusion: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        return not self.problems and self.checkpoints > 0

    def lines(self) -> list[str]:
        """The report for a person (rich markup): the verdict, then each problem and the inclusion."""
        state = "[green]OK[/]" if self.ok else "[red]FAILED[/]"
        out = [
            f"audit log {state}: {self.entries} entries, {self.checkpoints} signed checkpoints, latest covers "
            f"{self.latest_size} (root {self.latest_root.hex()[:16]}…), {self.unsigned_tail} not yet signed"
        ]
        out += [f"  [red]{problem}[/]" for problem in self.problems]
        if self.inclusion and self.inclusion.get("included"):
            out.append(f"  entry {self.inclusion['entry']} included (proof of {len(self.inclusion['proof'])} hashes)")
        return out

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "entries": self.entries,
            "checkpoints": self.checkpoints,
            "latest_checkpoint": {"tree_size": self.latest_size, "root_hash": self.latest_root.hex()},
            "unsigned_tail": self.unsigned_tail,
            "problems": self.problems,
            "inclusion": self.inclusion,
        }


def verify(session: Session, public_key: Ed25519PublicKey, *, entry: int | None = None) -> VerifyReport:
    """Prove the stored log consistent with every signed checkpoint (see the module docstring)."""
    report = VerifyReport()
    heads = list(session.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.tree_size)))
    for head in heads:
        if not signature_valid(public_key, head.signature, head.tree_size, head.root_hash, head.ts):
            report.problems.append(f"checkpoint {head.tree_size}: signature does not verify")
    report.checkpoints = len(heads)
    if not heads:
        report.problems.append("no signed checkpoint yet (run `csgate audit checkpoint`)")

    wanted = {h.tree_size: h for h in heads}
    leaves = bytearray()  # 32 bytes per entry, for the proofs below
    acc = merkle.RootAccumulator()
    conn = session.connection()
    for row in conn.execute(select(AuditEntry).order_by(AuditEntry.seq)).yield_per(2048):
        if row.seq != acc.size:
            report.problems.append(f"seq {acc.size}: missing (next stored entry is {row.seq})")
            break
        leaf = _recomputed_leaf(row)
        if leaf != row.leaf_hash:
            report.problems.append(f"entry {row.seq}: content does not match its leaf hash (edited)")
        acc.append(leaf)
        leaves += leaf
        signed = wanted.get(acc.size)
        if signed is not None and acc.root() != signed.root_hash:
            report.problems.append(f"checkpoint {signed.tree_size}: root does not match entries 0..{acc.size - 1}")
    report.entries = acc.size
    for head in heads:
        if head.tree_size > acc.size:
            report.problems.append(f"checkpoint {head.tree_size}: log has only {acc.size} entries (truncated)")
    if not heads:
        return report

    latest = heads[-1]
    report.latest_size, report.latest_root = latest.tree_size, latest.root_hash
    report.unsigned_tail = max(acc.size - latest.tree_size, 0)
    hashes = [bytes(leaves[i : i + 32]) for i in range(0, len(leaves), 32)]
    if latest.tree_size <= len(hashes):
        # Every checkpoint's root was compared with the recomputed prefix above; the RFC proof from
        # the one before the latest is what an outside monitor holding that older head would check.
        if len(heads) > 1:
            previous = heads[-2]
            proof = merkle.consistency_proof(hashes, previous.tree_size, latest.tree_size)
            try:
                merkle.verify_consistency(
                    previous.tree_size, latest.tree_size, previous.root_hash, latest.root_hash, proof
                )
            except merkle.ProofError as exc:
                report.problems.append(f"checkpoint {previous.tree_size} -> {latest.tree_size}: {exc}")
        if entry is not None:
            report.inclusion = _inclusion(hashes, entry, latest, report)
    return report


def _inclusion(hashes: list[bytes], entry: int, latest: AuditCheckpoint, report: VerifyReport) -> dict[str, Any]:
    if not 0 <= entry < latest.tree_size:
        report.problems.append(f"entry {entry} is not covered by the latest checkpoint ({latest.tree_size})")
        return {"entry": entry, "included": False}
    proof = merkle.inclusion_proof(hashes, entry, latest.tree_size)
    try:
        merkle.verify_inclusion(hashes[entry], entry, latest.tree_size, proof, latest.root_hash)
    except merkle.ProofError as exc:
        report.problems.append(f"entry {entry}: {exc}")
        return {"entry": entry, "included": False}
    return {
        "entry": entry,
        "included": True,
        "tree_size": latest.tree_size,
        "leaf_hash": hashes[entry].hex(),
        "proof": [p.hex() for p in proof],
    }
