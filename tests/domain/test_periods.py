"""Jalali periods: whole Tehran days, half-open bounds, Persian labels; the months a report spans."""
from __future__ import annotations

from datetime import date, datetime, timedelta

import jdatetime
import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.calendar import TEHRAN
from domain.errors import ValidationError
from domain.periods import (current_month, month_period, months_between, range_period, season_period, trend_months,
                            year_period)


def test_a_month_is_its_days_in_tehran_with_a_persian_label():
    p = month_period(1405, 8)  # Aban 1405
    assert (p.start, p.end) == (datetime(2026, 10, 23, tzinfo=TEHRAN), datetime(2026, 11, 22, tzinfo=TEHRAN))
    assert (p.first_day, p.last_day, p.end_day) == (date(2026, 10, 23), date(2026, 11, 21), date(2026, 11, 22))
    assert p.label == "آبان ۱۴۰۵" and p.kind == "month"


def test_esfand_has_thirty_days_in_a_leap_year_and_twenty_nine_otherwise():
    assert (month_period(1403, 12).end - month_period(1403, 12).start).days == 30  # 1403 is a leap year
    assert (month_period(1404, 12).end - month_period(1404, 12).start).days == 29


def test_seasons_and_years_abut():
    year = year_period(1405)
    seasons = [season_period(1405, k) for k in range(1, 5)]
    assert seasons[0].start == year.start and seasons[-1].end == year.end
    assert all(a.end == b.start for a, b in zip(seasons, seasons[1:]))
    assert seasons[2].label == "پاییز ۱۴۰۵" and year.label == "سال ۱۴۰۵"
    with pytest.raises(ValidationError):
        season_period(1405, 5)


def test_a_range_includes_both_end_days_and_refuses_a_reversed_one():
    p = range_period(jdatetime.date(1403, 1, 1), jdatetime.date(1403, 2, 31))
    assert p.first_day == date(2024, 3, 20) and p.last_day == date(2024, 5, 20)
    assert p.label == "از ۱۴۰۳/۰۱/۰۱ تا ۱۴۰۳/۰۲/۳۱"
    with pytest.raises(ValidationError, match="پیش از"):
        range_period(date(2024, 5, 20), date(2024, 3, 20))


def test_elapsed_days_stop_at_the_period_bounds():
    p = month_period(1405, 9)
    assert p.elapsed_days(p.start - timedelta(days=3)) == 0
    assert p.elapsed_days(p.start + timedelta(hours=36)) == 1.5
    assert p.elapsed_days(p.end + timedelta(days=40)) == (p.end - p.start).days


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2040, 1, 1)))
def test_the_current_month_holds_the_day(day):
    moment = datetime.combine(day, datetime.min.time(), tzinfo=TEHRAN) + timedelta(hours=23, minutes=59)
    p = current_month(moment)
    assert p.start <= moment < p.end and p.kind == "month"


def test_months_between_and_the_trend_window():
    assert [m.key for m in months_between(date(2026, 11, 12), date(2026, 11, 24))] == ["1405-08", "1405-09"]
    months = trend_months(month_period(1405, 2))
    assert len(months) == 12 and months[-1].key == "1405-02" and months[0].key == "1404-03"
    assert all(a.end == b.start for a, b in zip(months, months[1:]))
    year = trend_months(year_period(1404))
    assert [m.key for m in year] == [f"1404-{k:02d}" for k in range(1, 13)]
