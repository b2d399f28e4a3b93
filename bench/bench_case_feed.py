"""Case feed benchmark: a synthetic NDNH quarterly wage file taken in, then matched to a case registry
in which one employee in five of the file is a case participant (``gateway.cases.feed``: decrypt each
staged record, blind-index its SSN, look the chunk's SSNs up at once, encrypt and store each finding).

Timed: the intake of the file (parse, encrypt, stage, then the feed), and the feed alone once more on
the same staged records (its findings removed first), so the figures read as "what matching to cases
costs within taking a file in". SQLite, one process.

Prints JSON lines ``{"bench", "records", "seconds", "records_per_s", ...}``.

    .venv/bin/python bench/bench_case_feed.py [--records 50000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import gen_qw
from harness import intake_runtime
from run import emit


def one_round(records: int, every: int) -> tuple[float, float, dict[str, int]]:
    """Intake seconds, feed seconds and the feed's counts for one fresh database."""
    from sqlalchemy import delete, update

    from gateway.cases import feed, registry
    from gateway.db.models import Address, Exchange
    from gateway.db.session import session_scope
    from gateway.exchanges import intake

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        rt, profile = intake_runtime(root, f"sqlite:///{root / 'csgate.db'}", "swa", "ndnh-qw")
        people = [r for i, r in enumerate(gen_qw.records(records)) if r.get("type") == "wage" and i % every == 0]
        cases = [
            (
                n,
                {
                    "case": {
                        "case_id": f"B-{n:07d}",
                        "fips": "0200000",
                        "case_type": "IV-D",
                        "participants": [{"role": "NCP", "ssn": p["data"]["employee_ssn"], "name": {"last": "BENCH"}}],
                    }
                },
            )
            for n, p in enumerate(people, start=1)
        ]
        registry.import_cases(rt, cases)
        path = root / "qw.txt"
        gen_qw.write(path, records)
        started = time.perf_counter()
        result = intake.receive(rt, profile, name="qw.txt", raw=path.read_bytes())  # the feed included
        took_intake = time.perf_counter() - started
        with session_scope(rt.engine) as session:  # undo the feed's work, then time the feed alone
            session.execute(delete(Address))
            session.execute(update(Exchange).where(Exchange.id == result.exchange_id).values(fed_at=None))
        started = time.perf_counter()
        report = feed.feed(rt, result.exchange_id)
        took_feed = time.perf_counter() - started
        rt.engine.dispose()
        assert report is not None
        return took_intake, took_feed, report.as_dict()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=50_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--every", type=int, default=5, help="one employee in EVERY is a case participant")
    a = ap.parse_args()
    rounds = [one_round(a.records, a.every) for _ in range(a.rounds)]
    counts = rounds[-1][2]
    intake_s = statistics.median(r[0] for r in rounds)
    feed_s = statistics.median(r[1] for r in rounds)
    emit("case_feed.intake_qw_with_feed", a.records, intake_s, 0.0)
    emit("case_feed.feed_qw", a.records, feed_s, 0.0, matched=counts["matched"], findings=counts["findings"])
    print(f'{{"bench": "case_feed.share", "feed_share_of_intake": {feed_s / intake_s:.3f}}}')


if __name__ == "__main__":
    main()
