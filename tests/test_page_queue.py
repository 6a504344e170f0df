"""The queue page through AppTest: own-province rows, counts in the view labels, filters, claiming
selected rows, next task, the manager's assignment, exports, and who may open it."""
from __future__ import annotations

import io
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa
from streamlit.delta_generator import DeltaGenerator
from openpyxl import load_workbook

from domain.jalali import TEHRAN, now_tehran
from domain.reference import ISFAHAN_ID, TEHRAN_ID
from domain.text import fa_code as code_fa
from domain.text import to_persian_digits
from logic import workflow as wf
from logic.export import CSV_MIME, XLSX_MIME
from tests.apptest import app, sign_in, signed_in, texts
from tests.factories import file_request, make_member, make_staff, step


@pytest.fixture
def world(db):
    staff = {
        "expert": make_staff(db, "t.expert", ["expert"], TEHRAN_ID, "کارشناس یکم"),
        "expert2": make_staff(db, "t.expert2", ["expert"], TEHRAN_ID, "کارشناس دوم"),
        "manager": make_staff(db, "t.manager", ["manager"], TEHRAN_ID, "مدیر تهران"),
        "isfahan": make_staff(db, "i.expert", ["expert"], ISFAHAN_ID, "کارشناس اصفهان"),
    }
    start = now_tehran() - timedelta(days=1)
    reqs = {}
    for i, (name, province, type_code) in enumerate([("A", TEHRAN_ID, "legacy_registration"),
                                                     ("B", TEHRAN_ID, "legacy_registration"),
                                                     ("C", TEHRAN_ID, "new_membership"),
                                                     ("F", ISFAHAN_ID, "legacy_registration")]):
        member = make_member(db, province, first_name="عضو", last_name=name)
        reqs[name] = file_request(db, member, type_code, submitted_at=start + timedelta(minutes=i))
    return staff, reqs


def open_queue(db_url, username):
    at = signed_in(db_url, username)
    at.switch_page("pages/queue.py").run()
    assert not at.exception, at.exception
    return at


def shown_codes(at):
    if not at.dataframe:
        return []
    return list(at.dataframe[0].value["کد رهگیری"])


def fa_code(out):
    return code_fa(out.tracking_code)


def select_rows(at, *positions):
    """Select table rows the way the browser does: through the table's selection state."""
    at.session_state[at.dataframe[0].key] = {"selection": {"rows": list(positions), "columns": [], "cells": []}}
    return at.run()


def assignee(db, out):
    with db.connect() as c:
        return c.execute(sa.text("SELECT assignee_id FROM request WHERE id = :i"), {"i": out.request_id}).scalar()


def test_an_expert_sees_own_province_rows_and_counts_in_the_view_labels(db_url, db, world):
    staff, reqs = world
    at = open_queue(db_url, "t.expert")
    assert "کارتابل" in texts(at.title)
    labels = at.radio(key="queue-view").options
    assert "کارهای من (۰)" in labels and "کارتابل گروه (۳)" in labels
    assert not any("همهٔ درخواست‌های باز" in label for label in labels)  # managers only
    assert at.radio(key="queue-view").value == "group"  # nothing of my own yet: the group's work
    assert shown_codes(at) == [fa_code(reqs[n]) for n in "ABC"]
    assert fa_code(reqs["F"]) not in shown_codes(at)
    # Searching for the other province's request finds nothing.
    at.text_input(key="queue-search").input(reqs["F"].tracking_code).run()
    assert shown_codes(at) == []


def test_a_filter_narrows_the_table(db_url, db, world):
    staff, reqs = world
    at = open_queue(db_url, "t.expert")
    at.selectbox(key="queue-type").select("new_membership").run()
    assert shown_codes(at) == [fa_code(reqs["C"])]
    at.selectbox(key="queue-type").select(None).run()
    at.text_input(key="queue-search").input("عضو B").run()
    assert shown_codes(at) == [fa_code(reqs["B"])]


def test_claiming_selected_rows_then_releasing_them(db_url, db, world):
    staff, reqs = world
    at = open_queue(db_url, "t.expert")
    assert at.button(key="queue-claim").disabled
    select_rows(at, 0, 2)
    at.button(key="queue-claim").click().run()
    assert not at.exception
    assert assignee(db, reqs["A"]) == assignee(db, reqs["C"]) == staff["expert"].id
    assert assignee(db, reqs["B"]) is None
    assert "۲ کار برداشته شد." in texts(at.success)
    # Claimed rows leave the group view; "my work" now counts them, with my name on them.
    assert shown_codes(at) == [fa_code(reqs["B"])]
    at.radio(key="queue-view").set_value("mine").run()
    assert shown_codes(at) == [fa_code(reqs["A"]), fa_code(reqs["C"])]
    assert list(at.dataframe[0].value["کارشناس"]) == ["کارشناس یکم"] * 2
    assert "کارهای من (۲)" in at.radio(key="queue-view").options
    select_rows(at, 1)
    at.button(key="queue-unclaim").click().run()
    assert assignee(db, reqs["C"]) is None and "۱ کار رها شد." in texts(at.success)


def test_someone_elses_claim_shows_the_holders_name(db_url, db, world):
    staff, reqs = world
    wf.claim(db, staff["expert2"], reqs["B"].request_id)
    at = open_queue(db_url, "t.manager")
    assert at.radio(key="queue-view").value == "all"
    table = at.dataframe[0].value
    assert dict(zip(table["کد رهگیری"], table["کارشناس"]))[fa_code(reqs["B"])] == "کارشناس دوم"
    assert list(table["پرونده"])[0] == f"/request?code={reqs['A'].tracking_code}"


def test_next_task_claims_the_most_urgent_and_opens_it(db_url, db, world):
    staff, reqs = world
    at = open_queue(db_url, "t.expert")
    at.button(key="queue-next-task").click().run()
    assert not at.exception
    assert assignee(db, reqs["A"]) == staff["expert"].id
    assert at.query_params.get("code") == reqs["A"].tracking_code
    assert "پروندهٔ درخواست" in texts(at.title) and "کارتابل" not in texts(at.title)  # on the request screen


def test_next_task_with_nothing_left_says_so(db_url, db, world):
    staff, reqs = world
    for name in "ABC":
        wf.claim(db, staff["expert2"], reqs[name].request_id)
    at = open_queue(db_url, "t.expert")
    at.button(key="queue-next-task").click().run()
    assert any("کار آزادی" in i for i in texts(at.info))
    assert "کارتابل" in texts(at.title)


def test_a_manager_assigns_selected_rows_to_an_expert(db_url, db, world):
    staff, reqs = world
    at = open_queue(db_url, "t.manager")
    assert at.get("button") and not [b for b in at.button if b.key == "queue-next-task"]  # no stage of their own
    select_rows(at, 1)
    picker = at.selectbox(key="queue-assignee")
    assert set(picker.options) == {"کارشناس دوم", "کارشناس یکم"}  # Tehran's experts only
    picker.select(staff["expert2"].id).run()
    at.button(key="queue-assign").click().run()
    assert not at.exception
    assert assignee(db, reqs["B"]) == staff["expert2"].id
    assert any("ارجاع شد" in s for s in texts(at.success))


def test_the_export_buttons_give_csv_and_xlsx_of_the_filtered_set(db_url, db, world, monkeypatch):
    staff, reqs = world
    calls = {}
    real = DeltaGenerator.download_button

    def spy(self, label, data, *args, **kwargs):  # records what the page hands to Streamlit
        calls[kwargs["key"]] = {"data": data, **kwargs}
        return real(self, label, data, *args, **kwargs)

    monkeypatch.setattr(DeltaGenerator, "download_button", spy)
    at = open_queue(db_url, "t.expert")
    at.selectbox(key="queue-page-size").select(25).run()
    assert {b.key for b in at.get("download_button")} >= {"queue-export-csv", "queue-export-xlsx"}
    assert calls["queue-export-csv"]["mime"] == CSV_MIME == "text/csv"
    assert calls["queue-export-xlsx"]["mime"] == XLSX_MIME
    assert calls["queue-export-csv"]["file_name"].endswith(".csv")
    csv_bytes = calls["queue-export-csv"]["data"]()
    assert csv_bytes.startswith(b"\xef\xbb\xbf")
    lines = csv_bytes.decode("utf-8-sig").strip().splitlines()
    assert [line.split(",")[0] for line in lines[1:]] == [reqs[n].tracking_code for n in "ABC"]
    sheet = load_workbook(io.BytesIO(calls["queue-export-xlsx"]["data"]())).active
    assert sheet.sheet_view.rightToLeft and sheet.max_row == 4


@pytest.mark.parametrize("role", ["board", "admin"])
def test_roles_without_a_queue_cannot_open_it(db_url, db, world, role):
    make_staff(db, f"t.{role}", [role], TEHRAN_ID)
    at = signed_in(db_url, f"t.{role}")
    with pytest.raises(ValueError):
        at.switch_page("pages/queue.py")
    # Run directly by its URL, the page still refuses.
    direct = app(db_url, page="pages/queue.py")
    sign_in(direct, db_url, f"t.{role}")
    direct.run()
    assert "شما به این صفحه دسترسی ندارید." in texts(direct.error)
    assert "کارتابل" not in texts(direct.title) and not direct.dataframe


def test_a_click_on_a_row_opens_the_request_in_the_same_session(db_url, db, world):
    staff, reqs = world
    at = open_queue(db_url, "t.manager")
    at.session_state[at.dataframe[0].key] = {"selection": {"rows": [], "columns": [], "cells": [[1, "عضو"]]}}
    at.run()
    assert not at.exception
    assert "پروندهٔ درخواست" in texts(at.title)
    assert at.query_params.get("code") == reqs["B"].tracking_code


def test_the_queue_keeps_its_filters_across_a_visit_to_a_request(db_url, db, world):
    staff, reqs = world
    at = open_queue(db_url, "t.manager")
    at.text_input(key="queue-search").input(reqs["B"].tracking_code[-5:]).run()
    at.toggle(key="queue-desc").set_value(True).run()
    assert shown_codes(at) == [fa_code(reqs["B"])]  # the last digits of a code find it
    at.switch_page("pages/request.py").run()
    at.switch_page("pages/queue.py").run()  # back
    assert at.text_input(key="queue-search").value == reqs["B"].tracking_code[-5:]
    assert at.toggle(key="queue-desc").value is True
    assert shown_codes(at) == [fa_code(reqs["B"])]


def test_sorting_both_ways_and_central_staff_narrow_to_a_province(db_url, db, world):
    staff, reqs = world
    at = open_queue(db_url, "t.manager")
    at.selectbox(key="queue-sort").set_value("submitted").run()
    ascending = shown_codes(at)
    at.toggle(key="queue-desc").set_value(True).run()
    assert shown_codes(at) == list(reversed(ascending))
    assert not [s for s in at.selectbox if s.key == "queue-province"]  # a province's manager has no such filter
    make_staff(db, "c.manager", ["central_expert", "manager"], None, "مدیر مرکزی")
    at = open_queue(db_url, "c.manager")
    at.radio(key="queue-view").set_value("all").run()
    assert "استان" in at.dataframe[0].value.columns and len(shown_codes(at)) == 4
    at.selectbox(key="queue-province").set_value(ISFAHAN_ID).run()
    assert shown_codes(at) == [fa_code(reqs["F"])]
    assert list(at.dataframe[0].value["استان"]) == ["اصفهان"]


def test_the_due_column_shows_the_jalali_deadline_and_working_days(db_url, db, world, monkeypatch):
    staff, reqs = world
    # Saturday 7 Azar 1405, 10:00 in Tehran; offices work Saturday to Wednesday, 07:30-14:30.
    saturday = datetime(2026, 11, 28, 10, 0, tzinfo=TEHRAN)
    monkeypatch.setattr("domain.jalali.now_tehran", lambda: saturday)
    with db.begin() as c:
        # A: due Wednesday 11 Azar at closing, a full day from turning at risk: four whole days and a part.
        c.execute(sa.text("UPDATE request SET stage_due_at = '2026-12-02 14:30+03:30', "
                          "stage_risk_at = '2026-12-02 07:30+03:30' WHERE id = :i"), {"i": reqs["A"].request_id})
        # B: was due Sunday 1 Azar at 11:00: 3.5 h that day, Monday to Wednesday, 2.5 h this morning.
        c.execute(sa.text("UPDATE request SET stage_due_at = '2026-11-22 11:00+03:30', "
                          "stage_risk_at = '2026-11-22 09:00+03:30' WHERE id = :i"), {"i": reqs["B"].request_id})
    at = open_queue(db_url, "t.manager")
    table = at.dataframe[0].value
    due = dict(zip(table["کد رهگیری"], table["مهلت"]))
    status = dict(zip(table["کد رهگیری"], table["وضعیت مهلت"]))
    assert due[fa_code(reqs["A"])] == "۱۴۰۵/۰۹/۱۱ — ۴ روز کاری مانده"
    assert status[fa_code(reqs["A"])] == "در مهلت"
    assert due[fa_code(reqs["B"])] == "۱۴۰۵/۰۹/۰۱ — ۳ روز کاری گذشته"
    assert status[fa_code(reqs["B"])] == "تأخیر"
    assert "زمان باقی‌مانده" not in table.columns  # raw hours are gone


def test_reassignment_is_disabled_with_the_reason_when_the_rows_need_different_roles(db_url, db, world):
    staff, reqs = world
    at = open_queue(db_url, "t.manager")
    assert "نخست یک یا چند ردیف" in at.button(key="queue-assign").help  # nothing ticked yet
    step(db, {"expert": staff["expert"]}, reqs["C"].request_id, now_tehran())  # C moves on to the final review
    at.run()
    codes = shown_codes(at)
    select_rows(at, codes.index(fa_code(reqs["A"])), codes.index(fa_code(reqs["C"])))
    button = at.button(key="queue-assign")
    assert button.disabled
    assert "نقش‌های گوناگونی" in button.help and "کارشناس استان" in button.help \
        and "کارشناس بررسی نهایی" in button.help
    assert any("نقش‌های گوناگونی" in c for c in texts(at.caption))  # said on the page too, not only on hover
    # One role again: the picker offers its holders and, once one is chosen, the button works.
    select_rows(at, codes.index(fa_code(reqs["A"])))
    at.selectbox(key="queue-assignee").select(staff["expert"].id).run()
    assert not at.button(key="queue-assign").disabled


def test_claiming_rows_someone_else_holds_is_disabled_and_says_who(db_url, db, world):
    staff, reqs = world
    make_staff(db, "t.lead", ["expert", "manager"], TEHRAN_ID, "سرپرست")  # sees the whole province and claims
    wf.claim(db, staff["expert2"], reqs["A"].request_id)
    at = open_queue(db_url, "t.lead")
    at.radio(key="queue-view").set_value("all").run()
    codes = shown_codes(at)
    select_rows(at, codes.index(fa_code(reqs["A"])), codes.index(fa_code(reqs["B"])))
    claim = at.button(key="queue-claim")
    assert claim.disabled and "کارشناس دوم" in claim.help and code_fa(reqs["A"].tracking_code) in claim.help
    assert at.button(key="queue-unclaim").disabled  # B is held by nobody: nothing to release
    assert "در دست کسی نیست" in at.button(key="queue-unclaim").help
    select_rows(at, codes.index(fa_code(reqs["B"])))
    assert not at.button(key="queue-claim").disabled


def test_pages_are_picked_from_a_list_with_previous_and_next(db_url, db, world):
    staff, reqs = world
    for i in range(26):
        file_request(db, make_member(db, TEHRAN_ID, last_name=f"عضو{i}"), "legacy_registration")
    at = open_queue(db_url, "t.manager")
    assert at.selectbox(key="queue-page").value == 1
    assert at.selectbox(key="queue-page").options == ["صفحهٔ ۱ از ۲", "صفحهٔ ۲ از ۲"]
    assert at.button(key="queue-page-prev").disabled
    first = shown_codes(at)
    at.button(key="queue-page-next").click().run()
    assert at.selectbox(key="queue-page").value == 2 and at.button(key="queue-page-next").disabled
    second = shown_codes(at)
    assert len(first) == 25 and len(second) == 4 and not set(first) & set(second)
    at.selectbox(key="queue-page").set_value(1).run()
    assert shown_codes(at) == first
