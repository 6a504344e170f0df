"""Reading a province's settings (writes go through the services that own them)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import time

from sqlalchemy.orm import Session

from db.models import ProvinceSetting
from domain.errors import NotFound


@dataclass(frozen=True)
class OfficeHours:
    workdays: list[int]
    opens: time
    closes: time


def office_hours(session: Session, province_id: int) -> OfficeHours:
    setting = session.get(ProvinceSetting, province_id)
    if setting is None:
        raise NotFound("استان پیدا نشد.")
    return OfficeHours(sorted(setting.workdays), setting.opens, setting.closes)
