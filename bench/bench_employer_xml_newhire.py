"""e-IWO XML and new-hire benchmarks against the shared ceilings, run in the same session.

    .venv/bin/python bench/bench_employer_xml_newhire.py [--orders 5000] [--hires 50000] [--rounds 3]

Prints one JSON line per case, ``{"bench", "records", "seconds", "records_per_s", "peak_rss_mb"}``, then
the ceilings and the ratios. Ceilings (shared/perf, run alternately with our cases, medians compared,
because the machine is noisy):

* ``b4_xml.py`` ``xml.iterparse_dict_xsd`` — lxml iterparse validating against an XSD, one dict per
  record of 80 leaf elements: the validating-iterparse ceiling for e-IWO XML parsing (target ≥ 0.5).
  The same run gives ``xml.build`` and ``xml.serialize``, the ceiling of building XML with lxml.
  b4 has no case filter, so it runs whole.
* ``b3_write_fixed.py`` ``write.percent`` — ``%``-format of a 300-byte, 35-field record: the write
  ceiling for renderers (target ≥ 0.5). Also runs whole.
* ``b2_parse_fixed.py`` ``parse.c_plain_validate`` (``BENCH_ONLY``) — slice + hand-written validation of
  the same record: the fixed-width parse ceiling, for the new-hire readers.

Our records differ in size from the ceilings' (an order here has ~60-90 elements; a W4 record is 801
bytes with 26-40 fields), so the ratios are also given per element or per field. The ceiling scripts
need msgspec (shared/perf/requirements.txt): set ``CEILING_PYTHON`` to a Python that has it. Their
result rows go to a temporary file, never into shared/. Each of our cases runs in its own child
process (its peak RSS is its own), input generated there before the clock starts.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import statistics
from pathlib import Path
from typing import Any

from harness import ceilings, drain, median_time, run_child  # bench/ is the script's folder, first on sys.path

ROOT = Path(__file__).resolve().parent.parent
XML_CEILING = ("b4_xml.py", "xml.iterparse_dict_xsd")
BUILD_CEILINGS = ("xml.build", "xml.serialize")
WRITE_CEILING = ("b3_write_fixed.py", "write.percent")
PARSE_CEILING = ("b2_parse_fixed.py", "parse.c_plain_validate")
CEILING_ELEMENTS, CEILING_FIELDS = 81, 35  # b4: a Record and its 80 leaves; b2/b3: 35 fields
CASES = (
    "eiwo_xml.parse",
    "eiwo_xml.render",
    "new_hire.parse",
    "new_hire.parse_canonical",
    "new_hire.render",
    "ndnh_w4.parse",
    "ndnh_w4.render",
)


# --------------------------------------------------------------------------- synthetic input (child side)


def fixture_generator(folder: str) -> Any:
    """The fixture folder's ``generate`` module (its synthetic records are the benchmark's too)."""
    import importlib.util

    path = ROOT / "fixtures" / "employer" / folder / "generate.py"
    spec = importlib.util.spec_from_file_location(f"gen_{folder.replace('-', '_')}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def orders(n: int) -> list[dict[str, Any]]:
    """``n`` valid orders as records: four of five a typical order, one in five with every element."""
    gen = fixture_generator("eiwo-xml")
    templates = [gen.order(k % 4, ("ORG", "AMD", "ORG", "TRM")[k % 4]) for k in range(4)] + [gen.full_order()]
    out = []
    for i in range(n):
        o = dict(templates[i % 5])
        o["document_tracking_id"] = f"B{i:029d}"
        out.append({"type": "order", "data": o})
    return out


def xml_document(n: int) -> bytes:
    from adapters.employer.eiwo_xml import EiwoXmlAdapter

    gen = fixture_generator("eiwo-xml")
    items = orders(n)
    records: list[dict[str, Any]] = [{"type": "file_header", "data": gen.FILE_HEADER}]
    for b, fein in enumerate(sorted({r["data"]["employer"]["fein"] for r in items})):  # a batch per employer
        records.append({"type": "batch_header", "data": gen.batch_header(fein, b + 1)})
        records += [r for r in items if r["data"]["employer"]["fein"] == fein]
    return b"".join(EiwoXmlAdapter().render(records))


def elements_per_order(doc: bytes, n: int) -> float:
    from lxml import etree

    root = etree.fromstring(doc)
    return sum(1 for e in root.iter("{*}IWO") for _ in e.iter(etree.Element)) / n


def w4_rows(n: int) -> list[dict[str, Any]]:
    gen = fixture_generator("new-hire")
    rows = []
    for i in range(n):
        row = gen.employee(i % 5)
        row["employee_ssn"] = f"{100 + i % 500:03d}{10 + i % 89:02d}{1000 + i % 8999:04d}"
        row["hire_date"] = dt.date(2025, 1, 1) + dt.timedelta(days=i % 300)
        rows.append(row)
    return rows


def timed_render(adapter: Any, records: list[dict[str, Any]]) -> tuple[int, float]:
    return median_time(lambda: sum(len(chunk) for chunk in adapter.render(records)))


def case(name: str, n_orders: int, n_hires: int) -> dict[str, Any]:
    """One case, timed in this (child) process."""
    from adapters.employer.eiwo_xml import EiwoXmlAdapter
    from adapters.employer.ndnh_w4 import NdnhW4Adapter
    from adapters.employer.new_hire import NewHireAdapter

    extra: dict[str, Any] = {}
    if name.startswith("eiwo_xml."):
        n = n_orders
        doc = xml_document(n)
        if name == "eiwo_xml.parse":
            good, secs = drain(EiwoXmlAdapter(), doc, "order")
            extra = {"elements_per_order": round(elements_per_order(doc, n), 1), "mb": round(len(doc) / 1e6, 1)}
        else:
            parsed = [
                {"type": p.type, "data": p.data, "canonical": p.canonical}
                for p in EiwoXmlAdapter().parse(io.BytesIO(doc))
            ]
            size, secs = timed_render(EiwoXmlAdapter(), parsed)
            good = n if size == len(doc) else -1
    elif name.startswith("new_hire."):
        n = n_hires
        adapter = NewHireAdapter()
        records = [{"type": "new_hire", "data": r} for r in w4_rows(n)]
        if name == "new_hire.render":
            size, secs = timed_render(adapter, records)
            good = size // 802
        else:
            good, secs = drain(adapter, b"".join(adapter.render(records)), "new_hire", build=name.endswith("canonical"))
    else:
        n = n_hires
        adapter = NdnhW4Adapter()  # EBCDIC, as the NDNH takes it
        header = {
            "type": "header",
            "data": {"transmitter_state_code": "02", "date_stamp": "2025-01-10", "batch_number": 1},
        }
        rows = [{k: v.upper() if isinstance(v, str) else v for k, v in r.items()} for r in w4_rows(n)]
        records = [header, *({"type": "new_hire", "data": r} for r in rows)]
        if name == "ndnh_w4.render":
            size, secs = timed_render(adapter, records)
            good = size // 801 - 2
        else:
            good, secs = drain(adapter, b"".join(adapter.render(records)), "new_hire")
    if good != n:
        raise SystemExit(f"{name}: {good} of {n} records came through")
    return {"records": n, "seconds": secs, **extra}


# --------------------------------------------------------------------------- parent side


def child(name: str, a: argparse.Namespace) -> dict[str, Any]:
    row, rss = run_child(__file__, ["--case", name, "--orders", str(a.orders), "--hires", str(a.hires)])
    row["peak_rss_mb"] = rss
    return row


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--orders", type=int, default=5_000)
    ap.add_argument("--hires", type=int, default=50_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--case")
    a = ap.parse_args()
    if a.case:
        print(json.dumps(case(a.case, a.orders, a.hires)))
        return
    rates: dict[str, list[float]] = {}
    rows: dict[str, dict[str, Any]] = {}
    for _ in range(a.rounds):  # alternate, so ours and the ceilings see the same machine
        found = {
            **ceilings(XML_CEILING[0], (XML_CEILING[1], *BUILD_CEILINGS)),
            **ceilings(WRITE_CEILING[0], (WRITE_CEILING[1],)),
            **ceilings(PARSE_CEILING[0], (PARSE_CEILING[1],), only=PARSE_CEILING[1]),
        }
        for name in CASES:
            row = child(name, a)
            found[name] = row["records"] / row["seconds"]
            rows[name] = {
                **rows.get(name, {}),
                **row,
                "peak_rss_mb": max(row["peak_rss_mb"], rows.get(name, {}).get("peak_rss_mb", 0.0)),
            }
        for key, value in found.items():
            rates.setdefault(key, []).append(value)
    med = {k: statistics.median(v) for k, v in rates.items()}
    for name in CASES:
        r = rows[name]
        line = {
            "bench": name,
            "records": r["records"],
            "seconds": round(r["records"] / med[name], 3),
            "records_per_s": round(med[name]),
            "peak_rss_mb": round(r["peak_rss_mb"], 1),
        }
        line.update({k: v for k, v in r.items() if k in ("elements_per_order", "mb")})
        print(json.dumps(line), flush=True)
    for key in (XML_CEILING[1], *BUILD_CEILINGS, WRITE_CEILING[1], PARSE_CEILING[1]):
        print(json.dumps({"bench": f"ceiling.{key}", "records_per_s": round(med[key]), "rounds": a.rounds}), flush=True)
    xsd, write, validate = med[XML_CEILING[1]], med[WRITE_CEILING[1]], med[PARSE_CEILING[1]]
    build = 1 / (1 / med["xml.build"] + 1 / med["xml.serialize"])  # build a tree, then serialize it
    elements = rows["eiwo_xml.parse"]["elements_per_order"]
    w4_fields = {"new_hire": 26, "ndnh_w4": 40}  # data fields of the OCSE layout and of the NDNH W4 record
    print(
        json.dumps(
            {
                "bench": "ratio",
                "eiwo_xml_parse_vs_iterparse_xsd": round(med["eiwo_xml.parse"] / xsd, 3),
                "eiwo_xml_parse_vs_iterparse_xsd_per_element": round(
                    med["eiwo_xml.parse"] * elements / (xsd * CEILING_ELEMENTS), 3
                ),
                "eiwo_xml_render_vs_build_serialize": round(med["eiwo_xml.render"] / build, 3),
                "eiwo_xml_render_vs_write_percent": round(med["eiwo_xml.render"] / write, 4),
                "new_hire_parse_vs_validate": round(med["new_hire.parse"] / validate, 3),
                "new_hire_parse_canonical_vs_validate": round(med["new_hire.parse_canonical"] / validate, 3),
                "ndnh_w4_parse_vs_validate": round(med["ndnh_w4.parse"] / validate, 3),
                "new_hire_render_vs_write_percent": round(med["new_hire.render"] / write, 3),
                "new_hire_render_vs_write_percent_per_field": round(
                    med["new_hire.render"] * w4_fields["new_hire"] / (write * CEILING_FIELDS), 3
                ),
                "ndnh_w4_render_vs_write_percent": round(med["ndnh_w4.render"] / write, 3),
                "ndnh_w4_render_vs_write_percent_per_field": round(
                    med["ndnh_w4.render"] * w4_fields["ndnh_w4"] / (write * CEILING_FIELDS), 3
                ),
                "targets": {"xml_parse": 0.5, "render": 0.5},
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    main()
