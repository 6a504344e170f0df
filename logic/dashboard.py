"""The home page's figures: a handful of SQL aggregates over the actor's province."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from db.models import Member, Request
from domain.actor import Actor
from domain.jalali import TEHRAN, jalali_month_bounds, to_jalali
from logic.scope import province_clause


@dataclass(frozen=True)
class Summary:
    open_requests: int
    mine: int
    overdue: int
    due_today: int
    closed_this_month: int
    active_members: int


def summary(session: Session, actor: Actor, now: datetime) -> Summary:
    today = now.astimezone(TEHRAN)
    jd = to_jalali(today)
    month_start, month_end = jalali_month_bounds(jd.year, jd.month)
    end_of_day = today.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    scope = province_clause(actor, Request.province_id)
    is_open = Request.status == "open"
    row = session.execute(
        sa.select(
            sa.func.count().filter(is_open),
            sa.func.count().filter(is_open, Request.assignee_id == actor.id),
            sa.func.count().filter(is_open, Request.stage_due_at < now),
            sa.func.count().filter(is_open, Request.stage_due_at >= now, Request.stage_due_at < end_of_day),
            sa.func.count().filter(Request.closed_at >= month_start, Request.closed_at < month_end),
        ).where(scope, sa.or_(is_open, Request.closed_at >= month_start))
    ).one()
    members = session.scalar(
        sa.select(sa.func.count()).select_from(Member)
        .where(province_clause(actor, Member.province_id), Member.status == "active")
    )
    return Summary(*row, members or 0)


@dataclass(frozen=True)
class Figure:
    """One headline figure of the home page and the list it opens (`target`: a queue view such as
    "queue:overdue", or a page's name: "payments", "releases", "kpi", "staff")."""
    label: str
    value: int
    target: str
    capped: bool = False  # the value stopped at a cap: "more than"


def role_figures(session: Session, actor: Actor, now: datetime) -> list[Figure]:
    """What each of the actor's roles has to do today, each figure leading to its filtered list:
    the expert's overdue, due today and held work and the group's free work; finance's assessments
    to approve and payments to record; the board's drafts waiting for a second member; the manager's
    breaches. Only the roles the actor holds, so a board member sees no queue figures."""
    from domain.roles import Role
    from logic import payments, queue, releases

    figures: list[Figure] = []
    if queue.takes_work(actor) or queue.is_manager(actor):
        counts = queue.view_counts(session, actor, now)
        if queue.takes_work(actor):
            figures += [Figure("گذشته از مهلت (کارهای من و گروه)", counts["overdue"], "queue:overdue"),
                        Figure("مهلت تا پایان امروز", counts["due_today"], "queue:due_today"),
                        Figure("کارهای برداشته‌شده توسط من", counts["mine"], "queue:mine"),
                        Figure("کار آزاد در کارتابل گروه", counts["group"], "queue:group")]
        if queue.is_manager(actor):
            figures += [Figure("درخواست‌های گذشته از مهلت در استان", counts["overdue"], "queue:overdue"),
                        Figure("همهٔ درخواست‌های باز", counts["all"], "queue:all")]
        figures = [f if f.value <= queue.COUNT_CAP else Figure(f.label, queue.COUNT_CAP, f.target, True)
                   for f in figures]
    if actor.has(Role.FINANCE):
        approvals = payments.pending_finance_approvals(session, actor)
        awaiting = payments.awaiting_payment(session, actor)
        figures += [Figure("ارزیابی‌های هزینه در انتظار تأیید مالی", len(approvals), "payments", len(approvals) >= 200),
                    Figure("درخواست‌های در انتظار پرداخت", len(awaiting), "payments", len(awaiting) >= 200)]
    if actor.has(Role.BOARD):
        drafts = [r for r in releases.board_releases(session, actor)
                  if r.status == "draft" and r.composed_by != actor.id]
        figures.append(Figure("پیش‌نویس‌های آمار در انتظار تأیید شما", len(drafts), "releases"))
    return figures
