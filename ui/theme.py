"""Right-to-left Persian look for every page."""
from __future__ import annotations

import streamlit as st

_CSS = """
<style>
html, body, [data-testid="stAppViewContainer"], [data-testid="stSidebar"], .stMarkdown, .stText,
input, textarea, button, select, label, [data-testid="stMetric"], [data-testid="stTable"] {
  font-family: "Vazirmatn", "Noto Sans Arabic", "Noto Naskh Arabic", Tahoma, sans-serif;
}
/* The whole app flows right to left, which also puts the sidebar on the right. */
[data-testid="stAppViewContainer"] { direction: rtl; }
[data-testid="stAppViewContainer"] .main, [data-testid="stMain"], [data-testid="stSidebar"],
[data-testid="stForm"], [data-testid="stDialog"] { direction: rtl; text-align: right; }
[data-testid="stMarkdownContainer"] ul, [data-testid="stMarkdownContainer"] ol { padding-right: 1.5rem; padding-left: 0; }
input, textarea { direction: rtl; text-align: right; }
input[type="password"], input[inputmode="numeric"], .ltr { direction: ltr; text-align: left; }
[data-testid="stTable"] table { direction: rtl; }
[data-testid="stMainBlockContainer"] { padding-top: 2.5rem; }
[data-testid="stMetricValue"] { font-size: 2rem; }
h1, h2, h3, h4, h5, [data-testid="stHeading"], [data-testid="stCaptionContainer"],
[data-testid="stMarkdownContainer"] p { text-align: right !important; }
[data-testid="stTable"] th, [data-testid="stTable"] td { text-align: right !important; }
.sla-badge { display: inline-block; padding: 0 .5rem; border-radius: .6rem; font-size: .85rem; white-space: nowrap; }
.sla-on_time, .sla-met { background: #e6f4ea; color: #1e6b35; }
.sla-at_risk { background: #fff4ce; color: #7a5a00; }
.sla-breached, .sla-missed { background: #fde7e9; color: #a4262c; font-weight: 600; }
.sla-paused { background: #eef0f3; color: #4b5563; }
.sla-no_limit { background: #f3f4f6; color: #374151; }
</style>
"""


def apply_theme() -> None:
    st.html(_CSS)
