"""`make bench`: load the demo at each size into a throwaway database, measure, print a table and
write bench/results.json.

    python -m bench.run [--sizes 50000,1000000] [--database-url URL] [--no-load] [--no-standby] [--no-proxy]
                        [--no-browser] [--existing URL ...]

On the largest size (and each --existing database) the browser pass (bench/browser_bench.py) adds
browser_<page>_ms, the median click-to-settled time in Chromium, and server_<page>_ms, one script
run of the same page in AppTest; `--no-browser` skips it.

After the sizes, the load run (bench/load_bench.py: 32 workers, 2,000 concurrent decisions) reports
decisions_per_s; the standby run (bench/standby.py, its own primary and standby) the KPI service's
time on a read standby while 32 workers decide; and the proxy run (bench/proxy_bench.py) decisions
per second made in Chromium through nginx with one app process and with two. `--sizes ""` measures
the runs alone.

The server is BENCH_DATABASE_URL / --database-url (its database is only used to create and drop the
throwaway ones), else the embedded PostgreSQL under .data/pg-bench.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
import uuid
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from db.engine import DATA_DIR, embedded_url, make_engine, normalize_url, session_scope
from db.migrate import upgrade
from domain.jalali import now_tehran

RESULTS = Path(__file__).resolve().parent / "results.json"
ROOT = Path(__file__).resolve().parent.parent


def _admin(url: str) -> sa.Engine:
    return sa.create_engine(url, isolation_level="AUTOCOMMIT")


def throwaway_database(server_url: str) -> tuple[str, str]:
    name = f"bench_{uuid.uuid4().hex[:8]}"
    with _admin(server_url).connect() as c:
        c.execute(sa.text(f'CREATE DATABASE "{name}"'))
    return name, make_url(server_url).set(database=name).render_as_string(hide_password=False)


def drop_database(server_url: str, name: str) -> None:
    with _admin(server_url).connect() as c:
        c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def page_run_ms(url: str, page: str, username: str, runs: int = 5) -> float:
    """Server time of one script run of a page in AppTest (median of warm runs)."""
    from streamlit.testing.v1 import AppTest

    os.environ["DATABASE_URL"] = url
    os.environ["APP_MODE"] = "demo"
    os.environ["APPTEST"] = "1"
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.session_state["authentication_status"] = True
    at.session_state["username"] = username
    at.run()
    at.switch_page(page).run()
    if at.exception:
        raise RuntimeError(f"{page} failed: {at.exception[0].message}")
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        at.run()
        times.append((time.perf_counter() - start) * 1000)
    return round(statistics.median(times), 1)


def browser_figures(url: str, runs: int = 5) -> dict:
    """The browser pass (issue #18 item 1): click-to-settled medians in Chromium and, beside each,
    the server time of one script run (bench/browser_bench.py)."""
    from bench.browser_bench import measure, server_times

    return {**measure(url, runs), **server_times(url, runs)}


def measure_size(server_url: str, requests: int, now: datetime, browser: bool = False) -> dict:
    from bench.queue_bench import _tehran_actor, measure_queue
    from demo import load_demo

    name, url = throwaway_database(server_url)
    engine = make_engine(url)
    try:
        upgrade(engine)
        start = time.perf_counter()
        load_demo(engine, requests=requests, now=now)
        load_s = round(time.perf_counter() - start, 1)
        after_load = _after_load(engine)
        with session_scope(engine) as s:
            actor = _tehran_actor(s, "expert", "tehran.expert")
        row = {"requests": requests, "demo_load_s": load_s, **after_load, **measure_queue(engine, actor, now)}
        row["queue_page_run_ms"] = page_run_ms(url, "pages/queue.py", "tehran.expert")
        row.update(_kpi_figures(url, now))
        if browser:
            row.update(browser_figures(url))
        return row
    finally:
        engine.dispose()
        drop_database(server_url, name)


def measure_existing(url: str, now: datetime, browser: bool = False) -> dict:
    """The same figures on a database that already holds demo data (say, 5 million requests loaded
    once with `python -m demo --scale national`): no load, nothing dropped."""
    from bench.queue_bench import _tehran_actor, measure_queue

    engine = make_engine(url)
    try:
        after_load = _after_load(engine)
        with session_scope(engine) as s:
            actor = _tehran_actor(s, "expert", "tehran.expert")
        row = {**measure_queue(engine, actor, now), "demo_load_s": "", **after_load}
        row = {"requests": row.pop("requests"), **row}
        row["queue_page_run_ms"] = page_run_ms(url, "pages/queue.py", "tehran.expert")
        row.update(_kpi_figures(url, now))
        if browser:
            row.update(browser_figures(url))
        return row
    finally:
        engine.dispose()


def _after_load(engine: sa.Engine) -> dict:
    """What a bulk load leaves to do: the KPI rollups (the loader bypasses their triggers) and the
    visibility map that index-only scans need (autovacuum would get there in a while)."""
    from logic.kpi import rebuild_rollups

    start = time.perf_counter()
    rebuild_rollups(engine)
    rebuild_s = round(time.perf_counter() - start, 1)
    start = time.perf_counter()
    with _admin(engine.url.render_as_string(hide_password=False)).connect() as c:
        c.execute(sa.text("VACUUM (ANALYZE) request, stage_visit, payment, member, member_name_word, work_licence, kpi_visit_day, "
                          "kpi_request_day, kpi_day, kpi_licence_day, kpi_open_day, kpi_visit_hours, kpi_visit_month, "
                          "kpi_request_month, kpi_month, kpi_visit_hours_month, kpi_cycle_month"))
        size = c.execute(sa.text("SELECT pg_database_size(current_database())")).scalar()
    return {"kpi_rollup_rebuild_s": rebuild_s, "vacuum_analyze_s": round(time.perf_counter() - start, 1),
            "database_gb": round(size / 2**30, 2)}


def _kpi_figures(url: str, now: datetime) -> dict:
    from bench.kpi_bench import measure_kpis

    figures = measure_kpis(url, now)
    figures.pop("requests", None)
    return figures


def print_table(rows: list[dict]) -> None:
    keys = [k for k in rows[0] if k != "requests"]
    width = max(map(len, keys))
    print(f"{'':<{width}}  " + "  ".join(f"{r['requests']:>12,}" for r in rows))
    for k in keys:
        print(f"{k:<{width}}  " + "  ".join(f"{r.get(k, ''):>12}" for r in rows))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="50000,1000000", help="comma-separated request counts")
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL"))
    parser.add_argument("--no-load", action="store_true", help="skip the concurrent decisions run")
    parser.add_argument("--no-proxy", action="store_true",
                        help="skip decisions through nginx with one and two app processes (bench/proxy_bench.py)")
    parser.add_argument("--no-standby", action="store_true",
                        help="skip the read standby run (bench/standby.py, about a minute and a half)")
    parser.add_argument("--no-browser", action="store_true",
                        help="skip the browser pass (Chromium click-to-settled times and AppTest server times of "
                             "every page, on the largest size and each --existing database)")
    parser.add_argument("--existing", action="append", default=[], metavar="URL",
                        help="also measure this already-loaded database (repeatable; nothing is loaded or dropped)")
    args = parser.parse_args(argv)
    server = normalize_url(args.database_url) if args.database_url else embedded_url(DATA_DIR / "pg-bench")
    now = now_tehran()
    rows = []
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    for size in sizes:
        print(f"measuring at {size:,} requests ...", flush=True)
        rows.append(measure_size(server, size, now, browser=not args.no_browser and size == max(sizes)))
    for url in args.existing:
        print(f"measuring the existing database {make_url(normalize_url(url)).database} ...", flush=True)
        rows.append(measure_existing(normalize_url(url), now, browser=not args.no_browser))
    if rows:
        print_table(rows)
    load = None
    if not args.no_load:
        from bench.load_bench import measure_load
        print("measuring concurrent decisions (32 workers, 2,000 decisions) ...", flush=True)
        load = measure_load(server, time_limit_s=600)
        width = max(map(len, load))
        for k in ("decisions_per_s", *(k for k in load if k != "decisions_per_s")):
            print(f"{k:<{width}}  {str(load[k]):>12}")
    standby = None
    if not args.no_standby:
        from bench import standby as sb
        print(f"measuring the KPI service on a read standby while {sb.WORKERS} workers decide "
              f"({sb.REQUESTS:,} requests) ...", flush=True)
        standby = {"measured_at": now_tehran().isoformat(), **sb.measure(sb.REQUESTS, sb.WORKERS, sb.PORT, True)}
        sb.print_figures(standby)
    elif RESULTS.exists():  # keep the last standby figures (`python -m bench.standby` writes only those)
        standby = json.loads(RESULTS.read_text()).get("standby")
    proxy = None
    if not args.no_proxy:
        from bench.proxy_bench import measure as measure_proxy
        print("measuring decisions through nginx, one app process and two (6 browsers, 45 s each) ...", flush=True)
        proxy = measure_proxy(server)
        for k, v in proxy.items():
            print(f"{k:<40}  {v!s:>12}")
    elif RESULTS.exists():
        proxy = json.loads(RESULTS.read_text()).get("proxy")
    RESULTS.write_text(json.dumps({
        "measured_at": now.isoformat(), "machine": f"{platform.machine()} {os.cpu_count()} cores",
        "sizes": rows, "load": load, "standby": standby, "proxy": proxy}, ensure_ascii=False, indent=2))
    print(f"written to {RESULTS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
