"""The business calendar's lazily built per-day tables against its own arithmetic.

`BusinessCalendar` answers from tables built a block of days at a time (the bulk loader asks it
millions of times); they are filled from the arithmetic (`_working_days_before`,
`_working_ordinal`), which `arithmetic_position` uses directly. Random calendars, holiday sets and
moments must get the same answers both ways. No database needed.
"""
from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from domain.calendar import US_PER_DAY, BusinessCalendar, from_wall, to_wall, wall_of_day

TEHRAN = ZoneInfo("Asia/Tehran")
WEEKS = ({5, 6, 0, 1, 2}, {0, 1, 2, 3, 4}, {5, 6, 0, 1, 2, 3}, {2}, set(range(7)))
HOURS = ((time(7, 30), time(14, 30)), (time(8), time(16, 45, 30)), (time(0), time(23, 59, 59, 999_999)),
         (time(9, 15, 30, 5), time(9, 15, 31)))


def _calendar(rng: random.Random) -> BusinessCalendar:
    """A calendar with a random week, office hours and holiday set (runs of days, some on
    non-working weekdays, some far in the past or the future)."""
    holidays: set[date] = set()
    for _ in range(rng.randrange(0, 60)):
        first = date(1990, 1, 1) + timedelta(days=rng.randrange(50 * 365))
        holidays.update(first + timedelta(days=k) for k in range(rng.choice((1, 1, 1, 2, 5, 12))))
    opens, closes = rng.choice(HOURS)
    return BusinessCalendar(workdays=rng.choice(WEEKS), opens=opens, closes=closes, holidays=holidays)


def _moment(rng: random.Random, cal: BusinessCalendar) -> datetime:
    day = date(1995, 1, 1) + timedelta(days=rng.randrange(40 * 365))
    if rng.random() < 0.3:  # the edges of the office day and of the calendar day
        return datetime.combine(day, rng.choice((cal.opens, cal.closes, time(0), time.max)))
    return datetime.combine(day, time(0)) + timedelta(microseconds=rng.randrange(US_PER_DAY))


@pytest.mark.parametrize("seed", range(8))
def test_tables_agree_with_the_arithmetic(seed):
    rng = random.Random(seed)
    cal = _calendar(rng)
    for _ in range(4_000):
        t = _moment(rng, cal)
        position = cal.position(t)
        assert position == cal.arithmetic_position(t), t
        assert cal.wall_position(to_wall(t)) == position
        assert cal.wall_is_working(to_wall(t)) == cal.is_working_day(t.date())
        # A working-day index maps to the day the arithmetic gives, and back to its position.
        index = position // cal.day_us
        ordinal = cal._working_ordinal(index)
        assert cal._opening(index) == (ordinal - date(2000, 1, 1).toordinal()) * 86_400_000_000 + cal.opens_us
        assert cal.arithmetic_position(datetime.combine(date.fromordinal(ordinal), cal.opens)) == index * cal.day_us
        # Adding working time lands where the positions say, inside office hours (a day boundary
        # at the earlier day's closing time).
        us = rng.choice((1, 2, cal.day_us, 3 * cal.day_us, rng.randrange(1, 40 * cal.day_us)))
        due = cal.add_working_us(t, us)
        assert cal.arithmetic_position(due) == position + us, (t, us)
        assert cal.is_working_day(due.date()) and cal.opens <= due.time() <= cal.closes
        assert cal.working_us_between(t, due) == us and cal.working_us_between(due, t) == -us
        u = t + timedelta(seconds=rng.randrange(-60 * 86_400, 60 * 86_400))
        assert cal.working_us_between(t, u) == cal.arithmetic_position(u) - cal.arithmetic_position(t)
        # The next opening: the moment itself when open, else no working time before it.
        opening = cal.next_opening(t)
        assert opening >= t and cal.is_open(opening)
        assert opening == t or cal.arithmetic_position(opening) == position
        # A position's moment.
        p = position + rng.randrange(-10 * cal.day_us, 10 * cal.day_us)
        wall = cal.wall_at_position(p)
        assert cal.wall_position(wall) == p
        latest = cal.latest_at_position(p)
        assert cal.arithmetic_position(latest) == p and latest.tzinfo is not None


def test_wall_microseconds_round_trip():
    rng = random.Random(11)
    for _ in range(20_000):
        t = datetime(1990, 1, 1) + timedelta(microseconds=rng.randrange(50 * 365 * US_PER_DAY))
        wall = to_wall(t)
        assert from_wall(wall) == t
        assert wall_of_day(t.date()) <= wall < wall_of_day(t.date()) + US_PER_DAY
        aware = t.replace(tzinfo=TEHRAN)
        assert to_wall(aware) == wall
        if t.year >= 2023:  # no daylight saving time since 2022: every local time exists once
            assert to_wall(aware.astimezone(ZoneInfo("UTC"))) == wall


def test_aware_moments_keep_their_style():
    cal = BusinessCalendar.iran(years=range(2024, 2027))
    naive = datetime(2025, 5, 3, 16, 0)
    aware = naive.replace(tzinfo=TEHRAN)
    utc = aware.astimezone(ZoneInfo("UTC"))
    assert cal.add_working_us(naive, 3_600_000_000).tzinfo is None
    for moment in (aware, utc):
        due = cal.add_working_us(moment, 3_600_000_000)
        assert due.tzinfo is not None and due.replace(tzinfo=None) == cal.add_working_us(naive, 3_600_000_000)
        assert cal.position(moment) == cal.position(naive) == cal.arithmetic_position(moment)
        assert cal.next_opening(moment).replace(tzinfo=None) == cal.next_opening(naive)


def test_a_calendar_remembers_only_positions_it_was_asked():
    """`position` keeps the last moment it was asked for; asking another, equal or not, is
    answered afresh."""
    cal = BusinessCalendar.iran(years=range(2024, 2027))
    a = datetime(2025, 5, 3, 9, 0)
    b = datetime(2025, 5, 3, 9, 0)  # equal, another object
    c = datetime(2025, 5, 4, 9, 0)
    assert cal.position(a) == cal.position(a) == cal.position(b) == cal.arithmetic_position(a)
    assert cal.position(c) == cal.arithmetic_position(c) and cal.position(a) == cal.arithmetic_position(a)
