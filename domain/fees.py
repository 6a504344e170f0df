"""Fee rules: the renewal quote with the central council's discount kept as data, the renewal
window, the fee a payment stage takes from the province's tariff, and work-licence renewal years.

Money is integer Rial everywhere; no float ever touches an amount. Source: seeds 000, 001 and 003
(renewal = annual fee × approved years + prior debt; the 1381-1388 discount; finance approves the
amount before the payment link opens), digested in shared/DOMAIN.md "Fees".
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import jdatetime

from domain.errors import ValidationError
from domain.jalali import (MAX_YEAR, MIN_YEAR, format_jalali_date, last_day_of_jalali_year, to_gregorian,
                           to_jalali)
from domain.processes import Process
from domain.text import normalize_text, to_persian_digits as fa

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


def first_year_due(valid_until: date | jdatetime.date) -> int:
    """The first Jalali year a member whose validity ends on `valid_until` has not paid for: the year
    after the one that holds the end. A validity end is usually Esfand 29/30, but records kept before
    the national portal hold other days (1385/06/15): the year that holds it counts as paid."""
    return _as_jalali(valid_until, "پایان اعتبار عضویت").year + 1


def renewal_quote(valid_until: jdatetime.date, through_year: int, annual_fee: Mapping[int, int],
                  prior_debt: int = 0, discounts: Iterable[DiscountRule] = CENTRAL_COUNCIL_DISCOUNTS) -> RenewalQuote:
    """What a member whose validity ends on `valid_until` pays to renew up to the end of `through_year`:
    one line per unrenewed year (from the Jalali year after the one that holds `valid_until`, whatever
    its day) at that year's annual fee, less the discount that applies to the year their validity
    ended, plus the prior debt the expert set. The new validity ends on the last day of `through_year`."""
    vu = _as_jalali(valid_until, "پایان اعتبار عضویت")
    if not MIN_YEAR <= vu.year <= MAX_YEAR:
        raise ValidationError(f"سال پایان اعتبار ({fa(vu.year)}) خارج از بازهٔ مجاز است.")
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
    rule = _discount_for(vu.year, discounts)  # by the year that holds the end, whatever its day
    lines = []
    for year in range(first_year_due(vu), through_year + 1):
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


# --- the fee a payment stage takes from the tariff -----------------------------------------------

ITEM_LABELS_FA: dict[str, str] = {
    "entrance_fee": "ورودیه",
    "annual_fee": "حق عضویت سالانه",
    "card_fee": "صدور کارت عضویت",
    "licence_issue_fee": "صدور پروانهٔ اشتغال",
    "licence_renewal_fee": "تمدید پروانهٔ اشتغال (هر سال)",
    "article32_renewal_fee": "تمدید پروانهٔ مادهٔ ۳۲",
    "rating_fee": "رتبه‌بندی",
}
# Every item a province's tariff sets for a year, in the order of the fee_tariff columns.
TARIFF_ITEMS: tuple[str, ...] = tuple(ITEM_LABELS_FA)


@dataclass(frozen=True)
class TariffFee:
    """What a payment stage charges from one year's tariff: the lines, their total, the validity
    years bought and the validity end they give (a new member: to the end of this year)."""

    year: int
    lines: tuple[dict, ...]
    total: int
    years: int | None
    new_valid_until: date | None

    @property
    def note_fa(self) -> str:
        return f"بر اساس تعرفهٔ سال {fa(self.year)}"


def tariff_fee(proc: Process, tariff: Mapping[str, int], year: int) -> TariffFee | None:
    """The fee of `proc`'s payment stage from the province's tariff of Jalali `year` (a mapping of
    tariff item to amount), or None when the type takes no tariff item (an expert determines it)."""
    if not proc.fee_items:
        return None
    lines = tuple({"item": item, "year": year, "fee": tariff[item], "discount": 0, "amount": tariff[item]}
                  for item in proc.fee_items)
    years = proc.validity_years or None
    new_valid = to_gregorian(last_day_of_jalali_year(year + proc.validity_years - 1)) if years else None
    return TariffFee(year, lines, sum(line["amount"] for line in lines), years, new_valid)


# --- work-licence renewal years ------------------------------------------------------------------

def check_licence_years(years: Sequence[tuple[int, bool]]) -> list[tuple[int, bool]]:
    """The expert's choice of licence years, each (Jalali year, free), checked and sorted."""
    chosen = list(years or [])
    if not chosen:
        raise ValidationError("دست‌کم یک سال برای تمدید پروانه انتخاب کنید.")
    for year, free in chosen:
        if not _is_int(year) or not MIN_YEAR <= year <= MAX_YEAR or not isinstance(free, bool):
            raise ValidationError("سال‌های تمدید پروانه درست وارد نشده است.")
    if len({y for y, _ in chosen}) != len(chosen):
        raise ValidationError("هر سال فقط یک بار در تمدید پروانه می‌آید.")
    return sorted(chosen)


def licence_renewal_lines(years: Sequence[tuple[int, bool]], fee: int) -> tuple[list[dict], int]:
    """One line per chosen year at the licence renewal fee; a free year (the central council's
    exemption) is discounted in full. Returns the lines and their total."""
    lines = [{"year": y, "fee": fee, "discount": fee if free else 0, "amount": 0 if free else fee, "free": free}
             for y, free in years]
    return lines, sum(line["amount"] for line in lines)
