"""Cases: the registry import, the feed of partner findings into it, and the disclosure of those
findings to whom the case belongs, with the Family Violence Indicator blocking and every read audited.
Synthetic fixtures only (new-hire, FCR response, NDNH QW)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from exchange_kit import ROOT, add_partner, cli_settings, memory_profile, runtime
from sqlalchemy import select, update

from gateway.cases import disclosure, feed, registry
from gateway.db.models import Address, AuditEntry, Exchange, Person
from gateway.db.session import session_scope
from gateway.errors import AccessDenied
from gateway.exchanges import intake
from gateway.exchanges.runtime import Runtime
from gateway.exchanges.scheduler import Scheduler

NEW_HIRES = ROOT / "fixtures" / "employer" / "new-hire" / "nh-five-employees.txt"  # SSNs below, in order
FCR = ROOT / "fixtures" / "federal" / "fcr-response"
QW = ROOT / "fixtures" / "labor" / "ndnh-qw" / "qw-single-employer.txt"
NCP_SSN, CP_SSN, OTHER_SSN = "212345671", "401223344", "523456789"
LOCATED_SSN = "231456789"  # the person of the FCR response fixtures

CASEWORKER = disclosure.Requester("test:cw-1", "caseworker", "cw-1")
OTHER_CASEWORKER = disclosure.Requester("test:cw-2", "caseworker", "cw-2")
ADMIN = disclosure.Requester("test:admin", "admin")


def person(role: str, ssn: str | None, first: str, last: str, *, fvi: bool = False) -> dict[str, Any]:
    p: dict[str, Any] = {"role": role, "name": {"first": first, "last": last}, "family_violence": fvi}
    if ssn:
        p["ssn"] = ssn
    return p


def case_line(case_id: str, caseworker: str | None, *people: dict[str, Any]) -> dict[str, Any]:
    case = {"case_id": case_id, "fips": "0200000", "case_type": "IV-D", "participants": list(people)}
    return {"caseworker": caseworker, "case": case}


@pytest.fixture
def rt(db_url: str, tmp_path: Path) -> Iterator[Runtime]:
    rt = runtime(db_url, tmp_path, chunk_size=50)
    add_partner(rt, "sdnh")
    add_partner(rt, "fcr", kind="federal")
    registry.import_cases(
        rt,
        enumerate(
            [
                case_line(
                    "C-100",
                    "cw-1",
                    person("NCP", NCP_SSN, "ALEX", "TESTER"),
                    person("CP", CP_SSN, "BLAIR", "TESTER", fvi=True),
                    person("CHILD", None, "CASEY", "TESTER"),
                ),
                case_line("C-200", "cw-2", person("NCP", LOCATED_SSN, "DREW", "SAMPLE")),
            ],
            start=1,
        ),
    )
    yield rt
    rt.engine.dispose()


def _actions(rt: Runtime, action: str) -> list[AuditEntry]:
    with session_scope(rt.engine) as session:
        return list(session.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq)))


def _take_in(rt: Runtime, partner: str, fmt: str, path: Path) -> int:
    profile, _ = memory_profile(partner, inbound=(fmt,))
    result = intake.receive(rt, profile, name=path.name, raw=path.read_bytes())
    assert result.good > 0 and not result.duplicate, result
    return result.exchange_id


def test_the_extract_loads_valid_lines_and_names_each_bad_one_without_its_values(rt: Runtime) -> None:
    lines: list[tuple[int, Any]] = [
        (1, case_line("C-300", "cw-3", person("NCP", "345678912", "EVAN", "EXAMPLE"))),
        (2, None),  # not JSON
        (3, case_line("C-301", None, person("NCP", "666123456", "FAY", "EXAMPLE"))),  # SSA rules refuse 666
        (4, {"caseworker": "cw-3", "case": {"fips": "0200000", "case_type": "IV-D"}}),
        (5, case_line("C-302", "cw-3", {"name": {"first": "GALE", "last": "EXAMPLE"}})),
    ]
    report = registry.import_cases(rt, lines)
    assert (report.cases_added, report.persons_added) == (1, 1)
    assert [(e.line, e.code) for e in report.errors] == [
        (2, "CASE_LINE"),
        (3, "CASE_INVALID"),
        (4, "CASE_INCOMPLETE"),
        (5, "PARTICIPANT_ROLE"),
    ]
    assert report.errors[1].message.startswith("case.participants.0.ssn:")
    assert all("666123456" not in e.message and "FAY" not in e.message for e in report.errors)
    with session_scope(rt.engine) as session:
        stored = session.scalars(select(Person)).all()
        assert all(b"EVAN" not in (p.first_name_enc or b"") and b"345678912" not in (p.ssn_enc or b"") for p in stored)


def test_a_new_extract_updates_participants_in_place_and_never_clears_the_fvi(rt: Runtime) -> None:
    with session_scope(rt.engine) as session:
        before = {(p.case_id, p.role): (p.id, p.fvi) for p in session.scalars(select(Person))}
    again = case_line(
        "C-100",
        "cw-1",
        person("NCP", NCP_SSN, "ALEX", "TESTER-JONES"),
        person("CP", CP_SSN, "BLAIR", "TESTER"),  # the extract no longer carries the FVI
        person("CHILD", None, "CASEY", "TESTER"),
    )
    report = registry.import_cases(rt, [(1, again)])
    assert (report.cases_updated, report.persons_added, report.persons_updated) == (1, 0, 3)
    with session_scope(rt.engine) as session:
        after = {(p.case_id, p.role): (p.id, p.fvi) for p in session.scalars(select(Person))}
    assert after == before and after[1, "CP"][1] is True


def test_new_hires_reach_the_matched_participants_once(rt: Runtime) -> None:
    exchange_id = _take_in(rt, "sdnh", "new-hire", NEW_HIRES)
    with session_scope(rt.engine) as session:
        assert session.get_one(Exchange, exchange_id).fed_at is not None
        rows = session.execute(select(Person.role, Address.kind, Address.source).join(Address)).all()
    # five new hires, two of them case participants (the NCP and the CP): each brings the employer and
    # the employee's home address
    assert sorted(rows) == [(role, kind, "new-hire") for role in ("CP", "NCP") for kind in ("employer", "residential")]
    [entry] = _actions(rt, "case_feed.applied")
    assert entry.detail == {
        "exchange_id": exchange_id,
        "matched": 2,
        "findings": 4,
        "fvi_set": 0,
        "iwos": 0,
        "answers": 0,
    }

    assert feed.feed(rt, exchange_id) is None  # fed already
    with session_scope(rt.engine) as session:
        session.execute(update(Exchange).where(Exchange.id == exchange_id).values(fed_at=None))
    again = feed.feed(rt, exchange_id)
    assert again is not None and again.matched == 2 and again.findings == 0  # the same findings are not stored twice


def test_locate_results_bring_addresses_employers_and_income_and_an_fvi_block_sets_the_flag(rt: Runtime) -> None:
    _take_in(rt, "fcr", "fcr-response", FCR / "response-mixed-locate-batch.txt")
    view = disclosure.whereabouts(rt, "C-200", OTHER_CASEWORKER)
    [drew] = view["participants"]
    kinds = sorted(f["kind"] for f in drew["findings"])
    assert "employer" in kinds and "ui_benefit" in kinds and "residential" in kinds
    assert all(f["source"].startswith("fcr-response") for f in drew["findings"])
    assert drew["family_violence"] is False

    _take_in(rt, "fcr", "fcr-response", FCR / "response-ff-family-violence-blocked.txt")
    with session_scope(rt.engine) as session:
        assert session.scalars(select(Person.fvi).where(Person.role == "NCP", Person.case_id == 2)).one() is True
    [flagged] = _actions(rt, "person.fvi_set")
    assert flagged.subject.startswith("exchange:") and len(flagged.detail["person_ids"]) == 1
    blocked = disclosure.whereabouts(rt, "C-200", OTHER_CASEWORKER)["participants"][0]
    assert blocked["withheld"] == "family_violence" and "findings" not in blocked


def test_wage_records_give_the_employer_with_the_quarters_wages(rt: Runtime) -> None:
    _take_in(rt, "sdnh", "ndnh-qw", QW)
    ncp = next(p for p in disclosure.whereabouts(rt, "C-100", CASEWORKER)["participants"] if p["role"] == "NCP")
    [employer] = ncp["findings"]
    assert employer["kind"] == "employer" and employer["source"] == "ndnh-qw"
    assert employer["reported"]["reported_wages"][0]["amount"] and employer["as_of"]


def test_disclosure_goes_to_the_cases_caseworker_withholds_the_protected_and_is_audited(rt: Runtime) -> None:
    _take_in(rt, "sdnh", "new-hire", NEW_HIRES)
    view = disclosure.whereabouts(rt, "C-100", CASEWORKER)
    by_role = {p["role"]: p for p in view["participants"]}
    assert by_role["NCP"]["ssn_last4"] == NCP_SSN[-4:] and "ssn" not in by_role["NCP"]
    assert sorted(f["reported"]["kind"] for f in by_role["NCP"]["findings"]) == ["address", "employer"]
    assert by_role["CP"] == {**by_role["CP"], "withheld": "family_violence", "family_violence": True}
    assert "findings" not in by_role["CP"] and NCP_SSN not in orjson.dumps(view).decode()
    [shown] = _actions(rt, "disclosure")
    [block] = _actions(rt, "disclosure.blocked")
    assert shown.actor == "test:cw-1" and shown.detail["findings"] == 2
    assert block.detail == {"person_ids": [by_role["CP"]["person_id"]], "reason": "family_violence"}

    with pytest.raises(AccessDenied, match="not the case's caseworker"):
        disclosure.whereabouts(rt, "C-100", OTHER_CASEWORKER)
    with pytest.raises(AccessDenied, match="only an admin"):
        disclosure.whereabouts(rt, "C-100", CASEWORKER, override="CV-2026-0042")
    with pytest.raises(AccessDenied, match="may not read"):
        disclosure.whereabouts(rt, "C-100", disclosure.Requester("test:ops", "operator"))
    assert [d.detail["role"] for d in _actions(rt, "disclosure.denied")] == ["caseworker", "caseworker", "operator"]
    with pytest.raises(disclosure.CaseNotFound):
        disclosure.whereabouts(rt, "C-999", ADMIN)

    lifted = disclosure.whereabouts(rt, "C-100", ADMIN, override="CV-2026-0042")
    cp = next(p for p in lifted["participants"] if p["role"] == "CP")
    assert sorted(f["kind"] for f in cp["findings"]) == ["employer", "residential"]
    [override] = _actions(rt, "disclosure.fvi_override")
    assert override.detail == {"person_ids": [cp["person_id"]], "court_order": "CV-2026-0042"}


def test_a_feed_that_failed_after_intake_is_caught_up_by_housekeeping(
    rt: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = feed.feed

    def broken(rt: Runtime, exchange_id: int) -> None:
        raise RuntimeError("database went away")

    monkeypatch.setattr(feed, "feed", broken)
    exchange_id = _take_in(rt, "sdnh", "new-hire", NEW_HIRES)  # the file is taken in all the same
    with session_scope(rt.engine) as session:
        assert session.get_one(Exchange, exchange_id).fed_at is None
    monkeypatch.setattr(feed, "feed", real)
    Scheduler(rt, {}).housekeeping()
    with session_scope(rt.engine) as session:
        assert session.get_one(Exchange, exchange_id).fed_at is not None
        assert len(session.scalars(select(Address)).all()) == 4


def test_the_cli_loads_an_extract_and_shows_a_case(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from gateway.cli import app

    rt = runtime(sqlite_url, tmp_path, key_dir=tmp_path / "data" / "keys")
    add_partner(rt, "sdnh")
    extract = tmp_path / "cases.jsonl"
    good = case_line(
        "C-100", "cw-1", person("NCP", NCP_SSN, "ALEX", "TESTER"), person("CP", CP_SSN, "BLAIR", "TESTER", fvi=True)
    )
    bad = case_line("C-101", "cw-1", person("NCP", "000123456", "FAY", "EXAMPLE"))
    extract.write_bytes(orjson.dumps(good) + b"\n" + orjson.dumps(bad) + b"\n{not json\n")
    try:
        with cli_settings(monkeypatch, tmp_path / "data", sqlite_url):
            runner = CliRunner()
            loaded = runner.invoke(app, ["cases", "import", str(extract), "--json"])
            assert loaded.exit_code == 1  # some lines rejected, the rest loaded
            assert orjson.loads(loaded.stdout.splitlines()[0])["cases_added"] == 1
            assert "line 2: CASE_INVALID" in loaded.stderr and "line 3: CASE_LINE" in loaded.stderr
            assert "000123456" not in loaded.output

            _take_in(rt, "sdnh", "new-hire", NEW_HIRES)
            shown = runner.invoke(app, ["cases", "show", "C-100"])
            assert shown.exit_code == 0 and "withheld: family violence indicator" in shown.stdout
            assert "NCP ALEX TESTER (SSN ...5671)" in shown.stdout and NCP_SSN not in shown.stdout
            assert runner.invoke(app, ["cases", "show", "C-404"]).exit_code == 2
            assert runner.invoke(app, ["cases", "show", "C-100", "--court-order", "x"]).exit_code == 3
            assert runner.invoke(app, ["cases", "feed", "--json"]).stdout == ""  # intake fed it already

            token = runner.invoke(app, ["api", "token", "--role", "caseworker", "--caseworker", "cw-1"])
            assert token.exit_code == 0 and '"caseworker:cw-1"' in token.stdout
            assert runner.invoke(app, ["api", "token", "--role", "admin", "--caseworker", "cw-1"]).exit_code != 0
    finally:
        rt.engine.dispose()


def test_payments_are_marked_fed_without_reading_their_records_back(
    rt: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    def never(*args: object) -> None:
        raise AssertionError("a payments file has nothing for the case feed to read")

    monkeypatch.setattr(feed, "decode_record", never)
    exchange_id = _take_in(rt, "sdnh", "nacha-ded", ROOT / "fixtures" / "employer" / "nacha-ded" / "ded-five-cases.ach")
    with session_scope(rt.engine) as session:
        assert session.get_one(Exchange, exchange_id).fed_at is not None


def test_a_participant_added_later_gets_what_earlier_files_reported(rt: Runtime) -> None:
    _take_in(rt, "sdnh", "new-hire", NEW_HIRES)  # OTHER_SSN is a new hire of this file, on no case yet
    report = registry.import_cases(rt, [(1, case_line("C-300", "cw-1", person("NCP", OTHER_SSN, "EVAN", "SAMPLE")))])
    assert (report.persons_added, report.backfilled) == (1, 2)  # the employer and the home address
    [evan] = disclosure.whereabouts(rt, "C-300", CASEWORKER)["participants"]
    assert sorted(f["kind"] for f in evan["findings"]) == ["employer", "residential"]
    [entry] = _actions(rt, "case_feed.backfilled")
    assert entry.detail["person_ids"] == [evan["person_id"]] and entry.detail["findings"] == 2
    again = registry.import_cases(rt, [(1, case_line("C-300", "cw-1", person("NCP", OTHER_SSN, "EVAN", "SAMPLE")))])
    assert (again.persons_updated, again.backfilled) == (1, 0)  # not new: nothing to give again
