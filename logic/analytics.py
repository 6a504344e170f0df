"""Membership analytics per Jalali month: renewals and the Rial they brought, new members, transfers
out and in, work licences issued and renewed by field and grade, and members with and without a
valid work licence.

Counts by month come from the daily rollups kept by triggers (migration 0007: `kpi_day`,
`kpi_licence_day`; licences issued and renewed from the record's `record_change` rows, migration
0015); new members and licence holders are read from covering indexes on `member`
and `work_licence`. Every query is limited to the provinces the actor may see
(`logic.kpi.scope_provinces`): managers and board members of a province get their own province,
central staff all provinces or one.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from db.models import Member
from domain.actor import Actor
from domain.jalali import TEHRAN, format_jalali_date
from domain.periods import Month, Period, months_between
from domain.reference import FIELDS_FA, GRADES_FA
from domain.roles import Role
from logic.kpi import (Table, _any, _any_params, _in_scope, month_bucket_sql, period_rows, prepare, require_kpi_role,
                       scope_provinces)

ANALYTICS_ROLES = (Role.MANAGER, Role.BOARD)
LICENCE_TYPES = ("licence_issue", "licence_renewal")


@dataclass(frozen=True)
class MonthRow:
    month: Month
    renewals: int
    renewals_amount: int
    payments: int
    payments_amount: int
    new_members: int
    transfers_out: int
    transfers_in: int
    licences_issued: int
    licences_renewed: int


@dataclass(frozen=True)
class FieldGradeRow:
    field: str
    grade: int          # 0: no grade yet
    issued: int
    renewed: int


@dataclass(frozen=True)
class HolderRow:
    field: str
    grade: int
    members: int        # active members
    with_licence: int   # of whom hold a work licence valid on the day


@dataclass
class AnalyticsReport:
    provinces: tuple[int, ...]
    period: Period
    months: list[MonthRow]
    licences: list[FieldGradeRow]
    holders: list[HolderRow]
    holders_on: date


def _day_window(period: Period, months: list[Month]) -> tuple[date, date]:
    return max(period.first_day, months[0].start), min(period.end_day, months[-1].end)


def monthly(session: Session, provinces, period: Period, months: list[Month]) -> list[MonthRow]:
    d0, d1 = _day_window(period, months)
    # Whole months from the month rollup, the partial ones at either end from the days (0022).
    columns = ("renewals_paid", "renewals_amount", "payments", "payments_amount", "transfers_out", "transfers_in",
               "licences_issued", "licences_renewed")
    params = _any_params(provinces)
    rows = period_rows("kpi_day", ", ".join(columns), _any("province_id", provinces), d0, d1, params, day_as="day")
    day = sa.column("day", sa.Date)
    bucket = month_bucket_sql(day, months)
    day_rows = {r.b: r for r in session.execute(
        sa.select(bucket.label("b"), *(sa.func.sum(sa.column(c)).label(c) for c in columns))
        .select_from(sa.text(f"({rows}) AS r")).group_by(bucket), params)}
    mbucket = month_bucket_sql(Member.joined_on, months).label("b")
    joined = {r.b: r.n for r in session.execute(
        sa.select(mbucket, sa.func.count().label("n"))
        .where(_in_scope(Member.province_id, provinces), Member.joined_on >= d0, Member.joined_on < d1)
        .group_by(mbucket))}
    out = []
    for i, mo in enumerate(months, start=1):
        r = day_rows.get(i)

        def v(name: str) -> int:
            return int(getattr(r, name)) if r is not None else 0
        out.append(MonthRow(mo, v("renewals_paid"), v("renewals_amount"), v("payments"), v("payments_amount"),
                            int(joined.get(i, 0)), v("transfers_out"), v("transfers_in"), v("licences_issued"),
                            v("licences_renewed")))
    return out


def licences_by_field_grade(session: Session, provinces, period: Period) -> list[FieldGradeRow]:
    rows = session.execute(sa.text(f"""
        SELECT field, grade, sum(n) FILTER (WHERE type_code = 'licence_issue') AS issued,
               sum(n) FILTER (WHERE type_code = 'licence_renewal') AS renewed
        FROM kpi_licence_day WHERE {_any('province_id', provinces)} AND day >= :d0 AND day < :d1
        GROUP BY field, grade"""), {"d0": period.first_day, "d1": period.end_day, **_any_params(provinces)})
    order = {f: i for i, f in enumerate(FIELDS_FA)}
    out = [FieldGradeRow(r.field, r.grade, int(r.issued or 0), int(r.renewed or 0)) for r in rows
           if (r.issued or r.renewed)]
    return sorted(out, key=lambda x: (order.get(x.field, 99), x.grade))


def licence_holders(session: Session, provinces, on: date) -> list[HolderRow]:
    """Active members by field and grade, and how many of them hold a work licence valid on `on`."""
    # Two index-only passes in member id order, merged: the valid work licences and the active
    # members (no per-member probe, no hash of a million ids).
    rows = session.execute(sa.text(f"""
        SELECT m.field, coalesce(m.grade, 0) AS grade, count(*) AS members, count(v.member_id) AS with_licence
        FROM member m
        LEFT JOIN (SELECT DISTINCT member_id FROM work_licence
                   WHERE kind = 'work' AND expires_on >= :on AND issued_on <= :on) v ON v.member_id = m.id
        WHERE m.status = 'active' AND {_any('m.province_id', provinces)}
        GROUP BY 1, 2"""), {"on": on, **_any_params(provinces)})
    order = {f: i for i, f in enumerate(FIELDS_FA)}
    return sorted((HolderRow(r.field, r.grade, r.members, r.with_licence) for r in rows),
                  key=lambda x: (order.get(x.field, 99), x.grade))


def analytics_report(session: Session, actor: Actor, period: Period, now: datetime,
                     province_id: int | None = None) -> AnalyticsReport:
    require_kpi_role(actor, ANALYTICS_ROLES)
    provinces = scope_provinces(actor, province_id)
    prepare(session)
    months = months_between(period.first_day, period.last_day)
    today = now.astimezone(TEHRAN).date()
    holders_on = min(period.last_day, today)
    return AnalyticsReport(provinces, period, monthly(session, provinces, period, months),
                           licences_by_field_grade(session, provinces, period),
                           licence_holders(session, provinces, holders_on), holders_on)


# --- tables for the page and its downloads ------------------------------------------------------

def _grade(g: int) -> str:
    return GRADES_FA.get(g, "بدون پایه")


def renewals_table(report: AnalyticsReport) -> Table:
    rows = [{"month": m.month.label, "month_key": m.month.key, "renewals": m.renewals, "amount": m.renewals_amount,
             "payments": m.payments, "payments_amount": m.payments_amount} for m in report.months]
    columns = (("month", "ماه"), ("renewals", "تمدیدهای پرداخت‌شده"), ("amount", "مبلغ تمدیدها (ریال)"),
               ("payments", "همهٔ پرداخت‌ها"), ("payments_amount", "مبلغ همهٔ پرداخت‌ها (ریال)"))
    return Table("renewals", "تمدید عضویت و مبالغ دریافتی", columns, rows)


def members_table(report: AnalyticsReport) -> Table:
    rows = [{"month": m.month.label, "month_key": m.month.key, "new_members": m.new_members,
             "transfers_in": m.transfers_in, "transfers_out": m.transfers_out} for m in report.months]
    columns = (("month", "ماه"), ("new_members", "اعضای جدید"), ("transfers_in", "انتقال به استان"),
               ("transfers_out", "انتقال از استان"))
    return Table("members", "اعضای جدید و انتقال‌ها", columns, rows)


def licences_month_table(report: AnalyticsReport) -> Table:
    rows = [{"month": m.month.label, "month_key": m.month.key, "issued": m.licences_issued,
             "renewed": m.licences_renewed} for m in report.months]
    columns = (("month", "ماه"), ("issued", "پروانه‌های صادرشده"), ("renewed", "پروانه‌های تمدیدشده"))
    return Table("licences_monthly", "پروانه‌های اشتغال صادرشده و تمدیدشده در هر ماه", columns, rows)


def licences_table(report: AnalyticsReport) -> Table:
    rows = [{"field": FIELDS_FA.get(r.field, r.field), "grade": _grade(r.grade), "issued": r.issued,
             "renewed": r.renewed} for r in report.licences]
    columns = (("field", "رشته"), ("grade", "پایه"), ("issued", "صادرشده"), ("renewed", "تمدیدشده"))
    return Table("licences", "پروانه‌های اشتغال به تفکیک رشته و پایه", columns, rows)


def holders_table(report: AnalyticsReport) -> Table:
    rows = [{"field": FIELDS_FA.get(r.field, r.field), "grade": _grade(r.grade), "members": r.members,
             "with": r.with_licence, "without": r.members - r.with_licence} for r in report.holders]
    columns = (("field", "رشته"), ("grade", "پایه"), ("members", "اعضای فعال"), ("with", "دارای پروانهٔ معتبر"),
               ("without", "بدون پروانهٔ معتبر"))
    return Table("licence_holders", f"اعضای دارای و بدون پروانهٔ اشتغال معتبر در {format_jalali_date(report.holders_on)}",
                 columns, rows)
