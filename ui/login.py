"""The login widget (streamlit-authenticator) over logic.login, and the session cookie.

streamlit-authenticator keeps what it is good at: the form, its session-state keys
(`authentication_status`, `username`, `name`) and the logout button. Its password check and its
cookie are not used: the check is `logic.login.attempt_login` (the lockout counter taken before the
check, the throttles, the dummy bcrypt run, the audit), put in place of the widget's own on each run's
instance; and its cookie holds only a username and an expiry, which cannot be revoked one session at a
time nor carry an idle time, so its expiry is 0 (off) and the cookie set here carries a server-side
session token instead (`logic.sessions`)."""
from __future__ import annotations

from datetime import datetime, timezone

import streamlit as st
import streamlit_authenticator as stauth

from domain.actor import Actor
from domain.login_policy import ABSOLUTE_TIMEOUT
from logic.auth import login_credentials
from logic.login import attempt_login
from logic.sessions import SESSION_COOKIE, end_session
from ui.cookies import install as install_page_cookies
from ui.session import COOKIE_PENDING, ENDED, REFUSAL, TOKEN, db_session, engine, forget_session

install_page_cookies()
COOKIE_GONE_PENDING = "session-cookie-delete-pending"

# The authenticator's own (username-only) cookie of earlier versions: still read by the widget, so
# a browser that holds one is signed out and the cookie deleted (it carries no session).
LEGACY_COOKIE = "nezam_backoffice_auth"
LOGIN_FIELDS = {"Form name": "ورود کارکنان", "Username": "نام کاربری", "Password": "گذرواژه",
                "Login": "ورود", "Captcha": "کد امنیتی"}


def make_authenticator(key: str) -> stauth.Authenticate:
    with db_session() as session:
        credentials = login_credentials(session)
    # login_sleep_time: the widget waits 0.7 s on every signed-out run (each view of the form, each
    # attempt) for its cookie component to report the cookies; they are read from the request here
    # (ui.cookies), so there is nothing to wait for. Attempts are slowed by the throttles instead.
    authenticator = stauth.Authenticate(credentials, cookie_name=LEGACY_COOKIE, cookie_key=key,
                                        cookie_expiry_days=0, auto_hash=False, login_sleep_time=0)

    def check(username: str, password: str) -> bool:
        result = attempt_login(engine(), username, password, key=key)
        if result.ok:
            st.session_state[TOKEN] = result.session_token
            st.session_state[COOKIE_PENDING] = True
        else:
            st.session_state[REFUSAL] = result.message
        return result.ok

    # The widget calls this method (streamlit-authenticator 0.4, models/authentication_model.py) after
    # lower-casing the username; on True it fills its session-state keys for this username.
    authenticator.authentication_controller.authentication_model.check_credentials = check
    return authenticator


def show_login_notices() -> None:
    if ended := st.session_state.pop(ENDED, None):
        st.warning(ended)
    if refusal := st.session_state.pop(REFUSAL, None):
        st.error(refusal)


def set_cookie_if_pending(authenticator: stauth.Authenticate) -> None:
    """Store the session token in the browser, in a full run: the login form's own run is cut short by
    its rerun, before the browser could store the cookie."""
    if st.session_state.pop(COOKIE_PENDING, False):
        authenticator.cookie_controller.cookie_model.cookie_manager.set(
            SESSION_COOKIE, st.session_state[TOKEN], key="set-session-cookie",
            expires_at=datetime.now(timezone.utc) + ABSOLUTE_TIMEOUT)


def logout_button(authenticator: stauth.Authenticate, actor: Actor, key: str) -> None:
    authenticator.logout(button_name="خروج", location="sidebar", key="logout-button",
                         callback=lambda _: end_session(engine(), actor, st.session_state.get(TOKEN), key))
    if not st.session_state.get("authentication_status"):
        forget_session()
        # Deleted by the login form's run: this run ends here, before the page would get the script.
        st.session_state[COOKIE_GONE_PENDING] = True
        st.rerun()


def delete_cookie_if_pending(authenticator: stauth.Authenticate) -> None:
    """After a logout, take the session cookie out of the browser (the session itself is already
    revoked in the database)."""
    if st.session_state.pop(COOKIE_GONE_PENDING, False):
        authenticator.cookie_controller.cookie_model.cookie_manager.delete(SESSION_COOKIE, key="delete-session-cookie")
