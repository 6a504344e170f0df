"""The SLA clock arithmetic: integer units give exactly what the stored Decimal hours give, and the
deadlines follow from the clock fields alone."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.calendar import TEHRAN, BusinessCalendar
from domain.clock import (HOUR_UNITS, US_PER_UNIT, deadlines, hours_to_units, units_of_days, units_of_us,
                          units_to_hours)
from domain.processes import LESS_THAN_A_DAY, PROCESSES

PLACES = Decimal("0.0001")
CAL = BusinessCalendar(holidays={date(2026, 11, 25), date(2026, 12, 2)})
ODD_HOURS = BusinessCalendar(workdays={5, 6, 0, 1, 2, 3}, opens=time(8, 0), closes=time(15, 13))
moments = st.datetimes(min_value=datetime(2026, 10, 1), max_value=datetime(2027, 3, 1)).map(
    lambda d: d.replace(tzinfo=TEHRAN))


@given(st.integers(min_value=-10**12, max_value=10**14))
def test_units_round_like_the_stored_decimal_hours(us):
    """What the workflow always stored: Decimal(str(hours)).quantize(0.0001), never negative."""
    expected = Decimal(str(max(0.0, us / 3.6e9))).quantize(PLACES)
    assert units_to_hours(units_of_us(us)) == expected


@given(st.integers(min_value=0, max_value=10**9))
def test_stored_hours_and_units_convert_both_ways(units):
    assert hours_to_units(units_to_hours(units)) == units
    assert units_to_hours(units).as_tuple().exponent == -4


def test_a_limit_is_days_of_the_calendars_office_day():
    assert units_of_days(1, CAL) == 7 * HOUR_UNITS
    assert units_of_days(None, CAL) == 0
    assert units_of_days(LESS_THAN_A_DAY, CAL) == 3 * HOUR_UNITS + HOUR_UNITS // 2   # «کمتر از ۱ روز»: half a day
    # 07:13 of office time a day: 7.2167 h, rounded as the database rounds it.
    assert units_of_days(1, ODD_HOURS) == 72167 and units_of_days(3, ODD_HOURS) == 216500


@settings(max_examples=300)
@given(moments, st.sampled_from(sorted(PROCESSES)), st.integers(0, 200_000), st.integers(0, 400_000),
       st.sampled_from([CAL, ODD_HOURS]))
def test_deadlines_are_the_limits_left_after_the_hours_used(start, type_code, stage_used, process_used, cal):
    proc = PROCESSES[type_code]
    stage = next(s for s in proc.stages if s.clock_runs) if any(s.clock_runs for s in proc.stages) else None
    if stage is None:
        return
    d = deadlines(cal, proc, stage, start, stage_used, process_used)
    limit = units_of_days(stage.limit_days, cal)
    total = units_of_days(proc.total_limit_days, cal)

    def after(units):  # the old float formula: add the hours left, or nothing once none is left
        return cal.add_working_hours(start, float(max(Decimal(0), Decimal(units) / HOUR_UNITS)))

    if stage.limit_days is None:  # «بدون مهلت مصوب»: nothing is due
        assert d.stage_due_at is None and d.stage_risk_at is None
    else:
        assert d.stage_due_at == after(limit - stage_used)
        assert d.stage_risk_at == after(limit - stage_used - limit / 4)
        assert d.stage_risk_at <= d.stage_due_at
    if proc.total_limit_days is None:
        assert d.due_at is None and d.risk_at is None
    else:
        assert d.due_at == after(total - process_used)
        assert d.risk_at == after(total - process_used - total / 4)
        assert d.risk_at <= d.due_at
    if stage.limit_days is not None and limit > stage_used:
        assert cal.working_us_between(start, d.stage_due_at) == (limit - stage_used) * US_PER_UNIT - \
            min(0, cal.working_us_between(start, cal.next_opening(start)))


def test_a_segment_that_outlived_its_limit_is_due_at_its_start():
    start = datetime(2026, 11, 22, 9, 0, tzinfo=TEHRAN)
    proc = PROCESSES["transfer"]
    d = deadlines(CAL, proc, proc.stages[0], start, 8 * HOUR_UNITS, 8 * HOUR_UNITS)
    assert d.stage_due_at == d.stage_risk_at == d.due_at == d.risk_at == start


def test_a_deadline_across_a_holiday_skips_it():
    tue_1400 = datetime(2026, 11, 24, 14, 0, tzinfo=TEHRAN)  # Wednesday the 25th is a holiday
    proc = PROCESSES["new_membership"]  # its initial review: one working day
    d = deadlines(CAL, proc, proc.stages[0], tue_1400, 0, 0)
    # Half an hour on Tuesday, none on the holiday or the weekend, six and a half on Saturday.
    assert d.stage_due_at == datetime(2026, 11, 28, 14, 0, tzinfo=TEHRAN)
    assert d.stage_risk_at == d.stage_due_at - timedelta(hours=1, minutes=45)  # a quarter of 7 h
