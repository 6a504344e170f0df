"""The fee form the request screen includes at FEE stages, driven with AppTest through a tiny script
that only calls `render_fee_form`."""
from __future__ import annotations

import os
from datetime import timedelta

import jdatetime
import sqlalchemy as sa
from streamlit.testing.v1 import AppTest

from domain.jalali import now_tehran, to_jalali
from domain.reference import TEHRAN_ID
from logic import fees
from tests.apptest import texts
from tests.factories import END_1402, add_tariff, assessments, file_request, make_member, make_staff, request


def fee_form_script():
    import streamlit as st

    from ui.fee_form import render_fee_form

    render_fee_form(st.session_state["test-actor"], st.session_state["test-request"])


def form(db_url, actor, request_id) -> AppTest:
    os.environ["DATABASE_URL"] = db_url
    at = AppTest.from_function(fee_form_script, default_timeout=60)
    at.session_state["test-actor"] = actor
    at.session_state["test-request"] = request_id
    return at.run()


THIS_YEAR = to_jalali(now_tehran()).year


def renewal_at_fee_stage(db, valid_until=END_1402):
    """A renewal of a member whose validity ended with 1402, tariffs from 1403 to this year."""
    for y in range(1403, THIS_YEAR + 1):
        add_tariff(db, y, annual_fee=1_000_000 * (y - 1400))
    member = make_member(db, TEHRAN_ID, valid_until=valid_until)
    return file_request(db, member, "membership_renewal", submitted_at=now_tehran() - timedelta(minutes=5)).request_id


def metric_values(at):
    return [m.value for m in at.metric]


def test_the_expert_sees_the_quote_and_saves_it_with_a_persian_debt(db_url, db):
    expert = make_staff(db, "t.expert", ["expert"], TEHRAN_ID, "کارشناس یکم")
    rid = renewal_at_fee_stage(db)
    at = form(db_url, expert, rid)
    assert not at.exception
    assert any("۱۴۰۲/۱۲/۲۹" in m for m in texts(at.markdown))
    assert at.selectbox(key="fee-through-year").value == THIS_YEAR
    lines = at.dataframe[0].value
    assert list(lines["سال"]) == [fees.fa(y) for y in range(1403, THIS_YEAR + 1)]
    years_total = sum(1_000_000 * (y - 1400) for y in range(1403, THIS_YEAR + 1))
    at.text_input(key="fee-prior-debt").input("۲٬۵۰۰٬۰۰۰").run()
    at.text_area(key="fee-note").input("بدهی سال ۱۴۰۱ پرداخت نشده است").run()
    assert metric_values(at) == [f"{fees.format_rial(years_total + 2_500_000)} ریال"]
    at.button(key="fee-save").click().run()
    assert not at.exception
    assert any("مبلغ تمدید تعیین شد" in s for s in texts(at.success))
    [a] = assessments(db, rid)
    assert (a["prior_debt"], a["total"], a["note"]) == (2_500_000, years_total + 2_500_000,
                                                        "بدهی سال 1401 پرداخت نشده است")
    assert request(db, rid)["version"] == 1
    assert any("نسخهٔ ۱ (فعلی)" in e.label for e in at.expander)


def test_a_correction_needs_a_reason_and_both_versions_are_listed(db_url, db):
    expert = make_staff(db, "t.expert", ["expert"], TEHRAN_ID)
    rid = renewal_at_fee_stage(db)
    fees.determine_renewal_fee(db, expert, rid, 1, 1403, 0, None)
    at = form(db_url, expert, rid)
    assert at.selectbox(key="fee-through-year").value == 1403  # the current assessment's years
    at.selectbox(key="fee-through-year").set_value(1404).run()
    at.button(key="fee-save").click().run()
    assert any("دلیل اصلاح" in e for e in texts(at.error))
    assert len(assessments(db, rid)) == 1
    at.text_input(key="fee-reason").input("عضو تمدید دو ساله خواست").run()
    at.button(key="fee-save").click().run()
    assert len(assessments(db, rid)) == 2 and assessments(db, rid)[1]["reason"] == "عضو تمدید دو ساله خواست"
    labels = [e.label for e in at.expander]
    assert labels[0].startswith("نسخهٔ ۲ (فعلی)") and labels[1].startswith("نسخهٔ ۱")
    assert any("عضو تمدید دو ساله خواست" in m for m in texts(at.markdown))
    assert at.text_input(key="fee-reason").value == ""


def test_a_bad_debt_is_shown_in_persian_and_cannot_be_saved(db_url, db):
    expert = make_staff(db, "t.expert", ["expert"], TEHRAN_ID)
    rid = renewal_at_fee_stage(db)
    at = form(db_url, expert, rid)
    at.text_input(key="fee-prior-debt").input("-۵۰۰").run()
    assert any("منفی" in e for e in texts(at.error))
    assert at.button(key="fee-save").disabled
    at.text_input(key="fee-prior-debt").input("12.5").run()
    assert any("اعشار" in e for e in texts(at.error))
    assert assessments(db, rid) == []


def test_a_missing_tariff_year_blocks_saving(db_url, db, owner_engine):
    expert = make_staff(db, "t.expert", ["expert"], TEHRAN_ID)
    rid = renewal_at_fee_stage(db)
    with owner_engine.begin() as c:  # the app never deletes a tariff
        c.execute(sa.text("DELETE FROM fee_tariff WHERE jalali_year = 1404"))
    at = form(db_url, expert, rid)
    assert any("۱۴۰۴" in e for e in texts(at.error))
    assert at.button(key="fee-save").disabled


def test_other_roles_see_the_form_read_only(db_url, db):
    make_staff(db, "t.expert", ["expert"], TEHRAN_ID)
    finance = make_staff(db, "t.finance", ["finance"], TEHRAN_ID)
    rid = renewal_at_fee_stage(db)
    at = form(db_url, finance, rid)
    assert not at.exception
    assert at.button(key="fee-save").disabled and at.text_input(key="fee-prior-debt").disabled
    assert len(at.info) == 1


def test_another_province_sees_nothing(db_url, db):
    other = make_staff(db, "i.expert", ["expert"], 4)
    rid = renewal_at_fee_stage(db)
    at = form(db_url, other, rid)
    assert any("استان دیگری" in e for e in texts(at.error))
    assert not at.dataframe


def test_the_licence_renewal_editor_marks_years_free_or_paid(db_url, db):
    expert = make_staff(db, "t.expert", ["expert"], TEHRAN_ID)
    add_tariff(db, THIS_YEAR, licence_renewal_fee=3_000_000)
    rid = file_request(db, make_member(db, TEHRAN_ID), "licence_renewal",
                       submitted_at=now_tehran() - timedelta(minutes=5)).request_id
    at = form(db_url, expert, rid)
    at.selectbox(key="fee-lic-count").set_value(3).run()
    at.checkbox(key=f"fee-lic-free-{THIS_YEAR + 1}").check().run()
    assert metric_values(at) == [f"{fees.format_rial(6_000_000)} ریال"]
    at.button(key="fee-save").click().run()
    assert not at.exception
    [a] = assessments(db, rid)
    assert [(l["year"], l["free"]) for l in a["lines"]] == [(THIS_YEAR, False), (THIS_YEAR + 1, True),
                                                           (THIS_YEAR + 2, False)]
    assert a["total"] == 6_000_000


def test_the_licence_years_default_to_what_the_member_asked_for(db_url, db):
    expert = make_staff(db, "t.expert", ["expert"], TEHRAN_ID)
    add_tariff(db, THIS_YEAR, licence_renewal_fee=3_000_000)
    rid = file_request(db, make_member(db, TEHRAN_ID), "licence_renewal", {"renewal_years": "۲"},
                       submitted_at=now_tehran() - timedelta(minutes=5)).request_id
    at = form(db_url, expert, rid)
    assert at.selectbox(key="fee-lic-count").value == 2
    assert metric_values(at) == [f"{fees.format_rial(6_000_000)} ریال"]


def test_at_other_stages_only_the_history_shows(db_url, db):
    finance = make_staff(db, "t.finance", ["finance"], TEHRAN_ID)
    add_tariff(db, THIS_YEAR)
    rid = file_request(db, make_member(db, TEHRAN_ID), "card_reissue",
                    submitted_at=now_tehran() - timedelta(minutes=5)).request_id
    at = form(db_url, finance, rid)
    assert not at.exception
    assert not at.button  # no save button
    assert any("سامانه (از تعرفه)" in e.label for e in at.expander)


def test_a_mid_year_validity_end_is_quoted_from_the_next_year(db_url, db):
    """A record from before the national portal ends on 1402/06/15: the form shows it, says the
    year 1402 counts as paid, and quotes from 1403 like a validity ended on 1402/12/29."""
    expert = make_staff(db, "t.expert", ["expert"], TEHRAN_ID, "کارشناس یکم")
    mid_1402 = jdatetime.date(1402, 6, 15).togregorian()
    rid = renewal_at_fee_stage(db, valid_until=mid_1402)
    at = form(db_url, expert, rid)
    assert not at.exception and not at.error
    assert any("۱۴۰۲/۰۶/۱۵" in m for m in texts(at.markdown))
    assert any("سال‌های تمدیدنشده از ۱۴۰۳ آغاز می‌شوند" in c for c in texts(at.caption))
    assert list(at.dataframe[0].value["سال"]) == [fees.fa(y) for y in range(1403, THIS_YEAR + 1)]
    at.button(key="fee-save").click().run()
    assert not at.exception and any("مبلغ تمدید تعیین شد" in s for s in texts(at.success))
    [a] = assessments(db, rid)
    assert [line["year"] for line in a["lines"]] == list(range(1403, THIS_YEAR + 1))
