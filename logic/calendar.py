"""Provinces' business calendars, read from the database: the working week, office hours and closed
days (national holidays plus the province's own closures) of each."""
from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Sequence
from datetime import date, time

import sqlalchemy as sa
from sqlalchemy.orm import Session

from db.models import Holiday, ProvinceSetting
from domain.calendar import IRAN_CLOSES, IRAN_OPENS, IRAN_WORKDAYS, BusinessCalendar


@functools.lru_cache(maxsize=64)
def _calendar(workdays: frozenset[int], opens: time, closes: time, holidays: frozenset[date]) -> BusinessCalendar:
    # A calendar never changes once built, so provinces and requests with the same settings share
    # one, and its look-up tables are built once per process.
    return BusinessCalendar(workdays=workdays, opens=opens, closes=closes, holidays=holidays)


def _of(setting: ProvinceSetting | None, days: frozenset[date]) -> BusinessCalendar:
    """The calendar of a province's setting (the national default without one) and closed days."""
    if setting is None:
        return _calendar(IRAN_WORKDAYS, IRAN_OPENS, IRAN_CLOSES, days)
    return _calendar(frozenset(setting.workdays), setting.opens, setting.closes, days)


def calendars_for(session: Session, provinces: Sequence[int]) -> dict[int, BusinessCalendar]:
    """Each province's calendar, in two queries."""
    settings = {s.province_id: s for s in session.scalars(
        sa.select(ProvinceSetting).where(ProvinceSetting.province_id.in_(provinces)))}
    closed: dict[int | None, set[date]] = defaultdict(set)
    for day, pid in session.execute(sa.select(Holiday.day, Holiday.province_id).where(
            sa.or_(Holiday.province_id.is_(None), Holiday.province_id.in_(provinces)))):
        closed[pid].add(day)
    return {pid: _of(settings.get(pid), frozenset(closed[None] | closed[pid])) for pid in provinces}


def calendar_for(session: Session, province_id: int) -> BusinessCalendar:
    """One province's calendar (what every service reads, so in the simplest two queries)."""
    days = frozenset(session.scalars(sa.select(Holiday.day).where(
        sa.or_(Holiday.province_id.is_(None), Holiday.province_id == province_id))))
    return _of(session.get(ProvinceSetting, province_id), days)
