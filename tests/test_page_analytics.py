"""The analytics page through AppTest: managers and the board see their province's charts with a
Jalali month axis, tables and CSV/XLSX downloads carrying the service's numbers; central staff all
provinces or one; another province in the link is refused; other roles cannot open the page."""
from __future__ import annotations

import csv
import io
import random
from datetime import timedelta

import pytest
from openpyxl import load_workbook
from streamlit.delta_generator import DeltaGenerator

from db.engine import session_scope
from domain import periods
from domain.jalali import now_tehran, to_jalali
from domain.reference import ISFAHAN_ID, TEHRAN_ID
from domain.text import to_persian_digits
from logic import analytics as an
from logic.export import CSV_MIME, XLSX_MIME
from tests.apptest import app, sign_in, signed_in, texts
from tests.factories import Simulation, add_licences, make_staff

TABLE_KEYS = {"renewals": "analytics-renewals", "members": "analytics-members",
              "licences_monthly": "analytics-licences-monthly", "licences": "analytics-licences",
              "licence_holders": "analytics-holders"}


@pytest.fixture
def data(db, kpi_world):
    sim = Simulation(db, kpi_world, seed=23)
    now = now_tehran()
    sim.run(now - timedelta(days=40), now - timedelta(hours=1), steps=260)
    add_licences(db, random.Random(8))
    kpi_world["t.board"] = make_staff(db, "t.board", ["board"], TEHRAN_ID)
    return kpi_world


def open_page(db_url, username, **query):
    at = signed_in(db_url, username)
    for k, v in query.items():
        at.query_params[k] = v
    at.switch_page("pages/analytics.py").run()
    assert not at.exception, at.exception
    return at


def last_complete_month(now):
    """What the page opens on: the month before the current one."""
    j = to_jalali(now)
    year, month = (j.year, j.month - 1) if j.month > 1 else (j.year - 1, 12)
    return periods.month_period(year, month)


def expected(db, actor, province_id=None, period=None):
    now = now_tehran()
    period = period or last_complete_month(now)
    with session_scope(db) as s:
        return an.analytics_report(s, actor, period, now, province_id)


def frame_with(at, header):
    return next(d.value for d in at.dataframe if header in d.value.columns)


@pytest.mark.parametrize("username", ["t.board", "t.manager"])
def test_the_province_sees_its_months_charts_and_tables(db_url, db, data, username):
    at = open_page(db_url, username)
    assert "تحلیل‌ها" in texts(at.title)
    assert any("تهران" in c for c in texts(at.caption))
    report = expected(db, data[username])
    renewals = frame_with(at, "تمدیدهای پرداخت‌شده")
    assert list(renewals["ماه"]) == [m.month.label for m in report.months]
    assert len(at.get("plotly_chart")) == 6
    assert {s.value for s in at.subheader} >= {"تمدید عضویت", "اعضای جدید و انتقال‌ها", "پروانه‌های اشتغال"}


def test_year_view_has_a_jalali_month_axis(db_url, db, data):
    at = open_page(db_url, "t.board")
    at.radio(key="analytics-kind").set_value("year").run()
    year = to_jalali(now_tehran()).year
    months = frame_with(at, "اعضای جدید")["ماه"]
    assert list(months)[0] == f"فروردین {to_persian_digits(year)}"


def test_downloads_carry_the_service_numbers(db_url, db, data, monkeypatch):
    calls = {}
    real = DeltaGenerator.download_button

    def spy(self, label, data, *args, **kwargs):
        calls[kwargs["key"]] = {"data": data, **kwargs}
        return real(self, label, data, *args, **kwargs)

    monkeypatch.setattr(DeltaGenerator, "download_button", spy)
    at = open_page(db_url, "t.board")
    at.radio(key="analytics-kind").set_value("season").run()
    season = (to_jalali(now_tehran()).month - 1) // 3 + 1
    report = expected(db, data["t.board"], period=periods.season_period(to_jalali(now_tehran()).year, season))
    tables = {t.name: t for t in (an.renewals_table(report), an.members_table(report), an.licences_month_table(report),
                                  an.licences_table(report), an.holders_table(report))}
    for name, key in TABLE_KEYS.items():
        table = tables[name]
        c, x = calls[f"{key}-csv"], calls[f"{key}-xlsx"]
        assert c["mime"] == CSV_MIME and x["mime"] == XLSX_MIME
        rows = list(csv.reader(io.StringIO(c["data"]().decode("utf-8-sig"))))
        assert rows[0] == [h for _, h in table.columns] and len(rows) == len(table.rows) + 1
        sheet = load_workbook(io.BytesIO(x["data"]())).active
        assert sheet.sheet_view.rightToLeft
        got = [[cell.value for cell in row] for row in sheet.iter_rows(min_row=2)]
        assert got == [[r[k] for k, _ in table.columns] for r in table.rows]


def test_central_staff_see_all_provinces_or_one(db_url, db, data):
    at = open_page(db_url, "central.manager")
    assert any("همهٔ استان‌ها" in c for c in texts(at.caption))
    everywhere = expected(db, data["central.manager"])
    members = frame_with(at, "اعضای جدید")
    assert len(members) == len(everywhere.months)
    at.selectbox(key="analytics-province").select(ISFAHAN_ID).run()
    assert any("اصفهان" in c for c in texts(at.caption))


def test_another_province_in_the_link_is_refused(db_url, db, data):
    at = open_page(db_url, "t.board", province=str(ISFAHAN_ID))
    assert "شما فقط آمار استان خود را می‌بینید." in texts(at.error)
    assert not at.dataframe


@pytest.mark.parametrize("role", ["expert", "finance", "admin"])
def test_other_roles_cannot_open_it(db_url, db, role):
    make_staff(db, f"t.{role}", [role], TEHRAN_ID)
    at = signed_in(db_url, f"t.{role}")
    with pytest.raises(ValueError):
        at.switch_page("pages/analytics.py")
    direct = app(db_url, page="pages/analytics.py")
    sign_in(direct, db_url, f"t.{role}")
    direct.run()
    assert "شما به این صفحه دسترسی ندارید." in texts(direct.error) and not direct.dataframe
