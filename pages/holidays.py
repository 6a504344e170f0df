"""Administrators keep the working calendar: closed days, the working week and office hours."""
import jdatetime
import streamlit as st

from domain.jalali import format_jalali_date, now_tehran, to_gregorian, to_jalali
from domain.reference import PROVINCE_NAMES_FA
from domain.text import to_persian_digits as fa
from logic import holidays as hol
from logic.settings import office_hours
from ui.session import db_session, engine, require_page
from ui.widgets import jalali_date_input, run_action, show_flash

WEEKDAYS_FA = {5: "شنبه", 6: "یکشنبه", 0: "دوشنبه", 1: "سه‌شنبه", 2: "چهارشنبه", 3: "پنجشنبه", 4: "جمعه"}

actor = require_page(__file__)
st.title("تقویم کاری و تعطیلات")
st.caption("هر تغییر، مهلت درخواست‌های باز را دوباره محاسبه می‌کند و در گزارش رویدادها ثبت می‌شود.")
show_flash()

this_year = to_jalali(now_tehran()).year
year = st.selectbox("سال", [this_year - 1, this_year, this_year + 1], index=1, format_func=fa, key="hol-year", placeholder="یکی را برگزینید")
with db_session() as session:
    rows = hol.list_holidays(session, actor, year)

st.subheader(f"تعطیلات سال {fa(year)}")
if rows:
    st.dataframe(
        [{"تاریخ": format_jalali_date(r.day), "روز": WEEKDAYS_FA[r.day.weekday()], "عنوان": r.name_fa,
          "دامنه": "سراسری" if r.province_id is None else PROVINCE_NAMES_FA[r.province_id],
          "منبع": "رسمی" if r.source == "official" else "دستی"} for r in rows],
        hide_index=True, width="stretch")
else:
    st.info("برای این سال تعطیلی‌ای ثبت نشده است.")

removable = [r for r in rows if actor.province_id is None or r.province_id == actor.province_id]
if removable:
    with st.container(border=True):
        choice = st.selectbox("حذف تعطیلی", removable, key="hol-remove-choice",
                              format_func=lambda r: f"{format_jalali_date(r.day)} — {r.name_fa}", placeholder="یکی را برگزینید")
        st.button("حذف", key="hol-remove", on_click=lambda: run_action(hol.remove_closure, engine(), actor, choice.id))

with st.container(border=True):
    st.markdown("**افزودن تعطیلی** (مانند تعطیلی اضطراری)")
    day = jalali_date_input("تاریخ (شمسی)", key="hol-day")
    name = st.text_input("عنوان", key="hol-name", max_chars=200)
    if actor.province_id is None:
        scope = st.selectbox("دامنه", [None, *PROVINCE_NAMES_FA], key="hol-scope",
                             format_func=lambda p: "سراسری" if p is None else PROVINCE_NAMES_FA[p], placeholder="یکی را برگزینید")
    else:
        scope = actor.province_id
        st.caption(f"دامنه: استان {PROVINCE_NAMES_FA[scope]}")
    st.button("ثبت تعطیلی", key="hol-add", type="primary", disabled=day is None,
              on_click=lambda: run_action(hol.add_closure, engine(), actor, day, name, province_id=scope))

if actor.province_id is None:
    span = {to_gregorian(jdatetime.date(year, 1, 1)).year, to_gregorian(jdatetime.date(year, 12, 29)).year}
    st.button(f"بارگذاری تعطیلات رسمی سال {fa(year)}", key="hol-load-official",
              on_click=lambda: run_action(hol.load_official_holidays, engine(), actor, sorted(span)))

st.subheader("روزها و ساعات کاری")
province = actor.province_id or st.selectbox("استان", list(PROVINCE_NAMES_FA), key="hours-province",
                                             format_func=PROVINCE_NAMES_FA.get, placeholder="یکی را برگزینید")
with db_session() as session:
    current = office_hours(session, province)
with st.container(border=True):
    days = st.multiselect("روزهای کاری", list(WEEKDAYS_FA), default=current.workdays, key="hours-days",
                          format_func=WEEKDAYS_FA.get, placeholder="برگزینید")
    c1, c2 = st.columns(2)
    opens = c1.time_input("آغاز ساعت اداری", current.opens, key="hours-opens", step=900)
    closes = c2.time_input("پایان ساعت اداری", current.closes, key="hours-closes", step=900)
    st.button("ذخیرهٔ روزها و ساعات کاری", key="hours-save",
              on_click=lambda: run_action(hol.update_office_hours, engine(), actor, province, workdays=days,
                                          opens=opens, closes=closes))
