"""Right-to-left Persian look for every page, and Persian text in place of Streamlit's own English
where a widget has no parameter for it."""
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

/* A time is hours then minutes, left to right: the time field lays its parts out with flexbox, which
   follows the page's right-to-left direction and showed 02:23 as «۲۳:۰۲». */
[data-testid="stTimeInputTimeDisplay"] [role="group"] { direction: ltr; justify-content: flex-end; }

/* Streamlit's English where no parameter exists: the uploader's button, its size-and-type line and
   its error under a refused file; the "Press Enter to apply" hints (our own boxes count in Persian). */
[data-testid="stFileUploaderDropzone"] [data-testid="stBaseButton-secondary"] [data-testid="stMarkdownContainer"] p {
  font-size: 0; }
[data-testid="stFileUploaderDropzone"] [data-testid="stBaseButton-secondary"] [data-testid="stMarkdownContainer"] p::after {
  content: "انتخاب فایل"; font-size: 1rem; }
[data-testid="stFileUploaderDropzoneInstructions"] span { font-size: 0; }
[data-testid="stFileUploaderDropzoneInstructions"] span::after {
  content: "یا فایل را اینجا رها کنید — هر فایل حداکثر ۵ مگابایت"; font-size: .875rem; }
[data-testid="stFileUploaderFileErrorMessage"] { font-size: 0; }
[data-testid="stFileUploaderFileErrorMessage"]::after {
  content: "این فایل پذیرفته نشد: حجم آن بیش از ۵ مگابایت یا نوع آن جز نوع‌های گفته‌شده است."; font-size: .875rem; }
[data-testid="stFileUploaderFileData"] small { display: none; }
[data-testid="InputInstructions"] { display: none; }
/* Plotly's tool bar has only English tooltips; each chart's data has its own downloads under it. */
[data-testid="stPlotlyChart"] .modebar-container { display: none !important; }
/* Inline code (a file's column names) is a left-to-right run of its own inside Persian text. */
[data-testid="stMarkdownContainer"] code { direction: ltr; unicode-bidi: isolate; }
/* The request screen's decision panel stays in view while the documents beside it scroll. */
[data-testid="stColumn"]:has(> div > .st-key-req-panel), [data-testid="stColumn"]:has(.st-key-req-panel) {
  position: sticky; top: 3.75rem; align-self: flex-start; max-height: calc(100vh - 4.5rem); overflow-y: auto; }
</style>
"""

# Languages written right to left (the slider widget of the browser lays values out by them).
_RTL_LANGUAGES = frozenset({"fa", "ar", "he", "ur", "ps", "ckb", "ku", "yi", "dv", "ug", "sd"})


def right_to_left_browser() -> bool:
    """Whether the browser's language is written right to left (None in tests: no browser)."""
    locale = getattr(st.context, "locale", None) or ""
    return locale.replace("_", "-").split("-")[0].lower() in _RTL_LANGUAGES


def apply_theme() -> None:
    st.html(_CSS)
