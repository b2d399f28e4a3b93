"""Two real ``csgate serve`` instances against the real PostgreSQL, sharing one folder partner
scheduled every second: no file is taken in twice, and when the leader is killed (SIGKILL) the
other instance takes over scheduling. Every wait is bounded."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from exchange_kit import DED, ROOT, load_folder_partner, runtime
from sqlalchemy import func, select

from gateway.db.models import Exchange, ExchangeStatus, WorkItem, WorkStatus
from gateway.db.session import session_scope

WAIT = 45.0
FILES = sorted(p.name for p in DED.glob("ded-*.ach"))[:7]


class Instance:
    """One ``csgate serve --no-api`` process and its JSON log."""

    def __init__(self, name: str, env: dict[str, str], log_dir: Path) -> None:
        self.name = name
        self.log_path = log_dir / f"{name}.log"
        self.killed = False
        self.log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gateway.cli",
                "serve",
                "--no-api",
                "--leader-interval",
                "0.3",
                "--housekeeping",
                "2",
            ],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    def lines(self) -> list[dict[str, Any]]:
        out = []
        for raw in self.log_path.read_bytes().splitlines():
            try:
                out.append(orjson.loads(raw))
            except orjson.JSONDecodeError:
                continue  # e.g. a line cut by SIGKILL
        return out

    def said(self, msg: str) -> list[dict[str, Any]]:
        return [line for line in self.lines() if line.get("msg") == msg]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.log.close()


def wait_for(condition: Callable[[], bool], what: str, instances: list[Instance]) -> None:
    """Poll ``condition``; fail after WAIT seconds, or at once if a live instance exits."""
    deadline = time.monotonic() + WAIT
    while not condition():
        died = [i for i in instances if not i.killed and i.proc.poll() is not None]
        if died or time.monotonic() > deadline:
            tails = {i.name: i.log_path.read_text(errors="replace")[-3000:] for i in instances}
            why = f"instance {died[0].name} exited" if died else f"not within {WAIT}s"
            raise AssertionError(f"{what}: {why}; logs: {tails}")
        time.sleep(0.2)


def drop(outbox: Path, names: list[str]) -> None:
    for name in names:
        tmp = outbox / f".{name}.part"
        tmp.write_bytes((DED / name).read_bytes())
        tmp.rename(outbox / name)  # atomic: the gateway never sees half a file


@pytest.fixture
def cluster(pg_url: str, tmp_path: Path) -> Iterator[tuple[list[Instance], Path, Any]]:
    data = tmp_path / "data"
    rt = runtime(pg_url, tmp_path, key_dir=data / "keys")  # migrated, keys made, as `csgate keys init`
    root = load_folder_partner(rt, "acme", tmp_path / "acme", schedule="* * * * * *")
    engine = rt.engine
    env = {**os.environ, "CSGATE_DATABASE_URL": pg_url, "CSGATE_DATA_DIR": str(data), "CSGATE_LOG_LEVEL": "INFO"}
    env.pop("CSGATE_CONFIG", None)
    instances = [Instance(name, env, tmp_path) for name in ("a", "b")]
    try:
        yield instances, root / "outbox", engine
    finally:
        for instance in instances:
            instance.stop()
        engine.dispose()


def processed(engine: Any) -> int:
    with session_scope(engine) as session:
        return int(
            session.scalar(
                select(func.count()).where(Exchange.status.in_([ExchangeStatus.PROCESSED, ExchangeStatus.PARTIAL]))
            )
            or 0
        )


def test_two_instances_one_leader_no_double_run_and_failover(cluster: tuple[list[Instance], Path, Any]) -> None:
    instances, outbox, engine = cluster
    wait_for(lambda: sum(bool(i.said("became scheduler leader")) for i in instances) == 1, "a leader", instances)
    [leader] = [i for i in instances if i.said("became scheduler leader")]
    [standby] = [i for i in instances if i is not leader]

    drop(outbox, FILES[:4])
    wait_for(lambda: processed(engine) == 4, "first four files taken in", instances)

    leader.killed = True
    leader.proc.send_signal(signal.SIGKILL)
    leader.proc.wait(10)
    wait_for(lambda: bool(standby.said("became scheduler leader")), "standby takes over", instances)
    drop(outbox, FILES[4:])
    wait_for(lambda: processed(engine) == len(FILES), "the rest taken in by the new leader", instances)
    # The standby's workers may take the rest in from slots the old leader queued before it died, so the
    # new leader's own firing can come after the files are in: wait for it before looking at the queue.
    wait_for(lambda: bool(standby.said("schedule fired")), "the new leader fires its own slots", instances)

    # No file was taken in twice, by either instance, and none was lost.
    taken = Counter(line["file_sha256"] for i in instances for line in i.said("file taken in"))
    assert len(taken) == len(FILES) and set(taken.values()) == {1}, taken
    assert sorted(p.name for p in (outbox / "done").iterdir()) == sorted(FILES)
    assert list(outbox.iterdir()) == [outbox / "done"]
    # Slots fired by both leaders were queued once each; every run either finished or is pending.
    with session_scope(engine) as session:
        items = session.execute(select(WorkItem.slot, WorkItem.status)).all()
    assert len({slot for slot, _ in items}) == len(items)
    assert {status for _, status in items} <= {WorkStatus.DONE, WorkStatus.PENDING, WorkStatus.RUNNING}
    fired_after = {line["slot"] for line in standby.said("schedule fired")}
    assert fired_after, "the new leader fired slots"
    started = Counter(line["work_id"] for i in instances for line in i.said("work done"))
    assert set(started.values()) == {1}, "no run was completed twice"
