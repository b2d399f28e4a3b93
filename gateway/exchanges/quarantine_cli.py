"""``csgate quarantine`` — inspect and reprocess files held back by intake.

``show --output FILE`` writes the file exactly as received (still enveloped, if it came so) to a
new private file, decrypted chunk by chunk (a file that fails authentication is removed, not left
half-written); that export is audited. ``reprocess`` runs intake again with the partner's
current configuration; ``release`` also accepts the good records of a file held for a structure
error. Neither skips the envelope check. Exit 1 when the file is quarantined again (or its stored
copy fails to decrypt), 2 unknown id.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import orjson
import typer

from gateway.exchanges.cli import EXIT_FAILED, EXIT_NOT_FOUND, JsonOpt, emit, profile_of, runtime
from gateway.terminal import err_console

if TYPE_CHECKING:
    from gateway.exchanges.quarantine import QuarantineView
    from gateway.exchanges.runtime import Runtime

app = typer.Typer(no_args_is_help=True, help="Quarantined files: list, show, release, reprocess.")


@app.command("list")
def list_quarantine(
    all_: Annotated[bool, typer.Option("--all", help="Include released entries")] = False, as_json: JsonOpt = False
) -> None:
    """Quarantined files, oldest first."""
    from gateway.exchanges import quarantine

    rows = [v.as_dict() for v in quarantine.list_quarantine(runtime(), include_released=all_)]
    emit(
        rows, as_json, ("id", "exchange_id", "partner_id", "reason_code", "size", "created_at", "sha256"), "quarantine"
    )


@app.command()
def show(
    quarantine_id: int,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write the file as received here")] = None,
) -> None:
    """Details of one entry; with --output, the quarantined file itself (audited)."""
    from gateway.audit import log as audit
    from gateway.db.session import session_scope
    from gateway.exchanges import quarantine
    from gateway.security.fieldcrypt import FieldCryptoError

    rt = runtime()
    view = quarantine.get_quarantine(rt, quarantine_id)
    if view is None:
        err_console().print(f"no quarantine entry {quarantine_id}")
        raise typer.Exit(EXIT_NOT_FOUND)
    typer.echo(orjson.dumps(view.as_dict(), option=orjson.OPT_INDENT_2))
    if output is not None:
        try:
            size = _export(rt, view, output)
        except FieldCryptoError as exc:  # a damaged blob: nothing is written
            err_console().print(f"{exc.code}: {exc.message}")
            raise typer.Exit(EXIT_FAILED) from None
        with session_scope(rt.engine) as session:
            audit.append(
                session,
                actor=rt.actor,
                action="quarantine.export",
                subject=f"quarantine:{quarantine_id}",
                detail={"sha256": view.sha256, "size": size},
            )
        err_console().print(f"wrote {size} bytes to {output}")


def _export(rt: Runtime, view: QuarantineView, output: Path) -> int:
    """The quarantined file into a new private ``output``, removed again if its blob fails to decrypt."""
    from gateway.exchanges import quarantine

    fd = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # never overwrite, never world-readable
    try:
        with os.fdopen(fd, "wb") as out:
            return quarantine.copy_content(rt, view, out)
    except BaseException:
        output.unlink(missing_ok=True)
        raise


def _rerun(quarantine_id: int, *, accept_partial: bool) -> None:
    from gateway.errors import GatewayError
    from gateway.exchanges import intake, quarantine

    rt = runtime()
    view = quarantine.get_quarantine(rt, quarantine_id)
    if view is None or view.partner_id is None:
        err_console().print(f"no quarantine entry {quarantine_id}")
        raise typer.Exit(EXIT_NOT_FOUND)
    try:
        profile = profile_of(rt, view.partner_id)
        result = intake.reprocess(rt, profile, quarantine_id, accept_partial=accept_partial)
    except GatewayError as exc:
        err_console().print(f"{exc.code}: {exc.message}")
        raise typer.Exit(EXIT_FAILED) from None
    typer.echo(orjson.dumps(result.as_dict()))
    raise typer.Exit(EXIT_FAILED if result.status.value == "quarantined" else 0)


@app.command()
def reprocess(quarantine_id: int) -> None:
    """Run the file through intake again (after fixing a key, a mapping or the partner's config)."""
    _rerun(quarantine_id, accept_partial=False)


@app.command()
def release(quarantine_id: int) -> None:
    """Accept the good records of a file held for a structure error (its envelope is still checked)."""
    _rerun(quarantine_id, accept_partial=True)
