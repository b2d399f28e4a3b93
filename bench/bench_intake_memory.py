"""Intake memory benchmark: a synthetic NDNH quarterly wage file of N wage records (default 2,000,000,
about 0.8 GB) taken in through the streaming path, ``intake.receive(file=...)``, as a pull or
``csgate exchange intake`` does — digest, detect, parse, encrypt and stage every record into SQLite,
then the case feed (an empty case registry) — in a child process whose peak RSS (``os.wait4``
``ru_maxrss``) is its own. design.md §8 asks for peak memory under 500 MB whatever the file's size.

The file is generated into a temporary directory by ``gen_qw.write``, which renders record by record
(never the whole file in memory), and removed afterwards. ``--bytes`` also runs the same intake from
``raw=`` bytes read whole, the in-memory path, for comparison.

Prints JSON lines ``{"bench", "records", "seconds", "records_per_s", "peak_rss_mb", ...}``.

    .venv/bin/python bench/bench_intake_memory.py [--records 2000000] [--bytes]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import gen_qw
from harness import intake_runtime, run_child
from run import emit


def case_intake(path: str, workdir: str, mode: str) -> dict[str, object]:
    """One intake of the file into a fresh SQLite database under ``workdir``; the intake alone is timed."""
    import adapters
    from gateway.exchanges import intake

    root = Path(workdir)
    rt, profile = intake_runtime(root, f"sqlite:///{root / 'csgate.db'}", "swa", "ndnh-qw")
    adapters.available()  # plugin loading is start-up cost, not intake
    started = time.perf_counter()
    if mode == "bytes":
        result = intake.receive(rt, profile, name="qw.txt", raw=Path(path).read_bytes())
    else:
        with open(path, "rb") as received:
            result = intake.receive(rt, profile, name="qw.txt", file=received)
    seconds = time.perf_counter() - started
    rt.engine.dispose()
    if result.status.value != "processed":
        raise SystemExit(f"intake ended {result.status.value} ({result.error_code})")
    return {"seconds": seconds, "records": result.good + result.rejected, "rejected": result.rejected}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=2_000_000, help="wage records in the generated file")
    ap.add_argument("--bytes", action="store_true", help="also take the file in from bytes held in memory")
    ap.add_argument("--case", nargs=3, metavar=("PATH", "WORKDIR", "MODE"))
    a = ap.parse_args()
    if a.case:
        print(json.dumps(case_intake(*a.case)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "qw.txt"
        size = gen_qw.write(path, a.records)
        for mode in ("file", "bytes") if a.bytes else ("file",):
            workdir = Path(tmp) / mode
            workdir.mkdir()
            res, rss = run_child(__file__, ["--case", str(path), str(workdir), mode])
            records = int(res["records"])  # type: ignore[call-overload]
            emit(
                f"intake_memory.qw_{a.records}.{mode}",
                records,
                float(res["seconds"]),  # type: ignore[arg-type]
                rss,
                file_mb=round(size / 1e6, 1),
                rejected=res["rejected"],
            )


if __name__ == "__main__":
    main()
