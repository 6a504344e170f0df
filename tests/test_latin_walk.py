"""No English, no Latin digits on any screen: every page, as every role that may open it, over a world
with data on each page (tests/latin_world.py), run once in AppTest. Every text a person can see is
collected (titles, markdown, captions, alerts, labels, options, placeholders, help, buttons, tab and
expander labels, metrics, table headers and cells, chart titles, axis ticks, legends and hovers),
the allowed tokens below are removed, and any Latin letter or digit left fails the test with the
page, the role and the strings.

Allowed (the whole list): a run inside a left-to-right isolate (U+2066…U+2069: codes, usernames,
times, which ui shows through domain.text.ltr / fa_code), a Markdown code span (the theme isolates
it left to right; the gateway file's column names), a file name, an e-mail address, an
internal link of a link column (shown as «باز کردن»), and the file-format names below.
Streamlit's own English that has no parameter (the uploader's button and hint, input hints) is
replaced by the theme's CSS and checked in the browser (tests/browser/test_rtl_browser.py)."""
from __future__ import annotations

import json
import re

import pytest
from google.protobuf.message import Message

from tests import latin_world
from tests.apptest import app, signed_in
from tests.conftest import wipe
from ui.navigation import PAGES

ISOLATED = re.compile("\u2066[^\u2069]*\u2069")
FILE_NAME = re.compile(r"[\w.-]+\.(?:pdf|png|jpe?g|csv|xlsx)\b", re.I)
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
CODE_SPAN = re.compile(r"`[^`]+`")
INTERNAL_LINK = re.compile(r"^/[a-z]+\?[a-z]+=\w+$")
FORMATS = re.compile(r"\b(?:PDF|JPEG|JPG|PNG|CSV|XLSX|Excel)\b")
LATIN = re.compile(r"[A-Za-z0-9]")

# Proto fields that hold no text a person reads (ids, keys, user-typed values, data, styles).
SKIP_FIELDS = {"id", "key", "form_id", "icon", "type", "url", "spec", "data", "arrow_data", "css", "theme",
               "column_config", "value", "default", "raw_value", "set_value", "element_type", "mime",
               "file_name", "selection_mode", "column_order", "editing_mode", "page_name", "page",
               "query_string", "format", "tooltip", "cell_styles", "styler", "caption_class", "uuid",
               "layout", "width", "height", "allowed_types", "shortcut", "sheet_name", "tag", "anchor",
               "json_args", "special_args", "component_name", "text_alignment", "color", "align", "gap",
               "vertical_alignment", "border", "direction", "justify", "label_visibility", "columns",
               "autocomplete", "deferred_file_id", "page_script_hash"}
SKIP_TYPES = {"html", "exception", "empty", "component_instance"}


def strip_allowed(text: str) -> str:
    text = ISOLATED.sub(" ", text)
    text = re.sub(r"\\(.)", r"\1", text)          # Markdown escapes of typed text (ui.widgets.plain)
    text = CODE_SPAN.sub(" ", text)
    text = re.sub(r"<[^>]+>", " ", text)            # our badge spans
    text = re.sub(r"\]\([^)]*\)", "]", text)         # a markdown link's target
    text = text.replace("&nbsp;", " ")
    for pattern in (FILE_NAME, EMAIL, FORMATS):
        text = pattern.sub(" ", text)
    return text


def offending(text: object) -> str | None:
    text = "" if text is None else str(text)
    if INTERNAL_LINK.match(text):
        return None
    return text if LATIN.search(strip_allowed(text)) else None


def proto_strings(msg: Message):
    for field, value in msg.ListFields():
        if field.name in SKIP_FIELDS:
            continue
        values = [value] if isinstance(value, (str, bytes, Message, int, float)) else list(value)
        for v in values:
            if isinstance(v, str):
                yield field.name, v
            elif isinstance(v, Message):
                yield from proto_strings(v)


def chart_problems(spec: str) -> list[str]:
    """Chart texts with Latin, and axes or hovers Plotly would print with Latin digits."""
    fig = json.loads(spec)
    layout, found = fig.get("layout", {}), []
    texts = [((layout.get("title") or {}).get("text"))]
    for name, axis in layout.items():
        if not re.fullmatch(r"[xy]axis\d*", name):
            continue
        texts.append(((axis.get("title") or {}).get("text")))
        texts += axis.get("ticktext") or []
        if axis.get("type") != "category" and axis.get("tickmode") != "array":
            found.append(f"{name}: Plotly's own tick labels (Latin digits)")
    for trace in fig.get("data", []):
        texts.append(trace.get("name"))
        texts += [x for x in trace.get("x") or [] if isinstance(x, str)]
        texts += [c for c in trace.get("customdata") or [] if isinstance(c, str)]
        hover = trace.get("hovertemplate") or ""
        if "%{y" in hover or ("customdata" not in hover and trace.get("hoverinfo") != "skip"):
            found.append(f"trace {trace.get('name')!r}: hover shows Plotly's Latin number")
    return found + [t for t in texts if offending(t)]


def visible_texts(at) -> list[str]:
    found = []
    for node in at._tree:
        kind = getattr(node, "type", "")
        if kind in SKIP_TYPES:
            continue
        proto = getattr(node, "proto", None)
        if kind == "plotly_chart":
            found += chart_problems(proto.spec)
            continue
        if kind in ("arrow_data_frame", "dataframe", "table", "arrow_table"):
            frame = node.value
            found += [c for c in frame.columns if offending(c)]
            found += [v for col in frame.columns for v in frame[col].tolist() if offending(v)]
        if isinstance(proto, Message):
            found += [f"{name}: {text}" for name, text in proto_strings(proto) if offending(text)]
        # Streamlit's own English that the proto does not carry: the frontend's «Choose an option»
        # when no placeholder is given, and the «…/2000» counter of `max_chars`.
        if proto is not None and proto.DESCRIPTOR.name in ("Selectbox", "MultiSelect") and not proto.placeholder.strip():
            found.append(f"{proto.label!r} without a Persian placeholder")
        if proto is not None and proto.DESCRIPTOR.name in ("TextArea", "TextInput") and (
                proto.max_chars >= 1000 or (proto.DESCRIPTOR.name == "TextArea" and proto.max_chars)):
            found.append(f"{proto.label!r} with max_chars (the browser drops a longer paste; use ui.widgets.long_text)")
    return found


def cases():
    for spec in PAGES:
        for role in sorted(r.value for r in spec.roles):
            yield pytest.param(spec.file, role, id=f"{spec.url_path}-{role}")


# Pages whose tabs draw only the open one, by the tabs' key.
STATEFUL_TABS = {"kpi.py": "kpi-tab"}
REQUEST_FOR = {"expert": "new", "final_reviewer": "final", "head": "final", "central_expert": "central",
               "finance": "finance", "committee": "committee", "rating_committee": "new", "manager": "returned"}


@pytest.fixture(scope="module")
def world(owner_engine):
    wipe(owner_engine)
    return latin_world.build(owner_engine)  # the world sets times on payments, which the app may not


@pytest.mark.parametrize("page, role", list(cases()))
def test_no_latin_on_the_page(db_url, world, page, role):
    at = signed_in(db_url, world["users"][role])
    at.switch_page(f"pages/{page}")
    if page == "request.py":
        at.query_params["code"] = world["codes"][REQUEST_FOR[role]]
    if page == "member.py":
        at.query_params["id"] = str(world["member_id"])
    at.run()
    assert not at.exception, at.exception
    found = visible_texts(at)
    if page in STATEFUL_TABS:  # only the open tab is drawn: open each of the others
        for label in [t.label for t in at.tabs][1:]:
            at.session_state[STATEFUL_TABS[page]] = label
            at.run()
            assert not at.exception, at.exception
            found += [f"[{label}] {text}" for text in visible_texts(at)]
    assert not found, f"{page} as {role}:\n" + "\n".join(found)


def test_no_latin_on_the_login_and_public_pages(db_url, world):
    login = app(db_url).run()
    assert not login.exception
    assert visible_texts(login) == [], "login"
    public = app(db_url, page="pages/public_stats.py")
    public.query_params["release"] = str(world["release_id"])
    public.run()
    assert not public.exception
    assert visible_texts(public) == [], "public statistics"


def test_the_walk_sees_what_it_must_refuse():
    """The check itself: Latin digits, English words, a chart with Plotly's ticks are caught; codes in
    an isolate, file names and e-mails are not."""
    assert offending("مهلت 14 درخواست") and offending("Choose an option") and offending("۵MB")
    assert not offending("کد \u2066۰۵۰۸۰۰۰۰۰۰۰۱\u2069 — national_card.png — ali@example.com — فایل PDF")
    assert chart_problems(json.dumps({"layout": {"yaxis": {}}, "data": [{"name": "x", "y": [1]}]}))
