"""Envelope and transport throughput on this machine (loopback servers from the test kit).

Prints one JSON line per case: ``{"bench", "records", "seconds", "records_per_s", "peak_rss_mb",
"mb_per_s", "ratio"}`` where a record is one file of ``--mib`` MiB, and ``ratio`` compares
``mb_per_s`` to SHA-256 over the same buffer measured in the same session: the
``crypto.sha256_bulk`` ceiling of ``shared/perf/b7_crypto.py`` (one whole-buffer digest), which
every verified transfer pays at least once. Each case runs in its own child process, so its peak
RSS is its own.

    .venv/bin/python bench/bench_transports.py [--mib 32] [--rounds 3]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "gateway"))  # the real servers of the transport tests

from gateway.transports.base import Transport  # noqa: E402

CASES = [
    "envelope.seal",
    "envelope.unseal",
    "folder.put",
    "folder.get",
    "sftp.put",
    "sftp.get",
    "https.put",
    "https.get",
]


def ceiling(data: bytes, rounds: int) -> float:
    """MB/s of hashlib.sha256 over ``data`` (b7_crypto ``crypto.sha256_bulk``), median of ``rounds``."""
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        hashlib.sha256(data).digest()
        times.append(time.perf_counter() - start)
    return len(data) / 1e6 / statistics.median(times)


@contextmanager
def _transport(kind: str, work: Path) -> Iterator[Transport]:
    from transport_kit import https_server, make_ssh_keys, make_tls_pki, sftp_server

    from gateway.transports import open_transport

    root = work / "partner"
    root.mkdir()
    if kind == "folder":
        with open_transport(root.as_uri()) as transport:
            yield transport
    elif kind == "sftp":
        keys = make_ssh_keys(work / "ssh")
        with sftp_server(root, keys) as port, open_transport(f"sftp://b@127.0.0.1:{port}/", keys.client()) as t:
            yield t
    else:
        pki = make_tls_pki(work / "pki")
        with https_server(root, pki, max_bytes=1 << 30) as server, open_transport(server.url, pki.client()) as t:
            yield t


def run_case(case: str, mib: int, rounds: int) -> dict[str, object]:
    data = os.urandom(mib << 20)
    kind, operation = case.split(".")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if kind == "envelope":
            step = _envelope_step(operation, data, work)
            times = _time(step, rounds)
        else:
            with _transport(kind, work) as transport:
                times = _time(_transport_step(transport, operation, data), rounds)
    seconds = statistics.median(times)
    return {
        "bench": case,
        "records": 1,
        "seconds": round(seconds, 4),
        "records_per_s": round(1 / seconds, 3),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "mb_per_s": round(len(data) / 1e6 / seconds, 1),
    }


def _time(step: Callable[[int], None], rounds: int) -> list[float]:
    times = []
    for n in range(rounds):
        start = time.perf_counter()
        step(n)
        times.append(time.perf_counter() - start)
    return times


def _envelope_step(operation: str, data: bytes, work: Path) -> Callable[[int], None]:
    from gateway.security.envelope import IdentityStore, seal, unseal

    ours = IdentityStore(work / "ours").ensure("bench agency")
    partner = IdentityStore(work / "partner").ensure("bench partner")
    assert ours is not None and partner is not None
    sealed = seal(data, signer=partner, recipient=ours.certificate)

    def step(n: int) -> None:
        if operation == "seal":
            seal(data, signer=ours, recipient=partner.certificate)
        else:
            assert unseal(sealed, identities=[ours], sender=partner.certificate) == data

    return step


def _transport_step(transport: Transport, operation: str, data: bytes) -> Callable[[int], None]:
    if operation == "get":
        transport.put("file.bin", data)

    def step(n: int) -> None:
        if operation == "put":
            transport.put(f"file-{n}.bin", data)
        else:
            assert transport.get("file.bin") == data

    return step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mib", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--case", choices=CASES, help=argparse.SUPPRESS)  # internal: one child per case
    args = parser.parse_args()
    if args.case:
        print(json.dumps(run_case(args.case, args.mib, args.rounds)))
        return
    for case in CASES:
        base = ceiling(os.urandom(args.mib << 20), args.rounds)
        child = subprocess.run(
            [sys.executable, __file__, "--case", case, "--mib", str(args.mib), "--rounds", str(args.rounds)],
            capture_output=True,
            text=True,
            check=True,
            timeout=900,
        )
        result = json.loads(child.stdout)
        result["ratio"] = round(result["mb_per_s"] / base, 3)
        result["ceiling_sha256_mb_per_s"] = round(base, 1)
        print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
