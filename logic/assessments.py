"""Fee assessments as the services read and write them: the current one of a request, the
province's tariffs and discount rules, and a new version with its 'fee_assessed' event.

An assessment is immutable: a correction is a new version with a reason (the database refuses any
other change to a row than finance's approval mark).
"""
from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from db.models import DiscountRule as DiscountRuleRow
from db.models import FeeAssessment, FeeTariff, ProvinceSetting, Request
from domain.actor import Actor
from domain.fees import DiscountRule, TariffFee, tariff_fee
from domain.jalali import to_jalali
from domain.processes import process
from domain.text import clean_reason
from logic.events import write_event


def current_assessment(s: Session, request_id: int) -> FeeAssessment | None:
    return s.scalar(sa.select(FeeAssessment).where(FeeAssessment.request_id == request_id)
                    .order_by(FeeAssessment.version.desc()).limit(1))


def discount_rules(session: Session) -> tuple[DiscountRule, ...]:
    """The active discount rules, as an administrator last left them."""
    rows = session.scalars(sa.select(DiscountRuleRow).where(DiscountRuleRow.is_active)
                           .order_by(DiscountRuleRow.id)).all()
    return tuple(DiscountRule.from_percent(r.valid_end_year_from, r.valid_end_year_to, r.percent, r.name_fa)
                 for r in rows)


def province_tariffs(session: Session, province_id: int) -> dict[int, FeeTariff]:
    """Every tariff year of a province (a few dozen rows at most)."""
    rows = session.scalars(sa.select(FeeTariff).where(FeeTariff.province_id == province_id)).all()
    return {t.jalali_year: t for t in rows}


def finance_approval_required(session: Session, province_id: int) -> bool:
    setting = session.get(ProvinceSetting, province_id)
    return setting is None or setting.finance_approval_required


def finance_status(session: Session, province_id: int) -> str:
    return "pending" if finance_approval_required(session, province_id) else "not_required"


def tariff_of_year(s: Session, req: Request, now: datetime) -> tuple[FeeTariff, TariffFee] | None:
    """This Jalali year's tariff of the request's province and the fee it sets for the type, or None
    when the type takes no tariff item or the province has no tariff for the year."""
    proc = process(req.type_code)
    if not proc.fee_items:
        return None
    year = to_jalali(now).year
    tariff = s.scalar(sa.select(FeeTariff).where(FeeTariff.province_id == req.province_id,
                                                 FeeTariff.jalali_year == year))
    if tariff is None:
        return None
    return tariff, tariff_fee(proc, {item: getattr(tariff, item) for item in proc.fee_items}, year)


def save_assessment(s: Session, req: Request, actor: Actor | None, now: datetime, *, reason: str | None,
                    tariff_id: int | None, lines: list[dict], prior_debt: int, total: int, years: int | None,
                    new_valid_until: date | None, note: str | None, finance_status: str,
                    event_data: dict | None = None) -> FeeAssessment:
    """Add the next version of the request's assessment and its 'fee_assessed' event. The event does
    not move the request's version: an assessment is not a transition, so the expert's open form
    stays valid for approving."""
    current = current_assessment(s, req.id)
    reason = clean_reason(reason or "", field="دلیل اصلاح مبلغ") if current is not None else None
    a = FeeAssessment(request_id=req.id, version=1 if current is None else current.version + 1,
                      tariff_id=tariff_id, lines=lines, prior_debt=prior_debt, total=total, years=years,
                      new_valid_until=new_valid_until, note=note, reason=reason,
                      created_by=actor.id if actor else None, created_at=now, finance_status=finance_status)
    s.add(a)
    s.flush()
    write_event(s, req, actor.id if actor else None, "fee_assessed", now, from_stage=req.stage_code,
                to_stage=req.stage_code, reason=reason, bump=False,
                data={"assessment_id": a.id, "assessment_version": a.version, "total": total,
                      "prior_debt": prior_debt, **(event_data or {})})
    return a


def assess_from_tariff(s: Session, req: Request, now: datetime) -> FeeAssessment | None:
    """The fee of a payment stage from the province's tariff of the current Jalali year, unless one is
    assessed already. None when the type's fee is not a tariff item or the province has no tariff
    for the year (the payment waits; the payment service tries again once the tariff exists)."""
    current = current_assessment(s, req.id)
    if current is not None:
        return current
    found = tariff_of_year(s, req, now)
    if found is None:
        return None
    tariff, fee = found
    return save_assessment(s, req, None, now, reason=None, tariff_id=tariff.id, lines=list(fee.lines), prior_debt=0,
                           total=fee.total, years=fee.years, new_valid_until=fee.new_valid_until, note=fee.note_fa,
                           finance_status="not_required", event_data={"source": "tariff"})
