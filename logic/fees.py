"""The fee services: the expert's fee determination at a fee stage (a membership renewal's years and
prior debt, a work-licence renewal's free or paid years) and what the fee form shows.

The rules (the quote, the discount, the licence years) are `domain.fees`; the assessments and their
events are written by `logic.assessments`; who may act is `domain.machine`'s.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from db.models import FeeAssessment, Member, Request, StaffUser, WorkLicence
from domain.actor import Actor
from domain.errors import DomainError, InvalidTransition, NotFound, PermissionDenied, ValidationError
from domain.fees import DiscountRule, check_licence_years, licence_renewal_lines, renewal_quote
from domain.jalali import to_gregorian, to_jalali
from domain.machine import APPROVE, check_can_act, check_scope, check_open, stage_of
from domain.outcomes import requested_years
from domain.processes import FeeRule, StageKind
from domain.roles import REQUEST_VIEWERS
from domain.text import format_rial, normalize_text, parse_amount_rial
from domain.text import to_persian_digits as fa
from logic.assessments import discount_rules, finance_status, province_tariffs, save_assessment
from logic.events import Outcome, check_version
from logic.workflow import execute, state_of


def _clean_note(note: str | None) -> str | None:
    text = normalize_text(note or "")
    if len(text) > 2000:
        raise ValidationError("یادداشت نباید بیش از ۲۰۰۰ نویسه باشد.")
    return text or None


def _parse_debt(prior_debt: int | str | None) -> int:
    if prior_debt is None or (isinstance(prior_debt, str) and not normalize_text(prior_debt)):
        return 0
    try:
        return parse_amount_rial(prior_debt)
    except ValidationError as exc:
        raise ValidationError(f"بدهی پیشین: {exc.message}") from None


def _fee_stage_guard(s: Session, req: Request, actor: Actor, version: int | None, rule: FeeRule) -> None:
    """The request is at a fee stage of a type whose fee is set by `rule`, and the actor may act."""
    check_version(s, req, version)
    state = state_of(req)
    check_scope(actor, state)
    check_open(state)
    proc, stage, _ = stage_of(state)
    if proc.fee_rule is not rule or stage.kind is not StageKind.FEE:
        raise InvalidTransition(f"تعیین مبلغ «{proc.name_fa}» در مرحلهٔ «{stage.name_fa}» ممکن نیست.")
    check_can_act(actor, state, stage, APPROVE)


def determine_renewal_fee(engine: sa.Engine, actor: Actor, request_id: int, version: int | None,
                          through_year: int, prior_debt: int | str | None, note: str | None = None,
                          reason: str | None = None, now: datetime | None = None) -> Outcome:
    """The expert's fee determination for a membership renewal: the years up to `through_year` at the
    province's tariffs with the discount that applies, plus the prior debt. A correction of an
    earlier determination is a new version and needs `reason`."""
    debt = _parse_debt(prior_debt)
    note = _clean_note(note)

    def body(s: Session, req: Request, now: datetime) -> str:
        _fee_stage_guard(s, req, actor, version, FeeRule.MEMBERSHIP_YEARS)
        member = s.get(Member, req.member_id)
        if member.valid_until is None:
            raise ValidationError("پایان اعتبار عضویت این عضو ثبت نشده است؛ ابتدا اعتبار عضویت را در پروندهٔ "
                                  "عضو اصلاح کنید.")
        tariffs = province_tariffs(s, req.province_id)
        quote = renewal_quote(to_jalali(member.valid_until), through_year,
                              {y: t.annual_fee for y, t in tariffs.items()}, debt, discount_rules(s))
        a = save_assessment(
            s, req, actor, now, reason=reason, tariff_id=tariffs[quote.through_year].id,
            lines=[line.as_json() for line in quote.lines], prior_debt=debt, total=quote.total, years=quote.years,
            new_valid_until=to_gregorian(quote.new_valid_until), note=note,
            finance_status=finance_status(s, req.province_id),
            event_data={"through_year": quote.through_year,
                        "discount_percent": str(quote.discount.percent) if quote.discount else None})
        return (f"مبلغ تمدید تعیین شد: {format_rial(a.total)} ریال برای {fa(quote.years)} سال "
                f"(نسخهٔ {fa(a.version)}).")
    return execute(engine, request_id, body, now=now)


def determine_licence_renewal_fee(engine: sa.Engine, actor: Actor, request_id: int, version: int | None,
                                  years: Sequence[tuple[int, bool]], note: str | None = None,
                                  reason: str | None = None, now: datetime | None = None) -> Outcome:
    """The expert sets the work-licence years to renew and marks each free (the central council's
    exemption) or paid. Paid years cost the licence renewal fee of the tariff in force when the expert
    decides (the year of `now`)."""
    chosen = check_licence_years(years)
    note = _clean_note(note)

    def body(s: Session, req: Request, now: datetime) -> str:
        _fee_stage_guard(s, req, actor, version, FeeRule.LICENCE_YEARS)
        year_now = to_jalali(now).year
        tariff = province_tariffs(s, req.province_id).get(year_now)
        if tariff is None:
            raise ValidationError(f"تعرفهٔ سال {fa(year_now)} برای این استان ثبت نشده است؛ ابتدا تعرفه را ثبت کنید.")
        lines, total = licence_renewal_lines(chosen, tariff.licence_renewal_fee)
        a = save_assessment(s, req, actor, now, reason=reason, tariff_id=tariff.id, lines=lines, prior_debt=0,
                             total=total, years=len(lines), new_valid_until=None, note=note,
                             finance_status="not_required",
                             event_data={"free_years": [y for y, free in chosen if free]})
        if total == 0:
            return f"همهٔ سال‌ها رایگان است؛ مبلغی برای پرداخت نیست (نسخهٔ {fa(a.version)})."
        return f"مبلغ تمدید پروانه تعیین شد: {format_rial(total)} ریال (نسخهٔ {fa(a.version)})."
    return execute(engine, request_id, body, now=now)


# --- what the fee form shows --------------------------------------------------------------------

@dataclass(frozen=True)
class AssessmentRow:
    id: int
    version: int
    lines: list
    prior_debt: int
    total: int
    years: int | None
    new_valid_until: date | None
    note: str | None
    reason: str | None
    created_by: str | None
    created_at: datetime
    finance_status: str


FINANCE_STATUS_FA = {"not_required": "نیاز ندارد", "pending": "در انتظار تأیید مالی", "approved": "تأییدشده",
                     "rejected": "ردشده"}


@dataclass(frozen=True)
class FeeView:
    request_id: int
    tracking_code: str
    version: int
    type_code: str
    fee_rule: FeeRule | None
    stage_code: str
    stage_kind: StageKind
    status: str
    province_id: int
    member_name: str
    valid_until: date | None
    licence_expires_on: date | None
    annual_fees: dict[int, int]
    licence_renewal_fees: dict[int, int]
    discounts: tuple[DiscountRule, ...]
    assessments: list[AssessmentRow]   # newest first
    can_edit: bool
    edit_block: str | None             # why the actor cannot edit, in Persian
    requested_years: int | None = None  # the renewal years the member asked for, if any (the form's default)

    @property
    def current(self) -> AssessmentRow | None:
        return self.assessments[0] if self.assessments else None


def fee_view(session: Session, actor: Actor, request_id: int) -> FeeView:
    # The fee form is part of the request screen: the same roles open it.
    if not actor.has(*REQUEST_VIEWERS):
        raise PermissionDenied("دیدن مبلغ‌های درخواست برای نقش شما ممکن نیست.")
    req = session.get(Request, request_id)
    if req is None:
        raise NotFound("درخواست پیدا نشد.")
    state = state_of(req)
    check_scope(actor, state)
    proc, stage, _ = stage_of(state)
    member = session.get(Member, req.member_id)
    licence = session.scalar(sa.select(sa.func.max(WorkLicence.expires_on)).where(
        WorkLicence.member_id == member.id, WorkLicence.kind == "work"))
    tariffs = province_tariffs(session, req.province_id)
    rows = session.execute(
        sa.select(FeeAssessment, StaffUser.full_name).outerjoin(StaffUser, StaffUser.id == FeeAssessment.created_by)
        .where(FeeAssessment.request_id == req.id).order_by(FeeAssessment.version.desc())).all()
    assessments = [AssessmentRow(a.id, a.version, a.lines, a.prior_debt, a.total, a.years, a.new_valid_until,
                                 a.note, a.reason, name, a.created_at, a.finance_status) for a, name in rows]
    block = None
    try:
        if stage.kind is not StageKind.FEE:
            raise InvalidTransition("تعیین مبلغ فقط در مرحلهٔ تعیین مبلغ ممکن است.")
        check_can_act(actor, state, stage, APPROVE)
    except DomainError as exc:  # shown as the reason the form is read-only
        block = exc.message
    return FeeView(req.id, req.tracking_code, req.version, req.type_code, proc.fee_rule, req.stage_code, stage.kind, req.status,
                   req.province_id, f"{member.first_name} {member.last_name}", member.valid_until, licence,
                   {y: t.annual_fee for y, t in tariffs.items()},
                   {y: t.licence_renewal_fee for y, t in tariffs.items()},
                   discount_rules(session), assessments, block is None, block, _requested_years(req.data))


def _requested_years(data) -> int | None:
    if not data or "renewal_years" not in data:
        return None
    try:
        return requested_years(data)
    except ValidationError:  # checked at submission; an old request's odd value just gives no default
        return None
