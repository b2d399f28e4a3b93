"""Federal adapters (FCR input/response, federal offset submission/returns): parse and render rates
against the ceilings of ``shared/perf`` run in the same session.

Prints one JSON line per case: ``{"bench", "records", "seconds", "records_per_s", "peak_rss_mb"}``,
then the ceilings and the ratios. The machine is shared and noisy, so the ceilings and our cases are
run alternately, round after round, and medians are compared:

* parse (layout regex + record rules + canonical pydantic model per record; ``*_records_only``:
  without the canonical model, to show its share) against
  ``b2_parse_fixed.py`` ``parse.f_regex_convert`` — validate and convert all 35 fields of a 300-byte
  record, the fastest correct hand-written path (design.md §8: target 0.6);
* render (layout render with width checks and control totals) against ``b3_write_fixed.py``
  ``write.percent`` — one ``%``-format per record (target 0.5).

The ceiling scripts are copied into ``bench/.data/perf`` and run there, so nothing is written under
shared/. ``b2`` needs ``msgspec`` (not a project dependency): it is installed once into
``bench/.data/perf-libs`` with pip. Each case runs in its own child process so its peak RSS is its own.

    .venv/bin/python bench/bench_federal.py [--rounds 3] [--records 50000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

from harness import run_child  # bench/ is the script's folder, first on sys.path

ROOT = Path(__file__).resolve().parent.parent
PERF = ROOT.parent / "shared" / "perf"
DATA = ROOT / "bench" / ".data"
WORK = DATA / "perf"
LIBS = DATA / "perf-libs"
CEILINGS = {"parse": ("b2_parse_fixed.py", "parse.f_regex_convert"), "render": ("b3_write_fixed.py", "write.percent")}
TARGETS = {"parse": 0.6, "render": 0.5}


# --------------------------------------------------------------------------- synthetic records


def _ssn(i: int) -> str:
    return f"{100 + i % 500:03d}{10 + i % 89:02d}{1000 + i % 8999:04d}"


def fcr_response(n: int) -> list[dict[str, Any]]:
    """NDNH QW matches and IRS locate responses, alternately: the bulk of what the FCR returns."""
    out: list[dict[str, Any]] = [
        {
            "type": "response_header",
            "data": {
                "state_code": "20",
                "batch_type": "L",
                "batch_number": "000001",
                "date_stamp": dt.date(2025, 3, 10),
            },
        }
    ]
    for i in range(n):
        who = {
            "state_code": "20",
            "ssn": _ssn(i),
            "case_id": f"CS{i:08d}",
            "member_id": f"M{i}",
            "first_name": "BENCHFIRST",
            "last_name": "BENCHLAST",
            "name_matched": "1",
            "address_line_1": f"{i % 900 + 1} MAIN ST",
            "city": "TOPEKA",
            "state": "KS",
            "zip5": "66603",
        }
        if i % 2:
            out.append(
                {
                    "type": "locate_response",
                    "data": {**who, "agency_code": "C01", "response_date": dt.date(2025, 3, 10)},
                }
            )
        else:
            out.append(
                {
                    "type": "ndnh_response",
                    "data": {
                        **who,
                        "agency_code": "H98",
                        "match_type": "N",
                        "processed_date": dt.date(2025, 3, 10),
                        "employer_fein": "481234567",
                        "employer_name": "BENCH EMPLOYER",
                        "reporting_period": "20244",
                        "wage_amount": Decimal(i % 90000) + Decimal("0.45"),
                    },
                }
            )
    return out


def fcr_input(n: int) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = [
        {
            "type": "input_header",
            "data": {
                "state_code": "20",
                "version_control_number": "15.00",
                "batch_number": "1",
                "date_stamp": dt.date(2025, 3, 3),
            },
        }
    ]
    for i in range(n):
        out.append(
            {
                "type": "input_person",
                "data": {
                    "action_type": "L",
                    "case_id": f"CS{i:08d}",
                    "state_code": "20",
                    "participant_type": "NP",
                    "member_id": f"M{i}",
                    "sex": "M",
                    "date_of_birth": dt.date(1980, 1, 1 + i % 28),
                    "ssn": _ssn(i),
                    "first_name": "BENCHFIRST",
                    "last_name": "BENCHLAST",
                    "locate_request_type": "CS",
                    "locate_source_1": "ALL",
                },
            }
        )
    return out


def offset(n: int) -> list[dict[str, Any]]:
    return [
        {
            "type": "case_submission",
            "data": {
                "submitting_state": "KS",
                "local_code": "017",
                "ssn": _ssn(i),
                "case_id": f"KS{i:08d}",
                "last_name": "BENCHLAST",
                "first_name": "BENCHFIRST",
                "arrearage_amount": 150 + i % 9000,
                "transaction_type": "A",
                "case_type": "AN"[i % 2],
                "address_line_1": "1 MAIN ST",
                "city": "TOPEKA",
                "state": "KS",
                "zip": "666030000",
                "pre_offset_notice_date": dt.date(2025, 1, 6),
                "exclusions": ["PAS"] if i % 7 == 0 else [],
            },
        }
        for i in range(n)
    ]


def offset_collections(n: int) -> list[dict[str, Any]]:
    return [
        {
            "type": "collection",
            "data": {
                "submitting_state": "KS",
                "ssn": _ssn(i),
                "case_id": f"KS{i:08d}",
                "last_name": "BENCHLAST",
                "first_name": "BENCHFIRST",
                "certified_arrears": Decimal("1250.00"),
                "collection_amount": Decimal(i % 900 + 1),
                "adjustment_amount": Decimal(0),
                "tax_year": 2024,
                "transaction_kind": "C",
                "case_type": "N",
                "joint_return": "0",
                "offset_date": dt.date(2025, 3, 7),
                "injured_spouse": "N",
            },
        }
        for i in range(n)
    ]


CASES: dict[str, tuple[str, Callable[[int], list[dict[str, Any]]]]] = {
    "fcr-response": ("fcr-response", fcr_response),
    "fcr-input": ("fcr-input", fcr_input),
    "offset": ("offset", offset),
    "offset-return.collections": ("offset-return", offset_collections),
}


# --------------------------------------------------------------------------- one case in a child


def skip_canonical() -> None:
    """Measure layout + record rules alone: the canonical builders return nothing."""
    from adapters.federal import fcr_canonical, offset, offset_return

    for module in (fcr_canonical, offset, offset_return):
        module.canonical = lambda build: None  # type: ignore[attr-defined]


def run_case(name: str, n: int, with_canonical: bool) -> dict[str, Any]:
    import adapters

    if not with_canonical:
        skip_canonical()
    key, build = CASES[name]
    adapter = adapters.get(key)
    records = build(n)
    t0 = time.perf_counter()
    text = b"".join(adapter.render(records))
    render_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    bad = 0
    for r in adapter.parse(io.BytesIO(text)):  # streamed and dropped; a file error raises (the figure would lie)
        missing = with_canonical and r.type in ("ndnh_response", "case_submission") and r.canonical is None
        if r.__class__.__name__ == "Rejected" or missing:
            bad += 1
    parse_s = time.perf_counter() - t0
    if bad:
        raise SystemExit(f"{name}: {bad} bad records in the benchmark file")
    return {"records": text.count(b"\n"), "parse_s": parse_s, "render_s": render_s}


def child(name: str, n: int, with_canonical: bool = True) -> tuple[dict[str, Any], float]:
    return run_child(__file__, ["--case", name, "--records", str(n), *([] if with_canonical else ["--no-canonical"])])


# --------------------------------------------------------------------------- ceilings


def prepare_ceilings() -> dict[str, str]:
    """Copy the ceiling scripts out of shared/ (which is read-only reference) and make msgspec importable."""
    WORK.mkdir(parents=True, exist_ok=True)
    for name in ("common.py", CEILINGS["parse"][0], CEILINGS["render"][0]):
        shutil.copy(PERF / name, WORK / name)
    env = {**os.environ, "BENCH_RESULTS": str(WORK / "results.jsonl"), "PYTHONPATH": str(LIBS)}
    probe = subprocess.run([sys.executable, "-c", "import msgspec"], env=env, capture_output=True)
    if probe.returncode:
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", "--target", str(LIBS), "msgspec==0.22.0"], check=True
        )
    return env


def ceiling(kind: str, env: dict[str, str]) -> float:
    script, case_id = CEILINGS[kind]
    results = WORK / "results.jsonl"
    results.unlink(missing_ok=True)
    subprocess.run(
        [sys.executable, script], cwd=WORK, env={**env, "BENCH_ONLY": case_id}, check=True, stdout=subprocess.DEVNULL
    )
    rows = [json.loads(line) for line in results.read_text().splitlines()]
    return float(next(r["median"] for r in rows if r["id"] == case_id))


def emit(name: str, records: int, seconds: float, rss: float) -> None:
    print(
        json.dumps(
            {
                "bench": name,
                "records": records,
                "seconds": round(seconds, 3),
                "records_per_s": round(records / seconds),
                "peak_rss_mb": round(rss, 1),
            }
        ),
        flush=True,
    )


def rounds(n_rounds: int, n: int, env: dict[str, str]) -> Iterator[tuple[str, Any]]:
    # b3 runs all five of its writers (minutes on a busy machine): once, first; b2 alternates with our cases
    yield "ceiling.render", ceiling("render", env)
    for _ in range(n_rounds):
        yield "ceiling.parse", ceiling("parse", env)
        for name in CASES:
            yield name, child(name, n)
            yield f"{name}.records_only", child(name, n, with_canonical=False)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--records", type=int, default=50_000)
    ap.add_argument("--case")
    ap.add_argument("--no-canonical", action="store_true")
    a = ap.parse_args()
    if a.case:
        print(json.dumps(run_case(a.case, a.records, not a.no_canonical)))
        return
    env = prepare_ceilings()
    seen: dict[str, list[Any]] = {}
    for name, value in rounds(a.rounds, a.records, env):
        seen.setdefault(name, []).append(value)
    ceil = {kind: statistics.median(seen[f"ceiling.{kind}"]) for kind in CEILINGS}
    for kind, value in ceil.items():
        print(
            json.dumps(
                {
                    "bench": f"ceiling.{kind}",
                    "script": CEILINGS[kind][0],
                    "case": CEILINGS[kind][1],
                    "records_per_s": round(value),
                }
            ),
            flush=True,
        )
    ratios: dict[str, float] = {}
    for name in CASES:
        for variant, kinds in ((name, ("parse", "render")), (f"{name}.records_only", ("parse",))):
            runs = seen[variant]
            records = runs[0][0]["records"]
            rss = max(r[1] for r in runs)
            for kind in kinds:
                seconds = statistics.median(r[0][f"{kind}_s"] for r in runs)
                label = f"{name}.{kind}" + ("_records_only" if variant != name else "")
                emit(label, records, seconds, rss)
                ratios[label] = round(records / seconds / ceil[kind], 2)
    print(json.dumps({"bench": "ratio", **ratios, "targets": TARGETS}), flush=True)


if __name__ == "__main__":
    main()
