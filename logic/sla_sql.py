"""SLA status as SQL expressions over the stored due and at-risk times, so queues and KPIs can
filter, count and sort by it in the database."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from db.models import Request, StageVisit
from domain.calendar import SlaStatus
from domain.processes import JUDGED_TYPES, NO_LIMIT_STAGES, OUTSIDE_TOTAL_STAGES


def _no_limit_stage(req) -> sa.ColumnElement[bool]:
    return sa.and_(req.status == "open", sa.tuple_(req.type_code, req.stage_code).in_(NO_LIMIT_STAGES))


def _closed_verdict(req) -> sa.ColumnElement[str]:
    return sa.case((req.met_sla.is_(False), SlaStatus.MISSED.value), (req.met_sla.is_(True), SlaStatus.MET.value),
                   else_=SlaStatus.NO_LIMIT.value)


def stage_status(now: datetime, req=Request) -> sa.ColumnElement[str]:
    """The current stage's status: paused (member's turn / returned), on time, at risk, breached;
    met or missed once the request is closed (from its last stage visit)."""
    return sa.case(
        (req.status.in_(("completed", "rejected")), _closed_verdict(req)),
        (sa.and_(req.stage_due_at.is_(None), _no_limit_stage(req)), SlaStatus.NO_LIMIT.value),
        (req.stage_due_at.is_(None), SlaStatus.PAUSED.value),
        (req.stage_due_at < now, SlaStatus.BREACHED.value),
        (req.stage_risk_at < now, SlaStatus.AT_RISK.value),
        else_=SlaStatus.ON_TIME.value,
    )


def request_status(now: datetime, req=Request) -> sa.ColumnElement[str]:
    """The whole request's status against its process limit."""
    return sa.case(
        (req.status.in_(("completed", "rejected")), _closed_verdict(req)),
        (req.type_code.not_in(JUDGED_TYPES), SlaStatus.NO_LIMIT.value),
        (sa.and_(req.status == "open", sa.tuple_(req.type_code, req.stage_code).in_(OUTSIDE_TOTAL_STAGES)),
         SlaStatus.NO_LIMIT.value),
        (req.due_at.is_(None), SlaStatus.PAUSED.value),
        (req.due_at < now, SlaStatus.BREACHED.value),
        (req.risk_at < now, SlaStatus.AT_RISK.value),
        else_=SlaStatus.ON_TIME.value,
    )


def visit_status(visit=StageVisit) -> sa.ColumnElement[str | None]:
    """A finished stage visit: met or missed (returns are pauses, not verdicts)."""
    return sa.case((visit.met.is_(True), SlaStatus.MET.value), (visit.met.is_(False), SlaStatus.MISSED.value),
                   else_=None)


def status_filter(now: datetime, status: str, req=Request) -> sa.ColumnElement[bool]:
    """An index-friendly condition for one open-stage status (the queue's filter)."""
    if status == SlaStatus.BREACHED:
        return req.stage_due_at < now
    if status == SlaStatus.AT_RISK:
        return sa.and_(req.stage_due_at >= now, req.stage_risk_at < now)
    if status == SlaStatus.ON_TIME:
        return req.stage_risk_at >= now
    if status == SlaStatus.PAUSED:
        return sa.and_(req.stage_due_at.is_(None), sa.not_(_no_limit_stage(req)))
    if status == SlaStatus.NO_LIMIT:
        return sa.and_(req.stage_due_at.is_(None), _no_limit_stage(req))
    raise ValueError(status)
