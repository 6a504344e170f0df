"""The KPI page's service on a read standby while the primary is busy deciding.

    python -m bench.standby [--requests 20000] [--workers 32] [--port 55412]

Starts a primary and a streaming hot standby (bench.pg_pair, ports PORT and PORT + 1, in a temporary
directory), loads the demo with REQUESTS requests into the primary, rebuilds the rollups and waits
for the standby to replay it all. Then measures `logic.kpi.kpi_report` for Tehran's manager (what the
KPI page calls; median of 5 warm runs) on the standby and on the primary while idle, and again while
WORKERS workers (bench.load_bench's, in a separate process) make decisions on the primary. The goal
(issue [6/6]): the standby keeps the KPI page within 1.5x its idle time while the primary is under
that load. Figures are printed and written to bench/results.json under "standby".

Two machines' worth of separation on one: the primary and its workers run on one half of the CPUs,
the standby and the measurements on the other (`--shared-cpus` to let them mix). Other work on the
machine still competes for both halves, so each figure has its CPU time beside the wall time: the
standby backend's CPU ms per report (and this process's) is the work itself, whatever the waiting.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa

RUNS = 5
GOAL_X = 1.5
WARM_DECISIONS = 100
REQUESTS, WORKERS = 20_000, 32
PORT = int(os.environ.get("BENCH_STANDBY_PORT", 55412))  # the primary's; the standby's is the next


def _sched_ms(path: str) -> tuple[float, float] | None:
    """(ms on a CPU, ms waiting for one) a local process or thread (`/proc/PID` or
    `/proc/self/task/TID`) has had so far, or None if it cannot be read (a remote server, another OS)."""
    try:
        on_cpu, waiting = Path(path, "schedstat").read_text().split()[:2]
    except (OSError, ValueError):
        return None
    return int(on_cpu) / 1e6, int(waiting) / 1e6


def kpi_ms(engine: sa.Engine, primary: sa.Engine, runs: int = RUNS) -> dict[str, float | None]:
    """Medians of `runs` KPI reports for Tehran's manager on `engine`, after one warm-up: wall ms;
    the server backend's and this thread's ms on a CPU and ms waiting for one. The CPU times are
    the work itself; the waits are what the machine's other work costs it. What a read on the standby
    leaves to the primary (compaction) runs afterwards, untimed, as the page runs it after the report."""
    from bench.kpi_bench import MANAGER
    from db import read_replica as rr
    from db.engine import session_scope
    from domain import periods
    from domain.jalali import now_tehran
    from logic import kpi

    def once() -> dict[str, float | None]:
        now = now_tehran()
        with session_scope(engine) as s:
            pid = s.execute(sa.text("SELECT pg_backend_pid()")).scalar()
            me = f"/proc/self/task/{threading.get_native_id()}"
            server, client, start = _sched_ms(f"/proc/{pid}"), _sched_ms(me), time.perf_counter()
            kpi.kpi_report(s, MANAGER, periods.current_month(now), now)
            wall = (time.perf_counter() - start) * 1000
            server_after, client_after = _sched_ms(f"/proc/{pid}"), _sched_ms(me)
            upkeep = rr.left_for_primary(s)
        for job in upkeep:
            job(primary)
        figures = {"ms": wall}
        for who, before, after in (("server", server, server_after), ("client", client, client_after)):
            figures[f"{who}_cpu_ms"] = after[0] - before[0] if before and after else None
            figures[f"{who}_wait_ms"] = after[1] - before[1] if before and after else None
        return figures

    once()
    times = [once() for _ in range(runs)]
    return {k: None if any(t[k] is None for t in times) else round(statistics.median(t[k] for t in times), 1)
            for k in times[0]}


def _put(figures: dict, name: str, measured: dict) -> None:
    figures.update({f"kpi_{name}_{k}": v for k, v in measured.items()})


def _decide(url: str, workers: int, cpus: set[int] | None, ready, stop, out) -> None:
    """(child process) bench.load_bench's workers on the primary until `stop` is set."""
    # A session of its own: with the kernel's autogroup scheduling, CPU is shared out per session,
    # and the measuring process must not share its session's slice with 32 busy threads.
    os.setsid()
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

    def made() -> int:
        return sum(a.result == "ok" and a.actor_id is not None for a in list(run.attempts))

    window: dict[str, float] = {}

    def watch() -> None:
        # "Under load" once the workers have their pace: WARM_DECISIONS made.
        while made() < WARM_DECISIONS and not stop.wait(0.05):
            pass
        window.update(decisions=made(), start=time.perf_counter())
        ready.set()
        stop.wait()
        window.update(decisions=made() - window["decisions"], seconds=time.perf_counter() - window["start"])
        run.deadline = time.monotonic()  # the workers finish the attempt in hand and stop

    threading.Thread(target=watch, daemon=True).start()
    start = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(run.worker, range(workers)))
    seconds = time.perf_counter() - start
    out.put({"decisions": made(), "seconds": round(seconds, 1), "errors": sum(a.result == "error" for a in run.attempts),
             "window_decisions": window.get("decisions", 0), "window_s": window.get("seconds", 0.0)})
    engine.dispose()


def measure(requests: int, workers: int, port: int, split: bool) -> dict:
    """With `split`, the primary and its deciding workers run on one half of the CPUs and the standby
    and the KPI measurements on the other, as if they were two machines (this one has no second)."""
    cpus = sorted(os.sched_getaffinity(0))
    try:
        return _measure(requests, workers, port, cpus, split)
    finally:
        os.sched_setaffinity(0, cpus)  # measuring pinned this process to the standby's half


def _measure(requests: int, workers: int, port: int, cpus: list[int], split: bool) -> dict:
    from bench.pg_pair import PgPair
    from db import read_replica as rr
    from db.engine import make_engine
    from db.migrate import upgrade
    from demo import load_demo
    from logic.kpi import rebuild_rollups

    t0 = time.perf_counter()
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
        figures = {"requests": requests, "workers": workers,
                   # Other work on the machine shows in every figure: its load when measuring started.
                   "machine_load_1m": round(os.getloadavg()[0], 1), "cpus_primary_standby": (
                       "/".join(",".join(map(str, sorted(h))) for h in halves) if halves else "shared"),
                   "load_and_replay_s": load_s}
        _put(figures, "standby_idle", kpi_ms(standby, primary))
        _put(figures, "primary_idle", kpi_ms(primary, primary))
        ctx = mp.get_context("spawn")
        ready, stop, out = ctx.Event(), ctx.Event(), ctx.Queue()
        child = ctx.Process(target=_decide, args=(pair.primary_url, workers, halves and halves[0], ready, stop, out))
        child.start()
        try:
            if not ready.wait(300):
                raise RuntimeError("the deciding workers did not start")
            _put(figures, "standby_loaded", kpi_ms(standby, primary))
            with standby.connect() as c:
                lag = rr.standby_freshness(c, rr.DEFAULT_MAX_LAG_SECONDS)
            _put(figures, "primary_loaded", kpi_ms(primary, primary))
        finally:
            stop.set()
            done = out.get(timeout=120)
            child.join(60)
        figures["decisions_total"] = done["decisions"]
        figures["decisions_per_s"] = round(done["decisions"] / done["seconds"], 1) if done["seconds"] else 0
        # While the loaded figures were measured (after WARM_DECISIONS).
        figures["decisions_while_measuring"] = done["window_decisions"]
        figures["decisions_per_s_while_measuring"] = (
            round(done["window_decisions"] / done["window_s"], 1) if done["window_s"] else 0)
        figures["decision_errors"] = done["errors"]
        figures["standby_lag_s_under_load"] = round(lag.lag_seconds or 0.0, 2)
        figures["standby_loaded_x_idle"] = round(figures["kpi_standby_loaded_ms"] / figures["kpi_standby_idle_ms"], 2)
        figures["primary_loaded_x_idle"] = round(figures["kpi_primary_loaded_ms"] / figures["kpi_primary_idle_ms"], 2)
        figures["standby_within_goal"] = figures["standby_loaded_x_idle"] <= GOAL_X
        if figures["kpi_standby_idle_server_cpu_ms"]:
            figures["standby_server_cpu_loaded_x_idle"] = round(
                figures["kpi_standby_loaded_server_cpu_ms"] / figures["kpi_standby_idle_server_cpu_ms"], 2)
        with standby.connect() as c:  # the separation the figures rely on, as the kernel has it
            pid = c.execute(sa.text("SELECT pg_backend_pid()")).scalar()
        figures["standby_backend_cpus"] = ",".join(map(str, sorted(os.sched_getaffinity(pid))))
        primary.dispose()
        standby.dispose()
    figures["total_s"] = round(time.perf_counter() - t0, 1)
    return figures


def print_figures(figures: dict) -> None:
    width = max(map(len, figures))
    for k, v in figures.items():
        print(f"  {k:<{width}}  {str(v):>26}")


def main(argv: list[str] | None = None) -> int:
    from bench.run import RESULTS
    from domain.jalali import now_tehran

    parser = argparse.ArgumentParser(prog="python -m bench.standby", description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=REQUESTS)
    parser.add_argument("--workers", type=int, default=WORKERS)
    parser.add_argument("--shared-cpus", action="store_true",
                        help="let both servers use every CPU (default: split them, as two machines would be)")
    parser.add_argument("--port", type=int, default=PORT,
                        help="the primary's port; the standby gets the next one")
    args = parser.parse_args(argv)
    figures = {"measured_at": now_tehran().isoformat(), **measure(args.requests, args.workers, args.port, not args.shared_cpus)}
    print_figures(figures)
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    results["standby"] = figures
    RESULTS.write_text(json.dumps(results, ensure_ascii=False, indent=2))
    print(f"written to {RESULTS.name} (\"standby\")")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
