"""Leave Streamlit's legacy multipage mode on a fresh server.

A server process starts in the old "pages folder" mode (because this project has a `pages/`
directory) until the entry script has called `st.navigation` once. In that mode the very first
request runs a file under `pages/` directly by its URL, with a sidebar listing every page file. Each
page calls this first: it switches the process to `st.navigation` mode and reruns, so even that
first request goes through app.py's login and role-based navigation."""
from __future__ import annotations

import os

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager


def leave_legacy_pages_mode() -> None:
    # AppTest resets the flag before every run on purpose; rerunning there would only drop the
    # run's button presses, so the tests' AppTest helper turns this off (tests/apptest.py).
    if PagesManager.uses_pages_directory and not os.environ.get("APPTEST"):
        PagesManager.uses_pages_directory = False
        st.rerun()
