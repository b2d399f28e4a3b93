"""The transport contract, run against every implementation: memory, folder, and real SFTP and
HTTPS servers on 127.0.0.1. ``peek`` shows the partner's side of the folder directly (every entry,
temporary ones included), so the tests see what a partner would see."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from transport_kit import https_server, make_ssh_keys, make_tls_pki, sftp_server

from gateway.errors import PermanentTransportError
from gateway.transports import open_transport
from gateway.transports.base import Transport, sha256_hex
from gateway.transports.memory import memory_store, reset_memory_stores

Peek = Callable[[], dict[str, bytes]]
KINDS = ["memory", "folder", "sftp", "https"]


def _peek_dir(root: Path) -> Peek:
    return lambda: {p.name: p.read_bytes() for p in root.iterdir() if p.is_file()}


@pytest.fixture(params=KINDS)
def remote(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Transport, Peek, Path | None]]:
    """(transport, peek, partner folder on disk or None for memory)."""
    root = tmp_path / "partner"
    root.mkdir()
    kind = request.param
    if kind == "memory":
        reset_memory_stores()
        store = memory_store("contract")
        with open_transport("memory://contract") as transport:
            yield transport, lambda: store.files(), None
        reset_memory_stores()
    elif kind == "folder":
        with open_transport(root.as_uri()) as transport:
            yield transport, _peek_dir(root), root
    elif kind == "sftp":
        keys = make_ssh_keys(tmp_path / "ssh")
        with (
            sftp_server(root, keys) as port,
            open_transport(f"sftp://csgate@127.0.0.1:{port}/", keys.client(), timeout=5) as transport,
        ):
            yield transport, _peek_dir(root), root
    else:
        pki = make_tls_pki(tmp_path / "pki")
        with (
            https_server(root, pki) as server,
            open_transport(server.url, pki.client(), timeout=5) as transport,
        ):
            yield transport, _peek_dir(root), root


DATA = b"FHDR synthetic partner file\r\n" + bytes(range(256)) * 1200 + b"\x00trailer"  # > one chunk


def test_put_publishes_the_whole_file_and_a_receipt(remote: tuple[Transport, Peek, Path | None]) -> None:
    transport, peek, _ = remote
    receipt = transport.put("payments-20240105.ach", DATA)
    assert (receipt.name, receipt.size, receipt.sha256) == ("payments-20240105.ach", len(DATA), sha256_hex(DATA))
    assert receipt.sha256_verified
    assert peek() == {"payments-20240105.ach": DATA}  # no temporary file left beside it


def test_list_fetch_and_get(remote: tuple[Transport, Peek, Path | None]) -> None:
    transport, _, _ = remote
    transport.put("b.txt", b"second")
    transport.put("a.txt", DATA)
    files = transport.list()
    assert [(f.name, f.size) for f in files] == [("a.txt", len(DATA)), ("b.txt", 6)]
    assert all(abs(f.mtime - datetime.now(UTC)) < timedelta(minutes=5) for f in files)
    sink = io.BytesIO()
    received = transport.fetch("a.txt", sink)
    assert sink.getvalue() == DATA
    assert (received.size, received.sha256) == (len(DATA), sha256_hex(DATA))
    assert transport.get("b.txt") == b"second"


def test_empty_file_round_trips(remote: tuple[Transport, Peek, Path | None]) -> None:
    transport, _, _ = remote
    assert transport.put("empty.dat", b"").size == 0
    assert transport.get("empty.dat") == b""


def test_same_upload_again_is_success_other_content_is_a_conflict(
    remote: tuple[Transport, Peek, Path | None],
) -> None:
    transport, peek, _ = remote
    transport.put("iwo.txt", DATA)
    assert transport.put("iwo.txt", DATA).sha256 == sha256_hex(DATA)  # a retried upload that had arrived
    with pytest.raises(PermanentTransportError) as raised:
        transport.put("iwo.txt", DATA + b"changed")
    assert raised.value.code == "NAME_CONFLICT"
    assert peek() == {"iwo.txt": DATA}


def test_delete_and_move_to(remote: tuple[Transport, Peek, Path | None]) -> None:
    transport, peek, root = remote
    transport.put("x.dat", b"x")
    transport.put("y.dat", b"y")
    transport.move_to("x.dat", "done/2024")
    transport.delete("y.dat")
    assert transport.list() == []
    if root is not None:
        assert (root / "done" / "2024" / "x.dat").read_bytes() == b"x"
    for operation in (lambda: transport.delete("y.dat"), lambda: transport.move_to("nope", "done")):
        with pytest.raises(PermanentTransportError) as raised:
            operation()
        assert raised.value.code == "NOT_FOUND"
    assert peek() == {}


def test_missing_file_is_not_found(remote: tuple[Transport, Peek, Path | None]) -> None:
    transport, _, _ = remote
    with pytest.raises(PermanentTransportError) as raised:
        transport.get("absent.txt")
    assert raised.value.code == "NOT_FOUND"


@pytest.mark.parametrize("name", ["../escape", "a/b", ".hidden", "", "x.part", "nul\x00", "c.filepart"])
def test_unsafe_names_are_refused_before_any_io(remote: tuple[Transport, Peek, Path | None], name: str) -> None:
    transport, peek, _ = remote
    with pytest.raises(PermanentTransportError) as raised:
        transport.put(name, b"x")
    assert raised.value.code == "BAD_NAME"
    assert peek() == {}


def test_files_being_written_are_not_listed(remote: tuple[Transport, Peek, Path | None]) -> None:
    transport, _, root = remote
    if root is None:
        pytest.skip("the memory store has no way to hold another tool's partial file")
    for partial in (".csgate-tmp-0123", "upload.filepart", "big.part", "x.tmp", ".rsync-tmp"):
        (root / partial).write_bytes(b"half")
    (root / "subdir").mkdir()
    transport.put("complete.txt", b"done")
    assert [f.name for f in transport.list()] == ["complete.txt"]
