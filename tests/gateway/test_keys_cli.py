"""``csgate keys init|list|rotate|cert``: creates what is missing, never shows a secret, rotates
without losing old keys, and reports a missing key store in one line (exit 78)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from typer.testing import CliRunner

from gateway.cli import app
from gateway.config import get_settings
from gateway.security import envelope
from gateway.security.envelope import IdentityStore, fingerprint
from gateway.security.keystore import KeyStore


@pytest.fixture
def key_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    path = tmp_path / "var" / "keys"
    monkeypatch.setenv("CSGATE_KEY_DIR", str(path))
    monkeypatch.setattr(envelope, "RSA_BITS", 2048)  # key size is not under test; speed is welcome
    get_settings.cache_clear()
    yield path
    get_settings.cache_clear()


def csgate(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


def _secrets(key_dir: Path) -> list[str]:
    """Every secret in the key store, in the forms it could leak (hex of raw keys, PEM lines)."""
    found = [p.read_bytes().hex() for p in key_dir.glob("*.key")]
    for pem in key_dir.glob("envelope/*/key.pem"):
        found += [line for line in pem.read_text().splitlines() if line and not line.startswith("-----")]
    return found


def test_init_creates_every_key_once(key_dir: Path) -> None:
    code, out = csgate("keys", "init", "--common-name", "Test State IV-D Agency")
    assert code == 0, out
    assert sorted(p.name for p in key_dir.iterdir()) == ["bidx.key", "dek-00001.key", "envelope"]
    identity = IdentityStore(key_dir).identity()
    assert identity.certificate.subject.rfc4514_string() == "CN=Test State IV-D Agency"
    assert identity.fingerprint in out
    before = {p: p.read_bytes() for p in key_dir.rglob("*") if p.is_file()}
    code, out = csgate("keys", "init")
    assert code == 0 and "already present" in out
    assert {p: p.read_bytes() for p in key_dir.rglob("*") if p.is_file()} == before


def test_list_shows_ids_fingerprints_and_expiry_but_no_secret(key_dir: Path) -> None:
    csgate("keys", "init")
    code, out = csgate("keys", "list", "--json")
    assert code == 0, out
    rows = [json.loads(line) for line in out.splitlines()]
    assert [(r["kind"], r["id"], r["current"]) for r in rows] == [
        ("data", 1, True),
        ("blind-index", 1, True),
        ("envelope", 1, True),
    ]
    cert = IdentityStore(key_dir).certificate()
    assert rows[2]["fingerprint"] == fingerprint(cert)
    assert rows[2]["expires"] == cert.not_valid_after_utc.isoformat()
    _, table = csgate("keys", "list")
    for secret in _secrets(key_dir):
        assert secret not in out and secret not in table
    assert "PRIVATE" not in out + table


def test_rotate_data_and_envelope_keep_old_keys_working(key_dir: Path) -> None:
    csgate("keys", "init")
    old_blob = KeyStore(key_dir).cipher().encrypt_str("900-12-3456", "persons.ssn_enc")
    old_cert = IdentityStore(key_dir).certificate()

    code, out = csgate("keys", "rotate", "data")
    assert code == 0 and "data key 2" in out
    assert KeyStore(key_dir).cipher().decrypt_str(old_blob, "persons.ssn_enc") == "900-12-3456"

    code, out = csgate("keys", "rotate", "envelope")
    assert code == 0 and "identity 2" in out
    store = IdentityStore(key_dir)
    assert store.ids() == [1, 2]
    assert store.certificate(1) == old_cert and store.certificate() != old_cert

    rows = [json.loads(line) for line in csgate("keys", "list", "--json")[1].splitlines()]
    current = {(r["kind"], r["id"]): r["current"] for r in rows}
    assert current == {
        ("data", 1): False,
        ("data", 2): True,
        ("blind-index", 1): True,
        ("envelope", 1): False,
        ("envelope", 2): True,
    }


def test_rotate_needs_a_kind(key_dir: Path) -> None:
    code, out = csgate("keys", "rotate", "everything")
    assert code == 2 and "everything" in out


def test_cert_prints_our_public_certificate_only(key_dir: Path) -> None:
    csgate("keys", "init")
    code, out = csgate("keys", "cert")
    assert code == 0
    assert x509.load_pem_x509_certificate(out.encode()) == IdentityStore(key_dir).certificate()
    assert "PRIVATE KEY" not in out
    assert csgate("keys", "cert", "--id", "7")[0] == 78


def test_missing_key_store_is_one_line_and_exit_78(key_dir: Path) -> None:
    code, out = csgate("keys", "list")
    assert code == 78 and "csgate keys init" in out
    env = {**os.environ, "COLUMNS": "200"}  # through the real entry point: no traceback
    done = subprocess.run(
        [sys.executable, "-m", "gateway.cli", "keys", "rotate", "data"],
        capture_output=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 78
    assert b"csgate keys init" in done.stderr and done.stderr.count(b"\n") == 1
