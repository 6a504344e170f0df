"""What every chunk reads: the period, the provinces' calendars and settings, the staff, the
tariffs and rules, read once by the loader before the chunks are built (forked workers inherit it).
"""
from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import date, datetime

import jdatetime

from demo.files import DemoFile
from domain.actor import Actor
from domain.calendar import US_PER_DAY, WALL_EPOCH, BusinessCalendar
from domain.fees import DiscountRule
from domain.jalali import last_day_of_jalali_year, to_gregorian
from domain.reference import ISFAHAN_ID, TEHRAN_ID

# The demo covers three Jalali years: 1 Farvardin 1403 up to now.
FIRST_JALALI_YEAR = 1403
# Tariff years: every year a member's validity may have ended in (the oldest members joined about
# 35 years ago), so every renewal quote finds its years' fees, through next year.
TARIFF_YEARS = range(1370, 1407)

_WALL_EPOCH_ORDINAL = WALL_EPOCH.toordinal()


def _round10k(amount: float) -> int:
    return max(10_000, int(round(amount / 10_000)) * 10_000)


def tariff_for(pid: int, year: int) -> tuple[int, ...]:
    """(entrance, annual, card, licence issue, licence renewal per year, Article 32 renewal, rating) in Rial.

    The annual fee is about 25,000,000 Rial in Tehran in 1405, rising about 20 % a year (about
    300,000 in 1381); other provinces charge less.
    """
    factor = {TEHRAN_ID: 1.0, ISFAHAN_ID: 0.85, 5: 0.85, 11: 0.8, 17: 0.8}.get(pid, 0.6 + (pid % 5) * 0.03)
    annual = 25_000_000 * factor / 1.2 ** (1405 - year)
    return tuple(_round10k(annual * k) for k in (1.5, 1.0, 0.12, 0.8, 0.4, 0.6, 1.2))


class JalaliYears:
    """Jalali year arithmetic by table lookup: jdatetime is too slow for millions of calls."""

    def __init__(self, first: int = 1300, last: int = 1420) -> None:
        self.first = first
        self.starts = [jdatetime.date(y, 1, 1).togregorian().toordinal() for y in range(first, last + 1)]
        self.ends = {y: to_gregorian(last_day_of_jalali_year(y)) for y in range(first, last)}

    def year_of(self, day: date) -> int:
        return self.first + bisect_right(self.starts, day.toordinal()) - 1

    def start_of(self, year: int) -> date:
        return date.fromordinal(self.starts[year - self.first])


JALALI = JalaliYears()
# Each Jalali year's first midnight as a wall time: a year is one bisect of the wall time itself
# (a midnight is at or before a moment exactly when its day is at or before the moment's day).
_YEAR_STARTS_WALL = [(ordinal - _WALL_EPOCH_ORDINAL) * US_PER_DAY for ordinal in JALALI.starts]
_FIRST_YEAR_BEFORE = JALALI.first - 1


def jalali_year(wall: int) -> int:
    """`JALALI.year_of` the wall time's day."""
    return _FIRST_YEAR_BEFORE + bisect_right(_YEAR_STARTS_WALL, wall)


@dataclass
class Context:
    seed: int
    now: datetime                       # naive Tehran time
    start: datetime                     # 1 Farvardin 1403, 00:00
    n_members: int
    n_requests: int
    n_chunks: int
    calendars: dict[int, BusinessCalendar]               # province -> its calendar (shared when equal)
    finance_required: dict[int, bool]
    pools: dict[tuple[int | None, str], tuple[int, ...]]   # (province, role) -> staff ids
    actors: dict[int, Actor]                               # staff id -> the actor the rules see
    tariffs: dict[tuple[int, int], dict[str, int]]         # (province, year) -> {"id": .., item: fee}
    discounts: tuple[DiscountRule, ...]
    renewal_window: dict[int, int]                         # province -> days before validity ends
    files: dict[str, DemoFile]
    member_documents: bool
    family_share: float
    risk_columns: bool                  # request.stage_risk_at / risk_at exist (migration 0004)
    # What the chunks of one process compute once from the above (fees, facts, paths...): a forked
    # worker builds many chunks and keeps its own copy.
    caches: dict = field(default_factory=dict)

    def cache(self, name: str) -> dict:
        return self.caches.setdefault(name, {})

    @property
    def today(self) -> date:
        return self.now.date()


def chunk_bounds(total: int, chunks: int, c: int) -> tuple[int, int]:
    return total * c // chunks, total * (c + 1) // chunks
