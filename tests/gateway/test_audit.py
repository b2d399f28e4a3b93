"""The audit log: RFC 9162 hashing and proofs (with the Certificate Transparency test vectors),
append/checkpoint/verify on both backends, and tampering caught — an edited, deleted or reordered
row, a forged checkpoint."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from exchange_kit import cli_settings
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from gateway.audit import log as audit
from gateway.audit import merkle
from gateway.audit.signing import CheckpointSigner
from gateway.db import migrate
from gateway.db.models import AuditEntry
from gateway.db.session import make_engine, session_scope

# Certificate Transparency's reference tree (merkle_tree_test.cc): 8 leaves and the root of each prefix.
CT_LEAVES = [
    b"",
    b"\x00",
    b"\x10",
    b"\x20\x21",
    b"\x30\x31",
    b"\x40\x41\x42\x43",
    bytes(range(0x50, 0x58)),
    bytes(range(0x60, 0x70)),
]
CT_ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]


def reference_root(leaves: list[bytes]) -> bytes:
    """MTH straight from RFC 9162 §2.1.1, recursively: the oracle for the iterative code."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return merkle.node_hash(reference_root(leaves[:k]), reference_root(leaves[k:]))


def hashes(n: int) -> list[bytes]:
    return [merkle.leaf_hash(i.to_bytes(4, "big")) for i in range(n)]


def test_certificate_transparency_vectors() -> None:
    leaves = [merkle.leaf_hash(d) for d in CT_LEAVES]
    assert [merkle.root(leaves[: n + 1]).hex() for n in range(8)] == CT_ROOTS
    assert merkle.root([]) == hashlib.sha256(b"").digest()


@given(st.integers(min_value=0, max_value=70))
@settings(max_examples=40, deadline=None)
def test_accumulator_equals_the_recursive_definition(n: int) -> None:
    assert merkle.root(hashes(n)) == reference_root(hashes(n))


def test_every_inclusion_proof_verifies_and_a_wrong_one_does_not() -> None:
    leaves = hashes(17)
    for size in range(1, 18):
        root = merkle.root(leaves[:size])
        for index in range(size):
            proof = merkle.inclusion_proof(leaves, index, size)
            merkle.verify_inclusion(leaves[index], index, size, proof, root)
            with pytest.raises(merkle.ProofError):
                merkle.verify_inclusion(leaves[index], index, size, proof, b"\x00" * 32)
            if size > 1:
                with pytest.raises(merkle.ProofError):
                    merkle.verify_inclusion(leaves[(index + 1) % size], index, size, proof, root)


def test_every_consistency_proof_verifies_and_a_forged_root_does_not() -> None:
    leaves = hashes(17)
    for second in range(1, 18):
        second_root = merkle.root(leaves[:second])
        for first in range(1, second + 1):
            first_root = merkle.root(leaves[:first])
            proof = merkle.consistency_proof(leaves, first, second)
            merkle.verify_consistency(first, second, first_root, second_root, proof)
            if first < second:
                with pytest.raises(merkle.ProofError):
                    merkle.verify_consistency(first, second, merkle.leaf_hash(b"forged"), second_root, proof)


# --------------------------------------------------------------------------- the log in the database


def migrated(url: str) -> Engine:
    migrate.upgrade(url)
    return make_engine(url)


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """Both backends: what must hold everywhere."""
    engine = migrated(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def lite(sqlite_url: str) -> Iterator[Engine]:
    """SQLite only: checks that do not depend on the backend."""
    engine = migrated(sqlite_url)
    yield engine
    engine.dispose()


@pytest.fixture
def signer(tmp_path: Path) -> CheckpointSigner:
    return CheckpointSigner.load(tmp_path / "keys", create=True)


def fill(engine: Engine, signer: CheckpointSigner, n: int = 6) -> None:
    for i in range(n):
        with session_scope(engine) as session:
            audit.append(
                session,
                actor="test",
                action="exchange.inbound",
                subject=f"exchange:{i}",
                detail={"records": i, "sha256": "ab" * 32, "nested": {"ok": True, "list": [1, "x"]}},
            )
        if i in (1, 3):
            with session_scope(engine) as session:
                audit.checkpoint(session, signer)
    with session_scope(engine) as session:
        audit.checkpoint(session, signer)


def verify(engine: Engine, signer: CheckpointSigner, entry: int | None = None) -> audit.VerifyReport:
    with session_scope(engine) as session:
        return audit.verify(session, signer.public_key, entry=entry)


def test_log_verifies_with_inclusion_proof(engine: Engine, signer: CheckpointSigner) -> None:
    fill(engine, signer)
    report = verify(engine, signer, entry=2)
    assert report.ok, report.problems
    assert (report.entries, report.checkpoints, report.latest_size) == (6, 3, 6)
    assert report.inclusion is not None and report.inclusion["included"]
    proof = [bytes.fromhex(p) for p in report.inclusion["proof"]]
    merkle.verify_inclusion(bytes.fromhex(report.inclusion["leaf_hash"]), 2, 6, proof, report.latest_root)


def test_edited_row_is_caught(engine: Engine, signer: CheckpointSigner) -> None:
    fill(engine, signer)
    with engine.begin() as conn:
        conn.execute(text("UPDATE audit_entries SET subject = 'exchange:99' WHERE seq = 2"))
    report = verify(engine, signer)
    assert not report.ok
    assert any("entry 2" in p for p in report.problems)


def test_edited_row_with_recomputed_leaf_hash_is_caught_by_the_signed_root(
    lite: Engine, signer: CheckpointSigner
) -> None:
    fill(lite, signer)
    with session_scope(lite) as session:
        row = session.get_one(AuditEntry, 4)
        forged_leaf = merkle.leaf_hash(
            audit.canonical_entry(row.ts, row.actor, "exchange.outbound", row.subject, row.detail)
        )
    with lite.begin() as conn:
        conn.execute(
            text("UPDATE audit_entries SET action = 'exchange.outbound', leaf_hash = :h WHERE seq = 4"),
            {"h": forged_leaf},
        )
    report = verify(lite, signer)
    assert not report.ok
    assert any("checkpoint 6: root does not match" in p for p in report.problems)


def test_deleted_or_reordered_rows_are_caught(lite: Engine, signer: CheckpointSigner) -> None:
    fill(lite, signer)
    with lite.begin() as conn:
        conn.execute(text("UPDATE audit_entries SET seq = 100 WHERE seq = 1"))
        conn.execute(text("UPDATE audit_entries SET seq = 1 WHERE seq = 0"))
        conn.execute(text("UPDATE audit_entries SET seq = 0 WHERE seq = 100"))
    assert any("root does not match" in p for p in verify(lite, signer).problems)
    with lite.begin() as conn:
        conn.execute(text("DELETE FROM audit_entries WHERE seq = 5"))
    assert any("truncated" in p for p in verify(lite, signer).problems)


def test_forged_checkpoint_and_foreign_key_are_caught(lite: Engine, signer: CheckpointSigner, tmp_path: Path) -> None:
    fill(lite, signer)
    with lite.begin() as conn:
        conn.execute(text("UPDATE audit_checkpoints SET root_hash = :r WHERE tree_size = 6"), {"r": b"\x01" * 32})
    problems = verify(lite, signer).problems
    assert any("checkpoint 6: signature does not verify" in p for p in problems)
    other = CheckpointSigner.load(tmp_path / "other-keys", create=True)
    with session_scope(lite) as session:
        assert not audit.verify(session, other.public_key).ok


def test_checkpoint_refuses_to_sign_a_tampered_log(lite: Engine, signer: CheckpointSigner) -> None:
    fill(lite, signer)
    with session_scope(lite) as session:
        audit.append(session, actor="test", action="x", subject="y")
    with lite.begin() as conn:
        conn.execute(text("UPDATE audit_entries SET actor = 'someone-else' WHERE seq = 6"))
    with session_scope(lite) as session, pytest.raises(audit.AuditError, match="entry 6"):
        audit.checkpoint(session, signer)


def test_personal_data_and_floats_are_refused(lite: Engine) -> None:
    with session_scope(lite) as session:
        with pytest.raises(audit.AuditError, match="personal data"):
            audit.append(session, actor="t", action="a", subject="s", detail={"note": "ssn 212-34-5671"})
        with pytest.raises(audit.AuditError, match="personal data"):
            audit.append(session, actor="t", action="a", subject="s", detail={"ids": ["212345671"]})
        with pytest.raises(audit.AuditError, match="floats"):
            audit.append(session, actor="t", action="a", subject="s", detail={"seconds": 1.5})
        # a count is a count, however many digits it has: SSNs are never whole numbers here
        audit.append(session, actor="t", action="purge", subject="s", detail={"records": 212345671})


def test_cli_verify_exit_codes(sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from gateway.cli import app

    with cli_settings(monkeypatch, tmp_path, sqlite_url):
        migrate.upgrade(sqlite_url)
        engine = make_engine(sqlite_url)
        fill(engine, CheckpointSigner.load(tmp_path / "keys", create=True))
        runner = CliRunner()
        ok = runner.invoke(app, ["audit", "verify", "--entry", "3"])
        assert ok.exit_code == 0 and "OK" in ok.output and "entry 3 included" in ok.output
        with engine.begin() as conn:
            conn.execute(text("UPDATE audit_entries SET detail = '{\"records\": 7}' WHERE seq = 0"))
        bad = runner.invoke(app, ["audit", "verify"])
        assert bad.exit_code == 1 and "entry 0" in bad.output
        engine.dispose()
