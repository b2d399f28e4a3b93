"""Exactly-once intake: digest first, duplicates, chunked progress and resume, natural keys,
quarantine by policy, encrypted staging. Synthetic NACHA DED fixtures only."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from exchange_kit import (
    acme_sqlite,
    add_partner,
    ded_entries,
    fixture,
    load_folder_partner,
    memory_profile,
    quarantined_bytes,
    runtime,
    staged_count,
)
from sqlalchemy import select, text

from gateway.db.models import Exchange, ExchangeStatus, Quarantine, Reject, StagedRecord
from gateway.db.session import session_scope
from gateway.exchanges import intake, quarantine, staging
from gateway.exchanges.blobstore import BlobWriteError
from gateway.exchanges.partners import load_profile
from gateway.exchanges.runtime import Runtime

FIVE = "ded-five-cases.ach"
SSNS = ("212345671", "401223344", "523456789", "287650123", "345678912")


@pytest.fixture
def rt(db_url: str, tmp_path: Path) -> Iterator[Runtime]:
    rt = runtime(db_url, tmp_path)
    add_partner(rt, "acme")
    yield rt
    rt.engine.dispose()


lite = pytest.fixture(acme_sqlite)


def _exchange(rt: Runtime, exchange_id: int) -> Exchange:
    with session_scope(rt.engine) as session:
        return session.get_one(Exchange, exchange_id)


def test_file_is_applied_once_and_reported_as_duplicate_after(rt: Runtime) -> None:
    profile, _ = memory_profile("acme")
    first = intake.receive(rt, profile, name="pay.ach", raw=fixture(FIVE))
    assert first.status is ExchangeStatus.PROCESSED and not first.duplicate
    # 1 file header + 1 batch header + the entries + batch control + file control
    assert first.good == ded_entries(FIVE) + 4 == staged_count(rt)

    again = intake.receive(rt, profile, name="renamed.ach", raw=fixture(FIVE))
    assert again.duplicate and again.exchange_id == first.exchange_id
    assert staged_count(rt) == first.good
    with session_scope(rt.engine) as session:
        assert session.scalar(select(Exchange.progress).where(Exchange.id == first.exchange_id)) == first.good


def test_digest_is_recorded_before_processing(lite: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    profile, _ = memory_profile("acme")

    def crash(*args: object, **kwargs: object) -> None:
        raise RuntimeError("simulated crash right after the digest was recorded")

    monkeypatch.setattr(intake, "_begin", crash)
    with pytest.raises(RuntimeError):
        intake.receive(lite, profile, name="pay.ach", raw=fixture(FIVE))
    with session_scope(lite.engine) as session:
        row = session.scalars(select(Exchange)).one()
    assert row.status is ExchangeStatus.RECEIVED and len(row.sha256) == 64 and row.progress == 0


def test_crash_between_chunks_resumes_without_loss_or_double(rt: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    profile, _ = memory_profile("acme")
    real_commit = intake._commit_chunk
    calls = {"n": 0}

    def commit_twice_then_die(*args: object, **kwargs: object) -> None:
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("killed mid-file")
        real_commit(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(intake, "_commit_chunk", commit_twice_then_die)
    with pytest.raises(RuntimeError, match="killed"):
        intake.receive(rt, profile, name="pay.ach", raw=fixture(FIVE))
    with session_scope(rt.engine) as session:
        row = session.scalars(select(Exchange)).one()
    assert row.status is ExchangeStatus.PROCESSING
    assert row.progress == 4 == staged_count(rt)  # two chunks of two records committed, nothing else

    monkeypatch.setattr(intake, "_commit_chunk", real_commit)
    resumed = intake.receive(rt, profile, name="pay.ach", raw=fixture(FIVE))
    assert resumed.status is ExchangeStatus.PROCESSED and not resumed.duplicate
    with session_scope(rt.engine) as session:
        numbers = list(session.scalars(select(StagedRecord.record_no).order_by(StagedRecord.record_no)))
    assert numbers == list(range(1, ded_entries(FIVE) + 5))


def test_the_same_payment_in_another_file_is_not_staged_twice(lite: Runtime) -> None:
    profile, _ = memory_profile("acme")
    first = intake.receive(lite, profile, name="a.ach", raw=fixture(FIVE))
    # Same payments, new file creation time in the header: a different file, the same records.
    data = fixture(FIVE)
    resent = data[:23] + b"2501101000" + data[33:]
    assert resent != data
    second = intake.receive(lite, profile, name="b.ach", raw=resent)
    assert not second.duplicate and second.exchange_id != first.exchange_id
    assert second.duplicates == ded_entries(FIVE)  # every payment already staged by the first file
    assert second.good == 4  # headers and controls have no natural key: staged per file


def test_rejects_are_stored_with_positions_and_good_records_flow(lite: Runtime) -> None:
    profile, _ = memory_profile("acme")
    result = intake.receive(lite, profile, name="x.ach", raw=fixture("invalid-check-digit.ach"))
    assert result.status is ExchangeStatus.PARTIAL and result.rejected == 1 and result.good > 0
    with session_scope(lite.engine) as session:
        reject = session.scalars(select(Reject)).one()
    assert reject.code == "CHECK_DIGIT" and reject.line > 0 and reject.start_pos and reject.end_pos


def test_structure_error_quarantines_and_drops_what_the_file_staged(lite: Runtime) -> None:
    profile, _ = memory_profile("acme")
    raw = fixture("invalid-credit-total.ach")
    result = intake.receive(lite, profile, name="bad.ach", raw=raw)
    assert result.status is ExchangeStatus.QUARANTINED and result.error_code == "BATCH_CREDIT_TOTAL"
    assert staged_count(lite) == 0
    [view] = quarantine.list_quarantine(lite)
    assert view.reason_code == "BATCH_CREDIT_TOTAL" and view.exchange_id == result.exchange_id
    stored = (lite.data_dir / "quarantine" / f"{result.sha256}.bin").read_bytes()
    assert raw not in stored and b"STATE SDU" not in stored  # encrypted at rest
    assert quarantined_bytes(lite, view) == raw
    # the same file again is a duplicate, not a second quarantine
    assert intake.receive(lite, profile, name="bad.ach", raw=raw).duplicate


def test_accept_partial_policy_keeps_good_records(lite: Runtime) -> None:
    profile, _ = memory_profile("acme", structure_policy="accept_partial")
    result = intake.receive(lite, profile, name="bad.ach", raw=fixture("invalid-credit-total.ach"))
    assert result.status is ExchangeStatus.PARTIAL and result.error_code == "BATCH_CREDIT_TOTAL"
    assert staged_count(lite) == result.good > 0


def test_the_partners_file_sets_the_structure_policy(sqlite_url: str, tmp_path: Path) -> None:
    rt = runtime(sqlite_url, tmp_path)
    load_folder_partner(rt, "lenient", tmp_path / "lenient", on_structure_error="accept_partial")
    profile = load_profile(rt.engine, "lenient", key_dir=rt.key_dir)
    result = intake.receive(rt, profile, name="bad.ach", raw=fixture("invalid-credit-total.ach"))
    assert (result.status, result.error_code) == (ExchangeStatus.PARTIAL, "BATCH_CREDIT_TOTAL")
    rt.engine.dispose()


def test_release_accepts_a_quarantined_file_and_closes_the_entry(lite: Runtime) -> None:
    profile, _ = memory_profile("acme")
    held = intake.receive(lite, profile, name="bad.ach", raw=fixture("invalid-credit-total.ach"))
    [view] = quarantine.list_quarantine(lite)
    released = intake.reprocess(lite, profile, view.id, accept_partial=True)
    assert released.exchange_id == held.exchange_id and released.status is ExchangeStatus.PARTIAL
    assert staged_count(lite) == released.good > 0
    assert quarantine.list_quarantine(lite) == []
    with pytest.raises(intake.ReleaseRefused):
        intake.reprocess(lite, profile, view.id)


def test_unknown_format_is_quarantined(lite: Runtime) -> None:
    profile, _ = memory_profile("acme")
    result = intake.receive(lite, profile, name="junk.bin", raw=b"not a payment file\n" * 10)
    assert result.status is ExchangeStatus.QUARANTINED and result.error_code == "UNKNOWN_FORMAT"


def test_staged_personal_data_is_encrypted_with_the_column_as_aad(rt: Runtime) -> None:
    profile, _ = memory_profile("acme")
    intake.receive(rt, profile, name="pay.ach", raw=fixture(FIVE))
    with rt.engine.connect() as conn:
        blobs = [bytes(b) for b in conn.execute(text("SELECT data FROM staged_records")).scalars()]
        keys = [k for k in conn.execute(text("SELECT natural_key FROM staged_records")).scalars() if k]
    assert len(keys) == len(SSNS)
    for blob in blobs:
        assert not any(ssn.encode() in blob for ssn in SSNS) and b"SAMPLEJAN" not in blob
    for key in keys:  # the natural key uses the blind index, never the digits
        assert not any(ssn in key for ssn in SSNS)
    decoded = [staging.decode_record(rt.cipher, b) for b in blobs]
    entries = [d for d in decoded if d["type"] == "entry"]
    assert sorted(e["canonical"]["ssn"] for e in entries) == sorted(SSNS)
    with pytest.raises(ValueError):
        rt.cipher.decrypt(blobs[0], "persons.ssn_enc")  # bound to staged_records.data


def test_quarantine_row_is_committed_only_after_the_blob(lite: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    profile, _ = memory_profile("acme")

    def no_space(*args: object, **kwargs: object) -> None:
        raise BlobWriteError("cannot store: No space left on device")

    monkeypatch.setattr(quarantine, "write_blob", no_space)
    with pytest.raises(BlobWriteError):
        intake.receive(lite, profile, name="bad.ach", raw=fixture("invalid-credit-total.ach"))
    with session_scope(lite.engine) as session:
        assert session.scalars(select(Quarantine)).all() == []
        assert session.scalars(select(Exchange.status)).one() is ExchangeStatus.PROCESSING
