"""The tariffs page: administrators and finance edit their province's tariffs (Persian digits and
separators accepted, bad amounts refused in Persian); a used tariff needs a reason; experts cannot
open it; the central administrator keeps the discount rules."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from domain.jalali import now_tehran, to_jalali
from domain.reference import ISFAHAN_ID, TEHRAN_ID
from logic import fees
from tests.apptest import signed_in, texts
from tests.factories import FEES, add_tariff, file_request, make_member, make_staff, rows

THIS_YEAR = to_jalali(now_tehran()).year


def open_page(db_url, username):
    return signed_in(db_url, username).switch_page("pages/tariffs.py").run()


def fill(at, values: dict[str, str]):
    for field, value in values.items():
        at.text_input(key=f"tariff-{field}").input(value)
    return at.run()


PERSIAN = {"entrance_fee": "۲۰٬۰۰۰٬۰۰۰", "annual_fee": "۵,۰۰۰,۰۰۰", "card_fee": "1500000",
           "licence_issue_fee": "۸۰۰۰۰۰۰", "licence_renewal_fee": "3,000,000", "article32_renewal_fee": "۴٬۰۰۰٬۰۰۰",
           "rating_fee": "12000000"}


def tariff_rows(db):
    return rows(db, "SELECT * FROM fee_tariff ORDER BY province_id, jalali_year")


@pytest.mark.parametrize("role", ["finance", "admin"])
def test_finance_and_admin_enter_a_tariff_with_persian_digits(db_url, db, role):
    make_staff(db, "t.user", [role], TEHRAN_ID)
    at = open_page(db_url, "t.user")
    assert "تعرفه‌ها" in texts(at.title) and not at.exception
    assert at.selectbox(key="tariff-year").value == THIS_YEAR
    at = fill(at, PERSIAN)
    # Each amount is shown back with Persian digits, separators and the Toman figure.
    assert "۵٬۰۰۰٬۰۰۰ ریال (۵۰۰٬۰۰۰ تومان)" in texts(at.caption)
    at.button(key="tariff-save").click().run()
    assert not at.exception and any("ثبت شد" in s for s in texts(at.success))
    [t] = tariff_rows(db)
    assert (t["province_id"], t["jalali_year"]) == (TEHRAN_ID, THIS_YEAR)
    assert {f: t[f] for f in FEES} == FEES
    assert rows(db, "SELECT action FROM audit_event")[0]["action"] == "tariff_created"
    table = at.dataframe[0].value
    assert table["حق عضویت سالانه"][0] == "۵٬۰۰۰٬۰۰۰ ریال (۵۰۰٬۰۰۰ تومان)"


@pytest.mark.parametrize("bad,message", [("-1000", "منفی"), ("۱۲٫۵", "اعشار"), ("پنج میلیون", "صحیح")])
def test_bad_amounts_show_a_persian_error_and_save_nothing(db_url, db, bad, message):
    make_staff(db, "t.finance", ["finance"], TEHRAN_ID)
    at = open_page(db_url, "t.finance")
    at = fill(at, {**PERSIAN, "annual_fee": bad})
    assert any(message in e for e in texts(at.error))
    assert at.button(key="tariff-save").disabled
    assert tariff_rows(db) == []


def test_an_existing_tariff_is_edited_and_a_new_year_starts_from_the_last_one(db_url, db):
    make_staff(db, "t.finance", ["finance"], TEHRAN_ID)
    add_tariff(db, THIS_YEAR)
    at = open_page(db_url, "t.finance")
    assert at.text_input(key="tariff-annual_fee").value == "۵٬۰۰۰٬۰۰۰"
    at = fill(at, {"annual_fee": "6,000,000"})
    at.button(key="tariff-save").click().run()
    assert tariff_rows(db)[0]["annual_fee"] == 6_000_000
    change = rows(db, "SELECT data FROM audit_event WHERE action = 'tariff_changed'")[0]["data"]
    assert change["changes"] == {"annual_fee": {"old": 5_000_000, "new": 6_000_000}}
    at.selectbox(key="tariff-year").set_value(THIS_YEAR + 1).run()
    assert at.text_input(key="tariff-annual_fee").value == "۶٬۰۰۰٬۰۰۰"  # proposed from this year
    at.button(key="tariff-save").click().run()
    assert [t["jalali_year"] for t in tariff_rows(db)] == [THIS_YEAR, THIS_YEAR + 1]


def test_a_used_tariff_asks_for_a_reason(db_url, db):
    make_staff(db, "t.finance", ["finance"], TEHRAN_ID)
    expert = make_staff(db, "t.expert", ["expert"], TEHRAN_ID)
    add_tariff(db, THIS_YEAR)
    from domain.jalali import last_day_of_jalali_year, to_gregorian
    member = make_member(db, TEHRAN_ID, valid_until=to_gregorian(last_day_of_jalali_year(THIS_YEAR - 1)))
    rid = file_request(db, member, "membership_renewal").request_id
    fees.determine_renewal_fee(db, expert, rid, 1, THIS_YEAR, 0, None)
    at = open_page(db_url, "t.finance")
    assert at.dataframe[0].value["به کار رفته"][0] == "بله"
    assert any("به کار رفته" in w for w in texts(at.warning))
    at = fill(at, {"annual_fee": "7000000"})
    at.button(key="tariff-save").click().run()
    assert any("دلیل" in e for e in texts(at.error))
    assert tariff_rows(db)[0]["annual_fee"] == 5_000_000
    at.text_input(key="tariff-reason").input("اصلاح مصوبهٔ مجمع").run()
    at.button(key="tariff-save").click().run()
    assert tariff_rows(db)[0]["annual_fee"] == 7_000_000
    assert rows(db, "SELECT total FROM fee_assessment")[0]["total"] == 5_000_000


def test_provincial_staff_see_only_their_province_and_central_admin_chooses(db_url, db):
    make_staff(db, "t.finance", ["finance"], TEHRAN_ID)
    make_staff(db, "admin", ["admin"], None)
    add_tariff(db, THIS_YEAR, province_id=ISFAHAN_ID, annual_fee=9_000_000)
    at = open_page(db_url, "t.finance")
    assert "tariff-province" not in [s.key for s in at.selectbox]
    assert any("برای این استان هنوز تعرفه‌ای ثبت نشده است" in i for i in texts(at.info))
    at = open_page(db_url, "admin")
    at.selectbox(key="tariff-province").set_value(ISFAHAN_ID).run()
    assert at.text_input(key="tariff-annual_fee").value == "۹٬۰۰۰٬۰۰۰"
    at = fill(at, {"annual_fee": "9500000"})
    at.button(key="tariff-save").click().run()
    assert tariff_rows(db)[0]["annual_fee"] == 9_500_000


def test_an_expert_cannot_open_the_tariffs_page(db_url, db):
    make_staff(db, "t.expert", ["expert"], TEHRAN_ID)
    at = signed_in(db_url, "t.expert")
    with pytest.raises(ValueError):
        at.switch_page("pages/tariffs.py")


def test_the_central_admin_adds_and_turns_off_discount_rules(db_url, db, owner_engine):
    make_staff(db, "admin", ["admin"], None)
    make_staff(db, "t.admin", ["admin"], TEHRAN_ID)
    try:
        at = open_page(db_url, "t.admin")
        assert not [b for b in at.button if b.key == "disc-add"]  # provincial admins only read the rules
        at = open_page(db_url, "admin")
        at.text_input(key="disc-name").input("مصوبهٔ آزمایشی")
        at.text_input(key="disc-from").input("۱۳۹۰")
        at.text_input(key="disc-to").input("۱۳۹۲")
        at.text_input(key="disc-percent").input("۲٫۵")
        at.run()
        at.button(key="disc-add").click().run()
        assert not at.exception
        added = rows(db, "SELECT * FROM discount_rule ORDER BY id")[-1]
        assert (added["valid_end_year_from"], added["valid_end_year_to"], str(added["percent"])) == (1390, 1392, "2.50")
        at.text_input(key="disc-reason").input("پایان مصوبه").run()
        at.button(key="disc-toggle").click().run()  # the first rule is selected: the central council's
        assert rows(db, "SELECT is_active FROM discount_rule WHERE id = 1")[0]["is_active"] is False
    finally:
        with owner_engine.begin() as c:  # the app role adds and turns off rules, never deletes them
            c.execute(sa.text("DELETE FROM discount_rule WHERE id > 1"))
            c.execute(sa.text("UPDATE discount_rule SET is_active = true WHERE id = 1"))
