"""Business calendar and SLA status rules (logic/sla.py). No database needed."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import holidays as holidays_pkg
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.calendar import (
    AT_RISK_FRACTION,
    SLA_LABELS_FA,
    BusinessCalendar,
    SlaStatus,
    closed_status,
    open_status,
)
from domain.errors import ValidationError

TEHRAN = ZoneInfo("Asia/Tehran")
YEARS = range(2025, 2028)
CAL = BusinessCalendar.iran(years=YEARS)
# Official 2026 holidays as the package reports them, looked up by English name
# so the tests follow the package's lunar-calendar dates instead of hard-coding guesses.
IR_2026 = holidays_pkg.country_holidays("IR", years=2026)
US = timedelta(microseconds=1)

SAT, SUN, MON, TUE, WED, THU, FRI = 5, 6, 0, 1, 2, 3, 4


def dates_named(name: str) -> list[date]:
    return sorted(d for d, n in IR_2026.items() if name in n.split("; "))


# ------------------------------------------------------------------ strategies
# Mix arbitrary times with the edges where off-by-one bugs live.
EDGE_TIMES = [time(0, 0), time(7, 29, 59, 999999), time(7, 30), time(7, 30, 0, 1),
              time(12, 0), time(14, 29, 59, 999999), time(14, 30), time(23, 59, 59, 999999)]
moments = st.builds(
    datetime.combine,
    st.dates(min_value=date(2025, 6, 1), max_value=date(2027, 6, 1)),
    st.one_of(st.times(), st.sampled_from(EDGE_TIMES)),
)
day_counts = st.one_of(
    st.floats(min_value=0, max_value=40, allow_nan=False, allow_infinity=False),
    st.integers(min_value=0, max_value=40),
    st.sampled_from([0.5, 1 / 7, 1 / 3]),
)
positive_days = day_counts.filter(lambda d: d > 0)
PROPS = settings(max_examples=200, deadline=None)


def reference_hours(cal: BusinessCalendar, start: datetime, end: datetime) -> float:
    """Per-day brute force (short spans only) to cross-check the arithmetic version."""
    if end < start:
        return -reference_hours(cal, end, start)
    total = timedelta()
    day = start.date()
    while day <= end.date():
        if day.weekday() in cal.workdays and day not in cal.holidays:
            lo = max(start, datetime.combine(day, cal.opens))
            hi = min(end, datetime.combine(day, cal.closes))
            total += max(hi - lo, timedelta())
        day += timedelta(days=1)
    return total / timedelta(hours=1)


# ------------------------------------------------------------------ properties
@PROPS
@given(moments, positive_days)
def test_deadline_never_in_closed_time(start, days):
    deadline = CAL.add_working_days(start, days)
    # Either open, or exactly a closing time: the instant just before is open.
    assert CAL.is_open(deadline - US)
    assert deadline > start


@PROPS
@given(st.builds(datetime.combine, st.dates(min_value=date(2025, 6, 1), max_value=date(2027, 6, 1)),
                 st.times().map(lambda t: t.replace(microsecond=0))),
       st.integers(min_value=1, max_value=40 * 7 * 3600))
def test_whole_second_deadline_one_second_earlier_is_open(start, seconds):
    deadline = CAL.add_working_hours(start, seconds / 3600)
    assert CAL.is_open(deadline - timedelta(seconds=1))


@PROPS
@given(moments, day_counts)
def test_round_trip_hours_equal_requested_days(start, days):
    deadline = CAL.add_working_days(start, days)
    assert CAL.working_hours_between(start, deadline) == pytest.approx(days * CAL.day_hours, abs=1e-6)


@PROPS
@given(moments, day_counts)
def test_days_and_hours_agree(start, days):
    assert CAL.add_working_days(start, days) == CAL.add_working_hours(start, days * CAL.day_hours)


@PROPS
@given(moments, moments, day_counts)
def test_deadline_non_decreasing_in_start(a, b, days):
    a, b = sorted((a, b))
    assert CAL.add_working_days(a, days) <= CAL.add_working_days(b, days)


@PROPS
@given(moments, day_counts, day_counts)
def test_deadline_non_decreasing_in_duration(start, d1, d2):
    d1, d2 = sorted((d1, d2))
    assert CAL.add_working_days(start, d1) <= CAL.add_working_days(start, d2)


@PROPS
@given(moments, moments)
def test_working_hours_between_is_antisymmetric(a, b):
    assert CAL.working_hours_between(a, b) == -CAL.working_hours_between(b, a)
    hours = CAL.working_hours_between(a, b)
    assert hours >= 0 if a <= b else hours <= 0


@PROPS
@given(moments, st.timedeltas(min_value=timedelta(days=-60), max_value=timedelta(days=60)))
def test_working_hours_between_matches_brute_force(start, span):
    end = start + span
    assert CAL.working_hours_between(start, end) == pytest.approx(reference_hours(CAL, start, end), abs=1e-9)


@PROPS
@given(moments, positive_days)
def test_aware_input_gives_same_instant_as_naive(start, days):
    aware = start.replace(tzinfo=TEHRAN).astimezone(timezone.utc)
    result = CAL.add_working_days(aware, days)
    assert result.tzinfo is TEHRAN
    assert result.replace(tzinfo=None) == CAL.add_working_days(start, days)


# -------------------------------------------------------------------- examples
def test_iran_2026_nowruz_is_closed():
    nowruz = dates_named("Nowruz") + dates_named("Nowruz Holiday")
    assert nowruz == [date(2026, 3, 21), date(2026, 3, 22), date(2026, 3, 23), date(2026, 3, 24)]
    cal = BusinessCalendar.iran(years=2026)
    for day in nowruz:
        assert not cal.is_working_day(day)
        assert not cal.is_open(datetime.combine(day, time(10)))
    # Tuesday 17 March 10:00 + 3 days skips Thu/Fri and all of Nowruz.
    assert cal.add_working_days(datetime(2026, 3, 17, 10), 3) == datetime(2026, 3, 28, 10)


def test_iran_2026_tasua_and_ashura_are_closed():
    tasua, ashura = dates_named("Tasua"), dates_named("Ashura")
    assert tasua == [date(2026, 6, 24)] and ashura == [date(2026, 6, 25)]
    cal = BusinessCalendar.iran(years=2026)
    assert not cal.is_open(datetime(2026, 6, 24, 10))   # Tasua, a Wednesday
    assert not cal.is_open(datetime(2026, 6, 25, 10))   # Ashura, a Thursday anyway
    # Tuesday close + 1 day: Wednesday is Tasua, Thu/Fri off -> Saturday close.
    assert cal.add_working_days(datetime(2026, 6, 23, 14, 30), 1) == datetime(2026, 6, 27, 14, 30)


def test_thursday_and_friday_are_closed():
    thu, fri = datetime(2026, 1, 8, 10), datetime(2026, 1, 9, 10)
    assert (thu.weekday(), fri.weekday()) == (THU, FRI)
    assert not CAL.is_open(thu) and not CAL.is_open(fri)
    assert CAL.working_hours_between(datetime(2026, 1, 8), datetime(2026, 1, 10)) == 0


def test_after_hours_start_counts_from_next_opening():
    wed = datetime(2026, 1, 7, 16)
    assert wed.weekday() == WED
    assert CAL.add_working_days(wed, 1) == datetime(2026, 1, 10, 14, 30)   # Saturday close
    assert CAL.add_working_hours(wed, 1) == datetime(2026, 1, 10, 8, 30)
    assert CAL.add_working_days(datetime(2026, 1, 10, 6), 0.5) == datetime(2026, 1, 10, 11)


def test_boundary_deadline_is_earlier_days_closing():
    sat = datetime(2026, 1, 10, 7, 30)
    assert sat.weekday() == SAT
    assert CAL.add_working_days(sat, 1) == datetime(2026, 1, 10, 14, 30)
    assert CAL.add_working_days(sat, 2) == datetime(2026, 1, 11, 14, 30)
    # Wednesday's close, not the next Saturday's opening.
    assert CAL.add_working_days(sat, 5) == datetime(2026, 1, 14, 14, 30)
    assert CAL.add_working_days(datetime(2026, 1, 14, 11), 0.5) == datetime(2026, 1, 14, 14, 30)


def test_zero_days_returns_start_unchanged():
    friday_night = datetime(2026, 1, 9, 22, 15)
    assert CAL.add_working_days(friday_night, 0) == friday_night
    assert CAL.add_working_hours(friday_night, 0) == friday_night


def test_is_open_edges():
    day = date(2026, 1, 10)  # Saturday
    assert CAL.is_open(datetime.combine(day, time(7, 30)))
    assert not CAL.is_open(datetime.combine(day, time(7, 29, 59, 999999)))
    assert CAL.is_open(datetime.combine(day, time(14, 29, 59, 999999)))
    assert not CAL.is_open(datetime.combine(day, time(14, 30)))


def test_next_opening():
    assert CAL.next_opening(datetime(2026, 1, 10, 9)) == datetime(2026, 1, 10, 9)
    assert CAL.next_opening(datetime(2026, 1, 10, 6)) == datetime(2026, 1, 10, 7, 30)
    assert CAL.next_opening(datetime(2026, 1, 10, 14, 30)) == datetime(2026, 1, 11, 7, 30)
    assert CAL.next_opening(datetime(2026, 1, 7, 16)) == datetime(2026, 1, 10, 7, 30)
    # Wednesday before Nowruz: Sat-Tue are holidays, next opening is Wednesday 25th.
    assert CAL.next_opening(datetime(2026, 3, 18, 15)) == datetime(2026, 3, 25, 7, 30)


def test_aware_input_returns_aware_tehran_output():
    utc_start = datetime(2026, 1, 7, 12, 30, tzinfo=timezone.utc)   # 16:00 Tehran, Wednesday
    deadline = CAL.add_working_days(utc_start, 1)
    assert deadline.tzinfo is TEHRAN
    assert deadline == datetime(2026, 1, 10, 14, 30, tzinfo=TEHRAN)
    assert CAL.is_open(datetime(2026, 1, 10, 4, 0, tzinfo=timezone.utc))       # 07:30 Tehran
    assert not CAL.is_open(datetime(2026, 1, 10, 3, 59, tzinfo=timezone.utc))
    assert CAL.next_opening(utc_start) == datetime(2026, 1, 10, 7, 30, tzinfo=TEHRAN)
    # Mixed naive (Tehran) and aware arguments measure the same instants.
    assert CAL.working_hours_between(datetime(2026, 1, 10, 7, 30),
                                     datetime(2026, 1, 10, 5, 0, tzinfo=timezone.utc)) == 1.0


def test_working_hours_between_is_signed_and_spans_years_fast():
    cal = BusinessCalendar.iran(years=range(2000, 2031))
    start, end = datetime(2000, 1, 1), datetime(2031, 1, 1)
    total = cal.working_hours_between(start, end)
    assert total == pytest.approx(reference_hours(cal, start, end))
    assert cal.working_hours_between(end, start) == -total
    assert cal.working_hours_between(datetime(2026, 1, 10, 9), datetime(2026, 1, 10, 8)) == -1.0


def test_iran_overrides():
    cal = BusinessCalendar.iran(years=2026, workdays={5, 6, 0, 1, 2, 3}, opens=time(8))
    assert cal.day_hours == 6.5
    assert cal.is_open(datetime(2026, 1, 8, 10))          # Thursday now a workday
    assert not cal.is_open(datetime(2026, 1, 10, 7, 30))  # opens at 08:00
    assert not cal.is_open(datetime(2026, 3, 21, 10))     # official holidays still loaded
    extra = BusinessCalendar.iran(years=2026, extra_holidays={date(2026, 1, 10)})
    assert not extra.is_open(datetime(2026, 1, 10, 10))
    bare = BusinessCalendar.iran(years=2026, holidays=())
    assert bare.is_open(datetime(2026, 3, 21, 10))


def test_day_hours_default():
    assert BusinessCalendar().day_hours == 7.0
    assert CAL.add_working_days(datetime(2026, 1, 10, 7, 30), 1) == \
        CAL.add_working_hours(datetime(2026, 1, 10, 7, 30), 7)


@pytest.mark.parametrize("bad", [-1, -0.001, float("nan"), float("inf")])
def test_negative_or_non_finite_days_rejected(bad):
    with pytest.raises(ValidationError) as err:
        CAL.add_working_days(datetime(2026, 1, 10, 9), bad)
    assert err.value.message  # Persian text for the screen
    with pytest.raises(ValidationError):
        CAL.add_working_hours(datetime(2026, 1, 10, 9), bad)


@pytest.mark.parametrize("kwargs", [
    {"opens": time(14), "closes": time(8)},
    {"opens": time(8), "closes": time(8)},
    {"workdays": set()},
    {"workdays": {7}},
])
def test_bad_calendar_rejected(kwargs):
    with pytest.raises(ValidationError):
        BusinessCalendar(**kwargs)


# ------------------------------------------------------------------ SLA status
def test_sla_labels_cover_every_status():
    assert set(SLA_LABELS_FA) == set(SlaStatus)
    assert SLA_LABELS_FA["breached"] == "تأخیر"
    assert SlaStatus.PAUSED.label_fa == "متوقف (نزد عضو)"
    assert AT_RISK_FRACTION == 0.25


def test_open_status():
    limit = 3 * CAL.day_hours                        # 21 h; at risk below 5.25 h left
    start = datetime(2026, 1, 10, 7, 30)             # Saturday opening
    due = CAL.add_working_hours(start, limit)        # Monday close
    assert due == datetime(2026, 1, 12, 14, 30)
    assert open_status(CAL, start, None, limit) is SlaStatus.PAUSED
    assert open_status(CAL, start, due, limit) is SlaStatus.ON_TIME
    assert open_status(CAL, datetime(2026, 1, 12, 9, 14), due, limit) is SlaStatus.ON_TIME   # 5h16m left
    assert open_status(CAL, datetime(2026, 1, 12, 9, 16), due, limit) is SlaStatus.AT_RISK
    assert open_status(CAL, due, due, limit) is SlaStatus.AT_RISK
    assert open_status(CAL, due + US, due, limit) is SlaStatus.BREACHED
    aware_now = datetime(2026, 1, 12, 11, 1, tzinfo=timezone.utc)  # 14:31 Tehran
    assert open_status(CAL, aware_now, due, limit) is SlaStatus.BREACHED


def test_closed_status():
    due = datetime(2026, 1, 12, 14, 30)
    assert closed_status(due, None) is SlaStatus.MET
    assert closed_status(due, due) is SlaStatus.MET
    assert closed_status(due + US, due) is SlaStatus.MISSED
    assert closed_status(datetime(2026, 1, 12, 11, 0, tzinfo=timezone.utc), due) is SlaStatus.MET
