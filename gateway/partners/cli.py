"""``csgate partners`` — check, list and load the partners file.

The file is ``--file``, else ``$CSGATE_PARTNERS_FILE``, else ``partners.toml`` in the current
directory. Exit codes: 0 fine (warnings allowed), 1 the file has errors, 78 it cannot be read or
the database is not ready.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import orjson
import typer

from gateway.errors import ConfigError
from gateway.terminal import console

EXIT_INVALID = 1
EXIT_CONFIG = 78  # sysexits EX_CONFIG

app = typer.Typer(no_args_is_help=True, help="Trading partners: check, list and load the partners file.")

FileOpt = Annotated[
    Path,
    typer.Option("--file", "-f", envvar="CSGATE_PARTNERS_FILE", help="Partners TOML file"),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="JSON Lines instead of a table")]


def _fail(exc: ConfigError) -> typer.Exit:
    """Print a configuration error (every problem, when there is a list) and pick the exit code."""
    from gateway.partners.registry import PartnerConfigError

    if isinstance(exc, PartnerConfigError):
        for problem in exc.problems:
            typer.echo(str(problem), err=True)
        return typer.Exit(EXIT_INVALID)
    typer.echo(f"error: {exc.message}", err=True)
    return typer.Exit(EXIT_CONFIG)


@app.command()
def check(file: FileOpt = Path("partners.toml"), as_json: JsonOpt = False) -> None:
    """Validate the file and what it points to (certificates, trust files, our credentials)."""
    from gateway.partners.registry import check_partners, read_partners

    try:
        partners = read_partners(file)
    except ConfigError as exc:
        raise _fail(exc) from None
    problems = check_partners(partners)
    for problem in problems:
        if as_json:
            typer.echo(
                orjson.dumps(
                    {
                        "severity": problem.severity,
                        "partner": problem.partner,
                        "where": problem.where,
                        "message": problem.message,
                    }
                )
            )
        else:
            typer.echo(str(problem), err=True)
    errors = sum(p.severity == "error" for p in problems)
    if not as_json:
        typer.echo(f"{file}: {len(partners)} partner(s), {errors} error(s), {len(problems) - errors} warning(s)")
    raise typer.Exit(EXIT_INVALID if errors else 0)


@app.command("list")
def list_partners(file: FileOpt = Path("partners.toml"), as_json: JsonOpt = False) -> None:
    """Show the partners declared in the file (never any secret: credentials are names)."""
    from gateway.partners.registry import read_partners
    from gateway.transports.urls import parse_url

    try:
        partners = read_partners(file)
    except ConfigError as exc:
        raise _fail(exc) from None
    if as_json:
        for p in partners:
            typer.echo(orjson.dumps(p.model_dump(mode="json")))
        return
    from rich.table import Table

    table = Table(title=f"partners in {file}")
    for column in ("id", "kind", "name", "inbound", "outbound", "transport", "schedule", "ack", "on"):
        table.add_column(column)
    for p in partners:
        ack = "-"
        if p.ack is not None:
            due = f"{p.ack.deadline_hours}h" if p.ack.deadline_hours else f"{p.ack.deadline_business_days}bd"
            ack = f"{p.ack.format} ≤{due}"
        table.add_row(
            p.id,
            p.kind.value,
            p.name,
            ", ".join(p.formats.inbound) or "-",
            ", ".join(p.formats.outbound) or "-",
            str(parse_url(p.transport.url)),
            f"{p.schedule} {p.timezone}" if p.schedule else "on demand",
            ack,
            "yes" if p.enabled else "no",
        )
    console(width=200).print(table)


@app.command()
def load(file: FileOpt = Path("partners.toml")) -> None:
    """Check the file, then mirror it into the database (CSGATE_DATABASE_URL)."""
    from sqlalchemy.exc import SQLAlchemyError

    from gateway.db.session import session_scope
    from gateway.partners.registry import load_partners

    try:
        with session_scope() as session:
            report = load_partners(session, file)
    except ConfigError as exc:
        raise _fail(exc) from None
    except SQLAlchemyError as exc:
        typer.echo(f"error: database not ready ({type(exc).__name__}); run `csgate db upgrade`", err=True)
        raise typer.Exit(EXIT_CONFIG) from None
    for problem in report.warnings:
        typer.echo(str(problem), err=True)
    for label in ("added", "updated", "unchanged", "disabled"):
        ids = getattr(report, label)
        typer.echo(f"{label}: {', '.join(ids) if ids else '-'}")
