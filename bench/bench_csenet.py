"""CSENet adapter speed: parse, parse with every canonical record built, and render, against the ceiling.

    .venv/bin/python bench/bench_csenet.py [--transactions 20000] [--rounds 3] [--ceiling-python PATH] [--retain]

Prints one JSON line per case, ``{"bench", "records", "seconds", "records_per_s", "peak_rss_mb"}``, then
the ratios to ``shared/perf/b2_parse_fixed.py``'s ``parse.c_plain_validate`` (slice + hand-written
validation of a 300-byte, 35-field record) run in the same session. The machine is shared and noisy,
so ceiling and cases alternate and medians are compared. Like the ceiling, parse drops each record once
it is checked (``--retain`` keeps them all, adding the garbage collector's walks over a growing heap).
A CSENet transaction is larger than the ceiling's record (about 1.4 KB and 150 fields on this mix), so
the ratio is also given per byte.

The ceiling script imports msgspec, which the project does not depend on: pass ``--ceiling-python``
an interpreter that has it (``python3 -m venv /tmp/ceil && /tmp/ceil/bin/pip install msgspec pydantic``).
It runs from a temporary copy so nothing is written into shared/.

The input is every valid single-transaction fixture, repeated with fresh serial numbers, in two files
(inbound and outbound, since one file holds one direction).

Cases: ``csenet.parse`` decodes and checks every transaction (layouts, rules, and whether the canonical
model could refuse it) and builds the canonical record only on demand; ``csenet.parse_canonical`` also
reads ``canonical`` of every record, as a caller that stores canonical records does; ``csenet.render``
writes the parsed data back, each line proved against what parse would reject.
"""

from __future__ import annotations

import argparse
import gc
import io
import json
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures" / "interstate" / "csenet"
PERF = ROOT.parent / "shared" / "perf"


def transactions(n: int) -> dict[str, bytes]:
    """``n`` transactions per direction, built from the valid single-transaction fixtures."""
    singles = [
        p.read_bytes().rstrip(b"\n")
        for p in sorted(FIXTURES.glob("*.txt"))
        if not p.name.startswith(("invalid", "server-error"))
        and "batch" not in p.name
        and "padded" not in p.name
        and "implied" not in p.name
    ]
    out: dict[str, list[bytes]] = {"inbound": [], "outbound": []}
    for line in singles:
        direction = "outbound" if line[126:127] == b"0" and not line[110:126].strip() else "inbound"
        out[direction].append(line)
    files = {}
    for direction, lines in out.items():
        rows = [lines[i % len(lines)][:17] + b"%012d" % (i + 1) + lines[i % len(lines)][29:] for i in range(n)]
        files[direction] = b"\n".join(rows) + b"\n"
    return files


def case_parse(files: dict[str, bytes], canonical: bool, retain: bool) -> float:
    """Seconds to parse both files; each record is dropped once checked (as the ceiling drops its
    records), or kept until the end with ``retain``. ``canonical`` also reads every canonical record."""
    import adapters
    from adapters.base import Parsed

    adapter = adapters.get("csenet")
    kept: list[Any] = []
    gc.collect()
    t0 = time.perf_counter()
    for data in files.values():
        for r in adapter.parse(io.BytesIO(data)):
            if not isinstance(r, Parsed):
                raise SystemExit(f"bench input rejected: {r}")
            if canonical and r.canonical is None:
                raise SystemExit("a transaction without its canonical record")
            if retain:
                kept.append(r)
    seconds = time.perf_counter() - t0
    kept.clear()
    return seconds


def case_render(records: list[Any]) -> float:
    import adapters

    adapter = adapters.get("csenet")
    gc.collect()
    t0 = time.perf_counter()
    size = sum(len(chunk) for chunk in adapter.render(records))
    seconds = time.perf_counter() - t0
    assert size > len(records)
    return seconds


def ceiling(python: str) -> float:
    """``parse.c_plain_validate`` records/s, run from a temporary copy of shared/perf."""
    with tempfile.TemporaryDirectory() as tmp:
        for name in ("b2_parse_fixed.py", "common.py"):
            shutil.copy(PERF / name, tmp)
        env = {
            "BENCH_ONLY": "parse.c_plain_validate",
            "BENCH_RESULTS": str(Path(tmp) / "r.jsonl"),
            "PATH": "/usr/bin:/bin",
        }
        proc = subprocess.run([python, "b2_parse_fixed.py"], cwd=tmp, env=env, capture_output=True, text=True)
        if proc.returncode:
            raise SystemExit(f"ceiling failed (use --ceiling-python with msgspec installed): {proc.stderr[-300:]}")
        m = re.search(r"parse\.c_plain_validate\s+([\d,.]+)", proc.stdout)
        assert m is not None, proc.stdout
        return float(m.group(1).replace(",", ""))


def emit(name: str, records: int, seconds: float, **extra: object) -> None:
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "bench": name,
                "records": records,
                "seconds": round(seconds, 3),
                "records_per_s": round(records / seconds),
                "peak_rss_mb": round(rss, 1),
                **extra,
            }
        ),
        flush=True,
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--transactions", type=int, default=20_000, help="per direction")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--ceiling-python", default=sys.executable)
    ap.add_argument("--retain", action="store_true", help="keep every parsed record until the case ends")
    a = ap.parse_args()
    files = transactions(a.transactions)
    n = 2 * a.transactions
    size = sum(len(f) for f in files.values())
    import adapters

    adapter = adapters.get("csenet")
    records = [{"type": p.type, "data": p.data} for f in files.values() for p in adapter.parse(io.BytesIO(f))]
    ceil: list[float] = []
    rates: dict[str, list[float]] = {"parse": [], "parse_canonical": [], "render": []}
    for _ in range(a.rounds):  # alternate, so every case sees the same machine
        ceil.append(ceiling(a.ceiling_python))
        rates["parse"].append(n / case_parse(files, canonical=False, retain=a.retain))
        rates["parse_canonical"].append(n / case_parse(files, canonical=True, retain=a.retain))
        rates["render"].append(n / case_render(records))
    c = statistics.median(ceil)
    med = {case: statistics.median(r) for case, r in rates.items()}
    avg_bytes = size / n
    print(
        json.dumps(
            {"bench": "ceiling.b2.c_plain_validate", "records": 150_000, "records_per_s": round(c), "record_bytes": 300}
        ),
        flush=True,
    )
    for case, rate in med.items():
        emit(f"csenet.{case}", n, n / rate, avg_bytes=round(avg_bytes))
    per_byte = avg_bytes / 300
    ratios: dict[str, object] = {"bench": "ratio"}
    for case, rate in med.items():
        ratios[f"{case}_vs_ceiling"] = round(rate / c, 3)
        ratios[f"{case}_vs_ceiling_per_byte"] = round(rate * per_byte / c, 3)
    print(json.dumps({**ratios, "target": 0.5}), flush=True)


if __name__ == "__main__":
    main()
