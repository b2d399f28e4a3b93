"""Intake benchmark: a DED payments file through ``gateway.exchanges.intake.receive`` — digest,
parse, natural keys (HMAC blind index), AES-GCM encryption of every record, executemany staging
with progress committed per chunk (the runtime default) — into SQLite, and into PostgreSQL when one answers
on 127.0.0.1:5432. Compared with the adapter's parse alone (what intake cannot beat) and with the
hand-written NACHA ceiling (shared/perf/b10_nacha.py), run alternately in the same session.

Prints JSON lines ``{"bench", "records", "seconds", "records_per_s", "peak_rss_mb"}`` and a ratio line.

    .venv/bin/python bench/bench_intake.py [--entries 20000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import intake_runtime, run_child
from run import ceiling, child, ded_file, emit, physical_records

PG_ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=test connect_timeout=3"


def case_intake(path: str, url: str) -> dict[str, object]:
    """One intake of the file into a fresh database at ``url``; the intake alone is timed."""
    from gateway.exchanges import intake

    with tempfile.TemporaryDirectory() as tmp:
        if url == "sqlite":
            url = f"sqlite:///{tmp}/bench.db"
        rt, profile = intake_runtime(Path(tmp), url, "bench", "nacha-ded")
        raw = Path(path).read_bytes()
        import adapters

        adapters.available()  # plugin loading is start-up cost, not intake
        t0 = time.perf_counter()
        result = intake.receive(rt, profile, name="bench.ach", raw=raw)
        seconds = time.perf_counter() - t0
        rt.engine.dispose()
    if result.status.value != "processed":
        raise SystemExit(f"intake ended {result.status.value}")
    return {"seconds": seconds, "records": result.good}


def postgres_url() -> str | None:
    """A fresh database on the local server, or None when there is no server."""
    import secrets

    import psycopg

    try:
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            name = f"csgate_bench_{secrets.token_hex(4)}"
            admin.execute(f"CREATE DATABASE {name}")
    except psycopg.OperationalError:
        return None
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"


def drop(url: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {url.rsplit('/', 1)[1]} WITH (FORCE)")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--entries", type=int, default=20_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--case", nargs=2, metavar=("PATH", "URL"))
    a = ap.parse_args()
    if a.case:
        print(json.dumps(case_intake(*a.case)))
        return
    path = ded_file(a.entries)
    records = physical_records(path)
    pg = postgres_url()
    ceil, parse, lite, post = [], [], [], []
    rss: dict[str, float] = {}
    try:
        for _ in range(a.rounds):  # alternate, so every case sees the same machine
            ceil.append(ceiling())
            res, rss["parse"] = child(["--case", str(path), "memory"])  # run.py: the adapter alone
            parse.append(float(res["seconds"]))  # type: ignore[arg-type]
            res, rss["sqlite"] = run_child(__file__, ["--case", str(path), "sqlite"])
            lite.append(float(res["seconds"]))  # type: ignore[arg-type]
            if pg:
                db = postgres_url()
                assert db is not None
                try:
                    res, rss["postgres"] = run_child(__file__, ["--case", str(path), db])
                    post.append(float(res["seconds"]))  # type: ignore[arg-type]
                finally:
                    drop(db)
    finally:
        if pg:
            drop(pg)
    c = statistics.median(ceil)
    print(json.dumps({"bench": "ceiling.b10_nacha", "records_per_s": round(c)}), flush=True)
    emit(f"intake.ded_{a.entries}.parse_only", records, statistics.median(parse), rss["parse"])
    emit(f"intake.ded_{a.entries}.sqlite", records, statistics.median(lite), rss["sqlite"])
    ratios = {
        "parse_vs_ceiling": round(records / statistics.median(parse) / c, 3),
        "intake_sqlite_vs_ceiling": round(records / statistics.median(lite) / c, 3),
        "intake_sqlite_vs_parse": round(statistics.median(parse) / statistics.median(lite), 3),
    }
    if post:
        emit(f"intake.ded_{a.entries}.postgres", records, statistics.median(post), rss["postgres"])
        ratios["intake_postgres_vs_parse"] = round(statistics.median(parse) / statistics.median(post), 3)
    print(json.dumps({"bench": "ratio", **ratios}), flush=True)


if __name__ == "__main__":
    main()
