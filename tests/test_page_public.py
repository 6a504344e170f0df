"""The public statistics page through the real app script, without logging in: it shows published
releases only (tables, charts, methodology, downloads), and an anonymous visitor reaches nothing
but it and the login form."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from domain.reference import TEHRAN_ID
from logic import releases as rel
from tests.apptest import app, texts
from tests.conftest import ROOT
from tests.factories import build_world, compose
from ui.navigation import PAGES

PUBLIC_TITLE = "آمار منتشرشدهٔ سازمان نظام مهندسی ساختمان"
LOGIN_LABELS = ["نام کاربری", "گذرواژه"]


@pytest.fixture
def published(db):
    world = build_world(db)
    out = compose(db, world["board1"])
    rel.approve_and_publish(db, world["board2"], out.release_id)
    return world, out.release_id


def open_public(db_url, **query):
    at = app(db_url)
    for k, v in query.items():
        at.query_params[k] = v
    at.run()
    at.switch_page("pages/public_stats.py").run()
    assert not at.exception, at.exception
    return at


def test_the_login_form_links_to_the_public_page_and_registers_no_staff_page(db_url, published):
    at = app(db_url).run()
    assert [t.label for t in at.text_input] == LOGIN_LABELS
    [link] = at.get("page_link")
    assert link.proto.label == "آمار منتشرشدهٔ سازمان (بدون نیاز به ورود)"
    # Logged out, the only page file the navigation holds is the public one; every staff URL is the
    # login form.
    scripts = {p.get("script_path") for p in at._registered_pages.values()} - {None, ""}
    assert scripts == {str(ROOT / "pages" / "public_stats.py")}


def test_an_anonymous_visitor_reads_a_published_release(db_url, published):
    world, release_id = published
    at = open_public(db_url)
    assert texts(at.title) == [PUBLIC_TITLE]
    assert not at.error and not at.text_input  # no login form here
    listing = at.table[0].value
    assert list(listing["عنوان"]) == ["آمار صدور پروانه اشتغال از اول فروردین ۱۴۰۳ لغایت پایان اردیبهشت"]
    assert list(listing["دوره"]) == ["از ۱۴۰۳/۰۱/۰۱ تا ۱۴۰۳/۰۲/۳۱"] and list(listing["وضعیت"]) == ["جاری"]
    assert at.selectbox(key="public-release").value == release_id
    assert set(texts(at.subheader)) == {t.title_fa for t in rel.TABLES.values()}
    # One chart a table, two for services; none for renewed licences and new members: all their
    # counts and line totals are zero or hidden.
    assert len(at.get("plotly_chart")) == len(rel.TABLES) - 1
    assert texts(at.caption).count("همهٔ عددهای این جدول صفر یا پنهان است؛ نموداری ندارد.") == 2
    assert any("قاعدهٔ محرمانگی" in m for m in texts(at.markdown))  # the methodology note
    issued = next(df.value for df in at.table if "پایه ۱" in df.value.columns)
    mechanical = issued[issued["رشته"] == "تأسیسات مکانیکی"].iloc[0]
    assert mechanical["جمع"] == "۵" and mechanical["پایه ۲"] == "۵" and mechanical["پایه ۱"] == "۰"
    # One mark for every hidden entry: the 2 in architecture, grade 3, and the row's total 2 alike.
    architecture = issued[issued["رشته"] == "معماری"].iloc[0]
    assert architecture["پایه ۳"] == "×" and architecture["جمع"] == "×"
    assert not any("کمتر از ۵" in str(v) for df in at.table for v in df.value.to_numpy().ravel())
    legend = "«×»: پنهان برای محرمانگی؛ ممکن است صفر، ۱ تا ۴ یا ۵ و بیشتر باشد"
    assert any(c.startswith(legend) for c in texts(at.caption))
    labels = [b.proto.label for b in at.get("download_button")]
    assert "دانلود همهٔ جدول‌ها (CSV)" in labels and "دانلود همهٔ جدول‌ها (XLSX)" in labels
    assert labels.count("دانلود این جدول (CSV)") == len(rel.TABLES)
    # Nothing of staff or members shows: no sidebar, no names.
    assert not at.sidebar.children or not any(texts(at.sidebar.markdown))
    page_text = " ".join(texts(at.markdown) + texts(at.caption) + texts(at.info) + texts(at.warning))
    assert "عضو هیأت مدیره یکم" not in page_text and "عمرانی" not in page_text


def open_url(at, url_path: str):
    """What the browser does on opening /<url_path>: run the page registered at that address."""
    [page_hash] = [h for h, p in at._registered_pages.items() if p.get("url_pathname") == url_path]
    at._page_hash = page_hash
    return at.run()


@pytest.mark.parametrize("spec", PAGES, ids=lambda p: p.url_path)
def test_an_anonymous_visitor_switching_to_a_staff_page_gets_no_staff_page(db_url, published, spec):
    at = open_public(db_url)
    # The staff page's file is not a page of the logged-out app at all...
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page(f"pages/{spec.file}")
    # ...and opening its address gets the login form, or (should Streamlit run the file by its
    # address) the page's own refusal: never the page.
    open_url(at, spec.url_path)
    assert not at.exception
    assert ([t.label for t in at.text_input] == LOGIN_LABELS
            or texts(at.error) == ["برای دیدن این صفحه باید وارد شوید."])
    assert spec.title not in texts(at.title) and PUBLIC_TITLE not in texts(at.title)
    assert not at.dataframe and not at.table and not at.metric and not at.get("plotly_chart")


@pytest.mark.parametrize("spec", PAGES, ids=lambda p: p.file)
def test_a_staff_page_file_run_directly_without_login_refuses(db_url, published, spec):
    at = app(db_url, page=f"pages/{spec.file}").run()
    assert "برای دیدن این صفحه باید وارد شوید." in texts(at.error)
    assert spec.title not in texts(at.title)


def test_the_public_page_file_run_directly_needs_no_login(db_url, published):
    at = app(db_url, page="pages/public_stats.py").run()
    assert not at.exception and not at.error
    assert texts(at.title) == [PUBLIC_TITLE]


def test_drafts_never_show_and_an_empty_list_says_so(db_url, db):
    world = build_world(db)
    compose(db, world["board1"])
    at = open_public(db_url)
    assert "هنوز آماری منتشر نشده است." in texts(at.info)
    assert not at.table


def test_a_superseded_release_stays_visible_and_says_by_which(db_url, published, db):
    world, old_id = published
    fix = compose(db, world["board2"], tables=["licences_issued"], supersedes_id=old_id, note="اصلاح پایهٔ پروانه‌ها")
    rel.approve_and_publish(db, world["board1"], fix.release_id)
    at = open_public(db_url)
    listing = at.table[0].value
    assert list(listing["وضعیت"]) == ["اصلاحیهٔ انتشار شمارهٔ ۱", "اصلاح‌شده با انتشار شمارهٔ ۲"]
    assert at.selectbox(key="public-release").value == fix.release_id  # the newest first
    assert any("دلیل اصلاح: اصلاح پایهٔ پروانه‌ها" in i for i in texts(at.info))
    at = open_public(db_url, release=str(old_id))  # a link to the old release
    assert at.selectbox(key="public-release").value == old_id
    assert any("اصلاح شده است" in w and "شمارهٔ ۲" in w for w in texts(at.warning))


def test_the_list_filters_by_province(db_url, published, db):
    world, tehran_id = published
    national = compose(db, world["central"], province_id=None, tables=["services"])
    rel.approve_and_publish(db, world["central2"], national.release_id)
    at = open_public(db_url)
    assert at.selectbox(key="public-province").options == ["همه", "همهٔ استان‌ها (سراسری)", "تهران"]
    assert len(at.table[0].value) == 2
    at.selectbox(key="public-province").select(TEHRAN_ID).run()
    assert list(at.table[0].value["استان"]) == ["تهران"]
    at.selectbox(key="public-province").select(rel.NATIONAL).run()
    assert list(at.table[0].value["استان"]) == ["همهٔ استان‌ها"]
    assert at.selectbox(key="public-release").value == national.release_id


def test_a_release_stored_with_the_old_small_mark_shows_the_one_mark(db_url, db, monkeypatch):
    """Published releases are frozen; one stored before the one-mark rule (with «<5») is shown with
    «×» for every hidden entry, and its methodology says so."""
    from domain import disclosure
    world = build_world(db)
    publish_cross = rel.publish_cross

    def two_marks(spec, *args):
        table = publish_cross(spec, *args)
        if spec.key == "licences_issued":
            table["cells"][1][2] = disclosure.LEGACY_SMALL_MARK  # architecture, grade 3: the 2
        return table

    with monkeypatch.context() as m:
        m.setattr(rel, "publish_cross", two_marks)
        m.setattr(disclosure, "RULE_FA", "قاعدهٔ پیشین: «کمتر از ۵» برای ۱ تا ۴.")
        out = compose(db, world["board1"], tables=["licences_issued"])
    rel.approve_and_publish(db, world["board2"], out.release_id)
    with db.connect() as c:  # what is stored stays as it was
        stored = c.execute(sa.text("SELECT snapshot FROM stat_release WHERE id = :i"), {"i": out.release_id}).scalar()
    assert stored["tables"][0]["cells"][1][2] == "<5"
    at = open_public(db_url)
    issued = next(df.value for df in at.table if "پایه ۱" in df.value.columns)
    assert issued[issued["رشته"] == "معماری"].iloc[0]["پایه ۳"] == "×"
    assert any("اکنون «×» است" in m for m in texts(at.markdown))


def test_a_release_is_rendered_once_and_every_visitor_sees_the_live_rendering(db_url, published, db, monkeypatch):
    """Issue #18: a published release is frozen, so the page draws it from a copy rendered once per
    app process; what a later visitor gets must be exactly what rendering the stored snapshot gives."""
    import json

    import plotly.io as pio

    from db.engine import session_scope
    from ui.release_view import render

    _, release_id = published
    first = open_public(db_url, release=str(release_id))
    loads = []
    original = rel.published_snapshot
    monkeypatch.setattr(rel, "published_snapshot", lambda s, i: loads.append(i) or original(s, i))
    second = open_public(db_url, release=str(release_id))
    assert loads == []  # served from the rendered copy: the snapshot is not read again
    with session_scope(db) as s:
        live = render(rel.published_snapshot(s, release_id))
    charts = [json.loads(c.proto.spec) for c in second.get("plotly_chart")]
    expected = [json.loads(pio.to_json(f, validate=False))
                for t in live for f in (t.chart, t.share) if f is not None]
    assert [c["data"] for c in charts] == [e["data"] for e in expected]
    assert [c["layout"]["title"] for c in charts] == [e["layout"]["title"] for e in expected]
    shown = [df.value for df in second.table][1:]  # the first table is the list of releases
    assert [list(a.columns) for a in shown] == [list(t.frame.columns) for t in live]
    assert [a.astype(str).values.tolist() for a in shown] == [t.frame.astype(str).values.tolist() for t in live]
    assert [df.value.to_dict() for df in first.table] == [df.value.to_dict() for df in second.table]
