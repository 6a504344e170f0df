"""Manager KPIs for a Jalali period, computed in the database.

Design (docs/ARCHITECTURE.md, "KPIs at national scale"):

- Additive numbers (counts of finished stage visits and closed requests, met counts, monthly
  trends) come from daily rollups that triggers keep in the same transaction as each decision
  (migration 0007); a period is a range of Tehran days, so any Jalali month, season, year or pair
  of dates sums whole rows. Whole Jalali months are read from the month level of each rollup
  (migration 0022), so a year sums twelve rows per key. `ensure_rollups` rebuilds them once after a
  bulk load.
- Medians and 90th percentiles are not additive: the values `percentile_cont` would give, found
  from histograms of whole hours (`kpi_visit_hours`, `kpi_cycle_month`) and read for the few rows
  around each rank only.
- The open backlog is a snapshot of "now": one index-only pass over the open requests. The age of
  a stage in working days is bucketed exactly without computing it per row: a running stage's
  deadline satisfies pos(due) = pos(entered) + limit - used (pos: working time since an epoch, see
  domain.calendar), so age = used + pos(now) - pos(entered) = limit + pos(now) - pos(due), and
  "age >= k days" is "due <= T", where T is the latest moment whose position is
  pos(now) + limit - k * day. Python computes T per province, limit and k with the province's
  calendar (a few hundred moments at most); SQL compares. A stage that overran its limit before a
  return has its deadline at its resumption (nothing left), so for those few rows (found by
  `stage_hours_used > limit`) the bucket is corrected from the calendar directly.

Every query is limited to the provinces the actor may see (`scope_provinces`): a provincial
manager gets their own province whatever filter the page sends; central staff all provinces or one.
"""
from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from db.read_replica import NeedsPrimary, after_read_on_primary
from domain.actor import Actor
from domain.calendar import US_PER_HOUR, BusinessCalendar
from domain.clock import US_PER_UNIT, units_of_days
from domain.errors import PermissionDenied, ValidationError
from domain.jalali import TEHRAN, format_jalali_date
from domain.periods import Month, Period, months_between, trend_months
from domain.processes import JUDGED_TYPES, NO_LIMIT_FA, NO_LIMIT_STAGES, PROCESSES, limit_decimal, limit_fa
from domain.reference import PROVINCE_NAMES_FA, PROVINCES
from domain.roles import Role
from logic.calendar import calendars_for

T = TypeVar("T")
ALL_PROVINCE_IDS: tuple[int, ...] = tuple(pid for pid, _, _ in PROVINCES)
AGE_BUCKETS_DAYS = (1, 3, 7)
AGE_LABELS_FA = ("تا ۱ روز", "۱ تا ۳ روز", "۳ تا ۷ روز", "بیش از ۷ روز")
LIST_LIMIT = 200

TYPE_NAMES_FA = {code: p.name_fa for code, p in PROCESSES.items()}
STAGE_NAMES_FA = {(code, s.code): s.name_fa for code, p in PROCESSES.items() for s in p.stages}
# Stages with a limit: the only ones with deadlines, so with ages measured against them. A staff stage
# the seed gives no time (`limit_days` None) has visits but no deadline or verdict.
RUNNING_STAGES = tuple((code, s.code, s.limit_days) for code, p in PROCESSES.items() for s in p.stages
                       if s.clock_runs and s.limit_days is not None)
TYPE_ORDER = {code: i for i, code in enumerate(PROCESSES)}
STAGE_ORDER = {(code, s.code): (TYPE_ORDER[code], i) for code, p in PROCESSES.items() for i, s in enumerate(p.stages)}


# --- periods ------------------------------------------------------------------------------------

def month_bucket_sql(column, months: Sequence[Month]) -> sa.ColumnElement[int]:
    """1-based index of the month a date column falls in (0 before the first)."""
    bounds = [mo.start for mo in months] + [months[-1].end]
    return sa.func.width_bucket(column, sa.cast(sa.literal(bounds, ARRAY(sa.Date)), ARRAY(sa.Date)))


# --- who sees what ------------------------------------------------------------------------------

KPI_ROLES = (Role.MANAGER,)


def require_kpi_role(actor: Actor, roles: Iterable[str] = KPI_ROLES) -> None:
    if not actor.has(*roles):
        raise PermissionDenied("شما به این گزارش دسترسی ندارید.")


def scope_provinces(actor: Actor, province_id: int | None = None) -> tuple[int, ...]:
    """The provinces a query may read. A provincial user gets their own province and nothing else:
    asking for another (by changing a filter or a URL) is refused, not silently widened."""
    if actor.province_id is not None:
        if province_id is not None and province_id != actor.province_id:
            raise PermissionDenied("شما فقط آمار استان خود را می‌بینید.")
        return (actor.province_id,)
    if province_id is None:
        return ALL_PROVINCE_IDS
    if province_id not in PROVINCE_NAMES_FA:
        raise ValidationError("استان انتخاب‌شده وجود ندارد.")
    return (province_id,)


def _in_scope(column, provinces: Sequence[int]) -> sa.ColumnElement[bool]:
    return column == provinces[0] if len(provinces) == 1 else column == sa.func.any(
        sa.literal(list(provinces), ARRAY(sa.SmallInteger)))


def prepare(session: Session) -> bool:
    """Session settings for the KPI queries: memory for in-memory sorts (percentiles) and no JIT
    (its compile time exceeds what these sub-second queries save). Also makes sure the rollups are
    in step with the facts (`ensure_rollups`); True when it had to rebuild them in this transaction."""
    session.execute(sa.text("SET LOCAL work_mem = '64MB'"))
    session.execute(sa.text("SET LOCAL jit = off"))
    return ensure_rollups(session)


COMPACT_AFTER = 5000  # delta rows added by the triggers since the last compaction


def ensure_rollups(session: Session) -> bool:
    """Rebuild the rollups if a bulk load or TRUNCATE left them stale (True when it did), and fold
    the triggers' delta rows into the base rows once enough have piled up (readers sum both, so
    this only keeps the reads short). On a read standby, which cannot write, stale rollups send the
    read to the primary (`NeedsPrimary`) and the compaction is left to the primary after the read."""
    state = session.execute(sa.text(
        "SELECT dirty, pg_is_in_recovery() AS standby FROM kpi_state WHERE id = 1")).one()
    if state.standby:
        if state.dirty:
            raise NeedsPrimary("the KPI rollups are stale until the primary rebuilds them")
        if _compaction_due(session):
            after_read_on_primary(session, compact_if_due)
        return False
    if state.dirty:
        # One rebuild at a time; the others wait for it and then find the flag cleared.
        session.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext('kpi_rebuild'))"))
        if session.execute(sa.text("SELECT dirty FROM kpi_state WHERE id = 1")).scalar():
            session.execute(sa.text("SELECT kpi_rebuild()"))
            return True
        return False
    _compact_if_due(session)
    return False


def _compaction_due(conn: Session | sa.Connection) -> bool:
    return conn.execute(sa.text(
        "SELECT (SELECT last_value FROM kpi_delta_seq) - compacted_upto > :n FROM kpi_state WHERE id = 1"),
        {"n": COMPACT_AFTER}).scalar()


def _compact_if_due(conn: Session | sa.Connection) -> None:
    if _compaction_due(conn) and conn.execute(
            sa.text("SELECT pg_try_advisory_xact_lock(hashtext('kpi_compact'))")).scalar():
        conn.execute(sa.text("SELECT kpi_compact()"))


def compact_if_due(engine: sa.Engine) -> None:
    """Compact on `engine` (the primary) if the deltas have piled up and nobody else is at it: what
    a KPI read on the standby leaves to the primary."""
    with engine.begin() as conn:
        _compact_if_due(conn)


def rebuild_rollups(engine: sa.Engine) -> None:
    """Recompute every rollup from the fact tables (after a bulk load; the app does it by itself)."""
    with engine.begin() as conn:
        conn.execute(sa.text("SELECT kpi_rebuild()"))


def compact_rollups(engine: sa.Engine) -> None:
    """Fold the triggers' delta rows into one row per key (the KPI pages also do it by themselves)."""
    with engine.begin() as conn:
        conn.execute(sa.text("SELECT kpi_compact()"))


# --- calendars ----------------------------------------------------------------------------------

def _limit_us(limit_days: int, cal: BusinessCalendar) -> int:
    """A stage's limit as the workflow stores it (whole clock units), in microseconds."""
    return units_of_days(limit_days, cal) * US_PER_UNIT


def age_thresholds(cal: BusinessCalendar, now: datetime, limit_days: int) -> tuple[datetime, ...]:
    """For a stage with this limit: T_k for k in AGE_BUCKETS_DAYS, with age >= k working days
    exactly when the stage's stored deadline is at or before T_k."""
    pos_now = cal.position(now)
    limit = _limit_us(limit_days, cal)
    return tuple(cal.latest_at_position(pos_now + limit - k * cal.day_us) for k in AGE_BUCKETS_DAYS)


def age_bucket(age_us: int, day_us: int) -> int:
    """0: under 1 working day, 1: 1-3, 2: 3-7, 3: 7 or more (age and day in working microseconds)."""
    return sum(age_us >= k * day_us for k in AGE_BUCKETS_DAYS)


# --- result rows --------------------------------------------------------------------------------

@dataclass
class BacklogRow:
    province_id: int
    type_code: str
    stage_code: str
    total: int = 0
    paused: int = 0                      # returned to the member, or the member's own stage; at a stage
                                         # without a limit, every request there (nothing is due)
    ages: list[int] = field(default_factory=lambda: [0, 0, 0, 0])   # running stages by age bucket
    breached: int = 0
    at_risk: int = 0


@dataclass
class StageCompliance:
    province_id: int
    type_code: str
    stage_code: str
    decisions: int
    verdicts: int
    met: int
    returns: int


@dataclass
class RequestCompliance:
    province_id: int
    type_code: str
    status: str
    closed: int
    met: int
    hours: Decimal


@dataclass(frozen=True)
class TrendPoint:
    month: Month
    visit_verdicts: int
    visit_met: int
    requests_closed: int
    requests_met: int


@dataclass(frozen=True)
class CycleTime:
    key: str | int            # a type code, or a province id (central comparison), or "" for all
    completed: int
    median_days: float | None
    p90_days: float | None


@dataclass
class ExpertRow:
    actor_id: int
    full_name: str
    province_id: int | None
    roles: tuple[str, ...]
    decisions: int = 0
    verdicts: int = 0
    met: int = 0
    median_hours: float | None = None
    open_claims: int = 0


@dataclass(frozen=True)
class ListedRequest:
    tracking_code: str
    province_id: int
    type_code: str
    stage_code: str
    stage_due_at: datetime
    assignee_name: str | None
    hours_left: float      # working hours to the stage deadline; negative once breached


def share(part: int, whole: int) -> float | None:
    return None if not whole else part / whole


# --- queries ------------------------------------------------------------------------------------

def _running_limits(provinces: Sequence[int], now: datetime,
                    cals: dict[int, BusinessCalendar]) -> dict[tuple[int, int], tuple]:
    """Per (province, stage limit in days): the limit in hours as stored, and T_1, T_3, T_7."""
    thresholds: dict[tuple[int, int], tuple[datetime, ...]] = {}
    out = {}
    for pid in provinces:
        cal = cals[pid]
        for limit_days in sorted({d for _, _, d in RUNNING_STAGES}):
            th = thresholds.get((id(cal), limit_days))
            if th is None:
                th = thresholds[(id(cal), limit_days)] = age_thresholds(cal, now, limit_days)
            out[(pid, limit_days)] = (Decimal(_limit_us(limit_days, cal)) / US_PER_HOUR, th)
    return out


# The thresholds as a relation: (province_id, type_code, stage_code, limit_h, t1, t3, t7) per running stage.
_THRESHOLDS_SQL = """
    SELECT l.province_id, s.type_code, s.stage_code, l.limit_h, l.t1, l.t3, l.t7
    FROM unnest(CAST(:lp AS smallint[]), CAST(:ld AS numeric[]), CAST(:lh AS numeric[]), CAST(:t1 AS timestamptz[]),
                CAST(:t3 AS timestamptz[]), CAST(:t7 AS timestamptz[])) AS l(province_id, limit_days, limit_h, t1, t3, t7)
    JOIN unnest(CAST(:st AS text[]), CAST(:ss AS text[]), CAST(:sd AS numeric[])) AS s(type_code, stage_code, limit_days)
      ON s.limit_days = l.limit_days"""


def _threshold_params(limits: dict[tuple[int, int], tuple]) -> dict:
    items = list(limits.items())
    return {"lp": [p for (p, _), _ in items], "ld": [limit_decimal(d) for (_, d), _ in items], "lh": [v[0] for _, v in items],
            "t1": [v[1][0] for _, v in items], "t3": [v[1][1] for _, v in items], "t7": [v[1][2] for _, v in items],
            "st": [t for t, _, _ in RUNNING_STAGES], "ss": [st for _, st, _ in RUNNING_STAGES],
            "sd": [limit_decimal(d) for _, _, d in RUNNING_STAGES]}


def _day_start(moment: datetime) -> datetime:
    local = moment.astimezone(TEHRAN)
    return datetime.combine(local.date(), datetime.min.time(), tzinfo=TEHRAN)


def backlog(session: Session, provinces: Sequence[int], now: datetime,
            cals: dict[int, BusinessCalendar]) -> list[BacklogRow]:
    """Open requests by province, type and stage: paused ones, running ones by the age of their
    current stage in working days, breached and at risk.

    Sizes come from `kpi_open_day` (open requests by the day of their stage deadline); "deadline at
    or before T" is every earlier day plus, for the day of T itself, a count over the queue index
    from that midnight to T. So only the requests due on a boundary day are read, per stage. The
    same goes for "at risk by now" on the at-risk moments; at risk now = at risk by now - breached."""
    limits = _running_limits(provinces, now, cals)
    today_start = _day_start(now)
    tomorrow_start = _day_start(today_start + timedelta(hours=30))
    # "Due before now today" is read from the queue index; the rollup knows how many are due today
    # at all, so where less of the office day lies ahead than behind, the rest of the day is read
    # instead and taken from that count (deadlines fall in office hours: after closing it reads none).
    def behind_is_smaller(cal: BusinessCalendar) -> bool:
        behind = cal.position(now) - cal.position(today_start)
        return behind <= cal.position(tomorrow_start) - cal.position(now)
    read_behind = [p for p in provinces if behind_is_smaller(cals[p])]

    def probe(lo: str, hi: str, op: str = "<=", column: str = "stage_due_at") -> str:
        return (f"(SELECT count(*) FROM request r WHERE r.status = 'open' AND r.province_id = h.province_id "
                f"AND r.type_code = h.type_code AND r.stage_code = h.stage_code "
                f"AND r.{column} >= {lo} AND r.{column} {op} {hi})")

    def passed_today(column: str, day_count: str) -> str:
        """Today's moments in `column` before now: read directly, or the day's count minus the rest."""
        return (f"CASE WHEN h.province_id = ANY(CAST(:read_behind AS smallint[])) "
                f"THEN {probe(':today_start', ':now', '<', column)} "
                f"ELSE h.{day_count} - {probe(':now', ':tomorrow_start', '<', column)} END")

    sql = sa.text(f"""
        WITH th AS (
            SELECT t.*, d.*, d1::timestamp AT TIME ZONE 'Asia/Tehran' AS lo1, d3::timestamp AT TIME ZONE 'Asia/Tehran' AS lo3,
                   d7::timestamp AT TIME ZONE 'Asia/Tehran' AS lo7
            FROM ({_THRESHOLDS_SQL}) t,
                 LATERAL (SELECT (t.t1 AT TIME ZONE 'Asia/Tehran')::date AS d1, (t.t3 AT TIME ZONE 'Asia/Tehran')::date AS d3,
                                 (t.t7 AT TIME ZONE 'Asia/Tehran')::date AS d7) d
        ), h AS (
            SELECT o.province_id, o.type_code, o.stage_code, sum(o.n) AS total,
                   coalesce(sum(o.n) FILTER (WHERE o.due_day = 'infinity'), 0) AS paused,
                   coalesce(sum(o.n) FILTER (WHERE o.due_day < th.d1), 0) AS lt1,
                   coalesce(sum(o.n) FILTER (WHERE o.due_day < th.d3), 0) AS lt3,
                   coalesce(sum(o.n) FILTER (WHERE o.due_day < th.d7), 0) AS lt7,
                   coalesce(sum(o.n) FILTER (WHERE o.due_day < :today), 0) AS lt_now,
                   coalesce(sum(o.n) FILTER (WHERE o.risk_day < :today), 0) AS risk_lt_now,
                   coalesce(bool_or(o.n <> 0 AND o.due_day = th.d1), false) AS on1,
                   coalesce(bool_or(o.n <> 0 AND o.due_day = th.d3), false) AS on3,
                   coalesce(bool_or(o.n <> 0 AND o.due_day = th.d7), false) AS on7,
                   coalesce(bool_or(o.n <> 0 AND o.due_day = :today), false) AS on_now,
                   coalesce(bool_or(o.n <> 0 AND o.risk_day = :today), false) AS risk_on_now,
                   coalesce(sum(o.n) FILTER (WHERE o.due_day = :today), 0) AS due_today,
                   coalesce(sum(o.n) FILTER (WHERE o.risk_day = :today), 0) AS risk_today
            FROM kpi_open_day o
            LEFT JOIN th ON th.province_id = o.province_id AND th.type_code = o.type_code
                        AND th.stage_code = o.stage_code
            WHERE {_any('o.province_id', provinces)}
            GROUP BY o.province_id, o.type_code, o.stage_code
        )
        SELECT h.*,
               CASE WHEN h.on1 THEN {probe('th.lo1', 'th.t1')} ELSE 0 END AS p1,
               CASE WHEN h.on3 THEN {probe('th.lo3', 'th.t3')} ELSE 0 END AS p3,
               CASE WHEN h.on7 THEN {probe('th.lo7', 'th.t7')} ELSE 0 END AS p7,
               CASE WHEN h.on_now THEN {passed_today('stage_due_at', 'due_today')} ELSE 0 END AS p_now,
               CASE WHEN h.risk_on_now THEN {passed_today('stage_risk_at', 'risk_today')} ELSE 0 END AS risk_p_now
        FROM h LEFT JOIN th ON th.province_id = h.province_id AND th.type_code = h.type_code
                           AND th.stage_code = h.stage_code
        WHERE h.total <> 0""")
    rows: dict[tuple[int, str, str], BacklogRow] = {}
    for r in session.execute(sql, {**_threshold_params(limits), "today": today_start.date(),
                                   "today_start": today_start, "tomorrow_start": tomorrow_start, "now": now,
                                   "read_behind": read_behind,
                                   **_any_params(provinces)}):
        row = rows[(r.province_id, r.type_code, r.stage_code)] = BacklogRow(r.province_id, r.type_code, r.stage_code)
        ge1, ge3, ge7 = r.lt1 + r.p1, r.lt3 + r.p3, r.lt7 + r.p7
        row.total, row.paused = int(r.total), int(r.paused)
        running = row.total - row.paused
        row.ages = [int(running - ge1), int(ge1 - ge3), int(ge3 - ge7), int(ge7)]
        row.breached = int(r.lt_now + r.p_now)
        # The at-risk moment is never after the deadline: "at risk now" is "at risk by now, not breached".
        row.at_risk = int(r.risk_lt_now + r.risk_p_now) - row.breached
    _correct_overruns(session, provinces, now, cals, rows, limits)
    return sorted(rows.values(), key=lambda b: (b.province_id, STAGE_ORDER.get((b.type_code, b.stage_code),
                                                                                (99, 99))))


def _correct_overruns(session, provinces, now, cals, rows, limits) -> None:
    """Stages that used more than their limit before a return: their deadline is their resumption,
    so the deadline rule undercounts their age by (used - limit). Re-bucket them from the calendar."""
    # The few requests with hours banked at their current stage, from their own small partial index.
    for r in session.execute(sa.text(f"""
            WITH used AS MATERIALIZED (
                SELECT id, province_id, type_code, stage_code, stage_hours_used FROM request
                WHERE status = 'open' AND stage_hours_used > 0 AND {_any('province_id', provinces)})
            SELECT r.province_id, r.type_code, r.stage_code, r.stage_entered_at, r.stage_hours_used,
                   r.stage_due_at, th.limit_h
            FROM used u JOIN ({_THRESHOLDS_SQL}) th
              ON th.province_id = u.province_id AND th.type_code = u.type_code AND th.stage_code = u.stage_code
            JOIN request r ON r.id = u.id
            WHERE u.stage_hours_used > th.limit_h AND r.stage_due_at IS NOT NULL"""),
            {**_threshold_params(limits), **_any_params(provinces)}):
        cal = cals[r.province_id]
        pos_now = cal.position(now)
        rule_age = int(r.limit_h * US_PER_HOUR) + pos_now - cal.position(r.stage_due_at)
        true_age = int(r.stage_hours_used * US_PER_HOUR) + pos_now - cal.position(r.stage_entered_at)
        row = rows[(r.province_id, r.type_code, r.stage_code)]
        row.ages[age_bucket(rule_age, cal.day_us)] -= 1
        row.ages[age_bucket(true_age, cal.day_us)] += 1


def open_claims(session: Session, provinces: Sequence[int], actor_ids: Sequence[int] | None = None) -> dict[int, int]:
    """Open requests of the scope each staff member holds now (only `actor_ids` when given)."""
    if actor_ids is not None:
        if not actor_ids:
            return {}
        sql = sa.text("SELECT assignee_id, count(*) AS n FROM request WHERE status = 'open' "
                      "AND assignee_id = ANY(:ids) GROUP BY 1")
        params = {"ids": list(actor_ids)}
        if len(provinces) < len(ALL_PROVINCE_IDS):
            sql = sa.text(f"SELECT assignee_id, count(*) AS n FROM request WHERE status = 'open' "
                          f"AND assignee_id = ANY(:ids) AND {_any('province_id', provinces)} GROUP BY 1")
            params.update(_any_params(provinces))
    else:
        sql = sa.text(f"SELECT assignee_id, count(*) AS n FROM request WHERE status = 'open' "
                      f"AND assignee_id IS NOT NULL AND {_any('province_id', provinces)} GROUP BY 1")
        params = _any_params(provinces)
    return {r.assignee_id: r.n for r in session.execute(sql, params)}


def _any(column: str, provinces: Sequence[int]) -> str:
    return f"{column} = :p0" if len(provinces) == 1 else f"{column} = ANY(CAST(:pids AS smallint[]))"


def _any_params(provinces: Sequence[int]) -> dict:
    return {"p0": provinces[0]} if len(provinces) == 1 else {"pids": list(provinces)}


def month_span(first: date, end: date) -> tuple[date, date] | None:
    """[start, end) of the whole Jalali months inside the days [first, end), or None if there is none."""
    whole = [m for m in months_between(first, end - timedelta(days=1)) if m.start >= first and m.end <= end]
    return (whole[0].start, whole[-1].end) if whole else None


def period_rows(table: str, columns: str, where: str, first: date, end: date, params: dict,
                day_as: str | None = None) -> str:
    """The rows of a daily rollup for the days [first, end): whole Jalali months from its month table
    (migration 0022: `kpi_visit_day` -> `kpi_visit_month`, `kpi_day` -> `kpi_month`, ...), the days
    before and after them from the daily table. Every row carries sums, so callers group the result.
    `day_as` names a column holding the row's day (a month row's first day). Adds its bounds to `params`."""
    month_table = MONTH_TABLES[table]
    params.update(pr_d0=first, pr_d1=end)
    span = month_span(first, end)
    day_cols = f"{columns}, day AS {day_as}" if day_as else columns
    if span is None:
        return f"SELECT {day_cols} FROM {table} WHERE {where} AND day >= :pr_d0 AND day < :pr_d1"
    params.update(pr_m0=span[0], pr_m1=span[1])
    month_cols = f"{columns}, month AS {day_as}" if day_as else columns
    parts = [f"SELECT {month_cols} FROM {month_table} WHERE {where} AND month >= :pr_m0 AND month < :pr_m1"]
    if first < span[0]:
        parts.append(f"SELECT {day_cols} FROM {table} WHERE {where} AND day >= :pr_d0 AND day < :pr_m0")
    if span[1] < end:
        parts.append(f"SELECT {day_cols} FROM {table} WHERE {where} AND day >= :pr_m1 AND day < :pr_d1")
    return " UNION ALL ".join(parts)


MONTH_TABLES = {"kpi_visit_day": "kpi_visit_month", "kpi_request_day": "kpi_request_month", "kpi_day": "kpi_month",
                "kpi_visit_hours": "kpi_visit_hours_month"}


def stage_compliance(session: Session, provinces: Sequence[int], period: Period) -> list[StageCompliance]:
    """Finished stage visits of the period per province, type and stage (from the rollups)."""
    params = _any_params(provinces)
    rows = session.execute(sa.text(f"""
        SELECT province_id, type_code, stage_code, sum(decisions) AS decisions, sum(verdicts) AS verdicts,
               sum(met) AS met, sum(returns) AS returns
        FROM ({period_rows('kpi_visit_day', 'province_id, type_code, stage_code, decisions, verdicts, met, returns',
                           _any('province_id', provinces), period.first_day, period.end_day, params)}) r
        GROUP BY 1, 2, 3"""), params)
    return [StageCompliance(r.province_id, r.type_code, r.stage_code, int(r.decisions), int(r.verdicts), int(r.met),
                            int(r.returns)) for r in rows]


def request_compliance(session: Session, provinces: Sequence[int], period: Period) -> list[RequestCompliance]:
    """Requests closed in the period per province, type and status (from the rollups)."""
    params = _any_params(provinces)
    rows = session.execute(sa.text(f"""
        SELECT province_id, type_code, status, sum(closed) AS closed, sum(met) AS met, sum(hours) AS hours
        FROM ({period_rows('kpi_request_day', 'province_id, type_code, status, closed, met, hours',
                           _any('province_id', provinces), period.first_day, period.end_day, params)}) r
        GROUP BY 1, 2, 3"""), params)
    return [RequestCompliance(r.province_id, r.type_code, r.status, int(r.closed), int(r.met), r.hours) for r in rows]


def compliance_trend(session: Session, provinces: Sequence[int], months: Sequence[Month]) -> list[TrendPoint]:
    """Stage and whole-request compliance per Jalali month. The requests are those judged against a
    process total (`kpi_day.requests_closed` counts only them: types the seed gives no total are not)."""
    from db.models import KpiMonth
    # Whole months: the month rollup alone (migration 0022), one row per province and month.
    rows = {r.month: r for r in session.execute(
        sa.select(KpiMonth.month, sa.func.sum(KpiMonth.visit_verdicts).label("vv"),
                  sa.func.sum(KpiMonth.visit_met).label("vm"), sa.func.sum(KpiMonth.requests_closed).label("rc"),
                  sa.func.sum(KpiMonth.requests_met).label("rm"))
        .where(_in_scope(KpiMonth.province_id, provinces), KpiMonth.month >= months[0].start,
               KpiMonth.month < months[-1].end)
        .group_by(KpiMonth.month))}
    out = []
    for mo in months:
        r = rows.get(mo.start)
        out.append(TrendPoint(mo, int(r.vv) if r else 0, int(r.vm) if r else 0, int(r.rc) if r else 0,
                              int(r.rm) if r else 0))
    return out


def cycle_times(session: Session, provinces: Sequence[int], period: Period, cals: dict[int, BusinessCalendar],
                by_province: bool = False) -> tuple[list[CycleTime], list[CycleTime]]:
    """Median and 90th percentile of the whole process's working days (process hours / the
    province's office-day hours) of requests completed in the period: per type, and per province
    when asked. No median over all types: types with 1- and 14-day limits mixed in one figure would
    tell nobody anything.

    Exactly what percentile_cont gives over every completed request, without sorting them all:
    `kpi_cycle_month` (migration 0022) counts them per province, month, type and whole hour of
    process time (the partial months at either end of the period are counted from the requests
    themselves), which tells where each rank of a percentile lies; only the requests of those hours
    are read, in order, from `ix_request_completed_hours`. A period with fewer than
    HISTOGRAM_MIN_MONTHS whole months sorts its requests instead (`_cycle_times_sorted`)."""
    span = month_span(period.first_day, period.end_day)
    if span is None or len(months_between(span[0], span[1] - timedelta(days=1))) < HISTOGRAM_MIN_MONTHS:
        return _cycle_times_sorted(session, provinces, period, cals, by_province)
    day_hours = {p: float(cals[p].day_hours) for p in provinces}
    by_length: dict[float, list[int]] = defaultdict(list)
    for p in provinces:
        by_length[day_hours[p]].append(p)
    # Buckets of a group: per type, one per office-day length and hour (provinces with the same day
    # line up); per province, one per hour. A bucket's cells are the (province, type) pairs whose
    # requests it counts; a cell without requests costs its probe one index descent.
    type_cells = {(dh, t): [(p, t) for p in pids] for dh, pids in by_length.items() for t in PROCESSES}
    province_cells = {p: [(p, t) for t in PROCESSES] for p in provinces}
    groups: dict[tuple, list[_Bucket]] = defaultdict(list)
    for type_code, dh, pid, hour, n in _cycle_histogram(session, provinces, period, day_hours, by_province):
        if pid is None:
            groups[("type", type_code)].append(_Bucket(hour, dh, int(n), type_cells[(dh, type_code)]))
        else:
            groups[("province", pid)].append(_Bucket(hour, day_hours[pid], int(n), province_cells[pid]))
    # Each probe: the buckets whose requests are read and sorted, and the ranks wanted among them.
    probes: dict[tuple, list[tuple[tuple[str, str | int], int]]] = defaultdict(list)
    for key, buckets in groups.items():
        total = sum(b.n for b in buckets)
        for rank, (below, candidates) in _rank_windows(buckets, _percentile_ranks(total)).items():
            probes[(tuple(sorted((pid, t, b.hour) for b in candidates for pid, t in b.cells)), below)].append(
                (key, rank))
    values = _probe_ranks(session, probes, period, day_hours)
    per_type, per_province_out = [], []
    for key, buckets in groups.items():
        total = sum(b.n for b in buckets)
        pct = [_interpolate(values[key], total, q) for q in (0.5, 0.9)]
        (per_type if key[0] == "type" else per_province_out).append(CycleTime(key[1], total, pct[0], pct[1]))
    per_type.sort(key=lambda c: TYPE_ORDER.get(c.key, 99))
    per_province_out.sort(key=lambda c: c.key)
    return per_type, per_province_out


# From this many whole months on, the histogram is cheaper than sorting the period's requests (at 1M
# requests, a month across all provinces sorted in a third of the histogram's time; a year in a third
# of the sort's).
HISTOGRAM_MIN_MONTHS = 2


def _cycle_times_sorted(session: Session, provinces: Sequence[int], period: Period, cals: dict[int, BusinessCalendar],
                by_province: bool = False) -> tuple[list[CycleTime], list[CycleTime]]:
    """`cycle_times` by sorting every completed request of the period (the cheaper way for a month)."""
    # The working days are computed once per request (not once per grouping set), and types are
    # grouped byte-wise: both sorts of the month's completed requests stay cheap across 31 provinces.
    sets = "(c.type_code)" + (", (c.province_id)" if by_province else "")
    province = "c.province_id" if by_province else "NULL::smallint AS province_id"
    rows = session.execute(sa.text(f"""
        SELECT c.type_code, {province}, GROUPING(c.type_code) AS gt, count(*) AS n,
               percentile_cont(ARRAY[0.5, 0.9]) WITHIN GROUP (ORDER BY c.days) AS pct
        FROM (SELECT r.type_code COLLATE "C" AS type_code, r.province_id,
                     r.process_hours_used::float8 / d.day_hours AS days
              FROM request r
              JOIN unnest(CAST(:dp AS smallint[]), CAST(:dh AS float8[])) AS d(province_id, day_hours)
                   ON d.province_id = r.province_id
              WHERE r.status = 'completed' AND {_any('r.province_id', provinces)}
                AND r.closed_at >= :start AND r.closed_at < :end
              OFFSET 0) c
        GROUP BY GROUPING SETS ({sets})"""),
        {"dp": list(provinces), "dh": [cals[p].day_hours for p in provinces], "start": period.start, "end": period.end,
         **_any_params(provinces)})
    per_type, per_province = [], []
    for r in rows:
        (per_type if not r.gt else per_province).append(
            CycleTime(r.type_code if not r.gt else r.province_id, r.n, r.pct[0], r.pct[1]))
    per_type.sort(key=lambda c: TYPE_ORDER.get(c.key, 99))
    per_province.sort(key=lambda c: c.key)
    return per_type, per_province


class _Bucket:
    """Completed requests whose process hours lie in [hour, hour + 1) in provinces with `day_hours`
    office hours a day (the `cells`: province and type): their working days lie in [lo, hi)."""
    __slots__ = ("hour", "lo", "hi", "n", "cells")

    def __init__(self, hour: int, day_hours: float, n: int = 0, cells: list[tuple[int, str]] | None = None):
        self.hour, self.n, self.cells = hour, n, cells if cells is not None else []
        self.lo = hour / day_hours
        # The hour of 32,000 and more is one bucket (the hour expression caps it).
        self.hi = math.inf if hour >= HOUR_CAP else (hour + 1) / day_hours


HOUR_CAP = 32000
_HOUR_OF = "least(floor({col}), 32000)::smallint"  # ix_request_completed_hours' expression, as written there


def _cycle_histogram(session: Session, provinces: Sequence[int], period: Period, day_hours: dict[int, float],
                     by_province: bool) -> list:
    """Completed requests of the period per (type, office-day length, whole hour of process time),
    and per (province, hour) when asked (rows with a NULL province, and with a NULL type)."""
    params = {**_any_params(provinces), "start": period.start, "end": period.end,
              "dp": list(day_hours), "dh": list(day_hours.values())}
    span = month_span(period.first_day, period.end_day)
    hour = _HOUR_OF.format(col="process_hours_used")
    raw = (f"SELECT province_id, type_code, {hour} AS hour, 1 AS n FROM request "
           f"WHERE status = 'completed' AND {_any('province_id', provinces)} AND closed_at >= {{lo}} AND closed_at < {{hi}}")
    if span is None:
        parts = [raw.format(lo=":start", hi=":end")]
    else:
        params["m0"], params["m1"] = span
        params["t0"], params["t1"] = (datetime.combine(d, datetime.min.time(), tzinfo=TEHRAN) for d in span)
        parts = [f"SELECT province_id, type_code, hour, n FROM kpi_cycle_month WHERE {_any('province_id', provinces)} "
                 f"AND month >= :m0 AND month < :m1"]
        if period.first_day < span[0]:
            parts.append(raw.format(lo=":start", hi=":t0"))
        if span[1] < period.end_day:
            parts.append(raw.format(lo=":t1", hi=":end"))
    sets = "(h.type_code, d.day_hours, h.hour)" + (", (h.province_id, h.hour)" if by_province else "")
    province = "h.province_id" if by_province else "NULL::smallint AS province_id"
    return session.execute(sa.text(f"""
        SELECT h.type_code, d.day_hours, {province}, h.hour, sum(h.n) AS n
        FROM ({' UNION ALL '.join(parts)}) h
        JOIN unnest(CAST(:dp AS smallint[]), CAST(:dh AS float8[])) AS d(province_id, day_hours)
             ON d.province_id = h.province_id
        GROUP BY GROUPING SETS ({sets}) HAVING sum(h.n) <> 0"""), params).all()


def _percentile_ranks(total: int) -> set[int]:
    """The 0-based ranks percentile_cont(0.5) and (0.9) interpolate between."""
    return {f(q * (total - 1)) for q in (0.5, 0.9) for f in (math.floor, math.ceil)}


def _rank_window(buckets: list[_Bucket], rank: int) -> tuple[int, list[_Bucket]]:
    """(how many values lie in buckets wholly below the value at `rank`, the buckets that may hold it).

    With the same office-day hours everywhere the buckets' day ranges line up and this is the one
    bucket holding the rank; provinces with other hours shift theirs, and the few that overlap it
    are read too. The value at `rank` lies in [lo, hi): at least rank + 1 values lie below hi (the
    buckets ending at or before it), at most rank below lo (those starting before it). A bucket
    ending at or before lo is wholly below the value, one starting at or after hi wholly above.
    Hours are stored to 1/10,000, so a value's days never round onto the next bucket's bound."""
    return _rank_windows(buckets, (rank,))[rank]


def _rank_windows(buckets: list[_Bucket], ranks: Iterable[int]) -> dict[int, tuple[int, list[_Bucket]]]:
    """`_rank_window` for several ranks of one group, sorting its buckets once."""
    by_hi = sorted(buckets, key=lambda b: b.hi)
    by_lo = sorted(buckets, key=lambda b: b.lo)
    out = {}
    for rank in ranks:
        hi, seen = math.inf, 0
        for b in by_hi:
            seen += b.n
            if seen >= rank + 1:
                hi = b.hi
                break
        # The largest bucket start with at most `rank` values in buckets taken before it.
        lo, seen = -math.inf, 0
        for b in by_lo:
            if seen > rank:
                break
            lo = b.lo
            seen += b.n
        below = 0
        for b in by_hi:
            if b.hi > lo:
                break
            below += b.n
        out[rank] = (below, [b for b in buckets if b.hi > lo and b.lo < hi])
    return out


def _probe_ranks(session: Session, probes: dict, period: Period,
                 day_hours: dict[int, float]) -> dict[tuple[str, str | int], dict[int, float]]:
    """Read each probe's buckets in order of working days and pick the wanted ranks (one statement)."""
    out: dict[tuple[str, str | int], dict[int, float]] = defaultdict(dict)
    if not probes:
        return out
    cp, ct, ch, ci, qi, qskip, qn = [], [], [], [], [], [], []
    plan = []
    for i, ((candidates, below), wanted) in enumerate(probes.items()):
        for pid, t, hour in candidates:
            cp.append(pid), ct.append(t), ch.append(hour), ci.append(i)
        ranks = [r for _, r in wanted]
        qi.append(i), qskip.append(min(ranks) - below), qn.append(max(ranks) - min(ranks) + 1)
        plan.append((min(ranks), wanted))
    hour = _HOUR_OF.format(col="r.process_hours_used")
    rows = session.execute(sa.text(f"""
        SELECT q.i, x.days FROM unnest(CAST(:qi AS int[]), CAST(:qskip AS int[]), CAST(:qn AS int[])) AS q(i, skip, n)
        CROSS JOIN LATERAL (
            SELECT r.process_hours_used::float8 / d.day_hours AS days
            FROM unnest(CAST(:ci AS int[]), CAST(:cp AS smallint[]), CAST(:ct AS text[]), CAST(:ch AS smallint[]))
                 AS c(i, province_id, type_code, hour)
            JOIN unnest(CAST(:dp AS smallint[]), CAST(:dh AS float8[])) AS d(province_id, day_hours)
                 ON d.province_id = c.province_id
            JOIN request r ON r.status = 'completed' AND r.province_id = c.province_id AND r.type_code = c.type_code
                 AND {hour} = c.hour AND r.closed_at >= :start AND r.closed_at < :end
            WHERE c.i = q.i
            ORDER BY 1 OFFSET q.skip LIMIT q.n) x
        ORDER BY q.i, x.days"""),
        {"qi": qi, "qskip": qskip, "qn": qn, "ci": ci, "cp": cp, "ct": ct, "ch": ch,
         "dp": list(day_hours), "dh": list(day_hours.values()), "start": period.start, "end": period.end})
    found: dict[int, list[float]] = defaultdict(list)
    for r in rows:
        found[r.i].append(r.days)
    for i, (first, wanted) in enumerate(plan):
        for key, rank in wanted:
            out[key][rank] = found[i][rank - first]
    return out


def _interpolate(values: dict[int, float], total: int, q: float) -> float:
    """percentile_cont(q) from the values at its two ranks, as PostgreSQL interpolates."""
    pos = q * (total - 1)
    lo, hi = values[math.floor(pos)], values[math.ceil(pos)]
    return lo + (hi - lo) * (pos - math.floor(pos))


def experts(session: Session, provinces: Sequence[int], period: Period) -> list[ExpertRow]:
    """Throughput per staff member in the period: decisions (finished stage visits they closed),
    verdicts and met among them, median handling time (the visit's working hours); plus the open
    requests of the scope they hold now. Across all provinces: the central organisation's staff
    (a province's own staff are listed when that province is chosen)."""
    national = len(provinces) == len(ALL_PROVINCE_IDS)
    central_ids = None
    params: dict = {}
    if national:
        central_ids = list(session.scalars(sa.text("SELECT id FROM staff_user WHERE province_id IS NULL")))
        # The province condition matches every row; it lets the rollups' keys (province, actor, ...) serve.
        who = f"actor_id = ANY(:ids) AND {_any('province_id', provinces)}"
        params["ids"] = central_ids
        params.update(_any_params(provinces))
    else:
        who = f"{_any('province_id', provinces)} AND actor_id IS NOT NULL"
        params.update(_any_params(provinces))
    stats = _expert_stats(session, who, params, provinces if not national else None, period)
    claims = open_claims(session, provinces, central_ids)
    ids = set(stats) | set(claims)
    if not ids:
        return []
    people = session.execute(sa.text(
        "SELECT id, full_name, province_id, roles FROM staff_user WHERE id = ANY(:ids)"), {"ids": sorted(ids)})
    out = []
    for p in people:
        row = ExpertRow(p.id, p.full_name, p.province_id, tuple(p.roles), open_claims=claims.get(p.id, 0))
        s = stats.get(p.id)
        if s is not None:
            row.decisions, row.verdicts, row.met, row.median_hours = s
        out.append(row)
    out.sort(key=lambda e: (-e.decisions, -e.open_claims, e.full_name))
    return out


@dataclass
class _HourCounts:
    decisions: int = 0
    verdicts: int = 0
    met: int = 0
    hours: list[tuple[int, int]] = field(default_factory=list)  # (whole hour, decisions), ascending


def _expert_stats(session: Session, who: str, params: dict, provinces: Sequence[int] | None,
                  period: Period) -> dict[int, tuple[int, int, int, float | None]]:
    """(decisions, verdicts, met, median handling hours) per person, exactly as count() and
    percentile_cont(0.5) over the period's visits would give them.

    The counts are sums of `kpi_visit_hours` (migration 0009). For the median, the rollup tells
    which whole hour of handling time holds the middle decision(s) and at what rank; only those
    visits are read, in order, from ix_stage_visit_hours (one statement for everyone)."""
    people: dict[int, _HourCounts] = {}
    rows = period_rows("kpi_visit_hours", "actor_id, hour, decisions, verdicts, met", who, period.first_day,
                       period.end_day, params)
    for r in session.execute(sa.text(f"""
            SELECT actor_id, hour, sum(decisions) AS d, sum(verdicts) AS v, sum(met) AS m FROM ({rows}) r
            GROUP BY actor_id, hour ORDER BY actor_id, hour"""), params):
        c = people.setdefault(r.actor_id, _HourCounts())
        c.decisions, c.verdicts, c.met = c.decisions + r.d, c.verdicts + r.v, c.met + r.m
        if r.d:
            c.hours.append((r.hour, int(r.d)))

    def locate(c: _HourCounts, rank: int) -> tuple[int, int]:
        """(hour, offset within that hour) of the visit at 0-based `rank` in handling-time order."""
        for hour, n in c.hours:
            if rank < n:
                return hour, rank
            rank -= n
        raise AssertionError("rank beyond the rollup's count")

    # percentile_cont(0.5): the values at ranks floor(p) and ceil(p), p = (n - 1) / 2, interpolated.
    probes: list[tuple[int, int, int, int]] = []  # actor, hour, offset, how many
    for actor, c in people.items():
        if c.decisions:
            p = (c.decisions - 1) / 2
            (h1, o1), (h2, o2) = locate(c, math.floor(p)), locate(c, math.ceil(p))
            if (h1, o1) == (h2, o2):  # an odd count: one middle visit
                probes.append((actor, h1, o1, 1))
            elif h1 == h2:  # the two middle visits are neighbours within one hour
                probes.append((actor, h1, o1, 2))
            else:
                probes += [(actor, h1, o1, 1), (actor, h2, o2, 1)]
    found: dict[int, list[float]] = defaultdict(list)
    if probes:
        scope = "" if provinces is None else f"AND {_any('v.province_id', provinces)}"
        for r in session.execute(sa.text(f"""
                SELECT q.actor, x.hours_used FROM unnest(CAST(:actors AS bigint[]), CAST(:hours AS smallint[]),
                       CAST(:offsets AS int[]), CAST(:counts AS int[])) WITH ORDINALITY AS q(actor, hour, skip, n, i)
                CROSS JOIN LATERAL (
                    SELECT v.hours_used FROM stage_visit v
                    WHERE v.actor_id = q.actor AND least(floor(v.hours_used), 32000)::smallint = q.hour
                      AND v.left_at >= :start AND v.left_at < :end AND v.left_at IS NOT NULL
                      AND v.actor_id IS NOT NULL {scope}
                    ORDER BY v.hours_used OFFSET q.skip LIMIT q.n) x
                ORDER BY q.i, x.hours_used"""),
                {"actors": [a for a, _, _, _ in probes], "hours": [h for _, h, _, _ in probes],
                 "offsets": [o for _, _, o, _ in probes], "counts": [n for _, _, _, n in probes],
                 "start": period.start, "end": period.end, **({} if provinces is None else _any_params(provinces))}):
            found[r.actor].append(float(r.hours_used))
    out = {}
    for actor, c in people.items():
        median = None
        if c.decisions:
            values = found[actor]
            lo, hi = values[0], values[-1]  # one value when the middle is a single visit (odd count)
            p = (c.decisions - 1) / 2
            median = lo + (hi - lo) * (p - math.floor(p))
        out[actor] = (c.decisions, c.verdicts, c.met, median)
    return out


def exception_lists(session: Session, provinces: Sequence[int], now: datetime, cals: dict[int, BusinessCalendar],
                    limit: int = LIST_LIMIT) -> tuple[list[ListedRequest], list[ListedRequest]]:
    """The most overdue breached requests, and the at-risk ones closest to their deadline."""
    # Across all provinces, no province condition: the (stage_due_at) index keeps the order.
    national = len(provinces) == len(ALL_PROVINCE_IDS)
    scope = "" if national else f"AND {_any('r.province_id', provinces)}"
    params = {} if national else _any_params(provinces)
    out = []
    # An at-risk stage has less than a quarter of its limit left, so its deadline is at most a quarter
    # of the longest limit (in working time) away: only that stretch of the deadline index is read.
    longest = max(limit for _, _, limit in RUNNING_STAGES)
    params["horizon"] = max(cal.latest_at_position(cal.position(now) + _limit_us(longest, cal) // 4 + 1)
                            for cal in {id(c): c for c in (cals[p] for p in provinces)}.values())
    # Read the deadline index in order and stop at `limit` rows; the planner underestimates how many
    # rows pass the at-risk test and would otherwise collect and sort all of them.
    session.execute(sa.text("SET LOCAL enable_bitmapscan = off"))
    for cond in ("r.stage_due_at < :now",
                 "r.stage_due_at >= :now AND r.stage_due_at <= :horizon AND r.stage_risk_at < :now"):
        rows = session.execute(sa.text(f"""
            SELECT r.id, r.tracking_code, r.province_id, r.type_code, r.stage_code, r.stage_due_at, s.full_name
            FROM request r LEFT JOIN staff_user s ON s.id = r.assignee_id
            WHERE r.status = 'open' AND {cond} {scope}
            ORDER BY r.stage_due_at, r.id LIMIT :limit"""), {"now": now, "limit": limit, **params})
        out.append([ListedRequest(r.tracking_code, r.province_id, r.type_code, r.stage_code, r.stage_due_at,
                                  r.full_name, cals[r.province_id].working_hours_between(now, r.stage_due_at))
                    for r in rows])
    session.execute(sa.text("SET LOCAL enable_bitmapscan = on"))
    return out[0], out[1]


# --- the page's report --------------------------------------------------------------------------

@dataclass
class KpiReport:
    provinces: tuple[int, ...]
    period: Period
    now: datetime
    backlog: list[BacklogRow]
    stages: list[StageCompliance]
    requests: list[RequestCompliance]
    trend: list[TrendPoint]
    cycle_by_type: list[CycleTime]
    cycle_by_province: list[CycleTime]
    experts: list[ExpertRow]
    breached: list[ListedRequest]
    at_risk: list[ListedRequest]
    day_hours: dict[int, float]

    @property
    def is_national(self) -> bool:
        return len(self.provinces) > 1

    @property
    def weeks(self) -> float:
        return self.period.elapsed_days(self.now) / 7


def kpi_report(session: Session, actor: Actor, period: Period, now: datetime,
               province_id: int | None = None) -> KpiReport:
    """Everything the KPI page shows, for the provinces the actor may see."""
    require_kpi_role(actor)
    provinces = scope_provinces(actor, province_id)
    rebuilt = prepare(session)
    cals = calendars_for(session, provinces)
    # Across provinces the cycle times are the largest single part (at 5M requests, a month's or a
    # year's took about 90 and 180 ms of the 280), then the backlog (50): they run on a second
    # connection that sees the same snapshot, while this one computes the rest (a second core, same
    # numbers). Not right after a rebuild: that transaction holds the rollups locked and its rows are
    # not yet visible to anyone else.
    with _alongside(session, len(provinces) > 1 and not rebuilt,
                    lambda s: cycle_times(s, provinces, period, cals, by_province=len(provinces) > 1)) as cycles:
        backlog_rows = backlog(session, provinces, now, cals)
        breached, at_risk = exception_lists(session, provinces, now, cals)
        stages = stage_compliance(session, provinces, period)
        requests = request_compliance(session, provinces, period)
        trend = compliance_trend(session, provinces, trend_months(period))
        people = experts(session, provinces, period)
    by_type, by_province = cycles.result()
    return KpiReport(
        provinces=provinces, period=period, now=now, backlog=backlog_rows,
        stages=stages, requests=requests, trend=trend,
        cycle_by_type=by_type, cycle_by_province=by_province,
        experts=people, breached=breached, at_risk=at_risk,
        day_hours={p: cals[p].day_hours for p in provinces},
    )


_SNAPSHOT_ID = re.compile(r"[0-9A-Fa-f]+-[0-9A-Fa-f]+(-[0-9]+)?")


@contextmanager
def _alongside(session: Session, parallel: bool, work: Callable[[Session], T]) -> Iterator[Future[T]]:
    """Run `work` beside the caller: on another pooled connection inside a read-only transaction
    that imports this transaction's snapshot (pg_export_snapshot), so both see exactly the same
    data. Without `parallel`, or without a pool to borrow from, it runs here, in `session`."""
    if not parallel:
        done: Future[T] = Future()
        done.set_result(work(session))
        yield done
        return
    snapshot = session.execute(sa.text("SELECT pg_export_snapshot()")).scalar()
    if not _SNAPSHOT_ID.fullmatch(snapshot):
        raise RuntimeError(f"unexpected snapshot id {snapshot!r}")
    engine = session.get_bind()

    def run() -> T:
        with Session(engine) as other, other.begin():
            other.connection(execution_options={"isolation_level": "REPEATABLE READ"})
            # SET TRANSACTION SNAPSHOT takes no bind parameters; the id was checked above.
            other.execute(sa.text(f"SET TRANSACTION SNAPSHOT '{snapshot}'"))
            other.execute(sa.text("SET TRANSACTION READ ONLY"))
            other.execute(sa.text("SET LOCAL work_mem = '64MB'"))
            other.execute(sa.text("SET LOCAL jit = off"))
            return work(other)

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="kpi") as pool:
        future = pool.submit(run)
        try:
            yield future
        finally:
            future.result()  # the exporting transaction must outlive the import; errors surface here


# --- tables for the page and its downloads ------------------------------------------------------

@dataclass(frozen=True)
class Table:
    """A table as the page shows it and its CSV/XLSX downloads carry: numbers stay numbers."""
    name: str                            # file name stem
    title: str                           # Persian title
    columns: tuple[tuple[str, str], ...]  # (key, Persian header)
    rows: list[dict]


def _pct(x: float | None) -> float | None:
    return None if x is None else round(100 * x, 1)


def _days(x: float | None) -> float | None:
    return None if x is None else round(x, 2)


def backlog_table(report: KpiReport) -> Table:
    agg: dict[tuple[str, str], BacklogRow] = {}
    for b in report.backlog:
        a = agg.setdefault((b.type_code, b.stage_code), BacklogRow(0, b.type_code, b.stage_code))
        a.total += b.total
        a.paused += b.paused
        a.breached += b.breached
        a.at_risk += b.at_risk
        a.ages = [x + y for x, y in zip(a.ages, b.ages)]
    def no_limit(a: BacklogRow) -> bool:
        return (a.type_code, a.stage_code) in NO_LIMIT_STAGES
    rows = [{"type": TYPE_NAMES_FA[a.type_code], "stage": STAGE_NAMES_FA[(a.type_code, a.stage_code)],
             "total": a.total, "paused": 0 if no_limit(a) else a.paused, "no_limit": a.paused if no_limit(a) else 0,
             "age0": a.ages[0], "age1": a.ages[1], "age2": a.ages[2],
             "age3": a.ages[3], "breached": a.breached, "at_risk": a.at_risk}
            for a in sorted(agg.values(), key=lambda a: STAGE_ORDER[(a.type_code, a.stage_code)])]
    columns = (("type", "نوع درخواست"), ("stage", "مرحله"), ("total", "کل باز"), ("paused", "نزد عضو (متوقف)"),
               ("no_limit", NO_LIMIT_FA),
               *((f"age{i}", label) for i, label in enumerate(AGE_LABELS_FA)),
               ("breached", "گذشته از مهلت"), ("at_risk", "در آستانهٔ تأخیر"))
    return Table("backlog", "کارهای باز به تفکیک مرحله و سن (روز کاری)", columns, rows)


def stage_compliance_table(report: KpiReport) -> Table:
    agg: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for s in report.stages:
        a = agg[(s.type_code, s.stage_code)]
        a[0] += s.decisions
        a[1] += s.verdicts
        a[2] += s.met
        a[3] += s.returns
    rows = [{"type": TYPE_NAMES_FA[t], "stage": STAGE_NAMES_FA[(t, s)],
             "limit_days": limit_fa(PROCESSES[t].stage(s).limit_days),
             "verdicts": v[1], "met": v[2], "share": _pct(share(v[2], v[1])), "returns": v[3]}
            for (t, s), v in sorted(agg.items(), key=lambda kv: STAGE_ORDER.get(kv[0], (99, 99)))]
    columns = (("type", "نوع درخواست"), ("stage", "مرحله"), ("limit_days", "مهلت"),
               ("verdicts", "مرحله‌های پایان‌یافته"), ("met", "در مهلت"), ("share", "درصد در مهلت"),
               ("returns", "بازگشت به عضو"))
    return Table("stage_compliance", "انجام در مهلت: مرحله‌ها", columns, rows)


def type_compliance_table(report: KpiReport) -> Table:
    stage_agg: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for s in report.stages:
        stage_agg[s.type_code][0] += s.verdicts
        stage_agg[s.type_code][1] += s.met
    req_agg: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for r in report.requests:
        a = req_agg[r.type_code]
        a[0] += r.closed
        a[1] += r.met
        a[2] += r.closed if r.status == "completed" else 0
    cycle = {c.key: c for c in report.cycle_by_type}
    rows = []
    for t, proc in PROCESSES.items():
        sv, rq, c = stage_agg.get(t, [0, 0]), req_agg.get(t, [0, 0, 0]), cycle.get(t)
        if not (sv[0] or rq[0]):
            continue
        judged = proc.total_limit_days is not None  # no total in the seed: not judged, shown as such
        rows.append({"type": proc.name_fa, "stage_verdicts": sv[0], "stage_share": _pct(share(sv[1], sv[0])),
                     "closed": rq[0], "completed": rq[2], "met": rq[1] if judged else None,
                     "request_share": _pct(share(rq[1], rq[0])) if judged else None,
                     "median_days": _days(c.median_days if c else None), "p90_days": _days(c.p90_days if c else None),
                     "limit_days": float(proc.total_limit_days) if judged else None,
                     "limit": limit_fa(proc.total_limit_days)})
    columns = (("type", "نوع درخواست"), ("stage_verdicts", "مرحله‌های پایان‌یافته"),
               ("stage_share", "درصد مرحله‌ها در مهلت"), ("closed", "درخواست‌های بسته‌شده"),
               ("completed", "انجام‌شده"), ("met", "کل فرایند در مهلت"), ("request_share", "درصد درخواست‌ها در مهلت"),
               ("median_days", "میانهٔ زمان چرخه (روز کاری)"), ("p90_days", "صدک ۹۰ زمان چرخه (روز کاری)"),
               ("limit", "مهلت کل فرایند"))
    return Table("type_compliance", "انجام در مهلت و زمان چرخه به تفکیک نوع درخواست", columns, rows)


def trend_table(report: KpiReport) -> Table:
    rows = [{"month": p.month.label, "month_key": p.month.key, "visit_verdicts": p.visit_verdicts,
             "visit_share": _pct(share(p.visit_met, p.visit_verdicts)), "requests_closed": p.requests_closed,
             "request_share": _pct(share(p.requests_met, p.requests_closed))} for p in report.trend]
    columns = (("month", "ماه"), ("visit_verdicts", "مرحله‌های پایان‌یافته"), ("visit_share", "درصد مرحله‌ها در مهلت"),
               ("requests_closed", "درخواست‌های بسته‌شدهٔ دارای مهلت کل"), ("request_share", "درصد درخواست‌ها در مهلت"))
    return Table("compliance_trend", "روند ماهانهٔ انجام در مهلت", columns, rows)


def experts_table(report: KpiReport) -> Table:
    from domain.roles import role_label
    weeks = report.weeks
    rows = [{"name": e.full_name,
             "province": PROVINCE_NAMES_FA.get(e.province_id, "سازمان مرکزی") if e.province_id else "سازمان مرکزی",
             "roles": "، ".join(role_label(r) for r in e.roles), "decisions": e.decisions,
             "per_week": round(e.decisions / weeks, 1) if weeks > 0 else None,
             "median_hours": None if e.median_hours is None else round(e.median_hours, 2),
             "on_time": _pct(share(e.met, e.verdicts)), "open_claims": e.open_claims}
            for e in report.experts]
    columns = (("name", "کارشناس"), ("province", "استان"), ("roles", "نقش"), ("decisions", "اقدام‌ها در دوره"),
               ("per_week", "اقدام در هفته"), ("median_hours", "میانهٔ زمان رسیدگی (ساعت کاری)"),
               ("on_time", "درصد در مهلت"), ("open_claims", "کارهای باز در دست"))
    return Table("experts", "بهره‌وری کارشناسان", columns, rows)


def exceptions_table(report: KpiReport, which: str) -> Table:
    items = report.breached if which == "breached" else report.at_risk
    rows = [{"code": i.tracking_code, "link": f"/request?code={i.tracking_code}",
             "province": PROVINCE_NAMES_FA[i.province_id], "type": TYPE_NAMES_FA[i.type_code],
             "stage": STAGE_NAMES_FA[(i.type_code, i.stage_code)], "due": format_jalali_date(i.stage_due_at),
             "hours_left": round(i.hours_left, 1), "assignee": i.assignee_name or ""} for i in items]
    columns = (("code", "کد رهگیری"), ("province", "استان"), ("type", "نوع درخواست"), ("stage", "مرحله"),
               ("due", "مهلت مرحله"), ("hours_left", "ساعت کاری باقی‌مانده"), ("assignee", "کارشناس"),
               ("link", "پیوند پرونده"))
    title = "درخواست‌های گذشته از مهلت" if which == "breached" else "درخواست‌های در آستانهٔ تأخیر"
    return Table(which, title, columns, rows)


def province_comparison_table(report: KpiReport) -> Table:
    """Central staff: the provinces side by side."""
    per: dict[int, dict] = {p: {"open": 0, "paused": 0, "over7": 0, "breached": 0, "at_risk": 0, "sv": 0, "sm": 0,
                                "rc": 0, "rm": 0} for p in report.provinces}
    for b in report.backlog:
        d = per[b.province_id]
        d["open"] += b.total
        d["paused"] += b.paused
        d["over7"] += b.ages[3]
        d["breached"] += b.breached
        d["at_risk"] += b.at_risk
    for s in report.stages:
        per[s.province_id]["sv"] += s.verdicts
        per[s.province_id]["sm"] += s.met
    for r in report.requests:
        if r.type_code in JUDGED_TYPES:
            per[r.province_id]["rc"] += r.closed
            per[r.province_id]["rm"] += r.met
    cycle = {c.key: c for c in report.cycle_by_province}
    rows = []
    for pid in report.provinces:
        d, c = per[pid], cycle.get(pid)
        rows.append({"province": PROVINCE_NAMES_FA[pid], "open": d["open"], "paused": d["paused"], "over7": d["over7"],
                     "breached": d["breached"], "at_risk": d["at_risk"], "stage_share": _pct(share(d["sm"], d["sv"])),
                     "closed": d["rc"], "request_share": _pct(share(d["rm"], d["rc"])),
                     "median_days": _days(c.median_days if c else None), "p90_days": _days(c.p90_days if c else None)})
    columns = (("province", "استان"), ("open", "کارهای باز"), ("paused", "نزد عضو"), ("over7", "بیش از ۷ روز"),
               ("breached", "گذشته از مهلت"), ("at_risk", "در آستانهٔ تأخیر"), ("stage_share", "درصد مرحله‌ها در مهلت"),
               ("closed", "درخواست‌های بسته‌شده"), ("request_share", "درصد درخواست‌ها در مهلت"),
               ("median_days", "میانهٔ زمان چرخه (روز کاری)"), ("p90_days", "صدک ۹۰ (روز کاری)"))
    return Table("provinces", "مقایسهٔ استان‌ها", columns, rows)
