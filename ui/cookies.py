"""The browser's cookies without a component: read from the request that opened this session's
connection (`st.context.cookies`), written by a script in the page.

streamlit-authenticator 0.4 makes extra_streamlit_components' CookieManager on every run, and that
component, loaded in an iframe, reports every cookie back to the server as its value: the whole page
ran a second time in each new browser session (every page opened by its address, in a new tab, or
reloaded), and once more after each cookie it set, at the login. A person sees the page appear,
then the app run again, and a click made meanwhile is lost (issue #18). The widget reads its own
cookie from `st.context.cookies` already; writing needs no answer from the browser.

`install()` puts `PageCookies` where the widget makes its cookie manager.
"""
from __future__ import annotations

import json
from datetime import datetime, timezone
from email.utils import format_datetime
from types import SimpleNamespace

import streamlit as st

_EXPIRED = datetime(1970, 1, 1, tzinfo=timezone.utc)


class PageCookies:
    """What streamlit-authenticator and ui.login call on a cookie manager (`get`, `set`, `delete`),
    with the component's signatures."""

    def __init__(self, key: str = "init") -> None:  # the component's key: there is nothing to render
        self.key = key

    def get(self, cookie: str) -> str | None:
        value = st.context.cookies.get(cookie)
        return value if isinstance(value, str) else None

    def set(self, cookie: str, val: str, key: str = "set", path: str = "/", expires_at: datetime | None = None,
            **_options) -> None:
        # Strict same-site, as the component set it; Secure whenever the page came over HTTPS (make serve).
        write_cookie(f"{cookie}={val}", path, expires_at)

    def delete(self, cookie: str, key: str = "delete") -> None:
        write_cookie(f"{cookie}=", "/", _EXPIRED)


def write_cookie(pair: str, path: str, expires_at: datetime | None) -> None:
    parts = [pair, f"path={path}", "SameSite=Strict"]
    if expires_at is not None:
        parts.append("expires=" + format_datetime(expires_at.astimezone(timezone.utc), usegmt=True))
    text = json.dumps("; ".join(parts))
    st.html(f"<script>document.cookie = {text} + (location.protocol === 'https:' ? '; Secure' : '');</script>",
            unsafe_allow_javascript=True)


def install() -> None:
    """streamlit-authenticator's CookieModel calls `stx.CookieManager()` in its constructor, with no
    way to pass another; its module's `stx` is the one seam."""
    from streamlit_authenticator.models import cookie_model

    cookie_model.stx = SimpleNamespace(CookieManager=PageCookies)
