"""Folder drop faults (disk full, short writes, missing folder), OS error mapping, the in-memory
double's fault injection, and transport URL parsing."""

from __future__ import annotations

import errno
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from gateway.errors import ConfigError, PermanentTransportError, RetriableTransportError
from gateway.transports import folder, join_url, open_transport, parse_url
from gateway.transports.folder import FolderTransport, os_error
from gateway.transports.memory import MemoryStore, MemoryTransport

DATA = b"synthetic e-IWO batch\n" * 10_000


def test_disk_full_during_write_is_retriable_and_removes_the_partial_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    written: list[int] = []

    def fill_up(fd: int, data: bytes) -> None:
        written.append(os.write(fd, data[: len(data) // 3]))  # some bytes land, then the disk is full
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(folder, "_write_all", fill_up)
    with pytest.raises(RetriableTransportError) as raised:
        FolderTransport(tmp_path).put("iwo.txt", DATA)
    assert raised.value.code == "DISK_FULL"
    assert written and written[0] > 0
    assert list(tmp_path.iterdir()) == []


def test_short_write_is_caught_by_verification(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(folder, "_write_all", lambda fd, data: os.write(fd, data[:-100]))
    with pytest.raises(RetriableTransportError) as raised:
        FolderTransport(tmp_path).put("iwo.txt", DATA)
    assert raised.value.code == "UPLOAD_VERIFY_FAILED"
    assert list(tmp_path.iterdir()) == []


def test_a_reader_never_sees_the_file_before_it_is_complete(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen_during_write: list[list[str]] = []
    real_write_all = folder._write_all

    def watching(fd: int, data: bytes) -> None:
        real_write_all(fd, data[:10])
        seen_during_write.append([f.name for f in FolderTransport(tmp_path).list()])
        real_write_all(fd, data[10:])

    monkeypatch.setattr(folder, "_write_all", watching)
    FolderTransport(tmp_path).put("iwo.txt", DATA)
    assert seen_during_write == [[]]
    assert (tmp_path / "iwo.txt").read_bytes() == DATA


def test_missing_folder_is_permanent(tmp_path: Path) -> None:
    transport = FolderTransport(tmp_path / "not-mounted")
    for operation in (transport.list, lambda: transport.put("a.txt", b"a")):
        with pytest.raises(PermanentTransportError) as raised:
            operation()
        assert raised.value.code == "PATH_MISSING"


@pytest.mark.parametrize(
    ("number", "retriable", "code"),
    [
        (errno.ENOSPC, True, "DISK_FULL"),
        (errno.EDQUOT, True, "DISK_FULL"),
        (errno.EIO, True, "IO_ERROR"),
        (errno.ESTALE, True, "IO_ERROR"),
        (errno.EACCES, False, "PERMISSION"),
        (errno.EPERM, False, "PERMISSION"),
        (errno.EROFS, False, "READ_ONLY"),
        (errno.ENOENT, False, "NOT_FOUND"),
    ],
)
def test_os_errors_map_to_what_happens_next(number: int, retriable: bool, code: str) -> None:
    error = os_error(OSError(number, os.strerror(number)), "writing")
    assert isinstance(error, RetriableTransportError if retriable else PermanentTransportError)
    assert error.code == code


def test_file_mode_keeps_others_out(tmp_path: Path) -> None:
    previous = os.umask(0)
    try:
        FolderTransport(tmp_path).put("a.txt", b"a")
    finally:
        os.umask(previous)
    assert (tmp_path / "a.txt").stat().st_mode & 0o777 == 0o640


def test_memory_store_fails_the_next_calls_then_recovers() -> None:
    clock = datetime(2024, 1, 5, 12, tzinfo=UTC)
    store = MemoryStore(clock=lambda: clock)
    transport = MemoryTransport(store, "inbox")
    store.fail_next(2, RetriableTransportError("partner down", code="CONNECTION_REFUSED"), operations={"put"})
    for _ in range(2):
        with pytest.raises(RetriableTransportError, match="partner down"):
            transport.put("a.txt", b"a")
    assert transport.list() == []  # other operations were never affected
    transport.put("a.txt", b"a")
    assert store.files("inbox") == {"a.txt": b"a"}
    assert transport.list()[0].mtime == clock
    assert [op for op, _ in store.calls] == ["put", "put", "list", "put", "list"]


def test_memory_fault_needs_sensible_arguments() -> None:
    store = MemoryStore()
    with pytest.raises(ValueError, match="bad fault"):
        store.fail_next(0, RetriableTransportError("x"))
    with pytest.raises(ValueError, match="unknown operations"):
        store.fail_next(1, RetriableTransportError("x"), operations={"upload"})


def test_memory_urls_share_one_store_per_name() -> None:
    with open_transport("memory://shared-test/out") as ours, open_transport("memory://shared-test/out") as theirs:
        ours.put("f.txt", b"f")
        assert theirs.get("f.txt") == b"f"


@pytest.mark.parametrize(
    ("url", "scheme", "host", "port", "user", "path"),
    [
        ("file:///srv/exchange/acme", "file", "", None, None, "/srv/exchange/acme"),
        ("file://localhost/srv/x%20y", "file", "", None, None, "/srv/x y"),
        ("sftp://csgate@sftp.acme.example/outbox", "sftp", "sftp.acme.example", 22, "csgate", "/outbox"),
        ("sftp://csgate@10.0.0.5:2222/~/in", "sftp", "10.0.0.5", 2222, "csgate", "/~/in"),
        ("https://fpls.example.gov/exchange", "https", "fpls.example.gov", 443, None, "/exchange"),
        ("https://[::1]:8443/x", "https", "::1", 8443, None, "/x"),
        ("memory://acme/inbox", "memory", "acme", None, None, "inbox"),
    ],
)
def test_parse_url(url: str, scheme: str, host: str, port: int | None, user: str | None, path: str) -> None:
    parsed = parse_url(url)
    assert (parsed.scheme, parsed.host, parsed.port, parsed.user, parsed.path) == (scheme, host, port, user, path)
    assert parse_url(str(parsed)) == parsed


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://partner.example/x", "scheme"),
        ("ftp://partner.example/x", "scheme"),
        ("sftp://csgate:hunter2@host/x", "password"),
        ("sftp://host/x", "login name"),
        ("https://user@host/x", "client certificate"),
        ("file://server/share", "local path"),
        ("file:relative/path", "absolute"),
        ("https:///nohost", "host"),
        ("https://host/a/../b", "'..'"),
        ("https://host/x?token=1", "query"),
        ("https://host:99999/x", "out of range"),
    ],
)
def test_bad_urls_are_configuration_errors(url: str, why: str) -> None:
    with pytest.raises(ConfigError, match=why) as raised:
        parse_url(url)
    assert raised.value.code == "BAD_URL"
    assert "hunter2" not in str(raised.value)


def test_join_url() -> None:
    assert join_url("sftp://u@h:22/base/", "in box") == "sftp://u@h:22/base/in%20box"
    assert join_url("file:///srv/x", ".") == "file:///srv/x"
    assert join_url("memory://p", "out") == "memory://p/out"
