"""The calendar page: administrators add and remove closures; others cannot open it."""
from __future__ import annotations

import sqlalchemy as sa

from domain.reference import TEHRAN_ID
from tests.apptest import signed_in, texts
from tests.factories import make_staff


def holiday_names(engine):
    with engine.connect() as c:
        return list(c.scalars(sa.text("SELECT name_fa FROM holiday ORDER BY day")))


def open_page(db_url, username):
    at = signed_in(db_url, username)
    return at.switch_page("pages/holidays.py").run()


def test_provincial_admin_adds_and_removes_a_closure(db_url, db):
    make_staff(db, "t.admin", ["admin"], TEHRAN_ID)
    at = open_page(db_url, "t.admin")
    assert "تقویم کاری و تعطیلات" in texts(at.title)
    at.text_input(key="hol-day").input("۱۴۰۵/۰۹/۱۰")
    at.text_input(key="hol-name").input("تعطیلی اضطراری")
    at.run()
    at.button(key="hol-add").click().run()
    assert not at.exception
    assert holiday_names(db) == ["تعطیلی اضطراری"]
    assert any("تعطیلی ثبت شد" in s for s in texts(at.success))
    at.button(key="hol-remove").click().run()
    assert holiday_names(db) == []


def test_an_impossible_date_shows_a_persian_error_and_adds_nothing(db_url, db):
    make_staff(db, "t.admin", ["admin"], TEHRAN_ID)
    at = open_page(db_url, "t.admin")
    at.text_input(key="hol-day").input("1404/12/30").run()
    assert any("وجود ندارد" in e for e in texts(at.error))
    assert at.button(key="hol-add").disabled
    assert holiday_names(db) == []


def test_office_hours_form_saves(db_url, db):
    make_staff(db, "t.admin", ["admin"], TEHRAN_ID)
    at = open_page(db_url, "t.admin")
    at.multiselect(key="hours-days").unselect(2).run()  # Wednesday off
    at.button(key="hours-save").click().run()
    with db.connect() as c:
        days = c.execute(sa.text("SELECT workdays FROM province_setting WHERE province_id = 8")).scalar()
    assert sorted(days) == [0, 1, 5, 6]


def test_an_expert_cannot_open_the_calendar_page(db_url, db):
    make_staff(db, "t.expert", ["expert"], TEHRAN_ID)
    at = signed_in(db_url, "t.expert")
    import pytest
    with pytest.raises(ValueError):
        at.switch_page("pages/holidays.py")
