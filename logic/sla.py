"""Business calendar behind every SLA clock, plus the SLA status rules.

Model
-----
Working time is laid out on a single integer axis ("position", in microseconds):
each working day contributes exactly one office day (`closes - opens`), and
everything else (nights, non-working weekdays, holidays) contributes nothing.
A moment's position is the working time elapsed from a fixed epoch
(0001-01-01) up to that moment, so

* `working_hours_between(a, b)` is `pos(b) - pos(a)`, which makes it exactly
  antisymmetric and free of per-day loops;
* `add_working_hours(start, h)` is "find the moment whose position is
  `pos(start) + h`", which jumps straight to the target day.

Whole working days before a date are counted arithmetically (full weeks plus a
remainder) minus the holidays that fall on working weekdays, found with
`bisect` in a sorted tuple. Integers throughout avoid float drift; floats only
appear at the API edge (hours and days in, hours out).

Time zones: naive datetimes are Tehran wall-clock time. Aware datetimes are
converted to Asia/Tehran; results keep the caller's style (naive in, naive out;
aware in, aware Asia/Tehran out). Office hours are wall-clock hours, so all
arithmetic is done on naive Tehran wall-clock time.
"""
from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from enum import Enum
from zoneinfo import ZoneInfo

from logic.errors import ValidationError

TEHRAN = ZoneInfo("Asia/Tehran")

# Python weekday numbers (Mon=0 .. Sun=6). Iranian offices: Saturday..Wednesday.
IRAN_WORKDAYS = frozenset({5, 6, 0, 1, 2})
IRAN_OPENS = time(7, 30)
IRAN_CLOSES = time(14, 30)

_US_PER_HOUR = 3_600_000_000
_US_PER_SECOND = 1_000_000


def to_tehran_naive(moment: datetime) -> datetime:
    """Tehran wall-clock time of `moment` (naive input is already Tehran time)."""
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(TEHRAN).replace(tzinfo=None)


def _like(result: datetime, original: datetime) -> datetime:
    """Give `result` (naive Tehran) the same naive/aware style as `original`."""
    return result if original.tzinfo is None else result.replace(tzinfo=TEHRAN)


def _time_us(t: time) -> int:
    return ((t.hour * 60 + t.minute) * 60 + t.second) * _US_PER_SECOND + t.microsecond


class BusinessCalendar:
    """Office hours, working weekdays and closed dates of one organisation.

    `workdays` are Python weekday numbers (Mon=0 .. Sun=6); `holidays` are
    closed Gregorian dates. The calendar is immutable once built, so it is
    safe to share one instance across threads and sessions.
    """

    def __init__(
        self,
        workdays: Iterable[int] = IRAN_WORKDAYS,
        opens: time = IRAN_OPENS,
        closes: time = IRAN_CLOSES,
        holidays: Iterable[date] = (),
    ) -> None:
        workdays = frozenset(workdays)
        if not workdays or not workdays <= set(range(7)):
            raise ValidationError("روزهای کاری باید زیرمجموعه‌ای ناتهی از روزهای هفته (۰ تا ۶) باشند.")
        if opens.tzinfo is not None or closes.tzinfo is not None:
            raise ValidationError("ساعت شروع و پایان کار باید بدون منطقهٔ زمانی (به وقت تهران) باشند.")
        if not opens < closes:
            raise ValidationError("ساعت شروع کار باید پیش از ساعت پایان کار باشد.")

        self.workdays = workdays
        self.opens = opens
        self.closes = closes
        # datetime is a subclass of date; normalise so membership tests are by day.
        self.holidays = frozenset(
            d.date() if isinstance(d, datetime) else d for d in holidays
        )

        self._open_us = _time_us(opens)
        self._close_us = _time_us(closes)
        self._day_us = self._close_us - self._open_us
        # Only holidays on working weekdays remove working time; the rest are no-ops.
        self._holiday_ords = tuple(
            sorted(d.toordinal() for d in self.holidays if d.weekday() in workdays)
        )
        self._holiday_ord_set = frozenset(self._holiday_ords)
        self._weekday_list = tuple(sorted(workdays))
        # _weekday_prefix[r] = working weekdays among Mon..(r-1); ordinal 1 is a Monday.
        self._weekday_prefix = tuple(
            sum(1 for w in workdays if w < r) for r in range(8)
        )

    # ----------------------------------------------------------------- factory
    @classmethod
    def iran(cls, years: int | Iterable[int] | None = None, *,
             extra_holidays: Iterable[date] = (), **overrides) -> "BusinessCalendar":
        """Calendar with Iran's official holidays from the `holidays` package.

        `years` defaults to five years back through two years ahead of today;
        dates outside the loaded years have no holidays, so load every year an
        SLA clock may touch. `overrides` replace constructor arguments
        (`workdays`, `opens`, `closes`, or `holidays` to replace the official
        list entirely); `extra_holidays` adds ad-hoc closures to it.
        """
        import holidays as holidays_pkg  # imported lazily: only this factory needs it

        if years is None:
            this_year = date.today().year
            years = range(this_year - 5, this_year + 3)
        elif isinstance(years, int):
            years = [years]
        else:
            years = list(years)
        if "holidays" not in overrides:
            official = holidays_pkg.country_holidays("IR", years=years, language="fa_IR")
            overrides["holidays"] = set(official)
        overrides["holidays"] = set(overrides["holidays"]) | set(extra_holidays)
        return cls(**overrides)

    # -------------------------------------------------------------- properties
    @property
    def day_hours(self) -> float:
        """Length of one office day in hours (`closes - opens`)."""
        return self._day_us / _US_PER_HOUR

    def is_working_day(self, day: date) -> bool:
        """True for a working weekday that is not a holiday."""
        if isinstance(day, datetime):
            day = to_tehran_naive(day).date()
        return day.weekday() in self.workdays and day.toordinal() not in self._holiday_ord_set

    def is_open(self, moment: datetime) -> bool:
        """True from `opens` (inclusive) to `closes` (exclusive) on a working day."""
        local = to_tehran_naive(moment)
        if not self.is_working_day(local.date()):
            return False
        return self._open_us <= _time_us(local.time()) < self._close_us

    def next_opening(self, moment: datetime) -> datetime:
        """`moment` itself when the office is open, else the next opening time."""
        local = to_tehran_naive(moment)
        if self.is_open(local):
            return _like(local, moment)
        day = local.date()
        if not (self.is_working_day(day) and _time_us(local.time()) < self._open_us):
            # Working days up to and including `day` is the index of the next one after it.
            ordinal = day.toordinal()
            day = date.fromordinal(self._working_ordinal(self._working_days_before(ordinal + 1), ordinal))
        return _like(datetime.combine(day, self.opens), moment)

    # -------------------------------------------------------------- arithmetic
    def add_working_days(self, start: datetime, days: float) -> datetime:
        """Deadline `days` office days after `start` (fractions allowed).

        Same rules as `add_working_hours`; `days == 0` returns `start` itself.
        """
        self._check_amount(days, "تعداد روزهای کاری")
        return self.add_working_hours(start, days * self.day_hours)

    def add_working_hours(self, start: datetime, hours: float) -> datetime:
        """Deadline `hours` of office time after `start`.

        A start in closed time counts from the next opening. A deadline that
        lands exactly on a day boundary is the earlier day's closing time,
        never the next opening: a task due "end of Wednesday" should not look
        on time all weekend. `hours == 0` returns `start` unchanged (only its
        time zone normalised to Asia/Tehran when aware): no time was granted,
        so no rule should move the moment.
        """
        self._check_amount(hours, "تعداد ساعت‌های کاری")
        local = to_tehran_naive(start)
        if hours == 0:
            return _like(local, start)
        # At least 1 µs, so a tiny positive amount never leaves the deadline in closed time.
        delta = max(1, round(hours * _US_PER_HOUR))
        target = self._position(local) + delta
        day_index, offset = divmod(target, self._day_us)
        if offset == 0:  # boundary: belongs to the earlier day's closing
            day_index -= 1
            offset = self._day_us
        ordinal = self._working_ordinal(day_index, local.toordinal())
        result = datetime.fromordinal(ordinal) + timedelta(microseconds=self._open_us + offset)
        return _like(result, start)

    def working_hours_between(self, start: datetime, end: datetime) -> float:
        """Office hours from `start` to `end`; negative when `end` is earlier."""
        diff = self._position(to_tehran_naive(end)) - self._position(to_tehran_naive(start))
        return diff / _US_PER_HOUR

    # ---------------------------------------------------------------- internals
    @staticmethod
    def _check_amount(value: float, what: str) -> None:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValidationError(f"{what} باید عدد باشد.")
        if not math.isfinite(value) or value < 0:
            raise ValidationError(f"{what} نمی‌تواند منفی یا نامتناهی باشد.")

    def _plain_before(self, ordinal: int) -> int:
        """Working weekdays (ignoring holidays) with ordinal in [1, ordinal)."""
        weeks, rest = divmod(ordinal - 1, 7)
        return weeks * len(self._weekday_list) + self._weekday_prefix[rest]

    def _plain_ordinal(self, index: int) -> int:
        """Ordinal of the `index`-th (0-based) working weekday, ignoring holidays."""
        weeks, rest = divmod(index, len(self._weekday_list))
        return 1 + weeks * 7 + self._weekday_list[rest]

    def _working_days_before(self, ordinal: int) -> int:
        """Working days (holidays excluded) with ordinal in [1, ordinal)."""
        return self._plain_before(ordinal) - bisect_left(self._holiday_ords, ordinal)

    def _working_ordinal(self, index: int, hint: int = 1) -> int:
        """Ordinal of the `index`-th (0-based) working day.

        Each holiday up to the candidate pushes it one working weekday later;
        iterating that from below converges on the least fixed point, which is
        the first non-holiday candidate. `hint` must not be after the answer;
        it only saves iterations.
        """
        skipped = bisect_left(self._holiday_ords, hint)
        while True:
            candidate = self._plain_ordinal(index + skipped)
            up_to = bisect_right(self._holiday_ords, candidate)
            if up_to == skipped:
                return candidate
            skipped = up_to

    def _position(self, local: datetime) -> int:
        """Working microseconds from the epoch to naive Tehran time `local`."""
        ordinal = local.toordinal()
        position = self._working_days_before(ordinal) * self._day_us
        if self.is_working_day(local.date()):
            into_day = _time_us(local.time()) - self._open_us
            position += min(max(into_day, 0), self._day_us)
        return position

    def __repr__(self) -> str:
        return (f"BusinessCalendar(workdays={sorted(self.workdays)}, opens={self.opens}, "
                f"closes={self.closes}, holidays=<{len(self.holidays)} dates>)")


# ------------------------------------------------------------------- SLA status
AT_RISK_FRACTION = 0.25
"""An open item is at risk once less than this share of its limit remains."""


class SlaStatus(str, Enum):
    ON_TIME = "on_time"
    AT_RISK = "at_risk"
    BREACHED = "breached"
    MET = "met"
    MISSED = "missed"
    PAUSED = "paused"

    @property
    def label_fa(self) -> str:
        return SLA_LABELS_FA[self]


SLA_LABELS_FA: dict[SlaStatus, str] = {
    SlaStatus.ON_TIME: "در مهلت",
    SlaStatus.AT_RISK: "در آستانهٔ تأخیر",
    SlaStatus.BREACHED: "تأخیر",
    SlaStatus.MET: "در مهلت انجام شد",
    SlaStatus.MISSED: "با تأخیر انجام شد",
    SlaStatus.PAUSED: "متوقف (نزد عضو)",
}


def open_status(cal: BusinessCalendar, now: datetime, due_at: datetime | None,
                limit_hours: float) -> SlaStatus:
    """Status of an item still open at `now`.

    `due_at is None` means the clock is stopped (the item waits on the member).
    Remaining time is measured in working hours, so a deadline right after a
    long holiday is not flagged as at risk during the holiday.
    """
    if due_at is None:
        return SlaStatus.PAUSED
    if to_tehran_naive(now) > to_tehran_naive(due_at):
        return SlaStatus.BREACHED
    if cal.working_hours_between(now, due_at) < AT_RISK_FRACTION * limit_hours:
        return SlaStatus.AT_RISK
    return SlaStatus.ON_TIME


def closed_status(closed_at: datetime, due_at: datetime | None) -> SlaStatus:
    """Status of a finished item: met unless it closed after its deadline."""
    if due_at is None or to_tehran_naive(closed_at) <= to_tehran_naive(due_at):
        return SlaStatus.MET
    return SlaStatus.MISSED
