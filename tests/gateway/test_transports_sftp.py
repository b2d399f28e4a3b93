"""SFTP faults against a real asyncssh server on 127.0.0.1: refused keys, unknown host keys, an
offline or hung partner, uploads the server truncates or corrupts, write-only drop boxes."""

from __future__ import annotations

import errno
from pathlib import Path

import asyncssh
import pytest
from transport_kit import SshKeys, closed_port, make_ssh_keys, sftp_server, silent_listener, write_known_hosts

from gateway.errors import PermanentTransportError, RetriableTransportError
from gateway.transports import open_transport
from gateway.transports.sftp import remote_dir

DATA = b"synthetic CSENet batch\n" * 40_000  # ~900 KiB: several chunks


@pytest.fixture
def keys(tmp_path: Path) -> SshKeys:
    return make_ssh_keys(tmp_path / "ssh")


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "partner"


def _url(port: int, path: str = "/") -> str:
    return f"sftp://csgate@127.0.0.1:{port}{path}"


class TruncatingServer(asyncssh.SFTPServer):
    """Loses the last byte of every write, as a broken server or full quota might."""

    def write(self, file_obj: object, offset: int, data: bytes) -> object:
        return super().write(file_obj, offset, data[:-1])


class CorruptingServer(asyncssh.SFTPServer):
    """Stores the right number of bytes, but not the right bytes."""

    def write(self, file_obj: object, offset: int, data: bytes) -> object:
        return super().write(file_obj, offset, bytes([data[0] ^ 0xFF]) + data[1:])


class WriteOnlyServer(asyncssh.SFTPServer):
    """A drop box: files can be written and renamed, never read back."""

    def open(self, path: bytes, pflags: int, attrs: asyncssh.SFTPAttrs) -> object:
        if pflags & asyncssh.FXF_READ:
            raise asyncssh.SFTPPermissionDenied("write-only drop box")
        return super().open(path, pflags, attrs)


class FullDiskServer(asyncssh.SFTPServer):
    def write(self, file_obj: object, offset: int, data: bytes) -> object:
        raise OSError(errno.ENOSPC, "No space left on device")


def _leftovers(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir())


@pytest.mark.parametrize("server_cls", [TruncatingServer, CorruptingServer])
def test_upload_the_server_damages_is_detected_and_never_published(
    keys: SshKeys, root: Path, server_cls: type[asyncssh.SFTPServer]
) -> None:
    with (
        sftp_server(root, keys, server_cls=server_cls) as port,
        open_transport(_url(port), keys.client()) as t,
        pytest.raises(RetriableTransportError) as raised,
    ):
        t.put("batch.txt", DATA)
        assert raised.value.code == "UPLOAD_VERIFY_FAILED"
    assert _leftovers(root) == []  # neither the real name nor the temporary one


def test_write_only_drop_box_is_verified_by_size(keys: SshKeys, root: Path) -> None:
    with sftp_server(root, keys, server_cls=WriteOnlyServer) as port, open_transport(_url(port), keys.client()) as t:
        receipt = t.put("batch.txt", DATA)
    assert receipt.size == len(DATA) and not receipt.sha256_verified
    assert (root / "batch.txt").read_bytes() == DATA


def test_full_disk_at_the_partner_is_retriable_and_leaves_nothing(keys: SshKeys, root: Path) -> None:
    with (
        sftp_server(root, keys, server_cls=FullDiskServer) as port,
        open_transport(_url(port), keys.client()) as t,
        pytest.raises(RetriableTransportError),
    ):
        t.put("batch.txt", DATA)
    assert _leftovers(root) == []


def test_wrong_client_key_is_permanent(keys: SshKeys, root: Path) -> None:
    with (
        sftp_server(root, keys) as port,
        open_transport(_url(port), keys.client(keys.stranger_key), timeout=5) as t,
        pytest.raises(PermanentTransportError) as raised,
    ):
        t.list()
    assert raised.value.code == "AUTH_FAILED"


def test_unknown_host_key_is_permanent(keys: SshKeys, root: Path) -> None:
    with sftp_server(root, keys) as port:
        write_known_hosts(keys, port, keys.stranger_host_key)  # someone else answers on that address
        with (
            open_transport(_url(port), keys.client(), timeout=5) as t,
            pytest.raises(PermanentTransportError) as raised,
        ):
            t.put("batch.txt", b"x")
    assert raised.value.code == "HOST_KEY_UNTRUSTED"
    assert _leftovers(root) == []


def test_partner_offline_is_retriable(keys: SshKeys) -> None:
    port = closed_port()
    write_known_hosts(keys, port)
    with (
        open_transport(_url(port), keys.client(), timeout=5) as t,
        pytest.raises(RetriableTransportError) as raised,
    ):
        t.list()
    assert raised.value.code == "CONNECTION_REFUSED"


def test_partner_that_never_answers_times_out(keys: SshKeys) -> None:
    with silent_listener() as port, open_transport(_url(port), keys.client(), timeout=0.5) as t:
        write_known_hosts(keys, port)
        with pytest.raises(RetriableTransportError) as raised:
            t.list()
    assert raised.value.code == "TIMEOUT"


def test_missing_client_key_file_is_permanent(keys: SshKeys, root: Path, tmp_path: Path) -> None:
    with (
        sftp_server(root, keys) as port,
        open_transport(_url(port), keys.client(tmp_path / "nope")) as t,
        pytest.raises(PermanentTransportError) as raised,
    ):
        t.list()
    assert raised.value.code == "CREDENTIALS"


def test_missing_remote_folder_is_permanent(keys: SshKeys, root: Path) -> None:
    with (
        sftp_server(root, keys) as port,
        open_transport(_url(port, "/no-such-dir"), keys.client()) as t,
        pytest.raises(PermanentTransportError) as raised,
    ):
        t.list()
    assert raised.value.code == "NOT_FOUND"


def test_connection_is_reopened_after_the_server_restarts(keys: SshKeys, root: Path) -> None:
    with sftp_server(root, keys) as port:
        transport = open_transport(_url(port), keys.client(), timeout=5)
        transport.put("first.txt", b"1")
    with transport:
        with pytest.raises(RetriableTransportError):  # the connection went away with the server
            transport.list()
        with sftp_server(root, keys, port=port):  # back on the same address
            assert [f.name for f in transport.list()] == ["first.txt"]


def test_subfolder_urls(keys: SshKeys, root: Path) -> None:
    (root / "outbox").mkdir(parents=True)
    (root / "outbox" / "from-partner.txt").write_bytes(b"hello")
    with sftp_server(root, keys) as port, open_transport(_url(port, "/outbox"), keys.client()) as t:
        assert t.get("from-partner.txt") == b"hello"


@pytest.mark.parametrize(
    ("url_path", "expected"), [("/", "/"), ("/in/", "/in"), ("/~", "."), ("/~/in", "in"), ("", "/")]
)
def test_remote_dir(url_path: str, expected: str) -> None:
    assert remote_dir(url_path) == expected
