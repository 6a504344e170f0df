"""Home: today's date and the actor's headline figures."""
import streamlit as st

from domain.jalali import format_jalali_date, now_tehran
from domain.text import format_number as fa
from logic.dashboard import summary
from ui.session import db_session, require_page

actor = require_page(__file__)
now = now_tehran()
st.title("پیشخوان")
st.caption(f"امروز {format_jalali_date(now)} — {actor.province_label}")

with db_session() as session:
    s = summary(session, actor, now)

cols = st.columns(3)
cols[0].metric("درخواست‌های در جریان", fa(s.open_requests))
cols[1].metric("کارهای برداشته‌شده توسط من", fa(s.mine))
cols[2].metric("اعضای فعال", fa(s.active_members))
cols = st.columns(3)
cols[0].metric("گذشته از مهلت", fa(s.overdue))
cols[1].metric("مهلت تا پایان امروز", fa(s.due_today))
cols[2].metric("پایان‌یافته در این ماه", fa(s.closed_this_month))
