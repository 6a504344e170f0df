"""Jalali (Solar Hijri) dates, always interpreted in Asia/Tehran.

Users see and type Jalali dates; the database stores aware datetimes. Naive
datetimes are taken to be Tehran local time. Period bounds are half-open
[start, end) so that consecutive periods abut without overlap or gaps.
"""
from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import jdatetime

from domain.errors import ValidationError
from domain.text import normalize_text, to_persian_digits

TEHRAN = ZoneInfo("Asia/Tehran")

MIN_YEAR = 1300
MAX_YEAR = 1500

JALALI_MONTHS_FA = [
    "فروردین",
    "اردیبهشت",
    "خرداد",
    "تیر",
    "مرداد",
    "شهریور",
    "مهر",
    "آبان",
    "آذر",
    "دی",
    "بهمن",
    "اسفند",
]

EMPTY_DISPLAY = "—"

# Same or mixed separators are tolerated ("1404/7-15"): people copy dates from many places.
_DATE_RE = re.compile(r"([0-9]{1,4})\s*[/\-.]\s*([0-9]{1,2})\s*[/\-.]\s*([0-9]{1,2})")
_FORMAT_HINT = "تاریخ را به شکل ۱۴۰۴/۰۷/۱۵ وارد کنید."


def now_tehran() -> dt.datetime:
    """The current moment as an aware datetime in Tehran time."""
    return dt.datetime.now(TEHRAN)


def today_jalali() -> jdatetime.date:
    """Today's Jalali date in Tehran (not in the server's time zone)."""
    return jdatetime.date.fromgregorian(date=now_tehran().date())


def _fa_date(y: int, m: int, d: int) -> str:
    return to_persian_digits(f"{y:04d}/{m:02d}/{d:02d}")


def _check_year(year: int) -> None:
    if isinstance(year, bool) or not isinstance(year, int):
        raise ValidationError("سال باید عدد باشد.")
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise ValidationError(
            f"سال {to_persian_digits(year)} خارج از بازهٔ مجاز "
            f"({to_persian_digits(MIN_YEAR)} تا {to_persian_digits(MAX_YEAR)}) است."
        )


def _check_month(month: int) -> None:
    if isinstance(month, bool) or not isinstance(month, int) or not 1 <= month <= 12:
        raise ValidationError(
            f"ماه {to_persian_digits(month)} وجود ندارد؛ ماه باید عددی از ۱ تا ۱۲ باشد."
        )


def days_in_jalali_month(year: int, month: int) -> int:
    """31 for months 1-6, 30 for months 7-11, 29 or 30 for Esfand (30 in leap years)."""
    _check_month(month)
    if month <= 6:
        return 31
    if month <= 11:
        return 30
    return 30 if jdatetime.date(year, 1, 1).isleap() else 29


def parse_jalali_date(s: str) -> jdatetime.date:
    """Parse a typed Jalali date such as "1404/07/15", "۱۴۰۴-۷-۱۵" or " 1404/7/15 ".

    Impossible dates (1404/12/30, 1404/07/31, month 13, ...) raise ValidationError.
    """
    text = normalize_text(s)
    if not text:
        raise ValidationError("تاریخ وارد نشده است.")
    match = _DATE_RE.fullmatch(text)
    if match is None:
        raise ValidationError(f"قالب تاریخ درست نیست؛ {_FORMAT_HINT}")
    year, month, day = (int(g) for g in match.groups())
    _check_year(year)
    _check_month(month)
    length = days_in_jalali_month(year, month)
    if not 1 <= day <= length:
        raise ValidationError(
            f"تاریخ {_fa_date(year, month, day)} وجود ندارد؛ "
            f"{jalali_month_label(year, month)} {to_persian_digits(length)} روز دارد."
        )
    return jdatetime.date(year, month, day)


def _to_tehran_naive(value: dt.datetime) -> dt.datetime:
    """Aware -> Tehran local wall time; naive is already Tehran by convention."""
    if value.tzinfo is not None:
        value = value.astimezone(TEHRAN)
    return value.replace(tzinfo=None)


def to_jalali(d: dt.date | dt.datetime | jdatetime.date) -> jdatetime.date:
    """Jalali date of a Gregorian date or datetime (aware datetimes are seen from Tehran)."""
    if isinstance(d, jdatetime.datetime):
        d = d.togregorian()
    elif isinstance(d, jdatetime.date):
        return jdatetime.date(d.year, d.month, d.day)
    if isinstance(d, dt.datetime):
        d = _to_tehran_naive(d).date()
    if isinstance(d, dt.date):
        return jdatetime.date.fromgregorian(date=d)
    raise TypeError(f"expected a date, got {type(d).__name__}")


def to_gregorian(jd: jdatetime.date) -> dt.date:
    """Gregorian date of a Jalali date."""
    if isinstance(jd, jdatetime.datetime):
        return jd.togregorian().date()
    if isinstance(jd, jdatetime.date):
        return jd.togregorian()
    raise TypeError(f"expected a jdatetime.date, got {type(jd).__name__}")


def format_jalali_date(d: dt.date | dt.datetime | jdatetime.date | None) -> str:
    """Jalali date as ۱۴۰۴/۰۷/۱۵ with Persian digits (the Tehran day for datetimes); None -> "—"."""
    if d is None:
        return EMPTY_DISPLAY
    jd = to_jalali(d)
    return _fa_date(jd.year, jd.month, jd.day)


def format_jalali_datetime(value: dt.datetime | jdatetime.datetime | dt.date | None) -> str:
    """Jalali date and time as ۱۴۰۴/۰۷/۱۵ ۰۹:۳۰ in Tehran time; None -> "—".

    A bare date (no time part) is shown as the date only.
    """
    if value is None:
        return EMPTY_DISPLAY
    if isinstance(value, jdatetime.datetime):
        value = value.togregorian()
    if not isinstance(value, dt.datetime):
        return format_jalali_date(value)
    local = _to_tehran_naive(value)
    return f"{format_jalali_date(local)} {to_persian_digits(f'{local:%H:%M}')}"


def jalali_month_label(year: int, month: int) -> str:
    """(1404, 7) -> "مهر ۱۴۰۴"."""
    _check_month(month)
    return f"{JALALI_MONTHS_FA[month - 1]} {to_persian_digits(year)}"


def last_day_of_jalali_year(year: int) -> jdatetime.date:
    """29 Esfand, or 30 Esfand in a leap year."""
    _check_year(year)
    return jdatetime.date(year, 12, days_in_jalali_month(year, 12))


def _start_of_day(jd: jdatetime.date) -> dt.datetime:
    """Midnight at the start of a Jalali day in Tehran, as an aware datetime."""
    return dt.datetime.combine(jd.togregorian(), dt.time(0), tzinfo=TEHRAN)


def _month_start(year: int, month: int) -> dt.datetime:
    # Month 13 means Farvardin of the next year, so callers can say "month + 1".
    if month == 13:
        year, month = year + 1, 1
    return _start_of_day(jdatetime.date(year, month, 1))


def jalali_month_bounds(year: int, month: int) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) of a Jalali month as aware Tehran datetimes."""
    _check_year(year)
    _check_month(month)
    return _month_start(year, month), _month_start(year, month + 1)


def jalali_year_bounds(year: int) -> tuple[dt.datetime, dt.datetime]:
    """[1 Farvardin of year, 1 Farvardin of year + 1) as aware Tehran datetimes."""
    _check_year(year)
    return _month_start(year, 1), _month_start(year + 1, 1)


def jalali_season_bounds(year: int, season: int) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) of a season: 1 spring (Farvardin-Khordad) ... 4 winter (Dey-Esfand)."""
    _check_year(year)
    if isinstance(season, bool) or not isinstance(season, int) or not 1 <= season <= 4:
        raise ValidationError("فصل باید عددی از ۱ تا ۴ باشد.")
    first_month = 3 * season - 2
    return _month_start(year, first_month), _month_start(year, first_month + 3)


def jalali_range_bounds(d1: jdatetime.date, d2: jdatetime.date) -> tuple[dt.datetime, dt.datetime]:
    """[start of d1, start of the day after d2): both end dates are included."""
    j1, j2 = to_jalali(d1), to_jalali(d2)
    if j2 < j1:
        raise ValidationError(
            f"تاریخ پایان ({format_jalali_date(j2)}) نمی‌تواند پیش از "
            f"تاریخ شروع ({format_jalali_date(j1)}) باشد."
        )
    return _start_of_day(j1), _start_of_day(j2 + dt.timedelta(days=1))
