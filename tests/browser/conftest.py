"""The real app in a real browser: a Streamlit server on a free port over the test database, driven
by Playwright in Debian's headless Chromium. In CI a missing browser fails; elsewhere it skips."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import expect

from logic.sessions import SESSION_COOKIE
from tests.conftest import ROOT

CHROMIUM = "/usr/bin/chromium"
# Screenshots go under test-results/ (ignored by git); `make screenshots` points this at docs/ to
# refresh the README's pictures, so a plain test run never writes into a tracked file.
SCREENSHOT_DIR = Path(os.environ.get("SCREENSHOT_DIR") or ROOT / "test-results" / "screenshots")


def screenshot_path(name: str) -> str:
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    return str(SCREENSHOT_DIR / name)
# Two shared cores under a full test run can take a while to rerun a Streamlit script.
expect.set_options(timeout=20_000)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def app_url(db_url):
    # APP_TEST_PORT pins the server's port (a machine that hands out port ranges); else any free one.
    port = int(os.environ.get("APP_TEST_PORT") or 0) or _free_port()
    env = {**os.environ, "DATABASE_URL": db_url, "APP_MODE": "demo"}
    env.pop("APPTEST", None)  # a real server, not AppTest
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                break
        except OSError:
            time.sleep(0.3)
    else:
        proc.kill()
        raise RuntimeError("the app did not answer /_stcore/health within 60 s")
    yield url
    proc.terminate()
    proc.wait(10)


@pytest.fixture(scope="session")
def browser():
    if not (os.path.exists(CHROMIUM) or shutil.which("chromium")):
        if os.environ.get("CI") or os.environ.get("REQUIRE_BROWSER"):
            pytest.fail("Chromium is not installed (apt-get install chromium); browser tests are required in CI")
        pytest.skip("Chromium is not installed")
    from playwright.sync_api import sync_playwright
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"])
        yield b
        b.close()


@pytest.fixture
def page(browser, app_url):
    context = browser.new_context(locale="fa-IR", viewport={"width": 1400, "height": 900})
    pg = context.new_page()
    pg.set_default_timeout(20_000)
    yield pg
    context.close()


def login(page, app_url: str, username: str, password: str) -> None:
    page.goto(app_url)
    page.get_by_label("نام کاربری").fill(username)
    page.get_by_label("گذرواژه").fill(password)
    page.get_by_role("button", name="ورود").click()


def open_page(page, link: str, heading: str | None = None) -> None:
    """Follow a sidebar link until the page's heading shows. A click that lands while the previous
    script run is still finishing (the login form's own rerun to home) can
    be overridden by that rerun, so the click is repeated until the app has moved, within the usual
    20 s."""
    target = page.get_by_role("heading", name=heading or link)
    deadline = time.monotonic() + 20
    while True:
        page.get_by_role("link", name=link).click()
        try:
            expect(target).to_be_visible(timeout=4_000)
            return
        except AssertionError:
            if time.monotonic() > deadline:
                raise


def login_and_keep_cookie(page, app_url: str, username: str, password: str) -> None:
    """Log in and wait until the browser holds the re-login cookie, so a later page load by URL
    (a new Streamlit session) is signed in too."""
    login(page, app_url, username, password)
    page.get_by_role("button", name="خروج").wait_for()
    for _ in range(100):
        if any(c["name"] == SESSION_COOKIE for c in page.context.cookies()):
            return
        page.wait_for_timeout(100)
    raise AssertionError("the login cookie was never set")


SETTLED = "[data-testid='stApp'][data-test-script-state='notRunning']"


def tick(page, keys: list[str]) -> None:
    """Tick the checkboxes with these keys as a person does: each click, then the box seen ticked; once
    the runs they started are over, a box that a run's answer unticked again (the click landed while
    an earlier box's run was finishing, or before the box was listening, on a busy machine) is ticked
    once more, for up to 40 s."""
    deadline = time.monotonic() + 40
    while True:
        for key in keys:
            box = page.locator(f".st-key-{key} input")
            if not box.is_checked():
                page.locator(f".st-key-{key} label").click()
                try:
                    expect(box).to_be_checked(timeout=5_000)
                except AssertionError:
                    pass  # unticked by a run's answer: the next round ticks it again
        page.wait_for_selector(SETTLED)
        if all(page.locator(f".st-key-{key} input").is_checked() for key in keys):
            return
        if time.monotonic() > deadline:
            for key in keys:
                expect(page.locator(f".st-key-{key} input")).to_be_checked()
            return


def tick_and_approve(page) -> None:
    """On an open request at the initial review: tick the checklist and the confirmation, approve,
    and wait for the app's confirmation."""
    approve = page.locator(".st-key-req-approve button")
    checks = [f"req-check-{i}" for i in range(4) if page.locator(f".st-key-req-check-{i}").count()]
    tick(page, [*checks, "req-confirm"])
    expect(approve).to_be_enabled()
    approve.click()
    expect(page.locator("[data-testid='stAlertContentSuccess']").first).to_be_visible()
