"""Intake with memory bounded independent of the file's size: a file is taken in from disk exactly as
from bytes, read in bounded pieces; a pulled file goes through a spool file under ``data_dir/incoming``
that is gone afterwards, whatever happened; quarantined files are stored as chunked blobs and
reprocessed from a spool file, including blobs of the earlier one-shot format; the CLI takes a local
file and exports a quarantined one the same way. Synthetic NACHA DED files only."""

from __future__ import annotations

import dataclasses
import io
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

import pytest
from exchange_kit import (
    add_partner,
    big_ded_file,
    cli_settings,
    fixture,
    load_folder_partner,
    memory_profile,
    quarantined_bytes,
    runtime,
    staged_count,
    staged_records,
)
from sqlalchemy import select
from typer.testing import CliRunner

from gateway.db.models import ExchangeStatus, Reject
from gateway.db.session import session_scope
from gateway.errors import RetriableTransportError
from gateway.exchanges import intake, jobs, quarantine
from gateway.exchanges.blobstore import CHUNK, MAGIC, blob_path
from gateway.exchanges.runtime import Runtime
from gateway.exchanges.spool import INCOMING
from gateway.security.fieldcrypt import FieldCryptoError
from gateway.transports.base import Received
from gateway.transports.memory import MemoryStore, MemoryTransport

BIG_PAYMENTS = 6000  # an entry and its addenda each: more than one blob chunk (1 MiB)


@pytest.fixture
def rt(sqlite_url: str, tmp_path: Path) -> Iterator[Runtime]:
    rt = runtime(sqlite_url, tmp_path, chunk_size=1000)
    add_partner(rt, "acme")
    yield rt
    rt.engine.dispose()


def _rejects(rt: Runtime, exchange_id: int) -> list[tuple[int, str]]:
    with session_scope(rt.engine) as session:
        rows = session.execute(
            select(Reject.record_no, Reject.code).where(Reject.exchange_id == exchange_id).order_by(Reject.record_no)
        )
        return [(int(n), str(c)) for n, c in rows]


def _credit_total_broken(data: bytes) -> bytes:
    """The file with one digit of its batch control's total credit changed (NACHA record 8, pos 33-44)."""
    lines = data.splitlines(keepends=True)
    at = next(i for i, line in enumerate(lines) if line.startswith(b"8"))
    line = lines[at]
    lines[at] = line[:43] + (b"1" if line[43:44] != b"1" else b"2") + line[44:]
    return b"".join(lines)


@pytest.mark.parametrize("name", ["ded-five-cases.ach", "invalid-check-digit.ach", "big"])
def test_intake_from_a_file_equals_intake_from_bytes(tmp_path: Path, name: str) -> None:
    data = big_ded_file(300) if name == "big" else fixture(name)
    path = tmp_path / "received.ach"
    path.write_bytes(data)
    outcomes = []
    for how in ("bytes", "file"):
        rt = runtime(f"sqlite:///{tmp_path / how}.db", tmp_path / how, chunk_size=7)
        add_partner(rt, "acme")
        profile, _ = memory_profile("acme")
        if how == "bytes":
            result = intake.receive(rt, profile, name=path.name, raw=data)
        else:
            with path.open("rb") as received:
                result = intake.receive(rt, profile, name=path.name, file=received)
        outcomes.append(
            (
                result.status,
                result.format,
                result.sha256,
                (result.good, result.rejected, result.duplicates),
                staged_records(rt, result.exchange_id),
                _rejects(rt, result.exchange_id),
            )
        )
        rt.engine.dispose()
    assert outcomes[0] == outcomes[1]
    assert outcomes[1][3][0] > 0


def test_receive_takes_exactly_one_of_bytes_or_file(rt: Runtime) -> None:
    profile, _ = memory_profile("acme")
    with pytest.raises(TypeError):
        intake.receive(rt, profile, name="x.ach")
    with pytest.raises(TypeError):
        intake.receive(rt, profile, name="x.ach", raw=b"x", file=io.BytesIO(b"x"))


class BoundedReads(io.BufferedReader):
    """A file that refuses to be read whole: every read must be bounded (at most 1 MiB)."""

    def read(self, size: int | None = -1) -> bytes:
        assert size is not None and 0 <= size <= 1 << 20, f"read({size}) of the whole file"
        return super().read(size)

    def read1(self, size: int = -1) -> bytes:
        assert 0 <= size <= 1 << 20, f"read1({size}) of the whole file"
        return super().read1(size)

    def readall(self) -> bytes:
        raise AssertionError("readall() of the whole file")


def test_a_file_without_envelope_is_never_read_whole(rt: Runtime, tmp_path: Path) -> None:
    path = tmp_path / "pay.ach"
    path.write_bytes(big_ded_file(BIG_PAYMENTS))  # larger than one 1 MiB read
    profile, _ = memory_profile("acme")
    with BoundedReads(io.FileIO(path)) as received:
        result = intake.receive(rt, profile, name=path.name, file=received)  # type: ignore[arg-type]
    assert result.status is ExchangeStatus.PROCESSED and result.good == BIG_PAYMENTS + 4


def test_a_structure_error_in_a_file_quarantines_it_read_in_bounded_pieces(rt: Runtime, tmp_path: Path) -> None:
    path = tmp_path / "bad.ach"
    data = _credit_total_broken(big_ded_file(BIG_PAYMENTS))
    path.write_bytes(data)
    profile, _ = memory_profile("acme")
    with BoundedReads(io.FileIO(path)) as received:
        result = intake.receive(rt, profile, name=path.name, file=received)  # type: ignore[arg-type]
    assert (result.status, result.error_code) == (ExchangeStatus.QUARANTINED, "BATCH_CREDIT_TOTAL")
    [view] = quarantine.list_quarantine(rt)
    assert quarantined_bytes(rt, view) == data


def _spool_state(rt: Runtime) -> list[str]:
    folder = rt.data_dir / INCOMING
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def _describe(file: BinaryIO) -> dict[str, Any]:
    info = os.fstat(file.fileno())
    return {
        "regular": stat.S_ISREG(info.st_mode),
        "mode": stat.S_IMODE(info.st_mode),
        "links": info.st_nlink,  # 0: the file has no name left in any directory
        "where": os.readlink(f"/proc/self/fd/{file.fileno()}"),
    }


def test_a_pulled_file_goes_through_a_spool_file_removed_afterwards(
    rt: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    profile, store = memory_profile("acme")
    MemoryTransport(store, "outbox").put("pay.ach", fixture("ded-five-cases.ach"))
    seen: list[tuple[dict[str, Any], bytes, BinaryIO]] = []
    real_receive = intake.receive

    def spy(*args: Any, **kwargs: Any) -> intake.IntakeResult:
        file = kwargs["file"]
        assert "raw" not in kwargs and not isinstance(file, io.BytesIO)
        file.seek(0)
        seen.append((_describe(file), file.read(), file))
        return real_receive(*args, **kwargs)

    monkeypatch.setattr(intake, "receive", spy)
    report = jobs.JobReport("acme")
    jobs.pull(rt, profile, report)

    [(described, content, file)] = seen
    assert content == fixture("ded-five-cases.ach")
    assert described["regular"] and described["mode"] == 0o600 and described["links"] == 0
    assert described["where"].startswith(str(rt.data_dir / INCOMING))
    assert file.closed and _spool_state(rt) == []
    assert [r.status for r in report.received] == [ExchangeStatus.PROCESSED]
    assert staged_count(rt) == report.received[0].good


def test_the_spool_file_is_removed_when_intake_fails(rt: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    profile, store = memory_profile("acme")
    MemoryTransport(store, "outbox").put("pay.ach", fixture("ded-five-cases.ach"))
    files: list[BinaryIO] = []

    def crash(*args: Any, **kwargs: Any) -> intake.IntakeResult:
        files.append(kwargs["file"])
        raise RuntimeError("intake crashed")

    monkeypatch.setattr(intake, "receive", crash)
    with pytest.raises(RuntimeError, match="intake crashed"):
        jobs.pull(rt, profile, jobs.JobReport("acme"))
    [file] = files
    assert file.closed and _spool_state(rt) == []
    assert set(store.files("outbox")) == {"pay.ach"}  # still at the partner for the next run


def test_a_retried_fetch_starts_the_spool_file_over(rt: Runtime) -> None:
    store = MemoryStore()
    failures: list[str] = []

    class FailsOnceMidway(MemoryTransport):
        """Writes half the file, then fails as a dropped connection would, the first time only."""

        def fetch(self, name: str, dest: BinaryIO) -> Received:
            if not failures:
                failures.append(name)
                data = self.store.files(self.folder)[name]
                dest.write(data[: len(data) // 2])
                raise RetriableTransportError("connection reset", code="CONNECTION_RESET")
            return super().fetch(name, dest)

    profile, _ = memory_profile("acme", store)
    profile = dataclasses.replace(profile, open_transport=lambda side: FailsOnceMidway(store, "outbox"))
    MemoryTransport(store, "outbox").put("pay.ach", fixture("ded-five-cases.ach"))
    report = jobs.JobReport("acme")
    jobs.pull(rt, profile, report)
    assert failures == ["pay.ach"]
    [result] = report.received
    assert result.status is ExchangeStatus.PROCESSED and report.skipped == []
    assert _spool_state(rt) == []


def test_a_quarantined_multi_chunk_file_is_stored_chunked_and_released(rt: Runtime) -> None:
    profile, _ = memory_profile("acme")
    data = _credit_total_broken(big_ded_file(BIG_PAYMENTS))
    assert len(data) > CHUNK
    held = intake.receive(rt, profile, name="bad.ach", raw=data)
    assert (held.status, held.error_code) == (ExchangeStatus.QUARANTINED, "BATCH_CREDIT_TOTAL")
    blob = blob_path(rt.data_dir, "quarantine", held.sha256).read_bytes()
    assert blob.startswith(MAGIC) and len(blob) > CHUNK + 16  # more than one chunk
    [view] = quarantine.list_quarantine(rt)

    released = intake.reprocess(rt, profile, view.id, accept_partial=True)
    assert released.exchange_id == held.exchange_id and released.status is ExchangeStatus.PARTIAL
    assert released.good == BIG_PAYMENTS + 4 == staged_count(rt)
    assert quarantine.list_quarantine(rt) == [] and _spool_state(rt) == []


def test_a_file_quarantined_in_the_one_shot_format_is_reprocessed(rt: Runtime) -> None:
    profile, _ = memory_profile("acme")
    data = fixture("invalid-credit-total.ach")
    held = intake.receive(rt, profile, name="bad.ach", raw=data)
    path = blob_path(rt.data_dir, "quarantine", held.sha256)
    path.write_bytes(rt.cipher.encrypt(data, quarantine.blob_aad(held.sha256)))  # as stored before chunking
    [view] = quarantine.list_quarantine(rt)
    assert quarantined_bytes(rt, view) == data
    released = intake.reprocess(rt, profile, view.id, accept_partial=True)
    assert released.status is ExchangeStatus.PARTIAL and staged_count(rt) == released.good > 0


def test_a_damaged_quarantine_blob_is_refused_and_nothing_is_staged(rt: Runtime) -> None:
    profile, _ = memory_profile("acme")
    held = intake.receive(rt, profile, name="bad.ach", raw=_credit_total_broken(big_ded_file(BIG_PAYMENTS)))
    path = blob_path(rt.data_dir, "quarantine", held.sha256)
    blob = path.read_bytes()
    path.write_bytes(blob[: len(blob) - 100])  # the last chunk cut short
    [view] = quarantine.list_quarantine(rt)
    with pytest.raises(FieldCryptoError):
        intake.reprocess(rt, profile, view.id, accept_partial=True)
    assert staged_count(rt) == 0 and len(quarantine.list_quarantine(rt)) == 1 and _spool_state(rt) == []


def test_the_cli_takes_in_a_local_file_and_exports_a_quarantined_one(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gateway.cli import app

    rt = runtime(sqlite_url, tmp_path, key_dir=tmp_path / "data" / "keys")
    load_folder_partner(rt, "acme", tmp_path / "acme")
    bad = tmp_path / "bad.ach"
    bad.write_bytes(_credit_total_broken(big_ded_file(BIG_PAYMENTS)))
    try:
        with cli_settings(monkeypatch, tmp_path / "data", sqlite_url):
            runner = CliRunner()
            taken = runner.invoke(app, ["exchange", "intake", "acme", str(bad), "--json"])
            assert taken.exit_code == 1 and '"status":"quarantined"' in taken.stdout, taken.output
            [view] = quarantine.list_quarantine(rt)

            exported = tmp_path / "exported.ach"
            shown = runner.invoke(app, ["quarantine", "show", str(view.id), "--output", str(exported)])
            assert shown.exit_code == 0, shown.output
            assert exported.read_bytes() == bad.read_bytes() and stat.S_IMODE(exported.stat().st_mode) == 0o600

            blob = blob_path(rt.data_dir, "quarantine", view.sha256)
            blob.write_bytes(blob.read_bytes()[:-1])
            damaged = tmp_path / "damaged.ach"
            refused = runner.invoke(app, ["quarantine", "show", str(view.id), "--output", str(damaged)])
            assert refused.exit_code == 1 and not damaged.exists()
    finally:
        rt.engine.dispose()
