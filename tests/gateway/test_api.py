"""The HTTP API: health, readiness, metrics, bearer-token roles (refusals audited), the exchange
log, dead-letter retry and quarantine reprocessing."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from exchange_kit import FAST, fixture, load_folder_partner, memory_profile, runtime
from sqlalchemy import select

from gateway.api.app import create_app
from gateway.api.server import running
from gateway.audit.signing import CheckpointSigner
from gateway.config import Settings
from gateway.db import migrate
from gateway.db.models import AuditEntry, ExchangeStatus
from gateway.db.session import session_scope
from gateway.errors import RetriableTransportError
from gateway.exchanges import intake, outbound
from gateway.exchanges.partners import load_profile
from gateway.exchanges.runtime import Runtime

TOKENS = {"admin-token": "admin", "operator-token": "operator", "auditor-token": "auditor"}
CASEWORKER_TOKEN = {"caseworker-token": "caseworker:cw-1"}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def rt(sqlite_url: str, tmp_path: Path) -> Iterator[Runtime]:
    rt = runtime(sqlite_url, tmp_path)
    load_folder_partner(rt, "acme", tmp_path / "acme", outbound=("nacha-ded",))
    yield rt
    rt.engine.dispose()


@pytest.fixture
def client(rt: Runtime, tmp_path: Path) -> Iterator[httpx.Client]:
    """The app served by a real uvicorn on a free port of 127.0.0.1, and a client for it."""
    settings = Settings(
        data_dir=tmp_path / "data",
        database_url=str(rt.engine.url),
        api_tokens={hashlib.sha256(t.encode()).hexdigest(): role for t, role in {**TOKENS, **CASEWORKER_TOKEN}.items()},
    )
    signer = CheckpointSigner.load(rt.key_dir, create=True)
    with running(create_app(settings, runtime=rt, signer=signer)) as url, httpx.Client(base_url=url, timeout=20) as c:
        yield c


def test_health_and_readiness(client: httpx.Client, rt: Runtime, sqlite_url: str) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["checks"] == {"database": "ok", "migrations": "ok", "keys": "ok"}
    migrate.downgrade(sqlite_url, "0001")
    stale = client.get("/readyz")
    assert stale.status_code == 503 and f"need {migrate.head()}" in stale.json()["checks"]["migrations"]


def test_metrics_expose_counters_and_database_gauges(client: httpx.Client, rt: Runtime) -> None:
    profile, _ = memory_profile("acme")
    intake.receive(rt, profile, name="x.ach", raw=fixture("invalid-check-digit.ach"))
    body = client.get("/metrics").text
    assert 'csgate_files_total{direction="inbound",outcome="partial",partner="acme"}' in body
    assert 'csgate_rejects_total{partner="acme"}' in body
    for gauge in ("csgate_queue_depth", "csgate_dead_letters", "csgate_overdue_acks", "csgate_quarantined_files"):
        assert f"\n{gauge}" in body
    assert "212345671" not in body


def test_tokens_and_roles(client: httpx.Client, rt: Runtime) -> None:
    assert client.get("/exchanges").status_code == 401
    assert client.get("/exchanges", headers=bearer("guess")).status_code == 401
    for token in TOKENS:
        assert client.get("/exchanges", headers=bearer(token)).status_code == 200
    assert client.get("/audit/verify", headers=bearer("operator-token")).status_code == 403
    refused = client.post("/exchanges/retry-dead", headers=bearer("auditor-token"))
    assert refused.status_code == 403
    with session_scope(rt.engine) as session:
        denied = session.scalars(select(AuditEntry).where(AuditEntry.action == "access.denied")).all()
    assert [(e.subject, e.detail["right"]) for e in denied] == [
        ("api:GET /audit/verify", "audit"),
        ("api:POST /exchanges/retry-dead", "act"),
    ]
    assert all("token" not in e.actor for e in denied)
    # a caseworker reads cases, not the exchange log
    assert client.get("/exchanges", headers=bearer("caseworker-token")).status_code == 403


def test_an_unknown_role_in_the_settings_is_refused(tmp_path: Path) -> None:
    for role in ("root", "caseworker:", "caseworker:has space"):
        with pytest.raises(ValueError, match="unknown API role"):
            Settings(data_dir=tmp_path, api_tokens={"0" * 64: role})


def test_case_whereabouts_for_the_cases_caseworker_only(client: httpx.Client, rt: Runtime) -> None:
    from gateway.cases import registry

    def case(case_id: str, caseworker: str, ssn: str) -> dict[str, object]:
        ncp = {"role": "NCP", "ssn": ssn, "name": {"first": "ALEX", "last": "TESTER"}}
        return {
            "caseworker": caseworker,
            "case": {"case_id": case_id, "fips": "0200000", "case_type": "IV-D", "participants": [ncp]},
        }

    registry.import_cases(rt, [(1, case("C-1", "cw-1", "212345671")), (2, case("C-2", "cw-2", "401223344"))])
    mine = client.get("/cases/C-1/whereabouts", headers=bearer("caseworker-token"))
    assert mine.status_code == 200 and mine.json()["participants"][0]["ssn_last4"] == "5671"
    assert client.get("/cases/C-2/whereabouts", headers=bearer("caseworker-token")).status_code == 403
    assert client.get("/cases/C-1/whereabouts", headers=bearer("operator-token")).status_code == 403
    assert client.get("/cases/C-1/whereabouts").status_code == 401
    assert client.get("/cases/C-9/whereabouts", headers=bearer("admin-token")).status_code == 404
    lifted = client.get("/cases/C-2/whereabouts", params={"court_order": "CV-2026-7"}, headers=bearer("admin-token"))
    assert lifted.status_code == 200
    person_id = mine.json()["participants"][0]["person_id"]
    ask = {"person_id": person_id, "partners": ["acme"]}  # acme sends NACHA: no locate partner
    assert client.post("/cases/C-1/locate", json=ask, headers=bearer("caseworker-token")).status_code == 422
    assert client.post("/cases/C-2/locate", json=ask, headers=bearer("caseworker-token")).status_code == 403
    bad = client.post("/cases/C-1/locate", json={**ask, "sources": ["all"]}, headers=bearer("caseworker-token"))
    assert bad.status_code == 422 and "sources" in bad.json()["detail"]

    with session_scope(rt.engine) as session:
        entries = session.scalars(
            select(AuditEntry).where(AuditEntry.action.like("disclosure%")).order_by(AuditEntry.seq)
        )
        actions = [(e.action, e.actor.split(":")[1]) for e in entries]
    assert actions == [
        ("disclosure", "caseworker"),
        ("disclosure.denied", "caseworker"),
        ("disclosure.denied", "operator"),
        ("disclosure", "admin"),
    ]
    fvi = f"/cases/C-1/participants/{person_id}/fvi"
    assert client.post(fvi, json={"protect": True}, headers=bearer("caseworker-token")).json() == {"changed": True}
    shielded = client.get("/cases/C-1/whereabouts", headers=bearer("caseworker-token")).json()["participants"][0]
    assert shielded["withheld"] == "family_violence"
    clear = {"protect": False, "court_order": "CV-2026-9"}
    assert client.post(fvi, json=clear, headers=bearer("caseworker-token")).status_code == 403  # an admin's call
    assert client.post(fvi, json=clear, headers=bearer("admin-token")).json() == {"changed": True}
    assert client.post("/cases/C-1/participants/999/fvi", json=clear, headers=bearer("admin-token")).status_code == 404


def test_exchange_log_and_dead_letter_retry(client: httpx.Client, rt: Runtime) -> None:
    profile, store = memory_profile("acme", outbound="nacha-ded")
    parsed = intake.receive(rt, profile, name="pay.ach", raw=fixture("ded-five-cases.ach"))
    import io

    import adapters
    from adapters.base import Parsed

    records = [
        {"type": r.type, "data": r.data}
        for r in adapters.get("nacha-ded").parse(io.BytesIO(fixture("ded-single-payment.ach")))
        if isinstance(r, Parsed)
    ]
    exchange_id = outbound.queue(rt, profile, records=records)
    store.fail_next(FAST.attempts, RetriableTransportError("down", code="CONNECTION_REFUSED"))
    outbound.send(rt, profile, exchange_id)

    rows = client.get("/exchanges", headers=bearer("auditor-token")).json()
    assert [(r["id"], r["status"]) for r in rows] == [(exchange_id, "dead_letter"), (parsed.exchange_id, "processed")]
    dead = client.get("/exchanges?status=dead_letter", headers=bearer("auditor-token")).json()
    assert [r["id"] for r in dead] == [exchange_id]
    detail = client.get(f"/exchanges/{parsed.exchange_id}", headers=bearer("auditor-token")).json()
    assert detail["records"] == parsed.good and detail["rejects_by_code"] == {}
    assert client.get("/exchanges/999", headers=bearer("auditor-token")).status_code == 404
    alerts = client.get("/exchanges/alerts", headers=bearer("operator-token")).json()
    assert [a["kind"] for a in alerts] == ["dead_letter"]

    retried = client.post(f"/exchanges/{exchange_id}/retry", headers=bearer("operator-token"))
    assert retried.status_code == 202 and retried.json()["exchanges"] == [exchange_id]
    assert client.post(f"/exchanges/{exchange_id}/retry", headers=bearer("operator-token")).status_code == 409
    assert outbound.push(rt, profile)[0].status is ExchangeStatus.SENT
    with session_scope(rt.engine) as session:
        actors = session.scalars(select(AuditEntry.actor).where(AuditEntry.action == "exchange.retry")).all()
    assert len(actors) == 1 and actors[0].startswith("api:operator:")


def test_quarantine_list_and_release(client: httpx.Client, rt: Runtime) -> None:
    profile = load_profile(rt.engine, "acme", key_dir=rt.key_dir, retry=FAST)
    held = intake.receive(rt, profile, name="bad.ach", raw=fixture("invalid-credit-total.ach"))
    [entry] = client.get("/quarantine", headers=bearer("auditor-token")).json()
    assert (entry["exchange_id"], entry["reason_code"]) == (held.exchange_id, "BATCH_CREDIT_TOTAL")
    assert client.get(f"/quarantine/{entry['id']}", headers=bearer("auditor-token")).json()["sha256"] == held.sha256
    assert client.post(f"/quarantine/{entry['id']}/release", headers=bearer("auditor-token")).status_code == 403
    again = client.post(f"/quarantine/{entry['id']}/reprocess", headers=bearer("operator-token")).json()
    assert again["status"] == "quarantined"  # same file, same configuration: held again
    released = client.post(f"/quarantine/{entry['id']}/release", headers=bearer("operator-token")).json()
    assert released["status"] == "partial" and released["good"] > 0
    assert client.get("/quarantine", headers=bearer("auditor-token")).json() == []


def test_audit_verify_endpoint(client: httpx.Client, rt: Runtime) -> None:
    profile, _ = memory_profile("acme")
    intake.receive(rt, profile, name="pay.ach", raw=fixture("ded-five-cases.ach"))
    from gateway.audit import log as audit

    with session_scope(rt.engine) as session:
        audit.checkpoint(session, CheckpointSigner.load(rt.key_dir))
    report = client.get("/audit/verify?entry=0", headers=bearer("auditor-token")).json()
    assert report["ok"] and report["inclusion"]["included"]
