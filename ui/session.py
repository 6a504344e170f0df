"""Per-process engine, per-action sessions, and the signed-in actor for pages."""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import sqlalchemy as sa
import streamlit as st
from sqlalchemy.orm import Session

from db.engine import database_url, make_engine, session_scope
from domain.actor import Actor


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


def require_page(page_file: str) -> Actor:
    """The signed-in actor, re-read from the database, if their roles allow this page; else stop.

    app.py registers only allowed pages, but Streamlit can also run a file under pages/ directly by
    its URL, so each page checks again against the same registry."""
    from logic.auth import load_actor
    from domain.jalali import now_tehran
    from ui.boot import leave_legacy_pages_mode
    from ui.navigation import spec_for_file

    leave_legacy_pages_mode()

    username = st.session_state.get("username") if st.session_state.get("authentication_status") else None
    actor = None
    if username:
        with db_session() as session:
            actor = load_actor(session, username, now=now_tehran(),
                               signed_in_at=st.session_state.get("signed-in-at"))
    if actor is None:
        st.error("برای دیدن این صفحه باید وارد شوید.")
        st.stop()
    spec = spec_for_file(page_file)
    if spec is None or not actor.roles & {str(r) for r in spec.roles}:
        st.error("شما به این صفحه دسترسی ندارید.")
        st.stop()
    st.session_state["actor"] = actor
    return actor


def first_view(kind: str, key: object) -> bool:
    """True until this browser session has shown this record once: the read is audited then, and
    not again on every rerun of the same screen (a click, a zoom, a tab)."""
    return (kind, key) not in st.session_state.get("audited-views", set())


def viewed(kind: str, key: object) -> None:
    """The record was shown (and its read audited)."""
    st.session_state.setdefault("audited-views", set()).add((kind, key))
