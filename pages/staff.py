"""Administrators manage staff accounts: create, roles, deactivate, reset password."""
import streamlit as st

from domain.jalali import format_jalali_datetime
from domain.reference import PROVINCE_NAMES_FA
from domain.roles import ALL_ROLES, role_label
from domain.text import ltr
from logic import staff as svc
from ui.session import db_session, engine, require_page
from ui.widgets import run_action, show_flash

actor = require_page(__file__)
st.title("کاربران")
show_flash()

with db_session() as session:
    rows = svc.list_staff(session, actor)


def province_name(pid):
    return "سازمان مرکزی" if pid is None else PROVINCE_NAMES_FA[pid]


st.dataframe([{"نام کاربری": ltr(r.username), "نام": r.full_name, "نقش‌ها": "، ".join(role_label(x) for x in r.roles),
               "استان": province_name(r.province_id), "وضعیت": "فعال" if r.is_active else "غیرفعال",
               "قفل تا": format_jalali_datetime(r.locked_until) if r.locked_until else ""} for r in rows],
             hide_index=True, width="stretch")

with st.expander("کاربر تازه", expanded=False):
    username = st.text_input("نام کاربری (لاتین)", key="staff-new-username")
    full_name = st.text_input("نام و نام خانوادگی", key="staff-new-name")
    roles = st.multiselect("نقش‌ها", list(ALL_ROLES), key="staff-new-roles", format_func=role_label, placeholder="برگزینید")
    if actor.province_id is None:
        province = st.selectbox("استان", [None, *PROVINCE_NAMES_FA], key="staff-new-province", format_func=province_name, placeholder="یکی را برگزینید")
    else:
        province = actor.province_id
    password = st.text_input("گذرواژهٔ اولیه", type="password", key="staff-new-password")
    st.button("ایجاد کاربر", key="staff-create", type="primary", on_click=lambda: run_action(
        svc.create_staff, engine(), actor, username=username, full_name=full_name, roles=roles,
        province_id=province, password=password, success="کاربر ایجاد شد."))

if rows:
    st.subheader("ویرایش کاربر")
    picked = st.selectbox("کاربر", rows, key="staff-pick", format_func=lambda r: f"{r.full_name} ({ltr(r.username)})", placeholder="یکی را برگزینید")
    new_roles = st.multiselect("نقش‌ها", list(ALL_ROLES), default=picked.roles, key=f"staff-roles-{picked.id}",
                               format_func=role_label, placeholder="برگزینید")
    c1, c2 = st.columns(2)
    c1.button("ذخیرهٔ نقش‌ها", key="staff-save-roles", on_click=lambda: run_action(
        svc.update_staff, engine(), actor, picked.id, roles=new_roles, full_name=picked.full_name,
        success="نقش‌ها ذخیره شد."))
    c2.button("غیرفعال کردن" if picked.is_active else "فعال کردن", key="staff-toggle-active",
              on_click=lambda: run_action(svc.set_active, engine(), actor, picked.id, not picked.is_active,
                                          success="وضعیت کاربر تغییر کرد."))
    new_password = st.text_input("گذرواژهٔ تازه", type="password", key="staff-reset-password")
    st.button("بازنشانی گذرواژه", key="staff-reset", on_click=lambda: run_action(
        svc.reset_password, engine(), actor, picked.id, new_password,
        success="گذرواژه بازنشانی شد و نشست‌های قبلی کاربر پایان یافت."))
