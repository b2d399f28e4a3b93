"""Write a synthetic NDNH quarterly wage (QW) file of N employee wage records, deterministically.

    .venv/bin/python bench/gen_qw.py N OUT [--ebcdic] [--seed 1]

Streams: records are rendered by the ``ndnh-qw`` adapter itself as they are generated, so memory stays
flat for any N and every record is one the parser accepts. Employers have 1-80 employees each (about
40 on average, like a state's QW file); SSNs are random but pass the SSA rules, FEIN prefixes are ones
the IRS assigns. All people and employers are invented.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

from adapters.labor.ndnh_qw import NdnhQwAdapter

FIRST = [
    "JAMES",
    "MARY",
    "ROBERT",
    "PATRICIA",
    "JOHN",
    "JENNIFER",
    "MICHAEL",
    "LINDA",
    "DAVID",
    "ELIZABETH",
    "MARIA",
    "JOSE",
    "ANNE-MARIE",
    "WEI",
    "FATIMA",
    "DMITRI",
]
LAST = [
    "SMITH",
    "JOHNSON",
    "WILLIAMS",
    "BROWN",
    "JONES",
    "GARCIA",
    "MILLER",
    "DAVIS",
    "RODRIGUEZ",
    "MARTINEZ",
    "HERNANDEZ",
    "LOPEZ",
    "GONZALEZ",
    "NGUYEN",
    "SAMPLE-TESTER",
    "OKAFOR",
]
EMPLOYER = [
    "ACME TOOL WORKS",
    "BLUE RIVER HEALTH SYSTEM",
    "STATE UNIVERSITY",
    "QUICK MART STORES LLC",
    "NORTHWIND LOGISTICS",
    "CITY OF SPRINGFIELD",
    "WEST-END DINER",
    "SUMMIT PAYROLL SERVICES",
]
CITY = ["SACRAMENTO", "FRESNO", "SAN DIEGO", "REDDING", "CHULA VISTA", "SANTA ROSA", "WALNUT CREEK"]
FEIN_PREFIXES = [12, 20, 27, 33, 45, 52, 61, 75, 84, 91]
NEVER_VALID = {"078051120", "219099999", "457555462"}  # SSNs SSA lists as never issued


def ssn(rng: random.Random) -> str:
    """A random SSN passing SSA rules: area 001-899 but not 666, group not 00, serial not 0000."""
    while True:
        area = rng.randint(1, 899)
        text = f"{area:03d}{rng.randint(1, 99):02d}{rng.randint(1, 9999):04d}"
        if area != 666 and text not in NEVER_VALID:
            return text


def records(n: int, seed: int = 1, year: int = 2025, quarter: int = 1) -> Iterator[dict[str, Any]]:
    """Render input for one transmission of ``n`` wage records (the adapter writes the trailer)."""
    rng = random.Random(seed)
    yield {
        "type": "header",
        "data": {
            "transmitter_state_code": "06",
            "date_stamp": dt.date(year, 4, 30),
            "batch_number": seed % 1_000_000,
            "state_or_agency_name": "CALIFORNIA EDD",
        },
    }
    left, employer_no = n, 0
    while left:
        employer_no += 1
        size = min(left, rng.randint(1, 80))
        left -= size
        yield {
            "type": "employer",
            "data": {
                "employer_fein": f"{rng.choice(FEIN_PREFIXES)}{employer_no % 10_000_000:07d}",
                "employer_state_ein": f"{employer_no:010d}",
                "employer_name": rng.choice(EMPLOYER),
                "address_line1": f"{rng.randint(1, 9999)} MAIN ST",
                "city": rng.choice(CITY),
                "state": "CA",
                "zip5": f"{rng.randint(90001, 96162):05d}",
            },
        }
        for _ in range(size):
            yield {
                "type": "wage",
                "data": {
                    "employee_ssn": ssn(rng),
                    "first_name": rng.choice(FIRST),
                    "last_name": rng.choice(LAST),
                    "middle_name": rng.choice(("A", "J", None)),
                    "wage_amount": Decimal(rng.randint(1, 5_000_000)).scaleb(-2),
                    "reporting_year": year,
                    "reporting_quarter": str(quarter),
                },
            }


def write(path: Path, n: int, *, encoding: str = "ascii", seed: int = 1) -> int:
    """Write the file (through a ``.part`` name, so a crash leaves no half file); return its size."""
    adapter = NdnhQwAdapter(encoding=encoding)
    tmp = path.with_name(f".{path.name}.part")
    size = 0
    with tmp.open("wb") as fh:
        for chunk in adapter.render(records(n, seed)):
            size += fh.write(chunk)
    tmp.replace(path)
    return size


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("n", type=int, help="number of employee wage records")
    ap.add_argument("out", type=Path)
    ap.add_argument("--ebcdic", action="store_true", help="cp037 fixed-length records instead of ASCII lines")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    size = write(a.out, a.n, encoding="cp037" if a.ebcdic else "ascii", seed=a.seed)
    print(f"{a.out}: {a.n} wage records, {size} bytes")


if __name__ == "__main__":
    main()
