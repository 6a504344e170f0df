"""The KPI page through AppTest: a provincial manager sees the own province only (a `?province=`
for another is refused), central staff all provinces with the comparison and one province on
demand, every chart's data downloads as CSV and XLSX with the service's numbers, the periods, links
to the request screen, and who may open the page."""
from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from openpyxl import load_workbook
from streamlit.delta_generator import DeltaGenerator

from db.engine import session_scope
from domain import periods
from domain.jalali import now_tehran
from domain.reference import ISFAHAN_ID, TEHRAN_ID
from domain.text import format_number
from logic import kpi
from logic.export import CSV_MIME, XLSX_MIME
from tests.apptest import app, sign_in, signed_in, texts
from tests.factories import Simulation, make_staff


@pytest.fixture
def data(db, kpi_world):
    sim = Simulation(db, kpi_world, seed=17)
    now = now_tehran()
    sim.run(now - timedelta(days=20), now - timedelta(hours=1), steps=220)
    return kpi_world


def open_kpi(db_url, username, **query):
    at = signed_in(db_url, username)
    for k, v in query.items():
        at.query_params[k] = v
    at.switch_page("pages/kpi.py").run()
    assert not at.exception, at.exception
    return at


CHART_KEYS = ("kpi-backlog-chart", "kpi-trend-chart", "kpi-cycle-chart", "kpi-experts-chart", "kpi-provinces-chart")


def open_tab(at, label):
    """Open a tab of the report (only the open tab is drawn)."""
    assert label in [t.label for t in at.tabs]
    at.session_state["kpi-tab"] = label
    at.run()
    assert not at.exception, at.exception
    return at


def metric(at, label):
    return next(m.value for m in at.metric if m.label == label)


def report(db, actor, province_id=None):
    now = now_tehran()
    with session_scope(db) as s:
        return kpi.kpi_report(s, actor, periods.current_month(now), now, province_id)


def test_a_provincial_manager_sees_the_own_province(db_url, db, data):
    at = open_kpi(db_url, "t.manager")
    assert "شاخص‌های عملکرد" in texts(at.title)
    expected = report(db, data["t.manager"])
    assert metric(at, "کارهای باز") == format_number(sum(b.total for b in expected.backlog))
    assert metric(at, "گذشته از مهلت") == format_number(sum(b.breached for b in expected.backlog))
    assert not any(s.key == "kpi-province" for s in at.selectbox)  # nothing to choose
    assert [t.label for t in at.tabs] == ["کارهای باز", "انجام در مهلت", "زمان چرخه", "کارشناسان", "تأخیرها"]
    assert any("تهران" in c for c in texts(at.caption))


def test_only_the_open_tab_is_drawn_and_another_opens_on_a_click(db_url, db, data):
    def charts():  # the keys of the charts drawn (an element's id ends with its key)
        return [key for c in at.get("plotly_chart") for key in CHART_KEYS if c.proto.id.endswith(key)]

    at = open_kpi(db_url, "t.manager")
    assert charts() == ["kpi-backlog-chart"]
    assert "به تفکیک مرحله" not in texts(at.subheader)
    open_tab(at, "انجام در مهلت")
    assert charts() == ["kpi-trend-chart"]
    assert "به تفکیک مرحله" in texts(at.subheader)
    open_tab(at, "تأخیرها")
    assert not charts() and any("گذشته از مهلت" in h for h in texts(at.subheader))


def test_another_province_in_the_link_is_refused_not_shown(db_url, db, data):
    at = open_kpi(db_url, "t.manager", province=str(ISFAHAN_ID))
    assert "شما فقط آمار استان خود را می‌بینید." in texts(at.error)
    assert not at.metric and not at.dataframe


def test_central_staff_compare_provinces_and_can_pick_one(db_url, db, data):
    at = open_tab(open_kpi(db_url, "central.manager"), "مقایسهٔ استان‌ها")
    frames = [d.value for d in at.dataframe]
    comparison = next(f for f in frames if "استان" in f.columns and len(f) == 31)
    assert set(comparison["استان"]) >= {"تهران", "اصفهان", "خراسان رضوی"}
    everywhere = report(db, data["central.manager"])
    assert metric(at, "کارهای باز") == format_number(sum(b.total for b in everywhere.backlog))
    at.selectbox(key="kpi-province").select(ISFAHAN_ID).run()
    isfahan = report(db, data["central.manager"], ISFAHAN_ID)
    assert metric(at, "کارهای باز") == format_number(sum(b.total for b in isfahan.backlog))
    assert "مقایسهٔ استان‌ها" not in [t.label for t in at.tabs]
    # The same through a link.
    linked = open_kpi(db_url, "central.manager", province=str(TEHRAN_ID))
    assert linked.selectbox(key="kpi-province").value == TEHRAN_ID


def test_every_table_downloads_as_csv_and_xlsx_with_the_reported_numbers(db_url, db, data, monkeypatch):
    calls = {}
    real = DeltaGenerator.download_button

    def spy(self, label, data, *args, **kwargs):
        calls[kwargs["key"]] = {"data": data, **kwargs}
        return real(self, label, data, *args, **kwargs)

    monkeypatch.setattr(DeltaGenerator, "download_button", spy)
    at = open_kpi(db_url, "t.manager")
    for tab in [t.label for t in at.tabs][1:]:
        open_tab(at, tab)
    expected = report(db, data["t.manager"])
    tables = {t.name: t for t in (kpi.backlog_table(expected), kpi.trend_table(expected),
                                  kpi.stage_compliance_table(expected), kpi.type_compliance_table(expected),
                                  kpi.experts_table(expected), kpi.exceptions_table(expected, "breached"),
                                  kpi.exceptions_table(expected, "at_risk"))}
    keys = {"backlog": "kpi-backlog", "compliance_trend": "kpi-trend", "stage_compliance": "kpi-stages",
            "type_compliance": "kpi-types", "experts": "kpi-experts", "breached": "kpi-breached",
            "at_risk": "kpi-at_risk"}
    for name, key in keys.items():
        table = tables[name]
        c, x = calls[f"{key}-csv"], calls[f"{key}-xlsx"]
        assert c["mime"] == CSV_MIME and x["mime"] == XLSX_MIME
        assert c["file_name"].startswith(name) and c["file_name"].endswith(".csv") and x["file_name"].endswith(".xlsx")
        body = c["data"]()
        assert body.startswith(b"\xef\xbb\xbf")
        rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
        assert rows[0] == [h for _, h in table.columns]
        assert len(rows) - 1 == len(table.rows)
        sheet = load_workbook(io.BytesIO(x["data"]())).active
        assert sheet.sheet_view.rightToLeft and sheet.max_row == len(table.rows) + 1
        if name in ("backlog", "experts"):  # numbers as numbers, equal to the service's
            first = table.columns[2][0] if name == "backlog" else "decisions"
            col = [k for k, _ in table.columns].index(first) + 1
            assert [sheet.cell(row=i + 2, column=col).value for i in range(len(table.rows))] == \
                [r[first] for r in table.rows]
    # The overdue list links each request to its screen.
    breached = tables["breached"]
    if breached.rows:
        body = calls["kpi-breached-csv"]["data"]().decode("utf-8-sig")
        assert f"/request?code={breached.rows[0]['code']}" in body


def test_the_breached_list_links_to_the_request_screen(db_url, db, data):
    at = open_tab(open_kpi(db_url, "t.manager"), "تأخیرها")
    frames = [d.value for d in at.dataframe]
    linked = [f for f in frames if "پیوند پرونده" in f.columns]
    assert linked, "the breached and at-risk lists are shown"
    links = [v for f in linked for v in f["پیوند پرونده"]]
    assert links and all(v.startswith("/request?code=") for v in links)
    # A click on a row opens that request in this tab and session.
    rep = report(db, data["t.manager"])
    which, items = ("breached", rep.breached) if rep.breached else ("at_risk", rep.at_risk)
    at.session_state[f"kpi-{which}-table"] = {"selection": {"rows": [], "columns": [], "cells": [[0, "مرحله"]]}}
    at.run()
    assert not at.exception, at.exception
    assert "پروندهٔ درخواست" in texts(at.title)
    assert at.query_params.get("code") == items[0].tracking_code


def test_periods_month_season_year_and_two_dates(db_url, db, data):
    at = open_kpi(db_url, "t.manager")
    at.radio(key="kpi-kind").set_value("season").run()
    assert not at.exception and any("پاییز" in c or "تابستان" in c or "بهار" in c or "زمستان" in c
                                    for c in texts(at.caption))
    at.radio(key="kpi-kind").set_value("year").run()
    assert any("سال ۱۴۰۵" in c for c in texts(at.caption))
    at.radio(key="kpi-kind").set_value("range").run()
    at.text_input(key="kpi-from").input("1405/08/20").run()
    at.text_input(key="kpi-to").input("1405/08/25").run()
    assert any("از ۱۴۰۵/۰۸/۲۰ تا ۱۴۰۵/۰۸/۲۵" in c for c in texts(at.caption))
    at.text_input(key="kpi-to").input("1405/08/10").run()  # before the start
    assert any("نمی‌تواند پیش از" in e for e in texts(at.error))
    assert not at.metric


@pytest.mark.parametrize("role", ["expert", "final_reviewer", "finance", "board"])
def test_staff_who_are_not_managers_cannot_open_it(db_url, db, role):
    make_staff(db, f"t.{role}", [role], TEHRAN_ID)
    at = signed_in(db_url, f"t.{role}")
    with pytest.raises(ValueError):
        at.switch_page("pages/kpi.py")
    direct = app(db_url, page="pages/kpi.py")
    sign_in(direct, db_url, f"t.{role}")
    direct.run()
    assert "شما به این صفحه دسترسی ندارید." in texts(direct.error)
    assert "شاخص‌های عملکرد" not in texts(direct.title) and not direct.metric


def test_the_headline_figures_lead_to_the_matching_queue_and_say_what_open_means(db_url, db, data):
    at = open_kpi(db_url, "t.manager")
    links = {link.proto.query_string for link in at.get("page_link") if link.proto.page.endswith("queue")}
    assert {"view=all", "view=overdue", "view=at_risk"} <= links
    assert any("«کارهای باز»: همهٔ درخواست‌های باز" in c for c in texts(at.caption))
    # The backlog is drawn as horizontal bars, their long Persian labels read in full.
    assert any('"orientation":"h"' in c.proto.spec.replace(" ", "") for c in at.get("plotly_chart"))
