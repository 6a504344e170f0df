"""Decisions per second through nginx, with one app process against two (issue [6/6]).

    python -m bench.proxy_bench [--database-url URL] [--browsers 6] [--seconds 45]

Each of N headless Chromium pages is an expert who opens a request by its link, ticks the
checklist, approves and waits for the app's confirmation, again and again, for a fixed time. The
same run is made with WORKERS=1 and WORKERS=2 (deploy/serve.py's own nginx configuration and app
processes). The browsers run on the same two cores as the app, so the figure is what this machine
can do end to end, not what the app could do with the browsers elsewhere.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import shutil
import statistics
import subprocess
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from playwright.async_api import expect

from bench.run import DATA_DIR, RESULTS, drop_database, embedded_url, normalize_url, throwaway_database

PASSWORD = "Bench#Proxy-1404x"


def _setup(url: str, experts: int, requests: int) -> dict[str, list[str]]:
    """`experts` Tehran experts and their share of new-membership requests with two documents each."""
    from db.engine import make_engine
    from db.migrate import upgrade
    from domain.jalali import now_tehran
    from domain.reference import TEHRAN_ID
    from tests.factories import add_document, file_request, make_member, make_staff, tiny_pdf, tiny_png

    engine = make_engine(url)
    try:
        upgrade(engine)
        make_staff(engine, "chief", ["admin"], None, password=PASSWORD)
        names = [f"tehran.expert{i}" for i in range(experts)]
        for name in names:
            make_staff(engine, name, ["expert"], TEHRAN_ID, password=PASSWORD)
        png, pdf = tiny_png(), tiny_pdf("Degree")
        codes: dict[str, list[str]] = {name: [] for name in names}
        now = now_tehran()
        for i in range(requests):
            out = file_request(engine, make_member(engine, TEHRAN_ID, last_name=f"آزمون{i}"), "new_membership",
                               submitted_at=now - timedelta(hours=i % 50))
            add_document(engine, out.request_id, png, "image/png", "national_card")
            add_document(engine, out.request_id, pdf, "application/pdf", "degree")
            codes[names[i % experts]].append(out.tracking_code)
        return codes
    finally:
        engine.dispose()


class Served:
    """deploy/serve.py's nginx and app processes, without its production checks (the bench
    database has the factories' accounts)."""

    def __init__(self, url: str, workers: int) -> None:
        from deploy import serve

        self.run_dir = Path(tempfile.mkdtemp(prefix="nezam-bench-"))
        os.chmod(self.run_dir, 0o755)
        cert, key = serve.selfsigned(self.run_dir / "tls")
        base = 8901
        self.cfg = serve.ServeConfig(workers=workers, app_port=base, https_port=8943, http_port=8980, bind="127.0.0.1",
                                     tls_cert=cert, tls_key=key, run_dir=self.run_dir / "run", stats_cache="10m")
        env = {**os.environ, "DATABASE_URL": url, "COOKIE_KEY": secrets.token_hex(32)}
        env.pop("APPTEST", None)
        os.environ["COOKIE_KEY"] = env["COOKIE_KEY"]
        conf = serve.render(self.cfg)
        self.procs = [serve.start_worker(port, serve.worker_env(env), self.cfg.run_dir) for port in self.cfg.ports]
        for port, proc in zip(self.cfg.ports, self.procs):
            serve.wait_healthy(port, proc)
        self.procs.append(subprocess.Popen([serve._nginx(), "-c", str(conf), "-p", str(self.cfg.run_dir),
                                            "-g", "daemon off;"]))
        self.url = f"https://127.0.0.1:{self.cfg.https_port}"

    def close(self) -> None:
        for p in self.procs:
            p.terminate()
        for p in self.procs:
            p.wait(10)
        shutil.rmtree(self.run_dir, ignore_errors=True)


async def _expert(browser, url: str, username: str, codes: list[str], until: float, times: list[float]) -> int:
    context = await browser.new_context(ignore_https_errors=True, locale="fa-IR", viewport={"width": 1400, "height": 900})
    page = await context.new_page()
    page.set_default_timeout(60_000)
    await page.goto(url)
    settled = "[data-testid='stApp'][data-test-script-state='notRunning']"
    await page.wait_for_selector(settled)
    await page.get_by_label("نام کاربری").fill(username)
    await page.get_by_label("گذرواژه").fill(PASSWORD)
    for attempt in range(3):  # a click that lands while six sessions start at once can be lost: again
        await page.get_by_role("button", name="ورود").click()
        try:
            await page.get_by_role("button", name="خروج").wait_for(timeout=20_000)
            break
        except Exception:  # noqa: BLE001 - playwright's timeout
            if attempt == 2:
                await page.screenshot(path=f"/tmp/proxy-bench-{username}.png")
                raise
    while not any(c["name"] == "nezam_backoffice_session" for c in await context.cookies()):
        await page.wait_for_timeout(100)
    done = 0
    for code in codes:
        if time.monotonic() > until:
            break
        start = time.monotonic()
        await page.goto(f"{url}/request?code={code}")
        approve = page.locator(".st-key-req-approve[data-stale='false'] button")
        await approve.wait_for()
        # One box for the whole checklist where the screen has it, else each item; then the confirmation.
        whole = page.locator(".st-key-req-check-all")
        boxes = page.locator(".st-key-req-check-all, .st-key-req-confirm") if await whole.count() else \
            page.locator("[class*='st-key-req-check-'], .st-key-req-confirm")
        for k in range(await boxes.count()):
            box = boxes.nth(k)
            await box.locator("label").click()
            await expect(box.locator("input")).to_be_checked(timeout=60_000)
        await expect(approve).to_be_enabled(timeout=60_000)
        await approve.click()
        await page.locator("[data-testid='stAlertContentSuccess']").first.wait_for()
        times.append(time.monotonic() - start)
        done += 1
    await context.close()
    return done


async def _drive(url: str, codes: dict[str, list[str]], seconds: float) -> tuple[int, float, list[float]]:
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                                           args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
        times: list[float] = []
        start = time.monotonic()
        done = await asyncio.gather(*(_expert(browser, url, name, todo, start + seconds, times)
                                      for name, todo in codes.items()))
        elapsed = time.monotonic() - start
        await browser.close()
    return sum(done), elapsed, times


def measure(server_url: str, browsers: int = 6, seconds: float = 45, requests: int = 600) -> dict:
    figures = {}
    for workers in (1, 2):
        name, url = throwaway_database(server_url)
        try:
            codes = _setup(url, browsers, requests)
            served = Served(url, workers)
            try:
                decided, elapsed, times = asyncio.run(_drive(served.url, codes, seconds))
            finally:
                served.close()
        finally:
            drop_database(server_url, name)
        figures[f"proxy_decisions_per_s_{workers}_process"] = round(decided / elapsed, 2)
        figures[f"proxy_decision_median_s_{workers}_process"] = round(statistics.median(times), 2) if times else None
        figures[f"proxy_decisions_{workers}_process"] = decided
    figures["proxy_browsers"] = browsers
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.proxy_bench", description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL"))
    parser.add_argument("--browsers", type=int, default=6)
    parser.add_argument("--seconds", type=float, default=45)
    args = parser.parse_args(argv)
    server = normalize_url(args.database_url) if args.database_url else embedded_url(DATA_DIR / "pg-bench")
    figures = measure(server, args.browsers, args.seconds)
    for k, v in figures.items():
        print(f"{k:<40} {v}")
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    results.setdefault("proxy", {}).update(figures)
    RESULTS.write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
