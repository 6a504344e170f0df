"""KPI and analytics timings against a database that already holds demo data, beside the naive
approach (read the rows with pandas and group them) for the same KPIs and a bare count(*) floor.

    DATABASE_URL=... python -m bench.kpi_bench            # the figures, as bench.run prints them
    python -m bench.kpi_bench --memory URL                # (child) peak RSS of the pages in AppTest
    python -m bench.kpi_bench --naive-memory URL          # (child) peak RSS of the naive approach

"Cold" is the first computation in a fresh process and connection pool, with the page's report
cache empty (what a manager opening the page gets); PostgreSQL's buffers and the OS cache are as
the load left them (dropping the OS cache needs root). "Warm" is the median of the next runs.
Peak memory is the peak RSS (VmHWM in /proc/self/status) of a child process that runs both pages
for a provincial and a central manager in AppTest, as the app process would.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from domain import periods
from db.engine import make_engine, session_scope
from logic import analytics as an
from logic.calendar import calendars_for
from logic import kpi
from logic.auth import Actor
from domain.jalali import TEHRAN, now_tehran, to_jalali
from domain.reference import TEHRAN_ID

ROOT = Path(__file__).resolve().parent.parent
RUNS = 5
NAIVE_NATIONAL_TREND_MAX = 1_500_000
MANAGER = Actor(0, "bench.manager", "bench", frozenset({"manager"}), TEHRAN_ID)
CENTRAL = Actor(0, "bench.central", "bench", frozenset({"manager", "board"}), None)


def _ms(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 1)


def timed(fn, runs: int = RUNS) -> tuple[float, float, object]:
    """(first run ms, median of the next `runs` ms, first result)."""
    start = time.perf_counter()
    result = fn()
    cold = _ms(start)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(_ms(start))
    return cold, round(statistics.median(times), 1), result


# --- the naive approach ---------------------------------------------------------------------------

def naive_kpis(engine: sa.Engine, actor: Actor, period: periods.Period, now: datetime, *, trend: bool = True) -> dict:
    """The same KPIs the usual way: read the rows of the scope and the window into pandas, compute
    working-hour ages with the calendar row by row, group with pandas. Without `trend` only the
    period's rows are read (the twelve-month trend is left out)."""
    import pandas as pd

    provinces = kpi.scope_provinces(actor)
    months = periods.trend_months(period) if trend else []
    window = (datetime.combine(months[0].start, datetime.min.time(), tzinfo=TEHRAN) if trend else period.start,
              period.end)
    ids = ",".join(map(str, provinces))
    with session_scope(engine) as s:
        cals = calendars_for(s, provinces)
    with engine.connect() as c:
        open_rows = pd.read_sql(sa.text(
            f"SELECT province_id, type_code, stage_code, status, stage_entered_at, stage_hours_used, stage_due_at, "
            f"stage_risk_at, assignee_id FROM request WHERE status IN ('open', 'returned') AND province_id IN ({ids})"),
            c)
        visits = pd.read_sql(sa.text(
            f"SELECT province_id, type_code, stage_code, left_at, met, outcome, actor_id, hours_used FROM stage_visit "
            f"WHERE left_at >= :a AND left_at < :b AND province_id IN ({ids})"), c, params={"a": window[0], "b": window[1]})
        closed = pd.read_sql(sa.text(
            f"SELECT province_id, type_code, status, closed_at, met_sla, process_hours_used FROM request "
            f"WHERE closed_at >= :a AND closed_at < :b AND province_id IN ({ids})"), c,
            params={"a": window[0], "b": window[1]})
    # Backlog: age of the current stage per row, with the province's calendar.
    running = open_rows[(open_rows.status == "open") & open_rows.stage_due_at.notna()].copy()

    def age_bucket(r):
        cal = cals[r.province_id]
        age = float(r.stage_hours_used) + cal.working_hours_between(r.stage_entered_at, now)
        return sum(age >= k * cal.day_hours for k in kpi.AGE_BUCKETS_DAYS)
    running["bucket"] = running.apply(age_bucket, axis=1) if len(running) else []
    keys = ["province_id", "type_code", "stage_code"]
    backlog = {}
    for key, g in open_rows.groupby(keys):
        paused = int(((g.status == "returned") | g.stage_due_at.isna()).sum())
        backlog[key] = {"total": len(g), "paused": paused}
    for key, g in running.groupby(keys):
        counts = g.bucket.value_counts()
        backlog[key]["ages"] = [int(counts.get(i, 0)) for i in range(4)]
        backlog[key]["breached"] = int((g.stage_due_at < now).sum())
        backlog[key]["at_risk"] = int(((g.stage_due_at >= now) & (g.stage_risk_at < now)).sum())
    in_period = visits[(visits.left_at >= period.start) & (visits.left_at < period.end)]
    stages = {k: [len(g), int(g.met.notna().sum()), int((g.met == True).sum()),  # noqa: E712
                  int((g.outcome == "return").sum())] for k, g in in_period.groupby(keys)}
    closed_p = closed[(closed.closed_at >= period.start) & (closed.closed_at < period.end)]
    requests = {k: [len(g), int(g.met_sla.fillna(False).sum())] for k, g in closed_p.groupby(["province_id", "type_code", "status"])}
    trend = []
    for mo in months:
        lo = datetime.combine(mo.start, datetime.min.time(), tzinfo=TEHRAN)
        hi = datetime.combine(mo.end, datetime.min.time(), tzinfo=TEHRAN)
        v = visits[(visits.left_at >= lo) & (visits.left_at < hi) & visits.met.notna()]
        r = closed[(closed.closed_at >= lo) & (closed.closed_at < hi) & closed.type_code.isin(kpi.JUDGED_TYPES)]
        trend.append((len(v), int((v.met == True).sum()), len(r), int(r.met_sla.fillna(False).sum())))  # noqa: E712
    done = closed_p[closed_p.status == "completed"].copy()
    done["days"] = done.process_hours_used.astype(float) / done.province_id.map({p: c.day_hours for p, c in cals.items()})
    cycle = {t: (len(g), float(g.days.quantile(0.5)), float(g.days.quantile(0.9))) for t, g in done.groupby("type_code")}
    people = in_period[in_period.actor_id.notna()]
    if len(provinces) > 1:
        with engine.connect() as c:
            central = {r[0] for r in c.execute(sa.text("SELECT id FROM staff_user WHERE province_id IS NULL"))}
        people = people[people.actor_id.isin(central)]
    experts = {int(a): (len(g), int(g.met.notna().sum()), float(g.hours_used.astype(float).median()))
               for a, g in people.groupby("actor_id")}
    return {"backlog": backlog, "stages": stages, "requests": requests, "trend": trend, "cycle": cycle,
            "experts": experts}


def sql_recount(engine: sa.Engine, actor: Actor, period: periods.Period, trend: list[periods.Month]) -> dict:
    """The same numbers as `naive_kpis` (backlog sizes without the ages), recounted in plain SQL from
    the raw rows (GROUP BY and percentile_cont over every row of the period, no rollup): the check
    for a year, whose rows do not fit in pandas on this machine at 5M requests."""
    provinces = kpi.scope_provinces(actor)
    with session_scope(engine) as s:
        cals = calendars_for(s, provinces)
    p = {"pids": list(provinces), "a": period.start, "b": period.end}
    scope = "province_id = ANY(CAST(:pids AS smallint[]))"
    out: dict = {}
    with engine.connect() as c:
        c.execute(sa.text("SET work_mem = '256MB'"))
        out["backlog"] = {(r.province_id, r.type_code, r.stage_code): {"total": r.total, "paused": r.paused}
                          for r in c.execute(sa.text(
            f"SELECT province_id, type_code, stage_code, count(*) AS total, "
            f"count(*) FILTER (WHERE status = 'returned' OR stage_due_at IS NULL) AS paused FROM request "
            f"WHERE status IN ('open', 'returned') AND {scope} GROUP BY 1, 2, 3"), p)}
        out["stages"] = {(r.province_id, r.type_code, r.stage_code): [r.d, r.v, r.m, r.ret] for r in c.execute(sa.text(
            f"SELECT province_id, type_code, stage_code, count(*) AS d, count(met) AS v, "
            f"count(*) FILTER (WHERE met) AS m, count(*) FILTER (WHERE outcome = 'return') AS ret FROM stage_visit "
            f"WHERE left_at >= :a AND left_at < :b AND {scope} GROUP BY 1, 2, 3"), p)}
        out["requests"] = {(r.province_id, r.type_code, r.status): [r.n, r.m] for r in c.execute(sa.text(
            f"SELECT province_id, type_code, status, count(*) AS n, count(*) FILTER (WHERE met_sla) AS m FROM request "
            f"WHERE closed_at >= :a AND closed_at < :b AND {scope} GROUP BY 1, 2, 3"), p)}
        bounds = [datetime.combine(m.start, datetime.min.time(), tzinfo=TEHRAN) for m in trend]
        bounds.append(datetime.combine(trend[-1].end, datetime.min.time(), tzinfo=TEHRAN))
        tp = {**p, "t0": bounds[0], "t1": bounds[-1], "bounds": bounds}
        visits = {r.b: (r.v, r.m) for r in c.execute(sa.text(
            f"SELECT width_bucket(left_at, CAST(:bounds AS timestamptz[])) AS b, count(*) AS v, "
            f"count(*) FILTER (WHERE met) AS m FROM stage_visit WHERE met IS NOT NULL AND left_at >= :t0 "
            f"AND left_at < :t1 AND {scope} GROUP BY 1"), tp)}
        closed = {r.b: (r.n, r.m) for r in c.execute(sa.text(
            f"SELECT width_bucket(closed_at, CAST(:bounds AS timestamptz[])) AS b, count(*) AS n, "
            f"count(*) FILTER (WHERE met_sla) AS m FROM request WHERE closed_at >= :t0 AND closed_at < :t1 "
            f"AND type_code = ANY(CAST(:judged AS text[])) AND {scope} GROUP BY 1"), {**tp, "judged": list(kpi.JUDGED_TYPES)})}
        out["trend"] = [visits.get(i, (0, 0)) + closed.get(i, (0, 0)) for i in range(1, len(trend) + 1)]
        out["cycle"] = {r.type_code: (r.n, r.pct[0], r.pct[1]) for r in c.execute(sa.text(
            f"SELECT r.type_code, count(*) AS n, percentile_cont(ARRAY[0.5, 0.9]) WITHIN GROUP "
            f"(ORDER BY r.process_hours_used::float8 / d.day_hours) AS pct FROM request r "
            f"JOIN unnest(CAST(:dp AS smallint[]), CAST(:dh AS float8[])) AS d(province_id, day_hours) "
            f"ON d.province_id = r.province_id WHERE r.status = 'completed' AND r.closed_at >= :a "
            f"AND r.closed_at < :b AND r.{scope} GROUP BY 1"),
            {**p, "dp": list(provinces), "dh": [cals[x].day_hours for x in provinces]})}
        who = ("actor_id IN (SELECT id FROM staff_user WHERE province_id IS NULL)" if len(provinces) > 1
               else "actor_id IS NOT NULL")
        out["experts"] = {r.actor_id: (r.n, r.v, r.med) for r in c.execute(sa.text(
            f"SELECT actor_id, count(*) AS n, count(met) AS v, percentile_cont(0.5) WITHIN GROUP "
            f"(ORDER BY hours_used::float8) AS med FROM stage_visit WHERE left_at >= :a AND left_at < :b "
            f"AND {scope} AND {who} GROUP BY 1"), p)}
    return out


def same_numbers(report: kpi.KpiReport, naive: dict) -> bool:
    backlog = {(b.province_id, b.type_code, b.stage_code): b for b in report.backlog}
    ok = set(backlog) == set(naive["backlog"])
    for key, n in naive["backlog"].items():
        b = backlog.get(key)
        ok &= b is not None and (b.total, b.paused) == (n["total"], n["paused"])
        if b is not None and "ages" in n:
            ok &= (b.ages, b.breached, b.at_risk) == (n["ages"], n["breached"], n["at_risk"])
    ok &= {(s.province_id, s.type_code, s.stage_code): [s.decisions, s.verdicts, s.met, s.returns]
           for s in report.stages if s.decisions} == naive["stages"]
    ok &= {(r.province_id, r.type_code, r.status): [r.closed, r.met] for r in report.requests if r.closed} \
        == naive["requests"]
    if naive["trend"]:
        ok &= [(p.visit_verdicts, p.visit_met, p.requests_closed, p.requests_met) for p in report.trend] \
            == naive["trend"]
    for c in report.cycle_by_type:
        n = naive["cycle"].get(c.key)
        ok &= n is not None and n[0] == c.completed and abs(n[1] - c.median_days) < 1e-9 \
            and abs(n[2] - c.p90_days) < 1e-9
    for e in report.experts:
        n = naive["experts"].get(e.actor_id)
        if e.decisions:
            ok &= n is not None and n[:2] == (e.decisions, e.verdicts) and abs(n[2] - e.median_hours) < 1e-9
    return bool(ok)


# --- the measurements -----------------------------------------------------------------------------

def _report(engine, actor, period, now):
    with session_scope(engine) as s:
        return kpi.kpi_report(s, actor, period, now)


def _analytics(engine, actor, period, now):
    with session_scope(engine) as s:
        return an.analytics_report(s, actor, period, now)


def _child(flag: str, url: str) -> dict:
    out = subprocess.run([sys.executable, "-m", "bench.kpi_bench", flag, url], cwd=ROOT, capture_output=True,
                         text=True, timeout=3600, env={**os.environ, "PYTHONWARNINGS": "ignore"})
    if out.returncode != 0:
        raise RuntimeError(f"{flag} failed: {out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def measure_kpis(url: str, now: datetime | None = None) -> dict:
    """Every figure of the KPI benchmark, as a flat dict of numbers (ms unless named otherwise)."""
    now = now or now_tehran()
    # A month with a full share of data even early in a month: the one holding the day 15 days ago.
    period = periods.current_month(now - timedelta(days=15))
    out: dict = {"period": period.label}
    engine = make_engine(url)  # a fresh pool: no connection has planned these queries yet
    try:
        with engine.connect() as c:
            out["requests"] = c.execute(sa.text("SELECT count(*) FROM request")).scalar()
            out["open_in_tehran"] = c.execute(sa.text(
                "SELECT count(*) FROM request WHERE status = 'open' AND province_id = :p"), {"p": TEHRAN_ID}).scalar()
        for name, actor in (("manager", MANAGER), ("central", CENTRAL)):
            cold, warm, report = timed(lambda actor=actor: _report(engine, actor, period, now))
            out[f"kpi_{name}_cold_ms"], out[f"kpi_{name}_warm_ms"] = cold, warm
            cold, warm, _ = timed(lambda actor=actor: _analytics(engine, actor, period, now))
            out[f"analytics_{name}_cold_ms"], out[f"analytics_{name}_warm_ms"] = cold, warm
            start = time.perf_counter()
            naive = naive_kpis(engine, actor, period, now, trend=_naive_trend(actor, out["requests"]))
            out[f"naive_{name}_ms"] = _ms(start)
            out[f"kpi_{name}_same_numbers"] = same_numbers(report, naive)
            out[f"speedup_{name}_x"] = round(out[f"naive_{name}_ms"] / out[f"kpi_{name}_cold_ms"], 1)
        year = periods.year_period(to_jalali(period.start).year)
        # A fresh pool again: the year's first report is "cold" as the month's is.
        year_engine = make_engine(url)
        try:
            for name, actor in (("manager", MANAGER), ("central", CENTRAL)):
                cold, warm, report = timed(lambda actor=actor: _report(year_engine, actor, year, now), 3)
                out[f"kpi_{name}_year_cold_ms"], out[f"kpi_{name}_year_warm_ms"] = cold, warm
                cold, warm, _ = timed(lambda actor=actor: _analytics(year_engine, actor, year, now), 3)
                out[f"analytics_{name}_year_cold_ms"], out[f"analytics_{name}_year_warm_ms"] = cold, warm
                out[f"kpi_{name}_year_same_numbers"] = same_numbers(
                    report, sql_recount(engine, actor, year, periods.trend_months(year)))
        finally:
            year_engine.dispose()
        with engine.connect() as c:
            out["count_star_ms"] = timed(lambda: c.execute(sa.text("SELECT count(*) FROM request")).scalar())[1]
    finally:
        engine.dispose()
    for name, flag in (("app_peak_rss_mb", "--memory"), ("naive_peak_rss_mb", "--naive-memory")):
        try:
            out[name] = _child(flag, url)["max_rss_mb"]
        except RuntimeError as exc:  # the timings above still count
            out[name] = f"failed: {str(exc).splitlines()[-1][:80]}"
    return out


def _max_rss_mb() -> float:
    """This process's peak resident memory: VmHWM of /proc/self/status (getrusage's ru_maxrss would
    also count the parent's peak, which a forked child inherits)."""
    try:
        with open("/proc/self/status") as fh:
            kib = next(int(line.split()[1]) for line in fh if line.startswith("VmHWM:"))
    except (OSError, StopIteration):
        kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(kib / 1024, 1)


def _pages_memory(url: str) -> dict:
    """Run both pages for a provincial and a central manager in AppTest, as the app process would."""
    from streamlit.testing.v1 import AppTest

    from tests.apptest import sign_in  # a live server-side session, as the login form leaves

    os.environ["DATABASE_URL"] = url
    os.environ["APP_MODE"] = "demo"
    os.environ["APPTEST"] = "1"  # as tests/apptest.py: no rerun out of the legacy pages mode
    with make_engine(url).connect() as c:
        users = {r[0] for r in c.execute(sa.text(
            "SELECT username FROM staff_user WHERE username IN ('tehran.manager', 'central.manager', 'tehran.board')"))}
    timings = {}
    for username in sorted(users):
        for page in ("pages/kpi.py", "pages/analytics.py"):
            if page.endswith("kpi.py") and username.endswith("board"):
                continue
            at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=600)
            sign_in(at, url, username)
            at.run()
            start = time.perf_counter()
            at.switch_page(page).run()
            timings[f"{username} {page}"] = _ms(start)
            if at.exception:
                raise RuntimeError(f"{page} as {username}: {at.exception[0].message}")
    return {"max_rss_mb": _max_rss_mb(), "page_runs_ms": timings}


def _naive_trend(actor: Actor, requests: int) -> bool:
    """The naive trend reads twelve months of stage visits into pandas: for all provinces past a couple
    of million requests that is several gigabytes on a shared machine, so it is left out there (the
    naive figure is then a lower bound)."""
    return actor.province_id is not None or requests <= NAIVE_NATIONAL_TREND_MAX


def _naive_memory(url: str) -> dict:
    engine = make_engine(url)
    now = now_tehran()
    with engine.connect() as c:
        requests = c.execute(sa.text("SELECT count(*) FROM request")).scalar()
    for actor in (MANAGER, CENTRAL):
        naive_kpis(engine, actor, periods.current_month(now - timedelta(days=15)), now,
                   trend=_naive_trend(actor, requests))
    return {"max_rss_mb": _max_rss_mb()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.kpi_bench", description=__doc__.split("\n")[0])
    parser.add_argument("--memory", metavar="URL")
    parser.add_argument("--naive-memory", metavar="URL")
    parser.add_argument("--database-url")
    args = parser.parse_args(argv)
    if args.memory:
        print(json.dumps(_pages_memory(args.memory), ensure_ascii=False))
        return 0
    if args.naive_memory:
        print(json.dumps(_naive_memory(args.naive_memory)))
        return 0
    from db.engine import database_url
    figures = measure_kpis(args.database_url or database_url())
    width = max(map(len, figures))
    for name, value in figures.items():
        print(f"  {name:<{width}}  {value:>10}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
