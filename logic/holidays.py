"""Closed days and office hours, kept by administrators. Every change recomputes the stored due
times of the open requests it can affect, and is audited, in one transaction."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time

import holidays as holidays_lib
import jdatetime
import sqlalchemy as sa
from sqlalchemy.orm import Session

from db.engine import session_scope
from db.models import Holiday, ProvinceSetting, Request
from domain.actor import Actor
from domain.errors import Conflict, NotFound, PermissionDenied, ValidationError
from domain.jalali import TEHRAN, parse_jalali_date, to_gregorian
from domain.roles import Role
from domain.text import clean_reason, tidy_title
from domain.text import to_persian_digits as fa
from logic.audit import record
from logic.calendar import calendar_for
from logic.scope import province_clause
from logic.workflow import recompute_due_times


def official_holidays(gregorian_years: Iterable[int]) -> list[tuple[date, str]]:
    """Iran's official holidays, with Persian names, from the `holidays` package. Its names carry Latin
    digits («قیام 15 خرداد») and join two occasions with «; », so they are tidied as they come in."""
    days = holidays_lib.country_holidays("IR", years=list(gregorian_years), language="fa_IR")
    return sorted((day, tidy_title(name)) for day, name in days.items())


def _require_admin(actor: Actor, province_id: int | None) -> None:
    if not actor.has(Role.ADMIN):
        raise PermissionDenied("تغییر تقویم کاری فقط برای مدیر سامانه ممکن است.")
    if actor.province_id is not None and province_id != actor.province_id:
        raise PermissionDenied("مدیر سامانهٔ استان فقط تعطیلی‌های استان خود را تغییر می‌دهد.")


def _affected_provinces(s: Session, province_id: int | None) -> list[int]:
    if province_id is not None:
        return [province_id]
    return list(s.scalars(sa.select(ProvinceSetting.province_id)))


def _recompute(s: Session, province_ids: list[int], since: datetime) -> int:
    """Recompute the due times of running requests whose clock may pass `since` or later."""
    changed = 0
    for pid in province_ids:
        cal = calendar_for(s, pid)
        reqs = s.scalars(
            sa.select(Request).where(Request.province_id == pid, Request.status == "open",
                                     sa.or_(Request.due_at >= since, Request.stage_due_at >= since))
            .with_for_update()
        )
        changed += sum(recompute_due_times(s, req, cal) for req in reqs)
    return changed


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time(0), TEHRAN)


def _as_date(day: date | str | jdatetime.date) -> date:
    if isinstance(day, str):
        return to_gregorian(parse_jalali_date(day))
    if isinstance(day, jdatetime.date):
        return to_gregorian(day)
    return day


@dataclass(frozen=True)
class CalendarChange:
    holidays: int
    recomputed: int
    message: str


def add_closure(engine: sa.Engine, actor: Actor, day: date | str, name: str, *,
                province_id: int | None = None) -> CalendarChange:
    """Add a closed day (an unplanned shutdown, a provincial holiday)."""
    _require_admin(actor, province_id)
    day = _as_date(day)
    name = clean_reason(name, max_len=200, field="عنوان تعطیلی")
    with session_scope(engine) as s:
        clash = s.scalar(sa.select(Holiday.id).where(
            Holiday.day == day, sa.or_(Holiday.province_id.is_(None), Holiday.province_id == province_id)))
        if clash:
            raise Conflict("این روز پیش‌تر تعطیل ثبت شده است.")
        h = Holiday(day=day, province_id=province_id, name_fa=name, source="manual")
        s.add(h)
        s.flush()
        n = _recompute(s, _affected_provinces(s, province_id), _day_start(day))
        record(s, actor, "holiday_added", "holiday", h.id, province_id=province_id,
               data={"day": day.isoformat(), "name": name, "recomputed": n})
        provinces = _affected_provinces(s, province_id)
        working = s.scalar(sa.select(sa.func.count()).select_from(ProvinceSetting).where(
            ProvinceSetting.province_id.in_(provinces), ProvinceSetting.workdays.any(day.weekday())))
    if not working:  # a day the weekly schedule already closes: nothing moves, and the admin should know
        return CalendarChange(1, n, "تعطیلی ثبت شد؛ این روز در برنامهٔ هفتگی "
                                    f"{'این استان' if province_id else 'استان‌ها'} از پیش تعطیل است و مهلتی تغییر نکرد.")
    return CalendarChange(1, n, f"تعطیلی ثبت شد و مهلت {fa(n)} درخواست باز دوباره محاسبه شد.")


def remove_closure(engine: sa.Engine, actor: Actor, holiday_id: int) -> CalendarChange:
    with session_scope(engine) as s:
        h = s.get(Holiday, holiday_id)
        if h is None:
            raise NotFound("این تعطیلی پیدا نشد.")
        _require_admin(actor, h.province_id)
        day, pid, name = h.day, h.province_id, h.name_fa
        s.delete(h)
        s.flush()
        n = _recompute(s, _affected_provinces(s, pid), _day_start(day))
        record(s, actor, "holiday_removed", "holiday", holiday_id, province_id=pid,
               data={"day": day.isoformat(), "name": name, "recomputed": n})
    return CalendarChange(1, n, f"تعطیلی حذف شد و مهلت {fa(n)} درخواست باز دوباره محاسبه شد.")


def load_official_holidays(engine: sa.Engine, actor: Actor | None, gregorian_years: Iterable[int]) -> CalendarChange:
    """Insert the official holidays of these years that are not in the table yet. `actor` None: setup."""
    if actor is not None:
        _require_admin(actor, None)
    years = sorted(set(gregorian_years))
    with session_scope(engine) as s:
        have = set(s.scalars(sa.select(Holiday.day).where(Holiday.province_id.is_(None))))
        new = [(d, n) for d, n in official_holidays(years) if d not in have]
        s.add_all(Holiday(day=d, province_id=None, name_fa=n, source="official") for d, n in new)
        s.flush()
        n = _recompute(s, _affected_provinces(s, None), _day_start(new[0][0])) if new else 0
        record(s, actor, "official_holidays_loaded", "holiday", None,
               data={"years": years, "added": len(new), "recomputed": n})
    return CalendarChange(len(new), n, f"{fa(len(new))} تعطیلی رسمی افزوده شد.")


def update_office_hours(engine: sa.Engine, actor: Actor, province_id: int, *, workdays: Iterable[int],
                        opens: time, closes: time) -> CalendarChange:
    _require_admin(actor, province_id)
    workdays = sorted(set(workdays))
    if not workdays or any(d not in range(7) for d in workdays):
        raise ValidationError("دست‌کم یک روز کاری باید انتخاب شود.")
    if opens >= closes:
        raise ValidationError("ساعت شروع کار باید پیش از ساعت پایان کار باشد.")
    with session_scope(engine) as s:
        setting = s.get(ProvinceSetting, province_id, with_for_update=True)
        if setting is None:
            raise NotFound("استان پیدا نشد.")
        before = {"workdays": list(setting.workdays), "opens": str(setting.opens), "closes": str(setting.closes)}
        setting.workdays, setting.opens, setting.closes = workdays, opens, closes
        s.flush()
        n = _recompute(s, [province_id], datetime(1970, 1, 1, tzinfo=TEHRAN))
        record(s, actor, "office_hours_changed", "province_setting", province_id, province_id=province_id,
               data={"before": before, "after": {"workdays": workdays, "opens": str(opens), "closes": str(closes)},
                     "recomputed": n})
    return CalendarChange(0, n, f"روزها و ساعات کاری به‌روز شد و مهلت {fa(n)} درخواست باز دوباره محاسبه شد.")


@dataclass(frozen=True)
class HolidayRow:
    id: int
    day: date
    name_fa: str
    province_id: int | None
    source: str


def list_holidays(session: Session, actor: Actor, jalali_year: int) -> list[HolidayRow]:
    start = to_gregorian(jdatetime.date(jalali_year, 1, 1))
    end = to_gregorian(jdatetime.date(jalali_year + 1, 1, 1))
    # National days, and the closures of the provinces the actor may see: the central administrator
    # adds a province's closure, so they must also see it to remove it.
    scope = sa.or_(Holiday.province_id.is_(None), province_clause(actor, Holiday.province_id))
    rows = session.execute(sa.select(Holiday.id, Holiday.day, Holiday.name_fa, Holiday.province_id, Holiday.source)
                           .where(scope, Holiday.day >= start, Holiday.day < end).order_by(Holiday.day)).all()
    # Rows loaded before names were tidied at import are shown tidied too.
    return [HolidayRow(r.id, r.day, tidy_title(r.name_fa), r.province_id, r.source) for r in rows]


