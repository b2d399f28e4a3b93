"""The console in a real browser: Debian's Chromium, headless, driven by Playwright, against the app
served by uvicorn on 127.0.0.1. An operator retries a dead letter; a caseworker reads their case with
the protected parent's whereabouts withheld; both sign out. No JavaScript is needed by the pages, so
this is plain forms and links, as a person would use them.

Playwright drives the system Chromium (``executable_path``); its own browser download is never used.
``make browser`` (``scripts/ensure-chromium.sh``) installs Chromium. Without it the test is skipped
on a developer machine and fails under CI (``CI`` set), so CI cannot pass without running it.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from exchange_kit import load_folder_partner, runtime
from test_console import NCP_SSN, dead_letter, load_cases, settings_for, status_of

from gateway.api.app import create_app
from gateway.api.server import running
from gateway.db.models import ExchangeStatus
from gateway.exchanges.runtime import Runtime

CHROMIUM = os.environ.get("CSGATE_CHROMIUM", "/usr/bin/chromium")
WAIT_MS = 15_000  # the longest any one browser step may take


def _unavailable(reason: str) -> None:
    message = f"{reason}; run `make browser` (scripts/ensure-chromium.sh)"
    if os.environ.get("CI", "").lower() not in ("", "0", "false"):
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """A headless Chromium under Playwright, shared by the module's tests."""
    if not (os.access(CHROMIUM, os.X_OK) or shutil.which(CHROMIUM)):
        _unavailable(f"no Chromium at {CHROMIUM}")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is not installed (the dev extra)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, timeout=WAIT_MS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def rt(sqlite_url: str, tmp_path: Path) -> Iterator[Runtime]:
    rt = runtime(sqlite_url, tmp_path)
    load_folder_partner(rt, "acme", tmp_path / "acme", outbound=("nacha-ded",))
    yield rt
    rt.engine.dispose()


def sign_in(page: Any, base_url: str, token: str) -> None:
    page.goto(f"{base_url}/console/")
    assert page.url.startswith(f"{base_url}/console/login")
    page.fill("#token", token)
    page.click("button:has-text('Sign in')")


def sign_out(page: Any, base_url: str) -> None:
    page.click("button:has-text('Sign out')")
    page.wait_for_url(f"{base_url}/console/login")
    page.goto(f"{base_url}/console/")
    assert page.url.startswith(f"{base_url}/console/login"), "still signed in after signing out"


def test_an_operator_retries_a_dead_letter_and_a_caseworker_reads_their_case(chromium: Any, rt: Runtime) -> None:
    exchange_id = dead_letter(rt)
    load_cases(rt)
    with running(create_app(settings_for(rt), runtime=rt)) as base_url:
        context = chromium.new_context()
        context.set_default_timeout(WAIT_MS)
        page = context.new_page()
        try:
            sign_in(page, base_url, "operator-token")
            page.wait_for_url(f"{base_url}/console/")
            assert page.text_content("#dead-letters-count") == "1"
            [cookie] = [c for c in context.cookies() if c["name"] == "csgate_console"]
            assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"

            page.click("nav >> text=Dead letters")
            row = page.locator(f"#exchange-{exchange_id}")
            assert "dead_letter" in row.inner_text()
            row.locator("button:has-text('Retry')").click()
            page.wait_for_url(f"{base_url}/console/dead-letters?requeued=1")
            assert "1 dead letter re-queued" in page.text_content("#requeued")
            assert page.locator(f"#exchange-{exchange_id}").count() == 0
            page.goto(f"{base_url}/console/exchanges/{exchange_id}")
            assert page.text_content("h1 .status") == "queued"
            assert status_of(rt, exchange_id) is ExchangeStatus.QUEUED
            sign_out(page, base_url)

            sign_in(page, base_url, "cw1-token")
            page.wait_for_url(f"{base_url}/console/cases")
            assert page.locator("nav >> text=Exchanges").count() == 0
            page.click("text=C-100")
            page.wait_for_url(f"{base_url}/console/cases/C-100")
            ncp = page.locator("section.participant", has_text="NCP:")
            cp = page.locator("section.participant", has_text="CP:").filter(has_not_text="NCP:")
            assert "***-**-5671" in ncp.inner_text() and ncp.locator("table tbody tr").count() > 0
            assert "Whereabouts withheld" in cp.inner_text() and cp.locator("table").count() == 0
            assert NCP_SSN not in page.content()
            sign_out(page, base_url)
        finally:
            context.close()
