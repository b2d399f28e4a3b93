"""``csgate cases`` — load the case registry, feed inbound exchanges to it, read a case's findings.

Exit codes: 0 done, 1 some lines of an extract were rejected (the others are loaded), 2 not found,
3 refused (not allowed to see it), 78 configuration missing (no key store: `csgate keys init`).
"""

from __future__ import annotations

import getpass
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer

from gateway.exchanges.cli import EXIT_FAILED, EXIT_NOT_FOUND, JsonOpt, emit, runtime
from gateway.terminal import console, err_console

EXIT_REFUSED = 3

app = typer.Typer(no_args_is_help=True, help="Cases: the registry, the feed of partner findings, disclosure.")


@app.command("import")
def import_(
    extract: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help='JSON Lines: {"caseworker", "case"}')],
    as_json: JsonOpt = False,
) -> None:
    """Load the state system's case extract (one case per line); rejected lines are listed with their
    line number and code, and the other lines are loaded."""
    from gateway.cases import registry

    def lines() -> Iterator[tuple[int, Any]]:
        with extract.open("rb") as stream:
            for n, raw in enumerate(stream, start=1):
                if raw.strip():
                    try:
                        yield n, orjson.loads(raw)
                    except orjson.JSONDecodeError:
                        yield n, None  # rejected by the registry as a malformed line

    report = registry.import_cases(runtime(), lines())
    columns = ("cases_added", "cases_updated", "persons_added", "persons_updated", "backfilled", "iwos", "rejected")
    emit([report.as_dict()], as_json, columns, "case import")
    for err in report.errors:
        err_console().print(f"line {err.line}: {err.code}: {err.message}", markup=False)
    raise typer.Exit(EXIT_FAILED if report.errors else 0)


@app.command()
def feed(
    exchange_id: Annotated[int | None, typer.Argument(help="An inbound exchange; default: all not yet fed")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Match inbound exchanges' records to case participants (intake does it; this catches up)."""
    from gateway.cases import feed as feed_module

    rt = runtime()
    if exchange_id is None:
        reports = feed_module.feed_pending(rt)
    else:
        one = feed_module.feed(rt, exchange_id)
        reports = [one] if one is not None else []
    columns = ("exchange_id", "matched", "findings", "fvi_set", "iwos", "answers")
    emit([r.as_dict() for r in reports], as_json, columns, "case feed")


@app.command()
def show(
    case_id: str,
    court_order: Annotated[
        str | None, typer.Option(help="Lifts the family violence indicator for this disclosure (audited)")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """A case's participants and what partners reported about where they live and work (audited;
    a participant with the family violence indicator set is withheld without a court order)."""
    from gateway.cases import disclosure
    from gateway.errors import AccessDenied

    requester = disclosure.Requester(f"cli:{getpass.getuser()}", "admin")
    try:
        view = disclosure.whereabouts(runtime(), case_id, requester, override=court_order)
    except disclosure.CaseNotFound:
        err_console().print(f"no case {case_id}")
        raise typer.Exit(EXIT_NOT_FOUND) from None
    except AccessDenied as exc:
        err_console().print(f"refused: {exc.message}", markup=False)
        raise typer.Exit(EXIT_REFUSED) from None
    if as_json:
        typer.echo(orjson.dumps(view))
        return
    out = console(width=200)
    out.print(f"case {view['case_id']} ({view['case_type']}, FIPS {view['fips']}, caseworker {view['caseworker']})")
    for p in view["participants"]:
        who = f"{p['role']} {p['first_name'] or ''} {p['last_name'] or ''} (SSN ...{p['ssn_last4'] or '----'})"
        out.print(who.replace("  ", " "), markup=False, highlight=False)
        if "withheld" in p:
            out.print("    withheld: family violence indicator", markup=False)
            continue
        for f in p["findings"]:
            line = f"    {f['as_of'] or '?':10}  {f['kind']:12} {f['source']:24} {_summary(f['reported'])}"
            out.print(line, markup=False, highlight=False)


@app.command()
def fvi(
    case_id: str,
    person_id: Annotated[int, typer.Argument(help="The participant's id (`csgate cases show --json`)")],
    clear: Annotated[bool, typer.Option("--clear", help="Clear it instead of setting it")] = False,
    court_order: Annotated[str | None, typer.Option(help="Required to clear: the order that ends it")] = None,
) -> None:
    """Set a participant's family violence indicator, or clear it with a court order's reference
    (audited; see gateway/cases/fvi.py)."""
    from gateway.cases import disclosure
    from gateway.cases import fvi as fvi_module
    from gateway.errors import AccessDenied

    requester = disclosure.Requester(f"cli:{getpass.getuser()}", "admin")
    try:
        changed = fvi_module.change(
            runtime(), case_id, person_id, requester, protect=not clear, court_order=court_order
        )
    except disclosure.CaseNotFound as exc:
        err_console().print(str(exc), markup=False)
        raise typer.Exit(EXIT_NOT_FOUND) from None
    except AccessDenied as exc:
        err_console().print(f"refused: {exc.message}", markup=False)
        raise typer.Exit(EXIT_REFUSED) from None
    state = "cleared" if clear else "set"
    err_console().print(f"family violence indicator {state}" if changed else f"already {state}: nothing changed")


def _summary(reported: dict[str, object]) -> str:
    """One line of a finding: an address's lines and place, or an employer's name and FEIN."""
    if reported.get("kind") == "employer":
        return f"{reported.get('name') or ''} FEIN {reported.get('fein') or '-'}"
    parts = [reported.get(k) for k in ("line1", "line2", "city", "state", "zip5")]
    return ", ".join(str(p) for p in parts if p) or str(reported.get("kind"))


@app.command()
def iwos(
    status: Annotated[str | None, typer.Option(help="pending | queued | failed")] = None,
    queue: Annotated[bool, typer.Option("--queue", help="Queue the pending ones to the e-IWO partner now")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Income withholding notices new hires called for: due time, status, the outbound exchange."""
    from gateway.cases import iwo

    rt = runtime()
    if queue:
        exchange_id = iwo.queue_due(rt)
        err_console().print(f"queued in exchange {exchange_id}" if exchange_id else "nothing queued (see alerts)")
    rows = iwo.list_notices(rt, status=status)
    columns = (
        "id",
        "case_id",
        "document_tracking_id",
        "employer_fein",
        "status",
        "due_at",
        "exchange_id",
        "error_code",
        "answer",
        "answer_reason",
    )
    emit(rows, as_json, columns, "income withholding notices")


@app.command()
def locate(
    case_id: str,
    person_id: Annotated[int, typer.Argument(help="The participant's id (`csgate cases show --json`)")],
    partner: Annotated[
        list[str], typer.Option("--partner", help="A locate partner (fcr-input, or a state's csenet), repeatable")
    ],
    source: Annotated[list[str] | None, typer.Option("--source", help="FCR source codes; default ALL")] = None,
) -> None:
    """Ask the locate sources where a participant lives and works: the FCR, and other states by a CSENet
    quick locate (LO1); the answers reach the case by the feed."""
    from gateway.cases import disclosure
    from gateway.cases import locate as locate_module
    from gateway.errors import AccessDenied, ConfigError

    requester = disclosure.Requester(f"cli:{getpass.getuser()}", "admin")
    try:
        queued = locate_module.request(
            runtime(), case_id, person_id, requester, partners=partner, sources=source or ["ALL"]
        )
    except disclosure.CaseNotFound as exc:
        err_console().print(str(exc), markup=False)
        raise typer.Exit(EXIT_NOT_FOUND) from None
    except (AccessDenied, ConfigError) as exc:
        err_console().print(f"refused: {exc.message}", markup=False)
        raise typer.Exit(EXIT_REFUSED) from None
    except ValueError as exc:
        err_console().print(f"usage: {exc}", markup=False)
        raise typer.Exit(64) from None
    for name, exchange_id in queued.items():
        typer.echo(f"locate request queued to {name}: exchange {exchange_id}")
