"""Membership analytics against a plain recomputation from the raw tables: renewals and their Rial,
all payments, new members, transfers out and in, licences issued and renewed per month and by field
and grade, and members with and without a valid work licence; across a Jalali month boundary,
after further decisions, per province and for all provinces; and who may ask."""
from __future__ import annotations

import random
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta

import pytest
import sqlalchemy as sa

from db.engine import session_scope
from domain import periods
from domain.errors import PermissionDenied
from domain.jalali import TEHRAN, to_jalali
from domain.reference import ISFAHAN_ID, TEHRAN_ID
from logic import analytics as an
from logic import kpi
from logic.auth import Actor
from tests.factories import MASHHAD_ID, NOW, SIM_START, Simulation, add_licences, make_staff

PERIODS = {
    "aban": periods.month_period(1405, 8),
    "azar": periods.month_period(1405, 9),
    "boundary": periods.range_period(to_jalali(date(2026, 11, 12)), to_jalali(date(2026, 11, 24))),
    "autumn": periods.season_period(1405, 3),
    "year": periods.year_period(1405),
}


def drive(sim: Simulation, type_code: str, start: datetime, count: int = 4) -> None:
    """A few requests of one type taken step by step (randomly, as always) over the next days."""
    from domain.errors import DomainError
    rids = [sim.submit(start + timedelta(minutes=i), TEHRAN_ID, type_code) for i in range(count)]
    at = start
    for _ in range(40):
        at += timedelta(hours=2)
        for rid in rids:
            try:
                sim.act(rid, at)
            except DomainError:
                pass


def in_month(moment, month: periods.Month) -> bool:
    day = moment.astimezone(TEHRAN).date() if isinstance(moment, datetime) else moment
    return month.start <= day < month.end


def plain(engine, provinces, period, now):
    with engine.connect() as c:
        requests = {r.id: r for r in c.execute(sa.text("SELECT * FROM request"))}
        payments = c.execute(sa.text("SELECT * FROM payment")).all()
        members = {r.id: r for r in c.execute(sa.text("SELECT * FROM member"))}
        licences = c.execute(sa.text("SELECT * FROM work_licence")).all()
        # The record's rows of work licences issued and renewed, with the licence's field and grade.
        changes = c.execute(sa.text("SELECT c.kind, c.province_id, c.at, w.field, coalesce(w.grade, 0) AS grade "
                                    "FROM record_change c JOIN work_licence w ON w.id = c.licence_id "
                                    "WHERE w.kind = 'work' AND c.kind IN ('licence_issued', 'licence_renewed')")).all()
    months = periods.months_between(period.first_day, period.last_day)
    lo = max(period.first_day, months[0].start)
    hi = min(period.end_day, months[-1].end)

    def inside(moment):
        day = moment.astimezone(TEHRAN).date() if isinstance(moment, datetime) else moment
        return lo <= day < hi

    rows = []
    for mo in months:
        pays = [p for p in payments if requests[p.request_id].province_id in provinces and inside(p.paid_at)
                and in_month(p.paid_at, mo)]
        ren = [p for p in pays if requests[p.request_id].type_code == "membership_renewal"]
        done = [r for r in requests.values() if r.status == "completed" and r.closed_at and inside(r.closed_at)
                and in_month(r.closed_at, mo)]
        rows.append({
            "renewals": len(ren), "renewals_amount": sum(p.amount for p in ren),
            "payments": len(pays), "payments_amount": sum(p.amount for p in pays),
            "new_members": sum(1 for m in members.values() if m.province_id in provinces and m.joined_on
                               and inside(m.joined_on) and in_month(m.joined_on, mo)),
            "transfers_out": sum(1 for r in done if r.type_code == "transfer" and r.province_id in provinces),
            "transfers_in": sum(1 for r in done if r.type_code == "transfer"
                                and int(r.data["destination_province"]) in provinces),
            "licences_issued": sum(1 for x in changes if x.kind == "licence_issued" and x.province_id in provinces
                                   and inside(x.at) and in_month(x.at, mo)),
            "licences_renewed": sum(1 for x in changes if x.kind == "licence_renewed" and x.province_id in provinces
                                    and inside(x.at) and in_month(x.at, mo)),
        })
    by_fg = defaultdict(lambda: [0, 0])
    for x in changes:
        if x.province_id in provinces and period.start <= x.at < period.end:
            by_fg[(x.field, x.grade)][0 if x.kind == "licence_issued" else 1] += 1
    on = min(period.last_day, now.astimezone(TEHRAN).date())
    valid = {w.member_id for w in licences if w.kind == "work" and w.issued_on <= on <= w.expires_on}
    holders = defaultdict(lambda: [0, 0])
    for m in members.values():
        if m.status == "active" and m.province_id in provinces:
            h = holders[(m.field, m.grade or 0)]
            h[0] += 1
            h[1] += m.id in valid
    return rows, {k: v for k, v in by_fg.items()}, dict(holders), on


def check(engine, actor, provinces, period, now, province_id=None):
    with session_scope(engine) as s:
        report = an.analytics_report(s, actor, period, now, province_id)
    rows, by_fg, holders, on = plain(engine, provinces, period, now)
    got = [{"renewals": m.renewals, "renewals_amount": m.renewals_amount, "payments": m.payments,
            "payments_amount": m.payments_amount, "new_members": m.new_members, "transfers_out": m.transfers_out,
            "transfers_in": m.transfers_in, "licences_issued": m.licences_issued,
            "licences_renewed": m.licences_renewed} for m in report.months]
    assert [m.month.key for m in report.months] == [m.key for m in periods.months_between(period.first_day,
                                                                                      period.last_day)]
    assert got == rows
    assert {(r.field, r.grade): [r.issued, r.renewed] for r in report.licences} == by_fg
    assert {(r.field, r.grade): [r.members, r.with_licence] for r in report.holders} == holders
    assert report.holders_on == on
    return report, rows


def test_every_analytics_number_matches_a_plain_recomputation(db, kpi_world):
    sim = Simulation(db, kpi_world, seed=21)
    sim.run(SIM_START, NOW - timedelta(days=2), steps=900, new_share=0.25)
    drive(sim, "licence_renewal", datetime(2026, 11, 16, 8, 0, tzinfo=TEHRAN))
    add_licences(db, random.Random(4))
    board = make_staff(db, "t.board", ["board"], TEHRAN_ID)
    central = kpi_world["central.manager"]
    first = NOW - timedelta(days=2)
    totals = Counter()
    for period in PERIODS.values():
        for actor, provinces, pid in ((board, (TEHRAN_ID,), None), (central, kpi.ALL_PROVINCE_IDS, None),
                                      (central, (ISFAHAN_ID,), ISFAHAN_ID),
                                      (kpi_world["m.manager"], (MASHHAD_ID,), None)):
            _, rows = check(db, actor, provinces, period, first, pid)
            if period is PERIODS["autumn"] and len(provinces) > 1:
                totals.update({k: sum(r[k] for r in rows) for k in rows[0]})
    # The history has something of everything, on both sides of 1 Azar.
    assert all(totals[k] > 0 for k in ("renewals", "payments", "new_members", "transfers_in", "licences_issued",
                                       "licences_renewed")), totals
    # More decisions and payments, in Azar: the numbers follow.
    sim.run(first, NOW, steps=250, new_share=0.05)
    for name in ("azar", "boundary", "year"):
        check(db, central, kpi.ALL_PROVINCE_IDS, PERIODS[name], NOW)
        check(db, board, (TEHRAN_ID,), PERIODS[name], NOW)


def test_tables_carry_the_report_and_the_month_axis_is_jalali(db, kpi_world):
    sim = Simulation(db, kpi_world, seed=2)
    sim.run(datetime(2026, 10, 10, 8, 0, tzinfo=TEHRAN), NOW, steps=200)
    add_licences(db, random.Random(1))
    with session_scope(db) as s:
        report = an.analytics_report(s, kpi_world["central.manager"], PERIODS["autumn"], NOW)
    renewals = an.renewals_table(report)
    assert [r["month"] for r in renewals.rows] == ["مهر ۱۴۰۵", "آبان ۱۴۰۵", "آذر ۱۴۰۵"]
    assert [r["amount"] for r in renewals.rows] == [m.renewals_amount for m in report.months]
    holders = an.holders_table(report)
    assert all(r["with"] + r["without"] == r["members"] for r in holders.rows)
    assert "۱۴۰۵/۰۹/۰۴" in holders.title  # the day the validity is counted on
    assert {r["grade"] for r in an.licences_table(report).rows} <= {"پایه ۱", "پایه ۲", "پایه ۳", "بدون پایه"}


@pytest.mark.parametrize("role", ["expert", "finance", "head", "admin", "central_expert"])
def test_only_managers_and_the_board_get_the_analytics(db, role):
    actor = Actor(1, "x", "x", frozenset({role}), TEHRAN_ID)
    with pytest.raises(PermissionDenied):
        with session_scope(db) as s:
            an.analytics_report(s, actor, PERIODS["azar"], NOW)


def test_a_provincial_board_member_cannot_read_another_province(db):
    board = Actor(1, "b", "b", frozenset({"board"}), TEHRAN_ID)
    with pytest.raises(PermissionDenied):
        with session_scope(db) as s:
            an.analytics_report(s, board, PERIODS["azar"], NOW, province_id=ISFAHAN_ID)
