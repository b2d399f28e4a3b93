"""A caseworker's locate request fanned out to the FCR as an fcr-input file, and the FCR's answer
coming back onto the case through the feed. Synthetic fixtures only."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from exchange_kit import ROOT, load_folder_partner, memory_profile, runtime
from sqlalchemy import select

import adapters
from adapters.base import Parsed
from adapters.canonical import LocateRequest
from gateway.cases import disclosure, locate, registry
from gateway.db.models import AuditEntry, Exchange, ExchangeStatus, Person
from gateway.db.session import session_scope
from gateway.errors import AccessDenied, ConfigError
from gateway.exchanges import intake, outbound
from gateway.exchanges.partners import load_profile
from gateway.exchanges.runtime import Runtime

LOCATED_SSN = "231456789"  # the person of the FCR response fixtures
CASEWORKER = disclosure.Requester("test:cw-1", "caseworker", "cw-1")


@pytest.fixture
def rt(db_url: str, tmp_path: Path) -> Iterator[Runtime]:
    rt = runtime(db_url, tmp_path, chunk_size=50)
    load_folder_partner(rt, "fcr", tmp_path / "fcr", kind="federal", inbound=("fcr-response",), outbound=("fcr-input",))
    load_folder_partner(rt, "sdnh", tmp_path / "sdnh", inbound=("new-hire",))
    ncp = {"role": "NCP", "ssn": LOCATED_SSN, "name": {"first": "DREW", "last": "SAMPLE"}, "dob": "1985-03-14"}
    ncp["member_id"] = "M700"
    case = {"case_id": "C-200", "fips": "2017300", "case_type": "IV-D", "participants": [ncp]}
    registry.import_cases(rt, [(1, {"caseworker": "cw-1", "case": case})])
    yield rt
    rt.engine.dispose()


def _ncp(rt: Runtime) -> int:
    with session_scope(rt.engine) as session:
        return session.scalars(select(Person.id)).one()


def test_a_locate_request_goes_to_the_fcr_and_its_answer_reaches_the_case(rt: Runtime, tmp_path: Path) -> None:
    queued = locate.request(rt, "C-200", _ncp(rt), CASEWORKER, partners=["fcr"], sources=["A01", "H98"])
    profile = load_profile(rt.engine, "fcr", key_dir=rt.key_dir)
    assert outbound.send(rt, profile, queued["fcr"]).status is ExchangeStatus.SENT
    [sent] = (tmp_path / "fcr" / "inbox").iterdir()
    parsed = [r for r in adapters.get("fcr-input").parse(io.BytesIO(sent.read_bytes())) if isinstance(r, Parsed)]
    assert [r.type for r in parsed] == ["input_header", "input_person", "input_trailer"]
    assert parsed[0].data["state_code"] == "20" and parsed[0].data["batch_number"] == "000001"
    wanted = parsed[1].canonical
    assert isinstance(wanted, LocateRequest) and wanted.person.ssn == LOCATED_SSN and wanted.case_id == "C-200"
    assert wanted.person.member_id == "M700"
    assert wanted.sources == ["A01", "H98"] and wanted.purpose.value == "child_support"
    with session_scope(rt.engine) as session:
        [asked] = session.scalars(select(AuditEntry).where(AuditEntry.action == "locate.requested")).all()
    assert asked.actor == "test:cw-1" and asked.detail["exchanges"] == {"fcr": queued["fcr"]}

    answer = ROOT / "fixtures" / "federal" / "fcr-response" / "response-mixed-locate-batch.txt"
    fcr_in, _ = memory_profile("fcr", inbound=("fcr-response",))
    intake.receive(rt, fcr_in, name=answer.name, raw=answer.read_bytes())
    [drew] = disclosure.whereabouts(rt, "C-200", CASEWORKER)["participants"]
    assert {f["kind"] for f in drew["findings"]} >= {"residential", "employer"}


def test_only_whom_the_case_belongs_to_may_ask_and_only_a_locate_partner_takes_it(rt: Runtime) -> None:
    other = disclosure.Requester("test:cw-2", "caseworker", "cw-2")
    with pytest.raises(AccessDenied):
        locate.request(rt, "C-200", _ncp(rt), other, partners=["fcr"])
    with pytest.raises(ConfigError, match="sdnh"):
        locate.request(rt, "C-200", _ncp(rt), CASEWORKER, partners=["fcr", "sdnh"])
    with pytest.raises(ValueError, match="sources"):
        locate.request(rt, "C-200", _ncp(rt), CASEWORKER, partners=["fcr"], sources=["all"])
    with pytest.raises(disclosure.CaseNotFound):
        locate.request(rt, "C-200", 999, CASEWORKER, partners=["fcr"])
    with session_scope(rt.engine) as session:
        session.scalars(select(Person)).one().member_id = None
    with pytest.raises(ValueError, match="member id"):
        locate.request(rt, "C-200", _ncp(rt), CASEWORKER, partners=["fcr"])
    with session_scope(rt.engine) as session:
        assert session.scalars(select(Exchange)).all() == []  # nothing queued by a refused request
        denied = session.scalars(select(AuditEntry).where(AuditEntry.action == "locate.denied")).all()
    assert [d.detail["why"] for d in denied] == ["not the case's caseworker"]
