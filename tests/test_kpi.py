"""Manager KPIs against a plain recomputation from the raw tables.

Random request histories are made through the real services (submit, approve, reject, return,
resubmit, claim, payment) at simulated times across a Jalali month boundary, with holidays and a
province with other office hours; every KPI of `logic.kpi` is then recomputed in Python over the
rows of `request` and `stage_visit` and compared, before and after a further round of decisions
(the rollups follow each decision in its own transaction). Also: the age buckets of the backlog
against the calendar on their boundaries, overrun stages after a return, bulk loads that bypass
the triggers, scope, and the role check.
"""
from __future__ import annotations

import math
import random
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from db.engine import session_scope
from domain import periods
from domain.calendar import BusinessCalendar
from domain.errors import DomainError, PermissionDenied
from domain.jalali import TEHRAN, jalali_month_bounds, to_jalali
from domain.processes import PROCESSES
from domain.reference import ISFAHAN_ID, TEHRAN_ID
from logic import kpi
from logic import workflow as wf
from logic.auth import Actor
from logic.calendar import calendars_for
from tests.factories import MASHHAD_ID, NOW, SIM_START, Simulation


# --- building a random history through the services ------------------------------------------------

def overrun_request(sim: Simulation, at: datetime) -> int:
    """A stage that used more than its limit, was returned, resubmitted and is still open."""
    rid = sim.submit(at, TEHRAN_ID, "legacy_registration")
    sim.requests.remove(rid)  # the random steps leave it alone
    r = sim.row(rid)
    wf.return_for_correction(sim.engine, sim.staff["t.expert"], rid, r["version"], "ناقص",
                             now=at + timedelta(days=4, hours=1))
    r = sim.row(rid)
    wf.resubmit(sim.engine, rid, r["version"], now=at + timedelta(days=6))
    return rid


# --- the plain recomputation ------------------------------------------------------------------

def raw(engine):
    with engine.connect() as c:
        requests = c.execute(sa.text("SELECT * FROM request")).mappings().all()
        visits = c.execute(sa.text("SELECT * FROM stage_visit")).mappings().all()
        staff = {r.id: r for r in c.execute(sa.text("SELECT id, full_name, province_id FROM staff_user"))}
    return requests, visits, staff


def province_calendar(engine, pid) -> BusinessCalendar:
    from logic.calendar import calendar_for
    with session_scope(engine) as s:
        return calendar_for(s, pid)


def percentile_cont(values, p):
    values = sorted(values)
    if not values:
        return None
    pos = p * (len(values) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (pos - lo)


def inside(moment, period):
    return moment is not None and period.start <= moment < period.end


def plain_backlog(engine, requests, provinces, now):
    out = defaultdict(lambda: {"total": 0, "paused": 0, "ages": [0, 0, 0, 0], "breached": 0, "at_risk": 0})
    claims = Counter()
    cals = {p: province_calendar(engine, p) for p in provinces}
    for r in requests:
        if r["province_id"] not in provinces or r["status"] not in ("open", "returned"):
            continue
        row = out[(r["province_id"], r["type_code"], r["stage_code"])]
        row["total"] += 1
        if r["status"] == "open" and r["assignee_id"] is not None:
            claims[r["assignee_id"]] += 1
        if r["status"] == "returned" or r["stage_due_at"] is None:
            row["paused"] += 1
            continue
        cal = cals[r["province_id"]]
        age = float(r["stage_hours_used"]) + cal.working_hours_between(r["stage_entered_at"], now)
        row["ages"][sum(age >= k * cal.day_hours for k in (1, 3, 7))] += 1
        if r["stage_due_at"] < now:
            row["breached"] += 1
        elif r["stage_risk_at"] < now:
            row["at_risk"] += 1
    return dict(out), dict(claims)


def check_report(engine, report: kpi.KpiReport, provinces, period, now):
    requests, visits, staff = raw(engine)
    # Backlog by stage and age.
    expected, claims = plain_backlog(engine, requests, provinces, now)
    got = {(b.province_id, b.type_code, b.stage_code): {"total": b.total, "paused": b.paused, "ages": b.ages,
                                                        "breached": b.breached, "at_risk": b.at_risk}
           for b in report.backlog}
    assert got == expected
    # Stage visits finished in the period.
    stages = defaultdict(lambda: [0, 0, 0, 0])
    for v in visits:
        if v["province_id"] in provinces and inside(v["left_at"], period):
            s = stages[(v["province_id"], v["type_code"], v["stage_code"])]
            s[0] += 1
            s[1] += v["met"] is not None
            s[2] += v["met"] is True
            s[3] += v["outcome"] == "return"
    assert {(s.province_id, s.type_code, s.stage_code): [s.decisions, s.verdicts, s.met, s.returns]
            for s in report.stages if s.decisions} == dict(stages)
    # Requests closed in the period.
    closed = defaultdict(lambda: [0, 0, Decimal(0)])
    for r in requests:
        if r["province_id"] in provinces and inside(r["closed_at"], period):
            c = closed[(r["province_id"], r["type_code"], r["status"])]
            c[0] += 1
            c[1] += r["met_sla"] is True
            c[2] += r["process_hours_used"]
    assert {(c.province_id, c.type_code, c.status): [c.closed, c.met, c.hours] for c in report.requests
            if c.closed} == dict(closed)
    # Monthly trend.
    for point in report.trend:
        lo = datetime.combine(point.month.start, datetime.min.time(), tzinfo=TEHRAN)
        hi = datetime.combine(point.month.end, datetime.min.time(), tzinfo=TEHRAN)
        mv = [v for v in visits if v["province_id"] in provinces and v["left_at"] and lo <= v["left_at"] < hi
              and v["met"] is not None]
        # Whole-process compliance judges only the types the seed gives a total.
        mr = [r for r in requests if r["province_id"] in provinces and r["closed_at"] and lo <= r["closed_at"] < hi
              and PROCESSES[r["type_code"]].total_limit_days is not None]
        assert (point.visit_verdicts, point.visit_met) == (len(mv), sum(v["met"] for v in mv)), point.month
        assert (point.requests_closed, point.requests_met) == (len(mr), sum(r["met_sla"] for r in mr)), point.month
    # Cycle times of completed requests, in working days of their province.
    day_hours = {p: province_calendar(engine, p).day_hours for p in provinces}
    done = [r for r in requests if r["province_id"] in provinces and r["status"] == "completed"
            and inside(r["closed_at"], period)]
    by_type = defaultdict(list)
    by_province = defaultdict(list)
    for r in done:
        days = float(r["process_hours_used"]) / day_hours[r["province_id"]]
        by_type[r["type_code"]].append(days)
        by_province[r["province_id"]].append(days)
    assert {c.key for c in report.cycle_by_type} == set(by_type)
    for c in report.cycle_by_type:
        assert c.completed == len(by_type[c.key])
        assert c.median_days == pytest.approx(percentile_cont(by_type[c.key], 0.5), abs=1e-9)
        assert c.p90_days == pytest.approx(percentile_cont(by_type[c.key], 0.9), abs=1e-9)
    if len(provinces) > 1:
        assert {c.key: (c.completed, round(c.median_days, 9), round(c.p90_days, 9)) for c in report.cycle_by_province} \
            == {p: (len(v), round(percentile_cont(v, 0.5), 9), round(percentile_cont(v, 0.9), 9))
                for p, v in by_province.items()}
    # Throughput per expert: the province's visits; across all provinces, the central staff's.
    national = len(provinces) == len(kpi.ALL_PROVINCE_IDS)
    central_ids = {i for i, s in staff.items() if s.province_id is None}
    per = defaultdict(list)
    for v in visits:
        if v["province_id"] in provinces and inside(v["left_at"], period) and v["actor_id"] is not None \
                and (not national or v["actor_id"] in central_ids):
            per[v["actor_id"]].append(v)
    if national:
        claims = {a: n for a, n in claims.items() if a in central_ids}
    expected_experts = {}
    for aid in set(per) | set(claims):
        vs = per.get(aid, [])
        expected_experts[aid] = (len(vs), sum(v["met"] is not None for v in vs), sum(v["met"] is True for v in vs),
                                 percentile_cont([float(v["hours_used"]) for v in vs], 0.5), claims.get(aid, 0))
    got_experts = {e.actor_id: (e.decisions, e.verdicts, e.met, e.median_hours, e.open_claims) for e in report.experts}
    assert set(got_experts) == set(expected_experts)
    for aid, exp in expected_experts.items():
        g = got_experts[aid]
        assert g[:3] == exp[:3] and g[4] == exp[4]
        assert (g[3] is None and exp[3] is None) or g[3] == pytest.approx(exp[3], abs=1e-9)
        assert next(e.full_name for e in report.experts if e.actor_id == aid) == staff[aid].full_name
    # Breached and at-risk lists: most overdue first, at risk nearest the deadline first.
    open_rows = [r for r in requests if r["province_id"] in provinces and r["status"] == "open"
                 and r["stage_due_at"] is not None]
    breached = sorted((r for r in open_rows if r["stage_due_at"] < now), key=lambda r: (r["stage_due_at"], r["id"]))
    at_risk = sorted((r for r in open_rows if r["stage_due_at"] >= now and r["stage_risk_at"] < now),
                     key=lambda r: (r["stage_due_at"], r["id"]))
    assert [i.tracking_code for i in report.breached] == [r["tracking_code"] for r in breached][:kpi.LIST_LIMIT]
    assert [i.tracking_code for i in report.at_risk] == [r["tracking_code"] for r in at_risk][:kpi.LIST_LIMIT]
    # Working hours left: negative once overdue, except outside office hours, where a deadline that
    # passed at closing is overdue by no working time yet.
    for i in report.breached:
        assert i.hours_left < 0 or (i.hours_left == 0 and not cals_open(engine, i.province_id, now))
    for i in report.at_risk:
        assert i.hours_left >= 0
    return {"visits": sum(s[0] for s in stages.values()), "closed": sum(c[0] for c in closed.values()),
            "open": sum(b["total"] for b in expected.values()), "done": len(done)}


def cals_open(engine, province_id, now) -> bool:
    with session_scope(engine) as s:
        return calendars_for(s, (province_id,))[province_id].is_open(now)


def report_for(engine, actor, period, now, province_id=None):
    with session_scope(engine) as s:
        return kpi.kpi_report(s, actor, period, now, province_id)


PERIODS = {
    "aban": periods.month_period(1405, 8),
    "azar": periods.month_period(1405, 9),
    "boundary": periods.range_period(to_jalali(date(2026, 11, 12)), to_jalali(date(2026, 11, 24))),
    "autumn": periods.season_period(1405, 3),
    "year": periods.year_period(1405),
    # Whole Aban from the month rollups, 20-30 Mehr and 1-3 Azar from the daily ones.
    "mehr_to_azar": periods.range_period(to_jalali(date(2026, 10, 12)), to_jalali(date(2026, 11, 24))),
}


# --- the tests ------------------------------------------------------------------------------------

def test_every_kpi_matches_a_plain_recomputation_across_a_month_boundary_and_after_decisions(db, kpi_world,
                                                                                              monkeypatch):
    # Cycle times from the histogram from one whole month on (the page uses it from two), so that the
    # ranges with partial months at either end take that way too; the two-date range without a whole
    # month still sorts.
    monkeypatch.setattr(kpi, "HISTOGRAM_MIN_MONTHS", 1)
    sim = Simulation(db, kpi_world, seed=5)
    overrun = overrun_request(sim, datetime(2026, 11, 14, 9, 0, tzinfo=TEHRAN))
    sim.run(SIM_START, NOW - timedelta(days=2), steps=700)
    central, tehran = kpi_world["central.manager"], kpi_world["t.manager"]
    first = NOW - timedelta(days=2)
    sizes = {}
    for name, period in PERIODS.items():
        for actor, provinces, pid in ((tehran, (TEHRAN_ID,), None), (central, kpi.ALL_PROVINCE_IDS, None),
                                      (central, (ISFAHAN_ID,), ISFAHAN_ID)):
            report = report_for(db, actor, period, first, pid)
            sizes[(name, len(provinces), pid)] = check_report(db, report, provinces, period, first)
    # The data is not trivial: visits and closures on both sides of 1 Azar, open work of every age.
    aban, azar = sizes[("aban", 31, None)], sizes[("azar", 31, None)]
    assert aban["visits"] > 100 and azar["visits"] >= 3 and aban["done"] > 10 and azar["open"] > 30
    assert sizes[("aban", 1, ISFAHAN_ID)]["visits"] > 10
    ages = [0, 0, 0, 0]
    for b in report_for(db, tehran, PERIODS["azar"], first).backlog:
        ages = [x + y for x, y in zip(ages, b.ages)]
    assert all(ages), ages
    with db.connect() as c:
        used = c.execute(sa.text("SELECT stage_hours_used FROM request WHERE id = :i"), {"i": overrun}).scalar()
    assert used > Decimal(7)  # the overrun stage is still open: its age is corrected from the calendar

    # Requests closed in another month than they were submitted in are in the year's figures, and
    # the year sums months the month rollups hold with days of the current one.
    with db.connect() as c:
        crossing = c.execute(sa.text(
            "SELECT count(*) FROM request WHERE status = 'completed' AND closed_at >= :a "
            "AND jalali_month_start((submitted_at AT TIME ZONE 'Asia/Tehran')::date) "
            "<> jalali_month_start((closed_at AT TIME ZONE 'Asia/Tehran')::date)"),
            {"a": PERIODS["aban"].start}).scalar()
    assert crossing > 5 and sizes[("year", 31, None)]["done"] > sizes[("aban", 31, None)]["done"]

    # More decisions, in Azar: the numbers follow at once.
    before = report_for(db, tehran, PERIODS["azar"], NOW)
    sim.run(first, NOW, steps=150, new_share=0.1)
    for actor, provinces in ((tehran, (TEHRAN_ID,)), (central, kpi.ALL_PROVINCE_IDS)):
        for name in ("azar", "boundary", "mehr_to_azar", "year"):
            check_report(db, report_for(db, actor, PERIODS[name], NOW), provinces, PERIODS[name], NOW)
    after = report_for(db, tehran, PERIODS["azar"], NOW)
    assert sum(s.decisions for s in after.stages) > sum(s.decisions for s in before.stages)


def test_the_backlog_is_exact_early_and_late_in_the_office_day(db, kpi_world):
    """Before midday the backlog counts today's passed deadlines from the queue index; later it counts
    the rest of the day there and subtracts from the rollup's count for the day. Both give the
    plain recomputation's numbers, before opening, in office hours and after closing."""
    sim = Simulation(db, kpi_world, seed=11)
    end = datetime(2026, 11, 22, 16, 0, tzinfo=TEHRAN)
    sim.run(SIM_START, end, steps=500)
    with db.connect() as c:
        first_due = c.execute(sa.text("SELECT min(stage_due_at) FROM request WHERE status = 'open' "
                                      "AND stage_due_at > :end"), {"end": end}).scalar()
    assert first_due is not None  # a day with deadlines ahead of the data, so both ways count some
    day = first_due.astimezone(TEHRAN).replace(hour=0, minute=0, second=0, microsecond=0)
    central = kpi_world["central.manager"]
    for hour, minute in ((6, 0), (8, 10), (10, 0), (13, 50), (19, 0)):
        now = day.replace(hour=hour, minute=minute)
        check_report(db, report_for(db, central, PERIODS["azar"], now), kpi.ALL_PROVINCE_IDS, PERIODS["azar"], now)


def test_a_single_decision_moves_the_numbers_in_its_own_transaction(db, kpi_world):
    sim = Simulation(db, kpi_world, seed=11)
    at = datetime(2026, 11, 23, 9, 0, tzinfo=TEHRAN)
    rid = sim.submit(at, TEHRAN_ID, "legacy_registration")
    period = periods.month_period(1405, 9)
    manager = kpi_world["t.manager"]
    report = report_for(db, manager, period, at + timedelta(hours=1))
    assert sum(s.decisions for s in report.stages) == 0 and sum(b.total for b in report.backlog) == 1
    wf.approve(db, kpi_world["t.expert"], rid, 1, checklist=[True] * 5, now=at + timedelta(hours=2))
    report = report_for(db, manager, period, at + timedelta(hours=3))
    assert [(s.stage_code, s.decisions, s.verdicts, s.met) for s in report.stages] == [("initial_review", 1, 1, 1)]
    r = sim.row(rid)
    wf.approve(db, kpi_world["t.final"], rid, r["version"], checklist=[True], now=at + timedelta(hours=3))
    report = report_for(db, manager, period, at + timedelta(hours=4))
    assert [(c.type_code, c.status, c.closed, c.met) for c in report.requests] == \
        [("legacy_registration", "completed", 1, 1)]
    assert report.cycle_by_type[0].median_days == pytest.approx(3 / 7)
    assert sum(b.total for b in report.backlog) == 0


@pytest.mark.parametrize("seed", range(4))
def test_the_cycle_time_rank_window_holds_the_value_of_every_rank(seed):
    """The histogram of whole hours tells which buckets may hold a percentile's rank, also when
    provinces with other office-day hours shift their buckets' day ranges against each other."""
    rng = random.Random(seed)
    values, buckets = [], []
    for pid, day_hours in enumerate((7.0, 7.5, 8.0, 7.0)[: 1 + seed % 4]):
        per_hour = defaultdict(list)
        for _ in range(rng.randrange(1, 200)):
            hours = Decimal(rng.choice([rng.randrange(0, 40_0000), rng.randrange(0, 3_0000)])) / 10_000
            per_hour[int(hours)].append(float(hours) / day_hours)
        for hour, vs in per_hour.items():
            buckets.append((kpi._Bucket(hour, day_hours, len(vs), [(pid, "t")]), vs))
            values += vs
    values.sort()
    for rank in range(len(values)):
        below, candidates = kpi._rank_window([b for b, _ in buckets], rank)
        inside = sorted(v for b, vs in buckets if any(b is c for c in candidates) for v in vs)
        assert inside[rank - below] == values[rank]
        assert len(candidates) <= 2 * (1 + seed % 4)  # a bucket or two per province, not the whole range


@pytest.mark.parametrize("seed", range(6))
def test_age_buckets_agree_with_the_calendar_on_their_boundaries(seed):
    """T_k is the latest deadline that still means "k working days old or older": a stage whose
    deadline is T_k is exactly k days old, one whose deadline is a microsecond later is younger."""
    rng = random.Random(seed)
    cal = BusinessCalendar(holidays={date(2026, 11, 3), date(2026, 11, 4), date(2026, 11, 17)},
                           workdays={5, 6, 0, 1, 2} if seed % 2 else {5, 6, 0, 1, 2, 3})
    for _ in range(300):
        limit_days = rng.choice([1, 2, 3, 5, 10])
        limit_hours = limit_days * cal.day_hours
        now = datetime(2026, 11, 1, tzinfo=TEHRAN) + timedelta(seconds=rng.randrange(86400 * 40))
        thresholds = kpi.age_thresholds(cal, now, limit_days)
        for k, t in zip(kpi.AGE_BUCKETS_DAYS, thresholds):
            assert cal.is_open(t)  # inside office hours, or the opening after a closed stretch

            def age(due):  # the stage's age when its deadline (limit - used after entering) is `due`
                return limit_hours + cal.working_hours_between(due, now)
            assert age(t) == pytest.approx(k * cal.day_hours, abs=1e-7)
            assert age(t + timedelta(microseconds=1)) < k * cal.day_hours
            assert age(t - timedelta(microseconds=1)) >= k * cal.day_hours - 1e-7
            assert kpi.age_bucket(round(age(t) * 3.6e9), cal.day_us) >= 1


def test_rollups_are_rebuilt_after_a_bulk_load_that_bypassed_the_triggers(db, owner_engine, kpi_world):
    sim = Simulation(db, kpi_world, seed=3)
    sim.run(datetime(2026, 11, 8, 8, 0, tzinfo=TEHRAN), NOW - timedelta(days=1), steps=120)
    manager = kpi_world["t.manager"]
    period = periods.season_period(1405, 3)
    good = report_for(db, manager, period, NOW)
    with owner_engine.begin() as c:  # what the demo loader does as the owner: replica mode, no ordinary triggers
        c.execute(sa.text("SET LOCAL session_replication_role = replica"))
        c.execute(sa.text("UPDATE stage_visit SET met = NOT met WHERE met IS NOT NULL"))
    with db.connect() as c:
        assert c.execute(sa.text("SELECT dirty FROM kpi_state")).scalar() is True
    flipped = report_for(db, manager, period, NOW)
    check_report(db, flipped, (TEHRAN_ID,), period, NOW)
    assert sum(s.met for s in flipped.stages) == sum(s.verdicts for s in good.stages) - sum(s.met for s in good.stages)
    with db.connect() as c:
        assert c.execute(sa.text("SELECT dirty FROM kpi_state")).scalar() is False


def test_a_provincial_manager_sees_only_the_own_province_whatever_the_filter(db, kpi_world):
    sim = Simulation(db, kpi_world, seed=9)
    sim.run(datetime(2026, 11, 8, 8, 0, tzinfo=TEHRAN), NOW, steps=150)
    manager = kpi_world["t.manager"]
    period = periods.month_period(1405, 9)
    with pytest.raises(PermissionDenied):
        report_for(db, manager, period, NOW, province_id=ISFAHAN_ID)
    report = report_for(db, manager, period, NOW, province_id=TEHRAN_ID)
    assert report.provinces == (TEHRAN_ID,)
    assert {b.province_id for b in report.backlog} <= {TEHRAN_ID}
    assert {s.province_id for s in report.stages} <= {TEHRAN_ID}
    assert all(i.province_id == TEHRAN_ID for i in report.breached + report.at_risk)
    assert not {e.province_id for e in report.experts} - {TEHRAN_ID, None}
    assert {e.province_id for e in report_for(db, kpi_world["central.manager"], period, NOW).experts} == {None}
    central = report_for(db, kpi_world["central.manager"], period, NOW)
    assert {b.province_id for b in central.backlog} == {TEHRAN_ID, ISFAHAN_ID, MASHHAD_ID}
    assert len(kpi.province_comparison_table(central).rows) == 31


@pytest.mark.parametrize("role", ["expert", "final_reviewer", "head", "finance", "board"])
def test_only_managers_get_the_kpis(db, role):
    actor = Actor(1, "x", "x", frozenset({role}), TEHRAN_ID)
    with pytest.raises(PermissionDenied):
        report_for(db, actor, periods.month_period(1405, 9), NOW)


def test_periods_are_whole_tehran_days():
    p = periods.month_period(1405, 12)
    assert (p.first_day, p.end_day) == (date(2027, 2, 20), date(2027, 3, 21))
    assert periods.season_period(1405, 1).first_day == date(2026, 3, 21)
    assert periods.year_period(1405).end_day == date(2027, 3, 21)
    r = periods.range_period(to_jalali(date(2026, 11, 12)), to_jalali(date(2026, 11, 24)))
    assert (r.first_day, r.last_day) == (date(2026, 11, 12), date(2026, 11, 24))
    months = periods.trend_months(periods.month_period(1405, 2))
    assert len(months) == 12 and (months[0].year, months[0].month) == (1404, 3) and months[-1].month == 2
    assert [m.key for m in periods.months_between(date(2026, 11, 12), date(2026, 11, 24))] == ["1405-08", "1405-09"]
    start, _ = jalali_month_bounds(1405, 9)
    assert start == datetime(2026, 11, 22, tzinfo=TEHRAN)


def test_deltas_fold_into_one_row_per_key_without_changing_a_number(db, kpi_world, monkeypatch):
    sim = Simulation(db, kpi_world, seed=13)
    sim.run(datetime(2026, 11, 1, 8, 0, tzinfo=TEHRAN), NOW - timedelta(hours=2), steps=200)
    central, period = kpi_world["central.manager"], PERIODS["autumn"]
    tables = ("kpi_visit_day", "kpi_request_day", "kpi_day", "kpi_licence_day", "kpi_open_day", "kpi_visit_month",
              "kpi_request_month", "kpi_month", "kpi_visit_hours_month", "kpi_cycle_month")
    month_keys = {"kpi_visit_month": "province_id, month, type_code, stage_code",
                  "kpi_request_month": "province_id, month, type_code, status", "kpi_month": "province_id, month",
                  "kpi_visit_hours_month": "province_id, actor_id, month, hour",
                  "kpi_cycle_month": "province_id, month, type_code, hour"}

    def deltas():
        with db.connect() as c:
            return sum(c.execute(sa.text(f"SELECT count(*) FROM {t} WHERE delta_id > 0")).scalar() for t in tables)
    report_for(db, central, period, NOW)  # clears the dirty flag the test's TRUNCATE left
    sim.run(NOW - timedelta(hours=2), NOW - timedelta(minutes=1), steps=40, new_share=0.1)
    assert deltas() > 0  # decisions since the rebuild are delta rows
    before = report_for(db, central, period, NOW)
    monkeypatch.setattr(kpi, "COMPACT_AFTER", 0)
    after = report_for(db, central, period, NOW)  # the page's service compacts on its way
    assert deltas() == 0
    with db.connect() as c:
        for t in tables:
            keys = {"kpi_open_day": "province_id, type_code, stage_code, due_day, risk_day", **month_keys}.get(
                t, "province_id, day" + {"kpi_visit_day": ", type_code, stage_code",
                                          "kpi_request_day": ", type_code, status",
                                          "kpi_licence_day": ", type_code, field, grade"}.get(t, ""))
            assert c.execute(sa.text(f"SELECT count(*) FROM (SELECT {keys} FROM {t} GROUP BY {keys} "
                                     f"HAVING count(*) > 1) d")).scalar() == 0, t
    check_report(db, after, kpi.ALL_PROVINCE_IDS, period, NOW)
    def numbers(r):
        return (sorted(map(repr, r.backlog)), sorted(map(repr, r.stages)), sorted(map(repr, r.requests)), r.trend)
    assert numbers(before) == numbers(after)


def test_concurrent_decisions_in_one_province_neither_wait_on_nor_deadlock_over_the_rollups(db, kpi_world):
    """Every decision adds rows to the same day's rollups; the triggers only insert, so parallel
    decisions (including payments, which touch the rollups in another order) all go through."""
    from concurrent.futures import ThreadPoolExecutor

    sim = Simulation(db, kpi_world, seed=29)
    at = datetime(2026, 11, 23, 9, 0, tzinfo=TEHRAN)
    rids = [sim.submit(at, TEHRAN_ID, t) for t in ["legacy_registration"] * 12 + ["new_membership"] * 12]
    errors = []

    def work(rid, k):
        try:
            for step in range(6):
                sim_local = Simulation(db, kpi_world, seed=1000 * k + step)
                sim_local.refs = 100_000 * (k + 1) + 1000 * step  # distinct bank references
                try:
                    sim_local.act(rid, at + timedelta(minutes=10 * step + 1))
                except DomainError:
                    pass
        except Exception as exc:  # anything else: a deadlock, a lock timeout...
            errors.append(repr(exc))
    with ThreadPoolExecutor(12) as pool:
        list(pool.map(work, rids, range(len(rids))))
    assert errors == []
    check_report(db, report_for(db, kpi_world["t.manager"], PERIODS["azar"], at + timedelta(hours=2)), (TEHRAN_ID,),
                 PERIODS["azar"], at + timedelta(hours=2))
