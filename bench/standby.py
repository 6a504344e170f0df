"""The KPI page's service on a read standby while the primary is busy deciding.

    python -m bench.standby [--requests 20000] [--workers 32] [--port 55412]

Starts a primary and a streaming hot standby (bench.pg_pair, ports PORT and PORT + 1, in a temporary
directory), loads the demo with REQUESTS requests into the primary, rebuilds the rollups and waits
for the standby to replay it all. Then measures `logic.kpi.kpi_report` for Tehran's manager (what the
KPI page calls; median of 5 warm runs) on the standby and on the primary while idle, and again while
WORKERS workers (bench.load_bench's, in a separate process) make decisions on the primary. The goal
(issue [6/6]): the standby keeps the KPI page within 1.5x its idle time while the primary is under
that load. Figures are printed and written to bench/results.json under "standby".
"""
from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import statistics
import time
from datetime import timedelta

import sqlalchemy as sa

RUNS = 5
GOAL_X = 1.5


def kpi_ms(engine: sa.Engine, primary: sa.Engine, runs: int = RUNS) -> float:
    """Median ms of `runs` KPI reports for Tehran's manager on `engine`, after one warm-up. What a
    read on the standby leaves to the primary (compaction) runs afterwards, untimed, as the page
    runs it after the report."""
    from bench.kpi_bench import MANAGER
    from db import read_replica as rr
    from db.engine import session_scope
    from domain import periods
    from domain.jalali import now_tehran
    from logic import kpi

    def once() -> float:
        now = now_tehran()
        start = time.perf_counter()
        with session_scope(engine) as s:
            kpi.kpi_report(s, MANAGER, periods.current_month(now), now)
            upkeep = rr.left_for_primary(s)
        elapsed = (time.perf_counter() - start) * 1000
        for job in upkeep:
            job(primary)
        return elapsed

    once()
    return round(statistics.median(once() for _ in range(runs)), 1)


def _decide(url: str, workers: int, cpus: set[int] | None, ready, stop, out) -> None:
    """(child process) bench.load_bench's workers on the primary until `stop` is set."""
    if cpus:
        os.sched_setaffinity(0, cpus)
    from bench import load_bench as lb
    from db.engine import make_engine
    from domain.jalali import now_tehran
    from domain.reference import TEHRAN_ID

    engine = make_engine(url, pool_size=workers + 4, max_overflow=4)
    actors = lb._staff(engine, workers, TEHRAN_ID)
    submitter = lb._Submitter(engine, TEHRAN_ID, seed=1405)
    submitter.submit(700, now_tehran() - timedelta(hours=3))
    run = lb._Run(engine, actors, 10**9, submitter, seed=1405)
    run.deadline = time.monotonic() + 900

    def watch() -> None:
        stop.wait()
        run.deadline = time.monotonic()  # the workers finish the attempt in hand and stop

    import threading
    threading.Thread(target=watch, daemon=True).start()
    from concurrent.futures import ThreadPoolExecutor
    ready.set()
    start = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(run.worker, range(workers)))
    seconds = time.perf_counter() - start
    made = sum(1 for a in run.attempts if a.result == "ok" and a.actor_id is not None)
    out.put({"decisions": made, "seconds": round(seconds, 1), "errors": sum(a.result == "error" for a in run.attempts)})
    engine.dispose()


def measure(requests: int, workers: int, port: int, split: bool) -> dict:
    """With `split`, the primary and its deciding workers run on one half of the CPUs and the standby
    and the KPI measurements on the other, as if they were two machines (this one has no second)."""
    from bench.pg_pair import PgPair
    from db import read_replica as rr
    from db.engine import make_engine
    from db.migrate import upgrade
    from demo import load_demo
    from logic.kpi import rebuild_rollups

    t0 = time.perf_counter()
    cpus = sorted(os.sched_getaffinity(0))
    halves = ({*cpus[:len(cpus) // 2]}, {*cpus[len(cpus) // 2:]}) if split and len(cpus) > 1 else None
    with PgPair(port, cpus=halves) as pair:
        primary = make_engine(pair.primary_url)
        standby = make_engine(pair.standby_url)
        upgrade(primary)
        start = time.perf_counter()
        load_demo(primary, requests=requests)
        rebuild_rollups(primary)
        with sa.create_engine(pair.primary_url, isolation_level="AUTOCOMMIT").connect() as c:
            c.execute(sa.text("VACUUM (ANALYZE)"))
        pair.wait_for_replay(timeout=600)
        load_s = round(time.perf_counter() - start, 1)
        print(f"loaded {requests:,} requests and replayed them on the standby in {load_s} s", flush=True)

        if halves:
            os.sched_setaffinity(0, halves[1])  # this process measures beside the standby
        figures = {"requests": requests, "workers": workers, "cpus_primary_standby": (
                       "/".join(",".join(map(str, sorted(h))) for h in halves) if halves else "shared"),
                   "load_and_replay_s": load_s,
                   "kpi_standby_idle_ms": kpi_ms(standby, primary), "kpi_primary_idle_ms": kpi_ms(primary, primary)}
        ctx = mp.get_context("spawn")
        ready, stop, out = ctx.Event(), ctx.Event(), ctx.Queue()
        child = ctx.Process(target=_decide, args=(pair.primary_url, workers, halves and halves[0], ready, stop, out))
        child.start()
        try:
            if not ready.wait(300):
                raise RuntimeError("the deciding workers did not start")
            time.sleep(2)  # let the workers reach their pace before measuring (a benchmark, not a test)
            figures["kpi_standby_loaded_ms"] = kpi_ms(standby, primary)
            with standby.connect() as c:
                lag = rr.standby_freshness(c, rr.DEFAULT_MAX_LAG_SECONDS)
            figures["kpi_primary_loaded_ms"] = kpi_ms(primary, primary)
        finally:
            stop.set()
            done = out.get(timeout=120)
            child.join(60)
        figures["decisions_during"] = done["decisions"]
        figures["decisions_per_s"] = round(done["decisions"] / done["seconds"], 1) if done["seconds"] else 0
        figures["decision_errors"] = done["errors"]
        figures["standby_lag_s_under_load"] = round(lag.lag_seconds or 0.0, 2)
        figures["standby_loaded_x_idle"] = round(figures["kpi_standby_loaded_ms"] / figures["kpi_standby_idle_ms"], 2)
        figures["primary_loaded_x_idle"] = round(figures["kpi_primary_loaded_ms"] / figures["kpi_primary_idle_ms"], 2)
        figures["standby_within_goal"] = figures["standby_loaded_x_idle"] <= GOAL_X
        primary.dispose()
        standby.dispose()
    figures["total_s"] = round(time.perf_counter() - t0, 1)
    return figures


def main(argv: list[str] | None = None) -> int:
    from bench.run import RESULTS
    from domain.jalali import now_tehran

    parser = argparse.ArgumentParser(prog="python -m bench.standby", description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--workers", type=int, default=32)
    parser.add_argument("--shared-cpus", action="store_true",
                        help="let both servers use every CPU (default: split them, as two machines would be)")
    parser.add_argument("--port", type=int, default=int(os.environ.get("BENCH_STANDBY_PORT", 55412)),
                        help="the primary's port; the standby gets the next one")
    args = parser.parse_args(argv)
    figures = {"measured_at": now_tehran().isoformat(), **measure(args.requests, args.workers, args.port, not args.shared_cpus)}
    width = max(map(len, figures))
    for k, v in figures.items():
        print(f"  {k:<{width}}  {str(v):>26}")
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    results["standby"] = figures
    RESULTS.write_text(json.dumps(results, ensure_ascii=False, indent=2))
    print(f"written to {RESULTS.name} (\"standby\")")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
