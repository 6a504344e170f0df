"""The login and session rules: lockout, throttles, timeouts, and the messages a person sees.

Every refusal of a login form says the same thing (`LOGIN_REFUSED`), whether the username is unknown,
the password wrong, or the account locked or deactivated, so the form cannot be used to learn which
usernames exist. Only the throttle has its own message: it depends on the typed username alone, never
on whether that account exists."""
from __future__ import annotations

from datetime import datetime, timedelta

from domain.text import to_persian_digits

MAX_FAILED_LOGINS = 5                 # consecutive failures that lock an account
LOCK_TIME = timedelta(minutes=15)
# Per typed username: after the n-th failure within USER_FAILURE_MEMORY, the next attempt must wait
# 2^(n-1) seconds (1, 2, 4, ... at most MAX_RETRY_WAIT).
USER_FAILURE_MEMORY = timedelta(minutes=15)
MAX_RETRY_WAIT = timedelta(seconds=60)
# All usernames together: at most this many failed logins per minute (LOGIN_FAILURES_PER_MINUTE).
GLOBAL_FAILURES_PER_MINUTE = 100
GLOBAL_WINDOW = timedelta(minutes=1)

IDLE_TIMEOUT = timedelta(minutes=30)
ABSOLUTE_TIMEOUT = timedelta(hours=10)

LOGIN_REFUSED = (f"ورود انجام نشد: نام کاربری یا گذرواژه نادرست است، یا حساب غیرفعال است یا پس از "
                 f"{to_persian_digits(MAX_FAILED_LOGINS)} تلاش نادرست پیاپی برای "
                 f"{to_persian_digits(int(LOCK_TIME.total_seconds() // 60))} دقیقه قفل شده است.")
SESSION_ENDED_FA = {
    "idle": (f"نشست شما پس از {to_persian_digits(int(IDLE_TIMEOUT.total_seconds() // 60))} دقیقه "
             "بی‌کاری پایان یافت؛ دوباره وارد شوید."),
    "absolute": (f"نشست شما پس از {to_persian_digits(int(ABSOLUTE_TIMEOUT.total_seconds() // 3600))} ساعت "
                 "پایان یافت؛ دوباره وارد شوید."),
}


def throttle_message(wait: timedelta) -> str:
    seconds = max(1, int(-(-wait.total_seconds() // 1)))  # round up: never invite a too-early retry
    return f"تلاش‌های ورود بیش از حد مجاز بوده است؛ {to_persian_digits(seconds)} ثانیهٔ دیگر دوباره تلاش کنید."


def retry_wait(failures: int) -> timedelta:
    """How long a typed username must wait after its `failures`-th recent failure."""
    if failures <= 0:
        return timedelta(0)
    return min(timedelta(seconds=2 ** min(failures - 1, 16)), MAX_RETRY_WAIT)


def user_wait(now: datetime, failures: int, last_failed_at: datetime | None) -> timedelta | None:
    """How long the next attempt with this typed username must still wait, or None."""
    if last_failed_at is None or now - last_failed_at >= USER_FAILURE_MEMORY:
        return None
    wait = last_failed_at + retry_wait(failures) - now
    return wait if wait > timedelta(0) else None


def global_wait(now: datetime, failures: int, window_started_at: datetime | None,
                cap: int = GLOBAL_FAILURES_PER_MINUTE) -> timedelta | None:
    """How long every login must still wait because this minute's failures reached the cap, or None."""
    if window_started_at is None or failures < cap or now - window_started_at >= GLOBAL_WINDOW:
        return None
    return window_started_at + GLOBAL_WINDOW - now


def session_end(now: datetime, issued_at: datetime, last_seen_at: datetime) -> str | None:
    """Why a session is over ("absolute", "idle"), or None while it is valid."""
    if now - issued_at >= ABSOLUTE_TIMEOUT:
        return "absolute"
    if now - last_seen_at >= IDLE_TIMEOUT:
        return "idle"
    return None
