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
