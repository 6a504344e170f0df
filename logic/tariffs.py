"""The province's yearly tariffs and the central council's discount rules, kept by administrators and
finance. Every change is audited in the same transaction. A tariff an assessment already used (its
row, or its year in renewal lines) changes only with an explicit reason; the assessments keep their
own amounts whatever happens to the tariff afterwards."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from db.engine import session_scope
from db.models import DiscountRule as DiscountRuleRow
from db.models import FeeAssessment, FeeTariff, Request
from domain.actor import Actor
from domain.errors import Conflict, NotFound, PermissionDenied, ValidationError
from domain.fees import ITEM_LABELS_FA, TARIFF_ITEMS, DiscountRule
from domain.jalali import now_tehran
from domain.roles import Role
from domain.text import clean_reason, format_rial, format_toman, normalize_text, parse_amount_rial
from domain.text import to_persian_digits as fa
from logic.audit import record

# The seven tariff items, in the order the screen shows them.
TARIFF_FIELDS: tuple[tuple[str, str], ...] = tuple((f, ITEM_LABELS_FA[f]) for f in TARIFF_ITEMS)
FIELD_NAMES = tuple(f for f, _ in TARIFF_FIELDS)
MIN_TARIFF_YEAR, MAX_TARIFF_YEAR = 1370, 1500  # the table's check constraint


def _require_tariff_editor(actor: Actor, province_id: int) -> None:
    if not actor.has(Role.ADMIN, Role.FINANCE):
        raise PermissionDenied("تعرفه‌ها را فقط مدیر سامانه یا امور مالی تغییر می‌دهد.")
    if not actor.can_see_province(province_id):
        raise PermissionDenied("تعرفه‌های استان دیگر را نمی‌توانید ببینید یا تغییر دهید.")


@dataclass(frozen=True)
class TariffRow:
    id: int
    province_id: int
    jalali_year: int
    amounts: dict[str, int]
    updated_at: datetime
    used: bool


def tariff_used(s: Session, tariff_id: int, province_id: int, year: int) -> bool:
    """Whether an assessment points at this tariff row or has a line for its year in this province."""
    by_row = sa.select(FeeAssessment.id).where(FeeAssessment.tariff_id == tariff_id)
    by_year = (sa.select(FeeAssessment.id).join(Request, Request.id == FeeAssessment.request_id)
               .where(FeeAssessment.lines.contains([{"year": year}]), Request.province_id == province_id))
    return bool(s.scalar(sa.select(sa.or_(sa.exists(by_row), sa.exists(by_year)))))


def _row(s: Session, t: FeeTariff) -> TariffRow:
    return TariffRow(t.id, t.province_id, t.jalali_year, {f: getattr(t, f) for f in FIELD_NAMES}, t.updated_at,
                     tariff_used(s, t.id, t.province_id, t.jalali_year))


def list_tariffs(s: Session, actor: Actor, province_id: int) -> list[TariffRow]:
    """The province's tariffs, newest year first."""
    _require_tariff_editor(actor, province_id)
    rows = s.scalars(sa.select(FeeTariff).where(FeeTariff.province_id == province_id)
                     .order_by(FeeTariff.jalali_year.desc())).all()
    return [_row(s, t) for t in rows]


def parse_amounts(amounts: Mapping[str, int | str]) -> dict[str, int]:
    """Every item parsed (Persian or Latin digits, separators); the first bad one names its item."""
    parsed = {}
    for f, label in TARIFF_FIELDS:
        try:
            parsed[f] = parse_amount_rial(amounts.get(f, ""))
        except ValidationError as exc:
            raise ValidationError(f"«{label}»: {exc.message}") from None
    return parsed


def _check_year(year: int) -> int:
    if isinstance(year, bool) or not isinstance(year, int) or not MIN_TARIFF_YEAR <= year <= MAX_TARIFF_YEAR:
        raise ValidationError(f"سال تعرفه باید بین {fa(MIN_TARIFF_YEAR)} و {fa(MAX_TARIFF_YEAR)} باشد.")
    return year


@dataclass(frozen=True)
class TariffChange:
    tariff_id: int
    changed: bool
    message: str


def save_tariff(engine: sa.Engine, actor: Actor, province_id: int, jalali_year: int,
                amounts: Mapping[str, int | str], *, reason: str | None = None,
                seen_updated_at: datetime | None = None, expect_new: bool = False,
                now: datetime | None = None) -> TariffChange:
    """Create or change a province's tariff for a Jalali year. `seen_updated_at` / `expect_new` say
    what the editor's form showed, so a change made meanwhile by someone else is not overwritten."""
    _require_tariff_editor(actor, province_id)
    year = _check_year(jalali_year)
    new = parse_amounts(amounts)
    now = now or now_tehran()
    with session_scope(engine) as s:
        t = s.scalar(sa.select(FeeTariff).where(FeeTariff.province_id == province_id,
                                                FeeTariff.jalali_year == year).with_for_update())
        if t is None:
            t = FeeTariff(province_id=province_id, jalali_year=year, updated_at=now, **new)
            s.add(t)
            try:
                with s.begin_nested():
                    s.flush()
            except sa.exc.IntegrityError:
                raise Conflict("هم‌زمان کاربر دیگری تعرفهٔ این سال را ثبت کرد؛ صفحه را دوباره بارگذاری کنید.") from None
            record(s, actor, "tariff_created", "fee_tariff", t.id, province_id=province_id, at=now,
                   data={"year": year, "after": new})
            return TariffChange(t.id, True, f"تعرفهٔ سال {fa(year)} ثبت شد.")
        if expect_new or (seen_updated_at is not None and t.updated_at != seen_updated_at):
            raise Conflict(f"تعرفهٔ سال {fa(year)} پس از باز شدن این فرم تغییر کرده است؛ صفحه را دوباره "
                           "بارگذاری کنید و دوباره بررسی کنید. چیزی ذخیره نشد.")
        old = {f: getattr(t, f) for f in FIELD_NAMES}
        if old == new:
            return TariffChange(t.id, False, "مبلغ‌ها همان مبلغ‌های پیشین است؛ تغییری ثبت نشد.")
        used = tariff_used(s, t.id, province_id, year)
        if used:
            if not normalize_text(reason or ""):
                raise ValidationError(
                    f"تعرفهٔ سال {fa(year)} در مبلغ‌های تعیین‌شده به کار رفته است؛ برای تغییر آن دلیل را بنویسید. "
                    "مبلغ‌های تعیین‌شدهٔ پیشین تغییر نمی‌کنند.")
        reason = clean_reason(reason, field="دلیل تغییر") if normalize_text(reason or "") else None
        for f, v in new.items():
            setattr(t, f, v)
        t.updated_at = now
        changed = {f: {"old": old[f], "new": new[f]} for f in FIELD_NAMES if old[f] != new[f]}
        record(s, actor, "tariff_changed", "fee_tariff", t.id, province_id=province_id, at=now,
               data={"year": year, "used": used, "reason": reason, "changes": changed, "before": old, "after": new})
        return TariffChange(t.id, True, f"تعرفهٔ سال {fa(year)} به‌روز شد" +
                            ("؛ مبلغ‌های تعیین‌شدهٔ پیشین همان می‌مانند." if used else "."))


def describe_amount(n: int) -> str:
    """"۱٬۲۵۰٬۰۰۰ ریال (۱۲۵٬۰۰۰ تومان)" for tables and previews."""
    return f"{format_rial(n)} ریال ({format_toman(n)})"


# --- discount rules (the central council's, kept by the central administrator) -----------------------

@dataclass(frozen=True)
class DiscountRuleView:
    id: int
    name_fa: str
    year_from: int
    year_to: int
    percent: Decimal
    is_active: bool


def list_discount_rules(s: Session) -> list[DiscountRuleView]:
    rows = s.scalars(sa.select(DiscountRuleRow).order_by(DiscountRuleRow.id)).all()
    return [DiscountRuleView(r.id, r.name_fa, r.valid_end_year_from, r.valid_end_year_to, r.percent, r.is_active)
            for r in rows]


def _require_central_admin(actor: Actor) -> None:
    if not actor.has(Role.ADMIN) or actor.province_id is not None:
        raise PermissionDenied("قاعده‌های تخفیف مصوبهٔ شورای مرکزی است و فقط مدیر سامانهٔ مرکزی آن‌ها را تغییر می‌دهد.")


def _parse_year(value: int | str, label: str) -> int:
    text = normalize_text(str(value))
    if not text.isdigit():
        raise ValidationError(f"{label} باید عدد باشد.")
    return _check_year(int(text))


def add_discount_rule(engine: sa.Engine, actor: Actor, name_fa: str, year_from: int | str, year_to: int | str,
                      percent: str | int, *, now: datetime | None = None) -> TariffChange:
    _require_central_admin(actor)
    name = clean_reason(name_fa, max_len=300, field="عنوان قاعده")
    text = normalize_text(str(percent)).replace("\u066b", ".").replace("/", ".")
    rule = DiscountRule.from_percent(_parse_year(year_from, "سال آغاز"), _parse_year(year_to, "سال پایان"), text, name)
    now = now or now_tehran()
    with session_scope(engine) as s:
        row = DiscountRuleRow(name_fa=name, valid_end_year_from=rule.year_from, valid_end_year_to=rule.year_to,
                              percent=rule.percent, is_active=True)
        s.add(row)
        s.flush()
        record(s, actor, "discount_rule_added", "discount_rule", row.id, at=now,
               data={"name": name, "from": rule.year_from, "to": rule.year_to, "percent": str(rule.percent)})
        return TariffChange(row.id, True, "قاعدهٔ تخفیف افزوده شد و از این پس در محاسبهٔ مبلغ تمدید به کار می‌رود.")


def set_discount_rule_active(engine: sa.Engine, actor: Actor, rule_id: int, active: bool, reason: str, *,
                             now: datetime | None = None) -> TariffChange:
    _require_central_admin(actor)
    reason = clean_reason(reason, field="دلیل تغییر")
    now = now or now_tehran()
    with session_scope(engine) as s:
        row = s.get(DiscountRuleRow, rule_id, with_for_update=True)
        if row is None:
            raise NotFound("قاعدهٔ تخفیف پیدا نشد.")
        if row.is_active == active:
            return TariffChange(row.id, False, "وضعیت قاعده همان است؛ تغییری ثبت نشد.")
        row.is_active = active
        record(s, actor, "discount_rule_activated" if active else "discount_rule_deactivated", "discount_rule",
               row.id, at=now, data={"reason": reason, "name": row.name_fa})
        return TariffChange(row.id, True, "قاعدهٔ تخفیف فعال شد." if active else
                            "قاعدهٔ تخفیف غیرفعال شد؛ مبلغ‌های تعیین‌شدهٔ پیشین تغییر نمی‌کنند.")
