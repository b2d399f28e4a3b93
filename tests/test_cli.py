"""The CLI contract (design.md §3): JSON Lines, exit codes, no tracebacks, gz input, streaming."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.adapters.fixturekit import FIXTURES

DED = FIXTURES / "employer" / "nacha-ded"
CSGATE = [sys.executable, "-m", "gateway.cli"]


def run(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run([*CSGATE, *args], input=stdin, capture_output=True, timeout=120, env=env)


def lines(out: bytes) -> list[dict]:  # type: ignore[type-arg]
    return [json.loads(line) for line in out.splitlines()]


def test_formats_lists_every_adapter() -> None:
    import adapters

    r = run("formats")
    assert r.returncode == 0
    for a in adapters.available():
        assert a.key in r.stdout.decode()


def test_formats_key_gives_the_adapters_whole_source_note() -> None:
    import adapters

    a = adapters.get("ndnh-w4")
    r = run("formats", "ndnh-w4")
    out = r.stdout.decode()
    assert r.returncode == 0 and f"status: {a.source.status}\n" in out and f"notes: {a.source.notes}\n" in out
    unknown = run("formats", "no-such-format")
    assert unknown.returncode == 64 and b"known formats" in unknown.stderr and b"Traceback" not in unknown.stderr


def test_detect_names_the_format_or_exits_3(tmp_path: Path) -> None:
    r = run("detect", str(DED / "ded-single-payment.ach"))
    assert (r.returncode, r.stdout.strip()) == (0, b"nacha-ded")
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"\x00\x01 nothing known here")
    assert run("detect", str(junk)).returncode == 3


def test_parse_good_file_exit_0_one_object_per_record() -> None:
    r = run("parse", str(DED / "ded-five-cases.ach"))
    assert r.returncode == 0, r.stderr
    out = lines(r.stdout)
    assert [o["type"] for o in out] == ["file_header", "batch_header"] + ["entry"] * 5 + [
        "batch_control",
        "file_control",
    ]
    entry = out[2]
    assert entry["record_no"] == 3 and entry["data"]["amount"] == "250.00"
    assert entry["data"]["ded"]["pay_date"] == "2025-01-10" and len(entry["data"]["addenda"]) == 1


def test_parse_rejects_exit_1_with_coded_error() -> None:
    r = run("parse", "--format", "nacha-ded", str(DED / "invalid-ded-pay-date-month-13.ach"))
    assert r.returncode == 1
    err = next(o for o in lines(r.stdout) if "error" in o)["error"]
    assert err["code"] == "DED_PAY_DATE" and err["field"] == "payment_related_information"
    assert (err["start"], err["end"]) == (4, 83)


def test_file_error_is_the_last_line_exit_2() -> None:
    r = run("parse", str(DED / "invalid-credit-total.ach"))
    assert r.returncode == 2
    out = lines(r.stdout)
    assert out[-1]["file_error"]["code"] == "BATCH_CREDIT_TOTAL"
    assert sum(1 for o in out if o.get("type") == "entry") == 5
    assert b"Traceback" not in r.stderr


@pytest.mark.parametrize(
    "args", [("parse", "--format", "nope", "x"), ("parse", "/no/such/file"), ("bogus",), ("render",)]
)
def test_usage_errors_exit_64(args: tuple[str, ...]) -> None:
    r = run(*args)
    assert r.returncode == 64, (r.stdout, r.stderr)
    assert b"Traceback" not in r.stderr


def test_gz_input_is_read_transparently(tmp_path: Path) -> None:
    packed = tmp_path / "payments.dat"  # no .gz suffix: detection is by magic number
    packed.write_bytes(gzip.compress((DED / "ded-five-cases.ach").read_bytes()))
    plain = run("parse", str(DED / "ded-five-cases.ach"))
    r = run("parse", str(packed))
    assert r.returncode == 0 and r.stdout == plain.stdout


def test_parse_render_round_trip_through_the_cli(tmp_path: Path) -> None:
    parsed = run("parse", str(DED / "ded-five-cases.ach")).stdout
    rendered = run("render", "--format", "nacha-ded", stdin=parsed)
    assert rendered.returncode == 0
    assert rendered.stdout == (DED / "ded-five-cases.ach").read_bytes()
    out = tmp_path / "out.ach"
    assert run("render", "--format", "nacha-ded", "--output", str(out), stdin=parsed).returncode == 0
    assert out.read_bytes() == rendered.stdout


def test_render_failure_leaves_no_partial_output(tmp_path: Path) -> None:
    parsed = lines(run("parse", str(DED / "ded-five-cases.ach")).stdout)
    parsed[2]["data"]["receiver_name"] = "A NAME MUCH TOO LONG FOR THE FIELD"
    out = tmp_path / "out.ach"
    r = run("render", "-f", "nacha-ded", "-o", str(out), stdin=b"\n".join(json.dumps(o).encode() for o in parsed))
    assert r.returncode == 1 and not out.exists() and not list(tmp_path.iterdir())
    assert lines(r.stdout)[0]["error"]["field"] == "receiver_name"


def test_validate_summarises(tmp_path: Path) -> None:
    r = run("validate", "--json", str(DED / "invalid-ded-ssn-area-000.ach"))
    assert r.returncode == 1
    summary = json.loads(r.stdout)
    assert summary["rejects_by_code"] == {"DED_SSN": 1} and summary["by_type"]["entry"] == 4


def test_junk_never_prints_a_traceback(tmp_path: Path) -> None:
    junk = tmp_path / "junk.ach"
    junk.write_bytes(b"101" + os.urandom(3000))
    r = run("parse", "--format", "nacha-ded", str(junk))
    assert r.returncode == 2 and b"Traceback" not in r.stderr
    assert "file_error" in lines(r.stdout)[-1]


def test_parse_streams_with_bounded_memory(tmp_path: Path) -> None:
    """Peak RSS of `csgate parse` must not grow with the file: compare a 1x and a 20x file."""
    base = (DED / "ded-five-cases.ach").read_bytes().splitlines(keepends=True)
    header, batch, trailer = base[:2], base[2:12], base[12:14]

    def build(copies: int) -> Path:
        path = tmp_path / f"big-{copies}.ach"
        with path.open("wb") as fh:
            fh.writelines(header)
            for _ in range(copies):
                fh.writelines(batch)
            fh.writelines(trailer)  # totals are wrong on purpose: the parse still streams every record
        return path

    def peak(path: Path) -> float:
        proc = subprocess.Popen([*CSGATE, "parse", str(path)], stdout=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        return usage.ru_maxrss / 1024

    small, large = peak(build(200)), peak(build(4000))  # 2 k vs 40 k physical records
    assert large < small + 25, (small, large)


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_db_upgrade_creates_the_schema(backend: str, request: pytest.FixtureRequest) -> None:
    from gateway.db.migrate import current, head

    url = request.getfixturevalue("sqlite_url" if backend == "sqlite" else "pg_url")
    env = {**os.environ, "CSGATE_DATABASE_URL": url}
    r = subprocess.run([*CSGATE, "db", "upgrade"], capture_output=True, timeout=120, env=env)
    assert r.returncode == 0, r.stderr
    assert current(url) == head() is not None


def test_render_of_a_value_of_the_wrong_type_is_a_coded_error_not_a_traceback() -> None:
    parsed = lines(run("parse", str(DED / "ded-five-cases.ach")).stdout)
    entry = next(o for o in parsed if o.get("type") == "entry")
    entry["data"]["addenda"] = 5  # a number where the list of addenda records belongs
    r = run("render", "-f", "nacha-ded", stdin=b"\n".join(json.dumps(o).encode() for o in parsed))
    assert r.returncode == 1 and b"Traceback" not in r.stderr
    assert lines(r.stdout)[-1]["error"] == {
        "code": "RENDER_VALUE",
        "field": "addenda",
        "message": "addenda must be a list of addenda records",
    }
