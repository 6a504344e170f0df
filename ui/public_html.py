"""The published releases as plain HTML pages, for the reverse proxy to cache.

A release is frozen when it is published, so its page is the same for every visitor until a
correction supersedes it: `deploy/asgi.py` serves these at /stats/ and nginx keeps a copy
(deploy/nginx.conf.template). The Streamlit page /public shows the same data with charts."""
from __future__ import annotations

from html import escape

from domain.jalali import format_jalali_date
from domain.text import to_persian_digits as fa
from logic import releases as rel
from ui.release_view import cell_text

_STYLE = """
body{font-family:Vazirmatn,"Noto Sans Arabic",Tahoma,sans-serif;margin:2rem auto;max-width:70rem;padding:0 1rem;
color:#1d2630;line-height:1.7}
table{border-collapse:collapse;margin:.5rem 0 1.5rem}th,td{border:1px solid #c9d3dd;padding:.3rem .7rem;text-align:right}
th{background:#eef3f8}a{color:#0b5cad}.note{background:#fff7e0;padding:.5rem 1rem;border-radius:.3rem}
caption{caption-side:bottom;color:#5a6772;font-size:.9rem;text-align:right}
"""


def _page(title: str, body: str) -> str:
    return (f'<!doctype html><html lang="fa" dir="rtl"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width,initial-scale=1"><title>{escape(title)}</title>'
            f"<style>{_STYLE}</style></head><body>{body}</body></html>")



def index_html(releases: list[rel.ReleaseSummary]) -> str:
    """Every published release, newest first, each linking to its own page."""
    head = "<h1>آمار منتشرشدهٔ سازمان نظام مهندسی ساختمان</h1>"
    if not releases:
        return _page("آمار منتشرشده", head + "<p>هنوز آماری منتشر نشده است.</p>")
    rows = "".join(
        f'<tr><td><a href="{r.id}">{fa(r.id)}</a></td><td>{escape(r.title)}</td><td>{escape(r.province)}</td>'
        f"<td>{escape(r.period)}</td><td>{format_jalali_date(r.published_at)}</td><td>{r.status_fa}</td></tr>"
        for r in releases)
    table = ("<table><tr><th>شماره</th><th>عنوان</th><th>استان</th><th>دوره</th><th>تاریخ انتشار</th>"
             f"<th>وضعیت</th></tr>{rows}</table>")
    return _page("آمار منتشرشده", head + table)


def _table_html(table: dict) -> str:
    columns, rows = rel.table_rows(table)
    head = "".join(f"<th>{escape(str(h))}</th>" for _, h in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{escape(str(row.get(key) if k == 0 else cell_text(row.get(key))))}</td>"
                         for k, (key, _) in enumerate(columns)) + "</tr>"
        for row in rows)
    return (f"<h3>{escape(table['title'])}</h3><table><caption>{escape(table['counted'])}</caption>"
            f"<tr>{head}</tr>{body}</table>")


def release_html(summary: rel.ReleaseSummary, snapshot: dict) -> str:
    """One release: its facts, the note, the methodology and every table, as published."""
    parts = [f'<p><a href="./">همهٔ انتشارها</a></p><h1>{escape(summary.title)}</h1>',
             f"<p>{escape(summary.province)}، {escape(summary.period)}؛ منتشرشده در "
             f"{format_jalali_date(summary.published_at)} — {summary.status_fa}</p>"]
    if snapshot.get("note"):
        parts.append(f'<p class="note">{escape(rel.note_label(snapshot))}: {escape(snapshot["note"])}</p>')
    parts.append("<h2>روش تهیه و قاعدهٔ محرمانگی</h2><ul>"
                 + "".join(f"<li>{escape(line)}</li>" for line in rel.methodology_lines(snapshot)) + "</ul>")
    parts += [_table_html(t) for t in snapshot["tables"]]
    return _page(summary.title, "".join(parts))
