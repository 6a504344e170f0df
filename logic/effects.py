"""What a transition does to the member's record and the fee assessment: one handler per effect
name of `domain.processes`, run in the transition's own transaction, after its event.

Like Frappe's workflow methods, a handler is named by the process definition, never chosen by a
branch on a request type or stage code; adding a request type is data plus, at most, one handler.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from db.models import Member, RecordChange, Request, RequestEvent, ValidityChange, WorkLicence
from domain import outcomes as o
from domain import processes as p
from domain.actor import Actor
from domain.errors import ValidationError
from domain.identifiers import membership_number
from domain.reference import ADMISSION_GRADE, LICENCE_KINDS_FA
from domain.text import to_persian_digits
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


def _change(ctx: Context, member: Member, kind: str, licence_id: int | None = None, **details) -> None:
    """The record's history row of this change, naming the request (append-only)."""
    ctx.session.add(RecordChange(member_id=member.id, request_id=ctx.request.id, kind=kind, at=ctx.now,
                                 province_id=member.province_id, licence_id=licence_id,
                                 details={k: v for k, v in details.items() if v is not None}))


def _validity(ctx: Context, member: Member, new: date) -> None:
    ctx.session.add(ValidityChange(member_id=member.id, old_valid_until=member.valid_until, new_valid_until=new,
                                   request_id=ctx.request.id, changed_at=ctx.now))
    member.valid_until = new


@handler(p.EXTEND_VALIDITY)
def _extend_validity(ctx: Context) -> None:
    """A paid renewal moves the member's validity to the assessed new end date."""
    assessment = current_assessment(ctx.session, ctx.request.id)
    if assessment is None or assessment.new_valid_until is None:
        raise ValidationError("تاریخ پایان اعتبار جدید در مبلغ تعیین‌شده مشخص نیست.")
    member = ctx.member()
    _validity(ctx, member, assessment.new_valid_until)
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
        _validity(ctx, member, paid.new_valid_until)
    member.grade = member.grade or ADMISSION_GRADE
    _change(ctx, member, o.ADMITTED, membership_no=member.membership_no, grade=member.grade)


@handler(p.REGISTER_OLD_MEMBERSHIP)
def _register_old_membership(ctx: Context) -> None:
    """A pre-electronic member: the old number and the validity the expert verified; active while
    that validity lasts, lapsed after it (the seed's next step is a renewal)."""
    old = o.declared_old_membership(ctx.request.data)
    member = ctx.member()
    taken = ctx.session.scalar(sa.select(Member.id).where(Member.membership_no == old.membership_no,
                                                          Member.id != member.id))
    if taken is not None:
        raise ValidationError(f"شمارهٔ نظام مهندسی {to_persian_digits(old.membership_no)} پیش‌تر به عضو دیگری "
                              "داده شده است.")
    member.membership_no = old.membership_no
    _validity(ctx, member, old.valid_until)
    member.status = "active" if old.valid_until >= ctx.now.date() else "lapsed"
    member.grade = member.grade or ADMISSION_GRADE
    _change(ctx, member, o.OLD_MEMBERSHIP_REGISTERED, membership_no=old.membership_no,
            valid_until=old.valid_until.isoformat())


@handler(p.MOVE_PROVINCE)
def _move_province(ctx: Context) -> None:
    """The member moves to the destination province: its staff see them from now on; the origin
    keeps the history (this row names both)."""
    member = ctx.member()
    origin = member.province_id
    dest = o.destination_province(ctx.request.data, origin)
    member.province_id = dest
    if member.birth_province_id != dest and not member.residence_proof:
        member.residence_proof = "transfer"  # the approved transfer is the proof of residence
    _change(ctx, member, o.MOVED_PROVINCE, from_province=origin, to_province=dest,
            address=(ctx.request.data or {}).get("destination_address"))


@handler(p.ISSUE_CARD)
def _issue_card(ctx: Context) -> None:
    _change(ctx, ctx.member(), o.CARD_ISSUED)


@handler(p.RECORD_RANK)
def _record_rank(ctx: Context) -> None:
    # A rank the central review granted by points (its approval event says so), else the one asked for.
    granted = ctx.session.scalar(
        sa.select(RequestEvent.data["granted_rank"].as_integer())
        .where(RequestEvent.request_id == ctx.request.id, RequestEvent.data.has_key("granted_rank"))
        .order_by(RequestEvent.id.desc()).limit(1))
    rank = o.recorded_rank(ctx.request.data, granted)
    _change(ctx, ctx.member(), o.RANK_RECORDED, rating_kind=rank.kind, rank=rank.rank)


@handler(p.ISSUE_WORK_LICENCE)
def _issue_work_licence(ctx: Context) -> None:
    """A new work licence in the member's field and grade, with the competencies granted."""
    member = ctx.member()
    s = ctx.session
    licence_id = s.scalar(sa.text("SELECT nextval(pg_get_serial_sequence('work_licence', 'id'))"))
    issued = ctx.now.date()
    licence = WorkLicence(id=licence_id, member_id=member.id, kind="work",
                          licence_no=o.licence_number("work", member.province_id, member.field, licence_id),
                          field=member.field, grade=member.grade or ADMISSION_GRADE,
                          competencies=list(o.requested_competencies(ctx.request.data)), issued_on=issued,
                          expires_on=o.add_jalali_years(issued, o.WORK_LICENCE_YEARS), request_id=ctx.request.id)
    s.add(licence)
    s.flush([licence])
    _change(ctx, member, o.LICENCE_ISSUED, licence_id, licence_no=licence.licence_no,
            expires_on=licence.expires_on.isoformat())


def _renew(ctx: Context, kind: str, years: int) -> None:
    member = ctx.member()
    licence = ctx.session.scalar(sa.select(WorkLicence).where(WorkLicence.member_id == member.id,
                                                               WorkLicence.kind == kind)
                                 .order_by(WorkLicence.expires_on.desc(), WorkLicence.id.desc())
                                 .limit(1).with_for_update())
    if licence is None:
        raise ValidationError(f"عضو {LICENCE_KINDS_FA[kind]} ثبت‌شده‌ای برای تمدید ندارد.")
    old = licence.expires_on
    licence.expires_on = o.renewed_expiry(old, years, ctx.now.date())
    _change(ctx, member, o.LICENCE_RENEWED, licence.id, licence_no=licence.licence_no, years=years,
            old_expires_on=old.isoformat(), new_expires_on=licence.expires_on.isoformat())


@handler(p.RENEW_WORK_LICENCE)
def _renew_work_licence(ctx: Context) -> None:
    """The work licence's expiry moves by the years the expert set at the fee stage (each free or
    paid), else by the years the member asked for."""
    assessment = current_assessment(ctx.session, ctx.request.id)
    years = assessment.years if assessment is not None and assessment.years else o.requested_years(ctx.request.data)
    _renew(ctx, "work", years)


@handler(p.RENEW_ARTICLE32_LICENCE)
def _renew_article32_licence(ctx: Context) -> None:
    _renew(ctx, "article32", o.requested_years(ctx.request.data))
