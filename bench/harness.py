"""What the per-format benchmarks share: running the ceiling scripts of ``shared/perf`` beside them,
draining a parse, and running a case in a child process of its own.

Each ceiling run uses a private copy of shared/perf: the scripts write their data files beside themselves (two
benchmarks sharing that folder would overwrite each other's), and nothing is written into shared/. Result
rows go to a temporary file. The scripts need msgspec (shared/perf/requirements.txt): set
``CEILING_PYTHON`` to a Python that has it.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")
PERF = Path(__file__).resolve().parent.parent.parent / "shared" / "perf"


def ceilings(script: str, ids: tuple[str, ...], only: str | None = None) -> dict[str, float]:
    """The median records/s of each case ``ids`` of ``script`` (``only``: run just the cases with that prefix)."""
    python = os.environ.get("CEILING_PYTHON", sys.executable)
    with tempfile.TemporaryDirectory() as tmp:
        for source in PERF.glob("*.py"):
            shutil.copy(source, tmp)
        results = Path(tmp) / "results.jsonl"
        env = {**os.environ, "BENCH_RESULTS": str(results)}
        if only:
            env["BENCH_ONLY"] = only
        subprocess.run([python, script], cwd=tmp, env=env, check=True, stdout=subprocess.DEVNULL)
        rows = [json.loads(line) for line in results.read_text().splitlines()]
    return {i: float(next(r["median"] for r in rows if r["id"] == i)) for i in ids}


REPEATS = 5  # timed passes per case, as the shared ceiling scripts make of theirs


def median_time(run: Callable[[], T], repeats: int = REPEATS) -> tuple[T, float]:
    """``run()``'s result and its median wall time over ``repeats`` passes.

    The shared ceiling scripts time their own pass the same way. A first pass in a fresh process also
    pays for warming the allocator and the caches, so one cold pass against the ceilings' warm median
    would understate every ratio."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - t0)
    return result, statistics.median(times)


def drain(adapter: Any, data: bytes, kind: str, build: bool = False) -> tuple[int, float]:
    """Parse everything and drop it, timed (``median_time``); count good records of ``kind`` (``build``:
    also read, so build, each one's canonical record, as a caller that stores canonical records does)."""
    from adapters.base import Parsed

    def run() -> int:
        good = 0
        for r in adapter.parse(io.BytesIO(data)):
            if isinstance(r, Parsed) and r.type == kind:
                good += 1 if not build or r.canonical is not None else 0
        return good

    return median_time(run)


def intake_runtime(root: Path, url: str, partner: str, fmt: str) -> tuple[Any, Any]:
    """A gateway runtime on a freshly migrated database at ``url`` (keys under ``root``) with one
    partner row, and that partner's exchange profile taking ``fmt``: what an intake benchmark runs on."""
    from gateway.db import migrate
    from gateway.db.models import Partner
    from gateway.db.session import make_engine, session_scope
    from gateway.exchanges.profile import ExchangeProfile
    from gateway.exchanges.runtime import Runtime
    from gateway.security.keystore import KeyStore
    from gateway.transports.memory import MemoryStore, MemoryTransport

    migrate.upgrade(url)
    store = KeyStore(root / "keys")
    store.ensure()
    rt = Runtime(make_engine(url), root, store.key_dir, store.cipher(), store.blind_index(), actor="bench")
    with session_scope(rt.engine) as session:
        session.add(Partner(id=partner, kind="employer", name=partner.title(), config={}))
    memory = MemoryStore()
    profile = ExchangeProfile(partner, lambda side: MemoryTransport(memory), inbound_formats=(fmt,))
    return rt, profile


def run_child(script: str, args: Sequence[str], cwd: Path | None = None) -> tuple[dict[str, Any], float]:
    """``script`` run with ``args`` in a child process of this Python; the JSON it prints and its peak
    RSS (MB, ``os.wait4``), which is the case's own and none of this process's."""
    proc = subprocess.Popen([sys.executable, script, *args], stdout=subprocess.PIPE, cwd=cwd)
    assert proc.stdout is not None
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status):
        raise SystemExit(f"{Path(script).name} {' '.join(args)} failed")
    row: dict[str, Any] = json.loads(out)
    return row, usage.ru_maxrss / 1024
