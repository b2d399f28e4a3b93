"""``python -m gateway.demo`` (``make demo``): a real scheduled exchange between two local partners.

1. A fresh demo data directory (default ``var/demo``): SQLite database migrated to head, field
   keys, our CMS envelope identity and SSH key, the audit signing key.
2. Two partners in a partners file, loaded as ``csgate partners load`` does:
   - ``acme-payroll``, an employer dropping NACHA CCD+/DED payment files into a local folder;
   - ``state-sdu``, the State Disbursement Unit, reached over SFTP (an asyncssh server this demo
     starts on 127.0.0.1 with freshly generated host and client keys, pinned in known_hosts), with
     CMS envelopes both ways and a csgate receipt as its acknowledgment.
   Both are scheduled every two seconds (six-field cron, seconds first).
3. The scheduler runs as in ``csgate serve``: it elects itself leader, fires the crons, queues
   work items and runs them. The employer's file (a shipped fixture) is picked up from the folder,
   parsed and staged; the gateway then forwards the staged payments to the SDU: rendered as NACHA,
   signed and encrypted, uploaded over SFTP on the SDU's next slot.
4. The SDU's side is played by this process, with the SDU's own keys and files only: it opens the
   envelope, checks the payments file, and answers with a signed, encrypted receipt in its SFTP
   outbox. The gateway's next pull verifies the receipt and matches it to the outbound exchange
   by the file's SHA-256: acknowledged.
5. The case feed: the state's case extract is loaded (``csgate cases import``); an employer's
   new-hire report dropped into the ``sdnh`` folder is picked up on its slot, and the new hires who
   are case participants get their employer and address on the case. The one who owes support gets
   an income withholding order, due in two business days: the scheduler queues it as a flat e-IWO
   file to ``eiwo-portal`` (a folder), which takes it on its next slot. The case is then read as
   its caseworker would (``csgate cases show``): the custodial parent, protected by the Family
   Violence Indicator, is withheld.
6. The web console (what ``csgate serve`` serves under ``/console``), on a real HTTP server on
   127.0.0.1: an operator signs in through its form with an API token and reads the overview; the
   case's caseworker signs in and opens the case, where the protected parent is withheld too.
7. A signed audit checkpoint, then the exchange log and ``audit verify``. Exit 0 only if every
   step happened.

Everything is real: files, keys, envelopes, SFTP, database, scheduler. Nothing is mocked.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import io
import os
import re
import secrets
import shutil
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import asyncssh
import httpx
import orjson
from cryptography import x509
from rich.console import Console
from sqlalchemy import select

import adapters
from adapters.base import Parsed, Rejected
from adapters.errors import FileStructureError
from gateway.api.app import create_app
from gateway.api.server import running
from gateway.audit import log as audit
from gateway.audit.signing import CheckpointSigner
from gateway.cases import disclosure, iwo, registry
from gateway.config import Settings, get_settings
from gateway.db import migrate
from gateway.db.models import ExchangeDirection, StagedRecord
from gateway.db.session import session_scope
from gateway.exchanges import outbound, service, staging
from gateway.exchanges.cli import COLUMNS, emit
from gateway.exchanges.partners import load_profiles
from gateway.exchanges.runtime import Runtime
from gateway.exchanges.scheduler import Scheduler
from gateway.observability import configure_logging
from gateway.partners.registry import load_partners
from gateway.security import envelope
from gateway.security.envelope import EnvelopeIdentity, IdentityStore
from gateway.security.keystore import KeyStore

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "fixtures" / "employer" / "nacha-ded" / "ded-five-cases.ach"
NEW_HIRES = ROOT / "fixtures" / "employer" / "new-hire" / "nh-five-employees.txt"
# The state's case extract: synthetic people whose SSNs are among the new hires of NEW_HIRES.
CASES: list[dict[str, Any]] = [
    {
        "caseworker": "cw-0412",
        "case": {
            "case_id": "AK-2026-000100",
            "fips": "0200000",
            "case_type": "IV-D",
            "participants": [
                {"role": "NCP", "ssn": "212345671", "name": {"first": "ALEX", "last": "TESTER"}, "dob": "1988-04-02"},
                {
                    "role": "CP",
                    "ssn": "401223344",
                    "name": {"first": "BLAIR", "last": "TESTER"},
                    "family_violence": True,
                },
                {"role": "CHILD", "name": {"first": "CASEY", "last": "TESTER"}, "dob": "2017-09-30"},
            ],
            "orders": [
                {
                    "order_id": "3AN-26-00100CI",
                    "current_support": {"amount": "412.00", "frequency": "monthly"},
                    "past_due_support": {"amount": "80.00", "frequency": "monthly"},
                }
            ],
        },
    }
]
ISSUER = {  # what the agency puts on the income withholding orders it issues (`[iwo]` in the config)
    "partner": "eiwo-portal",
    "issuing_state_name": "Alaska",
    "government_official_name": "PAT OFFICIAL",
    "official_title": "DIRECTOR, CHILD SUPPORT SERVICES",
    "payee_name": "ALASKA CSSD",
    "payee_address": {"line1": "PO BOX 102760", "city": "ANCHORAGE", "state": "AK", "zip5": "99510"},
    "payee_fips": "0200000",
}
CRON = "*/2 * * * * *"  # every two seconds
WAIT = 40.0  # seconds: every wait is bounded
console = Console(highlight=False, width=None if sys.stdout.isatty() else 130)

PARTNERS = """
[[partner]]
id = "acme-payroll"
name = "Acme Payroll (employer)"
kind = "employer"
schedule = "{cron}"
retention_days = 2555

[partner.formats]
inbound = ["nacha-ded"]

[partner.transport]
url = "file://{acme}"
inbound_dir = "outbox"
outbound_dir = "inbox"
done_dir = "done"

[partner.keys]
envelope = false              # a folder on our own machine

[[partner]]
id = "state-sdu"
name = "State Disbursement Unit"
kind = "sdu"
schedule = "{cron}"
retention_days = 2555

[partner.formats]
inbound = ["receipt"]
outbound = ["nacha-ded"]

[partner.transport]
url = "sftp://csgate@127.0.0.1:{port}/"
credential = "state-sdu-sftp"
trust = "{known_hosts}"
inbound_dir = "outbox"
outbound_dir = "inbox"
done_dir = "done"

[partner.keys]
envelope = true
certificate = "{sdu_cert}"

[partner.ack]
format = "receipt"
deadline_hours = 4

[[partner]]
id = "sdnh"
name = "State Directory of New Hires (employer reports)"
kind = "employer"
schedule = "{cron}"
retention_days = 2555

[partner.formats]
inbound = ["new-hire"]

[partner.transport]
url = "file://{sdnh}"
inbound_dir = "outbox"
outbound_dir = "inbox"
done_dir = "done"

[partner.keys]
envelope = false

[[partner]]
id = "eiwo-portal"
name = "e-IWO Portal"
kind = "federal"
schedule = "{cron}"
retention_days = 2555

[partner.formats]
inbound = ["eiwo-ack"]
outbound = ["eiwo"]

[partner.transport]
url = "file://{portal}"
inbound_dir = "outbox"
outbound_dir = "inbox"
done_dir = "done"

[partner.keys]
envelope = false
"""


def step(text: str) -> None:
    console.print(f"[bold cyan]▶[/] {text}")


def wait_for(what: str, condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"demo failed: {what} did not happen within {WAIT:.0f}s")
        time.sleep(0.1)


# --------------------------------------------------------------------------- the SDU's SFTP server


@contextmanager
def sftp_server(root: Path, host_key: Path, authorized_keys: Path) -> Iterator[int]:
    """An asyncssh SFTP server chrooted to ``root`` on 127.0.0.1 (key authentication only)."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="demo-sftp", daemon=True)
    thread.start()

    async def start() -> asyncssh.SSHAcceptor:
        return await asyncssh.listen(
            "127.0.0.1",
            0,
            server_host_keys=[str(host_key)],
            authorized_client_keys=str(authorized_keys),
            sftp_factory=lambda chan: asyncssh.SFTPServer(chan, chroot=str(root).encode()),
            allow_scp=False,
        )

    acceptor = asyncio.run_coroutine_threadsafe(start(), loop).result(10)
    try:
        yield int(acceptor.sockets[0].getsockname()[1])
    finally:
        acceptor.close()
        asyncio.run_coroutine_threadsafe(acceptor.wait_closed(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def ssh_keys(directory: Path, key_dir: Path) -> tuple[Path, Path, Path]:
    """Host key (the SDU's), our client key (credential ``state-sdu-sftp``), authorized_keys."""
    directory.mkdir(parents=True)
    host = directory / "ssh_host_ed25519_key"
    asyncssh.generate_private_key("ssh-ed25519").write_private_key(str(host))
    client = asyncssh.generate_private_key("ssh-ed25519")
    ours = key_dir / "state-sdu-sftp.key"
    client.write_private_key(str(ours))
    for path in (host, ours):
        path.chmod(0o600)
    authorized = directory / "authorized_keys"
    authorized.write_bytes(client.export_public_key())
    return host, ours, authorized


# --------------------------------------------------------------------------- the SDU's own system


class SduDesk:
    """The partner's side: answers each payments file in its SFTP inbox with a signed receipt.

    Uses only what the SDU holds: its private key, the gateway's certificate, its own folders.
    """

    def __init__(self, sftp_root: Path, identity: EnvelopeIdentity, gateway_cert: x509.Certificate) -> None:
        self.inbox, self.outbox = sftp_root / "inbox", sftp_root / "outbox"
        self.identity, self.gateway_cert = identity, gateway_cert
        self.answered: dict[str, str] = {}  # file name -> digest acknowledged

    def answer_new_files(self) -> None:
        for path in sorted(self.inbox.iterdir()):
            if path.name.startswith(".") or path.name in self.answered:
                continue  # a dot file is an upload still in progress
            received = path.read_bytes()
            payments = envelope.unseal(received, identities=[self.identity], sender=self.gateway_cert)
            good = rejected = 0
            try:
                for result in adapters.get("nacha-ded").parse(io.BytesIO(payments)):
                    good += isinstance(result, Parsed) and result.type == "entry"
                    rejected += isinstance(result, Rejected)
                status = "rejected" if rejected else "accepted"
            except FileStructureError:
                status = "rejected"
            digest = hashlib.sha256(received).hexdigest()
            receipt = orjson.dumps({"acknowledges": digest, "status": status, "records": good}) + b"\n"
            sealed = envelope.seal(receipt, signer=self.identity, recipient=self.gateway_cert)
            tmp = self.outbox / f".{path.name}.receipt.part"
            tmp.write_bytes(sealed)
            tmp.rename(self.outbox / f"{path.stem}.receipt.p7m")  # published whole
            self.answered[path.name] = digest
            console.print(
                f"  [magenta]\\[state-sdu][/] opened {path.name} ({good} payments), "
                f"replied with a signed receipt: {status} sha256 {digest[:16]}…"
            )


# --------------------------------------------------------------------------- the run


def run(data_dir: Path) -> int:
    if data_dir.exists():
        shutil.rmtree(data_dir)
    os.environ["CSGATE_DATA_DIR"] = str(data_dir)
    os.environ.pop("CSGATE_DATABASE_URL", None)
    os.environ.pop("CSGATE_KEY_DIR", None)
    os.environ.pop("CSGATE_CONFIG", None)
    os.environ["CSGATE_IWO"] = orjson.dumps(ISSUER).decode()

    get_settings.cache_clear()
    settings = get_settings()
    started = time.monotonic()
    console.rule("[bold]csgate demo: scheduled exchanges with four partners and the case feed")

    step(f"data directory {data_dir}: `csgate db upgrade`")
    migrate.upgrade(settings.database_url)
    console.print(f"  database {settings.database_url} at revision {migrate.current(settings.database_url)}")

    step("keys: field encryption, our envelope identity, SSH, audit signing (`csgate keys init`)")
    KeyStore(settings.key_dir).ensure()
    runtime = Runtime.from_settings(settings, actor="demo")
    ours = IdentityStore(settings.key_dir)
    ours.ensure("csgate demo gateway")
    signer = CheckpointSigner.load(settings.key_dir, create=True)
    sdu_dir = data_dir / "partners" / "state-sdu"
    sdu_keys = IdentityStore(sdu_dir / "keys")
    sdu_keys.ensure("State Disbursement Unit")
    sftp_root = sdu_dir / "sftp"
    for folder in ("inbox", "outbox"):
        (sftp_root / folder).mkdir(parents=True)
    acme = data_dir / "partners" / "acme-payroll"
    (acme / "outbox").mkdir(parents=True)
    sdnh, portal = data_dir / "partners" / "sdnh", data_dir / "partners" / "eiwo-portal"
    for path in (sdnh / "outbox", portal / "outbox", portal / "inbox"):
        path.mkdir(parents=True)
    host_key, _, authorized = ssh_keys(sdu_dir / "ssh", settings.key_dir)
    adapters.available()

    with sftp_server(sftp_root, host_key, authorized) as port:
        step(f"state-sdu's SFTP server listening on 127.0.0.1:{port} (host key pinned in known_hosts)")
        known_hosts = settings.key_dir / "state-sdu.known_hosts"
        host_public = asyncssh.read_private_key(str(host_key)).export_public_key().decode().strip()
        known_hosts.write_text(f"[127.0.0.1]:{port} {host_public}\n")

        partners_file = data_dir / "partners.toml"
        partners_file.write_text(
            PARTNERS.format(
                cron=CRON,
                acme=acme,
                port=port,
                known_hosts=known_hosts,
                sdu_cert=sdu_keys.root / "00001" / "cert.pem",
                sdnh=sdnh,
                portal=portal,
            )
        )
        with session_scope(runtime.engine) as session:
            report = load_partners(session, partners_file, key_dir=settings.key_dir)
        step(f"partners loaded from {partners_file.name}: {', '.join(report.added)} (`csgate partners load`)")

        log_file = data_dir / "gateway.log"
        with log_file.open("w") as log_stream:
            configure_logging("INFO", log_stream)
            profiles = load_profiles(runtime.engine, key_dir=settings.key_dir)
            scheduler = Scheduler(
                runtime, profiles, signer=signer, poll_interval=0.2, leader_interval=0.5, housekeeping_interval=5
            )
            desk = SduDesk(sftp_root, sdu_keys.identity(), ours.certificate())
            scheduler.start()
            try:
                outcome = exchange(runtime, scheduler, desk, acme) and case_feed(runtime, sdnh, portal)
            finally:
                scheduler.stop()
            outcome = outcome and web_console(runtime, settings, signer)
        with session_scope(runtime.engine) as session:
            audit.checkpoint(session, signer)

    console.rule("[bold]exchange log (`csgate exchange list`)")
    emit(service.list_exchanges(runtime), False, COLUMNS, "exchange log")
    emit(
        service.list_work(runtime, limit=8),
        False,
        ("id", "partner", "slot", "status", "claimed_by"),
        "scheduled runs (latest 8 of the work queue)",
    )
    console.rule("[bold]audit (`csgate audit verify`)")
    with session_scope(runtime.engine) as session:
        verified = audit.verify(session, signer.public_key, entry=0)
    for line in verified.lines():
        console.print(line)
    alerts = service.list_alerts(runtime)
    console.print(f"open alerts: {len(alerts)}; structured log: {log_file}")
    ok = outcome and verified.ok and not alerts
    console.rule(f"[bold]{'demo OK' if ok else 'demo FAILED'} in {time.monotonic() - started:.1f}s")
    runtime.engine.dispose()
    return 0 if ok else 1


def exchange(runtime: Runtime, scheduler: Scheduler, desk: SduDesk, acme: Path) -> bool:
    """Steps 3 and 4 of the module docstring; True when the outbound file was acknowledged."""
    wait_for("scheduler leadership", lambda: scheduler.is_leader)
    step(f"scheduler is leader; partners fire on '{CRON}'")

    tmp = acme / "outbox" / f".{FIXTURE.name}.part"
    shutil.copyfile(FIXTURE, tmp)
    tmp.rename(acme / "outbox" / FIXTURE.name)
    step(f"\\[acme-payroll] dropped {FIXTURE.name} into its folder")

    def inbound_done() -> list[dict[str, Any]]:
        return [r for r in service.list_exchanges(runtime, partner="acme-payroll") if r["status"] == "processed"]

    wait_for("pickup of the employer's file", lambda: bool(inbound_done()))
    [received] = inbound_done()
    console.print(
        f"  picked up on a scheduled slot, parsed and staged: {received['records']} records "
        f"(sha256 {received['sha256'][:16]}…), {received['rejected']} rejected"
    )

    with session_scope(runtime.engine) as session:
        blobs = session.scalars(
            select(StagedRecord.data).where(StagedRecord.exchange_id == received["id"]).order_by(StagedRecord.record_no)
        ).all()
    records = [staging.decode_record(runtime.cipher, blob) for blob in blobs]
    profile = scheduler.profiles["state-sdu"]
    exchange_id = outbound.queue(runtime, profile, records=records)
    step(
        f"gateway queued the staged payments for state-sdu: exchange {exchange_id} "
        "(rendered as NACHA, signed and encrypted)"
    )

    def sent() -> bool:
        rows = service.list_exchanges(runtime, partner="state-sdu", direction=ExchangeDirection.OUTBOUND)
        return bool(rows) and rows[0]["status"] in ("sent", "acknowledged")

    wait_for("the upload to state-sdu", sent)
    console.print("  uploaded over SFTP on state-sdu's next slot (verified size and SHA-256 at the server)")

    def answered() -> bool:
        desk.answer_new_files()
        return bool(desk.answered)

    wait_for("the SDU's answer", answered)

    def acknowledged() -> bool:
        detail = service.exchange_detail(runtime, exchange_id)
        return detail is not None and detail["status"] == "acknowledged"

    wait_for("the acknowledgment", acknowledged)
    detail = service.exchange_detail(runtime, exchange_id)
    step(
        f"receipt pulled over SFTP, signature verified, matched by file digest: exchange {exchange_id} "
        f"acknowledged ({detail['acknowledgment'] if detail else {}})"
    )
    return True


def case_feed(runtime: Runtime, sdnh: Path, portal: Path) -> bool:
    """Step 5 of the module docstring; True when the withholding order reached the portal's folder."""
    report = registry.import_cases(runtime, enumerate(CASES, start=1))
    step(
        f"case extract loaded: {report.cases_added} case, {report.persons_added} participants, "
        "personal fields encrypted (`csgate cases import`)"
    )
    tmp = sdnh / "outbox" / f".{NEW_HIRES.name}.part"
    shutil.copyfile(NEW_HIRES, tmp)
    tmp.rename(sdnh / "outbox" / NEW_HIRES.name)
    step(f"\\[sdnh] an employer's new-hire report {NEW_HIRES.name} dropped into the folder")

    def notices() -> list[dict[str, Any]]:
        return iwo.list_notices(runtime)

    wait_for("the new-hire match", lambda: bool(notices()))
    [notice] = notices()
    console.print(
        f"  picked up and matched to the case: the parent who owes support was hired by FEIN {notice['employer_fein']}"
    )
    console.print(f"  income withholding notice {notice['document_tracking_id']} due {notice['due_at']}")

    def delivered_files() -> list[Path]:
        return [p for p in (portal / "inbox").iterdir() if not p.name.startswith(".")]  # a dot file is mid-upload

    wait_for("the e-IWO's delivery", lambda: bool(delivered_files()))
    [delivered] = delivered_files()
    orders = [
        r.canonical
        for r in adapters.get("eiwo").parse(io.BytesIO(delivered.read_bytes()))
        if isinstance(r, Parsed) and r.type == "detail"
    ]
    step(
        f"e-IWO file {delivered.name} delivered to eiwo-portal on its slot: {len(orders)} order "
        f"({', '.join(o.action.value for o in orders if o is not None)}), within the two business days"
    )
    view = disclosure.whereabouts(
        runtime, CASES[0]["case"]["case_id"], disclosure.Requester("demo:cw-0412", "caseworker", "cw-0412")
    )
    step(f"case {view['case_id']} as its caseworker reads it (`csgate cases show`, audited):")
    for person in view["participants"]:
        found = (
            "withheld: family violence indicator"
            if "withheld" in person
            else (", ".join(f"{f['kind']} from {f['source']}" for f in person["findings"]) or "nothing reported yet")
        )
        last4 = person["ssn_last4"] or "----"
        who = f"{person['role']:5} {person['first_name']} {person['last_name']} (SSN ...{last4})"
        console.print(f"  {who}: {found}")
    return len(orders) == 1


def web_console(runtime: Runtime, settings: Settings, signer: CheckpointSigner) -> bool:
    """Step 6 of the module docstring; True when both saw what their role allows."""
    tokens = {"operator": secrets.token_urlsafe(32), "caseworker:cw-0412": secrets.token_urlsafe(32)}
    digests = {hashlib.sha256(token.encode()).hexdigest(): role for role, token in tokens.items()}
    app = create_app(settings.model_copy(update={"api_tokens": digests}), runtime=runtime, signer=signer)
    case_id = CASES[0]["case"]["case_id"]
    with running(app) as url:
        step(f"web console on {url}/console/ (`csgate serve`; tokens from `csgate api token --role ...`)")
        overview = _console_page(url, tokens["operator"], "/")
        tiles = re.findall(r'<span class="n"[^>]*>(\d+)</span> ([a-z ]+)</a>', overview)
        console.print("  operator, overview: " + ", ".join(f"{n} {what}" for n, what in tiles))
        case_page = _console_page(url, tokens["caseworker:cw-0412"], f"/cases/{case_id}")
        withheld = case_page.count("Whereabouts withheld: family violence indicator.")
        console.print(f"  caseworker cw-0412, case {case_id}: {withheld} participant withheld (FVI), the others shown")
    return len(tiles) == 4 and withheld == 1


def _console_page(url: str, token: str, page: str) -> str:
    """Sign in through the console's form as a browser does (its CSRF field and cookie), then open ``page``."""
    with httpx.Client(base_url=f"{url}/console", timeout=20, follow_redirects=True) as browser:
        form = browser.get("/login")
        csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
        assert csrf is not None, "the sign-in form carries its CSRF field"
        signed_in = browser.post("/login", data={"token": token, "csrf": csrf[1], "next": page})
        signed_in.raise_for_status()
        return signed_in.text


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m gateway.demo", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--data-dir", type=Path, default=Path("var/demo"), help="wiped and recreated (default var/demo)"
    )
    args = parser.parse_args(argv)
    sys.exit(run(args.data_dir.resolve()))


if __name__ == "__main__":
    main()
