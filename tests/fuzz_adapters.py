"""On-demand mutation fuzzing of every registered adapter (``make fuzz``; not part of ``make test``).

    .venv/bin/python -m tests.fuzz_adapters [--seconds 300] [--adapter KEY ...] [--seed N]

The conformance suite feeds each adapter a fixed handful of junk inputs on every test run; this runs for
as long as it is given, mutating every fixture of every adapter at random (bytes flipped, inserted and
deleted, lines dropped, doubled and swapped, fields blanked or filled with digits, files spliced and cut)
and holds each outcome to the adapter contract:

* parse yields only ``Parsed`` and ``Rejected`` and raises nothing but ``FileStructureError``; every
  error has a code and a message; reading ``canonical`` of a parsed record never raises;
* rendering the records a parse accepted (``render_checked``, as every caller renders) raises nothing
  but ``RecordError``, and its output parses without an exception;
* rendering a parsed record with one value replaced by a hostile one (wrong type, too long, control
  characters, not a number) raises nothing but ``RecordError``;
* no error message holds a fixture's personal values, nor a hostile value given in place of one.

Refusals that ``render_checked`` had to code (``RENDER_INPUT``: a value reached Python's own conversions
instead of a field check) are counted per adapter: not a fault, but each is a field check to add.

An input that breaks the parse contract is kept in ``fixtures/crashers/<key>/`` (named by its SHA-256),
where the conformance suite replays it on every run from then on; a render failure is printed with the
record that caused it. The seed is printed, so any run can be repeated exactly. Exit status 1 when
anything was found.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import io
import random
import sys
import time
import traceback
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any

import adapters
from adapters.base import Adapter, Parsed, Rejected, render_checked
from adapters.errors import FileStructureError, RecordError

from .adapters.fixturekit import FIXTURES, as_render_input, crashers_for, fixtures_for

Mutator = Callable[[random.Random, bytes, list[bytes]], bytes]
MARK = "QZXFUZZ"  # in every hostile text value: an error message that holds it echoes the value


def _flip(rng: random.Random, data: bytes, _: list[bytes]) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        if out:
            out[rng.randrange(len(out))] = rng.randrange(256)
    return bytes(out)


def _insert(rng: random.Random, data: bytes, _: list[bytes]) -> bytes:
    at = rng.randint(0, len(data))
    return data[:at] + rng.randbytes(rng.randint(1, 40)) + data[at:]


def _delete(rng: random.Random, data: bytes, _: list[bytes]) -> bytes:
    if not data:
        return data
    at = rng.randrange(len(data))
    return data[:at] + data[at + rng.randint(1, 60) :]


def _lines(rng: random.Random, data: bytes, _: list[bytes]) -> bytes:
    lines = data.split(b"\n")
    if len(lines) < 2:
        return data
    i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
    op = rng.randrange(4)
    if op == 0:
        del lines[i]
    elif op == 1:
        lines.insert(i, lines[j])
    elif op == 2:
        lines[i], lines[j] = lines[j], lines[i]
    else:
        lines[i] = lines[i][: rng.randint(0, len(lines[i]))]
    return b"\n".join(lines)


def _field(rng: random.Random, data: bytes, _: list[bytes]) -> bytes:
    """A run of bytes set to one value a fixed-width field might wrongly hold."""
    if not data:
        return data
    at, n = rng.randrange(len(data)), rng.randint(1, 12)
    fill = rng.choice([b" ", b"0", b"9", b"-", b"A", b".", b"\x00", b"\xe9"])
    return data[:at] + fill * min(n, len(data) - at) + data[at + n :]


def _splice(rng: random.Random, data: bytes, others: list[bytes]) -> bytes:
    other = rng.choice(others)
    return data[: rng.randint(0, len(data))] + other[rng.randint(0, len(other)) :]


def _cut(rng: random.Random, data: bytes, _: list[bytes]) -> bytes:
    return data[: rng.randint(0, len(data))]


def _crlf(rng: random.Random, data: bytes, _: list[bytes]) -> bytes:
    return data.replace(b"\n", b"\r\n") if rng.random() < 0.5 else data.replace(b"\n", b"")


MUTATORS: tuple[Mutator, ...] = (_flip, _flip, _insert, _delete, _lines, _lines, _field, _field, _splice, _cut, _crlf)


def mutate(rng: random.Random, data: bytes, others: list[bytes]) -> bytes:
    for _ in range(rng.choice((1, 1, 1, 2, 3))):
        data = rng.choice(MUTATORS)(rng, data, others)
    return data


def hostile(rng: random.Random) -> Any:
    """A value no field should accept quietly."""
    return rng.choice(
        [
            None,
            "",
            " ",
            MARK * 40,
            f"{MARK}\x00\x1b",
            f"{MARK}é",
            f"-{MARK}",
            -1,
            10**30,
            1.5,
            True,
            Decimal("NaN"),
            Decimal("-0.001"),
            Decimal("1E+40"),
            ["x"],
            {"k": "v"},
            dt.date(1, 1, 1),
            dt.datetime(2024, 1, 1, 12, 0),
            f"2024-13-45{MARK}",
        ]
    )


class Finding(Exception):
    pass


def _messages(items: Iterable[Any]) -> Iterable[str]:
    for item in items:
        if isinstance(item, Rejected):
            yield item.message
        elif isinstance(item, FileStructureError | RecordError):
            yield str(item)


def _check_messages(messages: Iterable[str], secrets: list[str]) -> None:
    for message in messages:
        for secret in secrets:
            if secret and secret in message:
                raise Finding(f"error message holds a personal or given value: {message!r}")


def parse_contract(adapter: Adapter, data: bytes, pii: list[str]) -> list[Parsed]:
    """Parse ``data`` as the contract says a parse ends; raise ``Finding`` for anything else."""
    parsed: list[Parsed] = []
    seen: list[Any] = []
    try:
        for item in adapter.parse(io.BytesIO(data)):
            if isinstance(item, Parsed):
                item.canonical  # noqa: B018 - reading it must never raise
                parsed.append(item)
            elif isinstance(item, Rejected):
                if not (item.code and item.code.upper() == item.code and item.message and item.record_no > 0):
                    raise Finding(f"rejection without a code, message or record number: {item!r}")
                seen.append(item)
            else:
                raise Finding(f"parse yielded a {type(item).__name__}")
    except FileStructureError as exc:
        if not (exc.code and exc.message):
            raise Finding("file error without a code or message") from None
        seen.append(exc)
    except Finding:
        raise
    except Exception as exc:
        raise Finding(f"parse raised {type(exc).__name__}: {traceback.format_exc(limit=-3)}") from exc
    _check_messages(_messages(seen), pii)
    adapter.detect(data[:4096])
    return parsed


def _origin(exc: BaseException) -> str:
    """The innermost project frame an exception passed through: the place a field check is missing."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if "/adapters/" in f.filename]
    here = f"{frames[-1].filename.split('/adapters/')[-1]}:{frames[-1].lineno}" if frames else "?"
    return f"{here} ({type(exc).__name__})"


def render_contract(
    adapter: Adapter, records: list[dict[str, Any]], secrets: list[str], stats: dict[str, int]
) -> bytes | None:
    """Render ``records``; None when refused with a ``RecordError``; ``Finding`` for anything else."""
    try:
        return b"".join(render_checked(adapter, records))
    except RecordError as exc:
        _check_messages([str(exc)], secrets)
        if exc.code == "RENDER_INPUT" and exc.__context__ is not None:  # where the value got through
            where = _origin(exc.__context__)
            stats[where] = stats.get(where, 0) + 1
        return None
    except Exception as exc:
        raise Finding(f"render raised {type(exc).__name__}: {traceback.format_exc(limit=-3)}") from exc


def one_case(
    adapter: Adapter, rng: random.Random, source: bytes, pii: list[str], others: list[bytes], stats: dict[str, int]
) -> None:
    data = mutate(rng, source, others)
    try:
        parsed = parse_contract(adapter, data, pii)
    except Finding as finding:
        raise Finding(f"{finding}", data) from None
    if not parsed or not getattr(adapter, "round_trip", True):
        return
    records = as_render_input(parsed)
    out = render_contract(adapter, records, pii, stats)
    if out is not None:
        parse_contract(adapter, out, pii)
    # one value replaced by a hostile one, in the JSON form ``csgate render`` reads (no canonical object)
    plain = [{"type": r["type"], "data": dict(r["data"])} for r in records]
    target = rng.choice(plain)
    if target["data"]:
        name = rng.choice(sorted(target["data"]))
        personal = any(token in str(target["data"][name]) for token in pii if token)
        value = target["data"][name] = hostile(rng)
        try:  # a control count or code may be quoted back; a personal value never
            render_contract(adapter, plain, [*pii, MARK] if personal else pii, stats)
        except Finding as finding:
            raise Finding(f"{finding} (record type {target['type']!r}, field {name!r} = {value!r})") from None


def save_crasher(key: str, data: bytes) -> str:
    folder = FIXTURES / "crashers" / key
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{hashlib.sha256(data).hexdigest()[:16]}.bin"
    path.write_bytes(data)
    return str(path.relative_to(FIXTURES.parent))


def fuzz(key: str, seconds: float, rng: random.Random, stats: dict[str, int]) -> tuple[int, list[str]]:
    adapter = adapters.get(key)
    sources = [(f.path.read_bytes(), f.pii) for f in fixtures_for(key)]
    sources += [(p.read_bytes(), []) for p in crashers_for(key)]
    if not sources:
        return 0, []
    others = [s for s, _ in sources]
    findings: list[str] = []
    runs = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and len(findings) < 5:
        source, pii = rng.choice(sources)
        runs += 1
        try:
            one_case(adapter, rng, source, pii, others, stats)
        except Finding as finding:
            where = f" (kept as {save_crasher(key, finding.args[1])})" if len(finding.args) > 1 else ""
            findings.append(f"{key}: {finding.args[0]}{where}")
    return runs, findings


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=300.0, help="total time, shared by the adapters")
    ap.add_argument("--adapter", action="append", help="only these adapter keys (repeatable)")
    ap.add_argument("--seed", type=int, default=None)
    a = ap.parse_args(argv)
    seed = a.seed if a.seed is not None else random.SystemRandom().randrange(1 << 32)
    keys = a.adapter or [x.key for x in adapters.available()]
    print(f"fuzzing {len(keys)} adapters for {a.seconds:.0f} s, seed {seed}", flush=True)
    found: list[str] = []
    for key in keys:
        stats: dict[str, int] = {}
        runs, findings = fuzz(key, a.seconds / len(keys), random.Random(f"{seed}-{key}"), stats)
        uncoded = sum(stats.values())
        print(f"{key}: {runs} inputs, {len(findings)} findings, {uncoded} refusals coded by render_checked", flush=True)
        for where, n in sorted(stats.items(), key=lambda kv: -kv[1]):
            print(f"    {n:6d}  adapters/{where}", flush=True)
        found += findings
    for line in found:
        print(line)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
