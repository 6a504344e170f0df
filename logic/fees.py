"""Fees: the renewal rule, the renewal window, and the fee assessments experts and the system make.

Money is integer Rial everywhere; no float ever touches an amount. A fee assessment is immutable:
a correction is a new version with a reason (the database refuses any other change to a row than
finance's approval mark). Discounts are data (`discount_rule`), so an administrator's change applies
to the next quote while assessments already made keep their own lines.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

import jdatetime
import sqlalchemy as sa
from sqlalchemy.orm import Session

from db.models import DiscountRule as DiscountRuleRow
from db.models import FeeAssessment, FeeTariff, Member, ProvinceSetting, Request, StaffUser, WorkLicence
from logic import workflow as wf
from logic.auth import Actor
from logic.errors import DomainError, InvalidTransition, NotFound, ValidationError
from logic.jalali import (MAX_YEAR, MIN_YEAR, format_jalali_date, last_day_of_jalali_year, to_gregorian,
                          to_jalali)
from logic.processes import StageKind
from logic.text import clean_reason, format_rial, normalize_text, parse_amount_rial, to_persian_digits as fa

BASIS_POINTS = 10_000  # 100 %
MAX_RENEWAL_YEARS = 60


# --- discount rules -----------------------------------------------------------------------------

@dataclass(frozen=True)
class DiscountRule:
    """Members whose validity ended in a year within [year_from, year_to] get `basis_points` / 100 % off
    every unrenewed year (500 basis points = 5 %)."""

    year_from: int
    year_to: int
    basis_points: int
    name_fa: str = ""

    def __post_init__(self) -> None:
        for value in (self.year_from, self.year_to, self.basis_points):
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValidationError("بازهٔ سال‌ها و درصد تخفیف باید عدد صحیح باشند.")
        if self.year_from > self.year_to:
            raise ValidationError("در قاعدهٔ تخفیف، سال آغاز نباید پس از سال پایان باشد.")
        if not 0 < self.basis_points <= BASIS_POINTS:
            raise ValidationError("درصد تخفیف باید بیشتر از صفر و حداکثر ۱۰۰ باشد.")

    @classmethod
    def from_percent(cls, year_from: int, year_to: int, percent: Decimal | int | str,
                     name_fa: str = "") -> DiscountRule:
        """From a percentage with at most two decimals (Decimal("5"), "2.5"); exact, never float."""
        if isinstance(percent, (float, bool)):
            raise ValidationError("درصد تخفیف باید عدد دقیق باشد.")
        try:
            bp = Decimal(str(normalize_text(str(percent)))) * 100
        except ArithmeticError:
            raise ValidationError("درصد تخفیف باید عدد باشد.") from None
        if not bp.is_finite() or bp != bp.to_integral_value():
            raise ValidationError("درصد تخفیف حداکثر دو رقم اعشار دارد.")
        return cls(year_from, year_to, int(bp), name_fa)

    @property
    def percent(self) -> Decimal:
        return Decimal(self.basis_points) / 100

    def applies_to(self, valid_end_year: int) -> bool:
        return self.year_from <= valid_end_year <= self.year_to


# The central council's rule (DOMAIN.md, "Fees"): validity ended between 1381 and 1388 -> 5 % off.
CENTRAL_COUNCIL_DISCOUNTS: tuple[DiscountRule, ...] = (
    DiscountRule(1381, 1388, 500, "مصوبهٔ شورای مرکزی: اعتبار پایان‌یافته بین ۱۳۸۱ تا ۱۳۸۸"),
)


def discount_rules(session: Session) -> tuple[DiscountRule, ...]:
    """The active discount rules, as an administrator last left them."""
    rows = session.scalars(sa.select(DiscountRuleRow).where(DiscountRuleRow.is_active)
                           .order_by(DiscountRuleRow.id)).all()
    return tuple(DiscountRule.from_percent(r.valid_end_year_from, r.valid_end_year_to, r.percent, r.name_fa)
                 for r in rows)


def _discount_for(valid_end_year: int, rules: Iterable[DiscountRule]) -> DiscountRule | None:
    """The rule that applies; when several do, the most generous (discounts never stack)."""
    matching = [r for r in rules if r.applies_to(valid_end_year)]
    return max(matching, key=lambda r: r.basis_points) if matching else None


def discount_amount(fee: int, basis_points: int) -> int:
    """fee × basis_points / 10000, rounded half up to the Rial, in integers only."""
    return (fee * basis_points + BASIS_POINTS // 2) // BASIS_POINTS


# --- the renewal quote --------------------------------------------------------------------------

@dataclass(frozen=True)
class QuoteLine:
    year: int
    fee: int
    discount: int
    amount: int

    def as_json(self) -> dict:
        return {"year": self.year, "fee": self.fee, "discount": self.discount, "amount": self.amount}


@dataclass(frozen=True)
class RenewalQuote:
    valid_until: jdatetime.date
    through_year: int
    lines: tuple[QuoteLine, ...]
    prior_debt: int
    total: int
    new_valid_until: jdatetime.date
    discount: DiscountRule | None

    @property
    def years(self) -> int:
        return len(self.lines)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _as_jalali(value: object, what: str) -> jdatetime.date:
    if isinstance(value, (date, jdatetime.date)):
        return to_jalali(value)
    raise ValidationError(f"{what} باید یک تاریخ باشد.")


def is_last_day_of_year(d: jdatetime.date) -> bool:
    return d == last_day_of_jalali_year(d.year)


def renewal_quote(valid_until: jdatetime.date, through_year: int, annual_fee: Mapping[int, int],
                  prior_debt: int = 0, discounts: Iterable[DiscountRule] = CENTRAL_COUNCIL_DISCOUNTS) -> RenewalQuote:
    """What a member whose validity ends on `valid_until` pays to renew up to the end of `through_year`:
    one line per unrenewed year at that year's annual fee, less the discount that applies to the year
    their validity ended, plus the prior debt the expert set."""
    vu = _as_jalali(valid_until, "پایان اعتبار عضویت")
    if not MIN_YEAR <= vu.year <= MAX_YEAR:
        raise ValidationError(f"سال پایان اعتبار ({fa(vu.year)}) خارج از بازهٔ مجاز است.")
    if not is_last_day_of_year(vu):
        raise ValidationError(
            f"پایان اعتبار عضویت ({format_jalali_date(vu)}) باید آخرین روز یک سال شمسی باشد "
            f"(برای سال {fa(vu.year)}: {format_jalali_date(last_day_of_jalali_year(vu.year))}).")
    if not _is_int(through_year):
        raise ValidationError("سال پایان تمدید باید عدد صحیح باشد.")
    if through_year <= vu.year:
        raise ValidationError(f"سال پایان تمدید باید پس از سال پایان اعتبار فعلی ({fa(vu.year)}) باشد.")
    if through_year > MAX_YEAR or through_year - vu.year > MAX_RENEWAL_YEARS:
        raise ValidationError(f"سال پایان تمدید ({fa(through_year)}) بیش از اندازه دور است.")
    if not _is_int(prior_debt):
        raise ValidationError("بدهی پیشین باید عدد صحیح به ریال باشد.")
    if prior_debt < 0:
        raise ValidationError("بدهی پیشین نمی‌تواند منفی باشد.")
    rule = _discount_for(vu.year, discounts)
    lines = []
    for year in range(vu.year + 1, through_year + 1):
        if year not in annual_fee:
            raise ValidationError(f"تعرفهٔ حق عضویت سالانهٔ سال {fa(year)} ثبت نشده است؛ "
                                  "پیش از تعیین مبلغ، تعرفهٔ آن سال را در صفحهٔ تعرفه‌ها ثبت کنید.")
        fee = annual_fee[year]
        if not _is_int(fee) or fee < 0:
            raise ValidationError(f"تعرفهٔ سال {fa(year)} عدد صحیح نامنفی نیست.")
        discount = discount_amount(fee, rule.basis_points) if rule else 0
        lines.append(QuoteLine(year, fee, discount, fee - discount))
    total = sum(line.amount for line in lines) + prior_debt
    return RenewalQuote(vu, through_year, tuple(lines), prior_debt, total,
                        last_day_of_jalali_year(through_year), rule)


# --- the renewal window -------------------------------------------------------------------------

def renewal_window_check(member_valid_until: date | jdatetime.date | None, window_days: int,
                         today: date | jdatetime.date) -> date | None:
    """A renewal may be submitted from `window_days` days before the validity end onwards (a lapsed
    membership can always be renewed). Returns the (Gregorian) day the window opened; raises
    ValidationError naming the Jalali day it opens when it is too early. A member with no recorded
    validity has nothing to wait for: the expert sets the years at the fee stage."""
    if member_valid_until is None:
        return None
    if not _is_int(window_days) or window_days < 0:
        raise ValidationError("تعداد روزهای مجاز پیش از پایان اعتبار برای تمدید درست تنظیم نشده است.")
    end = to_gregorian(to_jalali(member_valid_until))
    opens = end - timedelta(days=window_days)
    if to_gregorian(to_jalali(today)) < opens:
        raise ValidationError(
            f"اعتبار عضویت تا {format_jalali_date(end)} است و درخواست تمدید فقط از {fa(window_days)} روز "
            f"پیش از پایان اعتبار پذیرفته می‌شود؛ ثبت درخواست تمدید از {format_jalali_date(opens)} ممکن است.")
    return opens


# --- tariffs as the fee services read them --------------------------------------------------------

def province_tariffs(session: Session, province_id: int) -> dict[int, FeeTariff]:
    """Every tariff year of a province (a few dozen rows at most)."""
    rows = session.scalars(sa.select(FeeTariff).where(FeeTariff.province_id == province_id)).all()
    return {t.jalali_year: t for t in rows}


def _finance_status(session: Session, province_id: int) -> str:
    setting = session.get(ProvinceSetting, province_id)
    return "pending" if setting is None or setting.finance_approval_required else "not_required"


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


def _save_assessment(s: Session, req: Request, actor: Actor | None, now: datetime, *, reason: str | None,
                     tariff_id: int | None, lines: list[dict], prior_debt: int, total: int, years: int | None,
                     new_valid_until: date | None, note: str | None, finance_status: str,
                     event_data: dict | None = None) -> FeeAssessment:
    """Add the next version of the request's assessment and its 'fee_assessed' event. The event does
    not bump the request's version: an assessment is not a transition, so the expert's open form
    stays valid for approving."""
    current = wf.current_assessment(s, req.id)
    if current is not None:
        reason = clean_reason(reason or "", field="دلیل اصلاح مبلغ")
    else:
        reason = None
    a = FeeAssessment(request_id=req.id, version=1 if current is None else current.version + 1,
                      tariff_id=tariff_id, lines=lines, prior_debt=prior_debt, total=total, years=years,
                      new_valid_until=new_valid_until, note=note, reason=reason,
                      created_by=actor.id if actor else None, created_at=now, finance_status=finance_status)
    s.add(a)
    s.flush()
    wf.write_event(s, req, actor.id if actor else None, "fee_assessed", now, from_stage=req.stage_code,
                    to_stage=req.stage_code, reason=reason, bump=False,
                    data={"assessment_id": a.id, "assessment_version": a.version, "total": total,
                          "prior_debt": prior_debt, **(event_data or {})})
    return a


def _fee_stage_guard(s: Session, req: Request, actor: Actor, version: int | None, type_code: str):
    wf.check_version(s, req, version)
    wf.check_scope(actor, req)
    wf.check_open(req)
    proc, stage = wf.stage_of(req)
    if req.type_code != type_code or stage.kind is not StageKind.FEE:
        raise InvalidTransition(f"تعیین مبلغ «{proc.name_fa}» در مرحلهٔ «{stage.name_fa}» ممکن نیست.")
    wf.check_can_act(actor, req, stage, "approve")
    return proc, stage


def determine_renewal_fee(engine: sa.Engine, actor: Actor, request_id: int, version: int | None,
                          through_year: int, prior_debt: int | str | None, note: str | None = None,
                          reason: str | None = None, now: datetime | None = None) -> wf.Outcome:
    """The expert's fee determination for a membership renewal: the years up to `through_year` at the
    province's tariffs with the discount that applies, plus the prior debt. A correction of an
    earlier determination is a new version and needs `reason`."""
    debt = _parse_debt(prior_debt)
    note = _clean_note(note)

    def body(s: Session, req: Request, cal, now: datetime) -> str:
        _fee_stage_guard(s, req, actor, version, "membership_renewal")
        member = s.get(Member, req.member_id)
        if member.valid_until is None:
            raise ValidationError("پایان اعتبار عضویت این عضو ثبت نشده است؛ ابتدا اعتبار عضویت را در پروندهٔ "
                                  "عضو اصلاح کنید.")
        tariffs = province_tariffs(s, req.province_id)
        quote = renewal_quote(to_jalali(member.valid_until), through_year,
                              {y: t.annual_fee for y, t in tariffs.items()}, debt, discount_rules(s))
        a = _save_assessment(
            s, req, actor, now, reason=reason, tariff_id=tariffs[quote.through_year].id,
            lines=[line.as_json() for line in quote.lines], prior_debt=debt, total=quote.total, years=quote.years,
            new_valid_until=to_gregorian(quote.new_valid_until), note=note,
            finance_status=_finance_status(s, req.province_id),
            event_data={"through_year": quote.through_year,
                        "discount_percent": str(quote.discount.percent) if quote.discount else None})
        return (f"مبلغ تمدید تعیین شد: {format_rial(a.total)} ریال برای {fa(quote.years)} سال "
                f"(نسخهٔ {fa(a.version)}).")
    return wf.execute(engine, request_id, body, now=now)


def determine_licence_renewal_fee(engine: sa.Engine, actor: Actor, request_id: int, version: int | None,
                                  years: Sequence[tuple[int, bool]], note: str | None = None,
                                  reason: str | None = None, now: datetime | None = None) -> wf.Outcome:
    """The expert sets the work-licence years to renew and marks each free (the central council's
    exemption) or paid. Paid years cost the licence renewal fee of the tariff in force when the expert
    decides (the year of `now`)."""
    chosen = list(years or [])
    if not chosen:
        raise ValidationError("دست‌کم یک سال برای تمدید پروانه انتخاب کنید.")
    for year, free in chosen:
        if not _is_int(year) or not MIN_YEAR <= year <= MAX_YEAR or not isinstance(free, bool):
            raise ValidationError("سال‌های تمدید پروانه درست وارد نشده است.")
    if len({y for y, _ in chosen}) != len(chosen):
        raise ValidationError("هر سال فقط یک بار در تمدید پروانه می‌آید.")
    chosen.sort()
    note = _clean_note(note)

    def body(s: Session, req: Request, cal, now: datetime) -> str:
        _fee_stage_guard(s, req, actor, version, "licence_renewal")
        year_now = to_jalali(now).year
        tariff = province_tariffs(s, req.province_id).get(year_now)
        if tariff is None:
            raise ValidationError(f"تعرفهٔ سال {fa(year_now)} برای این استان ثبت نشده است؛ ابتدا تعرفه را ثبت کنید.")
        fee = tariff.licence_renewal_fee
        lines = [{"year": y, "fee": fee, "discount": fee if free else 0, "amount": 0 if free else fee, "free": free}
                 for y, free in chosen]
        total = sum(line["amount"] for line in lines)
        a = _save_assessment(s, req, actor, now, reason=reason, tariff_id=tariff.id, lines=lines, prior_debt=0,
                             total=total, years=len(lines), new_valid_until=None, note=note,
                             finance_status="not_required",
                             event_data={"free_years": [y for y, free in chosen if free]})
        if total == 0:
            return f"همهٔ سال‌ها رایگان است؛ مبلغی برای پرداخت نیست (نسخهٔ {fa(a.version)})."
        return f"مبلغ تمدید پروانه تعیین شد: {format_rial(total)} ریال (نسخهٔ {fa(a.version)})."
    return wf.execute(engine, request_id, body, now=now)


# Fees other request types take straight from the tariff when their payment stage opens.
TARIFF_ITEMS: dict[str, tuple[str, ...]] = {
    # The stage is "payment of membership fee, validity and card" (seed 002): the card is paid here too.
    "new_membership": ("entrance_fee", "annual_fee", "card_fee"),
    "card_reissue": ("card_fee",),
    "rating": ("rating_fee",),
    "licence_issue": ("licence_issue_fee",),
    "article32_renewal": ("article32_renewal_fee",),
}

ITEM_LABELS_FA: dict[str, str] = {
    "entrance_fee": "ورودیه",
    "annual_fee": "حق عضویت سالانه",
    "card_fee": "صدور کارت عضویت",
    "licence_issue_fee": "صدور پروانهٔ اشتغال",
    "licence_renewal_fee": "تمدید پروانهٔ اشتغال (هر سال)",
    "article32_renewal_fee": "تمدید پروانهٔ مادهٔ ۳۲",
    "rating_fee": "رتبه‌بندی",
}


def assess_from_tariff(s: Session, req: Request, now: datetime) -> FeeAssessment | None:
    """Inside a workflow transaction, as a request enters a payment stage with nothing assessed: the
    fee from the province's tariff of the current Jalali year. Returns None when the type's fee is
    not a tariff item or the province has no tariff for the year (the payment waits; the payment
    service tries again once the tariff exists)."""
    items = TARIFF_ITEMS.get(req.type_code)
    if items is None:
        return None
    current = wf.current_assessment(s, req.id)
    if current is not None:
        return current
    year = to_jalali(now).year
    tariff = s.scalar(sa.select(FeeTariff).where(FeeTariff.province_id == req.province_id,
                                                 FeeTariff.jalali_year == year))
    if tariff is None:
        return None
    lines = [{"item": item, "year": year, "fee": getattr(tariff, item), "discount": 0,
              "amount": getattr(tariff, item)} for item in items]
    new_valid = to_gregorian(last_day_of_jalali_year(year)) if req.type_code == "new_membership" else None
    return _save_assessment(s, req, None, now, reason=None, tariff_id=tariff.id, lines=lines, prior_debt=0,
                            total=sum(line["amount"] for line in lines),
                            years=1 if req.type_code == "new_membership" else None, new_valid_until=new_valid,
                            note=f"بر اساس تعرفهٔ سال {fa(year)}", finance_status="not_required",
                            event_data={"source": "tariff"})


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

    @property
    def current(self) -> AssessmentRow | None:
        return self.assessments[0] if self.assessments else None


def fee_view(session: Session, actor: Actor, request_id: int) -> FeeView:
    req = session.get(Request, request_id)
    if req is None:
        raise NotFound("درخواست پیدا نشد.")
    wf.check_scope(actor, req)
    proc, stage = wf.stage_of(req)
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
        wf.check_can_act(actor, req, stage, "approve")
    except DomainError as exc:  # shown as the reason the form is read-only
        block = exc.message
    return FeeView(req.id, req.tracking_code, req.version, req.type_code, req.stage_code, stage.kind, req.status,
                   req.province_id, f"{member.first_name} {member.last_name}", member.valid_until, licence,
                   {y: t.annual_fee for y, t in tariffs.items()},
                   {y: t.licence_renewal_fee for y, t in tariffs.items()},
                   discount_rules(session), assessments, block is None, block)
