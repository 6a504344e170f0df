"""Shared widgets: Jalali date input, SLA badge, result messages."""
from __future__ import annotations

import re
from datetime import date
from functools import partial
from urllib.parse import parse_qsl, urlsplit

import jdatetime
import streamlit as st

from domain.calendar import SLA_LABELS_FA, SlaStatus
from domain.errors import DomainError, ValidationError
from domain.jalali import format_jalali_date, parse_jalali_date, to_gregorian
from domain.text import fa_message, normalize_digits_only
from domain.text import to_persian_digits as fa


# Characters Streamlit's Markdown gives a meaning: emphasis, links and images, code, headings, lists,
# tables, HTML, LaTeX ($) and its own :colour[...] and :emoji: directives.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:])")


def plain(text: object) -> str:
    """Text someone typed (a title, a reason, a note, a name), escaped so that st.markdown shows it
    as it was typed: `![x](http://...)` stays text and loads nothing."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", str(text))


def jalali_date_input(label: str, key: str, default: date | jdatetime.date | None = None,
                      help: str | None = None) -> date | None:
    """A text box for a Jalali date (Persian or Latin digits). Shows the parse error under it and
    returns None when the text is empty or impossible."""
    initial = format_jalali_date(default) if default else ""
    text = st.text_input(label, value=initial, key=key, placeholder="۱۴۰۵/۰۱/۱۵", help=help)
    if not text.strip():
        return None
    try:
        return to_gregorian(parse_jalali_date(text))
    except ValidationError as exc:
        st.error(exc.message)
        return None


def sla_badge(status: str | SlaStatus, text: str | None = None) -> str:
    """HTML for a coloured SLA badge (use with st.markdown(..., unsafe_allow_html=True))."""
    value = SlaStatus(status).value
    return f'<span class="sla-badge sla-{value}">{text or SLA_LABELS_FA[SlaStatus(value)]}</span>'


def run_action(fn, *args, success: str | None = None, **kwargs):
    """Call a service; show its Persian result or error. Returns the result, or None on error."""
    try:
        result = fn(*args, **kwargs)
    except DomainError as exc:
        st.session_state["flash"] = ("error", fa_message(exc.message))
        return None
    message = success or getattr(result, "message", None)
    if message:
        st.session_state["flash"] = ("success", fa_message(message))
    return result


def show_flash() -> None:
    """Show (once) the message the last action left, in a slot that is there on every run: if the
    message took a place only when there is one, everything after it would move by one place on the
    next run and the browser would draw it anew (tabs jumping back to the first one, for instance)."""
    slot = st.empty()
    flash = st.session_state.pop("flash", None)
    if flash:
        kind, message = flash
        (slot.success if kind == "success" else slot.error)(fa_message(message))


LONG_TEXT_LIMIT = 2000


def _cut(key: str, limit: int) -> None:
    value = st.session_state.get(key) or ""
    if len(value) > limit:
        st.session_state[key] = value[:limit]
        st.session_state[f"{key}--cut"] = len(value)


def _cut_notice(length: int, limit: int) -> None:
    st.warning(f"متن واردشده {fa(length)} نویسه بود و بیش از {fa(limit)} نویسه پذیرفته نمی‌شود؛ "
               f"{fa(limit)} نویسهٔ نخست نگه داشته شد. پایان متن را بازبینی کنید.")


def long_text(label: str, key: str, *, limit: int = LONG_TEXT_LIMIT, area: bool = True, in_form: bool = False,
              value: str | None = None, **kwargs) -> str:
    """A note or reason box with a Persian counter. Streamlit's `max_chars` shows an English counter
    and makes the browser drop a paste that is too long (the box is left empty, without a word), so the
    box takes any length and text over `limit` is cut to it, with a message saying so. Inside a form
    (no callbacks there) the returned text is cut and the message shown in the same way."""
    if value is not None and key not in st.session_state:
        st.session_state[key] = value  # not `value=`: the cut writes the key, which must not clash with it
    widget = st.text_area if area else st.text_input
    if in_form:
        text = widget(label, key=key, **kwargs) or ""
        cut = len(text) if len(text) > limit else None
        text = text[:limit]
    else:
        text = widget(label, key=key, on_change=_cut, args=(key, limit), **kwargs) or ""
        cut = st.session_state.pop(f"{key}--cut", None)
    if cut:
        _cut_notice(cut, limit)
    st.caption(f"{fa(len(text))} از {fa(limit)} نویسه")
    return text


def int_box(label: str, key: str, low: int, high: int, *, default: int | None = None, help: str | None = None,
            disabled: bool = False) -> int:
    """A whole number typed with Persian or Latin digits and shown with Persian ones (Streamlit's
    number input shows Latin digits and has no way to change them). `st.session_state[key]` holds the
    number; a number out of range is brought into it, and text that is no number is reported."""
    box = f"{key}-box"

    def typed() -> None:
        text = normalize_digits_only(st.session_state.get(box) or "")
        if text.isdigit():
            st.session_state[key] = min(max(int(text), low), high)
        else:
            st.session_state[f"{key}--bad"] = True

    current = st.session_state.get(key, low if default is None else default)
    current = min(max(int(current), low), high)
    st.session_state[key] = current
    st.session_state[box] = fa(current)
    st.text_input(label, key=box, on_change=typed, disabled=disabled,
                  help=help or f"عددی از {fa(low)} تا {fa(high)}")
    if st.session_state.pop(f"{key}--bad", False):
        st.error(f"عددی از {fa(low)} تا {fa(high)} وارد کنید.")
    return current


def _turn_page(key: str, step: int, pages: int) -> None:
    st.session_state[key] = min(max(int(st.session_state.get(key, 1)) + step, 1), pages)


def page_picker(key: str, pages: int) -> int:
    """Previous / next buttons around a list of the pages (Persian digits): a number box made people
    type or spin through pages. `st.session_state[key]` holds the page; one out of range is brought
    into it."""
    current = min(max(int(st.session_state.get(key, 1)), 1), pages)
    st.session_state[key] = current  # before the widget is made, so this is its value
    back, middle, forward = st.columns([2, 3, 2], vertical_alignment="bottom")
    # Right to left: the previous page is on the right.
    back.button("صفحهٔ قبل", key=f"{key}-prev", icon=":material/chevron_right:", disabled=current <= 1,
                on_click=_turn_page, args=(key, -1, pages), width="stretch")
    middle.selectbox("صفحه", list(range(1, pages + 1)), key=key, placeholder="صفحه را برگزینید",
                     format_func=lambda p: f"صفحهٔ {fa(p)} از {fa(pages)}", disabled=pages == 1)
    forward.button("صفحهٔ بعد", key=f"{key}-next", icon=":material/chevron_left:", disabled=current >= pages,
                   on_click=_turn_page, args=(key, 1, pages), width="stretch")
    return current


# The app's addresses that tables link to, and the page script each one runs.
_LINKED_PAGES = {"/request": "pages/request.py", "/member": "pages/member.py"}
_CLICKED_LINK = "clicked-row-link"


def row_link_table(data, key: str, links: list[str | None], selection_mode: str | list[str] = "single-cell",
                   **kwargs):
    """`st.dataframe(data, key=key, **kwargs)` where a click on any cell opens its row's link
    («/request?code=…») here, in this tab and session: the LinkColumn opens a new tab, which starts a
    new session (signed in again from the cookie) and leaves the back button nothing to return to.

    The click is noted by the table's callback, so the run it starts opens the link
    (`follow_clicked_row`, from `ui.session.require_page`) before this page is read and drawn again;
    a selection that came without its callback (set from outside, as AppTest sets it) is opened here,
    after the table. `links` is in the table's row order; without any link the table is a plain one.
    `selection_mode` must include "single-cell". Returns the table's event (or element)."""
    if not any(links):
        return st.dataframe(data, key=key, **kwargs)
    links = list(links)
    event = st.dataframe(data, key=key, on_select=partial(_note_clicked_row, key, links),
                         selection_mode=selection_mode, **kwargs)
    if link := _clicked_link(getattr(event.selection, "cells", None), links):
        st.session_state.pop(_CLICKED_LINK, None)  # noted by a callback whose run was a fragment's
        _open_link(link)
    return event


def _clicked_link(cells, links: list[str | None]) -> str | None:
    """The link of the row whose cell was clicked (the first of `cells`), if it has one."""
    return links[cells[0][0]] if cells and cells[0][0] < len(links) else None


def _note_clicked_row(key: str, links: list[str | None]) -> None:
    if link := _clicked_link(((st.session_state.get(key) or {}).get("selection") or {}).get("cells"), links):
        open_after_callback(link)


def open_after_callback(link: str) -> None:
    """From a widget's callback: open this link («/request?code=…») at the start of the run the
    callback belongs to (`follow_clicked_row`), before the page is read and drawn again."""
    st.session_state[_CLICKED_LINK] = link


def follow_clicked_row() -> None:
    """Open the link a callback noted (`row_link_table`, `open_after_callback`), if any: called by
    `ui.session.require_page`, at the top of every page."""
    if link := st.session_state.pop(_CLICKED_LINK, None):
        _open_link(link)


def _open_link(link: str) -> None:
    url = urlsplit(link)
    page = _LINKED_PAGES.get(url.path)
    if page:
        st.switch_page(page, query_params=dict(parse_qsl(url.query)))
