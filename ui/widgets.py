"""Shared widgets: Jalali date input, SLA badge, result messages."""
from __future__ import annotations

import re
from datetime import date

import jdatetime
import streamlit as st

from domain.calendar import SLA_LABELS_FA, SlaStatus
from domain.errors import DomainError, ValidationError
from domain.jalali import format_jalali_date, parse_jalali_date, to_gregorian


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
        st.session_state["flash"] = ("error", exc.message)
        return None
    message = success or getattr(result, "message", None)
    if message:
        st.session_state["flash"] = ("success", message)
    return result


def show_flash() -> None:
    """Show (once) the message the last action left, in a slot that is there on every run: if the
    message took a place only when there is one, everything after it would move by one place on the
    next run and the browser would draw it anew (tabs jumping back to the first one, for instance)."""
    slot = st.empty()
    flash = st.session_state.pop("flash", None)
    if flash:
        kind, message = flash
        (slot.success if kind == "success" else slot.error)(message)
