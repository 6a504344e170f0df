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
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa
from playwright.sync_api import expect

from bench.run import RESULTS, ROOT

PASSWORD = "Demo@1404"
SETTLED = "[data-testid='stApp'][data-test-script-state='notRunning']"


def _start_app(url: str, port: int) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": url, "APP_MODE": "demo"}
    env.pop("APPTEST", None)
    # deploy/asgi.py, as `make serve` runs it: app.py plus the public's plain HTML pages at /stats/.
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", str(ROOT / "deploy" / "asgi.py"),
                             "--server.port", str(port),
                             "--server.address", "127.0.0.1", "--server.headless", "true", "--server.fileWatcherType", "none",
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


# Generous: on the shared 2-core bench machine a first page load took over a minute.
TIMEOUT_MS = 180_000


def _settle(page, locator, timeout: float = TIMEOUT_MS) -> None:
    locator.first.wait_for(state="visible", timeout=timeout)
    page.wait_for_selector(SETTLED, timeout=timeout)


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000


def _login(page, base: str, username: str, note=None) -> None:
    """Sign in; with `note`, the time from the click on «ورود» to home settled (the form's own load,
    before anyone clicks, is not counted)."""
    page.goto(base)
    page.get_by_label("نام کاربری").fill(username)
    page.get_by_label("گذرواژه").fill(PASSWORD)
    page.wait_for_selector(SETTLED)
    start = time.perf_counter()
    page.get_by_role("button", name="ورود").click()
    _settle(page, page.get_by_role("button", name="خروج"))
    if note is not None:
        _settle(page, page.get_by_role("heading", name="پیشخوان"))
        note("browser_login_home_ms", (time.perf_counter() - start) * 1000)
    # The next pages are opened by their address too (a new session): they need the session cookie,
    # which home's run writes (ui/login.py; before ui/cookies.py, in a follow-up run of its own).
    from logic.sessions import SESSION_COOKIE

    page.wait_for_function(f"document.cookie.split('; ').some(c => c.startsWith('{SESSION_COOKIE}='))")
    page.wait_for_selector(SETTLED)


def _sidebar(page, link: str, heading: str) -> None:
    """Follow a sidebar link; again if the click landed in the run the login's own rerun replaced
    (the address did not change). A page that is merely slow is waited for, not clicked again
    (a second click would start its run over)."""
    anchor = page.get_by_role("link", name=link).first
    path = anchor.get_attribute("href").rstrip("/").rsplit("/", 1)[-1]
    for attempt in range(4):
        anchor.click()
        try:
            page.wait_for_url(lambda u: u.split("?")[0].rstrip("/").endswith("/" + path), timeout=8_000)
        except Exception:  # noqa: BLE001 - playwright's timeout
            if attempt == 3:
                raise
            continue
        _settle(page, page.get_by_role("heading", name=heading))
        return


def ensure_release(url: str) -> None:
    """The demo publishes no release: when the database has none, Tehran's board publishes the
    largest one (every table, the last complete Jalali year, about a year's history), as
    `logic.releases` does for people (one member composes, another approves)."""
    import jdatetime

    from bench.queue_bench import _tehran_actor
    from db.engine import make_engine, session_scope
    from logic import releases as rel

    engine = make_engine(url)
    try:
        with engine.connect() as c:
            if c.execute(sa.text("SELECT 1 FROM stat_release WHERE status = 'published' LIMIT 1")).first():
                return
        with session_scope(engine) as s:
            composer, approver = _tehran_actor(s, "board", "tehran.board"), _tehran_actor(s, "board", "tehran.board2")
        year = jdatetime.date.today().year - 1
        out = rel.compose(engine, composer, title=f"آمار سال {year}", province_id=composer.province_id,
                          period_from=jdatetime.date(year, 1, 1).togregorian(),
                          period_to=jdatetime.date(year + 1, 1, 1).togregorian() - timedelta(days=1),
                          tables=list(rel.TABLES))
        rel.approve_and_publish(engine, approver, out.release_id)
    finally:
        engine.dispose()


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


PAGES = ("login_home", "queue", "open_request_same_tab", "open_request", "approve", "member", "kpi_province",
         "kpi_central", "analytics", "public", "public_stats")


def _context(browser):
    ctx = browser.new_context(locale="fa-IR", viewport={"width": 1440, "height": 900})
    page = ctx.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    return ctx, page


def _approve_next(page, note) -> int:
    """Tick the checklist and the confirmation, then «ثبت تأیید و کار بعدی»: timed from that click to
    the next task settled in the same tab (its approve button live again, the message shown)."""
    clicks = 0
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
    button = page.locator(".st-key-req-approve-next[data-stale='false'] button").first
    note("browser_approve_ms", _timed(lambda: (
        button.click(), _settle(page, page.locator("[data-testid='stAlertContentSuccess']")),
        _settle(page, page.locator(".st-key-req-approve-next button").first))))
    return clicks + 1


def _open_first_row(page) -> None:
    """Click the middle of the queue's first row (the grid is drawn on a canvas, below its header
    row): the request opens in this tab."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    box = page.locator("[data-testid='stDataFrame']").first.bounding_box()
    for attempt in range(3):
        # Again, as a person would, if the click landed while the grid was still being drawn (seen
        # once in about fifteen passes: the click was lost and the page stayed on the queue).
        page.mouse.click(box["x"] + box["width"] / 2, box["y"] + 35 + 17)
        try:
            page.wait_for_url(lambda u: "/request?code=" in u, timeout=15_000 if attempt < 2 else TIMEOUT_MS)
            break
        except PlaywrightTimeout:
            if attempt == 2:
                raise
    _settle(page, page.get_by_role("heading", name="پروندهٔ درخواست"))


def _fresh_code(url: str, offset: int = 0) -> str | None:
    """An unclaimed request at Tehran's initial review that the expert can approve, now."""
    return (_cases(url, offset + 1)["codes"][offset:] or [None])[0]


def measure(url: str, runs: int = 5, port: int = 8791, offset: int = 0) -> dict:
    """Median click-to-settled milliseconds of every page of issue #18 item 1 (`browser_<page>_ms`)."""
    from playwright.sync_api import sync_playwright

    ensure_release(url)
    cases = _cases(url, runs + 1)
    proc = _start_app(url, port)
    base = f"http://127.0.0.1:{port}"
    times: dict[str, list[float]] = {}

    def note(name: str, ms: float) -> None:
        times.setdefault(name, []).append(ms)
        print(f"  {name} {ms:.0f}", file=sys.stderr, flush=True)

    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                                         args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
            # One untimed pass first: the app process imports its modules and warms its caches once,
            # as a server that has been running for a while has.
            for i in range(runs + 1):
                timed = note if i else (lambda name, ms: None)
                ctx, page = _context(browser)
                _login(page, base, "tehran.expert", timed)
                timed("browser_queue_ms", _timed(lambda: _sidebar(page, "کارتابل", "کارتابل")))
                # A click on a row opens its request in this tab (pages/queue.py); its link, a new tab.
                timed("browser_open_request_same_tab_ms", _timed(lambda: _open_first_row(page)))
                # Chosen now: the previous pass's «ثبت تأیید و کار بعدی» took the next task.
                code = _fresh_code(url, offset)
                if code:
                    timed("browser_open_request_ms", _timed(lambda: _settle_request(page, base, code)))
                    _approve_next(page, timed)
                if cases["member"]:
                    timed("browser_member_ms", _timed(lambda: (
                        page.goto(f"{base}/member?id={cases['member']}"),
                        _settle(page, page.locator("[data-testid='stMain'] [data-testid='stTab']")))))
                ctx.close()
                for who, name in (("tehran.manager", "browser_kpi_province_ms"),
                                  ("central.manager", "browser_kpi_central_ms")):
                    ctx, page = _context(browser)
                    _login(page, base, who)
                    timed(name, _timed(lambda: (_sidebar(page, "شاخص‌های عملکرد", "شاخص‌های عملکرد"),
                                                _settle(page, page.locator(".st-key-kpi-backlog-chart")))))
                    if who == "tehran.manager":
                        timed("browser_analytics_ms", _timed(lambda: (
                            _sidebar(page, "تحلیل", "تحلیل‌ها"),
                            _settle(page, page.locator(".st-key-analytics-holders-chart")))))
                    ctx.close()
                if cases["release"]:
                    ctx, page = _context(browser)
                    timed("browser_public_ms", _timed(lambda: (
                        page.goto(f"{base}/public?release={cases['release']}"),
                        _settle(page, page.locator("[data-testid='stMain'] [data-testid='stTable']")))))
                    ctx.close()
                    ctx, page = _context(browser)
                    timed("browser_public_stats_ms", _timed(lambda: (
                        page.goto(f"{base}/stats/{cases['release']}"),
                        page.locator("table").first.wait_for(state="visible"))))
                    ctx.close()
            browser.close()
        peak = _peak_rss_mb(proc.pid)
    finally:
        stop_app(proc)
    return {**{k: round(statistics.median(v), 1) for k, v in times.items()}, "browser_app_peak_rss_mb": peak}


def stop_app(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _peak_rss_mb(pid: int) -> float | None:
    """The app process's peak resident memory (issue #18 item 5: under 400 MB serving every page)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return None


def server_times(url: str, runs: int = 5) -> dict:
    """Server time of one script run of each page (`server_<page>_ms`), in AppTest: no browser, no
    websocket, no rendering. Each figure is the run that opens the page in a new session (the report
    caches of a session are empty, as in the browser's new context), median of `runs`."""
    from streamlit.testing.v1 import AppTest

    from tests.apptest import sign_in

    os.environ.update(DATABASE_URL=url, APP_MODE="demo", APPTEST="1")
    ensure_release(url)
    cases = _cases(url, runs + 1)  # the browser pass moved its own requests on: these are others
    times: dict[str, list[float]] = {}

    def fresh(username: str | None) -> AppTest:
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
        return sign_in(at, url, username) if username else at

    def timed(name: str, at: AppTest, action=None) -> AppTest:
        start = time.perf_counter()
        (action or at.run)()
        times.setdefault(name, []).append((time.perf_counter() - start) * 1000)
        if at.exception:
            raise RuntimeError(f"{name}: {at.exception[0].message}")
        return at

    for i in range(runs + 1):  # the first pass imports and warms up, untimed
        at = timed("server_login_home_ms", fresh("tehran.expert"))
        at.switch_page("pages/queue.py")
        timed("server_queue_ms", at)
        if i < len(cases["codes"]):
            at.switch_page("pages/request.py")
            at.query_params["code"] = cases["codes"][i]
            timed("server_open_request_ms", at)
            if any(c.key == "req-check-all" for c in at.checkbox):
                at.checkbox(key="req-check-all").check()
            else:
                for c in [c for c in at.checkbox if str(c.key).startswith("req-check-")]:
                    c.check()
            at.checkbox(key="req-confirm").check()
            at.run()  # the ticks enable the button, as in the browser
            timed("server_approve_ms", at, at.button(key="req-approve-next").click().run)
        if cases["member"]:
            at.switch_page("pages/member.py")
            at.query_params["id"] = str(cases["member"])
            timed("server_member_ms", at)
        for who, name in (("tehran.manager", "server_kpi_province_ms"), ("central.manager", "server_kpi_central_ms")):
            at = fresh(who).run()
            at.switch_page("pages/kpi.py")
            timed(name, at)
            if who == "tehran.manager":
                at.switch_page("pages/analytics.py")
                timed("server_analytics_ms", at)
        if cases["release"]:
            at = fresh(None)
            at.query_params["release"] = str(cases["release"])
            at.run()
            at.switch_page("pages/public_stats.py")
            timed("server_public_ms", at)
        if i == 0:
            times.clear()
    return {k: round(statistics.median(v), 1) for k, v in times.items()}


def _settle_request(page, base: str, code: str) -> None:
    page.goto(f"{base}/request?code={code}")
    _settle(page, page.locator(".st-key-req-approve[data-stale='false'] button"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.browser_bench", description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", required=True, help="a database that holds demo data")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--port", type=int, default=8791)
    parser.add_argument("--offset", type=int, default=0,
                        help="skip this many of the most urgent requests (two benches on one database)")
    parser.add_argument("--no-browser", action="store_true", help="only the AppTest server times")
    parser.add_argument("--no-server", action="store_true", help="skip the AppTest server times")
    parser.add_argument("--write", action="store_true", help="also write the figures into bench/results.json")
    args = parser.parse_args(argv)
    figures = {} if args.no_browser else measure(args.database_url, args.runs, args.port, args.offset)
    if not args.no_server:
        figures.update(server_times(args.database_url, args.runs))
    for k, v in figures.items():
        print(f"{k:<28} {v}")
    if args.write:
        results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
        results.setdefault("browser", {}).update(figures)
        RESULTS.write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
