"""Plotly charts with Persian labels (Persian digits on the value axis and in hovers, Jalali months
on the time axis), and every chart's data as a table with CSV and XLSX downloads.

The chart builders are plain functions returning a `plotly.graph_objects.Figure`, so tests can look
at them without a browser; `show_table` is the Streamlit part.
"""
from __future__ import annotations

import math
import re
from collections.abc import Sequence

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from domain import periods
from domain.periods import Period
from domain.text import format_number, to_persian_digits
from logic.export import CSV_MIME, XLSX_MIME, export_csv, export_xlsx
from logic.kpi import Table
from ui.widgets import row_link_table

FONT = "Vazirmatn, Noto Sans Arabic, Tahoma, sans-serif"
COLORS = ("#1e6b35", "#7cb342", "#f9a825", "#ef6c00", "#c62828", "#6d4c41", "#455a64", "#1565c0")


def fa_number(value: float | int | None, digits: int = 0) -> str:
    """A number for people: Persian digits, thousands separators, `digits` decimals."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if digits == 0:
        return format_number(int(round(value)))
    whole, _, frac = f"{value:,.{digits}f}".partition(".")
    return to_persian_digits(whole.replace(",", "\u066c") + "\u066b" + frac)


def nice_ticks(top: float, count: int = 5) -> list[float]:
    """Round tick values from 0 to at least `top`."""
    if top <= 0:
        return [0]
    raw = top / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    return [round(i * step, 10) for i in range(int(math.ceil(top / step)) + 1)]


def value_axis(values: Sequence[float], suffix: str = "") -> dict:
    """A value axis whose tick labels are Persian numbers (Plotly itself prints Latin digits)."""
    top = max([v for v in values if v is not None] or [0])
    ticks = nice_ticks(top)
    digits = 0 if all(float(t).is_integer() for t in ticks) else 1
    return {"tickmode": "array", "tickvals": ticks, "ticktext": [fa_number(t, digits) + suffix for t in ticks],
            "range": [0, ticks[-1] * 1.05 if ticks[-1] else 1]}


def figure(data: list[dict], layout: dict) -> go.Figure:
    """A figure from plain trace and layout dicts, without Plotly's property validation.

    Building a figure property by property (`add_bar`, `update_layout`) validates every path and
    took about half a second per chart on the 2-core bench machine (issue #18: the KPI page drew
    five); a dict is built in microseconds. `tests/test_fast_figures.py` checks that each
    builder's figure is exactly what the validated construction gives."""
    return go.Figure({"data": data, "layout": layout}, _validate=False)


def _layout(title: str, y_title: str, values: Sequence[float], *, suffix: str = "",
            barmode: str | None = None, categories: Sequence[str] | None = None) -> dict:
    layout = {
        "title": {"text": title, "x": 1, "xanchor": "right"}, "font": {"family": FONT},
        "legend": {"orientation": "h", "x": 1, "xanchor": "right", "y": -0.25},
        "margin": {"l": 10, "r": 10, "t": 50, "b": 10}, "hoverlabel": {"font": {"family": FONT}},
        "yaxis": {"title": {"text": y_title}, "side": "right", **value_axis(values, suffix)},
        "xaxis": {"type": "category", "automargin": True},
    }
    if barmode:
        layout["barmode"] = barmode
    if categories is not None:
        layout["xaxis"].update(categoryorder="array", categoryarray=list(categories))
    return layout


def _hover(values: Sequence[float | None], digits: int = 0, suffix: str = "") -> list[str]:
    return [fa_number(v, digits) + suffix for v in values]


def bars(title: str, categories: Sequence[str], series: Sequence[tuple[str, Sequence[float | None]]], *,
         y_title: str = "", stacked: bool = False, digits: int = 0, suffix: str = "") -> go.Figure:
    """Bars per category (a Jalali month, a stage, a province) for each named series, in order."""
    data = [{"type": "bar", "x": list(categories), "y": [v if v is not None else 0 for v in values], "name": name,
             "marker": {"color": COLORS[i % len(COLORS)]}, "customdata": _hover(values, digits, suffix),
             "hovertemplate": "%{x}<br>" + name + ": %{customdata}<extra></extra>"}
            for i, (name, values) in enumerate(series)]
    totals = ([sum(v or 0 for v in col) for col in zip(*(vals for _, vals in series))] if stacked
              else [v or 0 for _, vals in series for v in vals])
    return figure(data, _layout(title, y_title, totals, suffix=suffix, barmode="stack" if stacked else "group",
                                categories=categories))


def hbars(title: str, categories: Sequence[str], series: Sequence[tuple[str, Sequence[float | None]]], *,
          x_title: str = "", stacked: bool = False) -> go.Figure:
    """Horizontal bars, one row per category (long Persian labels read in full at the right), a
    fixed height per row, and the legend above the bars so that it covers none of them."""
    # The hover names the category from customdata too: Plotly prints its own values in Latin digits.
    data = [{"type": "bar", "y": list(categories), "x": [v if v is not None else 0 for v in values], "name": name,
             "orientation": "h", "marker": {"color": COLORS[i % len(COLORS)]},
             "customdata": [list(pair) for pair in zip(categories, _hover(values))],
             "hovertemplate": "%{customdata[0]}<br>" + name + ": %{customdata[1]}<extra></extra>"}
            for i, (name, values) in enumerate(series)]
    totals = ([sum(v or 0 for v in col) for col in zip(*(vals for _, vals in series))] if stacked
              else [v or 0 for _, vals in series for v in vals])
    return figure(data, {
        "title": {"text": title, "x": 1, "xanchor": "right"}, "font": {"family": FONT},
        "barmode": "stack" if stacked else "group",
        "legend": {"orientation": "h", "x": 1, "xanchor": "right", "y": 1.0, "yanchor": "bottom"},
        "margin": {"l": 10, "r": 10, "t": 90, "b": 10}, "hoverlabel": {"font": {"family": FONT}},
        "height": 120 + 28 * max(len(categories), 1),
        "xaxis": {"title": {"text": x_title}, "autorange": "reversed", **value_axis(totals)},
        "yaxis": {"type": "category", "automargin": True, "side": "right", "autorange": "reversed",
                  "categoryorder": "array", "categoryarray": list(categories)},
    })


def month_lines(title: str, months: Sequence[str], series: Sequence[tuple[str, Sequence[float | None]]], *,
                y_title: str = "", digits: int = 1, suffix: str = "") -> go.Figure:
    """Lines over Jalali months (labels such as «مهر ۱۴۰۵», oldest first)."""
    data = [{"type": "scatter", "x": list(months), "y": list(values), "name": name, "mode": "lines+markers",
             "line": {"color": COLORS[i % len(COLORS)]}, "customdata": _hover(values, digits, suffix),
             "hovertemplate": "%{x}<br>" + name + ": %{customdata}<extra></extra>", "connectgaps": False}
            for i, (name, values) in enumerate(series)]
    return figure(data, _layout(title, y_title, [v for _, vals in series for v in vals if v is not None],
                                suffix=suffix, categories=months))


def display_frame(table: Table) -> pd.DataFrame:
    """The table as people read it: Persian headers, numbers with Persian digits, columns listed in
    reverse so that the grid (which lays columns out left to right) reads right to left."""
    data = {}
    for key, header in reversed(table.columns):
        if key == "link":
            data[header] = [row.get(key) for row in table.rows]
            continue
        values = [row.get(key) for row in table.rows]
        if any(isinstance(v, float) for v in values):
            data[header] = [fa_number(v, 1) if isinstance(v, (int, float)) else (v or "—") for v in values]
        elif any(isinstance(v, int) and not isinstance(v, bool) for v in values):
            data[header] = [fa_number(v) if isinstance(v, int) else (v or "—") for v in values]
        else:
            data[header] = [to_persian_digits(v) if v is not None else "—" for v in values]
    return pd.DataFrame(data)


def show_table(table: Table, key: str, stamp: str) -> None:
    """The chart's data under it, and its CSV / XLSX downloads (numbers as numbers, headers in Persian)."""
    if not table.rows:
        st.caption("در این دوره داده‌ای نیست.")
    else:
        link = next((h for k, h in table.columns if k == "link"), None)
        config = {link: st.column_config.LinkColumn(link, display_text="باز کردن")} if link else None
        # A table of requests (the KPI drill-downs): a click on a row opens it in this tab.
        row_link_table(display_frame(table), f"{key}-table", [row.get("link") for row in table.rows] if link else [],
                       hide_index=True, width="stretch", column_config=config)
    c1, c2 = st.columns(2)
    name = f"{table.name}-{stamp}"
    # The files are made only when a button is pressed (a callable), not on every rerun.
    c1.download_button("CSV", data=lambda: export_csv(table.rows, table.columns), mime=CSV_MIME,
                       file_name=f"{name}.csv", key=f"{key}-csv", on_click="ignore", icon=":material/download:")
    sheet = re.sub(r"[\[\]:*?/\\]", "-", table.title)
    c2.download_button("Excel", data=lambda: export_xlsx(table.rows, table.columns, sheet_title=sheet),
                       mime=XLSX_MIME, file_name=f"{name}.xlsx", key=f"{key}-xlsx", on_click="ignore",
                       icon=":material/download:")


# --- filters shared by the report pages -----------------------------------------------------------

PERIOD_KINDS = {"month": "ماه", "season": "فصل", "year": "سال", "range": "بازهٔ دو تاریخ"}


def period_picker(key: str, now, *, last_complete_month: bool = False) -> Period | None:
    """A Jalali period: a month, a season, a year, or two dates (both included). None while the
    dates typed are incomplete or impossible (the widget says why). It opens on the current month,
    or with `last_complete_month` on the one before (analytics: on the 11th the current month is
    mostly empty)."""
    from domain.jalali import JALALI_MONTHS_FA, to_jalali
    from ui.widgets import jalali_date_input

    today = to_jalali(now)
    first_year, first_month = today.year, today.month
    if last_complete_month:
        first_year, first_month = (today.year, today.month - 1) if today.month > 1 else (today.year - 1, 12)
    kind = st.radio("دوره", list(PERIOD_KINDS), format_func=PERIOD_KINDS.get, horizontal=True, key=f"{key}-kind")
    years = list(range(today.year, today.year - 6, -1))
    c1, c2 = st.columns(2)
    if kind == "range":
        with c1:
            first = jalali_date_input("از تاریخ", key=f"{key}-from",
                                      default=periods.month_period(today.year, today.month).first_day)
        with c2:
            last = jalali_date_input("تا تاریخ", key=f"{key}-to", default=now.date())
        if first is None or last is None:
            return None
        try:
            return periods.range_period(first, last)
        except Exception as exc:  # ValidationError: the end is before the start
            st.error(getattr(exc, "message", str(exc)))
            return None
    year = c1.selectbox("سال", years, index=years.index(first_year), key=f"{key}-year", format_func=to_persian_digits,
                        placeholder="یکی را برگزینید")
    if kind == "year":
        return periods.year_period(year)
    if kind == "season":
        season = c2.selectbox("فصل", [1, 2, 3, 4], index=(today.month - 1) // 3, key=f"{key}-season",
                              format_func=lambda s: periods.SEASONS_FA[s - 1], placeholder="یکی را برگزینید")
        return periods.season_period(year, season)
    month = c2.selectbox("ماه", list(range(1, 13)), index=first_month - 1, key=f"{key}-month",
                         format_func=lambda m: JALALI_MONTHS_FA[m - 1], placeholder="یکی را برگزینید")
    return periods.month_period(year, month)


def province_picker(key: str, actor) -> int | None:
    """Central staff choose all provinces or one (a `?province=` link preselects it); a provincial
    user has no choice to make. A `?province=` for another province is passed on as it is, and the
    service refuses it."""
    from domain.reference import PROVINCES

    asked = st.query_params.get("province")
    asked_id = int(asked) if asked and asked.isdigit() else None
    if actor.province_id is not None:
        return asked_id
    options = [None] + [pid for pid, _, _ in PROVINCES]
    names = {pid: name for pid, _, name in PROVINCES}
    index = options.index(asked_id) if asked_id in options else 0
    return st.selectbox("استان", options, index=index, key=f"{key}-province",
                        format_func=lambda p: "همهٔ استان‌ها (مقایسه)" if p is None else names[p], placeholder="یکی را برگزینید")


def cached(key: str, ttl_seconds: float, build):
    """`build()` once per `ttl_seconds` for this browser session and key: reruns (a tab, a download)
    reuse it; a decision shows up within the TTL at the latest (or at once with the refresh button)."""
    import time

    store = st.session_state.setdefault("report-cache", {})
    hit = store.get(key)
    if hit is not None and time.monotonic() - hit[0] < ttl_seconds:
        return hit[1]
    value = build()
    store.clear()  # one report per session is enough
    store[key] = (time.monotonic(), value)
    return value


REPORT_CACHE_SECONDS = 30


def period_report(key: str, actor, compute, ttl_seconds: float = REPORT_CACHE_SECONDS, *,
                  last_complete_month: bool = False):
    """The KPI and analytics pages' common head: a bordered box with the period and province pickers
    and a refresh button, then `compute(session, actor, period, now, province_id)` cached for
    `ttl_seconds` (see `cached`), read from the standby when there is one (`ui.session.read`) with
    the caption saying how current it is. Stops the page when no period is chosen or the service
    refuses."""
    from domain.errors import DomainError
    from domain.jalali import now_tehran
    from ui import freshness
    from ui.session import read

    with st.container(border=True):
        period = period_picker(key, now_tehran(), last_complete_month=last_complete_month)
        province_id = province_picker(key, actor)
        refresh = st.button("به‌روزرسانی", key=f"{key}-refresh", icon=":material/refresh:")
    if period is None:
        st.stop()
    if refresh:
        st.session_state.pop("report-cache", None)

    def build():
        return read(lambda session: compute(session, actor, period, now_tehran(), province_id))

    try:
        report, fresh = cached((key, actor.id, period.start, period.end, province_id), ttl_seconds, build)
    except DomainError as exc:
        st.error(exc.message)
        st.stop()
    freshness.caption(fresh)
    return report
