"""Home: today's date and, for each of the actor's roles, what waits for them, each figure a link to
the list it counts (the queue in the matching view, the payments or the releases page)."""
import streamlit as st

from domain.jalali import format_jalali_date, now_tehran
from domain.text import format_number as fa
from logic.dashboard import role_figures, summary
from ui.session import db_session, require_page

actor = require_page(__file__)
now = now_tehran()
st.title("پیشخوان")
st.caption(f"امروز {format_jalali_date(now)} — {actor.province_label}")

PAGES = {"payments": "pages/payments.py", "releases": "pages/releases.py"}

with db_session() as session:
    figures = role_figures(session, actor, now)
    s = summary(session, actor, now)

if figures:
    st.subheader("کارهای امروز")
    for row in range(0, len(figures), 3):
        for col, f in zip(st.columns(3), figures[row:row + 3]):
            with col, st.container(border=True):
                value = f"بیش از {fa(f.value)}" if f.capped else fa(f.value)
                st.metric(f.label, value)
                page, _, view = f.target.partition(":")
                if page == "queue":
                    st.page_link("pages/queue.py", label="باز کردن فهرست", icon=":material/list:",
                                 query_params={"view": view})
                else:
                    st.page_link(PAGES[page], label="باز کردن فهرست", icon=":material/list:")

st.subheader("نمای کلی" + ("ی استان" if actor.province_id else "ی همهٔ استان‌ها"))
st.caption("«درخواست‌های در جریان»: همهٔ درخواست‌های باز، چه نزد کارشناسان و چه در انتظار عضو (پرداخت، اصلاح).")
cols = st.columns(3)
cols[0].metric("درخواست‌های در جریان", fa(s.open_requests))
cols[1].metric("پایان‌یافته در این ماه", fa(s.closed_this_month))
cols[2].metric("اعضای فعال", fa(s.active_members))
