"""UIFSA form adapters: sidecar parse (JSON + checks + canonical), PDF render and EDE packaging.

    .venv/bin/python bench/bench_uifsa_forms.py [--forms 2000] [--pdfs 40] [--rounds 3]

Prints one JSON line per case, ``{"bench", "records", "seconds", "records_per_s", "peak_rss_mb"}``, then
ratios to two ceilings run in the same session (shared/perf has none for JSON documents or PDF):
``orjson.loads`` of the same sidecars (the floor any JSON reader pays) and fpdf2 writing the same
number of label/value text lines with plain ``cell`` calls and no table layout (the floor any fpdf2
form pays). The machine is shared and noisy, so cases and ceilings alternate and medians are compared.

Input: every valid fixture of the five form adapters, cycled.
"""

from __future__ import annotations

import argparse
import io
import json
import resource
import statistics
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import orjson
from fpdf import FPDF

from adapters.interstate.uifsa_forms import FORM_ADAPTERS, UifsaFormAdapter, ede_package

ROOT = Path(__file__).resolve().parent.parent
ADAPTERS: list[UifsaFormAdapter] = [cls() for cls in FORM_ADAPTERS]


def corpus() -> list[tuple[UifsaFormAdapter, bytes, dict[str, Any]]]:
    """(adapter, one-form sidecar, its checked data) for every valid fixture."""
    out = []
    for a in ADAPTERS:
        for path in sorted((ROOT / "fixtures" / "interstate" / a.key).glob("*.json")):
            if path.name.startswith("invalid") or path.name == "case.json":
                continue
            for r in a.parse(io.BytesIO(path.read_bytes())):
                data = getattr(r, "data", None)
                if data is not None:
                    out.append((a, a.render_sidecar([data]), data))
    return out


def timed(fn: Callable[[], int]) -> tuple[int, float]:
    t0 = time.perf_counter()
    n = fn()
    return n, time.perf_counter() - t0


def case_parse(items: list[tuple[UifsaFormAdapter, bytes, dict[str, Any]]]) -> int:
    for a, sidecar, _ in items:
        for r in a.parse(io.BytesIO(sidecar)):
            if r.__class__.__name__ == "Rejected":
                raise SystemExit(f"bench input rejected: {r}")
    return len(items)


def ceiling_json(items: list[tuple[UifsaFormAdapter, bytes, dict[str, Any]]]) -> int:
    for _, sidecar, _ in items:
        orjson.loads(sidecar)
    return len(items)


def case_pdf(items: list[tuple[UifsaFormAdapter, bytes, dict[str, Any]]]) -> int:
    for a, _, data in items:
        b"".join(a.render([data]))
    return len(items)


def ceiling_pdf(items: list[tuple[UifsaFormAdapter, bytes, dict[str, Any]]]) -> int:
    """One plain text line per element of each form: what fpdf2 costs before any layout work."""
    for a, _, _ in items:
        pdf = FPDF(format="letter")
        pdf.add_page()
        pdf.set_font("helvetica", size=8.5)
        for section in a.form.sections:
            for el in section.elements:
                pdf.cell(0, 4.6, f"{el.label}: value", new_x="LMARGIN", new_y="NEXT")
        bytes(pdf.output())
    return len(items)


def case_ede(items: list[tuple[UifsaFormAdapter, bytes, dict[str, Any]]]) -> int:
    ede_package([{"form": a.form.id, "data": data} for a, _, data in items])
    return len(items)


def emit(name: str, runs: list[tuple[int, float]]) -> float:
    n = runs[0][0]
    seconds = statistics.median(s for _, s in runs)
    rate = n / seconds
    print(
        json.dumps(
            {
                "bench": name,
                "records": n,
                "seconds": round(seconds, 4),
                "records_per_s": round(rate, 1),
                "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            }
        )
    )
    return rate


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--forms", type=int, default=2000, help="sidecars parsed per round")
    ap.add_argument("--pdfs", type=int, default=40, help="PDFs rendered per round (and forms in one EDE package)")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    base = corpus()
    many = [base[i % len(base)] for i in range(args.forms)]
    few = [base[i % len(base)] for i in range(args.pdfs)]
    cases = {
        "uifsa.parse_sidecar": (case_parse, many),
        "ceiling.orjson_loads": (ceiling_json, many),
        "uifsa.render_pdf": (case_pdf, few),
        "ceiling.fpdf2_plain_lines": (ceiling_pdf, few),
        "uifsa.ede_package": (case_ede, few),
    }
    runs: dict[str, list[tuple[int, float]]] = {name: [] for name in cases}
    for _ in range(args.rounds):
        for name, (fn, items) in cases.items():
            runs[name].append(timed(partial(fn, items)))
    rates = {name: emit(name, r) for name, r in runs.items()}
    print(
        json.dumps(
            {
                "ratio": "uifsa.parse_sidecar / ceiling.orjson_loads",
                "value": round(rates["uifsa.parse_sidecar"] / rates["ceiling.orjson_loads"], 4),
            }
        )
    )
    print(
        json.dumps(
            {
                "ratio": "uifsa.render_pdf / ceiling.fpdf2_plain_lines",
                "value": round(rates["uifsa.render_pdf"] / rates["ceiling.fpdf2_plain_lines"], 4),
            }
        )
    )


if __name__ == "__main__":
    main()
