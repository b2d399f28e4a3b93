"""HTTPS with mutual TLS against the reference server on 127.0.0.1: certificates refused either way,
an offline or hung partner, server errors, uploads cut short or altered, bad receipts and digests."""

from __future__ import annotations

import base64
import hashlib
import socket
import ssl
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from transport_kit import TlsPki, closed_port, https_server, make_tls_pki, silent_listener

from gateway.errors import PermanentTransportError, RetriableTransportError
from gateway.transports import open_transport, reference_server
from gateway.transports.base import Credentials, PutReceipt
from gateway.transports.folder import FolderTransport
from gateway.transports.https import HttpsTransport, content_digest, parse_content_digest
from gateway.transports.reference_server import ReferenceServer

DATA = b"synthetic FCR input\n" * 5000


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> TlsPki:
    return make_tls_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "partner"


@pytest.fixture
def server(root: Path, pki: TlsPki) -> Iterator[ReferenceServer]:
    with https_server(root, pki, timeout=5) as running:
        yield running


def _client(pki: TlsPki, *, cert: Path | None, key: Path | None) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(pki.ca))
    if cert is not None and key is not None:
        ctx.load_cert_chain(str(cert), str(key))
    return ctx


def test_client_without_certificate_is_refused_permanently(server: ReferenceServer, pki: TlsPki) -> None:
    with (
        HttpsTransport(server.url, Credentials(), ssl_context=_client(pki, cert=None, key=None), timeout=5) as t,
        pytest.raises(PermanentTransportError) as raised,
    ):
        t.list()
    assert raised.value.code == "TLS_REFUSED"


def test_client_certificate_from_another_ca_is_refused(server: ReferenceServer, pki: TlsPki) -> None:
    stranger = Credentials(key_file=pki.stranger_key, cert_file=pki.stranger_cert, trust_file=pki.ca)
    with open_transport(server.url, stranger, timeout=5) as t, pytest.raises(PermanentTransportError) as raised:
        t.put("x.txt", b"x")
    assert raised.value.code == "TLS_REFUSED"


def test_server_certificate_not_from_the_pinned_ca_is_refused(server: ReferenceServer, pki: TlsPki, root: Path) -> None:
    pinned_elsewhere = Credentials(key_file=pki.client_key, cert_file=pki.client_cert, trust_file=pki.stranger_ca)
    with open_transport(server.url, pinned_elsewhere, timeout=5) as t, pytest.raises(PermanentTransportError) as raised:
        t.put("x.txt", b"x")
    assert raised.value.code == "TLS_UNTRUSTED"
    assert list(root.iterdir()) == []


def test_partner_offline_is_retriable(pki: TlsPki) -> None:
    with (
        open_transport(f"https://127.0.0.1:{closed_port()}/exchange", pki.client(), timeout=5) as t,
        pytest.raises(RetriableTransportError) as raised,
    ):
        t.list()
    assert raised.value.code == "CONNECTION_REFUSED"


def test_partner_that_never_answers_times_out(pki: TlsPki) -> None:
    with (
        silent_listener() as port,
        open_transport(f"https://127.0.0.1:{port}/x", pki.client(), timeout=0.5) as t,
        pytest.raises(RetriableTransportError) as raised,
    ):
        t.list()
    assert raised.value.code == "TIMEOUT"


def test_server_trouble_is_retriable(server: ReferenceServer, pki: TlsPki, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(self: FolderTransport) -> list[object]:
        raise RetriableTransportError("disk went away", code="IO_ERROR")

    monkeypatch.setattr(FolderTransport, "list", broken)  # only the server lists a folder
    with open_transport(server.url, pki.client(), timeout=5) as t, pytest.raises(RetriableTransportError) as raised:
        t.list()
    assert raised.value.code == "HTTP_503"


def test_receipt_that_does_not_match_is_an_error_and_the_file_is_withdrawn(
    server: ReferenceServer, pki: TlsPki, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    honest_put = FolderTransport.put

    def lossy_put(self: FolderTransport, name: str, data: bytes) -> PutReceipt:
        return honest_put(self, name, data[:-10])  # the partner stores less than it received

    monkeypatch.setattr(FolderTransport, "put", lossy_put)
    with open_transport(server.url, pki.client(), timeout=5) as t, pytest.raises(RetriableTransportError) as raised:
        t.put("fcr.txt", DATA)
    assert raised.value.code == "UPLOAD_VERIFY_FAILED"
    assert list(root.iterdir()) == []


def test_download_that_does_not_match_its_digest_is_an_error(
    server: ReferenceServer, pki: TlsPki, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root.mkdir(exist_ok=True)
    (root / "fcr.txt").write_bytes(DATA)
    monkeypatch.setattr(reference_server, "content_digest", lambda data: content_digest(data + b"!"))
    with open_transport(server.url, pki.client(), timeout=5) as t, pytest.raises(RetriableTransportError) as raised:
        t.get("fcr.txt")
    assert raised.value.code == "DOWNLOAD_VERIFY_FAILED"


def test_server_refuses_a_body_that_does_not_match_its_digest(server: ReferenceServer, pki: TlsPki, root: Path) -> None:
    ctx = _client(pki, cert=pki.client_cert, key=pki.client_key)
    with httpx.Client(verify=ctx, trust_env=False, timeout=5) as client:
        missing = client.put(f"{server.url}/a.txt", content=b"abc")
        wrong = client.put(f"{server.url}/a.txt", content=b"abc", headers={"Content-Digest": content_digest(b"abd")})
        right = client.put(f"{server.url}/a.txt", content=b"abc", headers={"Content-Digest": content_digest(b"abc")})
    assert (missing.status_code, wrong.status_code, right.status_code) == (400, 400, 201)
    assert right.json() == {"name": "a.txt", "size": 3, "sha256": hashlib.sha256(b"abc").hexdigest()}
    assert sorted(p.name for p in root.iterdir()) == ["a.txt"]


def test_upload_cut_short_is_never_published(server: ReferenceServer, pki: TlsPki, root: Path) -> None:
    ctx = _client(pki, cert=pki.client_cert, key=pki.client_key)
    host, port = server.url.removeprefix("https://").split("/")[0].split(":")
    head = (
        f"PUT /exchange/cut.txt HTTP/1.1\r\nHost: {host}\r\nContent-Length: {len(DATA)}\r\n"
        f"Content-Digest: {content_digest(DATA)}\r\n\r\n"
    ).encode()
    with (
        socket.create_connection((host, int(port)), timeout=5) as raw,
        ctx.wrap_socket(raw, server_hostname=host) as tls,
    ):
        tls.sendall(head + DATA[: len(DATA) // 2])  # the connection drops mid-body
    with open_transport(server.url, pki.client(), timeout=5) as t:
        assert t.list() == []  # the server is still up and shows nothing
    assert list(root.iterdir()) == []


def test_the_protocol_is_the_same_over_a_base_path_with_spaces(pki: TlsPki, root: Path) -> None:
    with (
        https_server(root, pki, base_path="/to partner/in") as server,
        open_transport(server.url, pki.client(), timeout=5) as t,
    ):
        t.put("name with spaces.txt", b"ok")
        assert t.get("name with spaces.txt") == b"ok"
    assert (root / "name with spaces.txt").read_bytes() == b"ok"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (content_digest(b"x"), hashlib.sha256(b"x").hexdigest()),
        (f"md5=:abc=:, {content_digest(b'x')}", hashlib.sha256(b"x").hexdigest()),
        ("sha-512=:" + base64.b64encode(b"\0" * 64).decode() + ":", None),
        ("sha-256=:not base64!:", None),
        ("sha-256=:" + base64.b64encode(b"short").decode() + ":", None),
        (None, None),
    ],
)
def test_parse_content_digest(header: str | None, expected: str | None) -> None:
    assert parse_content_digest(header) == expected


def test_missing_credentials_are_reported_before_connecting(pki: TlsPki, tmp_path: Path) -> None:
    for creds in (
        Credentials(),
        Credentials(cert_file=tmp_path / "no.pem", key_file=tmp_path / "no.key", trust_file=pki.ca),
    ):
        with pytest.raises(PermanentTransportError) as raised:
            open_transport("https://127.0.0.1:1/x", creds)
        assert raised.value.code == "CREDENTIALS"
