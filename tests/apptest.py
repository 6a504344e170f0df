"""Helpers to drive the real app script with Streamlit's AppTest."""
from __future__ import annotations

import functools
import os

import sqlalchemy as sa
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT


def _scan_components_once() -> None:
    """Each new AppTest looks through every installed package's metadata for Streamlit components
    (0.3 s a time here, in hundreds of tests); the packages don't change while the tests run, so the
    first answer is kept for the process."""
    try:
        from streamlit.components.v2 import manifest_scanner
    except ImportError:  # a Streamlit without custom components v2: nothing is scanned
        return
    scan = manifest_scanner.scan_component_manifests
    if not hasattr(scan, "cache_info"):
        manifest_scanner.scan_component_manifests = functools.cache(scan)


_scan_components_once()


def app(db_url: str, *, page: str = "app.py") -> AppTest:
    os.environ["DATABASE_URL"] = db_url
    os.environ["APP_MODE"] = "demo"
    os.environ["APPTEST"] = "1"
    return AppTest.from_file(str(ROOT / page), default_timeout=60)


@functools.cache
def _engine(db_url: str) -> sa.Engine:
    from db.engine import make_engine
    return make_engine(db_url)


def sign_in(at: AppTest, db_url: str, username: str) -> AppTest:
    """Give an app session a live server-side session for this user, as a passed login form would."""
    from datetime import datetime, timezone

    from db.engine import session_scope, setting
    from logic.auth import cookie_key
    from logic.sessions import start_session

    with session_scope(_engine(db_url)) as s:
        user_id = s.scalar(sa.text("SELECT id FROM staff_user WHERE username = :u"), {"u": username})
        token = start_session(s, user_id, cookie_key("demo", setting("COOKIE_KEY")), datetime.now(timezone.utc))
    at.session_state["staff-session"] = token
    at.session_state["authentication_status"] = True
    at.session_state["username"] = username
    at.session_state["name"] = username
    return at


def signed_in(db_url: str, username: str) -> AppTest:
    """An app session that has already passed the login form (the form itself is tested apart)."""
    return sign_in(app(db_url), db_url, username).run()


def texts(elements) -> list[str]:
    return [e.value for e in elements]
