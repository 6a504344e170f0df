"""A province's business calendar, read from the database: its working week, office hours and closed
days (national holidays plus the province's own closures)."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from db.models import Holiday, ProvinceSetting
from logic.sla import BusinessCalendar


def calendar_for(session: Session, province_id: int) -> BusinessCalendar:
    setting = session.get(ProvinceSetting, province_id)
    days = session.scalars(
        sa.select(Holiday.day).where(sa.or_(Holiday.province_id.is_(None), Holiday.province_id == province_id))
    ).all()
    if setting is None:
        return BusinessCalendar(holidays=set(days))
    return BusinessCalendar(workdays=set(setting.workdays), opens=setting.opens, closes=setting.closes,
                            holidays=set(days))
