"""The members directory page through AppTest: search by every key (Persian and Latin digits,
Persian and Arabic letters), filters, paging, the expiring list, exports, province isolation."""
from __future__ import annotations

import io
from datetime import timedelta

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook
from streamlit.delta_generator import DeltaGenerator

from domain.jalali import now_tehran
from domain.reference import ISFAHAN_ID, TEHRAN_ID
from domain.text import to_persian_digits
from logic.export import CSV_MIME, XLSX_MIME
from tests.apptest import app, sign_in, signed_in, texts
from tests.factories import insert, make_member, make_staff, national_id_of


@pytest.fixture
def world(db):
    today = now_tehran().date()
    for username, roles, province in (("t.expert", ["expert"], TEHRAN_ID), ("i.expert", ["expert"], ISFAHAN_ID),
                                      ("c.expert", ["central_expert"], None), ("t.finance", ["finance"], TEHRAN_ID)):
        make_staff(db, username, roles, province)
    ids = {
        "ali": make_member(db, TEHRAN_ID, first_name="علی", last_name="کریمی", mobile="09121234567",
                           valid_until=today + timedelta(days=10)),
        "zahra": make_member(db, TEHRAN_ID, first_name="زهرا", last_name="یکتا", field="architecture",
                             valid_until=today + timedelta(days=200)),
        "reza": make_member(db, TEHRAN_ID, first_name="رضا", last_name="کاظمی", field="electrical",
                            valid_until=today - timedelta(days=30), status="lapsed"),
        "isfahan": make_member(db, ISFAHAN_ID, first_name="علی", last_name="کریمی", mobile="09131234567",
                               valid_until=today + timedelta(days=10)),
    }
    with db.begin() as conn:
        conn.execute(sa.text("UPDATE member SET membership_no = '08-0000042', grade = 1 WHERE id = :m"),
                     {"m": ids["zahra"]})
    insert(db, "work_licence", member_id=ids["ali"], kind="work", licence_no="W-1", field="civil", grade=3,
           competencies=["design"], issued_on=today - timedelta(days=30), expires_on=today + timedelta(days=300))
    return ids


def open_members(db_url, username="t.expert"):
    at = signed_in(db_url, username)
    at.switch_page("pages/members.py").run()
    assert not at.exception, at.exception
    return at


def shown(at) -> list[str]:
    if not at.dataframe:
        return []
    return list(at.dataframe[0].value["نام"])


def search(at, text):
    at.text_input(key="mem-search").input(text).run()
    assert not at.exception, at.exception
    return shown(at)


def fa(s: str) -> str:
    return to_persian_digits(s)


def ar(s: str) -> str:
    return s.translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))


def test_the_directory_lists_own_province_members_with_links(db_url, db, world):
    at = open_members(db_url)
    assert "اعضا" in texts(at.title)
    assert shown(at) == ["رضا کاظمی", "علی کریمی", "زهرا یکتا"]  # by last name
    table = at.dataframe[0].value
    assert f"/member?id={world['ali']}" in list(table["پرونده"])
    assert f"/member?id={world['isfahan']}" not in list(table["پرونده"])
    assert "۳ عضو" in " ".join(texts(at.caption))
    # A click on a row opens that member's profile in this tab and session.
    at.session_state["mem-table"] = {"selection": {"rows": [], "columns": [], "cells": [[1, "نام"]]}}
    at.run()
    assert not at.exception, at.exception
    assert "پروندهٔ عضو" in texts(at.title) and at.query_params.get("id") == str(world["ali"])


@pytest.mark.parametrize("form", [str, fa, ar])
def test_search_by_national_id_in_every_digit_form(db_url, db, world, form):
    at = open_members(db_url)
    assert search(at, form(national_id_of(db, world["ali"]))) == ["علی کریمی"]


@pytest.mark.parametrize("typed", ["08-0000042", "۰۸-۰۰۰۰۰۴۲", "080000042", "۰۸۰۰۰۰۰۴۲"])
def test_search_by_membership_number(db_url, db, world, typed):
    at = open_members(db_url)
    assert search(at, typed) == ["زهرا یکتا"]


@pytest.mark.parametrize("typed", ["09121234567", "۰۹۱۲۱۲۳۴۵۶۷", "٠٩١٢١٢٣٤٥٦٧", "+98 912 123 4567", "9121234567"])
def test_search_by_mobile(db_url, db, world, typed):
    at = open_members(db_url)
    assert search(at, typed) == ["علی کریمی"]


@pytest.mark.parametrize("typed", ["علی کریمی", "علي كريمي", "کریمی", "كريمي", "عل کر", "  علی   "])
def test_search_by_name_in_persian_and_arabic_letters(db_url, db, world, typed):
    at = open_members(db_url)
    assert search(at, typed) == ["علی کریمی"]


def test_search_never_reaches_another_province(db_url, db, world):
    at = open_members(db_url)
    assert search(at, national_id_of(db, world["isfahan"])) == []
    assert "عضوی با این جستجو" in " ".join(texts(at.info))
    assert search(at, "09131234567") == []
    at = open_members(db_url, "i.expert")
    assert search(at, "علی کریمی") == ["علی کریمی"]
    assert list(at.dataframe[0].value["پرونده"]) == [f"/member?id={world['isfahan']}"]


def test_a_mistyped_national_id_gets_a_hint(db_url, db, world):
    nid = national_id_of(db, world["ali"])
    wrong = nid[:9] + str((int(nid[9]) + 1) % 10)
    at = open_members(db_url)
    assert search(at, fa(wrong)) == []
    assert any("کنترل" in w for w in texts(at.warning))


def test_filters(db_url, db, world):
    at = open_members(db_url)
    at.selectbox(key="mem-field").select("architecture").run()
    assert shown(at) == ["زهرا یکتا"]
    at.selectbox(key="mem-field").select(None).run()
    at.selectbox(key="mem-grade").select(1).run()
    assert shown(at) == ["زهرا یکتا"]
    at.selectbox(key="mem-grade").select(None).run()
    at.selectbox(key="mem-status").select("lapsed").run()
    assert shown(at) == ["رضا کاظمی"]
    at.selectbox(key="mem-status").select(None).run()
    at.selectbox(key="mem-validity").select("lapsed").run()
    assert shown(at) == ["رضا کاظمی"]
    at.selectbox(key="mem-validity").select("ending").run()
    assert shown(at) == ["علی کریمی"]                       # within the default 30 days
    at.text_input(key="mem-days-box").input("۳۶۵").run()
    assert shown(at) == ["علی کریمی", "زهرا یکتا"]
    at.selectbox(key="mem-validity").select(None).run()
    at.selectbox(key="mem-licence").select("valid").run()
    assert shown(at) == ["علی کریمی"]
    at.selectbox(key="mem-licence").select("none").run()
    assert shown(at) == ["رضا کاظمی", "زهرا یکتا"]
    assert list(at.dataframe[0].value["پروانهٔ اشتغال"]) == ["ندارد", "ندارد"]


def test_paging_is_done_by_the_server(db_url, db, world):
    for i in range(30):
        make_member(db, TEHRAN_ID, first_name="مهدی", last_name=f"نوری {i:02d}")
    at = open_members(db_url)
    assert len(shown(at)) == 25 and "۳۳ عضو — صفحهٔ ۱ از ۲" in " ".join(texts(at.caption))
    at.text_input(key="mem-page-box").input("2").run()
    assert len(shown(at)) == 8 and "صفحهٔ ۲ از ۲" in " ".join(texts(at.caption))
    # A new search starts again from the first page.
    search(at, "نوری")
    assert "۳۰ عضو — صفحهٔ ۱ از ۲" in " ".join(texts(at.caption))


def test_the_expiring_list_with_days_left(db_url, db, world):
    at = open_members(db_url)
    at.radio(key="mem-mode").set_value("expiring").run()
    assert not at.exception
    assert shown(at) == ["علی کریمی"]
    assert list(at.dataframe[0].value["روز باقی‌مانده"]) == ["۱۰ روز"]
    assert list(at.dataframe[0].value["شماره همراه"]) == ["۰۹۱۲۱۲۳۴۵۶۷"]
    at.text_input(key="mem-days-box").input("250").run()
    assert shown(at) == ["علی کریمی", "زهرا یکتا"]           # soonest first, lapsed members left out


def test_exports_are_the_filtered_set(db_url, db, world, monkeypatch):
    calls = {}
    real = DeltaGenerator.download_button

    def spy(self, label, data, *args, **kwargs):
        calls[kwargs["key"]] = {"data": data, **kwargs}
        return real(self, label, data, *args, **kwargs)

    monkeypatch.setattr(DeltaGenerator, "download_button", spy)
    at = open_members(db_url)
    at.radio(key="mem-mode").set_value("expiring").run()
    assert calls["mem-export-csv"]["mime"] == CSV_MIME and calls["mem-export-xlsx"]["mime"] == XLSX_MIME
    assert calls["mem-export-csv"]["file_name"].startswith("members-expiring-")
    data = calls["mem-export-csv"]["data"]()
    assert data.startswith(b"\xef\xbb\xbf")
    lines = data.decode("utf-8-sig").strip().splitlines()
    assert len(lines) == 2 and national_id_of(db, world["ali"]) in lines[1] and "09121234567" in lines[1]
    sheet = load_workbook(io.BytesIO(calls["mem-export-xlsx"]["data"]())).active
    assert sheet.sheet_view.rightToLeft and sheet.max_row == 2


def test_central_staff_see_every_province_with_its_name(db_url, db, world):
    at = open_members(db_url, "c.expert")
    assert search(at, "علی کریمی") == ["علی کریمی", "علی کریمی"]
    assert set(at.dataframe[0].value["استان"]) == {"تهران", "اصفهان"}


def test_finance_may_read_the_directory_but_the_board_may_not(db_url, db, world):
    assert shown(open_members(db_url, "t.finance"))
    make_staff(db, "t.board", ["board"], TEHRAN_ID)
    direct = app(db_url, page="pages/members.py")
    sign_in(direct, db_url, "t.board")
    direct.run()
    assert "شما به این صفحه دسترسی ندارید." in texts(direct.error) and not direct.dataframe
