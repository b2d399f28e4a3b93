"""``csgate exchange`` — the exchange log, manual runs, dead letters, overdue acknowledgments, retention.

Exit codes: 0 done, 1 the action failed for some items (a file quarantined, a send dead-lettered,
nothing to retry), 2 not found, 75 the partner is busy (another worker holds it; try again),
78 configuration missing (no key store: `csgate keys init`; unknown partner: `csgate partners load`).
"""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import orjson
import typer

from gateway.terminal import console, err_console

if TYPE_CHECKING:
    from gateway.exchanges.profile import ExchangeProfile
    from gateway.exchanges.runtime import Runtime

EXIT_FAILED, EXIT_NOT_FOUND, EXIT_BUSY, EXIT_CONFIG = 1, 2, 75, 78

app = typer.Typer(no_args_is_help=True, help="Exchanges: the log, manual runs, dead letters, overdue acks.")
JsonOpt = Annotated[bool, typer.Option("--json", help="JSON Lines instead of a table")]
COLUMNS = (
    "id",
    "partner",
    "direction",
    "format",
    "status",
    "records",
    "rejected",
    "duplicates",
    "duration_ms",
    "error_code",
    "sha256",
)


def runtime() -> Runtime:
    """The runtime for the settings; a missing key store or database is a one-line error (exit 78)."""
    from gateway.errors import GatewayError
    from gateway.exchanges.runtime import Runtime

    try:
        return Runtime.from_settings(actor=f"cli:{getpass.getuser()}")
    except GatewayError as exc:
        err_console().print(f"error: {exc.message}", markup=False)
        raise typer.Exit(EXIT_CONFIG) from None


def profile_of(rt: Runtime, partner: str) -> ExchangeProfile:
    """The partner's exchange profile as loaded into the database (`csgate partners load`)."""
    from gateway.errors import ConfigError
    from gateway.exchanges.partners import load_profile

    try:
        return load_profile(rt.engine, partner, key_dir=rt.key_dir)
    except ConfigError as exc:
        err_console().print(f"error: {exc.message}", markup=False)
        raise typer.Exit(EXIT_CONFIG) from None


def emit(rows: list[dict[str, Any]], as_json: bool, columns: tuple[str, ...], title: str) -> None:
    if as_json:
        for row in rows:
            typer.echo(orjson.dumps(row))
        return
    from rich.table import Table

    table = Table(title=title)
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*("" if row.get(c) is None else str(row.get(c))[: 16 if c == "sha256" else 60] for c in columns))
    console(width=200).print(table)


@app.command("list")
def list_exchanges(
    status: Annotated[str | None, typer.Option(help="e.g. dead_letter, quarantined, sent")] = None,
    partner: Annotated[str | None, typer.Option()] = None,
    direction: Annotated[str | None, typer.Option(help="inbound | outbound")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 100,
    as_json: JsonOpt = False,
) -> None:
    """The exchange log, newest first."""
    from gateway.db.models import ExchangeDirection, ExchangeStatus
    from gateway.exchanges import service

    rows = service.list_exchanges(
        runtime(),
        status=ExchangeStatus(status) if status else None,
        partner=partner,
        direction=ExchangeDirection(direction) if direction else None,
        limit=limit,
    )
    emit(rows, as_json, COLUMNS, "exchange log")


@app.command()
def show(exchange_id: int, as_json: JsonOpt = False) -> None:
    """One exchange: counts, timings, rejects by code, acknowledgment, quarantine."""
    from gateway.exchanges import service

    row = service.exchange_detail(runtime(), exchange_id)
    if row is None:
        err_console().print(f"no exchange {exchange_id}")
        raise typer.Exit(EXIT_NOT_FOUND)
    if as_json:
        typer.echo(orjson.dumps(row))
        return
    out = console(width=200)
    for key, value in row.items():
        out.print(f"[bold]{key}[/]: {value}", highlight=False)


@app.command()
def queue(
    status: Annotated[str | None, typer.Option(help="pending | running | done | failed | dead_letter")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 100,
    as_json: JsonOpt = False,
) -> None:
    """Scheduled runs (the work queue), newest first."""
    from gateway.db.models import WorkStatus
    from gateway.exchanges import service

    rows = service.list_work(runtime(), status=WorkStatus(status) if status else None, limit=limit)
    emit(rows, as_json, ("id", "partner", "slot", "status", "attempts", "claimed_by", "error_code"), "work queue")


@app.command()
def overdue(as_json: JsonOpt = False) -> None:
    """Outbound exchanges past their acknowledgment deadline (raises their alerts). Exit 1 if any."""
    from gateway.exchanges import service

    rows = service.overdue(runtime())
    emit(rows, as_json, ("id", "partner", "format", "status", "ack_due_at", "sha256"), "overdue acknowledgments")
    raise typer.Exit(EXIT_FAILED if rows else 0)


@app.command()
def alerts(
    all_: Annotated[bool, typer.Option("--all", help="Include resolved alerts")] = False, as_json: JsonOpt = False
) -> None:
    """Open alerts: overdue acknowledgments, envelope failures, quarantines, dead letters."""
    from gateway.exchanges import service

    rows = service.list_alerts(runtime(), open_only=not all_)
    emit(rows, as_json, ("id", "kind", "partner", "exchange_id", "message", "created_at", "resolved_at"), "alerts")


def _with_partner(rt: Runtime, partner_id: str) -> Any:
    from gateway.exchanges.locks import partner_lock

    lock = partner_lock(rt.engine, rt.data_dir, partner_id)
    if not lock.acquire():
        err_console().print(f"partner {partner_id} is busy (another worker holds it); try again")
        raise typer.Exit(EXIT_BUSY)
    return lock


@app.command()
def run(partner: str, as_json: JsonOpt = False) -> None:
    """Run PARTNER's job now: pull its files, then send what is queued for it."""
    from gateway.exchanges.jobs import run_partner

    rt = runtime()
    profile = profile_of(rt, partner)
    with _with_partner(rt, partner):
        report = run_partner(rt, profile)
    rows = [r.as_dict() for r in report.received]
    rows += [{"exchange_id": s.exchange_id, "status": s.status.value, "error_code": s.error_code} for s in report.sent]
    emit(
        rows,
        as_json,
        ("exchange_id", "status", "format", "records", "rejected", "duplicate", "error_code"),
        f"run of {partner}",
    )
    failed = any(r.status.value == "quarantined" for r in report.received) or any(s.error_code for s in report.sent)
    raise typer.Exit(EXIT_FAILED if failed else 0)


@app.command()
def intake(
    partner: str,
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="File as received from PARTNER")],
    chunk_size: Annotated[
        int | None, typer.Option(min=1, help="Records per committed chunk (default: the runtime's, 20000)")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Take in a local FILE received from PARTNER outside its transport (same checks as a pull; read
    from disk in passes, never whole into memory unless the partner's envelope needs it)."""
    import dataclasses

    from gateway.exchanges import intake as intake_module

    rt = runtime() if chunk_size is None else dataclasses.replace(runtime(), chunk_size=chunk_size)
    profile = profile_of(rt, partner)
    with _with_partner(rt, partner), file.open("rb") as received:
        result = intake_module.receive(rt, profile, name=file.name, file=received)
    emit(
        [result.as_dict()],
        as_json,
        ("exchange_id", "status", "format", "records", "good", "rejected", "duplicates", "duplicate", "error_code"),
        "intake",
    )
    raise typer.Exit(EXIT_FAILED if result.status.value == "quarantined" else 0)


@app.command()
def send(
    partner: str,
    records: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="JSON Lines as `csgate parse` prints")],
    now: Annotated[bool, typer.Option("--now/--queue-only", help="Send at once, or leave it for the next run")] = True,
) -> None:
    """Render RECORDS in PARTNER's outbound format, envelope and queue them; send at once by default."""
    from gateway.cli import _read_jsonl
    from gateway.exchanges import outbound

    rt = runtime()
    profile = profile_of(rt, partner)
    with records.open("rb") as stream:
        exchange_id = outbound.queue(rt, profile, records=list(_read_jsonl(stream)))
    typer.echo(f"exchange {exchange_id} queued")
    if now:
        with _with_partner(rt, partner):
            result = outbound.send(rt, profile, exchange_id)
        typer.echo(
            f"exchange {exchange_id} {result.status.value}{f' ({result.error_code})' if result.error_code else ''}"
        )
        raise typer.Exit(EXIT_FAILED if result.error_code else 0)


@app.command()
def retry(
    exchange_ids: Annotated[list[int] | None, typer.Argument(help="Dead-lettered outbound exchanges")] = None,
    work: Annotated[list[int] | None, typer.Option("--work", help="Dead-lettered scheduled runs")] = None,
    all_dead: Annotated[bool, typer.Option("--all-dead", help="Every dead letter")] = False,
    now: Annotated[bool, typer.Option("--now/--queue-only", help="Send re-queued exchanges at once")] = True,
) -> None:
    """Re-queue dead letters, one by one or all; re-queued exchanges are sent at once by default."""
    from gateway.errors import GatewayError
    from gateway.exchanges import outbound, service

    rt = runtime()
    if not (exchange_ids or work or all_dead):
        err_console().print("name exchange ids, --work ids, or --all-dead")
        raise typer.Exit(EXIT_FAILED)
    try:
        done = service.requeue_dead(rt, exchange_ids=exchange_ids, work_ids=work, all_dead=all_dead)
    except GatewayError as exc:
        err_console().print(f"{exc.code}: {exc.message}")
        raise typer.Exit(EXIT_FAILED) from None
    typer.echo(f"re-queued exchanges {done.exchanges or '-'}, scheduled runs {done.work or '-'}")
    failed = 0
    for exchange_id in done.exchanges if now else []:
        row = service.exchange_detail(rt, exchange_id)
        assert row is not None  # it was just re-queued
        partner = row["partner"]
        with _with_partner(rt, partner):
            result = outbound.send(rt, profile_of(rt, partner), exchange_id)
        failed += result.error_code is not None
        typer.echo(
            f"exchange {exchange_id} {result.status.value}{f' ({result.error_code})' if result.error_code else ''}"
        )
    raise typer.Exit(EXIT_FAILED if failed or not (done.exchanges or done.work) else 0)


@app.command()
def purge(
    partner: Annotated[str | None, typer.Option(help="Only this partner")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Count what would go; change nothing")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Apply each partner's retention_days now (the scheduler does it hourly): destroy the records and
    stored files of exchanges older than that, keeping each exchange's log row (no personal data)."""
    from gateway.exchanges import retention

    report = retention.purge(runtime(), partner=partner, dry_run=dry_run)
    if partner is not None and not report.partners:
        err_console().print(f"no partner {partner} with a retention (see `csgate partners list`)")
        raise typer.Exit(EXIT_NOT_FOUND)
    rows = [p.as_dict() for p in report.partners]
    emit(
        rows,
        as_json,
        ("partner", "retention_days", "cutoff", "exchanges", "staged_records", "rejects", "quarantine_entries"),
        "retention (dry run: nothing changed)" if dry_run else "retention applied",
    )
    verb = "would be deleted (if no other exchange shares them)" if dry_run else "deleted"
    err_console().print(f"stored files {verb}: {report.files}")
