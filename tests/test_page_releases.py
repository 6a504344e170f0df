"""The board's releases page through AppTest: compose with a Jalali period, preview (tables and
charts, small cells hidden), keep as a draft; the composer cannot approve, another board member
approves and publishes; a correction supersedes."""
from __future__ import annotations

import sqlalchemy as sa

from domain.reference import TEHRAN_ID
from logic import releases as rel
from tests.apptest import signed_in, texts
from tests.factories import build_world, compose


def open_releases(db_url, username):
    at = signed_in(db_url, username)
    at.switch_page("pages/releases.py").run()
    assert not at.exception, at.exception
    return at


def releases_in_db(db):
    with db.connect() as c:
        return c.execute(sa.text("SELECT id, title, status, composed_by, approved_by, province_id, tables "
                                 "FROM stat_release ORDER BY id")).all()


def fill_form(at, title="آمار صدور پروانه اشتغال از اول فروردین ۱۴۰۳ لغایت پایان اردیبهشت",
              first="۱۴۰۳/۰۱/۰۱", last="1403/2/31"):
    at.text_input(key="rel-title").input(title)
    at.text_input(key="rel-from").input(first)
    at.text_input(key="rel-to").input(last)
    at.button(key="rel-preview").click()
    return at.run()


def test_a_board_member_composes_with_a_preview_and_cannot_approve_their_own(db_url, db):
    world = build_world(db)
    at = open_releases(db_url, "tehran.board")
    assert "انتشار آمار" in texts(at.title)
    at = fill_form(at)
    assert not at.exception and not at.error, texts(at.error)
    subheaders = texts(at.subheader)
    assert "پیش‌نمایش (همان که منتشر می‌شود)" in subheaders
    assert rel.TABLES["licences_issued"].title_fa in subheaders and rel.TABLES["services"].title_fa in subheaders
    assert len(at.get("plotly_chart")) >= len(rel.TABLES) - 1
    issued = next(df.value for df in at.table if "پایه ۱" in df.value.columns)
    architecture = issued[issued["رشته"] == "معماری"].iloc[0]
    assert architecture["پایه ۳"] == "×" and architecture["جمع"] == "×"  # the 2 and its row total 2
    assert releases_in_db(db) == []  # a preview writes nothing

    at.button(key="rel-compose").click().run()
    assert not at.exception
    assert any("پیش‌نویس انتشار شمارهٔ ۱ ثبت شد" in s for s in texts(at.success))
    [row] = releases_in_db(db)
    assert (row.status, row.composed_by, row.approved_by, row.province_id) == ("draft", world["board1"].id, None,
                                                                               TEHRAN_ID)
    assert row.title.endswith("۱۴۰۳ لغایت پایان اردیبهشت") and row.tables == list(rel.TABLES)
    # In the drafts tab the composer is told to wait for someone else, and cannot press approve.
    assert at.button(key="rel-approve").disabled
    assert any("عضو دیگری از هیأت مدیره" in w for w in texts(at.warning))


def test_another_board_member_approves_and_publishes(db_url, db):
    world = build_world(db)
    out = compose(db, world["board1"])
    at = open_releases(db_url, "tehran.board2")
    assert not at.button(key="rel-approve").disabled
    at.button(key="rel-approve").click().run()
    assert not at.exception
    assert any("تأیید و در" in s and "منتشر شد" in s for s in texts(at.success))
    [row] = releases_in_db(db)
    assert (row.id, row.status, row.approved_by) == (out.release_id, "published", world["board2"].id)
    # Now it is listed as published with its files, and nothing waits for approval.
    assert at.selectbox(key="rel-published-choice").value == out.release_id
    assert "پیش‌نویسی در انتظار تأیید نیست." in texts(at.info)
    assert any(b.proto.label == "دانلود همهٔ جدول‌ها (CSV)" for b in at.get("download_button"))


def test_a_bad_period_is_explained_and_nothing_is_previewed(db_url, db):
    build_world(db)
    at = fill_form(open_releases(db_url, "tehran.board"), first="1403/02/31", last="1403/01/01")
    assert any("پیش از آغاز" in e for e in texts(at.error))
    assert "پیش‌نمایش (همان که منتشر می‌شود)" not in texts(at.subheader)
    at = fill_form(open_releases(db_url, "tehran.board"), first="1403/13/01")
    assert any("ماه" in e for e in texts(at.error))
    assert releases_in_db(db) == []


def test_a_correction_is_composed_from_the_page_and_supersedes(db_url, db):
    world = build_world(db)
    first = compose(db, world["board1"], tables=["licences_issued"])
    rel.approve_and_publish(db, world["board2"], first.release_id)
    at = open_releases(db_url, "tehran.board")
    at.selectbox(key="rel-supersedes").select(first.release_id)
    at.text_area(key="rel-note").input("عدد پایهٔ ۲ عمران اصلاح شد")
    at = fill_form(at)
    at.button(key="rel-compose").click().run()
    assert not at.exception and not at.error
    rows = releases_in_db(db)
    assert [r.status for r in rows] == ["published", "draft"]
    at = open_releases(db_url, "tehran.board2")
    assert any("اصلاحیهٔ انتشار شمارهٔ ۱" in i for i in texts(at.info))
    at.button(key="rel-approve").click().run()
    at = open_releases(db_url, "tehran.board2")
    at.selectbox(key="rel-published-choice").select(first.release_id).run()
    assert any("اصلاح شده است" in w for w in texts(at.warning))


def test_the_central_board_may_compose_for_all_provinces(db_url, db):
    build_world(db)
    at = open_releases(db_url, "central.board")
    assert at.selectbox(key="rel-province").options[0] == rel.NATIONAL_FA
    at.selectbox(key="rel-province").set_value(None)
    at = fill_form(at)
    at.button(key="rel-compose").click().run()
    [row] = releases_in_db(db)
    assert row.province_id is None and row.status == "draft"
