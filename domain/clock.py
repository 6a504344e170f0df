"""SLA clock arithmetic of a request, in whole units, on a province's business calendar.

Hours are counted in *units* of 1/10,000 hour, the scale the database stores them at (numeric(10,
4)): integers, so a clock never drifts and the bulk loader needs no Decimal per stage visit.

A request's clock fields (`domain.machine.RequestState`):
- `stage_entered_at` starts the current *segment* of the current stage (entry, or resubmission
  after a return);
- `stage_hours_used` is what the stage used before that segment (non-zero only after a return);
- `process_hours_used` sums the finished segments of clock-running stages;
so every deadline follows from them and the calendar (`deadlines`), and can be recomputed at any
time (after a holiday is added, say). Member stages and returned requests stop both clocks.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from domain.calendar import AT_RISK_FRACTION, US_PER_HOUR, BusinessCalendar, Moment
from domain.processes import Process, Stage

HOUR_UNITS = 10_000                       # units per hour
US_PER_UNIT = US_PER_HOUR // HOUR_UNITS   # 360,000 µs
# An open clock is at risk once less than this share of its limit is left.
_RISK = Fraction(AT_RISK_FRACTION).limit_denominator(1000)
_RISK_NUM, _RISK_DEN = _RISK.numerator, _RISK.denominator


def units_of_us(us: int) -> int:
    """Working microseconds as units, rounded half to even (as Decimal quantize rounds the hours);
    nothing for a negative span."""
    if us <= 0:
        return 0
    units, rest = divmod(us, US_PER_UNIT)
    if 2 * rest > US_PER_UNIT or (2 * rest == US_PER_UNIT and units & 1):
        units += 1
    return units


_DAY_UNITS: dict[tuple[int, int], tuple[int | Fraction | None, int]] = {}


def units_of_days(days: int | Fraction | None, cal: BusinessCalendar) -> int:
    """A limit in working days (half a day for «کمتر از ۱ روز») as units of the calendar's office day;
    nothing for no limit."""
    # A handful of limits and office days: worth remembering. Keyed by the limit's identity (the
    # stages' limits are long-lived objects; hashing a Fraction runs Python code); the entry holds
    # the limit itself, so an id another object takes later is never mistaken for it.
    key = (id(days), cal.day_us)
    entry = _DAY_UNITS.get(key)
    if entry is None or entry[0] is not days:
        entry = _DAY_UNITS[key] = (days, units_of_us(round((days or 0) * cal.day_us)))
    return entry[1]


def units_to_hours(units: int) -> Decimal:
    """Units as the Decimal hours the database stores (four places)."""
    return Decimal(units).scaleb(-4)


def hours_to_units(hours: Decimal | int | float) -> int:
    """Stored hours (numeric(10, 4)) as units."""
    return int((Decimal(str(hours)) * HOUR_UNITS).to_integral_value())


def _risk_us(left: int, limit: int) -> int:
    """Microseconds from the segment's start to its at-risk moment: `left - limit × share`, rounded
    half to even (as `round` of the exact Fraction), in integers."""
    units, rest = divmod((left * _RISK_DEN - limit * _RISK_NUM) * US_PER_UNIT, _RISK_DEN)
    if 2 * rest > _RISK_DEN or (2 * rest == _RISK_DEN and units & 1):
        units += 1
    return units if units > 0 else 0


@dataclass(frozen=True, slots=True)
class Deadlines:
    """None where there is no limit (the stage's, or the process total)."""
    stage_due_at: Moment | None
    stage_risk_at: Moment | None
    due_at: Moment | None
    risk_at: Moment | None


def due(cal: BusinessCalendar, start: Moment, limit: int, used: int) -> Moment:
    """The deadline of a clock that started at `start` with `used` of its `limit` units spent (at
    its start when nothing is left)."""
    left = limit - used
    if type(start) is int:  # wall microseconds (a bulk replay): straight to the tables
        return cal.wall_add(start, left * US_PER_UNIT if left > 0 else 0)
    return cal.add_working_us(start, left * US_PER_UNIT if left > 0 else 0)


def deadlines(cal: BusinessCalendar, proc: Process, stage: Stage, start: Moment, stage_used: int,
              process_used: int) -> Deadlines:
    """The deadlines and at-risk moments of a running segment, from its clock fields alone (None
    for a stage or process without a limit)."""
    add = cal.add_working_us
    stage_due = stage_risk = process_due = process_risk = None
    if stage.limit_days is not None:
        limit = units_of_days(stage.limit_days, cal)
        stage_due, stage_risk = due(cal, start, limit, stage_used), add(start, _risk_us(limit - stage_used, limit))
    if proc.total_limit_days is not None and not stage.outside_total:  # the total waits at such a stage
        total = units_of_days(proc.total_limit_days, cal)
        process_due = due(cal, start, total, process_used)
        process_risk = add(start, _risk_us(total - process_used, total))
    return Deadlines(stage_due, stage_risk, process_due, process_risk)
