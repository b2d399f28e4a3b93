"""``csgate audit`` — verify the audit log, sign a checkpoint, show the verification key.

``verify`` exits 0 when the log is consistent with every signed checkpoint (and the entry asked
for is included), 1 when anything does not match: an edited, missing or reordered entry, a bad
signature or root.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import orjson
import typer

from gateway.terminal import console

app = typer.Typer(no_args_is_help=True, help="Audit log: verify, checkpoint, public-key.")


@app.command()
def verify(
    entry: Annotated[int | None, typer.Option("--entry", help="Also prove this entry (seq) is included")] = None,
    public_key: Annotated[
        Path | None, typer.Option("--public-key", help="Your own copy of the key (hex); default: the key store's")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Prove the log consistent with the latest signed checkpoint (and --entry N included)."""
    from gateway.audit import log as audit
    from gateway.audit.signing import CheckpointSigner, public_key_from_file
    from gateway.config import get_settings
    from gateway.db.session import make_engine, session_scope

    settings = get_settings()
    key = public_key_from_file(public_key) if public_key else CheckpointSigner.load(settings.key_dir).public_key
    engine = make_engine(settings.database_url)
    with session_scope(engine) as session:
        report = audit.verify(session, key, entry=entry)
    if as_json:
        typer.echo(orjson.dumps(report.as_dict()))
    else:
        out = console()
        for line in report.lines():
            out.print(line, highlight=False)
    raise typer.Exit(0 if report.ok else 1)


@app.command()
def checkpoint() -> None:
    """Sign a checkpoint over the log as it is now (the scheduler does this periodically)."""
    from gateway.audit import log as audit
    from gateway.audit.signing import CheckpointSigner
    from gateway.config import get_settings
    from gateway.db.session import make_engine, session_scope

    settings = get_settings()
    signer = CheckpointSigner.load(settings.key_dir, create=True)
    with session_scope(make_engine(settings.database_url)) as session:
        head = audit.checkpoint(session, signer)
    typer.echo(f"checkpoint at {head.tree_size} entries, root {head.root_hash.hex()}" if head else "log unchanged")


@app.command("public-key")
def public_key() -> None:
    """Print the checkpoint verification key (hex) for auditors to keep their own copy."""
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    from gateway.audit.signing import CheckpointSigner
    from gateway.config import get_settings

    signer = CheckpointSigner.load(get_settings().key_dir)
    typer.echo(signer.public_key.public_bytes(Encoding.Raw, PublicFormat.Raw).hex())
