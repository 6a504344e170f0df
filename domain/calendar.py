"""The business calendar behind every SLA clock, and the SLA status rules.

Model
-----
Working time is laid out on one integer axis, the *position*, in microseconds: each working day
contributes exactly one office day (`closes - opens`), everything else (nights, non-working
weekdays, holidays) contributes nothing. A moment's position is the working time from a fixed
epoch (0001-01-01) up to that moment, so

* `working_us_between(a, b)` is `position(b) - position(a)`: exactly antisymmetric, no day loops;
* `add_working_us(start, us)` finds the moment whose position is `position(start) + us`.

Whole working days before a date are counted arithmetically (full weeks plus a remainder, minus
the holidays on working weekdays, found by `bisect`). The calendar also keeps per-day tables, built
lazily a block of days at a time, so that the millions of look-ups a bulk load makes are list
indexing; the tables are filled from the arithmetic, and the tests compare the two.

Moments: naive datetimes are Tehran wall-clock time; aware ones are converted to Asia/Tehran. Office
hours are wall-clock hours, so all arithmetic is on naive Tehran time. *Wall microseconds* (`wall`)
are naive Tehran time counted in microseconds from 2000-01-01 00:00: the integer form of a moment,
for callers that take millions of steps (the demo loader), which the `wall_*` methods take and
which `position`, `add_working_us`, `working_us_between` and `next_opening` accept too. Results
keep the caller's style: naive in, naive out; aware in, aware Asia/Tehran out; int in, int out.
The state machine only hands moments to the calendar and stores them, so it works on either.
"""
from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from enum import Enum
from zoneinfo import ZoneInfo

from domain.errors import ValidationError
from domain.text import to_persian_digits

TEHRAN = ZoneInfo("Asia/Tehran")

# Python weekday numbers (Mon=0 .. Sun=6). Iranian offices: Saturday..Wednesday.
IRAN_WORKDAYS = frozenset({5, 6, 0, 1, 2})
IRAN_OPENS = time(7, 30)
IRAN_CLOSES = time(14, 30)

US_PER_HOUR = 3_600_000_000
US_PER_DAY = 86_400_000_000
_US_PER_SECOND = 1_000_000

WALL_EPOCH = date(2000, 1, 1)
_WALL_EPOCH_ORDINAL = WALL_EPOCH.toordinal()
_WALL_EPOCH_DATETIME = datetime.combine(WALL_EPOCH, time(0))
_ONE_US = timedelta(microseconds=1)
_BLOCK_SHIFT = 9            # tables are built 512 days at a time
_BLOCK_DAYS = 1 << _BLOCK_SHIFT
_BLOCK_MASK = _BLOCK_DAYS - 1


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


def to_wall(moment: datetime) -> int:
    """Wall microseconds of a moment (see the module docstring)."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(TEHRAN).replace(tzinfo=None)
    span = moment - _WALL_EPOCH_DATETIME
    return (span.days * 86_400 + span.seconds) * _US_PER_SECOND + span.microseconds


def from_wall(wall: int) -> datetime:
    """The naive Tehran moment of wall microseconds."""
    return _WALL_EPOCH_DATETIME + _ONE_US * wall


def wall_of_day(day: date) -> int:
    """Wall microseconds of midnight at the start of `day`."""
    return (day.toordinal() - _WALL_EPOCH_ORDINAL) * US_PER_DAY


Moment = datetime | int  # a datetime, or wall microseconds


def tehran_day(moment: Moment) -> date:
    """The day of a moment in Tehran."""
    if type(moment) is int:
        return date.fromordinal(_WALL_EPOCH_ORDINAL + moment // US_PER_DAY)
    return to_tehran_naive(moment).date()


class BusinessCalendar:
    """Office hours, working weekdays and closed dates of one organisation.

    `workdays` are Python weekday numbers (Mon=0 .. Sun=6); `holidays` are closed Gregorian dates.
    A calendar never changes once built (its lazily filled tables only cache what the arithmetic
    gives), so one instance can be shared across threads and sessions.
    """

    # The last wall time asked for and its position (one tuple, replaced whole, so a thread never
    # reads half of another's): a step of a request asks for the same moment two or three times
    # (the segment's end, then the next deadline from it; the next step's segment start).
    _last_position: tuple[int | None, int] = (None, 0)

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
        self.holidays = frozenset(d.date() if isinstance(d, datetime) else d for d in holidays)

        self.opens_us = _time_us(opens)
        self.closes_us = _time_us(closes)
        self.day_us = self.closes_us - self.opens_us
        # Only holidays on working weekdays remove working time; the rest are no-ops.
        self._holiday_ords = tuple(sorted(d.toordinal() for d in self.holidays if d.weekday() in workdays))
        self._holiday_ord_set = frozenset(self._holiday_ords)
        self._weekday_list = tuple(sorted(workdays))
        # _weekday_prefix[r] = working weekdays among Mon..(r-1); ordinal 1 is a Monday.
        self._weekday_prefix = tuple(sum(1 for w in workdays if w < r) for r in range(8))
        # Lazily built tables, by block of wall days: the position at each day's start (one entry
        # more than the block's days), and when each day's office time starts (US_PER_DAY, after
        # every time of the day, on a day that is not a working day).
        self._blocks: dict[int, tuple[list[int], list[int]]] = {}
        # working-day index -> wall time of that working day's opening, for the built blocks
        self._openings: dict[int, int] = {}

    # ----------------------------------------------------------------- factory
    @classmethod
    def iran(cls, years: int | Iterable[int] | None = None, *,
             extra_holidays: Iterable[date] = (), **overrides) -> BusinessCalendar:
        """Calendar with Iran's official holidays from the `holidays` package.

        `years` defaults to five years back through two years ahead of today; dates outside the
        loaded years have no holidays, so load every year an SLA clock may touch. `overrides`
        replace constructor arguments (`workdays`, `opens`, `closes`, or `holidays` to replace the
        official list entirely); `extra_holidays` adds ad-hoc closures to it.
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
        return self.day_us / US_PER_HOUR

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
        return self.opens_us <= _time_us(local.time()) < self.closes_us

    def next_opening(self, moment: Moment) -> Moment:
        """`moment` itself when the office is open, else the next opening time."""
        if type(moment) is int:
            return self.wall_next_opening(moment)
        return _like(from_wall(self.wall_next_opening(to_wall(moment))), moment)

    # -------------------------------------------------------------- arithmetic
    def add_working_days(self, start: datetime, days: float) -> datetime:
        """Deadline `days` office days after `start` (fractions allowed). Same rules as
        `add_working_hours`; `days == 0` returns `start` itself."""
        self._check_amount(days, "تعداد روزهای کاری")
        return self.add_working_hours(start, days * self.day_hours)

    def add_working_hours(self, start: datetime, hours: float) -> datetime:
        """Deadline `hours` of office time after `start`.

        A start in closed time counts from the next opening. A deadline that lands exactly on a
        day boundary is the earlier day's closing time, never the next opening: a task due "end
        of Wednesday" should not look on time all weekend. `hours == 0` returns `start` unchanged
        (only its time zone normalised to Asia/Tehran when aware): no time was granted, so no rule
        should move the moment.
        """
        self._check_amount(hours, "تعداد ساعت‌های کاری")
        # At least 1 µs, so a tiny positive amount never leaves the deadline in closed time.
        return self.add_working_us(start, max(1, round(hours * US_PER_HOUR)) if hours else 0)

    def add_working_us(self, start: Moment, us: int) -> Moment:
        """`add_working_hours` with the amount in whole microseconds (exact); at least 1 µs is
        added when `us` is positive, so a tiny amount never leaves the deadline in closed time."""
        if type(start) is int:
            return self.wall_add(start, us)
        if start.tzinfo is None:  # the common case, without the time-zone round trip
            if us == 0:
                return start
            return _WALL_EPOCH_DATETIME + _ONE_US * self.wall_add(to_wall(start), us)
        if us == 0:
            return _like(to_tehran_naive(start), start)
        return _like(from_wall(self.wall_add(to_wall(start), us)), start)

    def working_hours_between(self, start: datetime, end: datetime) -> float:
        """Office hours from `start` to `end`; negative when `end` is earlier."""
        return self.working_us_between(start, end) / US_PER_HOUR

    def working_us_between(self, start: Moment, end: Moment) -> int:
        """Office microseconds from `start` to `end`; negative when `end` is earlier."""
        if type(start) is int and type(end) is int:  # wall microseconds: no conversion to skip
            # The start first: a replay's segment starts where its last deadline was counted from,
            # and its end is where the next deadline counts from (`_last_position` hits both times).
            before = self.wall_position(start)
            return self.wall_position(end) - before
        return self.position(end) - self.position(start)

    def position(self, moment: Moment) -> int:
        """Working microseconds from the epoch to `moment`: differences of positions are working
        time, and a deadline is a position plus the time allowed."""
        return self.wall_position(moment if type(moment) is int else to_wall(moment))

    def latest_at_position(self, position: int) -> datetime:
        """The latest moment whose position is at most `position` (aware, Tehran). Within office
        hours that is the moment itself; at a day boundary it is the next opening, since all the
        closed time before it has the same position."""
        day_index, offset = divmod(position, self.day_us)
        naive = from_wall(self._opening(day_index) + offset)
        return naive.replace(tzinfo=TEHRAN)

    # ------------------------------------------------------ wall microseconds
    def wall_position(self, wall: int) -> int:
        """The position of a wall time."""
        last = self._last_position
        if last[0] == wall:
            return last[1]
        k, t = divmod(wall, US_PER_DAY)
        block = self._blocks.get(k >> _BLOCK_SHIFT) or self._build_block(k >> _BLOCK_SHIFT)
        i = k & _BLOCK_MASK
        into = t - block[1][i]
        position = block[0][i]
        if into > 0:
            position += into if into < self.day_us else self.day_us
        self._last_position = (wall, position)
        return position

    def wall_add(self, wall: int, us: int) -> int:
        """The wall time `us` working microseconds after `wall` (at least 1 µs when `us` > 0; a
        day boundary is the earlier day's closing time, as in `add_working_hours`)."""
        if us == 0:
            return wall
        return self.wall_at_position(self.wall_position(wall) + (us if us > 1 else 1))

    def wall_at_position(self, position: int) -> int:
        """The wall time of a position (a day boundary is the earlier day's closing time)."""
        day, offset = divmod(position, self.day_us)
        if offset == 0:  # the earlier day's closing time
            day -= 1
            offset = self.day_us
        opening = self._openings.get(day)
        return (self._opening(day) if opening is None else opening) + offset

    def wall_next_opening(self, wall: int) -> int:
        """`wall` itself when the office is open, else the next opening."""
        k, t = divmod(wall, US_PER_DAY)
        if self.wall_is_working(wall):
            if self.opens_us <= t < self.closes_us:
                return wall
            if t < self.opens_us:
                return k * US_PER_DAY + self.opens_us
        # The working days up to and including day k are the index of the next one after it.
        return self._opening(self.wall_position((k + 1) * US_PER_DAY) // self.day_us)

    def wall_is_working(self, wall: int) -> bool:
        """Whether the wall time's day is a working day."""
        k = wall // US_PER_DAY
        block = self._blocks.get(k >> _BLOCK_SHIFT) or self._build_block(k >> _BLOCK_SHIFT)
        return block[1][k & _BLOCK_MASK] != US_PER_DAY

    # ---------------------------------------------------------------- internals
    @staticmethod
    def _check_amount(value: float, what: str) -> None:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValidationError(f"{what} باید عدد باشد.")
        if not math.isfinite(value) or value < 0:
            raise ValidationError(f"{what} نمی‌تواند منفی یا نامتناهی باشد.")

    def _build_block(self, b: int) -> tuple[list[int], list[int]]:
        """Fill the tables of block `b` from the arithmetic."""
        first = _WALL_EPOCH_ORDINAL + (b << _BLOCK_SHIFT)
        index = self._working_days_before(first)
        starts, opens = [], []
        holidays, workdays = self._holiday_ord_set, self.workdays
        openings = self._openings
        for ordinal in range(first, first + _BLOCK_DAYS):
            starts.append(index * self.day_us)
            is_working = (ordinal - 1) % 7 in workdays and ordinal not in holidays  # ordinal 1 is a Monday
            opens.append(self.opens_us if is_working else US_PER_DAY)
            if is_working:
                openings[index] = (ordinal - _WALL_EPOCH_ORDINAL) * US_PER_DAY + self.opens_us
                index += 1
        starts.append(index * self.day_us)
        block = self._blocks[b] = (starts, opens)
        return block

    def _opening(self, index: int) -> int:
        """The wall time at which the `index`-th working day opens."""
        opening = self._openings.get(index)
        if opening is None:
            ordinal = self._working_ordinal(index)
            self._build_block((ordinal - _WALL_EPOCH_ORDINAL) >> _BLOCK_SHIFT)
            opening = (ordinal - _WALL_EPOCH_ORDINAL) * US_PER_DAY + self.opens_us
        return opening

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

        Each holiday up to the candidate pushes it one working weekday later; iterating that from
        below converges on the least fixed point, the first non-holiday candidate. `hint` must not
        be after the answer; it only saves iterations.
        """
        skipped = bisect_left(self._holiday_ords, hint)
        while True:
            candidate = self._plain_ordinal(index + skipped)
            up_to = bisect_right(self._holiday_ords, candidate)
            if up_to == skipped:
                return candidate
            skipped = up_to

    def arithmetic_position(self, moment: datetime) -> int:
        """`position` computed without the tables (what the tables are checked against)."""
        local = to_tehran_naive(moment)
        position = self._working_days_before(local.toordinal()) * self.day_us
        if self.is_working_day(local.date()):
            into_day = _time_us(local.time()) - self.opens_us
            position += min(max(into_day, 0), self.day_us)
        return position

    def whole_working_days_between(self, start: Moment, end: Moment) -> int:
        """Whole office days of working time from `start` to `end`, towards zero (negative when `end`
        is earlier): a part of a day is not a day, so "one day left" means at least a full office day."""
        us = self.working_us_between(start, end)
        return us // self.day_us if us >= 0 else -(-us // self.day_us)

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
    NO_LIMIT = "no_limit"   # a staff stage or process the seed gives no time limit: never late

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
    SlaStatus.NO_LIMIT: "بدون مهلت مصوب",
}


def open_status(cal: BusinessCalendar, now: datetime, due_at: datetime | None,
                limit_hours: float) -> SlaStatus:
    """Status of an item still open at `now`.

    `due_at is None` means the clock is stopped (the item waits on the member). Remaining time is
    measured in working hours, so a deadline right after a long holiday is not flagged as at risk
    during the holiday.
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


def working_days_left_fa(cal: BusinessCalendar, now: datetime, due_at: datetime) -> str:
    """The time to a deadline for people: «۳ روز کاری مانده», «کمتر از یک روز کاری مانده», «۲ روز
    کاری گذشته». Whole office days (see `whole_working_days_between`); past or not is decided by the
    clock, not by working time, so a deadline missed this afternoon reads «کمتر از یک روز کاری
    گذشته» in the evening although no working time has passed since."""
    past = to_tehran_naive(due_at) < to_tehran_naive(now)
    days = abs(cal.whole_working_days_between(now, due_at))
    amount = "کمتر از یک" if days == 0 else to_persian_digits(days)
    return f"{amount} روز کاری {'گذشته' if past else 'مانده'}"
