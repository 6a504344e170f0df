"""A request's event log and optimistic locking: loading a request for a change, refusing a stale
form, and writing the one event of a change (the version moves on with every transition)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from db.models import Request, RequestEvent, StaffUser
from domain.errors import NotFound, StaleRequest
from domain.jalali import format_jalali_datetime
from domain.processes import ACTIONS_FA


@dataclass(frozen=True)
class Outcome:
    """What a change did, for the screen's result message."""

    request_id: int
    tracking_code: str
    version: int
    status: str
    stage_code: str
    message: str


def load_for_update(s: Session, request_id: int) -> Request:
    req = s.scalar(sa.select(Request).where(Request.id == request_id).with_for_update())
    if req is None:
        raise NotFound("درخواست پیدا نشد.")
    return req


def check_version(s: Session, req: Request, version: int | None) -> None:
    """Refuse a form opened before someone else changed the request, naming who and when."""
    if version is None or version == req.version:
        return
    last = s.execute(
        sa.select(RequestEvent.at, RequestEvent.action, StaffUser.full_name)
        .outerjoin(StaffUser, StaffUser.id == RequestEvent.actor_id)
        .where(RequestEvent.request_id == req.id, RequestEvent.version == req.version)
        .order_by(RequestEvent.id.desc()).limit(1)
    ).first()
    who = (last.full_name if last and last.full_name else "عضو یا سامانه") if last else "کاربر دیگری"
    when = format_jalali_datetime(last.at) if last else ""
    what = ACTIONS_FA.get(last.action, last.action) if last else ""
    raise StaleRequest(
        f"این درخواست پیش از شما تغییر کرده است: «{what}» توسط {who} در {when}. "
        "صفحه را دوباره بارگذاری کنید؛ هیچ تغییری از طرف شما ثبت نشد.",
        by=who, at=last.at if last else None, action=last.action if last else None,
    )


def write_event(s: Session, req: Request, actor_id: int | None, action: str, now: datetime, *,
                from_stage: str | None, to_stage: str | None, reason: str | None = None,
                data: dict | None = None, bump: bool = True) -> None:
    if bump:
        req.version += 1
    req.updated_at = now
    s.add(RequestEvent(request_id=req.id, at=now, actor_id=actor_id, action=action, from_stage=from_stage,
                       to_stage=to_stage, reason=reason, version=req.version, data=data or {}))


def outcome(req: Request, message: str) -> Outcome:
    return Outcome(req.id, req.tracking_code, req.version, req.status, req.stage_code, message)
