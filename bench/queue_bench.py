"""The queue's SQL timings against a database that already holds demo data.

    DATABASE_URL=... python -m bench.queue_bench [--username tehran.expert]

Times are medians of warm runs (the first run of each query is discarded: it pays for plan
caching and cold buffers, which a working day amortises).
"""
from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from datetime import datetime

import sqlalchemy as sa

from db.engine import database_url, make_engine, session_scope
from db.models import Member, Request, StaffUser
from logic import queue as q
from logic.auth import Actor, actor_from_row
from domain.jalali import now_tehran
from domain.reference import TEHRAN_ID

RUNS = 5


def _median_ms(fn: Callable[[], object], runs: int = RUNS) -> float:
    fn()  # warm-up
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return round(statistics.median(times), 2)


def _tehran_actor(session, role: str, username: str | None = None) -> Actor:
    stmt = sa.select(StaffUser).where(StaffUser.is_active, StaffUser.roles.contains([role]))
    stmt = stmt.where(StaffUser.username == username) if username else \
        stmt.where(StaffUser.province_id == TEHRAN_ID).order_by(StaffUser.id)
    user = session.scalars(stmt.limit(1)).first()
    if user is None:
        raise SystemExit(f"no active {role} in Tehran: load the demo data first (python -m demo)")
    return actor_from_row(user)


def measure_queue(engine: sa.Engine, actor: Actor, now: datetime) -> dict:
    """First page and count of the "group" view for `actor`, plus the other hot queries of the page."""
    group = q.QueueFilter(view="group")
    with session_scope(engine) as s:
        first = q.queue_page(s, actor, group, now)
        sample = s.execute(sa.select(Member.national_id, Request.tracking_code)
                           .join(Member, Member.id == Request.member_id)
                           .where(Request.province_id == actor.province_id, Request.status == "open")
                           .limit(1)).first()
        figures = {
            "requests": s.scalar(sa.select(sa.func.count()).select_from(Request)),
            "open_in_province": s.scalar(sa.select(sa.func.count()).select_from(Request).where(
                Request.province_id == actor.province_id, Request.status == "open")),
            "group_total": first.total,
            "page_ms": _median_ms(lambda: q.queue_page(s, actor, group, now)),
            "count_ms": _median_ms(lambda: q.count_matching(s, actor, group, now)),
            "view_counts_ms": _median_ms(lambda: q.view_counts(s, actor, now)),
        }
        if sample is not None:
            for name, text in (("search_national_id_ms", sample.national_id),
                               ("search_tracking_code_ms", sample.tracking_code),
                               ("search_name_ms", "رضا")):
                flt = q.QueueFilter(view="group", search=text)
                figures[name] = _median_ms(lambda flt=flt: q.queue_page(s, actor, flt, now))
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.queue_bench", description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", help="default: DATABASE_URL, else the embedded server")
    parser.add_argument("--username", help="the expert to measure as (default: the first Tehran expert)")
    args = parser.parse_args(argv)
    engine = make_engine(args.database_url or database_url())
    try:
        with session_scope(engine) as s:
            actor = _tehran_actor(s, "expert", args.username)
        figures = measure_queue(engine, actor, now_tehran())
    finally:
        engine.dispose()
    print(f"queue benchmark as {actor.username} (median of {RUNS} warm runs)")
    width = max(map(len, figures))
    for name, value in figures.items():
        print(f"  {name:<{width}}  {value:>10}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
