"""``csgate`` — the command line. The adapter commands are the adapters' public face (design.md §3).

Exit codes are a contract scripts rely on: 0 all records good, 1 some records rejected, 2 file-level
failure, 3 no adapter recognises the file (``detect``), 64 usage error. Bad input never produces a
traceback: every problem is a JSON line with a code.
"""

from __future__ import annotations

import gzip
import io
import shutil
import sys
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from decimal import Decimal
from pathlib import Path
from typing import IO, Annotated, Any, BinaryIO

import orjson
import typer
from typer.exceptions import TyperException

import adapters
from adapters.base import Adapter, Parsed, Rejected, Result, render_checked
from adapters.errors import AdapterError, FileStructureError, RecordError, UnknownAdapterError
from gateway.api.cli import app as api_app
from gateway.api.server import serve
from gateway.audit.cli import app as audit_app
from gateway.cases.cli import app as cases_app
from gateway.exchanges.cli import app as exchange_app
from gateway.exchanges.quarantine_cli import app as quarantine_app
from gateway.partners.cli import app as partners_app
from gateway.security.cli import app as keys_app
from gateway.terminal import console, err_console

EXIT_OK, EXIT_REJECTS, EXIT_FILE, EXIT_NO_MATCH, EXIT_USAGE = 0, 1, 2, 3, 64
PROGRESS_MIN_BYTES = 8 << 20
HEAD_BYTES = 64 << 10
FLUSH_EVERY = 2048

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="csgate: child support (IV-D) data exchange gateway. Exit codes: 0 all good, 1 records rejected, "
    "2 file-level failure, 3 format not recognised, 64 usage error.",
)
db_app = typer.Typer(no_args_is_help=True, help="Database schema management.")
app.add_typer(db_app, name="db")
app.add_typer(partners_app, name="partners")
app.add_typer(keys_app, name="keys")
app.add_typer(exchange_app, name="exchange")
app.add_typer(quarantine_app, name="quarantine")
app.add_typer(audit_app, name="audit")
app.add_typer(api_app, name="api")
app.add_typer(cases_app, name="cases")

FileArg = Annotated[Path, typer.Argument(help="Input file (.gz is read transparently)", exists=False)]
FormatOpt = Annotated[str | None, typer.Option("--format", "-f", help="Adapter key (see `csgate formats`)")]


class UsageProblem(Exception):
    """Bad arguments or an unknown format: exit 64 with a one-line message."""


# --------------------------------------------------------------------------- helpers


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def dumps(obj: Any) -> bytes:
    """One JSON line; Decimal as a string so no cent is lost to floating point."""
    return orjson.dumps(obj, default=_json_default, option=orjson.OPT_APPEND_NEWLINE)


def open_input(path: Path) -> BinaryIO:
    """Open a file for reading, transparently gunzipping by magic number (not by name)."""
    if str(path) == "-":
        return sys.stdin.buffer
    if not path.is_file():
        raise UsageProblem(f"no such file: {path}")
    raw = path.open("rb")
    if raw.read(2) == b"\x1f\x8b":
        raw.seek(0)
        # GzipFile.readline is Python-level; a BufferedReader over it reads lines in C
        return io.BufferedReader(gzip.GzipFile(fileobj=raw), 1 << 20)
    raw.seek(0)
    return raw


def read_head(path: Path) -> bytes:
    with open_input(path) as fh:
        return fh.read(HEAD_BYTES)


def pick_adapter(fmt: str | None, path: Path) -> Adapter:
    if fmt:
        try:
            return adapters.get(fmt)
        except UnknownAdapterError as exc:
            raise UsageProblem(str(exc)) from None
    found = adapters.detect(read_head(path))
    if found is None:
        raise UsageProblem(f"no adapter recognises {path}; pass --format (see `csgate formats`)")
    return found


class _Counting(io.RawIOBase):
    """Wraps the compressed file to report progress in bytes actually read from disk."""

    def __init__(self, raw: BinaryIO, advance: Callable[[int], None]) -> None:
        self.raw, self.advance = raw, advance

    def readable(self) -> bool:
        return True

    def readinto(self, buf: Any) -> int:
        n = self.raw.readinto(buf)  # type: ignore[attr-defined]
        self.advance(n or 0)
        return n or 0


def _with_progress(path: Path, run: Callable[[BinaryIO], int]) -> int:
    """Run ``run(stream)``; on a terminal and a large file, show a progress bar on stderr."""
    size = path.stat().st_size if str(path) != "-" and path.is_file() else 0
    if size < PROGRESS_MIN_BYTES or not sys.stderr.isatty():
        with open_input(path) as plain:
            return run(plain)
    from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn, TransferSpeedColumn

    columns = (BarColumn(), DownloadColumn(), TransferSpeedColumn(), TimeRemainingColumn())
    with Progress(*columns, console=err_console(), transient=True) as progress, path.open("rb") as raw:
        task = progress.add_task("parse", total=size)
        counted = io.BufferedReader(_Counting(raw, lambda n: progress.advance(task, n)), 1 << 20)
        gz = counted.peek(2)[:2] == b"\x1f\x8b"
        if gz:
            return run(io.BufferedReader(gzip.GzipFile(fileobj=counted), 1 << 20))
        return run(counted)


def result_json(r: Result) -> dict[str, Any]:
    if isinstance(r, Parsed):
        return {"record_no": r.record_no, "type": r.type, "line": r.line, "data": r.data}
    return {
        "record_no": r.record_no,
        "line": r.line,
        "type": r.type,
        "error": {"code": r.code, "field": r.field, "start": r.start, "end": r.end, "message": r.message},
    }


def drain(results: Iterator[Result], emit: Callable[[Result], None]) -> tuple[int, int, FileStructureError | None]:
    """Consume a parse; never raise. An unexpected exception is reported as a file-level failure."""
    good = bad = 0
    try:
        for r in results:
            if isinstance(r, Rejected):
                bad += 1
            else:
                good += 1
            emit(r)
    except FileStructureError as exc:
        return good, bad, exc
    except Exception as exc:  # an adapter bug must still not print a traceback at an operator
        return good, bad, FileStructureError("ADAPTER_FAILURE", f"adapter stopped unexpectedly: {type(exc).__name__}")
    return good, bad, None


def file_error_json(exc: FileStructureError) -> dict[str, Any]:
    out: dict[str, Any] = {"code": exc.code, "message": exc.message}
    if len(exc.problems) > 1:
        out["problems"] = [{"code": c, "message": m} for c, m in exc.problems]
    return {"file_error": out}


def exit_code(bad: int, file_error: FileStructureError | None) -> int:
    return EXIT_FILE if file_error else EXIT_REJECTS if bad else EXIT_OK


# --------------------------------------------------------------------------- commands


@app.command()
def formats(
    key: Annotated[str | None, typer.Argument(help="One adapter: its source and which parts are confirmed")] = None,
) -> None:
    """List the registered adapters: key, title, direction, source document and status; with KEY, that
    adapter's whole source note (which positions are confirmed, derived or our choice, and where)."""
    from rich.table import Table

    if key is not None:
        try:
            one = adapters.get(key)
        except UnknownAdapterError as exc:
            raise UsageProblem(str(exc)) from None
        for label, value in (
            ("key", one.key),
            ("title", one.title),
            ("direction", one.direction.value),
            ("source", one.source.document),
            ("version", one.source.version),
            ("status", one.source.status),
            ("notes", one.source.notes or "-"),
        ):
            typer.echo(f"{label}: {value}")
        return
    table = Table(title="csgate formats")
    for col in ("key", "title", "direction", "source", "status"):
        table.add_column(col)
    for a in adapters.available():
        table.add_row(a.key, a.title, a.direction.value, f"{a.source.document} ({a.source.version})", a.source.status)
    console(width=200).print(table)


@app.command()
def detect(file: FileArg) -> None:
    """Print the key of the adapter that recognises FILE (exit 3 when none does)."""
    found = adapters.detect(read_head(file))
    if found is None:
        err_console().print(f"no adapter recognises {file}")
        raise typer.Exit(EXIT_NO_MATCH)
    typer.echo(found.key)


@app.command()
def parse(file: FileArg, fmt: FormatOpt = None) -> None:
    """Parse FILE to JSON Lines on stdout: one object per record, errors inline, file error last."""
    adapter = pick_adapter(fmt, file)
    out = sys.stdout.buffer
    buf: list[bytes] = []

    def emit(r: Result) -> None:
        buf.append(dumps(result_json(r)))
        if len(buf) >= FLUSH_EVERY:
            out.write(b"".join(buf))
            buf.clear()

    def run(stream: BinaryIO) -> int:
        _, bad, ferr = drain(adapter.parse(stream), emit)
        if ferr is not None:
            buf.append(dumps(file_error_json(ferr)))
        out.write(b"".join(buf))
        out.flush()
        return exit_code(bad, ferr)

    raise typer.Exit(_with_progress(file, run))


@app.command()
def validate(
    file: FileArg,
    fmt: FormatOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Summary as one JSON object")] = False,
) -> None:
    """Check FILE without printing records: a summary of good records, rejects by code, file errors."""
    adapter = pick_adapter(fmt, file)
    types: Counter[str] = Counter()
    codes: Counter[str] = Counter()

    def emit(r: Result) -> None:
        if isinstance(r, Parsed):
            types[r.type] += 1
        else:
            codes[r.code] += 1

    def run(stream: BinaryIO) -> int:
        good, bad, ferr = drain(adapter.parse(stream), emit)
        summary = {
            "file": str(file),
            "format": adapter.key,
            "good": good,
            "rejected": bad,
            "by_type": dict(types),
            "rejects_by_code": dict(codes),
            **(file_error_json(ferr) if ferr else {}),
        }
        if as_json:
            sys.stdout.buffer.write(dumps(summary))
        else:
            _print_summary(summary)
        return exit_code(bad, ferr)

    raise typer.Exit(_with_progress(file, run))


def _print_summary(s: Mapping[str, Any]) -> None:
    con = console()
    con.print(f"[bold]{s['file']}[/] ({s['format']}): {s['good']} good, {s['rejected']} rejected")
    for t, n in sorted(s["by_type"].items()):
        con.print(f"  {t}: {n}")
    for c, n in sorted(s["rejects_by_code"].items()):
        con.print(f"  [yellow]reject {c}[/]: {n}")
    if "file_error" in s:
        fe = s["file_error"]
        con.print(f"  [red]file error {fe['code']}[/]: {fe['message']}")


def _read_jsonl(stream: IO[bytes]) -> Iterator[dict[str, Any]]:
    """JSON Lines, streamed; or one JSON document (an object, or an array of objects) spread over several
    lines, such as a pretty-printed ``case.json`` a caseworker wrote: its first line alone is not JSON."""
    first = True
    for n, line in enumerate(stream, start=1):
        if not line.strip():
            continue
        try:
            obj = orjson.loads(line)
        except orjson.JSONDecodeError:
            if not first:
                raise UsageProblem(f"input line {n} is not JSON") from None
            try:
                obj = orjson.loads(line + stream.read())
            except orjson.JSONDecodeError:
                raise UsageProblem("input is neither JSON Lines nor one JSON document") from None
        first = False
        for item in obj if isinstance(obj, list) else [obj]:
            if not isinstance(item, dict):
                raise UsageProblem(f"input line {n} is not a JSON object")
            if "error" in item or "file_error" in item:
                continue  # rejected records and file errors from `parse` cannot be rendered
            yield item


def _write_rendered(chunks: Iterable[bytes], output: Path | None) -> int:
    """Render fully into a spool first, so a failure never leaves a partial file behind."""
    with tempfile.SpooledTemporaryFile(max_size=32 << 20) as spool:
        try:
            for chunk in chunks:
                spool.write(chunk)
        except RecordError as exc:  # render_checked: nothing else, whatever the input
            sys.stdout.buffer.write(dumps({"error": {"code": exc.code, "field": exc.field, "message": exc.message}}))
            return EXIT_REJECTS
        spool.seek(0)
        if output is None:
            shutil.copyfileobj(spool, sys.stdout.buffer)
            sys.stdout.buffer.flush()
        else:
            tmp = output.with_name(f".{output.name}.part")
            with tmp.open("wb") as fh:
                shutil.copyfileobj(spool, fh)
            tmp.replace(output)
    return EXIT_OK


@app.command()
def render(
    fmt: Annotated[str, typer.Option("--format", "-f", help="Adapter key")],
    infile: Annotated[Path | None, typer.Argument(help="JSON Lines from `parse` (default stdin)")] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write here instead of stdout")] = None,
) -> None:
    """Render JSON Lines (the `data` objects of `parse`) back into the partner format."""
    try:
        adapter = adapters.get(fmt)
    except UnknownAdapterError as exc:
        raise UsageProblem(str(exc)) from None
    if infile is not None and not infile.is_file():
        raise UsageProblem(f"no such file: {infile}")
    with infile.open("rb") if infile else sys.stdin.buffer as stream:
        raise typer.Exit(_write_rendered(render_checked(adapter, _read_jsonl(stream)), output))


@app.command()
def convert(
    source: Annotated[str, typer.Option("--from", help="Adapter key of FILE")],
    target: Annotated[str, typer.Option("--to", help="Adapter key to write")],
    file: FileArg,
    output: Annotated[Path | None, typer.Option("--output", "-o")] = None,
) -> None:
    """Convert FILE from one format to another through the canonical model.

    Each good record reaches the target renderer as ``{"type", "data", "canonical"}``; rejected records
    are reported on stderr and left out, and a file-level failure stops the conversion (exit 2).
    """
    try:
        src, dst = adapters.get(source), adapters.get(target)
    except UnknownAdapterError as exc:
        raise UsageProblem(str(exc)) from None
    rejected: list[Rejected] = []
    with open_input(file) as stream:
        results = list_or_fail(src.parse(stream), rejected)
    if isinstance(results, FileStructureError):
        sys.stdout.buffer.write(dumps(file_error_json(results)))
        raise typer.Exit(EXIT_FILE)
    for r in rejected:
        err_console().print(f"record {r.record_no} (line {r.line}) rejected: {r.code} {r.message}")
    records = ({"type": p.type, "data": p.data, "canonical": p.canonical} for p in results)
    code = _write_rendered(render_checked(dst, records), output)
    raise typer.Exit(code or (EXIT_REJECTS if rejected else EXIT_OK))


def list_or_fail(results: Iterator[Result], rejected: list[Rejected]) -> list[Parsed] | FileStructureError:
    good: list[Parsed] = []

    def emit(r: Result) -> None:
        (rejected if isinstance(r, Rejected) else good).append(r)  # type: ignore[arg-type]

    _, _, ferr = drain(results, emit)
    return ferr if ferr is not None else good


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument()] = "head") -> None:
    """Create or migrate the database named by CSGATE_DATABASE_URL (default: embedded SQLite)."""
    from gateway.config import get_settings
    from gateway.db.migrate import upgrade

    url = get_settings().database_url
    upgrade(url, revision)
    typer.echo(f"database at revision {revision}")


app.command("serve")(serve)


def main(argv: list[str] | None = None) -> None:
    """Entry point: maps usage errors to exit 64 and keeps tracebacks away from bad input."""
    try:
        rv = app(args=argv, standalone_mode=False)
    except UsageProblem as exc:
        err_console().print(f"usage: {exc}")
        sys.exit(EXIT_USAGE)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        sys.exit(130)
    except TyperException as exc:  # typer's own usage errors (it vendors click)
        if type(exc).__name__ == "NoArgsIsHelpError":
            exc.show()  # type: ignore[attr-defined]
            sys.exit(EXIT_OK)
        message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
        err_console().print(f"usage: {message}")
        sys.exit(EXIT_USAGE)
    except AdapterError as exc:  # e.g. a broken mapping or plugin: loud, one line, non-zero
        err_console().print(f"error: {exc}")
        sys.exit(EXIT_FILE)
    sys.exit(rv if isinstance(rv, int) else 0)


if __name__ == "__main__":
    main()
