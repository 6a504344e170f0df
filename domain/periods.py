"""Jalali periods: a month, a season, a year or a range of days, as [start, end) aware Tehran
datetimes (midnights) with the Persian label people read. The KPI, analytics and transparency
reports all take one `Period`."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import jdatetime

from domain.jalali import (TEHRAN, format_jalali_date, jalali_month_bounds, jalali_month_label, jalali_range_bounds,
                           jalali_season_bounds, jalali_year_bounds, to_jalali)
from domain.text import to_persian_digits

SEASONS_FA = ("بهار", "تابستان", "پاییز", "زمستان")
TREND_MONTHS = 12


@dataclass(frozen=True)
class Period:
    """A Jalali period as [start, end) aware Tehran datetimes (midnights), with its Persian label."""

    kind: str          # month, season, year, range
    start: datetime
    end: datetime
    label: str

    @property
    def first_day(self) -> date:
        return self.start.astimezone(TEHRAN).date()

    @property
    def end_day(self) -> date:
        """The day after the last day (exclusive bound)."""
        return self.end.astimezone(TEHRAN).date()

    @property
    def last_day(self) -> date:
        return self.end_day - timedelta(days=1)

    def elapsed_days(self, now: datetime) -> float:
        """Days of the period up to `now` (a period that has not started has none)."""
        stop = min(self.end, max(self.start, now))
        return (stop - self.start).total_seconds() / 86400


def month_period(year: int, month: int) -> Period:
    start, end = jalali_month_bounds(year, month)
    return Period("month", start, end, jalali_month_label(year, month))


def season_period(year: int, season: int) -> Period:
    start, end = jalali_season_bounds(year, season)
    return Period("season", start, end, f"{SEASONS_FA[season - 1]} {to_persian_digits(year)}")


def year_period(year: int) -> Period:
    start, end = jalali_year_bounds(year)
    return Period("year", start, end, f"سال {to_persian_digits(year)}")


def range_period(first: date | jdatetime.date, last: date | jdatetime.date) -> Period:
    """From the start of `first` to the end of `last` (both included)."""
    start, end = jalali_range_bounds(to_jalali(first), to_jalali(last))
    return Period("range", start, end, f"از {format_jalali_date(first)} تا {format_jalali_date(last)}")


def current_month(now: datetime) -> Period:
    jd = to_jalali(now)
    return month_period(jd.year, jd.month)


@dataclass(frozen=True)
class Month:
    year: int
    month: int
    start: date   # Gregorian first day
    end: date     # Gregorian day after the last

    @property
    def label(self) -> str:
        return jalali_month_label(self.year, self.month)

    @property
    def key(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


def jalali_month(year: int, month: int) -> Month:
    start, end = jalali_month_bounds(year, month)
    return Month(year, month, start.date(), end.date())


def months_between(first: date, last: date) -> list[Month]:
    """The Jalali months from the one holding `first` to the one holding `last`."""
    a, b = to_jalali(first), to_jalali(last)
    y, m, out = a.year, a.month, []
    while (y, m) <= (b.year, b.month):
        out.append(jalali_month(y, m))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def trend_months(period: Period, at_least: int = TREND_MONTHS) -> list[Month]:
    """The months the period touches, extended back to at least `at_least` months."""
    months = months_between(period.first_day, period.last_day)
    while len(months) < at_least:
        first = months[0]
        y, m = (first.year - 1, 12) if first.month == 1 else (first.year, first.month - 1)
        months.insert(0, jalali_month(y, m))
    return months
