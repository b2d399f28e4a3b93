"""The web console, served by a real uvicorn on 127.0.0.1: sign-in and sign-out with API tokens, the
session cookie (flags, expiry, revocation, forgery), CSRF, each role's pages and actions as the API's
rights allow, the audit entries its actions leave, and the caseworker's view of their own cases with
the Family Violence Indicator withholding. Synthetic fixtures only."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from exchange_kit import (
    FAST,
    ROOT,
    add_partner,
    fixture,
    load_folder_partner,
    memory_profile,
    parsed_records,
    receipt_rule,
    runtime,
)
from fastapi import FastAPI
from sqlalchemy import select

from gateway.api.app import create_app
from gateway.api.server import running
from gateway.audit import log as audit
from gateway.audit.signing import CheckpointSigner
from gateway.cases import disclosure, iwo, registry
from gateway.config import Settings
from gateway.console import create_console
from gateway.console.session import ABSOLUTE_SECONDS, COOKIE, IDLE_SECONDS
from gateway.console.throttle import MAX_FAILURES, WINDOW_SECONDS
from gateway.db.models import AuditEntry, Exchange, ExchangeStatus, IwoNotice, Person
from gateway.db.session import session_scope
from gateway.errors import RetriableTransportError
from gateway.exchanges import intake, outbound, service
from gateway.exchanges.partners import load_profile
from gateway.exchanges.runtime import Runtime
from gateway.observability import contains_pii

TOKENS = {
    "admin-token": "admin",
    "operator-token": "operator",
    "auditor-token": "auditor",
    "cw1-token": "caseworker:cw-1",
    "cw2-token": "caseworker:cw-2",
}
NEW_HIRES = ROOT / "fixtures" / "employer" / "new-hire" / "nh-five-employees.txt"  # reports NCP_SSN and CP_SSN
NCP_SSN, CP_SSN, OTHER_SSN = "212345671", "401223344", "523456789"
READ_PAGES = ("/", "/exchanges", "/dead-letters", "/quarantine", "/work", "/alerts", "/withholding")


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def settings_for(rt: Runtime, tokens: dict[str, str] = TOKENS) -> Settings:
    return Settings(
        data_dir=rt.data_dir,
        key_dir=rt.key_dir,
        database_url=str(rt.engine.url),
        api_tokens={digest(t): role for t, role in tokens.items()},
    )


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "page has no CSRF field"
    return found[1]


class Browser:
    """An httpx client that keeps cookies like a browser and signs in through the form."""

    def __init__(self, base_url: str, **kwargs: Any) -> None:
        self.http = httpx.Client(base_url=base_url, timeout=20, follow_redirects=False, **kwargs)

    def sign_in(self, token: str, next_page: str = "/") -> httpx.Response:
        form = self.http.get("/console/login")
        return self.http.post("/console/login", data={"token": token, "csrf": csrf_of(form.text), "next": next_page})

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.http.get(f"/console{path}", **kwargs)

    def post(self, path: str, data: dict[str, str] | None = None) -> httpx.Response:
        return self.http.post(f"/console{path}", data=data or {})

    def act(self, path: str, data: dict[str, str] | None = None) -> httpx.Response:
        """POST a form the way a page does: with the CSRF token of the session, read from its home page."""
        token = csrf_of(self.get("/", follow_redirects=True).text)
        return self.post(path, {"csrf": token, **(data or {})})

    def session_cookie(self) -> str | None:
        return self.http.cookies.get(COOKIE, path="/console")

    def close(self) -> None:
        self.http.close()


@pytest.fixture
def rt(sqlite_url: str, tmp_path: Path) -> Iterator[Runtime]:
    rt = runtime(sqlite_url, tmp_path)
    load_folder_partner(rt, "acme", tmp_path / "acme", outbound=("nacha-ded",))
    yield rt
    rt.engine.dispose()


@pytest.fixture
def signer(rt: Runtime) -> CheckpointSigner:
    return CheckpointSigner.load(rt.key_dir, create=True)


@pytest.fixture
def base_url(rt: Runtime, signer: CheckpointSigner) -> Iterator[str]:
    with running(create_app(settings_for(rt), runtime=rt, signer=signer)) as url:
        yield url


@pytest.fixture
def browser(base_url: str) -> Iterator[Browser]:
    b = Browser(base_url)
    yield b
    b.close()


def entries(rt: Runtime, action: str) -> list[AuditEntry]:
    with session_scope(rt.engine) as session:
        return list(session.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq)))


def all_audit_text(rt: Runtime) -> str:
    with session_scope(rt.engine) as session:
        return " ".join(f"{e.actor} {e.subject} {e.detail}" for e in session.scalars(select(AuditEntry)))


def dead_letter(rt: Runtime, source: str = "ded-single-payment.ach") -> int:
    """An outbound exchange to acme, of the records of fixture ``source``, that exhausted its retries
    (the same records again would be the same exchange)."""
    profile, store = memory_profile("acme", outbound="nacha-ded")
    records = [{"type": r["type"], "data": r["data"]} for r in parsed_records("nacha-ded", fixture(source))]
    exchange_id = outbound.queue(rt, profile, records=records)
    store.fail_next(FAST.attempts, RetriableTransportError("down", code="CONNECTION_REFUSED"))
    outbound.send(rt, profile, exchange_id)
    return exchange_id


def ids(page: httpx.Response) -> list[int]:
    """The exchanges a list page shows, in its order."""
    return [int(i) for i in re.findall(r'<tr id="exchange-(\d+)"', page.text)]


def status_of(rt: Runtime, exchange_id: int) -> ExchangeStatus:
    with session_scope(rt.engine) as session:
        return session.get_one(Exchange, exchange_id).status


def person(role: str, ssn: str, first: str, last: str, *, fvi: bool = False) -> dict[str, Any]:
    return {"role": role, "ssn": ssn, "name": {"first": first, "last": last}, "family_violence": fvi}


def load_cases(rt: Runtime) -> None:
    """C-100 for cw-1 (the CP protected by the FVI), C-200 for cw-2; the new-hire file reports on both
    of C-100's parents, so each has findings to show or withhold."""
    lines = [
        {
            "caseworker": "cw-1",
            "case": {
                "case_id": "C-100",
                "fips": "0200000",
                "case_type": "IV-D",
                "participants": [
                    person("NCP", NCP_SSN, "ALEX", "TESTER"),
                    person("CP", CP_SSN, "BLAIR", "TESTER", fvi=True),
                ],
            },
        },
        {
            "caseworker": "cw-2",
            "case": {
                "case_id": "C-200",
                "fips": "0200000",
                "case_type": "IV-D",
                "participants": [person("NCP", OTHER_SSN, "DREW", "SAMPLE")],
            },
        },
    ]
    registry.import_cases(rt, enumerate(lines, start=1))
    add_partner(rt, "sdnh")
    profile, _ = memory_profile("sdnh", inbound=("new-hire",))
    assert intake.receive(rt, profile, name=NEW_HIRES.name, raw=NEW_HIRES.read_bytes()).good > 0


# --- sign-in, the cookie, sign-out ---------------------------------------------------------------


def test_signing_in_sets_an_httponly_strict_cookie_that_names_the_token_by_fingerprint_only(
    browser: Browser, rt: Runtime
) -> None:
    form = browser.get("/login")
    assert form.status_code == 200 and 'type="password"' in form.text
    signed_in = browser.sign_in("operator-token", next_page="/exchanges")
    assert signed_in.status_code == 303 and signed_in.headers["location"] == "/console/exchanges"
    [cookie] = [c for c in signed_in.headers.get_list("set-cookie") if c.startswith(f"{COOKIE}=")]
    flags = {part.strip().split("=")[0].lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "samesite", "path", "max-age"} <= flags and "secure" not in flags  # plain http here
    assert "samesite=strict" in cookie.lower() and "path=/console" in cookie.lower()
    value = browser.session_cookie()
    assert value and "operator-token" not in value and "operator" not in value
    assert browser.get("/exchanges").status_code == 200
    [signin] = entries(rt, "console.signin")
    assert signin.actor == f"console:operator:{digest('operator-token')[:12]}" and signin.detail == {"role": "operator"}


def test_the_cookie_is_secure_when_the_request_came_over_https(base_url: str) -> None:
    # uvicorn trusts X-Forwarded-Proto from 127.0.0.1, as from a TLS-terminating proxy in front of it
    b = Browser(base_url, headers={"X-Forwarded-Proto": "https"})
    try:
        cookie = next(c for c in b.sign_in("auditor-token").headers.get_list("set-cookie") if c.startswith(COOKIE))
        assert "; secure" in cookie.lower()
    finally:
        b.close()


def test_a_failed_sign_in_is_audited_without_what_was_typed(browser: Browser, rt: Runtime) -> None:
    refused = browser.sign_in("guess-0f-a-t0ken")
    assert refused.status_code == 401 and "not recognised" in refused.text
    assert browser.session_cookie() is None
    no_form = browser.post("/login", {"token": "operator-token", "csrf": "x"})  # no sign-in form behind it
    assert no_form.status_code == 403 and browser.session_cookie() is None
    assert [e.detail["reason"] for e in entries(rt, "console.signin_failed")] == ["unknown token", "csrf"]
    assert all(e.actor == "console:anonymous" for e in entries(rt, "console.signin_failed"))
    text = all_audit_text(rt)
    assert "guess-0f-a-t0ken" not in text and "operator-token" not in text


def test_pages_send_a_signed_out_visitor_to_the_sign_in_form_and_back(browser: Browser) -> None:
    to_form = browser.get("/dead-letters")
    assert to_form.status_code == 303 and to_form.headers["location"] == "/console/login?next=%2Fdead-letters"
    back = browser.sign_in("operator-token", next_page="/dead-letters")
    assert back.headers["location"] == "/console/dead-letters"
    elsewhere = Browser(str(browser.http.base_url))
    try:
        assert elsewhere.sign_in("operator-token", next_page="//evil.example/x").headers["location"] == "/console/"
    finally:
        elsewhere.close()


def test_signing_out_needs_the_csrf_token_and_ends_the_session(browser: Browser, rt: Runtime) -> None:
    browser.sign_in("auditor-token")
    assert browser.post("/logout").status_code == 403  # a cross-site form could not sign anyone out
    assert browser.get("/").status_code == 200
    out = browser.act("/logout")
    assert out.status_code == 303 and out.headers["location"] == "/console/login"
    assert browser.session_cookie() is None
    assert browser.get("/").status_code == 303
    assert [e.actor.split(":")[1] for e in entries(rt, "console.signout")] == ["auditor"]


def test_a_copy_of_a_signed_out_sessions_cookie_is_refused(browser: Browser, rt: Runtime) -> None:
    browser.sign_in("operator-token")
    copy = browser.session_cookie()
    assert copy
    assert browser.act("/logout").status_code == 303
    thief = Browser(str(browser.http.base_url))
    try:
        thief.http.cookies.set(COOKIE, copy, path="/console")
        ended = thief.get("/exchanges")
        assert ended.status_code == 303 and "ended=1" in ended.headers["location"]
    finally:
        thief.close()
    [refused] = entries(rt, "console.session_refused")
    assert refused.detail == {"reason": "signed out"} and refused.actor.startswith("console:operator:")
    browser.sign_in("operator-token")  # a new session of the same token is another id: it works
    assert browser.get("/").status_code == 200


def test_failed_sign_ins_from_one_address_are_throttled_and_audited_once(rt: Runtime) -> None:
    now = [1_800_000_000.0]
    console = create_console(settings_for(rt), runtime=rt, clock=lambda: now[0])
    app = FastAPI()
    app.mount("/console", console)
    with running(app) as url:
        b = Browser(url)
        try:
            for n in range(MAX_FAILURES):
                assert b.sign_in(f"guess-{n}").status_code == 401
            blocked = b.sign_in("operator-token")  # the right token, refused unchecked while blocked
            assert blocked.status_code == 429 and "Too many failed sign-ins" in blocked.text
            assert b.session_cookie() is None
            assert len(entries(rt, "console.signin_failed")) == MAX_FAILURES  # the blocked try is not
            [throttled] = entries(rt, "console.signin_throttled")
            assert throttled.detail == {"failures": MAX_FAILURES, "window_seconds": WINDOW_SECONDS}
            now[0] += WINDOW_SECONDS + 1
            assert b.sign_in("operator-token").status_code == 303 and b.session_cookie()
        finally:
            b.close()


def test_sessions_end_after_the_idle_limit_and_the_absolute_limit(rt: Runtime) -> None:
    now = [1_800_000_000.0]
    console = create_console(settings_for(rt), runtime=rt, clock=lambda: now[0])
    app = FastAPI()
    app.mount("/console", console)
    with running(app) as url:
        b = Browser(url)
        try:
            b.sign_in("operator-token")
            now[0] += IDLE_SECONDS - 1
            assert b.get("/").status_code == 200  # active again: the idle clock restarts
            now[0] += IDLE_SECONDS - 1
            assert b.get("/").status_code == 200
            now[0] += IDLE_SECONDS
            idle = b.get("/")
            assert idle.status_code == 303 and "ended=1" in idle.headers["location"]
            assert "has ended" in b.http.get(idle.headers["location"]).text

            b.sign_in("operator-token")
            started = now[0]
            while now[0] + IDLE_SECONDS // 2 < started + ABSOLUTE_SECONDS:  # never idle, 16 steps
                now[0] += IDLE_SECONDS // 2
                assert b.get("/").status_code == 200
            now[0] = started + ABSOLUTE_SECONDS
            assert b.get("/").status_code == 303
        finally:
            b.close()


def test_the_session_key_survives_a_restart_and_a_revoked_token_ends_its_sessions(rt: Runtime, tmp_path: Path) -> None:
    with running(create_app(settings_for(rt), runtime=rt)) as first:
        b = Browser(first)
        b.sign_in("operator-token")
        cookie = b.session_cookie()
        b.close()
    assert cookie
    jar = {COOKIE: cookie}
    with running(create_app(settings_for(rt), runtime=rt)) as second:  # another instance, same key store
        assert httpx.get(f"{second}/console/", cookies=jar).status_code == 200
    revoked = {t: r for t, r in TOKENS.items() if t != "operator-token"}
    with running(create_app(settings_for(rt, revoked), runtime=rt)) as third:
        ended = httpx.get(f"{third}/console/exchanges", cookies=jar)
        assert ended.status_code == 303 and "ended=1" in ended.headers["location"]
    [refused] = entries(rt, "console.session_refused")
    assert (
        refused.detail == {"reason": "revoked"} and refused.actor == f"console:revoked:{digest('operator-token')[:12]}"
    )

    other_keys = runtime(f"sqlite:///{tmp_path / 'other.db'}", tmp_path / "other")  # another key store
    with running(create_app(settings_for(other_keys), runtime=other_keys)) as stranger:
        assert httpx.get(f"{stranger}/console/", cookies=jar).status_code == 303
    other_keys.engine.dispose()


def test_a_tampered_cookie_is_refused_and_audited(browser: Browser, rt: Runtime) -> None:
    browser.sign_in("auditor-token")
    value = browser.session_cookie()
    assert value
    payload, mac = value.split(".")
    browser.http.cookies.clear()
    for forged in (f"{payload}x.{mac}", f"{payload}.{mac[:-2]}AA", "garbage"):
        browser.http.cookies.set(COOKIE, forged, path="/console")
        assert browser.get(f"/cases/{NCP_SSN}").status_code == 303  # an SSN typed into the address, too
        browser.http.cookies.clear()
    refused = entries(rt, "console.session_refused")
    assert [e.detail for e in refused] == [{"reason": "forged"}] * 3
    assert {e.subject for e in refused} == {"console:GET /console/cases/***-**-****"}


def test_every_page_forbids_framing_and_caching(browser: Browser) -> None:
    browser.sign_in("operator-token")
    page = browser.get("/")
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert "script-src" not in page.headers["content-security-policy"]  # default-src 'none': no script at all
    assert page.headers["cache-control"] == "no-store" and page.headers["x-content-type-options"] == "nosniff"
    css = browser.get("/static/console.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")


# --- rights ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("token", "reads", "audits", "cases"),
    [
        ("admin-token", 200, 200, 200),
        ("operator-token", 200, 403, 403),
        ("auditor-token", 200, 200, 403),
        ("cw1-token", 403, 403, 200),
    ],
)
def test_each_role_opens_exactly_the_pages_its_rights_allow(
    browser: Browser, rt: Runtime, token: str, reads: int, audits: int, cases: int
) -> None:
    browser.sign_in(token)
    for path in READ_PAGES[1:]:
        assert browser.get(path).status_code == reads, path
    assert browser.get("/audit").status_code == audits
    assert browser.get("/cases").status_code == cases
    home = browser.get("/")
    if reads == 200:
        assert home.status_code == 200 and ">Overview<" in home.text
    else:
        assert home.status_code == 303 and home.headers["location"] == "/console/cases"
    nav = re.findall(r'<li><a href="/console([^"]*)"', browser.get("/cases" if reads == 403 else "/").text)
    assert ("/exchanges" in nav) == (reads == 200) and ("/audit" in nav) == (audits == 200)
    assert ("/cases" in nav) == (cases == 200)


def test_refusals_are_audited_like_the_apis(browser: Browser, rt: Runtime) -> None:
    exchange_id = dead_letter(rt)
    browser.sign_in("auditor-token")
    refused = browser.act(f"/dead-letters/exchanges/{exchange_id}/retry")
    assert refused.status_code == 403 and "may not act" in refused.text
    assert status_of(rt, exchange_id) is ExchangeStatus.DEAD_LETTER
    assert 'action="/console/dead-letters' not in browser.get("/dead-letters").text  # no buttons it may not press
    browser.http.cookies.clear()
    browser.sign_in("cw1-token")
    assert browser.get("/exchanges").status_code == 403
    denied = entries(rt, "access.denied")
    assert [(e.subject, e.detail) for e in denied] == [
        (f"console:POST /console/dead-letters/exchanges/{exchange_id}/retry", {"role": "auditor", "right": "act"}),
        ("console:GET /console/exchanges", {"role": "caseworker", "right": "read"}),
    ]


def test_a_form_without_its_sessions_csrf_token_is_refused_and_audited(
    browser: Browser, rt: Runtime, base_url: str
) -> None:
    exchange_id = dead_letter(rt)
    browser.sign_in("operator-token")
    other = Browser(base_url)
    try:
        other.sign_in("operator-token")  # same person, another session: its token is no good here
        foreign = csrf_of(other.get("/").text)
    finally:
        other.close()
    for data in ({}, {"csrf": ""}, {"csrf": foreign}):
        assert browser.post(f"/dead-letters/exchanges/{exchange_id}/retry", data).status_code == 403
        assert browser.post("/dead-letters/retry-all", data).status_code == 403
    assert status_of(rt, exchange_id) is ExchangeStatus.DEAD_LETTER
    refusals = entries(rt, "access.denied")
    assert len(refusals) == 6 and all(e.detail == {"role": "operator", "reason": "csrf"} for e in refusals)


# --- actions --------------------------------------------------------------------------------------


def test_a_dead_letter_retried_in_the_console_is_audited_as_through_the_api(
    browser: Browser, rt: Runtime, base_url: str
) -> None:
    by_api, by_console = dead_letter(rt), dead_letter(rt, "ded-five-cases.ach")
    browser.sign_in("operator-token")
    assert 'id="dead-letters-count">2<' in browser.get("/").text
    page = browser.get("/dead-letters")
    assert f'id="exchange-{by_console}"' in page.text and f'id="exchange-{by_api}"' in page.text
    done = browser.act(f"/dead-letters/exchanges/{by_console}/retry")
    assert done.status_code == 303 and done.headers["location"] == "/console/dead-letters?requeued=1"
    after = browser.get("/dead-letters?requeued=1").text
    assert "1 dead letter re-queued" in after and f'id="exchange-{by_console}"' not in after
    assert status_of(rt, by_console) is ExchangeStatus.QUEUED
    again = browser.act(f"/dead-letters/exchanges/{by_console}/retry")
    assert again.status_code == 409 and "not a dead letter" in again.text

    api = httpx.post(f"{base_url}/exchanges/{by_api}/retry", headers={"Authorization": "Bearer operator-token"})
    assert api.status_code == 202
    retries = entries(rt, "exchange.retry")
    fingerprint = digest("operator-token")[:12]
    assert [(e.actor, e.subject, e.detail) for e in retries] == [
        (f"console:operator:{fingerprint}", f"exchange:{by_console}", {"partner": "acme"}),
        (f"api:operator:{fingerprint}", f"exchange:{by_api}", {"partner": "acme"}),
    ]


def test_retry_all_requeues_every_dead_letter_as_the_signed_in_admin(browser: Browser, rt: Runtime) -> None:
    ids = [
        dead_letter(rt, source)
        for source in ("ded-single-payment.ach", "ded-five-cases.ach", "ded-medical-available.ach")
    ]
    browser.sign_in("admin-token")
    done = browser.act("/dead-letters/retry-all")
    assert done.headers["location"] == "/console/dead-letters?requeued=3"
    assert {status_of(rt, i) for i in ids} == {ExchangeStatus.QUEUED}
    assert {e.actor.split(":")[1] for e in entries(rt, "exchange.retry")} == {"admin"}
    assert "No exchange is a dead letter." in browser.get("/dead-letters").text


def test_quarantine_reprocess_and_release_from_the_console(browser: Browser, rt: Runtime) -> None:
    profile = load_profile(rt.engine, "acme", key_dir=rt.key_dir, retry=FAST)
    held = intake.receive(rt, profile, name="bad.ach", raw=fixture("invalid-credit-total.ach"))
    browser.sign_in("operator-token")
    listing = browser.get("/quarantine").text
    [qid] = re.findall(r'id="quarantine-(\d+)"', listing)
    assert "BATCH_CREDIT_TOTAL" in listing
    entry = browser.get(f"/quarantine/{qid}").text
    assert held.sha256 in entry and ">Reprocess<" in entry
    again = browser.act(f"/quarantine/{qid}/reprocess")
    assert again.headers["location"] == f"/console/quarantine/{qid}?outcome=quarantined"  # same file: held again
    released = browser.act(f"/quarantine/{qid}/release")
    assert released.headers["location"] == f"/console/quarantine/{qid}?outcome=partial"
    assert "Nothing in quarantine." in browser.get("/quarantine").text
    assert [e.actor.split(":")[:2] for e in entries(rt, "quarantine.release")] == [["console", "operator"]]
    assert browser.get("/quarantine/999").status_code == 404


def test_the_overview_counts_what_needs_attention(browser: Browser, rt: Runtime) -> None:
    dead_letter(rt)
    profile = load_profile(rt.engine, "acme", key_dir=rt.key_dir, retry=FAST)
    intake.receive(rt, profile, name="bad.ach", raw=fixture("invalid-credit-total.ach"))
    acked, _ = memory_profile("acme", outbound="nacha-ded", ack=receipt_rule(hours=24))
    records = [
        {"type": r["type"], "data": r["data"]} for r in parsed_records("nacha-ded", fixture("ded-five-cases.ach"))
    ]
    assert outbound.send(rt, acked, outbound.queue(rt, acked, records=records)).status is ExchangeStatus.SENT
    counts = service.summary(rt)
    assert (counts["dead_letters"], counts["quarantined"], counts["overdue_acks"]) == (1, 1, 0)
    assert counts["open_alerts"] == 2 and counts["exchanges_by_status"]["sent"] == 1
    assert service.summary(rt, now=datetime.now(UTC) + timedelta(hours=25))["overdue_acks"] == 1
    assert len(service.list_alerts(rt)) == 2  # looking raised no ack_overdue alert: housekeeping does
    browser.sign_in("auditor-token")
    tiles = dict(
        (label.strip(), int(n))
        for n, label in re.findall(r'<span class="n"[^>]*>(\d+)</span>([^<]+)</a>', browser.get("/").text)
    )
    assert tiles == {"dead letters": 1, "open alerts": 2, "overdue acknowledgments": 0, "files in quarantine": 1}


def test_the_exchange_log_filters_and_the_detail_page(browser: Browser, rt: Runtime) -> None:
    profile, _ = memory_profile("acme")
    parsed = intake.receive(rt, profile, name="checks.ach", raw=fixture("invalid-check-digit.ach"))
    dead = dead_letter(rt)
    browser.sign_in("auditor-token")
    assert ids(browser.get("/exchanges")) == [dead, parsed.exchange_id]
    assert ids(browser.get("/exchanges", params={"status": "dead_letter"})) == [dead]
    assert ids(browser.get("/exchanges", params={"direction": "inbound", "partner": "acme"})) == [parsed.exchange_id]
    assert ids(browser.get("/exchanges", params={"partner": "nobody"})) == []
    assert browser.get("/exchanges", params={"status": "lost"}).status_code == 422
    detail = browser.get(f"/exchanges/{parsed.exchange_id}").text
    assert parsed.sha256 in detail and "Rejects by code" in detail and "<code>" in detail
    assert browser.get("/exchanges/999").status_code == 404
    assert browser.get("/exchanges/abc").status_code == 422


def test_the_audit_page_runs_the_same_verification_as_the_cli(browser: Browser, rt: Runtime, signer: Any) -> None:
    profile, _ = memory_profile("acme")
    intake.receive(rt, profile, name="pay.ach", raw=fixture("ded-five-cases.ach"))
    with session_scope(rt.engine) as session:
        audit.checkpoint(session, signer)
    browser.sign_in("auditor-token")
    page = browser.get("/audit", params={"entry": 0}).text
    assert 'id="verdict">Intact<' in page and "Entry 0: included" in page
    with session_scope(rt.engine) as session:  # an edited entry: the same check now fails
        first = session.scalars(select(AuditEntry).order_by(AuditEntry.seq)).first()
        assert first is not None
        first.subject = "exchange:edited"
    broken = browser.get("/audit").text
    assert "NOT VERIFIED" in broken and "entry 0: content does not match" in broken


# --- cases ----------------------------------------------------------------------------------------


def test_a_caseworker_sees_their_own_cases_and_not_a_protected_persons_whereabouts(
    browser: Browser, rt: Runtime
) -> None:
    load_cases(rt)
    lifted = disclosure.whereabouts(rt, "C-100", disclosure.Requester("test", "admin"), override="CV-2026-1")
    cp_found = next(p for p in lifted["participants"] if p["role"] == "CP")["findings"]
    cp_lines = [f["reported"]["line1"] for f in cp_found if f["reported"].get("line1")]
    assert cp_lines

    browser.sign_in("cw1-token")
    listing = browser.get("/cases").text
    assert "C-100" in listing and "C-200" not in listing
    page = browser.get("/cases/C-100")
    assert page.status_code == 200
    assert "SSN ***-**-5671" in page.text and NCP_SSN not in page.text and CP_SSN not in page.text
    assert "Whereabouts withheld: family violence indicator." in page.text
    assert not any(line in page.text for line in cp_lines)
    assert "ALEX" in page.text and "new-hire" in page.text  # the NCP's findings are shown
    assert browser.get("/cases/C-200").status_code == 403
    assert browser.get("/cases/C-999").status_code == 404
    overridden = browser.act("/cases/C-100", {"court_order": "CV-2026-1"})  # only an admin may
    assert overridden.status_code == 403

    with session_scope(rt.engine) as session:
        rows = session.scalars(
            select(AuditEntry).where(AuditEntry.action.like("disclosure%"), AuditEntry.actor.like("console:%"))
        ).all()
    assert [(e.action, e.subject) for e in rows] == [
        ("disclosure", "case:C-100"),
        ("disclosure.blocked", "case:C-100"),
        ("disclosure.denied", "case:C-200"),
        ("disclosure.denied", "case:C-100"),
    ]
    assert rows[0].actor == f"console:caseworker:cw-1:{digest('cw1-token')[:12]}"


def test_an_admin_lifts_the_indicator_with_a_court_order_and_others_see_no_cases(browser: Browser, rt: Runtime) -> None:
    load_cases(rt)
    browser.sign_in("admin-token")
    assert "C-200" in browser.get("/cases").text
    lifted = browser.act("/cases/C-100", {"court_order": "CV-2026-1"})
    assert lifted.status_code == 200 and "withheld" not in lifted.text and "CV-2026-1" in lifted.text
    [override] = entries(rt, "disclosure.fvi_override")
    assert override.detail["court_order"] == "CV-2026-1" and override.actor.startswith("console:admin:")
    browser.http.cookies.clear()
    browser.sign_in("operator-token")
    assert browser.get("/cases").status_code == 403
    assert browser.get("/cases/C-100").status_code == 403
    assert [e.subject for e in entries(rt, "disclosure.denied")] == ["cases", "case:C-100"]


def test_the_caseworker_sets_the_indicator_and_an_admin_clears_it_with_a_court_order(
    browser: Browser, rt: Runtime
) -> None:
    load_cases(rt)
    with session_scope(rt.engine) as session:
        ncp = session.scalars(select(Person.id).where(Person.role == "NCP", Person.case_id == 1)).one()
    browser.sign_in("cw1-token")
    page = browser.get("/cases/C-100").text
    assert page.count("Set family violence indicator") == 1  # the NCP; the CP has it already
    assert "Clear family violence indicator" not in page  # not a caseworker's to clear
    assert browser.act(f"/cases/C-100/participants/{ncp}/fvi", {"protect": "true"}).status_code == 303
    assert browser.get("/cases/C-100").text.count("Whereabouts withheld") == 2
    refused = browser.act(f"/cases/C-100/participants/{ncp}/fvi", {"protect": "false", "court_order": "CV-1"})
    assert refused.status_code == 403
    browser.http.cookies.clear()
    browser.sign_in("admin-token")
    assert browser.get("/cases/C-100").text.count("Clear family violence indicator") == 2
    cleared = browser.act(f"/cases/C-100/participants/{ncp}/fvi", {"protect": "false", "court_order": "CV-2026-5"})
    assert cleared.status_code == 303
    assert [e.actor.split(":")[1] for e in entries(rt, "person.fvi_set")] == ["caseworker"]
    [done] = entries(rt, "person.fvi_cleared")
    assert done.detail == {"person_id": ncp, "court_order": "CV-2026-5"} and done.actor.startswith("console:admin:")
    assert [e.detail["why"] for e in entries(rt, "fvi.denied")] == [
        "only an admin may clear the family violence indicator"
    ]


def test_the_withholding_page_lists_notices_with_the_employers_answer(browser: Browser, rt: Runtime) -> None:
    load_cases(rt)
    with session_scope(rt.engine) as session:
        ncp = session.scalars(select(Person).where(Person.role == "NCP", Person.case_id == 1)).one()
        for n, (status, answer, reason) in enumerate((("queued", "R", "N"), ("pending", None, None))):
            session.add(
                IwoNotice(
                    case_id=ncp.case_id,
                    person_id=ncp.id,
                    document_tracking_id=f"NH{n:028d}",
                    employer_fein="921234567",
                    data_enc=rt.cipher.encrypt_json({}, iwo.NOTICE_AAD),
                    key_id=rt.cipher.current_key_id,
                    due_at=datetime(2026, 12, 10, tzinfo=UTC),
                    status=status,
                    answer=answer,
                    answer_reason=reason,
                )
            )
    browser.sign_in("operator-token")
    page = browser.get("/withholding").text
    assert page.count('<tr id="notice-') == 2 and "rejected (N)" in page and "C-100" in page
    assert NCP_SSN not in page
    pending = browser.get("/withholding", params={"status": "pending"}).text
    assert pending.count('<tr id="notice-') == 1 and "rejected" not in pending
    assert browser.get("/withholding", params={"status": "lost"}).status_code == 422


def test_no_page_shows_an_ssn_to_operators_auditors_or_admins(browser: Browser, rt: Runtime) -> None:
    load_cases(rt)
    profile = load_profile(rt.engine, "acme", key_dir=rt.key_dir, retry=FAST)
    intake.receive(rt, profile, name="pay.ach", raw=fixture("ded-five-cases.ach"))
    intake.receive(rt, profile, name="bad.ach", raw=fixture("invalid-credit-total.ach"))
    intake.receive(rt, profile, name="checks.ach", raw=fixture("invalid-check-digit.ach"))
    dead_letter(rt)
    ssns = {NCP_SSN, CP_SSN, OTHER_SSN} | {
        str(r["data"]["ded"]["ssn"])
        for r in parsed_records("nacha-ded", fixture("ded-five-cases.ach"))
        if r["type"] == "entry" and r["data"]["ded"].get("ssn")
    }
    assert len(ssns) > 3
    for token in ("operator-token", "auditor-token", "admin-token"):
        browser.http.cookies.clear()
        browser.sign_in(token)
        pages = [*READ_PAGES, "/alerts?resolved=true", "/quarantine?released=true"]
        listing = browser.get("/exchanges").text
        pages += [f"/exchanges/{i}" for i in re.findall(r'<tr id="exchange-(\d+)"', listing)]
        pages += [f"/quarantine/{i}" for i in re.findall(r'id="quarantine-(\d+)"', browser.get("/quarantine").text)]
        if token != "operator-token":
            pages.append("/audit")
        for path in pages:
            page = browser.get(path)
            assert page.status_code == 200, (token, path)
            assert not contains_pii(page.text) and not any(ssn in page.text for ssn in ssns), (token, path)
