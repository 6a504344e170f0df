"""Per-process engine, per-action sessions, and the signed-in actor of a page run."""
from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import contextmanager
from typing import Iterator, TypeVar

import sqlalchemy as sa
import streamlit as st
from sqlalchemy.orm import Session

from db import read_replica
from db.engine import database_url, make_engine, session_scope, setting
from domain.actor import Actor

T = TypeVar("T")
log = logging.getLogger(__name__)
TOKEN = "staff-session"            # this browser session's login token (server memory only)
COOKIE_PENDING = "session-cookie-pending"
COOKIE_READ = "session-cookie-read"
REFUSAL = "login-refusal"
ENDED = "session-ended"


@st.cache_resource(show_spinner=False)
def _engine_for(url: str) -> sa.Engine:
    return make_engine(url)


def engine() -> sa.Engine:
    """One engine per process and database URL."""
    return _engine_for(database_url())


@contextmanager
def db_session() -> Iterator[Session]:
    """A read session for a page; if the database is unreachable the page says so and stops (the
    next rerun reconnects by itself: the pool pings connections before use)."""
    from domain.errors import ServiceUnavailable

    try:
        with session_scope(engine()) as session:
            yield session
    except ServiceUnavailable as exc:
        st.error(exc.message)
        st.stop()


def read(work: Callable[[Session], T], same_as: read_replica.Freshness | None = None
         ) -> tuple[T, read_replica.Freshness]:
    """`work(session)` for a page that accepts seconds of lag (KPIs, analytics, public statistics):
    on the read standby (READ_DATABASE_URL) when it is up and current enough, else on the primary,
    with where and how current (show it with `ui.freshness.caption`). A read the standby fails (a
    recovery conflict, a lost connection, rollups only the primary can rebuild) is read again on
    the primary. `same_as`: the freshness of an earlier read of this page run, to read where it
    read without checking again (so a page never reads a row on the primary, then misses it on a
    lagging standby). Actions never come here."""
    from domain.errors import Conflict, ServiceUnavailable

    primary = engine()
    if same_as is None:
        target, fresh = read_replica.route_reads(primary)
    else:
        target, fresh = (read_replica.read_engine() or primary) if same_as.on_standby else primary, same_as
    if target is not primary:
        try:
            with session_scope(target) as session:
                result = work(session)
                upkeep = read_replica.left_for_primary(session)
        except (ServiceUnavailable, Conflict, read_replica.NeedsPrimary) as exc:
            log.warning("read on the standby failed, reading the primary: %r", exc)
            fresh = fresh.fell_back(read_replica.NEEDS_PRIMARY if isinstance(exc, read_replica.NeedsPrimary)
                                    else read_replica.FAILED)
        else:
            for job in upkeep:  # maintenance only; the page has its numbers either way
                try:
                    job(primary)
                except Exception:  # noqa: BLE001
                    log.exception("maintenance on the primary after a standby read failed")
            return result, fresh
    with db_session() as session:
        return work(session), fresh


def signing_key() -> str:
    """COOKIE_KEY (ConfigError outside demo mode when it is missing or weak)."""
    from logic.auth import cookie_key

    return cookie_key(setting("APP_MODE"), setting("COOKIE_KEY"))


def request_cookie(name: str) -> str | None:
    """A cookie the browser sent when this session's connection opened (AppTest has no browser and
    gives no strings here)."""
    value = st.context.cookies.get(name)
    return value if isinstance(value, str) else None


def forget_session() -> None:
    for k in (TOKEN, COOKIE_PENDING, "actor"):
        st.session_state.pop(k, None)


def signed_in_actor(key: str) -> Actor | None:
    """The actor of this run from its server-side session (this browser session's, else the cookie's,
    read once per browser session), checked in the database on every run; None when there is none, it
    was revoked, it timed out (a message for the login screen is left) or the account is locked or
    deactivated."""
    from domain.errors import ServiceUnavailable
    from logic.sessions import SESSION_COOKIE, check_session

    token = st.session_state.get(TOKEN)
    if not token and not st.session_state.get(COOKIE_READ):
        st.session_state[COOKIE_READ] = True
        token = request_cookie(SESSION_COOKIE)
    if not token:
        return None
    try:
        result = check_session(engine(), token, key)
    except ServiceUnavailable as exc:
        st.error(exc.message)
        st.stop()
    if result.actor is None:
        forget_session()
        if result.ended:
            from domain.login_policy import SESSION_ENDED_FA
            st.session_state[ENDED] = SESSION_ENDED_FA[result.ended]
        return None
    st.session_state[TOKEN] = token
    st.session_state.update(authentication_status=True, username=result.actor.username,
                            name=result.actor.full_name)
    return result.actor


def require_page(page_file: str) -> Actor:
    """The signed-in actor, re-checked against the database, if their roles allow this page; else stop.

    app.py registers only allowed pages, but Streamlit can also run a file under pages/ directly by
    its URL, so each page checks again against the same registry."""
    from logic.auth import ConfigError
    from ui.boot import leave_legacy_pages_mode
    from ui.navigation import spec_for_file
    from ui.widgets import follow_clicked_row

    leave_legacy_pages_mode()

    try:
        actor = signed_in_actor(signing_key())
    except ConfigError as exc:
        st.error(exc.message)
        st.stop()
    if actor is None:
        if ended := st.session_state.pop(ENDED, None):
            st.warning(ended)
        st.error("برای دیدن این صفحه باید وارد شوید.")
        st.stop()
    spec = spec_for_file(page_file)
    if spec is None or not actor.roles & {str(r) for r in spec.roles}:
        st.error("شما به این صفحه دسترسی ندارید.")
        st.stop()
    st.session_state["actor"] = actor
    follow_clicked_row()  # a row clicked in a table opens now, before that page is read and drawn again
    return actor


def first_view(kind: str, key: object) -> bool:
    """True until this browser session has shown this record once: the read is audited then, and
    not again on every rerun of the same screen (a click, a zoom, a tab)."""
    return (kind, key) not in st.session_state.get("audited-views", set())


def viewed(kind: str, key: object) -> None:
    """The record was shown (and its read audited)."""
    st.session_state.setdefault("audited-views", set()).add((kind, key))
