"""The queue's «N روز کاری مانده / گذشته»: whole office days, holidays and weekends left out."""
from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from domain.calendar import BusinessCalendar, working_days_left_fa

TEHRAN = ZoneInfo("Asia/Tehran")
CAL = BusinessCalendar()  # Saturday..Wednesday, 07:30-14:30, no holidays
# 2026-11-28 is a Saturday.
SAT_10 = datetime(2026, 11, 28, 10, 0, tzinfo=TEHRAN)


def test_whole_days_left_count_only_office_time():
    # Sat 10:00 -> Wed 14:30: 4.5 h + four full days = 4 whole days and a part.
    assert working_days_left_fa(CAL, SAT_10, datetime(2026, 12, 2, 14, 30, tzinfo=TEHRAN)) == "۴ روز کاری مانده"
    # Over the weekend (Thursday, Friday) to the next Saturday at noon: 4.5 h + four days + 4.5 h.
    assert working_days_left_fa(CAL, SAT_10, datetime(2026, 12, 5, 12, 0, tzinfo=TEHRAN)) == "۵ روز کاری مانده"


def test_a_holiday_is_not_a_day_left():
    with_holiday = BusinessCalendar(holidays=[date(2026, 11, 30)])
    due = datetime(2026, 12, 2, 14, 30, tzinfo=TEHRAN)
    assert working_days_left_fa(with_holiday, SAT_10, due) == "۳ روز کاری مانده"


def test_part_of_a_day_and_breached_deadlines():
    assert working_days_left_fa(CAL, SAT_10, datetime(2026, 11, 28, 14, 0, tzinfo=TEHRAN)) == \
        "کمتر از یک روز کاری مانده"
    # Missed this morning, seen in the evening: no working time since, yet it is past.
    evening = datetime(2026, 11, 28, 20, 0, tzinfo=TEHRAN)
    assert working_days_left_fa(CAL, evening, SAT_10) == "کمتر از یک روز کاری گذشته"
    # Due last Saturday at 10:00, now Sunday a week later at 11:00: 6 office days and an hour past.
    assert working_days_left_fa(CAL, datetime(2026, 12, 6, 11, 0, tzinfo=TEHRAN), SAT_10) == "۶ روز کاری گذشته"
