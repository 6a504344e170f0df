"""What people feel: seconds from a click to the settled page, in headless Chromium, over a database
that holds demo data (issue [4/6] item 1), and the expert's decision as the issue [3/6] counts it.

    python -m bench.browser_bench --database-url URL [--runs 5]

A page is settled when the app's script has finished (`stApp` says notRunning) and the page's own
element is visible. Each figure is the median of `runs` tries, each in a new browser context (a new
Streamlit session, as a person opening the app). The server time of one script run of the same
pages (AppTest, no browser) is printed beside them: the difference is transfer and rendering.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import sqlalchemy as sa
from playwright.sync_api import expect

from bench.run import RESULTS, ROOT

PASSWORD = "Demo@1404"
SETTLED = "[data-testid='stApp'][data-test-script-state='notRunning']"


def _start_app(url: str, port: int) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": url, "APP_MODE": "demo"}
    env.pop("APPTEST", None)
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.port", str(port),
                             "--server.address", "127.0.0.1", "--server.headless", "true",
                             "--browser.gatherUsageStats", "false"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    import urllib.request

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2).read() == b"ok":
                return proc
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError("the app did not start")


def _settle(page, locator, timeout: float = 60_000) -> None:
    locator.first.wait_for(state="visible", timeout=timeout)
    page.wait_for_selector(SETTLED, timeout=timeout)


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000


def _login(page, base: str, username: str) -> None:
    page.goto(base)
    page.get_by_label("نام کاربری").fill(username)
    page.get_by_label("گذرواژه").fill(PASSWORD)
    page.get_by_role("button", name="ورود").click()
    _settle(page, page.get_by_role("button", name="خروج"))


def _sidebar(page, link: str, heading: str) -> None:
    """Follow a sidebar link; again if the click landed in the run the login's own rerun replaced."""
    for attempt in range(4):
        page.get_by_role("link", name=link).first.click()
        try:
            _settle(page, page.get_by_role("heading", name=heading), timeout=8_000 if attempt < 3 else 60_000)
            return
        except Exception:  # noqa: BLE001 - playwright's timeout
            if attempt == 3:
                raise


def _cases(url: str, runs: int) -> dict:
    """Requests an expert of Tehran can approve at the initial review, a member, the largest release."""
    from db.engine import make_engine
    from domain.reference import TEHRAN_ID

    engine = make_engine(url)
    try:
        with engine.connect() as c:
            codes = c.execute(sa.text(
                "SELECT tracking_code FROM request WHERE province_id = :p AND status = 'open' "
                "AND stage_code = 'initial_review' AND assignee_id IS NULL "
                "AND type_code IN ('new_membership', 'legacy_registration') "
                "ORDER BY stage_due_at NULLS LAST LIMIT :n"), {"n": runs * 2, "p": TEHRAN_ID}).scalars().all()
            member = c.execute(sa.text("SELECT id FROM member WHERE province_id = :p AND status = 'active' "
                                       "ORDER BY id LIMIT 1"), {"p": TEHRAN_ID}).scalar()
            release = c.execute(sa.text("SELECT id FROM stat_release WHERE status = 'published' "
                                        "ORDER BY octet_length(snapshot::text) DESC LIMIT 1")).scalar()
    finally:
        engine.dispose()
    return {"codes": list(codes), "member": member, "release": release}


def _decide(page, note) -> int:
    """On an open request: tick the checklist and the confirmation, approve; returns the clicks."""
    approve = page.locator(".st-key-req-approve[data-stale='false'] button")
    clicks = 0
    # One box for the whole checklist where the screen has it (the two-pane screen), else each item.
    whole = page.locator(".st-key-req-check-all")
    boxes = page.locator(".st-key-req-check-all, .st-key-req-confirm") if whole.count() else \
        page.locator("[class*='st-key-req-check-'], .st-key-req-confirm")
    for k in range(boxes.count()):
        boxes.nth(k).locator("label").click()
        clicks += 1
        expect(boxes.nth(k).locator("input")).to_be_checked(timeout=60_000)
    if not whole.count():
        for box in page.locator("[class*='st-key-req-check-'] input").all():
            expect(box).to_be_checked(timeout=60_000)
    note("browser_approve_ms", _timed(lambda: (approve.click(),
                                               _settle(page, page.locator("[data-testid='stAlertContentSuccess']")))))
    return clicks + 1


# Opening a request from today's queue: a click on the row's «باز کردن» link cell, another on the
# link, and the request opens in a new tab (a new session): counted as two clicks.
OPEN_FROM_QUEUE_CLICKS = 2


def measure(url: str, runs: int = 5, port: int = 8791) -> dict:
    from playwright.sync_api import sync_playwright

    cases = _cases(url, runs)
    proc = _start_app(url, port)
    base = f"http://127.0.0.1:{port}"
    times: dict[str, list[float]] = {}
    clicks: list[int] = []

    def note(name: str, ms: float) -> None:
        times.setdefault(name, []).append(ms)

    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                                         args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
            for i in range(runs):
                ctx = browser.new_context(locale="fa-IR", viewport={"width": 1440, "height": 900})
                page = ctx.new_page()
                page.set_default_timeout(60_000)
                note("browser_login_home_ms", _timed(lambda: _login(page, base, "tehran.expert")))
                note("browser_queue_ms", _timed(lambda: _sidebar(page, "کارتابل", "کارتابل")))
                if i < len(cases["codes"]):
                    code = cases["codes"][i]
                    start = time.perf_counter()
                    note("browser_open_request_ms", _timed(lambda: _settle_request(page, base, code)))
                    clicks.append(OPEN_FROM_QUEUE_CLICKS + _decide(page, note))
                    note("browser_decision_s", time.perf_counter() - start)
                if cases["member"]:
                    note("browser_member_ms", _timed(lambda: (page.goto(f"{base}/member?id={cases['member']}"),
                                                              _settle(page, page.locator("[data-testid='stMain'] [data-testid='stTab']")))))
                ctx.close()
                for who, name in (("tehran.manager", "browser_kpi_province_ms"),
                                  ("central.manager", "browser_kpi_central_ms")):
                    ctx = browser.new_context(locale="fa-IR", viewport={"width": 1440, "height": 900})
                    page = ctx.new_page()
                    page.set_default_timeout(60_000)
                    _login(page, base, who)
                    note(name, _timed(lambda: _sidebar(page, "شاخص‌های عملکرد", "شاخص‌های عملکرد")))
                    if who == "tehran.manager":
                        note("browser_analytics_ms", _timed(lambda: (page.get_by_role("link", name="تحلیل").first.click(),
                                                                     page.wait_for_selector(SETTLED),
                                                                     _settle(page, page.locator("h1")))))
                    ctx.close()
                if cases["release"]:
                    ctx = browser.new_context(locale="fa-IR", viewport={"width": 1440, "height": 900})
                    page = ctx.new_page()
                    note("browser_public_ms", _timed(lambda: (page.goto(f"{base}/public?release={cases['release']}"),
                                                              _settle(page, page.locator("[data-testid='stTable']")))))
                    ctx.close()
            browser.close()
    finally:
        proc.terminate()
        proc.wait(10)
    out = {k: round(statistics.median(v), 1 if k.endswith("_ms") else 2) for k, v in times.items()}
    if clicks:
        out["decision_clicks"] = statistics.median(clicks)
    return out


def _settle_request(page, base: str, code: str) -> None:
    page.goto(f"{base}/request?code={code}")
    _settle(page, page.locator(".st-key-req-approve[data-stale='false'] button"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.browser_bench", description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", required=True, help="a database that holds demo data")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--port", type=int, default=8791)
    parser.add_argument("--write", action="store_true", help="also write the figures into bench/results.json")
    args = parser.parse_args(argv)
    figures = measure(args.database_url, args.runs, args.port)
    for k, v in figures.items():
        print(f"{k:<28} {v}")
    if args.write:
        results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
        results.setdefault("browser", {}).update(figures)
        RESULTS.write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
