"""``csgate keys`` — the local key store under ``CSGATE_KEY_DIR`` (default ``var/keys``).

- ``init``: create whatever is missing — the first field-encryption key, the blind-index key, and
  our first envelope identity (RSA key + self-signed certificate). Never replaces a key.
- ``list``: key ids, certificate fingerprints and expiry dates. Never prints or reads a secret
  (field keys are listed from their file names).
- ``rotate data|envelope``: a new current key; older ones are kept so existing data and files
  keep opening.
- ``cert``: our envelope certificate in PEM, to send to partners.

Exit code 78 (sysexits EX_CONFIG) when the key store is missing, damaged or unsafe.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer

from gateway.errors import GatewayError
from gateway.terminal import console, err_console

EXIT_CONFIG = 78

app = typer.Typer(no_args_is_help=True, help="Local keys: field encryption, blind index, envelope identities.")


class KeyKind(enum.StrEnum):
    DATA = "data"
    ENVELOPE = "envelope"


CommonNameOpt = Annotated[str | None, typer.Option("--common-name", help="Subject CN of our envelope certificate")]
DaysOpt = Annotated[int, typer.Option("--days", min=1, max=3650, help="Certificate validity in days")]


def _key_dir() -> Path:
    from gateway.config import get_settings

    return get_settings().key_dir


@contextmanager
def _operator_errors() -> Iterator[None]:
    """A key-store problem is one line on stderr and exit 78, never a traceback."""
    try:
        yield
    except GatewayError as exc:
        err_console().print(f"error: {exc.message}", markup=False, highlight=False)
        raise typer.Exit(EXIT_CONFIG) from None


@app.command()
def init(common_name: CommonNameOpt = None, days: DaysOpt = 730) -> None:
    """Create the keys that are missing (idempotent)."""
    from gateway.security.envelope import DEFAULT_COMMON_NAME, IdentityStore
    from gateway.security.keystore import KeyStore

    key_dir = _key_dir()
    with _operator_errors():
        KeyStore(key_dir).ensure()
        created = IdentityStore(key_dir).ensure(common_name or DEFAULT_COMMON_NAME, days=days)
    typer.echo(f"field-encryption and blind-index keys ready in {key_dir}")
    if created is None:
        typer.echo("envelope identity already present (kept)")
    else:
        typer.echo(f"envelope identity {created.key_id} created, certificate sha256 {created.fingerprint}")
        typer.echo("send the certificate to partners: csgate keys cert")


def _rows(key_dir: Path) -> list[dict[str, Any]]:
    from gateway.security.envelope import IdentityStore, fingerprint
    from gateway.security.keystore import _DEK_FILE, BIDX_FILE  # the store's own file naming

    rows: list[dict[str, Any]] = []
    dek_ids = sorted(int(m[1]) for p in key_dir.glob("dek-*.key") if (m := _DEK_FILE.match(p.name)))
    for key_id in dek_ids:
        path = key_dir / f"dek-{key_id:05d}.key"
        rows.append(
            {
                "kind": "data",
                "id": key_id,
                "current": key_id == dek_ids[-1],
                "fingerprint": None,
                "subject": None,
                "expires": None,
                "created": _mtime(path),
            }
        )
    if (key_dir / BIDX_FILE).is_file():
        rows.append(
            {
                "kind": "blind-index",
                "id": 1,
                "current": True,
                "fingerprint": None,
                "subject": None,
                "expires": None,
                "created": _mtime(key_dir / BIDX_FILE),
            }
        )
    store = IdentityStore(key_dir)
    ids = store.ids()
    for key_id in ids:
        cert = store.certificate(key_id)
        rows.append(
            {
                "kind": "envelope",
                "id": key_id,
                "current": key_id == ids[-1],
                "fingerprint": fingerprint(cert),
                "subject": cert.subject.rfc4514_string(),
                "expires": cert.not_valid_after_utc.isoformat(),
                "created": cert.not_valid_before_utc.isoformat(),
            }
        )
    return rows


def _mtime(path: Path) -> str:
    return datetime.fromtimestamp(path.stat().st_mtime, UTC).isoformat(timespec="seconds")


@app.command("list")
def list_keys(as_json: Annotated[bool, typer.Option("--json", help="JSON Lines")] = False) -> None:
    """Key ids, which is current, certificate fingerprints and expiry. No secrets."""
    key_dir = _key_dir()
    with _operator_errors():
        rows = _rows(key_dir)
    if as_json:
        for row in rows:
            typer.echo(orjson.dumps(row))
        return
    if not rows:
        err_console().print(f"no keys in {key_dir}; run `csgate keys init`")
        raise typer.Exit(EXIT_CONFIG)
    from rich.table import Table

    table = Table(title=f"keys in {key_dir}")
    for column in ("kind", "id", "current", "sha256 fingerprint", "subject", "created", "expires"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            row["kind"],
            str(row["id"]),
            "yes" if row["current"] else "",
            row["fingerprint"] or "-",
            row["subject"] or "-",
            row["created"][:10],
            (row["expires"] or "-")[:10],
        )
    console(width=220).print(table)


@app.command()
def rotate(
    kind: Annotated[KeyKind, typer.Argument(help="data: field-encryption key; envelope: our CMS identity")],
    common_name: CommonNameOpt = None,
    days: DaysOpt = 730,
) -> None:
    """Make a new current key; the old ones stay to decrypt what was written under them."""
    from gateway.security.envelope import IdentityStore
    from gateway.security.keystore import KeyStore

    key_dir = _key_dir()
    with _operator_errors():
        if kind is KeyKind.DATA:
            new_id = KeyStore(key_dir).rotate()
            typer.echo(f"data key {new_id} is now current; older rows stay readable until re-encrypted")
            return
        identity = IdentityStore(key_dir).rotate(common_name, days=days)
    typer.echo(f"envelope identity {identity.key_id} is now current, certificate sha256 {identity.fingerprint}")
    typer.echo("older identities still decrypt; send the new certificate to partners: csgate keys cert")


@app.command()
def cert(key_id: Annotated[int | None, typer.Option("--id", help="Identity id (default: current)")] = None) -> None:
    """Print our envelope certificate (PEM) — public, for partners."""
    from cryptography.hazmat.primitives.serialization import Encoding

    from gateway.security.envelope import IdentityStore

    with _operator_errors():
        certificate = IdentityStore(_key_dir()).certificate(key_id)
    typer.echo(certificate.public_bytes(Encoding.PEM).decode(), nl=False)
