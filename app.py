"""Entry point: login, then the pages the signed-in user's roles allow."""
from __future__ import annotations

import streamlit as st

from logic.auth import ConfigError
from ui.login import (LOGIN_FIELDS, delete_cookie_if_pending, logout_button, make_authenticator, set_cookie_if_pending,
                      show_login_notices)
from ui.navigation import PAGES, build_navigation
from ui.session import signed_in_actor, signing_key
from ui.theme import apply_theme

st.set_page_config(page_title="سامانهٔ پیشخوان سازمان نظام مهندسی ساختمان استان", page_icon="🏛️",
                   layout="wide", initial_sidebar_state="expanded")
apply_theme()

try:
    key = signing_key()
except ConfigError as exc:
    st.error(exc.message)
    st.stop()

authenticator = make_authenticator(key)
# Checked in the database on every run: a revoked, idle (30 min) or old (10 h) session, or a locked or
# deactivated account, loses access at once, whichever app process serves the run.
actor = signed_in_actor(key)
if actor is None and st.session_state.get("authentication_status"):
    # Signed in without a live session (the widget's own cookie of an earlier version, a session that
    # just ended): clear the widget's state so it shows the form again.
    authenticator.logout(location="unrendered")


def login_page() -> None:
    st.title("سامانهٔ پیشخوان سازمان نظام مهندسی ساختمان استان")
    authenticator.login(location="main", fields=LOGIN_FIELDS, key="login-form")
    show_login_notices()
    if st.session_state.get("authentication_status"):
        st.rerun()


if actor is None:
    # Every app URL shows the login form while logged out (instead of "page not found"), and the
    # page that was asked for, with its query (a link such as /request?code=...), opens after login.
    # The one exception is /public, the board's published statistics, which anyone may read: it is
    # registered only here, for visitors who are not signed in, and links nowhere else.
    public = st.Page("pages/public_stats.py", title="آمار منتشرشده", icon=":material/bar_chart:", url_path="public")
    login_pages = [st.Page(login_page, title="ورود", icon=":material/login:", url_path="login", default=True), public]
    login_pages += [st.Page(login_page, title="ورود", url_path=spec.url_path) for spec in PAGES]
    asked = st.navigation(login_pages, position="hidden")
    delete_cookie_if_pending(authenticator)
    if asked.url_path not in ("login", public.url_path):
        st.session_state["after_login"] = (asked.url_path, st.query_params.to_dict())
    asked.run()
    if asked.url_path != public.url_path:
        st.page_link(public, label="آمار منتشرشدهٔ سازمان (بدون نیاز به ورود)", icon=":material/bar_chart:")
    st.stop()

st.session_state["actor"] = actor
set_cookie_if_pending(authenticator)
with st.sidebar:
    st.markdown(f"**{actor.full_name}**  \n{actor.roles_label}  \n{actor.province_label}")
    logout_button(authenticator, actor, key)

navigation, pages_by_path = build_navigation(actor)
target = st.session_state.pop("after_login", None)
if target and target[0] in pages_by_path and target[0] != "home":
    # Finish the journey the visitor started before logging in; unknown or forbidden pages fall to home.
    st.switch_page(pages_by_path[target[0]], query_params=target[1])
navigation.run()
