"""The members directory: one search box, filters, server-side paging, export of the filtered set,
and the "validity ending" list for outreach. Each row links to the member's profile."""
import streamlit as st
import pandas as pd

from domain.errors import DomainError
from domain.jalali import format_jalali_date, to_jalali
from domain.reference import FIELDS_FA, GRADES_FA, MEMBER_STATUSES_FA, PROVINCE_NAMES_FA
from domain.text import fa_code
from domain.text import format_number
from domain.text import to_persian_digits as fa
from logic import members as mem
from logic.export import CSV_MIME, XLSX_MIME
from ui.session import db_session, engine, require_page
from ui.widgets import int_box, row_link_table

actor = require_page(__file__)
st.title("اعضا")

MODES = {"directory": "فهرست اعضا", "expiring": "اعتبار رو به پایان"}
ALL_LABEL = "همه"

mode = st.radio("نما", list(MODES), key="mem-mode", horizontal=True, format_func=MODES.get)
expiring = mode == "expiring"

with st.container(border=True):
    search = st.text_input("جستجو", key="mem-search", max_chars=100,
                           placeholder="کد ملی، شمارهٔ عضویت، نام و نام خانوادگی یا شماره همراه")
    c1, c2, c3 = st.columns(3)
    field = c1.selectbox("رشته", [None, *FIELDS_FA], key="mem-field",
                         format_func=lambda c: ALL_LABEL if c is None else FIELDS_FA[c], placeholder="یکی را برگزینید")
    grade = c2.selectbox("پایه", [None, *GRADES_FA], key="mem-grade",
                         format_func=lambda g: ALL_LABEL if g is None else GRADES_FA[g], placeholder="یکی را برگزینید")
    licence = c3.selectbox("پروانهٔ اشتغال", [None, *mem.LICENCE_FILTERS_FA], key="mem-licence",
                           format_func=lambda v: ALL_LABEL if v is None else mem.LICENCE_FILTERS_FA[v], placeholder="یکی را برگزینید")
    d1, d2, d3 = st.columns(3)
    if expiring:
        status, validity, sort = "active", "ending", "valid_until"
        d1.caption("اعضای فعالی که اعتبار عضویتشان در این چند روز به پایان می‌رسد، به ترتیب نزدیک‌ترین پایان.")
    else:
        status = d1.selectbox("وضعیت", [None, *MEMBER_STATUSES_FA], key="mem-status",
                              format_func=lambda s: ALL_LABEL if s is None else MEMBER_STATUSES_FA[s], placeholder="یکی را برگزینید")
        validity = d2.selectbox("اعتبار عضویت", [None, *mem.VALIDITY_FILTERS_FA], key="mem-validity",
                                format_func=lambda v: ALL_LABEL if v is None else mem.VALIDITY_FILTERS_FA[v], placeholder="یکی را برگزینید")
    with d3:
        days = int_box("پایان اعتبار تا چند روز دیگر", "mem-days", 1, mem.MAX_WITHIN_DAYS,
                       default=mem.DEFAULT_WITHIN_DAYS, disabled=not expiring and validity != "ending")
    s1, s2 = st.columns(2)
    if not expiring:
        sort = s1.selectbox("ترتیب", list(mem.SORTS_FA), key="mem-sort", format_func=mem.SORTS_FA.get, placeholder="یکی را برگزینید")
    page_size = s2.selectbox("ردیف در هر صفحه", [25, 50, 100], key="mem-page-size", format_func=fa, placeholder="یکی را برگزینید")

# Any change of mode or filter starts again from the first page.
signature = (mode, search, field, grade, licence, status, validity, days, sort, page_size)
if st.session_state.get("mem-signature") != signature:
    st.session_state["mem-signature"] = signature
    st.session_state["mem-page"] = 1

flt = mem.MemberFilter(search=search, field=field, grade=grade, status=status, validity=validity,
                       within_days=int(days), licence=licence, sort=sort,
                       page=st.session_state.get("mem-page", 1), page_size=page_size)
today = mem.today_tehran()
try:
    with db_session() as session:
        result = mem.member_page(session, actor, flt, today)
except DomainError as exc:
    st.error(exc.message)
    st.stop()

rows = result.rows
if not rows:
    st.info("عضوی با این جستجو و فیلترها پیدا نشد.")
    if hint := mem.search_hint(search):
        st.warning(f"اگر کد ملی وارد کرده‌اید: {hint}")
else:
    # The grid lays columns out left to right: listed in reverse, they read right to left.
    columns = {
        "پرونده": [f"/member?id={r.id}" for r in rows],
        "شماره همراه": [fa(r.mobile) if r.mobile else "—" for r in rows],
        "پروانهٔ اشتغال": ["معتبر" if r.has_valid_licence else "ندارد" for r in rows],
    }
    if expiring:
        columns["روز باقی‌مانده"] = [mem.format_days_left(r.days_left(today)) for r in rows]
    columns.update({
        "اعتبار تا": [format_jalali_date(r.valid_until) for r in rows],
        "وضعیت": [r.status_label for r in rows],
        "پایه": [r.grade_label for r in rows],
        "رشته": [r.field_label for r in rows],
    })
    if actor.is_central:
        columns["استان"] = [PROVINCE_NAMES_FA.get(r.province_id, "") for r in rows]
    columns.update({
        "نام": [r.full_name for r in rows],
        "کد ملی": [fa_code(r.national_id) for r in rows],
        "شمارهٔ عضویت": [fa_code(r.membership_no) if r.membership_no else "—" for r in rows],
    })
    config = {"پرونده": st.column_config.LinkColumn("پرونده", display_text="باز کردن", width=65),
              # The key columns are the rightmost, the first cut off when the grid is
              # wider than the page: fixed widths that fit their codes keep them whole.
              "شمارهٔ عضویت": st.column_config.TextColumn("شمارهٔ عضویت", width=135),
              "کد ملی": st.column_config.TextColumn("کد ملی", width=105),
              "نام": st.column_config.TextColumn("نام", width=130)}
    # A click on a row opens the member here, in this tab (the «باز کردن» link opens a new one).
    row_link_table(pd.DataFrame(columns), "mem-table", columns["پرونده"], hide_index=True, width="stretch",
                   column_config=config)

st.caption(f"{format_number(result.total)} عضو — صفحهٔ {fa(result.page)} از {fa(result.pages)}")
st.session_state["mem-page"] = result.page  # the service may have clamped it
int_box("صفحه", "mem-page", 1, result.pages)

# Exports are built only when a button is pressed (a callable), from the whole filtered set.
eng = engine()
stamp = str(to_jalali(today)).replace("-", "")
name = "members-expiring" if expiring else "members"
e1, e2 = st.columns(2)
e1.download_button("خروجی CSV", data=lambda: mem.export_file(eng, actor, flt, "csv", today), mime=CSV_MIME,
                   file_name=f"{name}-{stamp}.csv", key="mem-export-csv", on_click="ignore",
                   icon=":material/download:")
e2.download_button("خروجی Excel", data=lambda: mem.export_file(eng, actor, flt, "xlsx", today), mime=XLSX_MIME,
                   file_name=f"{name}-{stamp}.xlsx", key="mem-export-xlsx", on_click="ignore",
                   icon=":material/download:")
