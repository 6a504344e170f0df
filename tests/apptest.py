"""Helpers to drive the real app script with Streamlit's AppTest."""
from __future__ import annotations

import os

from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT


def app(db_url: str, *, page: str = "app.py") -> AppTest:
    os.environ["DATABASE_URL"] = db_url
    os.environ["APP_MODE"] = "demo"
    os.environ["APPTEST"] = "1"
    return AppTest.from_file(str(ROOT / page), default_timeout=60)


def signed_in(db_url: str, username: str) -> AppTest:
    """An app session that has already passed the login form (the form itself is tested apart)."""
    at = app(db_url)
    at.session_state["authentication_status"] = True
    at.session_state["username"] = username
    at.session_state["name"] = username
    return at.run()


def texts(elements) -> list[str]:
    return [e.value for e in elements]
