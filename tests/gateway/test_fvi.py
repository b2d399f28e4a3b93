"""The Family Violence Indicator set and cleared by hand: who may, what it changes for later
disclosures, and the audit trail. Synthetic fixtures only."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from exchange_kit import cli_settings, runtime
from sqlalchemy import select
from test_cases import ADMIN, CASEWORKER, CP_SSN, NCP_SSN, OTHER_CASEWORKER, _actions, case_line, person

from gateway.cases import disclosure, fvi, registry
from gateway.db.models import Person
from gateway.db.session import session_scope
from gateway.errors import AccessDenied
from gateway.exchanges.runtime import Runtime


@pytest.fixture
def rt(db_url: str, tmp_path: Path) -> Iterator[Runtime]:
    rt = runtime(db_url, tmp_path)
    line = case_line(
        "C-100", "cw-1", person("NCP", NCP_SSN, "ALEX", "TESTER"), person("CP", CP_SSN, "BLAIR", "TESTER", fvi=True)
    )
    registry.import_cases(rt, [(1, line)])
    yield rt
    rt.engine.dispose()


def _ids(rt: Runtime) -> dict[str, int]:
    with session_scope(rt.engine) as session:
        return {p.role: p.id for p in session.scalars(select(Person))}


def _withheld(rt: Runtime) -> set[str]:
    view = disclosure.whereabouts(rt, "C-100", CASEWORKER)
    return {p["role"] for p in view["participants"] if "withheld" in p}


def test_the_caseworker_protects_at_once_and_only_an_admin_with_a_court_order_clears(rt: Runtime) -> None:
    ids = _ids(rt)
    assert _withheld(rt) == {"CP"}
    assert fvi.change(rt, "C-100", ids["NCP"], CASEWORKER, protect=True) is True
    assert _withheld(rt) == {"CP", "NCP"}
    assert fvi.change(rt, "C-100", ids["NCP"], CASEWORKER, protect=True) is False  # already set
    [setting] = _actions(rt, "person.fvi_set")
    assert (setting.actor, setting.subject, setting.detail) == ("test:cw-1", "case:C-100", {"person_id": ids["NCP"]})

    with pytest.raises(AccessDenied, match="only an admin"):
        fvi.change(rt, "C-100", ids["CP"], CASEWORKER, protect=False, court_order="CV-2026-0042")
    with pytest.raises(AccessDenied, match="court order"):
        fvi.change(rt, "C-100", ids["CP"], ADMIN, protect=False)
    with pytest.raises(AccessDenied, match="not the case's caseworker"):
        fvi.change(rt, "C-100", ids["CP"], OTHER_CASEWORKER, protect=True)
    assert len(_actions(rt, "fvi.denied")) == 3 and _withheld(rt) == {"CP", "NCP"}

    assert fvi.change(rt, "C-100", ids["CP"], ADMIN, protect=False, court_order="CV-2026-0042") is True
    assert _withheld(rt) == {"NCP"}  # for every later disclosure, not once
    [cleared] = _actions(rt, "person.fvi_cleared")
    assert cleared.detail == {"person_id": ids["CP"], "court_order": "CV-2026-0042"}
    with pytest.raises(disclosure.CaseNotFound):
        fvi.change(rt, "C-100", 10_000, ADMIN, protect=True)
    with pytest.raises(disclosure.CaseNotFound):
        fvi.change(rt, "C-404", ids["CP"], ADMIN, protect=True)


def test_the_cli_sets_and_clears(sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from gateway.cli import app

    rt = runtime(sqlite_url, tmp_path, key_dir=tmp_path / "data" / "keys")
    line = case_line("C-100", "cw-1", person("CP", CP_SSN, "BLAIR", "TESTER", fvi=True))
    registry.import_cases(rt, [(1, line)])
    cp = _ids(rt)["CP"]
    try:
        with cli_settings(monkeypatch, tmp_path / "data", sqlite_url):
            runner = CliRunner()
            refused = runner.invoke(app, ["cases", "fvi", "C-100", str(cp), "--clear"])
            assert refused.exit_code == 3 and "court order" in refused.stderr
            done = runner.invoke(app, ["cases", "fvi", "C-100", str(cp), "--clear", "--court-order", "CV-2026-7"])
            assert done.exit_code == 0 and "cleared" in done.stderr
            shown = runner.invoke(app, ["cases", "show", "C-100", "--json"])
            [participant] = orjson.loads(shown.stdout)["participants"]
            assert participant["family_violence"] is False and "withheld" not in participant
            assert runner.invoke(app, ["cases", "fvi", "C-100", str(cp)]).exit_code == 0
            assert runner.invoke(app, ["cases", "fvi", "C-404", str(cp)]).exit_code == 2
    finally:
        rt.engine.dispose()
