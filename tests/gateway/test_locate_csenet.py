"""A caseworker's locate request fanned out to other states as a CSENet quick locate (LO1 R), and their
answers (LO1 P) coming back onto the case through the feed. Synthetic data only: the people, cases and
employers of the CSENet fixtures (fixtures/interstate/csenet/generate.py), Kansas (FIPS 20) as our state."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from exchange_kit import ROOT, cli_settings, load_folder_partner, memory_profile, runtime
from sqlalchemy import func, select, update

import adapters
from adapters.base import Parsed
from adapters.canonical import InterstateTransaction, LocateRequest
from adapters.errors import RecordError
from adapters.interstate.csenet import CsenetAdapter
from gateway.cases import disclosure, feed, locate, registry
from gateway.db.models import Address, AuditEntry, Exchange, ExchangeDirection, ExchangeStatus, Person, StagedRecord
from gateway.db.session import session_scope
from gateway.errors import AccessDenied, ConfigError
from gateway.exchanges import intake, outbound
from gateway.exchanges.partners import load_profile
from gateway.exchanges.runtime import Runtime
from gateway.partners.registry import load_partners

CSENET = ROOT / "fixtures" / "interstate" / "csenet"
NCP_SSN, CP_SSN = "212345671", "401223344"  # the NCP and CP of the CSENet fixtures
CASE_ID = "KS0001234567"
CASEWORKER = disclosure.Requester("test:cw-1", "caseworker", "cw-1")
STATES = """
[[partner]]
id = "{id}"
name = "State IV-D agency (TEST)"
kind = "state"
retention_days = 30
timezone = "America/Chicago"
{fips}
[partner.formats]
inbound = ["csenet"]
outbound = ["{outbound}"]

[partner.transport]
url = "file://{root}"
inbound_dir = "outbox"
outbound_dir = "inbox"

[partner.keys]
envelope = false
"""


def _load_state(
    rt: Runtime, tmp_path: Path, partner_id: str, fips: str | None, outbound: str = "csenet", *, ack: bool = False
) -> None:
    root = tmp_path / partner_id
    for folder in ("outbox", "inbox"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    path = tmp_path / f"{partner_id}-partners.toml"
    line = f'fips = "{fips}"' if fips else ""
    text = STATES.format(id=partner_id, fips=line, outbound=outbound, root=root)
    if ack:
        text += '\n[partner.ack]\nformat = "csenet"\ndeadline_business_days = 2\n'
    path.write_text(text)
    with session_scope(rt.engine) as session:
        load_partners(session, path, key_dir=rt.key_dir)


def _case(**changes: Any) -> dict[str, Any]:
    ncp = {"role": "NCP", "ssn": NCP_SSN, "name": {"first": "JONAH", "last": "EXAMPLEDAD"}, "dob": "1984-07-14"}
    ncp["member_id"] = "M100"
    cp = {"role": "CP", "ssn": CP_SSN, "name": {"first": "MARGO", "last": "EXAMPLEMOM"}, "member_id": "M101"}
    case = {
        "case_id": CASE_ID,
        "fips": "2017701",
        "case_type": "IV-D",
        "assistance_type": "tanf",
        "status": "open",
        "participants": [ncp, cp],
    }
    return {**case, **changes}


def _runtime(url: str, tmp_path: Path) -> Runtime:
    """The FCR and two states as partners (Missouri by county, California by local office) and the case."""
    rt = runtime(url, tmp_path, chunk_size=50, key_dir=tmp_path / "data" / "keys")
    load_folder_partner(rt, "fcr", tmp_path / "fcr", kind="federal", inbound=("fcr-response",), outbound=("fcr-input",))
    _load_state(rt, tmp_path, "state-mo", "29095")
    _load_state(rt, tmp_path, "state-ca", "0603701")
    registry.import_cases(rt, [(1, {"caseworker": "cw-1", "case": _case()})])
    return rt


@pytest.fixture
def rt(db_url: str, tmp_path: Path) -> Iterator[Runtime]:
    rt = _runtime(db_url, tmp_path)
    yield rt
    rt.engine.dispose()


def _person(rt: Runtime, role: str = "NCP") -> int:
    with session_scope(rt.engine) as session:
        return session.scalars(select(Person.id).where(Person.role == role)).one()


def _sent(rt: Runtime, tmp_path: Path, partner: str, exchange_id: int, fmt: str = "csenet") -> list[Parsed]:
    """What the partner receives: the queued file sent to its folder, parsed back."""
    profile = load_profile(rt.engine, partner, key_dir=rt.key_dir)
    outbound.send(rt, profile, exchange_id)
    with session_scope(rt.engine) as session:
        name = session.get_one(Exchange, exchange_id).filename
    raw = (tmp_path / partner / "inbox" / name).read_bytes()
    results = list(adapters.get(fmt).parse(io.BytesIO(raw)))
    assert all(isinstance(r, Parsed) for r in results)
    return [r for r in results if isinstance(r, Parsed)]


def _exchanges(rt: Runtime) -> int:
    with session_scope(rt.engine) as session:
        return int(session.scalar(select(func.count()).select_from(Exchange)) or 0)


def _findings(rt: Runtime, person_id: int) -> list[dict[str, Any]]:
    view = disclosure.whereabouts(rt, CASE_ID, disclosure.Requester("test:admin", "admin"))
    [person] = [p for p in view["participants"] if p["person_id"] == person_id]
    return list(person.get("findings", []))


def _take_in(rt: Runtime, raw: bytes, name: str, partner: str = "state-mo") -> intake.IntakeResult:
    profile, _ = memory_profile(partner, inbound=("csenet",))
    return intake.receive(rt, profile, name=name, raw=raw)


def _variant(fixture: str, **blocks: dict[str, Any]) -> bytes:
    """A fixture's one transaction with fields of its blocks (``header`` for the header) changed,
    rendered again by the adapter (which refuses anything parse would reject)."""
    adapter = CsenetAdapter()
    [parsed] = adapter.parse(io.BytesIO((CSENET / fixture).read_bytes()))
    assert isinstance(parsed, Parsed)
    data = dict(parsed.data)
    data.update(blocks.pop("header", {}))
    for key, changes in blocks.items():
        data[key] = {**data[key], **changes}
    return b"".join(adapter.render([{"type": "transaction", "data": data}]))


# --------------------------------------------------------------------------- outbound: LO1 R


def test_a_quick_locate_goes_to_the_state_as_an_lo1_request(rt: Runtime, tmp_path: Path) -> None:
    ncp = _person(rt)
    queued = locate.request(rt, CASE_ID, ncp, CASEWORKER, partners=["state-mo"])
    [sent] = _sent(rt, tmp_path, "state-mo", queued["state-mo"])
    head = sent.data
    assert (head["functional_type_code"], head["action_code"], head["action_reason"]) == ("LO1", "R", None)
    assert (head["local_fips_state"], head["local_fips_county"], head["local_fips_sub"]) == ("20", "177", "01")
    assert (head["other_fips_state"], head["other_fips_county"], head["other_fips_sub"]) == ("29", "095", None)
    assert head["direction"] == "outbound" and head["case_id"] == CASE_ID and head["other_case_id"] is None
    assert head["transaction_serial_number"] == 1 and head["attachments_ind"] == "N"
    assert head["ncp_locate"] is None and head["participants"] == [] and head["information"] is None
    assert (head["case"]["case_type"], head["case"]["case_status"]) == ("A", "O")  # TANF, open (chart C-5)
    who = head["ncp_identification"]
    assert (who["ssn"], who["name_first"], who["name_last"]) == (NCP_SSN, "JONAH", "EXAMPLEDAD")
    assert who["date_of_birth"].isoformat() == "1984-07-14"
    txn = sent.canonical
    assert isinstance(txn, InterstateTransaction) and txn.ncp is not None and txn.ncp.ssn == NCP_SSN

    again = locate.request(rt, CASE_ID, ncp, CASEWORKER, partners=["state-mo"])
    [resent] = _sent(rt, tmp_path, "state-mo", again["state-mo"])
    assert resent.data["transaction_serial_number"] == 2  # unique per sending state (chart C-3 18-29)
    with session_scope(rt.engine) as session:
        asked = session.scalars(select(AuditEntry).where(AuditEntry.action == "locate.requested")).all()
    assert [a.detail["exchanges"] for a in asked] == [queued, again]
    assert all(NCP_SSN not in str(a.detail) for a in asked)


def test_one_request_fans_out_to_the_fcr_and_several_states(rt: Runtime, tmp_path: Path) -> None:
    ncp = _person(rt)
    queued = locate.request(rt, CASE_ID, ncp, CASEWORKER, partners=["fcr", "state-mo", "state-ca"], sources=["A01"])
    assert sorted(queued) == ["fcr", "state-ca", "state-mo"] and len(set(queued.values())) == 3
    fcr = _sent(rt, tmp_path, "fcr", queued["fcr"], "fcr-input")
    wanted = fcr[1].canonical
    assert isinstance(wanted, LocateRequest) and wanted.person.ssn == NCP_SSN and wanted.sources == ["A01"]
    [mo] = _sent(rt, tmp_path, "state-mo", queued["state-mo"])
    [ca] = _sent(rt, tmp_path, "state-ca", queued["state-ca"])
    assert (mo.data["other_fips_state"], ca.data["other_fips_state"]) == ("29", "06")
    assert (ca.data["other_fips_county"], ca.data["other_fips_sub"]) == ("037", "01")
    assert {mo.data["transaction_serial_number"], ca.data["transaction_serial_number"]} == {1, 2}
    with session_scope(rt.engine) as session:
        formats = dict(
            session.execute(
                select(Exchange.partner_id, Exchange.format).where(Exchange.direction == ExchangeDirection.OUTBOUND)
            ).all()
        )
    assert formats == {"fcr": "fcr-input", "state-mo": "csenet", "state-ca": "csenet"}


def test_nothing_is_queued_unless_every_partner_can_take_the_request(rt: Runtime, tmp_path: Path) -> None:
    ncp, cp = _person(rt), _person(rt, "CP")
    _load_state(rt, tmp_path, "state-forms", "4800000", outbound="uifsa-transmittal-1")
    _load_state(rt, tmp_path, "state-tx", None)
    with pytest.raises(ConfigError, match="state-forms"):  # a UIFSA form carries no locate request
        locate.request(rt, CASE_ID, ncp, CASEWORKER, partners=["fcr", "state-forms"])
    with pytest.raises(ConfigError, match="state-tx has no fips"):
        locate.request(rt, CASE_ID, ncp, CASEWORKER, partners=["state-mo", "state-tx"])
    with pytest.raises(ValueError, match="noncustodial parent"):  # the NCP Identification block
        locate.request(rt, CASE_ID, cp, CASEWORKER, partners=["fcr", "state-mo"])
    with pytest.raises(AccessDenied):
        locate.request(rt, CASE_ID, ncp, disclosure.Requester("test:cw-2", "caseworker", "cw-2"), partners=["state-mo"])
    # a contact e-mail wider than the Case block's Internet-Address (35): the FCR file alone would fit
    wide = {"email": "caseworker.with.a.long.name@child-support.example.gov"}
    registry.import_cases(rt, [(1, {"caseworker": "cw-1", "case": _case(contact=wide)})])
    with pytest.raises(RecordError, match="internet_address"):
        locate.request(rt, CASE_ID, ncp, CASEWORKER, partners=["fcr", "state-mo"])
    registry.import_cases(rt, [(1, {"caseworker": "cw-1", "case": _case(assistance_type=None)})])
    with pytest.raises(ValueError, match="assistance_type"):  # chart C-5 Case-Type
        locate.request(rt, CASE_ID, ncp, CASEWORKER, partners=["state-mo"])
    assert _exchanges(rt) == 0
    with session_scope(rt.engine) as session:
        denied = session.scalars(select(AuditEntry).where(AuditEntry.action == "locate.denied")).all()
    assert [d.detail["why"] for d in denied] == ["not the case's caseworker"]
    registry.import_cases(rt, [(1, {"caseworker": "cw-1", "case": _case()})])
    with session_scope(rt.engine) as session:
        session.execute(update(Person).values(member_id=None))
    with pytest.raises(ValueError, match="member id"):  # the FCR needs it ...
        locate.request(rt, CASE_ID, ncp, CASEWORKER, partners=["state-mo", "fcr"])
    assert _exchanges(rt) == 0
    assert list(locate.request(rt, CASE_ID, ncp, CASEWORKER, partners=["state-mo"])) == ["state-mo"]  # ... CSENet not


def test_the_cli_asks_the_fcr_and_a_state_at_once(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from gateway.cli import app

    rt = _runtime(sqlite_url, tmp_path)
    try:
        with cli_settings(monkeypatch, tmp_path / "data", sqlite_url):
            runner = CliRunner()
            args = ["cases", "locate", CASE_ID, str(_person(rt)), "--partner", "fcr", "--partner", "state-mo"]
            done = runner.invoke(app, args)
            assert done.exit_code == 0, done.output
            assert "queued to fcr" in done.stdout and "queued to state-mo" in done.stdout
            cp = str(_person(rt, "CP"))
            refused = runner.invoke(app, ["cases", "locate", CASE_ID, cp, "--partner", "state-mo"])
            assert refused.exit_code == 64 and "noncustodial parent" in refused.stderr
        assert _exchanges(rt) == 2
    finally:
        rt.engine.dispose()


# --------------------------------------------------------------------------- inbound: LO1 P


def test_a_states_answer_brings_addresses_and_employers_from_that_state(rt: Runtime) -> None:
    ncp, cp = _person(rt), _person(rt, "CP")
    result = _take_in(rt, (CSENET / "lo1-response-address-inbound.txt").read_bytes(), "lo1-p.txt")
    assert result.good == 1
    found = _findings(rt, ncp)
    assert {(f["kind"], f["source"]) for f in found} == {("residential", "csenet:29"), ("employer", "csenet:29")}
    [home] = [f["reported"] for f in found if f["kind"] == "residential"]
    assert (home["line1"], home["city"], home["state"], home["confirmed"]) == (
        "742 EVERGREEN TER",
        "INDEPENDENCE",
        "MO",
        "verified",
    )
    [work] = [f for f in found if f["kind"] == "employer"]
    assert work["reported"]["name"] == "ACME TOOL WORKS" and work["as_of"] == "2024-05-01"
    assert _findings(rt, cp) == []

    _take_in(rt, (CSENET / "lo1-response-three-employers-inbound.txt").read_bytes(), "lo1-p-employers.txt")
    employers = {f["reported"]["name"] for f in _findings(rt, ncp) if f["kind"] == "employer"}
    assert employers == {"ACME TOOL WORKS", "RIVERBOAT CASINO LLC", "NIGHT SHIFT STAFFING", "OLD MILL INC"}


def test_the_states_lo1_answer_acknowledges_the_request(rt: Runtime, tmp_path: Path) -> None:
    _load_state(rt, tmp_path, "state-mo", "29095", ack=True)  # now waiting for an answer to what it is sent
    queued = locate.request(rt, CASE_ID, _person(rt), CASEWORKER, partners=["state-mo"])
    _sent(rt, tmp_path, "state-mo", queued["state-mo"])
    with session_scope(rt.engine) as session:
        request = session.get_one(Exchange, queued["state-mo"])
        assert request.status is ExchangeStatus.SENT and request.ack_due_at is not None
    answer = _take_in(rt, (CSENET / "lo1-response-address-inbound.txt").read_bytes(), "lo1-p.txt")
    assert answer.acknowledged == [queued["state-mo"]]
    with session_scope(rt.engine) as session:
        assert session.get_one(Exchange, queued["state-mo"]).status is ExchangeStatus.ACKNOWLEDGED


def test_the_same_answer_again_adds_nothing(rt: Runtime) -> None:
    ncp = _person(rt)
    raw = (CSENET / "lo1-response-address-inbound.txt").read_bytes()
    _take_in(rt, raw, "lo1-p.txt")
    before = len(_findings(rt, ncp))
    assert before == 2
    assert _take_in(rt, raw, "lo1-p-again.txt").duplicate
    resent = _variant("lo1-response-address-inbound.txt", header={"transaction_serial_number": 5599})
    assert resent != raw
    taken = _take_in(rt, resent, "lo1-p-resent.txt")
    assert feed.feed(rt, taken.exchange_id) is None  # intake fed it already ...
    with session_scope(rt.engine) as session:
        added = session.scalar(
            select(func.count()).select_from(Address).where(Address.exchange_id == taken.exchange_id)
        )
    assert added == 0 and len(_findings(rt, ncp)) == before  # ... and it found nothing new


def test_a_nondisclosure_finding_in_the_answer_sets_the_participants_fvi(rt: Runtime) -> None:
    ncp = _person(rt)
    raw = _variant("lo1-response-address-inbound.txt", case={"nondisclosure_finding": "Y"})
    _take_in(rt, raw, "lo1-p-nondisclosure.txt")
    with session_scope(rt.engine) as session:
        assert session.get_one(Person, ncp).fvi
        [flagged] = session.scalars(select(AuditEntry).where(AuditEntry.action == "person.fvi_set")).all()
    assert flagged.detail == {"person_ids": [ncp], "source": "csenet"}
    view = disclosure.whereabouts(rt, CASE_ID, CASEWORKER)
    [withheld] = [p for p in view["participants"] if p["person_id"] == ncp]
    assert withheld["withheld"] == "family_violence" and "findings" not in withheld


def test_other_csenet_transactions_and_an_empty_answer_report_no_locate_findings(rt: Runtime) -> None:
    # about our NCP (the same SSN in the NCP Identification block) but no answer to a quick locate
    names = [
        "csi-response-non-ivd-inbound.txt",
        "enf-response-wage-withholding-inbound.txt",
        "col-tax-offset-three-collections-inbound.txt",
        "lo1-response-nothing-found-inbound.txt",
    ]
    # and a transaction with an NCP Locate block full of addresses that is not LO1 P: another
    # state's locate news on a case (MSC P LSADR) is about a case both states work
    news = _variant(
        "lo1-response-address-inbound.txt", header={"functional_type_code": "MSC", "other_case_id": "MO-778899"}
    )
    for name, raw in [*((n, (CSENET / n).read_bytes()) for n in names), ("msc-p-lsadr.txt", news)]:
        result = _take_in(rt, raw, name)
        assert result.good == 1 and not result.duplicate, name
    with session_scope(rt.engine) as session:
        assert session.scalar(select(func.count()).select_from(Address)) == 0
        subjects = session.scalars(select(StagedRecord.subject_bidx).order_by(StagedRecord.id)).all()
        assert not session.get_one(Person, _person(rt)).fvi
    # only the answer that found nothing is about the NCP, as every quick locate answer is
    assert [s is not None for s in subjects] == [False, False, False, True, False]


def test_the_api_asks_the_fcr_and_a_state_at_once(sqlite_url: str, tmp_path: Path) -> None:
    import asyncio
    import hashlib

    import httpx

    from gateway.api.app import create_app
    from gateway.audit.signing import CheckpointSigner
    from gateway.config import Settings

    rt = _runtime(sqlite_url, tmp_path)
    settings = Settings(
        data_dir=tmp_path / "data",
        database_url=sqlite_url,
        api_tokens={hashlib.sha256(b"cw-token").hexdigest(): "caseworker:cw-1"},
    )
    app = create_app(settings, runtime=rt, signer=CheckpointSigner.load(rt.key_dir, create=True))

    async def ask(person_id: int, partners: list[str]) -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://csgate") as client:
            body = {"person_id": person_id, "partners": partners}
            return await client.post(
                f"/cases/{CASE_ID}/locate", json=body, headers={"Authorization": "Bearer cw-token"}
            )

    try:
        done = asyncio.run(ask(_person(rt), ["fcr", "state-mo"]))
        assert done.status_code == 202 and sorted(done.json()) == ["fcr", "state-mo"]
        refused = asyncio.run(ask(_person(rt, "CP"), ["state-mo"]))
        assert refused.status_code == 422 and "noncustodial parent" in refused.json()["detail"]
        assert _exchanges(rt) == 2
    finally:
        rt.engine.dispose()
