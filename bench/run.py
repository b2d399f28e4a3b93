"""Foundation benchmarks (``make bench``): NACHA parsing against the hand-written ceiling.

Prints one JSON line per case: ``{"bench", "records", "seconds", "records_per_s", "peak_rss_mb"}``,
then the ratios to ``shared/perf/b10_nacha.py`` run in the same session. The machine is shared and
noisy, so the ceiling and our cases are run alternately and medians are compared: a ratio of two
figures taken seconds apart is meaningful where an absolute figure is not.

Each case runs in its own child process so its peak RSS is its own.

    .venv/bin/python bench/run.py [--rounds 3] [--ded-entries 1000000]
"""

from __future__ import annotations

import argparse
import compileall
import functools
import gzip
import io
import itertools
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

from harness import REPEATS, median_time, run_child  # bench/ is the script's folder, first on sys.path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
LARGE = SHARED / "testdata" / "nacha" / "large"
CCD = LARGE / "CCD+addenda05-200-batches-100000-entries.ach.gz"
PPD = LARGE / "PPD-2500-batches-500000-entries.ach.gz"
CEILING = SHARED / "perf" / "b10_nacha.py"
DATA = ROOT / "bench" / ".data"


def physical_records(path: Path) -> int:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as fh:
        return sum(1 for line in fh if line.strip() and not line.startswith(b"9999999999"))


def case_parse(path: str, in_memory: bool) -> dict[str, object]:
    """Parse into records and canonical payments, dropping them (no output): the adapter's own cost.

    In memory the pass is timed as the ceiling times its own (``harness.median_time``: the median of
    several passes); streaming from the file is one pass, as a real job reads it."""
    import adapters

    adapter = adapters.get("nacha-ded")
    p = Path(path)
    opener = gzip.open if p.suffix == ".gz" else open
    with opener(p, "rb") as fh:
        data = fh.read() if in_memory else b""

        def rejected() -> int:
            bad = 0
            try:
                for r in adapter.parse(io.BytesIO(data) if in_memory else fh):  # type: ignore[arg-type]
                    if r.__class__.__name__ == "Rejected":
                        bad += 1
            except Exception as exc:  # a file error would make the figure meaningless
                raise SystemExit(f"{path}: {exc}") from exc
            return bad

        bad, seconds = median_time(rejected, REPEATS if in_memory else 1)
    return {"seconds": seconds, "rejected": bad}


def child(args: list[str]) -> tuple[dict[str, object], float]:
    """Run one case in a child process; return its JSON and peak RSS (MB)."""
    return run_child(__file__, args)


@functools.cache
def compile_project() -> None:
    """Byte-compile ``adapters`` and ``gateway`` into their ``__pycache__`` directories.

    An installed package ships ``.pyc`` files, but a checkout run with PYTHONDONTWRITEBYTECODE=1 would
    compile every project module from source at each start (tens of milliseconds). Compiling once
    here makes ``cli_case`` time the command line as an operator runs it.
    """
    for package in ("adapters", "gateway"):
        if not compileall.compile_dir(ROOT / package, quiet=1):
            raise SystemExit(f"cannot byte-compile {package}")


def cli_case(path: Path) -> tuple[float, float]:
    """``csgate parse`` to /dev/null: the whole JSON Lines path, wall time and peak RSS.

    The project is byte-compiled first (``compile_project``), outside the timed run.
    """
    compile_project()
    exe = ROOT / ".venv" / "bin" / "csgate"
    t0 = time.perf_counter()
    with open(os.devnull, "wb") as sink:
        proc = subprocess.Popen([str(exe), "parse", "--format", "nacha-ded", str(path)], stdout=sink)
        _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) not in (0, 1):
        raise SystemExit(f"csgate parse {path} failed")
    return time.perf_counter() - t0, usage.ru_maxrss / 1024


def ceiling() -> float:
    out = subprocess.run([sys.executable, str(CEILING)], capture_output=True, text=True, check=True).stdout
    return float(json.loads(out.strip().splitlines()[-1])["records_per_s"])


def ded_file(entries: int) -> Path:
    """A synthetic CCD+ file of ``entries`` DED payments, generated once and kept in bench/.data."""
    DATA.mkdir(parents=True, exist_ok=True)
    path = DATA / f"ded-{entries}.ach"
    if path.exists():
        return path
    import datetime as dt

    import adapters

    adapter = adapters.get("nacha-ded")
    originator = {
        "immediate_destination": "231380104",
        "immediate_origin": "1234567890",
        "file_creation_date": dt.date(2025, 1, 10),
        "company_name": "BENCH EMPLOYER",
        "company_identification": "1234567890",
        "odfi_identification": "07640125",
        "receiving_routing_number": "231380104",
        "receiving_account_number": "9876543210",
    }

    def payments():  # type: ignore[no-untyped-def]
        for i in range(entries):
            area = 100 + i % 500
            yield {
                "type": "payment",
                "data": {
                    "case_id": f"CS{i:010d}",
                    "pay_date": dt.date(2025, 1, 10),
                    "amount": f"{50 + i % 1450}.{i % 100:02d}",
                    "ssn": f"{area:03d}{10 + i % 89:02d}{1000 + i % 8999:04d}",
                    "medical_support": "N",
                    "ncp_name": "BENCHNCP",
                    "fips": "06037",
                },
            }

    tmp = path.with_suffix(".part")
    with tmp.open("wb") as fh:
        # chain, not a list: a million payment dicts would make this process, and every child
        # forked from it afterwards, start with hundreds of MB resident
        for chunk in adapter.render(itertools.chain([{"type": "originator", "data": originator}], payments())):
            fh.write(chunk)
    tmp.replace(path)
    return path


def emit(name: str, records: int, seconds: float, rss: float, **extra: object) -> dict[str, object]:
    row = {
        "bench": name,
        "records": records,
        "seconds": round(seconds, 3),
        "records_per_s": round(records / seconds),
        "peak_rss_mb": round(rss, 1),
        **extra,
    }
    print(json.dumps(row), flush=True)
    return row


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--ded-entries", type=int, default=1_000_000)
    ap.add_argument("--case", nargs=2, metavar=("PATH", "MODE"))
    a = ap.parse_args()
    if a.case:
        print(json.dumps(case_parse(a.case[0], a.case[1] == "memory")))
        return
    if not CCD.exists():
        raise SystemExit(f"missing {CCD}: shared/ must sit beside the clone")
    n_ccd = physical_records(CCD)
    ceil, ours, cli = [], [], []
    for _ in range(a.rounds):  # alternate, so both see the same machine
        ceil.append(ceiling())
        res, rss_mem = child(["--case", str(CCD), "memory"])
        ours.append(n_ccd / float(res["seconds"]))  # type: ignore[arg-type]
        secs, rss_cli = cli_case(CCD)
        cli.append(n_ccd / secs)
    c, o, j = statistics.median(ceil), statistics.median(ours), statistics.median(cli)
    print(json.dumps({"bench": "ceiling.b10_nacha", "records": n_ccd, "records_per_s": round(c)}), flush=True)
    emit("nacha.ccd_100k.parse_canonical", n_ccd, n_ccd / o, rss_mem)
    emit("nacha.ccd_100k.cli_jsonl", n_ccd, n_ccd / j, rss_cli)
    n_ppd = physical_records(PPD)
    res, rss = child(["--case", str(PPD), "stream"])
    emit("nacha.ppd_500k.parse_stream", n_ppd, float(res["seconds"]), rss)  # type: ignore[arg-type]
    ded = ded_file(a.ded_entries)
    n_ded = physical_records(ded)
    res, rss = child(["--case", str(ded), "stream"])
    emit(f"nacha.ded_{a.ded_entries}.parse_payments", n_ded, float(res["seconds"]), rss)  # type: ignore[arg-type]
    secs, rss = cli_case(ded)
    emit(f"nacha.ded_{a.ded_entries}.cli_jsonl", n_ded, secs, rss)
    print(
        json.dumps(
            {
                "bench": "ratio",
                "parse_canonical_vs_ceiling": round(o / c, 2),
                "cli_jsonl_vs_ceiling": round(j / c, 2),
                "targets": {"parse": 0.6, "cli": 0.3},
            }
        )
    )
    print(
        json.dumps(
            {"bench": "self", "peak_rss_mb_parent": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}
        )
    )


if __name__ == "__main__":
    main()
