"""Where the browser's time goes on one page, from the click (or the address typed) to the settled
page: the issue #18 companion of bench/browser_bench.py for the figures that miss their target.

    python -m bench.browser_timeline --database-url URL [--page public] [--tries 3]

For each try it prints milestones in milliseconds from the start: for a page opened by its address,
the HTML received and the front end's scripts run (`responseEnd`, `domContentLoaded`, `load`), then,
for every page, each switch of the app's script state (`running`, `notRunning`: a run of the page's
script on the server, as the front end sees it), the page's own element visible, and the main
thread's long tasks (over 50 ms: parsing JavaScript, laying out, drawing charts) in sum.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time

from bench.browser_bench import (SETTLED, _cases, _context, _login, _settle, _sidebar, _start_app,
                                 ensure_release, stop_app)

# Installed before the page's own scripts: script-state switches and long tasks, on the page's clock.
_OBSERVER = """
(() => {
  if (window.__timeline) return;
  const t = window.__timeline = {states: [], long: [], start: performance.now()};
  new PerformanceObserver(l => l.getEntries().forEach(e => t.long.push([e.startTime, e.duration])))
    .observe({type: 'longtask', buffered: true});
  const watch = () => {
    const app = document.querySelector("[data-testid='stApp']");
    if (!app) return false;
    let last = null;
    const note = () => { const s = app.getAttribute('data-test-script-state');
                         if (s !== last) { last = s; t.states.push([performance.now(), s]); } };
    note();
    new MutationObserver(note).observe(app, {attributes: true, attributeFilter: ['data-test-script-state']});
    return true;
  };
  if (!watch()) { const o = new MutationObserver(() => { if (watch()) o.disconnect(); });
                  o.observe(document, {childList: true, subtree: true}); }
})();
"""

PAGES = ("public", "member", "open_request", "login_home", "kpi_province", "kpi_central")


def _read(page, since: float) -> dict:
    """The milestones after `since` (performance.now() when the click or the navigation started)."""
    data = page.evaluate("""since => {
      const t = window.__timeline, nav = performance.getEntriesByType('navigation')[0];
      const rel = x => Math.round(x - since);
      return {states: t.states.filter(s => s[0] >= since).map(s => [rel(s[0]), s[1]]),
              long_ms: Math.round(t.long.filter(l => l[0] >= since).reduce((a, l) => a + l[1], 0)),
              long_n: t.long.filter(l => l[0] >= since).length,
              html: nav && since === 0 ? Math.round(nav.responseEnd) : null,
              dom: nav && since === 0 ? Math.round(nav.domContentLoadedEventEnd) : null,
              load: nav && since === 0 ? Math.round(nav.loadEventEnd) : null};
    }""", since)
    return data


def _by_address(page, url: str, element: str) -> dict:
    page.add_init_script(_OBSERVER)
    start = time.perf_counter()
    page.goto(url)
    _settle(page, page.locator(element))
    settled = round((time.perf_counter() - start) * 1000)
    return {**_read(page, 0), "settled": settled}


def _by_click(page, click, element: str) -> dict:
    page.evaluate(_OBSERVER)
    since = page.evaluate("performance.now()")
    start = time.perf_counter()
    click()
    _settle(page, page.locator(element))
    return {**_read(page, since), "settled": round((time.perf_counter() - start) * 1000)}


def trace(url: str, which: str, tries: int = 3, port: int = 8792) -> list[dict]:
    from playwright.sync_api import sync_playwright

    ensure_release(url)
    cases = _cases(url, tries + 2)
    proc = _start_app(url, port)
    base = f"http://127.0.0.1:{port}"
    out = []
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                                         args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
            for i in range(tries + 1):  # the first try warms the app process, as in browser_bench
                ctx, page = _context(browser)
                if which == "public":
                    row = _by_address(page, f"{base}/public?release={cases['release']}",
                                      "[data-testid='stMain'] [data-testid='stTable']")
                elif which == "login_home":
                    page.add_init_script(_OBSERVER)
                    page.goto(base)
                    page.get_by_label("نام کاربری").fill("tehran.expert")
                    page.get_by_label("گذرواژه").fill("Demo@1404")
                    page.wait_for_selector(SETTLED)
                    row = _by_click(page, lambda: page.get_by_role("button", name="ورود").click(),
                                    "[data-testid='stMain'] h1:has-text('پیشخوان')")
                else:
                    who = {"kpi_central": "central.manager", "kpi_province": "tehran.manager"}.get(which,
                                                                                                 "tehran.expert")
                    _login(page, base, who)
                    if which == "member":
                        row = _by_address(page, f"{base}/member?id={cases['member']}",
                                          "[data-testid='stMain'] [data-testid='stTab']")
                    elif which == "open_request":
                        code = cases["codes"][i]
                        row = _by_address(page, f"{base}/request?code={code}",
                                          ".st-key-req-approve[data-stale='false'] button")
                    else:
                        row = _by_click(page, lambda: _sidebar(page, "شاخص‌های عملکرد", "شاخص‌های عملکرد"),
                                        ".st-key-kpi-backlog-chart")
                ctx.close()
                if i:
                    out.append(row)
                    print(f"  try {i}: {row}", file=sys.stderr, flush=True)
            browser.close()
    finally:
        stop_app(proc)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.browser_timeline", description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--page", choices=PAGES, action="append")
    parser.add_argument("--tries", type=int, default=3)
    args = parser.parse_args(argv)
    for which in args.page or PAGES:
        rows = trace(args.database_url, which, args.tries)
        print(f"{which}: settled median {statistics.median(r['settled'] for r in rows):.0f} ms; "
              f"long tasks median {statistics.median(r['long_ms'] for r in rows):.0f} ms")
        for r in rows:
            print("   ", r)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
