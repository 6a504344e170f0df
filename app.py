"""Entry point: login, then the pages the signed-in user's roles allow."""
from __future__ import annotations

from datetime import datetime, timezone

import streamlit as st
import streamlit_authenticator as stauth

from db.engine import setting
from domain.jalali import now_tehran
from logic.auth import (ConfigError, cookie_issued_at, cookie_key, failed_username, load_actor, login_credentials,
                        logout, record_login_failure, record_login_success)
from ui.navigation import PAGES, build_navigation
from ui.session import db_session, engine
from ui.theme import apply_theme

st.set_page_config(page_title="سامانهٔ پیشخوان سازمان نظام مهندسی ساختمان استان", page_icon="🏛️",
                   layout="wide", initial_sidebar_state="expanded")
apply_theme()

LOGIN_FIELDS = {"Form name": "ورود کارکنان", "Username": "نام کاربری", "Password": "گذرواژه",
                "Login": "ورود", "Captcha": "کد امنیتی"}

try:
    signing_key = cookie_key(setting("APP_MODE"), setting("COOKIE_KEY"))
except ConfigError as exc:
    st.error(exc.message)
    st.stop()

with db_session() as session:
    credentials = login_credentials(session)

EXPIRY_DAYS = float(setting("COOKIE_EXPIRY_DAYS", "0.5"))
authenticator = stauth.Authenticate(credentials, cookie_name="nezam_backoffice_auth", cookie_key=signing_key,
                                    cookie_expiry_days=EXPIRY_DAYS, auto_hash=False)


def signed_in_by_form(info: dict) -> None:
    record_login_success(engine(), info["username"])
    st.session_state["signed-in-at"] = datetime.now(timezone.utc)


def login_page() -> None:
    st.title("سامانهٔ پیشخوان سازمان نظام مهندسی ساختمان استان")
    authenticator.login(location="main", fields=LOGIN_FIELDS, key="login-form",
                        callback=signed_in_by_form)
    if st.session_state.get("authentication_status") is False:
        username = failed_username(credentials)
        st.error(record_login_failure(engine(), username) if username else "نام کاربری یا گذرواژه نادرست است.")
    elif st.session_state.get("authentication_status"):
        st.rerun()


status = st.session_state.get("authentication_status")
actor = None
if status and "signed-in-at" not in st.session_state:
    # Signed in by a cookie issued earlier (the form's callback records its own time): a revocation
    # (logout, password change) voids sessions signed in before it. A cookie whose issue time cannot
    # be read counts as issued long ago, so any revocation voids it too (fail closed).
    issued = cookie_issued_at(authenticator.cookie_controller.cookie_model.token, EXPIRY_DAYS)
    st.session_state["signed-in-at"] = issued or datetime(1970, 1, 1, tzinfo=timezone.utc)
if status:
    with db_session() as session:
        # Read on every run so a deactivated or locked account loses access at once.
        actor = load_actor(session, st.session_state["username"], now=now_tehran(),
                           signed_in_at=st.session_state.get("signed-in-at"))
    if actor is None:
        authenticator.logout(location="unrendered")
        for key in ("actor", "login-cookie-set", "signed-in-at"):
            st.session_state.pop(key, None)

if actor is None:
    # Every app URL shows the login form while logged out (instead of "page not found"), and the
    # page that was asked for, with its query (a link such as /request?code=...), opens after login.
    # The one exception is /public, the board's published statistics, which anyone may read: it is
    # registered only here, for visitors who are not signed in, and links nowhere else.
    public = st.Page("pages/public_stats.py", title="آمار منتشرشده", icon=":material/bar_chart:", url_path="public")
    login_pages = [st.Page(login_page, title="ورود", icon=":material/login:", url_path="login", default=True), public]
    login_pages += [st.Page(login_page, title="ورود", url_path=spec.url_path) for spec in PAGES]
    asked = st.navigation(login_pages, position="hidden")
    if asked.url_path not in ("login", public.url_path):
        st.session_state["after_login"] = (asked.url_path, st.query_params.to_dict())
    asked.run()
    if asked.url_path != public.url_path:
        st.page_link(public, label="آمار منتشرشدهٔ سازمان (بدون نیاز به ورود)", icon=":material/bar_chart:")
    st.stop()

st.session_state["actor"] = actor
if not st.session_state.get("login-cookie-set"):
    # Set the re-login cookie in a full run: the login form's own run is cut short by its rerun,
    # before the browser could store the cookie.
    authenticator.cookie_controller.set_cookie()
    st.session_state["login-cookie-set"] = True
with st.sidebar:
    st.markdown(f"**{actor.full_name}**  \n{actor.roles_label}  \n{actor.province_label}")
    authenticator.logout(button_name="خروج", location="sidebar", key="logout-button",
                         callback=lambda _: logout(engine(), actor))
if not st.session_state.get("authentication_status"):
    for key in ("actor", "login-cookie-set", "signed-in-at"):
        st.session_state.pop(key, None)
    st.rerun()

navigation, pages_by_path = build_navigation(actor)
target = st.session_state.pop("after_login", None)
if target and target[0] in pages_by_path and target[0] != "home":
    # Finish the journey the visitor started before logging in; unknown or forbidden pages fall to home.
    st.switch_page(pages_by_path[target[0]], query_params=target[1])
navigation.run()
