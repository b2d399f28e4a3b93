"""e-IWO benchmarks: flat-file parse and render, acknowledgment parse, against the shared ceilings.

    .venv/bin/python bench/bench_eiwo.py [--orders 20000] [--rounds 3]

Prints one JSON line per case, ``{"bench", "records", "seconds", "records_per_s", "peak_rss_mb"}``, then
the ceilings measured in the same session and the ratios. Ceilings: ``shared/perf/b2_parse_fixed.py``
case ``parse.c_plain_validate`` (slice + hand-written validation of a 300-byte, 35-field record) for
parsing, ``shared/perf/b3_write_fixed.py`` case ``write.percent`` (``%``-format of the same record) for
rendering. Ours and the ceilings run alternately and medians are compared, because the machine is noisy.
The ceiling scripts need msgspec (shared/perf/requirements.txt): set ``CEILING_PYTHON`` to a Python that
has it; they run from a private copy of shared/perf (bench/harness.py), so nothing is written into shared/.

An e-IWO detail is 2,406 bytes with 115 data fields, an acknowledgment 573 bytes with 38, against the
ceiling's 300 bytes and 35 fields, so besides records/s the ratios are also given per field
(records/s x fields), the fair measure of per-field validation work.

Each case runs in its own child process, so its peak RSS is its own; input is generated in the child
before the clock starts (orders rendered by the adapter itself, every one valid). ``eiwo.parse`` and
``eiwo_ack.parse`` check every record (layout, rules, and whether the canonical model could refuse it)
and build the canonical record only on demand; ``eiwo.parse_canonical`` and ``eiwo_ack.parse_canonical``
also read ``canonical`` of every record, as a caller that stores canonical records does.
``eiwo.layout_and_rules`` is a diagnostic, not an adapter path: the layout and the rules between fields
(``check_rules``, as parse runs them) without the canonical check, to show how the parse time divides.
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from harness import ceilings, drain, median_time, run_child  # bench/ is the script's folder, first on sys.path

ROOT = Path(__file__).resolve().parent.parent
PARSE_CEILING = ("b2_parse_fixed.py", "parse.c_plain_validate")
WRITE_CEILING = ("b3_write_fixed.py", "write.percent")
CEILING_FIELDS = 35
DTL_FIELDS, ACK_FIELDS = 115, 38
EMPLOYERS = ("123456789", "481234567", "200000000", "391234567", "870000001")


# --------------------------------------------------------------------------- synthetic input (child side)


def orders(n: int) -> Iterator[Any]:
    """``n`` valid, varied orders: every action code, five employers, SSNs that pass the SSA rules."""
    from adapters.canonical import IncomeWithholdingOrder

    sys.path.insert(0, str(ROOT / "fixtures" / "employer" / "eiwo"))
    from generate import order  # the fixture generator's complete synthetic order

    templates = {a: IncomeWithholdingOrder.model_validate(order("KS0", a)) for a in ("ORG", "AMD", "TRM", "LUM")}
    actions = ("ORG", "ORG", "AMD", "TRM", "LUM")
    for i in range(n):
        t = templates[actions[i % 5]]
        ssn = f"{100 + i % 500:03d}{10 + i % 89:02d}{1000 + i % 8999:04d}"
        yield t.model_copy(
            update={
                "document_tracking_id": f"KS{i:028d}",
                "case_id": f"CS{i:010d}",
                "employer": t.employer.model_copy(update={"fein": EMPLOYERS[i % len(EMPLOYERS)]}),
                "employee": t.employee.model_copy(update={"ssn": ssn}),
            }
        )


HEADER = {
    "control_number": "200002501100930000000",
    "state_fips": "20000",
    "creation_date": "2025-01-10",
    "creation_time": "093000",
}


def iwo_file(n: int) -> bytes:
    from adapters.employer.eiwo import EiwoAdapter

    records = [{"type": "file_header", "data": HEADER}, *({"type": "order", "canonical": o} for o in orders(n))]
    return b"".join(EiwoAdapter().render(records))


def ack_file(n: int) -> bytes:
    from adapters.canonical import EmployerAck
    from adapters.employer.eiwo_ack import EiwoAckAdapter

    dispositions = (("A", None), ("R", "U"), ("A", "B"), ("R", "D"))
    acks = (
        EmployerAck(
            action="ORG",
            case_id=f"CS{i:010d}",
            employer_fein=EMPLOYERS[i % len(EMPLOYERS)],
            employee={
                "ssn": f"{100 + i % 500:03d}{10 + i % 89:02d}{1000 + i % 8999:04d}",
                "name": {"last": "BENCHMARK", "first": "EMPLOYEE"},
            },
            document_tracking_id=f"KS{i:028d}",
            order_id=f"2024-DM-{i:06d}",
            disposition=dispositions[i % 4][0],
            reason=dispositions[i % 4][1],
        )
        for i in range(n)
    )
    header = {"control_number": "ACME0001250115093000", "creation_date": "2025-01-15", "creation_time": "093000"}
    records = [{"type": "file_header", "data": header}, *({"type": "employer_ack", "canonical": a} for a in acks)]
    return b"".join(EiwoAckAdapter().render(records))


def case(name: str, n: int) -> dict[str, Any]:
    """One case, timed in this (child) process."""
    from adapters.employer.eiwo import EiwoAdapter
    from adapters.employer.eiwo_ack import EiwoAckAdapter

    if name in ("eiwo.parse", "eiwo.parse_canonical"):
        good, secs = drain(EiwoAdapter(), iwo_file(n), "detail", name.endswith("canonical"))
    elif name == "eiwo.layout_and_rules":  # diagnostic: the same checks short of the canonical model
        from adapters.employer.eiwo import DETAIL, check_rules

        details = [r for r in iwo_file(n).split(b"\n") if r[:3] == b"DTL"]

        def rules() -> int:
            for raw in details:
                check_rules(DETAIL.parse(raw))
            return len(details)

        good, secs = median_time(rules)
    elif name in ("eiwo_ack.parse", "eiwo_ack.parse_canonical"):
        good, secs = drain(EiwoAckAdapter(), ack_file(n), "ack", name.endswith("canonical"))
    elif name == "eiwo.render_records":  # parse output → file: layout render + proof + counts
        adapter = EiwoAdapter()
        records = [{"type": p.type, "data": p.data} for p in adapter.parse(io.BytesIO(iwo_file(n)))]  # type: ignore[union-attr]
        good, secs = median_time(lambda: sum(1 for chunk in adapter.render(records) if chunk[:3] == b"DTL"))
    elif name == "eiwo.render_orders":  # canonical orders → file: dtl_from_order, batching per FEIN
        items = [{"type": "file_header", "data": HEADER}, *({"type": "order", "canonical": o} for o in orders(n))]
        good, secs = median_time(lambda: sum(1 for chunk in EiwoAdapter().render(items) if chunk[:3] == b"DTL"))
    else:
        raise SystemExit(f"unknown case {name}")
    if good != n:
        raise SystemExit(f"{name}: {good} of {n} records came through")
    return {"records": n, "seconds": secs}


# --------------------------------------------------------------------------- parent side


def child(name: str, n: int) -> dict[str, Any]:
    row, rss = run_child(__file__, ["--case", name, "--orders", str(n)])
    row["peak_rss_mb"] = rss
    return row


def ceiling(script: str, bench_id: str) -> float:
    return ceilings(script, (bench_id,), only=bench_id)[bench_id]


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


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--orders", type=int, default=20_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--case")
    a = ap.parse_args()
    if a.case:
        print(json.dumps(case(a.case, a.orders)))
        return
    names = (
        "eiwo.parse",
        "eiwo.parse_canonical",
        "eiwo.layout_and_rules",
        "eiwo_ack.parse",
        "eiwo_ack.parse_canonical",
        "eiwo.render_records",
        "eiwo.render_orders",
    )
    rates: dict[str, list[float]] = {n: [] for n in (*names, "parse_ceiling", "write_ceiling")}
    rss: dict[str, float] = {}
    for _ in range(a.rounds):  # alternate, so ours and the ceilings see the same machine
        rates["parse_ceiling"].append(ceiling(*PARSE_CEILING))
        rates["write_ceiling"].append(ceiling(*WRITE_CEILING))
        for name in names:
            row = child(name, a.orders)
            rates[name].append(row["records"] / row["seconds"])
            rss[name] = max(rss.get(name, 0.0), row["peak_rss_mb"])
    med = {k: statistics.median(v) for k, v in rates.items()}
    for name in names:
        emit(name, a.orders, a.orders / med[name], rss[name])
    for label, (script, bench_id) in (("parse_ceiling", PARSE_CEILING), ("write_ceiling", WRITE_CEILING)):
        print(
            json.dumps(
                {
                    "bench": f"ceiling.{script.removesuffix('.py')}.{bench_id}",
                    "records_per_s": round(med[label]),
                    "rounds": a.rounds,
                }
            ),
            flush=True,
        )
    p, w = med["parse_ceiling"], med["write_ceiling"]
    print(
        json.dumps(
            {
                "bench": "ratio",
                "eiwo_parse_vs_validate": round(med["eiwo.parse"] / p, 3),
                "eiwo_parse_vs_validate_per_field": round(med["eiwo.parse"] * DTL_FIELDS / (p * CEILING_FIELDS), 2),
                "eiwo_parse_canonical_vs_validate_per_field": round(
                    med["eiwo.parse_canonical"] * DTL_FIELDS / (p * CEILING_FIELDS), 2
                ),
                "eiwo_layout_and_rules_vs_validate_per_field": round(
                    med["eiwo.layout_and_rules"] * DTL_FIELDS / (p * CEILING_FIELDS), 2
                ),
                "ack_parse_vs_validate": round(med["eiwo_ack.parse"] / p, 3),
                "ack_parse_vs_validate_per_field": round(med["eiwo_ack.parse"] * ACK_FIELDS / (p * CEILING_FIELDS), 2),
                "ack_parse_canonical_vs_validate_per_field": round(
                    med["eiwo_ack.parse_canonical"] * ACK_FIELDS / (p * CEILING_FIELDS), 2
                ),
                "render_records_vs_percent": round(med["eiwo.render_records"] / w, 3),
                "render_records_vs_percent_per_field": round(
                    med["eiwo.render_records"] * DTL_FIELDS / (w * CEILING_FIELDS), 2
                ),
                "render_orders_vs_percent": round(med["eiwo.render_orders"] / w, 3),
                "targets": {"parse": 0.6, "render": 0.5},
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    main()
