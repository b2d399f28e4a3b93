"""Named counters hand out unique numbers under concurrency, continue from their seed, and are what
CSENet serials and FCR batch numbers come from."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from exchange_kit import runtime

from gateway.db import counters
from gateway.db.session import session_scope


def test_concurrent_takers_never_share_a_number(db_url: str, tmp_path: Path) -> None:
    rt = runtime(db_url, tmp_path)
    taken: list[int] = []
    lock = threading.Lock()
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            for _ in range(20):
                with session_scope(rt.engine, writes_after_reading=True) as session:
                    first = counters.take(session, "serial", 2, start=lambda: 100)
                with lock:
                    taken.extend((first, first + 1))
        except BaseException as exc:  # reported below, with the numbers taken so far
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    rt.engine.dispose()
    assert errors == [] and all(not t.is_alive() for t in threads)
    assert sorted(taken) == list(range(101, 261))  # 4 x 20 x 2 numbers after the seed, none twice


def test_counters_are_independent_and_a_rolled_back_number_is_given_again(db_url: str, tmp_path: Path) -> None:
    rt = runtime(db_url, tmp_path)
    with session_scope(rt.engine) as session:
        assert counters.take(session, "a") == 1 and counters.take(session, "b", 3) == 1
        assert counters.take(session, "a") == 2 and counters.take(session, "b") == 4
    with pytest.raises(RuntimeError), session_scope(rt.engine) as session:
        assert counters.take(session, "a") == 3
        raise RuntimeError("the file was not queued after all")
    with session_scope(rt.engine) as session:
        assert counters.take(session, "a") == 3
        with pytest.raises(ValueError):
            counters.take(session, "a", 0)
    rt.engine.dispose()
