"""Where a report page's numbers were read: «به‌روز تا …» under a read from the standby, a notice
when a configured standby could not serve it and the primary did, nothing without a standby."""
from __future__ import annotations

import streamlit as st

from db import read_replica as rr
from domain.calendar import to_tehran_naive
from domain.jalali import format_jalali_date
from domain.text import format_number, to_persian_digits

_REASONS_FA = {
    rr.DOWN: "نسخهٔ فقط‌خواندنی پایگاه داده در دسترس نیست",
    rr.FAILED: "خواندن از نسخهٔ فقط‌خواندنی پایگاه داده ناتمام ماند",
    rr.NOT_STANDBY: "نشانی نسخهٔ فقط‌خواندنی به نسخه‌ای در حال همگام‌سازی اشاره نمی‌کند",
    rr.NEEDS_PRIMARY: "شاخص‌ها در نسخهٔ فقط‌خواندنی هنوز بازسازی نشده‌اند",
}


def moment_fa(value) -> str:
    """A Jalali date and time to the second, in Tehran, with Persian digits (۱۴۰۵/۰۹/۱۱ ۱۴:۲۵:۰۳)."""
    local = to_tehran_naive(value)
    return f"{format_jalali_date(local)} {to_persian_digits(f'{local:%H:%M:%S}')}"


def text(fresh: rr.Freshness) -> str | None:
    """The sentence for `fresh`, or None when there is nothing to say (no standby configured)."""
    if not fresh.configured:
        return None
    if fresh.on_standby:
        return f"خوانده‌شده از نسخهٔ فقط‌خواندنی پایگاه داده؛ به‌روز تا {moment_fa(fresh.as_of)}."
    if fresh.fallback == rr.LAGGING and fresh.lag_seconds is None:
        reason = "نسخهٔ فقط‌خواندنی پایگاه داده هنوز همگام نشده است"
    elif fresh.fallback == rr.LAGGING:
        reason = (f"نسخهٔ فقط‌خواندنی پایگاه داده {format_number(round(fresh.lag_seconds))} ثانیه از پایگاه "
                  f"دادهٔ اصلی عقب است (بیش از {format_number(round(fresh.max_lag_seconds))} ثانیهٔ مجاز)")
    else:
        reason = _REASONS_FA.get(fresh.fallback, _REASONS_FA[rr.DOWN])
    return f"{reason}؛ این اعداد از پایگاه دادهٔ اصلی خوانده شد و کاملاً به‌روز است."


def caption(fresh: rr.Freshness) -> None:
    """The freshness caption, or the fallback notice."""
    message = text(fresh)
    if message is None:
        return
    if fresh.on_standby:
        st.caption(message)
    else:
        st.warning(message, icon=":material/database:")
