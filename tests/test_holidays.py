"""Closed days in the database: adding or removing one moves the deadlines of open requests, and
the change is audited."""
from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
import sqlalchemy as sa

from domain.errors import Conflict, PermissionDenied, ValidationError
from domain.jalali import TEHRAN
from domain.reference import ISFAHAN_ID, TEHRAN_ID
from logic import holidays as hol
from tests.factories import file_request, make_member, make_staff

SAT_0800 = datetime(2026, 11, 21, 8, 0, tzinfo=TEHRAN)


def due(engine, rid):
    with engine.connect() as c:
        return c.execute(sa.text("SELECT stage_due_at, due_at FROM request WHERE id = :i"), {"i": rid}).one()


def scalar(engine, sql):
    with engine.connect() as c:
        return c.execute(sa.text(sql)).scalar()


def audit(engine):
    with engine.connect() as c:
        return c.execute(sa.text("SELECT action, actor_id, data FROM audit_event ORDER BY id")).all()


@pytest.fixture
def admins(db):
    return {
        "central": make_staff(db, "admin", ["admin"], None),
        "tehran": make_staff(db, "t.admin", ["admin"], TEHRAN_ID),
        "expert": make_staff(db, "t.expert", ["expert"], TEHRAN_ID),
    }


def test_an_unplanned_closure_pushes_open_deadlines_and_removing_it_restores_them(db, admins):
    rid = file_request(db, make_member(db, TEHRAN_ID), "new_membership", submitted_at=SAT_0800).request_id
    other = file_request(db, make_member(db, ISFAHAN_ID), "new_membership", submitted_at=SAT_0800).request_id
    before, before_other = due(db, rid), due(db, other)
    assert before.stage_due_at == datetime(2026, 11, 22, 8, 0, tzinfo=TEHRAN)  # Sunday
    change = hol.add_closure(db, admins["tehran"], "۱۴۰۵/۰۹/۰۱", "تعطیلی اضطراری آلودگی هوا", province_id=TEHRAN_ID)
    assert change.recomputed == 1
    after = due(db, rid)
    assert after.stage_due_at == datetime(2026, 11, 23, 8, 0, tzinfo=TEHRAN)  # Sunday was closed: Monday
    assert after.due_at == before.due_at + timedelta(days=1)
    assert due(db, other) == before_other  # Isfahan's calendar did not change
    row = audit(db)[-1]
    assert row.action == "holiday_added" and row.actor_id == admins["tehran"].id and row.data["recomputed"] == 1
    hid = scalar(db, "SELECT id FROM holiday")
    hol.remove_closure(db, admins["tehran"], hid)
    assert due(db, rid) == before
    assert audit(db)[-1].action == "holiday_removed"


def test_calendar_changes_are_for_administrators_of_their_own_scope(db, admins):
    with pytest.raises(PermissionDenied):
        hol.add_closure(db, admins["expert"], "1405/09/01", "تعطیلی", province_id=TEHRAN_ID)
    with pytest.raises(PermissionDenied):
        hol.add_closure(db, admins["tehran"], "1405/09/01", "تعطیلی", province_id=None)
    with pytest.raises(PermissionDenied):
        hol.add_closure(db, admins["tehran"], "1405/09/01", "تعطیلی", province_id=ISFAHAN_ID)
    hol.add_closure(db, admins["central"], "1405/09/01", "تعطیلی سراسری")
    with pytest.raises(Conflict):
        hol.add_closure(db, admins["tehran"], "1405/09/01", "دوباره", province_id=TEHRAN_ID)


@pytest.mark.parametrize("bad_day", ["1404/12/30", "1405/13/01", "فردا", ""])
def test_an_impossible_date_changes_nothing(db, admins, bad_day):
    with pytest.raises(ValidationError):
        hol.add_closure(db, admins["central"], bad_day, "تعطیلی")
    assert scalar(db, "SELECT count(*) FROM holiday") == 0
    assert audit(db) == []


def test_official_holidays_load_once_with_persian_names(db, admins):
    first = hol.load_official_holidays(db, admins["central"], [2026])
    assert first.holidays >= 20
    again = hol.load_official_holidays(db, admins["central"], [2026])
    assert again.holidays == 0
    with db.connect() as c:
        nowruz = c.execute(sa.text("SELECT name_fa FROM holiday WHERE day = '2026-03-21'")).scalar()
    assert nowruz and "نوروز" in nowruz


def test_changing_the_working_week_recomputes_deadlines(db, admins):
    rid = file_request(db, make_member(db, TEHRAN_ID), "new_membership", submitted_at=SAT_0800).request_id
    hol.update_office_hours(db, admins["tehran"], TEHRAN_ID, workdays={5, 6, 0, 1, 2},
                            opens=time(8, 0), closes=time(14, 0))
    # A one-day stage is now six hours, counted from Saturday 08:00.
    assert due(db, rid).stage_due_at == datetime(2026, 11, 21, 14, 0, tzinfo=TEHRAN)
    with pytest.raises(ValidationError):
        hol.update_office_hours(db, admins["tehran"], TEHRAN_ID, workdays=set(), opens=time(8), closes=time(14))
    with pytest.raises(ValidationError):
        hol.update_office_hours(db, admins["tehran"], TEHRAN_ID, workdays={5}, opens=time(15), closes=time(14))


def test_a_closure_on_a_day_the_week_already_closes_says_so(db, admins):
    # 1405/09/06 is a Friday: Tehran's week (Saturday to Wednesday) is closed that day anyway.
    change = hol.add_closure(db, admins["tehran"], "1405/09/06", "تعطیلی", province_id=TEHRAN_ID)
    assert "از پیش تعطیل" in change.message and change.recomputed == 0
    change = hol.add_closure(db, admins["tehran"], "1405/09/08", "تعطیلی", province_id=TEHRAN_ID)  # Sunday
    assert "از پیش تعطیل" not in change.message
