"""What a transition does to the member's record and the fee assessment: one handler per effect
name of `domain.processes`, run in the transition's own transaction, after its event.

Like Frappe's workflow methods, a handler is named by the process definition, never chosen by a
branch on a request type or stage code; adding a request type is data plus, at most, one handler.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from db.models import Member, Request, ValidityChange
from domain import processes as p
from domain.actor import Actor
from domain.errors import ValidationError
from domain.identifiers import membership_number
from domain.reference import ADMISSION_GRADE
from logic.assessments import assess_from_tariff, current_assessment


@dataclass(frozen=True)
class Context:
    session: Session
    request: Request
    actor: Actor | None
    now: datetime

    def member(self) -> Member:
        return self.session.get(Member, self.request.member_id, with_for_update=True)


Handler = Callable[[Context], None]
HANDLERS: dict[str, Handler] = {}


def handler(name: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        HANDLERS[name] = fn
        return fn
    return register


def run(s: Session, req: Request, names: Iterable[str], actor: Actor | None, now: datetime) -> None:
    ctx = Context(s, req, actor, now)
    for name in names:
        HANDLERS[name](ctx)


@handler(p.ASSESS_FROM_TARIFF)
def _assess_from_tariff(ctx: Context) -> None:
    assess_from_tariff(ctx.session, ctx.request, ctx.now)


def _finance_mark(ctx: Context, status: str) -> None:
    assessment = current_assessment(ctx.session, ctx.request.id)
    if assessment is None:
        raise ValidationError("مبلغی برای تأیید تعیین نشده است.")
    assessment.finance_status = status
    assessment.finance_by = ctx.actor.id if ctx.actor else None
    assessment.finance_at = ctx.now


@handler(p.APPROVE_ASSESSMENT)
def _approve_assessment(ctx: Context) -> None:
    _finance_mark(ctx, "approved")


@handler(p.REJECT_ASSESSMENT)
def _reject_assessment(ctx: Context) -> None:
    _finance_mark(ctx, "rejected")


@handler(p.EXTEND_VALIDITY)
def _extend_validity(ctx: Context) -> None:
    """A paid renewal moves the member's validity to the assessed new end date."""
    assessment = current_assessment(ctx.session, ctx.request.id)
    if assessment is None or assessment.new_valid_until is None:
        raise ValidationError("تاریخ پایان اعتبار جدید در مبلغ تعیین‌شده مشخص نیست.")
    member = ctx.member()
    ctx.session.add(ValidityChange(member_id=member.id, old_valid_until=member.valid_until,
                                   new_valid_until=assessment.new_valid_until, request_id=ctx.request.id,
                                   changed_at=ctx.now))
    member.valid_until = assessment.new_valid_until
    if member.status == "lapsed":
        member.status = "active"


@handler(p.GRANT_MEMBERSHIP_NO)
def _grant_membership_no(ctx: Context) -> None:
    member = ctx.member()
    if member.membership_no is None:
        seq = ctx.session.scalar(sa.text("SELECT nextval('membership_no_seq')"))
        member.membership_no = membership_number(ctx.request.province_id, seq)


@handler(p.ACTIVATE_MEMBER)
def _activate_member(ctx: Context) -> None:
    """Admission: active from today, grade 3, valid to the end of the year paid for."""
    member = ctx.member()
    member.status = "active"
    member.joined_on = member.joined_on or ctx.now.date()
    paid = current_assessment(ctx.session, ctx.request.id)
    if paid is not None and paid.new_valid_until is not None:
        member.valid_until = paid.new_valid_until
    member.grade = member.grade or ADMISSION_GRADE


@handler(p.MARK_TRANSFERRED)
def _mark_transferred(ctx: Context) -> None:
    ctx.member().status = "transferred"
