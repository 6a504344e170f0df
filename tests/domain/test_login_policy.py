"""The login rules' boundaries: when a session ends, how long a username waits, when everyone waits."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from domain.login_policy import global_wait, retry_wait, session_end, throttle_message, user_wait

T0 = datetime(2026, 11, 1, 8, 0, tzinfo=timezone.utc)
MIN = timedelta(minutes=1)


def test_a_session_ends_at_thirty_idle_minutes_or_ten_hours_whichever_comes_first():
    assert session_end(T0 + 30 * MIN - timedelta(seconds=1), T0, T0) is None
    assert session_end(T0 + 30 * MIN, T0, T0) == "idle"
    assert session_end(T0 + 600 * MIN - timedelta(seconds=1), T0, T0 + 580 * MIN) is None
    assert session_end(T0 + 600 * MIN, T0, T0 + 599 * MIN) == "absolute"


def test_the_wait_after_failures_doubles_up_to_a_minute_and_is_forgotten_after_fifteen():
    assert [retry_wait(n).total_seconds() for n in range(0, 9)] == [0, 1, 2, 4, 8, 16, 32, 60, 60]
    assert user_wait(T0 + timedelta(seconds=3), 3, T0) == timedelta(seconds=1)
    assert user_wait(T0 + timedelta(seconds=4), 3, T0) is None
    assert user_wait(T0 + 15 * MIN, 1000, T0) is None


def test_everyone_waits_for_the_rest_of_the_minute_once_its_failures_reach_the_cap():
    assert global_wait(T0 + timedelta(seconds=45), 99, T0, cap=100) is None
    assert global_wait(T0 + timedelta(seconds=45), 100, T0, cap=100) == timedelta(seconds=15)
    assert global_wait(T0 + MIN, 500, T0, cap=100) is None
    assert throttle_message(timedelta(seconds=14.2)).startswith("تلاش‌های ورود بیش از حد مجاز بوده است؛ ۱۵ ثانیهٔ")
