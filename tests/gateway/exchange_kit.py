"""Helpers for the exchange tests: a migrated database, a runtime with fresh keys, partner rows, and
profiles around the in-memory transport. All data is synthetic (the NACHA DED fixtures)."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from gateway.db import migrate
from gateway.db.models import Partner, StagedRecord
from gateway.db.session import make_engine, session_scope
from gateway.exchanges.profile import AckRule, ExchangeProfile, Side
from gateway.exchanges.retry import RetryPolicy
from gateway.exchanges.runtime import Runtime
from gateway.security.keystore import KeyStore
from gateway.transports.memory import MemoryStore, MemoryTransport

ROOT = Path(__file__).resolve().parents[2]
DED = ROOT / "fixtures" / "employer" / "nacha-ded"
FAST = RetryPolicy(attempts=3, initial=0.0, maximum=0.0)  # no sleeping in tests


def runtime(url: str, tmp_path: Path, *, chunk_size: int = 2, key_dir: Path | None = None) -> Runtime:
    """A runtime on a freshly migrated database, keys under ``tmp_path/keys`` (or ``key_dir``)."""
    migrate.upgrade(url)
    key_dir = key_dir or tmp_path / "keys"
    store = KeyStore(key_dir)
    store.ensure()
    return Runtime(
        engine=make_engine(url),
        data_dir=tmp_path / "data",
        key_dir=key_dir,
        cipher=store.cipher(),
        blind_index=store.blind_index(),
        chunk_size=chunk_size,
        actor="test",
    )


def add_partner(rt: Runtime, partner_id: str, kind: str = "employer") -> None:
    with session_scope(rt.engine) as session:
        session.add(Partner(id=partner_id, kind=kind, name=partner_id.title(), config={}))


def memory_profile(
    partner_id: str,
    store: MemoryStore | None = None,
    *,
    inbound: tuple[str, ...] = ("nacha-ded",),
    outbound: str | None = None,
    ack: AckRule | None = None,
    **kwargs: Any,
) -> tuple[ExchangeProfile, MemoryStore]:
    """A profile whose partner folders are ``outbox`` (theirs to us) and ``inbox`` (ours to them)."""
    store = store or MemoryStore()

    def open_transport(side: Side) -> MemoryTransport:
        return MemoryTransport(store, "outbox" if side == "inbound" else "inbox", url=f"memory://{partner_id}")

    profile = ExchangeProfile(
        partner_id=partner_id,
        open_transport=open_transport,
        inbound_formats=inbound,
        outbound_format=outbound,
        ack=ack,
        retry=kwargs.pop("retry", FAST),
        **kwargs,
    )
    return profile, store


def parsed_records(key: str, data: bytes) -> list[dict[str, Any]]:
    """Good records of a file as ``csgate convert`` hands them to a renderer."""
    import io

    import adapters
    from adapters.base import Parsed

    return [
        {"type": r.type, "data": r.data, "canonical": r.canonical}
        for r in adapters.get(key).parse(io.BytesIO(data))
        if isinstance(r, Parsed)
    ]


def receipt_rule(hours: int = 24) -> AckRule:
    return AckRule.within("receipt", timedelta(hours=hours))


def staged_count(rt: Runtime, exchange_id: int | None = None) -> int:
    with session_scope(rt.engine) as session:
        stmt = select(func.count()).select_from(StagedRecord)
        if exchange_id is not None:
            stmt = stmt.where(StagedRecord.exchange_id == exchange_id)
        return int(session.scalar(stmt) or 0)


def staged_records(rt: Runtime, exchange_id: int) -> list[dict[str, Any]]:
    """The records an inbound exchange staged, decrypted, in file order (what the gateway forwards)."""
    from gateway.exchanges.staging import decode_record

    with session_scope(rt.engine) as session:
        blobs = session.scalars(
            select(StagedRecord.data).where(StagedRecord.exchange_id == exchange_id).order_by(StagedRecord.record_no)
        ).all()
    return [decode_record(rt.cipher, blob) for blob in blobs]


def quarantined_bytes(rt: Runtime, view: Any) -> bytes:
    """A quarantined file's content as ``csgate quarantine show --output`` would write it."""
    import io

    from gateway.exchanges import quarantine

    out = io.BytesIO()
    quarantine.copy_content(rt, view, out)
    return out.getvalue()


def unique_name(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(4)}"


def fixture(name: str) -> bytes:
    return (DED / name).read_bytes()


def ded_entries(name: str) -> int:
    """Entries (records of type ``entry``) in a fixture, counted by the adapter itself."""
    import io

    import adapters
    from adapters.base import Parsed

    count = 0
    for result in adapters.get("nacha-ded").parse(io.BytesIO(fixture(name))):
        if isinstance(result, Parsed) and result.type == "entry":
            count += 1
    return count


Opener = Callable[[Side], MemoryTransport]


FOLDER_PARTNER = """
[[partner]]
id = "{partner_id}"
name = "Folder partner"
kind = "{kind}"
retention_days = 30
on_structure_error = "{on_structure_error}"
{schedule}
[partner.formats]
inbound = {inbound}
outbound = {outbound}

[partner.transport]
url = "file://{root}"
inbound_dir = "outbox"
outbound_dir = "inbox"
done_dir = "done"

[partner.keys]
envelope = false
"""


def load_folder_partner(
    rt: Runtime,
    partner_id: str,
    root: Path,
    *,
    kind: str = "employer",
    inbound: tuple[str, ...] = ("nacha-ded",),
    outbound: tuple[str, ...] = (),
    schedule: str | None = None,
    on_structure_error: str = "quarantine",
) -> Path:
    """Declare a folder partner in a partners file and load it (as `csgate partners load` does)."""
    from gateway.partners.registry import load_partners

    for folder in ("outbox", "inbox"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    path = root.parent / f"{partner_id}-partners.toml"
    path.write_text(
        FOLDER_PARTNER.format(
            partner_id=partner_id,
            kind=kind,
            root=root,
            inbound=list(inbound),
            outbound=list(outbound),
            schedule=f'schedule = "{schedule}"\n' if schedule else "",
            on_structure_error=on_structure_error,
        ).replace("'", '"')
    )
    with session_scope(rt.engine) as session:
        load_partners(session, path, key_dir=rt.key_dir)
    return root


def big_ded_file(payments: int, *, modifier: str = "A") -> bytes:
    """A valid NACHA CCD+ file of ``payments`` DED entries with distinct synthetic SSNs and cases,
    rendered by the adapter through the fixture generator's own helpers."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("nacha_ded_generate", DED / "generate.py")
    assert spec is not None and spec.loader is not None
    generate = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generate)
    rows = [
        # SSA rules hold: area 101-600 (no 000/666/9xx), group 11-90 (no 00), serial 1001-9000 (no 0000)
        generate.payment(f"CS{i:08d}", f"{101 + i % 500:03d}{11 + i % 80:02d}{1001 + i % 8000:04d}", 1000 + i)
        for i in range(payments)
    ]
    data: bytes = generate.render(rows, file_id_modifier=modifier)
    return data


SFTP_PARTNER = """
[[partner]]
id = "sdu"
name = "State Disbursement Unit"
kind = "sdu"
retention_days = 30
{schedule}
[partner.formats]
inbound = ["nacha-ded", "receipt"]
outbound = ["nacha-ded"]

[partner.transport]
url = "sftp://csgate@127.0.0.1:{port}/"
credential = "sdu-sftp"
trust = "{known_hosts}"
inbound_dir = "outbox"
outbound_dir = "inbox"
done_dir = "done"

[partner.keys]
envelope = true
certificate = "{certificate}"

[partner.ack]
format = "receipt"
deadline_hours = 24
"""


@dataclass(frozen=True)
class SftpWorld:
    """Key material for an SFTP + CMS partner, made once per test module (RSA key generation is slow).

    ``key_dir`` is our key store (field keys, envelope identity, the SSH key as credential
    ``sdu-sftp``); ``partner`` is the SDU's envelope identity, ``stranger`` somebody else's.
    """

    ssh: Any  # transport_kit.SshKeys
    key_dir: Path
    partner: Any  # envelope.EnvelopeIdentity
    partner_cert: Path
    stranger: Any
    stranger_cert: Path

    @property
    def ours(self) -> Any:
        from gateway.security.envelope import IdentityStore

        return IdentityStore(self.key_dir).identity()


def make_sftp_world(directory: Path) -> SftpWorld:
    import shutil

    from transport_kit import make_ssh_keys

    from gateway.security.envelope import IdentityStore

    ssh = make_ssh_keys(directory / "ssh")
    key_dir = directory / "keys"
    KeyStore(key_dir).ensure()
    IdentityStore(key_dir).ensure("csgate test")
    shutil.copy(ssh.client_key, key_dir / "sdu-sftp.key")
    (key_dir / "sdu-sftp.key").chmod(0o600)
    partner_store, stranger_store = IdentityStore(directory / "sdu"), IdentityStore(directory / "stranger")
    partner_store.ensure("state sdu")
    stranger_store.ensure("stranger")
    return SftpWorld(
        ssh,
        key_dir,
        partner_store.identity(),
        partner_store.root / "00001" / "cert.pem",
        stranger_store.identity(),
        stranger_store.root / "00001" / "cert.pem",
    )


def sftp_partner_toml(
    world: SftpWorld, root: Path, port: int, *, certificate: Path | None = None, schedule: str | None = None
) -> str:
    """The ``[[partner]]`` block of the SFTP partner ``sdu`` serving ``root`` (its folders made)."""
    for folder in ("outbox", "inbox"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    return SFTP_PARTNER.format(
        port=port,
        known_hosts=world.ssh.known_hosts,
        certificate=certificate or world.partner_cert,
        schedule=f'schedule = "{schedule}"\n' if schedule else "",
    )


def load_sftp_partner(rt: Runtime, world: SftpWorld, root: Path, port: int, *, certificate: Path | None = None) -> None:
    """Declare and load the SFTP partner ``sdu`` on 127.0.0.1:``port`` (known_hosts must exist)."""
    from gateway.partners.registry import load_partners

    path = root.parent / "sdu-partners.toml"
    path.write_text(sftp_partner_toml(world, root, port, certificate=certificate))
    with session_scope(rt.engine) as session:
        load_partners(session, path, key_dir=rt.key_dir)


def sealed_by_partner(world: SftpWorld, data: bytes, *, signer: Any = None, recipient: Any = None) -> bytes:
    """What the partner's own tools would send us: signed by it, encrypted for our certificate."""
    from gateway.security import envelope

    return envelope.seal(data, signer=signer or world.partner, recipient=recipient or world.ours.certificate)


def world_fixture(tmp_path_factory: Any) -> SftpWorld:
    """Module-scoped in each fault module: ``world = pytest.fixture(scope="module")(world_fixture)``."""
    return make_sftp_world(tmp_path_factory.mktemp("world"))


def sftp_runtime(sqlite_url: str, tmp_path: Path, world: SftpWorld) -> Iterator[Runtime]:
    """A runtime on SQLite sharing the world's key store: ``rt = pytest.fixture(sftp_runtime)``."""
    rt = runtime(sqlite_url, tmp_path, key_dir=world.key_dir)
    yield rt
    rt.engine.dispose()


def acme_sqlite(sqlite_url: str, tmp_path: Path) -> Iterator[Runtime]:
    """A SQLite runtime with partner ``acme``: ``lite = pytest.fixture(acme_sqlite)``."""
    rt = runtime(sqlite_url, tmp_path)
    add_partner(rt, "acme")
    yield rt
    rt.engine.dispose()


@contextmanager
def cli_settings(monkeypatch: Any, data_dir: Path, database_url: str, **settings: str) -> Iterator[None]:
    """The settings an in-process CLI command reads: the test's data directory and database, and any
    other ``CSGATE_<NAME>`` given; the settings cache is cleared on the way in and out."""
    from gateway.config import get_settings

    monkeypatch.setenv("CSGATE_DATA_DIR", str(data_dir))
    monkeypatch.setenv("CSGATE_DATABASE_URL", database_url)
    for name, value in settings.items():
        monkeypatch.setenv(f"CSGATE_{name.upper()}", value)
    get_settings.cache_clear()
    try:
        yield
    finally:
        get_settings.cache_clear()
