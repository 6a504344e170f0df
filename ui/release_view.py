"""Showing a release snapshot: methodology note, tables (Persian digits, the suppression mark), plotly
charts and downloads. Used by the board's releases page and the public statistics page."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from domain import disclosure
from domain.text import format_number
from domain.text import to_persian_digits as fa
from logic import releases as rel
from logic.export import CSV_MIME, XLSX_MIME
from ui.charts import fa_number, figure, value_axis
from ui.widgets import plain

FONT = "Vazirmatn, Noto Sans Arabic, Tahoma, sans-serif"


def cell_text(value) -> str:
    """A published cell for the screen: counts with Persian digits, every hidden entry the one mark
    (older releases stored a second one for counts 1–4; it is not shown apart)."""
    if value is None:
        return "—"
    if disclosure.is_mark(value):
        return disclosure.MARK_LABEL_FA
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return format_number(value)
    if isinstance(value, float):
        return fa(f"{value:.1f}").replace(".", "٫")
    return str(value)


def table_frame(table: dict) -> pd.DataFrame:
    columns, rows = rel.table_rows(table)
    data = {header: [row.get(key) if k == 0 else cell_text(row.get(key)) for row in rows]
            for k, (key, header) in enumerate(columns)}
    return pd.DataFrame(data, dtype=object)


def _layout(data: list[dict], title: str, *, counts: bool = True, suffix: str = "",
            barmode: str | None = None) -> go.Figure:
    """Persian font, categories read right to left, Persian numbers on the value axis and in hovers
    (Plotly prints Latin digits for its own ticks and hover values)."""
    values = [y for trace in data for y in trace["y"] if y is not None]
    if counts:
        axis = value_axis(values)
        if max(values, default=0) <= 4:  # whole steps for small counts, never ۰٫۵
            axis = {**axis, "tickvals": [0, 1, 2, 3, 4, 5], "ticktext": [fa(t) for t in range(6)], "range": [0, 5.25]}
    else:
        ticks = list(range(0, 101, 20))
        axis = {"tickmode": "array", "tickvals": ticks, "ticktext": [fa(t) + suffix for t in ticks], "range": [0, 100]}
    for trace in data:
        trace["type"] = "bar"
        trace["customdata"] = [fa_number(y, 0 if counts else 1) + suffix for y in trace["y"]]
        trace["hovertemplate"] = "%{x}<br>" + (trace.get("name") or "") + ": %{customdata}<extra></extra>"
    layout = {"title": {"text": title, "x": 1, "xanchor": "right"}, "font": {"family": FONT},
              "margin": {"l": 10, "r": 10, "t": 50, "b": 10}, "legend": {"orientation": "h"}, "height": 360,
              "hoverlabel": {"font": {"family": FONT}}, "xaxis": {"autorange": "reversed", "type": "category"},
              "yaxis": {"side": "right", **axis}}
    if barmode:
        layout["barmode"] = barmode
    return figure(data, layout)


def _number(value):
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _has_hidden(table: dict) -> bool:
    return any(disclosure.is_mark(v) for row in table["cells"] for v in row)


def table_chart(table: dict) -> go.Figure | None:
    """Hidden entries never reach a chart: a two-way table with hidden cells is drawn by its
    shown row totals, otherwise by its shown cells. None when there is nothing to draw."""
    rows = list(table["rows"])
    if table["kind"] != "cross" and not any(_number(v) for row in table["cells"] for v in row[:2]):
        return None
    if table["kind"] == "services":
        return _layout([{"name": table["columns"][j], "x": rows, "y": [_number(r[j]) for r in table["cells"]]}
                        for j in (0, 1)], "درخواست‌های رسیده و رسیدگی‌شده", barmode="group")
    if table["kind"] == "cross" and _has_hidden(table):
        totals = [_number(v) for v in table["row_totals"]]
        if not any(totals):
            return None
        return _layout([{"name": "جمع", "x": rows, "y": totals}], f"جمع به تفکیک {table['row_header']}")
    return _layout([{"name": col, "x": rows, "y": [_number(r[j]) for r in table["cells"]]}
                    for j, col in enumerate(table["columns"])], table["title"], barmode="group")


def services_share_chart(table: dict) -> go.Figure:
    return _layout([{"x": list(table["rows"]), "y": [_number(r[2]) for r in table["cells"]],
                     "name": table["columns"][2]}], table["columns"][2], counts=False, suffix="٪")


@dataclass(frozen=True)
class ShownTable:
    """One table of a release as the page draws it."""
    key: str
    title: str
    counted: str
    frame: pd.DataFrame
    chart: go.Figure | None
    share: go.Figure | None
    table: dict


def render(snapshot: dict) -> list[ShownTable]:
    """The release's tables as the page shows them (frames with Persian digits, the charts)."""
    return [ShownTable(t["key"], t["title"], t["counted"], table_frame(t), table_chart(t),
                       services_share_chart(t) if t["kind"] == "services"
                       and any(_number(row[2]) is not None for row in t["cells"]) else None, t)
            for t in snapshot["tables"]]


@st.cache_resource(max_entries=64, show_spinner=False)
def prerendered(database: str, release_id: int, published_at: str, _load: Callable[[], dict]) -> tuple[dict, list]:
    """A published release's snapshot and its rendered tables, made once per app process and release.

    A published release never changes (a trigger refuses it), so its tables, frames and charts are
    the same for every visitor: the public page draws them from here instead of reading the snapshot
    and building each chart again on every run. The key names the database and the moment of
    publication as well, so that two databases (tests, a restore) never share an entry; at most 64
    releases are kept (a few hundred kilobytes each)."""
    snapshot = _load()
    return snapshot, render(snapshot)


def methodology(snapshot: dict) -> None:
    with st.expander("روش تهیه و قاعدهٔ محرمانگی", expanded=False):
        st.markdown("\n".join(f"- {line}" for line in rel.methodology_lines(snapshot)))


def show_snapshot(snapshot: dict, *, key: str, release_id: int | None = None, downloads: bool = True,
                  heading: bool = True, shown: list[ShownTable] | None = None) -> None:
    """The whole release: header facts (unless the page shows them), methodology, and each table
    with its chart; `shown` is the release already rendered (`prerendered`)."""
    if heading:
        st.markdown(f"**{plain(snapshot['title'])}**  \n{snapshot['province']}، {snapshot['period']['label']}")
    if snapshot.get("note"):  # the note is public: whatever its author typed is shown as text
        st.info(f"{rel.note_label(snapshot)}: {plain(snapshot['note'])}")
    methodology(snapshot)
    st.caption(f"«{disclosure.MARK_LABEL_FA}»: پنهان برای محرمانگی؛ ممکن است صفر، ۱ تا ۴ یا ۵ و بیشتر باشد "
               "(در جدول خدمات که جمعی ندارد، فقط تعدادهای ۱ تا ۴ پنهان می‌شوند) — «—»: کمتر از ۵ درخواست "
               "رسیدگی‌شده، درصد و میانه منتشر نمی‌شود.")
    name = f"release-{release_id}" if release_id is not None else "release-preview"
    if downloads:
        # The files are made when a button is pressed (a callable), not on every run.
        c1, c2 = st.columns(2)
        c1.download_button("دانلود همهٔ جدول‌ها (CSV)", lambda: rel.release_csv(snapshot), file_name=f"{name}.csv",
                           mime=CSV_MIME, key=f"{key}-csv", on_click="ignore", icon=":material/download:")
        c2.download_button("دانلود همهٔ جدول‌ها (XLSX)", lambda: rel.release_xlsx(snapshot), file_name=f"{name}.xlsx",
                           mime=XLSX_MIME, key=f"{key}-xlsx", on_click="ignore", icon=":material/download:")
    for item in shown if shown is not None else render(snapshot):
        st.subheader(item.title)
        st.caption(item.counted)
        # A static table: it follows the page's right-to-left direction (the interactive grid does not).
        st.table(item.frame, hide_index=True)
        if item.chart is None:
            st.caption("همهٔ عددهای این جدول صفر یا پنهان است؛ نموداری ندارد.")
        else:
            st.plotly_chart(item.chart, key=f"{key}-{item.key}-chart", width="stretch")
        if item.share is not None:
            st.plotly_chart(item.share, key=f"{key}-{item.key}-share", width="stretch")
        if downloads:
            st.download_button("دانلود این جدول (CSV)", lambda t=item.table: rel.table_csv(t),
                               file_name=f"{name}-{item.key}.csv", mime=CSV_MIME,
                               key=f"{key}-{item.key}-csv", on_click="ignore")
